#!/usr/bin/env bash
# Single-event POST /v1/events over keep-alive with wrk (ops/load/publish-single.lua), the gateway
# (default settings, durability process_crash) and its ceiling (bench BarePublishServer: Undertow
# appending the same bytes to raw Chronicle) side by side in one run; events/s and server CPU µs
# per event (from /proc/<pid>/stat over the measured window).
#   ops/load/publish-wrk.sh [connections=32] [seconds=20] [rounds=1]
#   JFR=1 records the gateway to <run>/gateway.jfr (settings=profile)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
conns="${1:-32}"; secs="${2:-20}"; rounds="${3:-1}"
run="${RUN_DIR:-/tmp/tidings-load}/$(date -u +%Y%m%dT%H%M%S)-publish-wrk"; mkdir -p "$run"
jar="${JAR:-$root/server/target/tidings.jar}"; bench="$root/bench/target/benchmarks.jar"
tick=$(getconf CLK_TCK)
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done' EXIT
cpu() { awk '{print $14+$15}' "/proc/$1/stat"; }
wait_port() { for _ in $(seq 200); do p=$(sed -n "s|$2|\1|p" "$1" 2>/dev/null | head -1); [ -n "$p" ] && { echo "$p"; return; }; sleep 0.1; done; echo "no port in $1" >&2; return 1; }
measure() { # name pid port key
  wrk -t2 -c"$conns" -d5s -s "$root/ops/load/publish-single.lua" "http://127.0.0.1:$3" -- "$4" > "$run/$1-warmup.txt"
  local c0 c1; c0=$(cpu "$2"); local load; load=$(cut -d' ' -f1-3 /proc/loadavg)
  wrk -t2 -c"$conns" -d"${secs}s" -s "$root/ops/load/publish-single.lua" "http://127.0.0.1:$3" -- "$4" > "$run/$1.txt"
  c1=$(cpu "$2")
  local rps; rps=$(sed -n 's/^Requests\/sec: *//p' "$run/$1.txt")
  local total; total=$(awk '/requests in/{print $1}' "$run/$1.txt")
  local non2xx; non2xx=$(sed -n 's/^ *Non-2xx or 3xx responses: *//p' "$run/$1.txt"); non2xx=${non2xx:-0}
  local p50; p50=$(awk '/Latency/{print $2}' "$run/$1.txt")
  local us; us=$(awk -v a="$c0" -v b="$c1" -v t="$tick" -v n="$total" 'BEGIN{printf "%.1f", (b-a)/t*1e6/n}')
  printf '| %s | %s | %s | %s | %s | %s | %s |\n' "$1" "$rps" "$us" "$p50" "$non2xx" "$total" "$load" | tee -a "$run/summary.md"
}
echo "| server | events/s | server CPU µs/event | mean latency | non-2xx | requests | load (1/5/15) |" | tee "$run/summary.md"
echo "|---|---:|---:|---:|---:|---:|---|" | tee -a "$run/summary.md"
for r in $(seq "$rounds"); do
  data="$run/data-$r"; key="pub_wrk_$RANDOM$RANDOM"
  opts="-Xlog:gc:file=$run/gateway-gc.log:uptime,level"
  [ -n "${JFR:-}" ] && opts="$opts -XX:StartFlightRecording=filename=$run/gateway-$r.jfr,settings=profile"
  TIDINGS_JAR="$jar" TIDINGS_JAVA_OPTS="$opts" TIDINGS_JWT_SECRET="$(head -c 24 /dev/urandom | base64)" \
    TIDINGS_PUBLISH_KEYS="$key" TIDINGS_AUDIT_KEYS="aud_$RANDOM$RANDOM" TIDINGS_DURABILITY=process_crash \
    "$root/ops/bin/tidings" serve --host 127.0.0.1 --port 0 --data-dir "$data" > "$run/gateway.log" 2>&1 &
  gw=$!; pids+=("$gw")
  port=$(wait_port "$run/gateway.log" '^tidings: listening on http://[^:]*:\([0-9]*\).*')
  measure tidings "$gw" "$port" "$key"
  kill -TERM "$gw"; wait "$gw" || true
  java -Dchronicle.analytics.disable=true -Dchronicle.announcer.disable=true \
    --add-opens=java.base/java.lang.reflect=ALL-UNNAMED --add-opens=java.base/java.lang=ALL-UNNAMED --add-exports=java.base/sun.nio.ch=ALL-UNNAMED --add-exports=java.base/jdk.internal.ref=ALL-UNNAMED --add-exports=jdk.compiler/com.sun.tools.javac.file=ALL-UNNAMED \
    -cp "$bench" io.tidings.bench.gateway.BarePublishServer 0 "$run/bare-$r" > "$run/bare.log" 2>&1 &
  bare=$!; pids+=("$bare")
  port=$(wait_port "$run/bare.log" '^bare-publish: listening on http://[^:]*:\([0-9]*\).*')
  measure bare-chronicle "$bare" "$port" unused
  kill -TERM "$bare"; wait "$bare" || true
done
echo "run: $run"
