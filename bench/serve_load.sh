#!/usr/bin/env bash
# Load test of `recpress serve` on 127.0.0.1 only, bounded in time: wrk (Debian package, installed
# when missing) asks, over keep-alive connections, GET /recommend?user=U&k=10 for random users of
# a top-N file, POST /predict {"rows": [{"user": U, "item": I}]} (random ids of ml-1m's ranges;
# the other fields missing) of a CTR file, or GET /next?history=<20 random ml-1m item ids>&k=10
# of a next-item file. Prints requests/s, latency percentiles, errors, and the
# server's RSS before and after; writes results/bench/serve_load[-predict|-next].json.
#   bash bench/serve_load.sh [BUILD_DIR] [MODEL.rpm] [SECONDS] [CONNECTIONS]
# Without MODEL, trains a dim-20 MF on synthetic ML-1M-sized data (3,000 x 3,700) and exports it
# as int8 (about a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
build="${1:-build}"
model="${2:-}"
seconds="${3:-30}"
connections="${4:-32}"
out=results/bench/serve_load
mkdir -p "$out"
command -v wrk > /dev/null || { apt-get install -y -qq wrk > /dev/null; }
if [ -z "$model" ]; then
  model="$out/student.rpm"
  if [ ! -s "$model" ]; then
    data="synthetic:users=3000,items=3700,mean=160,min=20"
    "$build/recpress" train -q --data "$data" --model mf:dim=20 --loss bpr --epochs 3 \
      --patience 0 -o "$out/mf" > /dev/null
    "$build/recpress" export "$out/mf/best.pt" --dtype int8 --data "$data" -o "$model" > /dev/null
  fi
fi
# The LibTorch-free server binary (recpress-serve) when built, else `recpress serve`.
if [ -x "$build/recpress-serve" ]; then
  "$build/recpress-serve" "$model" --port 0 2> "$out/serve.log" &
else
  "$build/recpress" serve "$model" --port 0 2> "$out/serve.log" &
fi
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do grep -q "serving" "$out/serve.log" 2>/dev/null && break; sleep 0.1; done
port=$(grep -o '127.0.0.1:[0-9]*' "$out/serve.log" | cut -d: -f2)
rss() { awk '/VmRSS/ {print $2}' "/proc/$pid/status"; }
task=$(python3 -c 'import json,sys,urllib.request; print(json.load(urllib.request.urlopen(sys.argv[1])).get("task","topn"))' \
  "http://127.0.0.1:$port/healthz")
rss_before=$(rss)
if [ "$task" = ctr ]; then
  endpoint=predict
  cat > "$out/users.lua" <<'LUA'
math.randomseed(42)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local body = '{"rows": [{"user": "' .. math.random(1, 6040) .. '", "item": "' ..
               math.random(1, 3706) .. '"}]}'
  return wrk.format("POST", "/predict", nil, body)
end
LUA
elif [ "$task" = seq ]; then
  endpoint=next
  cat > "$out/users.lua" <<'LUA'
math.randomseed(42)
request = function()
  local h = {}
  for i = 1, 20 do h[i] = math.random(1, 3706) end
  return wrk.format("GET", "/next?history=" .. table.concat(h, ",") .. "&k=10&exclude_history=1")
end
LUA
else
  endpoint=recommend
  # Users of the synthetic data are named u1..uN; fall back to u1 for other models.
  cat > "$out/users.lua" <<'LUA'
math.randomseed(42)
request = function()
  return wrk.format("GET", "/recommend?user=u" .. math.random(1, 3000) .. "&k=10")
end
LUA
fi
wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$out/users.lua" "http://127.0.0.1:$port" \
  > "$out/wrk.txt"
rss_after=$(rss)
errors=$(grep -o 'Non-2xx or 3xx responses: [0-9]*' "$out/wrk.txt" | grep -o '[0-9]*$' || echo 0)
cat "$out/wrk.txt"
echo "server RSS: ${rss_before} kB before, ${rss_after} kB after; non-2xx: ${errors:-0}"
suffix=$([ "$endpoint" = recommend ] || echo "-$endpoint")
python3 - "$out/wrk.txt" "$rss_before" "$rss_after" "${errors:-0}" "$connections" "$seconds" \
  "$endpoint" > "results/bench/serve_load$suffix.json" <<'PY'
import json, re, sys
t = open(sys.argv[1]).read()
def lat(p):
    m = re.search(rf"\s{p}%\s+([\d.]+)(us|ms|s)", t)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v if u == "ms" else v * 1000
print(json.dumps({"requests_per_second": float(re.search(r"Requests/sec:\s+([\d.]+)", t).group(1)),
                  "p50_ms": lat(50), "p90_ms": lat(90), "p99_ms": lat(99),
                  "non_2xx": int(sys.argv[4]), "rss_kb_before": int(sys.argv[2]),
                  "rss_kb_after": int(sys.argv[3]), "connections": int(sys.argv[5]),
                  "seconds": int(sys.argv[6]), "endpoint": sys.argv[7]}, indent=1))
PY
