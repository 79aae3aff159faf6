#!/usr/bin/env bash
# Load benchmark of `stratus replica` serving models/mlp-large.onnx; see bench/RESULTS.md.
#  1. wrk at 1, 8 and 64 connections against two replicas, batching off and on (auto), runs interleaved;
#  2. HTTP+JSON (wrk -c1 -t1 on the batching-off replica) against in-process ONNX Runtime (Stratus.Bench direct)
#     for the same batches of the request's row.
# Prints markdown tables on stdout (progress on stderr); raw wrk output and replica logs go to bench/out/.
# Environment: DURATION (s per measured run, 10), WARMUP (s of unmeasured load before each, 2),
#   FIRST_WARMUP (s of load on each replica before any measurement, 5: tiered JIT takes seconds to settle),
#   CONNECTIONS ("1 8 64"), BATCHES (rows per request for part 2, "1 8"; empty skips part 2), DIRECT_RUNS (3000),
#   REPLICA_ARGS (extra `stratus replica` options for both replicas), ON_ARGS (for the batching-on one only).
#   DOTNET_* variables reach the replicas (and are listed in the report).
set -euo pipefail

DURATION=${DURATION:-10}
WARMUP=${WARMUP:-2}
FIRST_WARMUP=${FIRST_WARMUP:-5}
CONNECTIONS=${CONNECTIONS:-1 8 64}
BATCHES=${BATCHES:-1 8}
DIRECT_RUNS=${DIRECT_RUNS:-3000}
REPLICA_ARGS=${REPLICA_ARGS:-}
ON_ARGS=${ON_ARGS:-}

cd "$(dirname "$0")/.."
OUT=bench/out
STRATUS=src/Stratus.Cli/bin/Release/net10.0/stratus
BENCH=bench/Stratus.Bench/bin/Release/net10.0/Stratus.Bench
MODEL=models/mlp-large.onnx
REQUEST=models/mlp-large.request.json
mkdir -p "$OUT"

log() { printf '%s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }
calc() { awk "BEGIN { printf \"$1\", $2 }"; }   # calc FORMAT EXPRESSION

# --- wrk and the build ---------------------------------------------------------------------------------------
if ! command -v wrk >/dev/null; then
  sudo=$([ "$(id -u)" = 0 ] || echo sudo)
  $sudo apt-get install -y wrk || { $sudo apt-get update && $sudo apt-get install -y wrk; }
fi
log "building Release"
for project in src/Stratus.Cli bench/Stratus.Bench; do
  dotnet build -c Release "$project" -nologo -v quiet >"$OUT/build.log" 2>&1 || { cat "$OUT/build.log" >&2; die "build of $project failed"; }
done
REVISION="$(git rev-parse --short HEAD 2>/dev/null || echo '(no git)')$(git diff --quiet HEAD -- src 2>/dev/null || echo ' with uncommitted changes in src')"

# --- replicas ------------------------------------------------------------------------------------------------
declare -A PORT PID
CHILDREN=()
cleanup() { for pid in "${CHILDREN[@]}"; do kill "$pid" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT
trap 'exit 130' INT TERM

pick_port() {   # a loopback port nobody listens on, other than $1
  local port
  while :; do
    port=$((20000 + RANDOM % 20000))
    [ "$port" != "${1:-}" ] && ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && { echo "$port"; return; }
  done
}

start_replica() {   # start_replica MODE(off|on) [options...]
  local mode=$1; shift
  PORT[$mode]=$(pick_port "${PORT[off]:-}")
  # shellcheck disable=SC2086  # REPLICA_ARGS is a list of options
  "$STRATUS" replica --model "$MODEL" --name mlp --port "${PORT[$mode]}" $REPLICA_ARGS "$@" >"$OUT/replica-$mode.log" 2>&1 &
  PID[$mode]=$!
  CHILDREN+=("$!")
}

wait_ready() {   # poll /v2/health/ready until 200; fail if the replica exits or takes over 120 s
  local url="http://127.0.0.1:${PORT[$1]}/v2/health/ready" deadline=$((SECONDS + 120))
  until [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url")" = 200 ]; do
    kill -0 "${PID[$1]}" 2>/dev/null || { cat "$OUT/replica-$1.log" >&2; die "replica ($1) exited"; }
    [ "$SECONDS" -lt "$deadline" ] || die "replica ($1) not ready after 120 s"
    sleep 0.2
  done
}

start_replica off --batching off
# shellcheck disable=SC2086  # ON_ARGS is a list of options
start_replica on --batching auto $ON_ARGS
wait_ready off
wait_ready on
log "replicas ready: off on port ${PORT[off]}, on on port ${PORT[on]}"

# --- measurements --------------------------------------------------------------------------------------------
declare -A R   # R[key.field]: wrk RESULT fields (requests duration_us p50_us p99_us mean_us ...) plus derived ones
TICKS=$(getconf CLK_TCK)
proc_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }                        # utime + stime
cpu_ticks() { awk '/^cpu / { print $2+$3+$4+$5+$6+$7+$8+$9, $5+$6 }' /proc/stat; }   # total, idle + iowait
batch_stats() {
  curl -s --max-time 5 "http://127.0.0.1:${PORT[$1]}/metrics" |
    awk '/^stratus_inference_batch_size_sum/ { s = $2 } /^stratus_inference_batch_size_count/ { c = $2 } END { print s + 0, c + 0 }'
}

check_infer() {   # check_infer MODE BODY: one request by curl must answer exactly 200 with outputs
  local code
  code=$(curl -s -o "$OUT/check-$1.json" -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    --data-binary @"$2" "http://127.0.0.1:${PORT[$1]}/v2/models/mlp/infer")
  [ "$code" = 200 ] && grep -q '"outputs"' "$OUT/check-$1.json" || die "replica ($1) answered $code to $2: $(head -c 300 "$OUT/check-$1.json")"
}

run_wrk() {   # run_wrk OUTFILE MODE CONNECTIONS BODY SECONDS: wrk (its CPU seconds to OUTFILE.cpu), then fail on
              # any status >= 400 (wrk's "Non-2xx or 3xx" count) or socket error
  local threads=$(($3 > 1 ? 2 : 1)) result TIMEFORMAT='%U %S'
  { time BODY=$4 wrk -t"$threads" -c"$3" -d"$5s" --latency -s bench/post.lua "http://127.0.0.1:${PORT[$2]}/v2/models/mlp/infer" >"$1"; } 2>"$1.cpu"
  result=$(grep '^RESULT' "$1") || die "no RESULT line in $1"
  [[ $result == *" non2xx=0 socket_errors=0" && $result != *" requests=0 "* ]] || { cat "$1" >&2; die "failed or non-2xx responses, see $1"; }
}

measure() {   # measure KEY MODE CONNECTIONS BODY: warm up, then one measured run with CPU and batch-size deltas
  local key=$1 mode=$2 pid=${PID[$2]} field sum0 count0 sum1 count1 proc0 proc1 total0 idle0 total1 idle1 ns0 ns1 wall
  check_infer "$mode" "$4"
  log "$key: ${WARMUP}s warm-up + ${DURATION}s, $3 connection(s), batching $mode"
  run_wrk "$OUT/wrk-$key-warmup.txt" "$mode" "$3" "$4" "$WARMUP"
  read -r sum0 count0 < <(batch_stats "$mode"); proc0=$(proc_ticks "$pid"); read -r total0 idle0 < <(cpu_ticks); ns0=$(date +%s%N)
  run_wrk "$OUT/wrk-$key.txt" "$mode" "$3" "$4" "$DURATION"
  ns1=$(date +%s%N); read -r total1 idle1 < <(cpu_ticks); proc1=$(proc_ticks "$pid"); read -r sum1 count1 < <(batch_stats "$mode")
  for field in $(grep '^RESULT' "$OUT/wrk-$key.txt" | cut -d' ' -f2-); do R[$key.${field%%=*}]=${field#*=}; done
  wall=$(calc %.6f "($ns1 - $ns0) / 1e9")
  R[$key.rps]=$(calc %.2f "${R[$key.requests]} / (${R[$key.duration_us]} / 1e6)")
  R[$key.batch]=$(calc %.2f "($sum1 - $sum0) / ($count1 - $count0)")
  # CPU in cores over the measured run: the replica, wrk itself, and everything else on the machine.
  R[$key.server]=$(calc %.2f "($proc1 - $proc0) / $TICKS / $wall")
  R[$key.wrk]=$(awk -v w="$wall" '{ printf "%.2f", ($1 + $2) / w }' "$OUT/wrk-$key.txt.cpu")
  R[$key.rest]=$(calc %.2f "(($total1 - $total0) - ($idle1 - $idle0)) / $TICKS / $wall - ${R[$key.server]} - ${R[$key.wrk]}")
  [[ ${R[$key.rest]} != -* ]] || R[$key.rest]=0.00   # tick rounding can make it a hair below zero
}

ms() { calc %.3f "$1 / 1000"; }

for mode in off on; do
  log "first warm-up: ${FIRST_WARMUP}s, 8 connections, batching $mode"
  run_wrk "$OUT/wrk-first-warmup-$mode.txt" "$mode" 8 "$REQUEST" "$FIRST_WARMUP"
done

# Part 1: batching off vs on, interleaved so drift hits both.
for c in $CONNECTIONS; do
  for mode in off on; do measure "$mode-c$c" "$mode" "$c" "$REQUEST"; done
done

# Part 2: the same batches in process and over HTTP (batching-off replica, one connection).
if [ -n "$BATCHES" ]; then
  direct_args=()
  # The in-process session mirrors the replicas' session options.
  [[ " $REPLICA_ARGS " =~ \ --intra-op-threads[=\ ]([0-9]+) ]] && direct_args=(--intra-op-threads "${BASH_REMATCH[1]}")
  [[ " $REPLICA_ARGS " == *" --allow-spinning "* ]] && direct_args+=(--allow-spinning true)
  for b in $BATCHES; do "$BENCH" body --request "$REQUEST" --batch "$b" --out "$OUT/body-$b.json"; done
  log "direct: $DIRECT_RUNS in-process runs per batch size"
  "$BENCH" direct --model "$MODEL" --request "$REQUEST" --batch "${BATCHES// /,}" --runs "$DIRECT_RUNS" "${direct_args[@]}" >"$OUT/direct.txt"
  for b in $BATCHES; do
    for field in $(grep "^DIRECT batch=$b " "$OUT/direct.txt" | cut -d' ' -f2-); do R[direct-b$b.${field%%=*}]=${field#*=}; done
    measure "http-b$b" off 1 "$OUT/body-$b.json"
  done
fi

# --- report --------------------------------------------------------------------------------------------------
cat <<EOF
### Run

- date: $(date -u '+%Y-%m-%d %H:%M UTC'); built from git $REVISION
- machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(free -g | awk '/^Mem:/ { print $2 }') GiB; dotnet $(dotnet --version); $(wrk --version 2>&1 | head -1 | cut -d' ' -f1-2)
- replicas: \`--batching off\` and \`--batching auto${ON_ARGS:+ $ON_ARGS}\`${REPLICA_ARGS:+, both with \`$REPLICA_ARGS\`}; runtime environment: $(env | grep '^DOTNET_' | grep -Ev '^DOTNET_(CLI_|NOLOGO|GENERATE_ASPNET_CERTIFICATE|SKIP_FIRST_TIME)' | sort | tr '\n' ' ' | sed 's/ $//' | grep . || echo 'no DOTNET_ runtime variables')
- wrk: ${FIRST_WARMUP} s warm-up of each replica, then per row ${WARMUP} s warm-up and ${DURATION} s measured; threads 1 at 1 connection, else 2; each body checked for a 200 by curl first, and no run had a status >= 400 or a socket error

### Batching off vs on ($(basename "$REQUEST"), 1 row per request)

| batching | connections | requests/s | p50 (ms) | p99 (ms) | mean batch (rows) | CPU cores: replica / wrk / rest of machine |
|---|--:|--:|--:|--:|--:|--:|
EOF
for c in $CONNECTIONS; do
  for mode in off on; do
    k=$mode-c$c
    echo "| $mode | $c | ${R[$k.rps]} | $(ms "${R[$k.p50_us]}") | $(ms "${R[$k.p99_us]}") | ${R[$k.batch]} | ${R[$k.server]} / ${R[$k.wrk]} / ${R[$k.rest]} |"
  done
done
c=$(echo "$CONNECTIONS" | awk '{ print $NF }')
throughput=$(calc %.2f "${R[on-c$c.rps]} / ${R[off-c$c.rps]}")
p99=$(calc %.2f "${R[on-c$c.p99_us]} / ${R[off-c$c.p99_us]}")
verdict() { awk "BEGIN { print ($1) ? \"met\" : \"missed\" }"; }
echo
echo "At $c connections, on/off: throughput ${throughput}x (target >= 2: $(verdict "$throughput >= 2")), p99 ${p99}x (target <= 1: $(verdict "$p99 <= 1"))."
[ -n "$BATCHES" ] || exit 0
cat <<EOF

### HTTP+JSON vs in-process ONNX Runtime, same batch, sequential ($(head -1 "$OUT/direct.txt" | sed 's/^# //'))

| rows | direct p50 (µs) | direct p99 (µs) | direct mean (µs) | direct runs/s | HTTP p50 (µs) | HTTP p99 (µs) | HTTP mean (µs) | HTTP requests/s | overhead p50 | overhead mean | target < 15% | JSON decode / encode alone, mean (µs) |
|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|--:|---|--:|
EOF
for b in $BATCHES; do
  d=direct-b$b h=http-b$b
  over50=$(calc %+.1f "100 * (${R[$h.p50_us]} / ${R[$d.p50_us]} - 1)")
  overmean=$(calc %+.1f "100 * (${R[$h.mean_us]} / ${R[$d.mean_us]} - 1)")
  echo "| $b | ${R[$d.p50_us]} | ${R[$d.p99_us]} | ${R[$d.mean_us]} | ${R[$d.runs_per_s]} | ${R[$h.p50_us]} | ${R[$h.p99_us]} | ${R[$h.mean_us]} | ${R[$h.rps]} | ${over50}% | ${overmean}% | $(verdict "$over50 < 15 && $overmean < 15") | ${R[$d.json_decode_us]} / ${R[$d.json_encode_us]} |"
done
