#!/usr/bin/env bash
# Runs one load scenario against a fresh Tidings gateway started from the built jar.
#
#   ops/load/run.sh fanout [fanout.js flags]   # default 1000 clients × 20 ev/s × 30 s (+5 s warm-up)
#   ops/load/run.sh resume [resume.js flags]   # default 1M events pre-published, replayed 3 times
#   ops/load/run.sh churn [churn.js flags]     # clients reset while events flow; a canary must get all
#   ops/load/run.sh joins [joins.js flags]     # 300 joins with resume offsets at once: join→live, I/O-thread lag
#   ops/load/run.sh all                        # fanout and resume, with their defaults
#
# Prerequisites (fresh clone): `mvn -B -DskipTests package` at the root and `npm ci` in ops/load.
# For each scenario: a new data directory, generated credentials (passed to the gateway as
# TIDINGS_JWT_SECRET / TIDINGS_PUBLISH_KEYS / TIDINGS_AUDIT_KEYS), `java … -jar server/target/tidings.jar
# serve --host 127.0.0.1 --port <p> --data-dir <tmp>` (through ops/bin/tidings, which holds the flags), a subscriber token minted with `tidings.jar token`, the node
# scenario, then SIGTERM and a check that the gateway shut down cleanly.
#
# Environment:
#   RUN_DIR           where each run's directory goes (default /tmp/tidings-load); a run keeps
#                     server.log, gc.log, result.json, machine.txt (and server.jfr with JFR=1)
#   JAR               the gateway jar (default server/target/tidings.jar), e.g. to compare two builds
#   PORT              gateway port (default 0: any free port, read from the gateway's start line)
#   TIDINGS_JAVA_OPTS extra JVM flags for the gateway (e.g. -Xmx512m)
#   JFR=1             record a JFR profile (settings=profile) to <run>/server.jfr
#   KEEP_DATA=1       keep the gateway's data directory (deleted by default: 1M events ≈ 80 MB)
#   QUIET_WAIT=60     seconds to wait for the machine to be idle before starting (0 = don't wait)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
jar="${JAR:-$root/server/target/tidings.jar}"

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; }

scenario="${1:-}"
[ $# -gt 0 ] && shift
case "$scenario" in
  fanout|resume|churn|joins) ;;
  all)
    "$0" fanout
    "$0" resume
    exit 0 ;;
  -h|--help|help|"") usage; exit 0 ;;
  *) echo "run.sh: unknown scenario '$scenario' (fanout, resume, churn, all)" >&2; exit 2 ;;
esac

[ -f "$jar" ] || { echo "run.sh: $jar is missing: run 'mvn -B -DskipTests package' in $root first" >&2; exit 2; }
[ -d "$here/node_modules/ws" ] || { echo "run.sh: npm packages missing: run 'npm ci' in $here first" >&2; exit 2; }
command -v node >/dev/null || { echo "run.sh: node is not installed" >&2; exit 2; }

base="${RUN_DIR:-/tmp/tidings-load}"
run="$base/$(date -u +%Y%m%dT%H%M%SZ)-$scenario"
mkdir -p "$run"
data="$run/data"

# ---- machine facts ---------------------------------------------------------------------------
{
  echo "date:    $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cores:   $(nproc)"
  echo "cpu:     $(lscpu 2>/dev/null | sed -n 's/^Model name: *//p' | head -1)"
  echo "memory:  $(free -m 2>/dev/null | awk '/^Mem:/ {print $2 " MiB"}')"
  echo "java:    $(java -version 2>&1 | head -1)"
  echo "node:    $(node -v)"
  echo "open files: $(ulimit -n)"
} > "$run/machine.txt"
cat "$run/machine.txt"

# ---- wait for a quiet machine ----------------------------------------------------------------
cpu_busy_pct() { # busy % of all cores over 2 s
  local a b
  a=($(head -1 /proc/stat)); sleep 2; b=($(head -1 /proc/stat))
  local total=0 idle i
  for i in 1 2 3 4 5 6 7 8; do total=$((total + b[i] - a[i])); done
  idle=$((b[4] - a[4] + b[5] - a[5]))
  echo $(( total > 0 ? (100 * (total - idle)) / total : 0 ))
}
quiet_wait="${QUIET_WAIT:-60}"
if [ "$quiet_wait" -gt 0 ] && [ -r /proc/stat ]; then
  waited=0
  while busy=$(cpu_busy_pct); [ "$busy" -gt 15 ] && [ "$waited" -lt "$quiet_wait" ]; do
    echo "run.sh: machine is ${busy}% busy (other processes); waiting for it to be idle …" >&2
    waited=$((waited + 2))
  done
  echo "cpu busy before start: ${busy}%" | tee -a "$run/machine.txt"
  [ "$busy" -gt 15 ] && echo "run.sh: WARNING: starting on a busy machine; figures will be noisy" >&2
fi

# ---- credentials and gateway -----------------------------------------------------------------
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
export TIDINGS_JWT_SECRET="$(rand)"
export TIDINGS_PUBLISH_KEYS="pub_load_$(rand | head -c 24)"
export TIDINGS_AUDIT_KEYS="aud_load_$(rand | head -c 24)"

# The gateway runs through the launcher that holds its JVM flags (ops/bin/tidings, which ./tidings
# and the systemd unit use too), on this jar; we add a GC log (pauses next to the latencies) and,
# with JFR=1, a flight recording, in front of the caller's TIDINGS_JAVA_OPTS.
launcher="$root/ops/bin/tidings"
opts="-Xlog:gc:file=$run/gc.log:uptime,level"
[ "${JFR:-0}" = 1 ] && opts="$opts -XX:StartFlightRecording=filename=$run/server.jfr,settings=profile,dumponexit=true"
export TIDINGS_JAR="$jar"
export TIDINGS_JAVA_OPTS="$opts ${TIDINGS_JAVA_OPTS:-}"
[ -x "$launcher" ] || { echo "run.sh: $launcher is missing" >&2; exit 2; }
gateway=("$launcher")

server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then kill -TERM "$server_pid" 2>/dev/null || true; fi
  if [ "${KEEP_DATA:-0}" != 1 ]; then rm -rf "$data"; fi
}
trap cleanup EXIT

"${gateway[@]}" serve --host 127.0.0.1 --port "${PORT:-0}" --data-dir "$data" \
  > "$run/server.log" 2>&1 &
server_pid=$!
port=
for _ in $(seq 1 600); do
  port=$(sed -n 's/^tidings: listening on http:\/\/[^:]*:\([0-9]*\).*/\1/p' "$run/server.log" | head -1)
  [ -n "$port" ] && break
  kill -0 "$server_pid" 2>/dev/null || { echo "run.sh: the gateway exited during start:" >&2; cat "$run/server.log" >&2; exit 1; }
  sleep 0.1
done
[ -n "$port" ] || { echo "run.sh: the gateway did not report its port within 60 s" >&2; cat "$run/server.log" >&2; exit 1; }
url="http://127.0.0.1:$port"
echo "gateway: pid $server_pid on $url" | tee -a "$run/machine.txt"
echo "command: $(TIDINGS_PRINT_COMMAND=1 "$launcher" serve --host 127.0.0.1 --port "${PORT:-0}" --data-dir "$data" | tr '\n' ' ')" \
  | tee -a "$run/machine.txt"

token=$(TIDINGS_JAVA_OPTS= "${gateway[@]}" token --sub load --room loadtest --ttl PT12H --data-dir "$data" 2>/dev/null | tail -1)

# ---- the scenario ----------------------------------------------------------------------------
set +e
node "$here/$scenario.js" --url "$url" --token "$token" --publish-key "$TIDINGS_PUBLISH_KEYS" \
  --server-pid "$server_pid" --out "$run/result.json" "$@" 2> >(tee "$run/client.log" >&2) | tee "$run/report.txt"
status=${PIPESTATUS[0]}
set -e

# ---- graceful stop ---------------------------------------------------------------------------
kill -TERM "$server_pid"
for _ in $(seq 1 300); do kill -0 "$server_pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$server_pid" 2>/dev/null; then
  echo "run.sh: the gateway did not stop within 30 s of SIGTERM; thread dump in $run/threads-at-sigterm.txt; killing it" >&2
  jcmd "$server_pid" Thread.print > "$run/threads-at-sigterm.txt" 2>&1 || true
  kill -KILL "$server_pid"; status=1
fi
server_status=0
wait "$server_pid" 2>/dev/null || server_status=$?
server_pid=
# 0 after a graceful shutdown (143 = 128 + SIGTERM on builds before serve exited 0 on SIGTERM).
echo "gateway: exit status $server_status after SIGTERM; $(grep -c '^tidings: shutting down' "$run/server.log") shutdown line(s) logged"
if grep -q -E 'WARNING|SEVERE|Exception' "$run/server.log"; then
  echo "run.sh: the gateway logged warnings (see $run/server.log):" >&2
  grep -E 'WARNING|SEVERE' "$run/server.log" | sort | uniq -c | sort -rn | head -5 >&2
fi
if [ -s "$run/gc.log" ]; then
  awk '/Pause/ { n++; v=$NF; sub("ms","",v); v+=0; t+=v; if (v>m) m=v }
       END { if (n) printf "gc: %d pauses, %.1f ms total, longest %.1f ms (%s)\n", n, t, m, FILENAME }' "$run/gc.log" \
    | tee -a "$run/report.txt"
fi
[ "${JFR:-0}" = 1 ] && echo "jfr: $run/server.jfr (jfr print --events jdk.ExecutionSample …, or open it in JDK Mission Control)"
echo "run: $run"
exit "$status"
