-- wrk script for bench/replica-load.sh: POSTs the JSON request body in $BODY and, when done, prints one
-- machine-readable RESULT line (latencies in microseconds) beside wrk's usual report.
local file = assert(io.open(assert(os.getenv("BODY"), "set BODY to a request body file"), "rb"))
wrk.method = "POST"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%d duration_us=%d p50_us=%d p99_us=%d mean_us=%.1f non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99), latency.mean,
    e.status, e.connect + e.read + e.write + e.timeout))
end
