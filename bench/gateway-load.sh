#!/usr/bin/env bash
# Gateway overhead benchmark; see bench/RESULTS.md. Two `stratus replica` processes serve models/credit-risk.onnx
# (a model small enough that proxying, not inference, is what is measured). In the same run and interleaved, wrk at
# 1, 8 and 64 connections calls:
#   direct  - one replica, no proxy (the latency reference);
#   gateway - `stratus gateway` over both replicas (a fixed route table, so no control plane is involved);
#   gateway-tls - the same gateway serving HTTPS (a P-256 certificate; wrk does TLS 1.3 with keep-alive), so
#             the cost of TLS between callers and the gateway is the gateway-tls row against the gateway row;
#   nginx   - nginx with `least_conn` and keep-alive upstreams over the same two replicas.
# Prints a markdown table on stdout (progress on stderr); raw output goes to bench/out/gateway-*.
# Environment: DURATION (s per measured run, 10), WARMUP (s of unmeasured load before each, 2),
#   FIRST_WARMUP (s of load through each target before any measurement, 5), CONNECTIONS ("1 8 64"),
#   GATEWAY_ENV (NAME=VALUE settings for the gateway process only, e.g. DOTNET_gcServer=1).
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
FIRST_WARMUP=${FIRST_WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-1 8 64}

cd "$(dirname "$0")/.."
OUT=bench/out
STRATUS=src/Stratus.Cli/bin/Release/net10.0/stratus
MODEL=models/credit-risk.onnx
REQUEST=models/credit-risk.request.json
mkdir -p "$OUT"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }

sudo=$([ "$(id -u)" = 0 ] || echo sudo)
for tool in wrk nginx; do
  command -v "$tool" >/dev/null || [ -x "/usr/sbin/$tool" ] || $sudo apt-get install -y "$tool" || { $sudo apt-get update && $sudo apt-get install -y "$tool"; }
done
NGINX=$(command -v nginx || echo /usr/sbin/nginx)
log "building Release"
dotnet build -c Release src/Stratus.Cli -nologo -v quiet >"$OUT/gateway-build.log" 2>&1 || { cat "$OUT/gateway-build.log" >&2; die "build failed"; }
REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' with uncommitted changes in src')"

declare -A PORT
CHILDREN=()
cleanup() { for pid in "${CHILDREN[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

pick_port() {
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    [[ " ${PORT[*]:-} " != *" $port "* ]] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$port"; return; }
  done
}

wait_ready() {   # wait_ready NAME URL: poll until 200 (120 s at most)
  local deadline=$((SECONDS + 120))
  until [ "$(curl -sk -o /dev/null -w '%{http_code}' --max-time 2 "$2")" = 200 ]; do
    [ "$SECONDS" -lt "$deadline" ] || { tail -20 "$OUT/gateway-$1.log" >&2; die "$1 not ready after 120 s"; }
    sleep 0.2
  done
}

for replica in r1 r2; do
  PORT[$replica]=$(pick_port)
  "$STRATUS" replica --model "$MODEL" --name risk --port "${PORT[$replica]}" --batching off >"$OUT/gateway-$replica.log" 2>&1 &
  CHILDREN+=("$!")
done
for replica in r1 r2; do wait_ready "$replica" "http://127.0.0.1:${PORT[$replica]}/v2/health/ready"; done

cat >"$OUT/gateway-routes.json" <<JSON
{"version": 1, "routes": [{"deployment": "risk", "model": "credit-risk", "modelVersion": 1, "public": true, "keyHashes": [],
  "endpoints": [{"replicaId": "r1", "cloud": "local", "region": "local", "address": "http://127.0.0.1:${PORT[r1]}/"},
                {"replicaId": "r2", "cloud": "local", "region": "local", "address": "http://127.0.0.1:${PORT[r2]}/"}]}]}
JSON
PORT[gateway]=$(pick_port)
env ${GATEWAY_ENV:-} "$STRATUS" gateway --routes "$OUT/gateway-routes.json" --port "${PORT[gateway]}" --region local --insecure >"$OUT/gateway-gateway.log" 2>&1 &
CHILDREN+=("$!")
PORT[gateway-tls]=$(pick_port)
mkdir -p "$OUT/gateway-tls"
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=localhost -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
  -keyout "$OUT/gateway-tls/tls.key" -out "$OUT/gateway-tls/tls.crt" 2>/dev/null
cp "$OUT/gateway-tls/tls.crt" "$OUT/gateway-tls/ca.crt"
env ${GATEWAY_ENV:-} "$STRATUS" gateway --routes "$OUT/gateway-routes.json" --port "${PORT[gateway-tls]}" --region local --tls-dir "$OUT/gateway-tls" >"$OUT/gateway-gateway-tls.log" 2>&1 &
CHILDREN+=("$!")
declare -A SCHEME=([gateway-tls]=https)

PORT[nginx]=$(pick_port)
mkdir -p "$OUT/nginx"
cat >"$OUT/nginx/nginx.conf" <<CONF
worker_processes auto;
daemon off;
pid $PWD/$OUT/nginx/nginx.pid;
error_log $PWD/$OUT/nginx/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $PWD/$OUT/nginx/body;
  proxy_temp_path $PWD/$OUT/nginx/proxy;
  upstream replicas {
    least_conn;
    server 127.0.0.1:${PORT[r1]};
    server 127.0.0.1:${PORT[r2]};
    keepalive 128;
  }
  server {
    listen 127.0.0.1:${PORT[nginx]};
    location / {
      proxy_pass http://replicas;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
    }
  }
}
CONF
"$NGINX" -p "$PWD/$OUT/nginx" -c "$PWD/$OUT/nginx/nginx.conf" >"$OUT/gateway-nginx.log" 2>&1 &
CHILDREN+=("$!")
PORT[direct]=${PORT[r1]}
wait_ready gateway "http://127.0.0.1:${PORT[gateway]}/v2/health/ready"
wait_ready gateway-tls "https://127.0.0.1:${PORT[gateway-tls]}/v2/health/ready"
wait_ready nginx "http://127.0.0.1:${PORT[nginx]}/v2/health/ready"

declare -A R
TARGETS="direct gateway gateway-tls nginx"
run_wrk() {   # run_wrk OUTFILE TARGET CONNECTIONS SECONDS; fails on any non-2xx answer or socket error
  local threads=$(($3 > 1 ? 2 : 1)) result
  BODY=$REQUEST wrk -t"$threads" -c"$3" -d"$4s" --latency -s bench/post.lua "${SCHEME[$2]:-http}://127.0.0.1:${PORT[$2]}/v2/models/risk/infer" >"$1"
  result=$(grep '^RESULT' "$1") || die "no RESULT line in $1"
  [[ $result == *" non2xx=0 socket_errors=0" && $result != *" requests=0 "* ]] || { cat "$1" >&2; die "failed or non-2xx responses, see $1"; }
}

for target in $TARGETS; do
  log "first warm-up: $target"
  run_wrk "$OUT/gateway-wrk-first-$target.txt" "$target" 8 "$FIRST_WARMUP"
done

for c in $CONNECTIONS; do
  for target in $TARGETS; do
    log "c=$c $target"
    run_wrk "$OUT/gateway-wrk-$target-$c-warmup.txt" "$target" "$c" "$WARMUP"
    run_wrk "$OUT/gateway-wrk-$target-$c.txt" "$target" "$c" "$DURATION"
    for field in requests duration_us p50_us p99_us; do
      R[$target.$c.$field]=$(grep '^RESULT' "$OUT/gateway-wrk-$target-$c.txt" | tr ' ' '\n' | sed -n "s/^$field=//p")
    done
    R[$target.$c.rps]=$(calc '%.0f' "${R[$target.$c.requests]} / (${R[$target.$c.duration_us]} / 1000000)")
  done
done

cat <<REPORT
Revision $REVISION; $(nproc) cores; $(dotnet --version); $($NGINX -v 2>&1 | cut -d: -f2 | tr -d ' '); wrk $DURATION s per run after $WARMUP s warm-up.

| connections | target | requests/s | p50 (ms) | p99 (ms) | added p50 vs direct (ms) | added p99 vs direct (ms) |
|--:|---|--:|--:|--:|--:|--:|
REPORT
for c in $CONNECTIONS; do
  for target in $TARGETS; do
    printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$c" "$target" "${R[$target.$c.rps]}" \
      "$(calc '%.3f' "${R[$target.$c.p50_us]} / 1000")" "$(calc '%.3f' "${R[$target.$c.p99_us]} / 1000")" \
      "$(calc '%.3f' "(${R[$target.$c.p50_us]} - ${R[direct.$c.p50_us]}) / 1000")" "$(calc '%.3f' "(${R[$target.$c.p99_us]} - ${R[direct.$c.p99_us]}) / 1000")"
  done
done
echo
for c in $CONNECTIONS; do
  printf -- '- c=%s: gateway throughput / nginx throughput = %sx; gateway added p50 %s ms, nginx added p50 %s ms\n' "$c" \
    "$(calc '%.2f' "${R[gateway.$c.rps]} / ${R[nginx.$c.rps]}")" \
    "$(calc '%.3f' "(${R[gateway.$c.p50_us]} - ${R[direct.$c.p50_us]}) / 1000")" "$(calc '%.3f' "(${R[nginx.$c.p50_us]} - ${R[direct.$c.p50_us]}) / 1000")"
done
for c in $CONNECTIONS; do
  printf -- '- c=%s: gateway over TLS / gateway over plain HTTP throughput = %sx; TLS adds %s ms at p50 (gateway-tls added p50 %s ms against gateway %s ms)\n' "$c" \
    "$(calc '%.2f' "${R[gateway-tls.$c.rps]} / ${R[gateway.$c.rps]}")" \
    "$(calc '%.3f' "(${R[gateway-tls.$c.p50_us]} - ${R[gateway.$c.p50_us]}) / 1000")" \
    "$(calc '%.3f' "(${R[gateway-tls.$c.p50_us]} - ${R[direct.$c.p50_us]}) / 1000")" "$(calc '%.3f' "(${R[gateway.$c.p50_us]} - ${R[direct.$c.p50_us]}) / 1000")"
done
