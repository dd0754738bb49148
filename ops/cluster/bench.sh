#!/usr/bin/env bash
# Embedded vs cluster (issue 15), in one run: the same measurements against an embedded gateway
# (`log: chronicle`) and against a gateway node of a local 3-broker Kafka cluster (`log: kafka`,
# brokers from ops/cluster/run.sh), then one markdown table side by side.
#
#   ops/cluster/bench.sh [--scale small|full] [--gateways 1|2] [--jar PATH] [--java-opts '...']
#                        [--only embedded|cluster] [--out DIR] [--no-quiet-wait] [--linger MS]
#
# Per mode, on one fresh gateway node (same jar, same JVM flags, same generated credentials):
#   1. single-event publishes: wrk -t2 -c32 over keep-alive (ops/load/publish-single.lua), 10 s
#      warm-up (small: 5 s), then 20 s measured; events/s, latency, gateway CPU µs/event, mean log append
#   2. batched publishes: NDJSON POSTs of 100 events, 4 in flight (ops/load/lib/bulk.js), after a
#      warm-up; events/s, commit time per POST
#   3. fan-out: ops/load/fanout.js, 1,000 native WebSocket clients in one room × 20 events/s × 30 s
#      (+5 s warm-up), publisher and clients on the same node; latency p50/p99, exactly-once checks
#   4. resume storm: ops/load/storm.js, 2,000 clients joined, cut (no close handshake), 1,000 events
#      published, all reconnect at once with `join … after`; time until every client has exactly its
#      1,000 missed events; heap after a full GC before / with every client caught up, heap and RSS
#      peak, GC pauses; tidings_cluster_consumers_opened and the gateway's TCP connections to the
#      brokers before and after
# In cluster mode the freshly started brokers first get an unmeasured warm-up (30 s of single-event
# publishes; small: 5 s): cold broker JVMs took the first 10 s at a third of their later rate.
# --linger MS sets the gateways' kafkaLingerMs (default: the gateway's, 1).
# With --gateways 2 (default) a second node is started after step 4 (cluster only) and the fan-out
# runs once more with the publisher on node 1 and the clients on node 2.
#
# --scale small: 200 clients, 5 s windows, storm 200 × 100 (checks the harness in a few minutes).
# Prerequisites: `mvn -B -DskipTests package` (server/target/tidings.jar), `npm ci` in ops/load, wrk,
# a JDK (jcmd). Results: <out>/summary.md (the table), <out>/{embedded,cluster}/*.json and every
# process's log; default out /tmp/tidings-cluster-bench/<time>. Everything started is stopped at the
# end, also on failure or Ctrl-C. At --scale full the file /tmp/bench-running holds this script's pid
# while it runs, and it first waits (up to 5 min) for a 1-minute load average below 1.5
# (--no-quiet-wait: don't).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"

usage() { sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }

linger="" scale=full gateways=2 jar="$root/server/target/tidings.jar" java_opts="-Xmx512m" only="" out="" quiet_wait=""
while [ $# -gt 0 ]; do
  case "$1" in
    --scale) scale=$2; shift ;;
    --gateways) gateways=$2; shift ;;
    --jar) jar=$2; shift ;;
    --java-opts) java_opts=$2; shift ;;
    --only) only=$2; shift ;;
    --out) out=$2; shift ;;
    --no-quiet-wait) quiet_wait=0 ;;
    --linger) linger=$2; shift ;;
    -h|--help) usage 0 ;;
    *) echo "bench.sh: unknown argument '$1'" >&2; usage ;;
  esac
  shift
done
case "$scale" in
  full) broker_warmup=30 wrk_warmup=10 wrk_s=20 pub_events=500000 pub_warmup=100000 fan_clients=1000 fan_rate=20 fan_s=30 fan_warmup=5 storm_clients=2000 storm_behind=1000 storm_timeout=300 ;;
  small) broker_warmup=5 wrk_warmup=5 wrk_s=5 pub_events=20000 pub_warmup=5000 fan_clients=200 fan_rate=20 fan_s=5 fan_warmup=2 storm_clients=200 storm_behind=100 storm_timeout=60 ;;
  *) echo "bench.sh: --scale small|full" >&2; exit 2 ;;
esac
[ -n "$quiet_wait" ] || { [ "$scale" = full ] && quiet_wait=1 || quiet_wait=0; }
case "$gateways" in 1|2) ;; *) echo "bench.sh: --gateways 1|2" >&2; exit 2 ;; esac
modes="embedded cluster"; [ -n "$only" ] && modes=$only
pub_batch=100 pub_concurrency=4 wrk_conns=32

jar="$(cd "$(dirname "$jar")" && pwd)/$(basename "$jar")"
[ -f "$jar" ] || { echo "bench.sh: $jar is missing: run 'mvn -B -DskipTests package' in $root" >&2; exit 2; }
[ -d "$root/ops/load/node_modules/ws" ] || { echo "bench.sh: run 'npm ci' in $root/ops/load" >&2; exit 2; }
for t in node wrk jcmd ss curl jq python3; do command -v $t >/dev/null || { echo "bench.sh: $t is not installed" >&2; exit 2; }; done

out="${out:-/tmp/tidings-cluster-bench/$(date -u +%Y%m%dT%H%M%SZ)-$scale}"
mkdir -p "$out"
log() { printf '%s %s\n' "[bench.sh $(date -u +%H:%M:%S)]" "$*" | tee -a "$out/bench.log" >&2; }
loadavg() { cut -d' ' -f1-3 /proc/loadavg; }
tick=$(getconf CLK_TCK)
cpu_s() { awk -v t="$tick" '{print ($14+$15)/t}' "/proc/$1/stat"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
rand() { head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n'; }
helper() { node "$here/bench.js" "$@"; }

# ---- everything started is stopped at the end ------------------------------------------------
gw_pids=() cluster_dir="" marker="" SAMPLER_PID=""
stop_pid() { # pid: SIGTERM, SIGKILL after 30 s
  local p=$1 i
  kill -0 "$p" 2>/dev/null || return 0
  kill -TERM "$p" 2>/dev/null || true
  for i in $(seq 300); do kill -0 "$p" 2>/dev/null || return 0; sleep 0.1; done
  log "pid $p still alive 30 s after SIGTERM: thread dump, then SIGKILL"
  jcmd "$p" Thread.print > "$out/threads-$p.txt" 2>&1 || true
  kill -KILL "$p" 2>/dev/null || true
}
stop_gateways() { local p; for p in "${gw_pids[@]}"; do stop_pid "$p"; done; gw_pids=(); }
stop_cluster() { [ -n "$cluster_dir" ] && TIDINGS_CLUSTER_DIR="$cluster_dir" "$root/ops/cluster/run.sh" stop || true; cluster_dir=""; }
cleanup() {
  local rc=$?
  set +e
  [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
  stop_gateways
  stop_cluster
  [ -n "$marker" ] && [ "$(cat "$marker" 2>/dev/null)" = "$$" ] && rm -f "$marker"
  [ "$rc" = 0 ] || log "exit status $rc; results so far in $out"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# ---- machine, quiet start --------------------------------------------------------------------
{
  echo "- date (UTC): $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "- machine: $(nproc) cores, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1), $(free -m | awk '/^Mem:/ {print $2 " MiB"}') RAM"
  echo "- java: $(java -version 2>&1 | head -1); node $(node -v); $(wrk -v 2>&1 | head -1 | cut -d' ' -f1-2)"
  echo "- jar: $jar (built in a checkout of $(git -C "$(dirname "$jar")" rev-parse --short HEAD 2>/dev/null || echo '?')$([ -z "$(git -C "$(dirname "$jar")" status --porcelain --untracked-files=no 2>/dev/null)" ] || echo ' with uncommitted changes'))"
  echo "- gateway JVM flags: ops/bin/tidings + $java_opts; scale $scale; gateways $gateways"
  echo "- command: ops/cluster/bench.sh --scale $scale --gateways $gateways${only:+ --only $only}${linger:+ --linger $linger}"
} > "$out/machine.md"
cat "$out/machine.md" >&2

if [ "$scale" = full ]; then
  marker=/tmp/bench-running
  echo $$ > "$marker"
fi
if [ "$quiet_wait" = 1 ]; then
  t0=$SECONDS
  while awk '{exit !($1 > 1.5)}' /proc/loadavg && [ $((SECONDS - t0)) -lt 300 ]; do
    log "1-minute load average $(loadavg | cut -d' ' -f1) > 1.5: waiting for it to fall ($((SECONDS - t0)) s of at most 300)"
    sleep 15
  done
fi
echo "- load average (1/5/15) at the start: $(loadavg)" >> "$out/machine.md"
log "load average $(loadavg); results in $out"

export TIDINGS_JWT_SECRET="$(rand)"
export TIDINGS_PUBLISH_KEYS="pub_bench_$(rand | head -c 24)"
export TIDINGS_AUDIT_KEYS="aud_bench_$(rand | head -c 24)"
key=$TIDINGS_PUBLISH_KEYS

# ---- one gateway node ------------------------------------------------------------------------
# start_gateway DIR [yaml lines...]: sets GW_PID, GW_URL, GW_YAML
start_gateway() {
  local dir=$1; shift
  local port; port=$(free_port)
  mkdir -p "$dir"
  { echo "host: 127.0.0.1"; echo "port: $port"; echo "dataDir: $dir/data"; printf '%s\n' "$@"; } > "$dir/tidings.yaml"
  TIDINGS_JAR="$jar" TIDINGS_JAVA_OPTS="-Xlog:gc:file=$dir/gc.log:uptime,level $java_opts" \
    "$root/ops/bin/tidings" serve --config "$dir/tidings.yaml" > "$dir/gateway.log" 2>&1 &
  GW_PID=$!; gw_pids+=("$GW_PID")
  GW_URL="http://127.0.0.1:$port"; GW_YAML="$dir/tidings.yaml"
  local t0=$SECONDS
  until curl -fs -o /dev/null "$GW_URL/readyz"; do
    kill -0 "$GW_PID" 2>/dev/null || { log "gateway in $dir exited during start:"; tail -20 "$dir/gateway.log" >&2; return 1; }
    [ $((SECONDS - t0)) -lt 120 ] || { log "gateway in $dir not ready within 120 s"; return 1; }
    sleep 0.5
  done
  log "gateway ready: pid $GW_PID on $GW_URL ($dir)"
}
mint_token() { TIDINGS_JAR="$jar" TIDINGS_JAVA_OPTS= "$root/ops/bin/tidings" token --sub load --room loadtest --ttl PT12H --config "$1" 2>/dev/null | tail -1; }

# CPU seconds of the gateways, of the brokers, of the load clients and of the whole machine, so each
# step can tell what the rest of the machine (processes outside this benchmark) took
cpu_of_pids() { local s=0 p; for p in "$@"; do [ -r "/proc/$p/stat" ] && s=$(awk -v s="$s" -v t="$tick" '{print s+($14+$15)/t}' "/proc/$p/stat"); done; echo "$s"; }
broker_pids() { [ -n "$cluster_dir" ] && cat "$cluster_dir"/kafka-*.pid 2>/dev/null || true; }
machine_busy_s() { awk -v t="$tick" 'NR==1 {print ($2+$3+$4+$7+$8+$9)/t}' /proc/stat; }
# The load clients (wrk, node and the subscriber processes fanout.js forks) are sampled from /proc
# every 0.25 s while a step runs: every descendant of this script but the gateways, also after it was
# orphaned (a child that outlives its parent is not reaped by it, so `times` would miss its CPU).
# On SIGTERM the sampler writes their CPU seconds over the step.
clients_sampler() { # out-file pids-to-exclude...
  python3 - "$$" "$@" <<'PY' &
import os, signal, sys, time
root, out, excluded = int(sys.argv[1]), sys.argv[2], set(int(p) for p in sys.argv[3:])
excluded |= {root, os.getpid()}
tick = os.sysconf('SC_CLK_TCK')
seen = {}  # pid -> [starttime, cpu at first sight (0 if born during the step), last cpu]
def scan(first):
    procs = {}
    for d in os.listdir('/proc'):
        if not d.isdigit(): continue
        try:
            with open('/proc/%s/stat' % d) as f: st = f.read()
        except OSError: continue
        x = st[st.rindex(')') + 2:].split()
        procs[int(d)] = (int(x[1]), int(x[19]), (int(x[11]) + int(x[12])) / tick)  # ppid, starttime, cpu
    def descends(pid):
        for _ in range(64):
            if pid == root: return True
            if pid not in procs: return False
            pid = procs[pid][0]
        return False
    for pid, (ppid, start, cpu) in procs.items():
        if pid in excluded: continue
        s = seen.get(pid)
        if s and s[0] == start: s[2] = cpu
        elif descends(pid): seen[pid] = [start, cpu if first else 0.0, cpu]
def done(*_):
    scan(False)
    with open(out, 'w') as f: f.write('%.3f\n' % sum(s[2] - s[1] for s in seen.values()))
    sys.exit(0)
signal.signal(signal.SIGTERM, done)
scan(True)
while True:
    time.sleep(0.25)
    scan(False)
PY
  SAMPLER_PID=$!
}
usage_now() { # wall machine gateways brokers
  # shellcheck disable=SC2046 # pid lists are word-split on purpose
  echo "$(date +%s.%N) $(machine_busy_s) $(cpu_of_pids "${gw_pids[@]}") $(cpu_of_pids $(broker_pids))"
}

failures=() steps_file=""
step() { # key name command...: runs a measurement; a failure is recorded and the run goes on
  local step_key=$1 name=$2; shift 2
  log "$name (load $(loadavg))"
  local u0 u1 ok=true l0; l0=$(loadavg)
  clients_sampler "$out/.clients-cpu" "${gw_pids[@]}"
  u0=$(usage_now)
  if "$@"; then log "$name: done"; else log "$name: FAILED (status $?)"; failures+=("$name"); ok=false; fi
  u1=$(usage_now)
  kill -TERM "$SAMPLER_PID"; wait "$SAMPLER_PID" || true
  echo "$u0 $u1 $(cat "$out/.clients-cpu")" | awk -v key="$step_key" -v name="$name" -v ok="$ok" -v l="$l0" '{
    w=$5-$1; m=$6-$2; g=$7-$3; b=$8-$4; c=$9; o=m-g-b-c; if (o<0) o=0;
    printf "{\"key\": \"%s\", \"step\": \"%s\", \"ok\": %s, \"load_at_start\": \"%s\", \"wall_s\": %.1f, \"machine_busy_cores\": %.2f, \"gateway_cores\": %.2f, \"brokers_cores\": %.2f, \"load_client_cores\": %.2f, \"other_cores\": %.2f}\n",
      key, name, ok, l, w, m/w, g/w, b/w, c/w, o/w }' >> "$steps_file"
  sleep 3
}

wrk_publish() { # dir url pid
  local d=$1 url=$2 pid=$3 c0 c1 workers
  wrk -t2 -c"$wrk_conns" -d"${wrk_warmup}s" -s "$root/ops/load/publish-single.lua" "$url" -- "$key" > "$d/wrk-warmup.txt"
  helper snapshot --url "$url" --out "$d/wrk-before.json" > /dev/null
  c0=$(cpu_s "$pid")
  wrk -t2 -c"$wrk_conns" -d"${wrk_s}s" --latency -s "$root/ops/load/publish-single.lua" "$url" -- "$key" > "$d/wrk.txt"
  c1=$(cpu_s "$pid")
  # publishes that block (cluster mode waits for Kafka) run on Undertow's worker threads: how many
  workers=$(jcmd "$pid" Thread.print 2>/dev/null | grep -c '^"XNIO-1 task' || true)
  helper snapshot --url "$url" --out "$d/wrk-after.json" > /dev/null
  helper wrk --txt "$d/wrk.txt" --before "$d/wrk-before.json" --after "$d/wrk-after.json" \
    --cpu-s "$(awk -v a="$c0" -v b="$c1" 'BEGIN{print b-a}')" --worker-threads "${workers:-0}" --out "$d/publish-single.json" > /dev/null
  sed -n 's/^Requests\/sec: */single-event publish events\/s: /p' "$d/wrk.txt" >&2
}

fanout() { # out-json url pid token [publish-url]
  node "$root/ops/load/fanout.js" --url "$2" --token "$4" --publish-key "$key" ${5:+--publish-url "$5"} \
    --server-pid "$3" --clients "$fan_clients" --rate "$fan_rate" --duration "$fan_s" --warmup "$fan_warmup" \
    --procs 1 --out "$1" > "${1%.json}.txt" 2> "${1%.json}.log"
  local rc=$?
  cat "${1%.json}.txt" >&2
  return $rc
}

measure() { # mode dir url pid token [brokers]
  local mode=$1 d=$2 url=$3 pid=$4 token=$5 brokers=${6:-}
  steps_file="$d/steps.jsonl"
  echo "{\"start\": \"$(loadavg)\", \"at\": \"$(date -u +%H:%M:%S)\"}" > "$d/load.json"
  step single "$mode: single-event publishes (wrk -c$wrk_conns, ${wrk_s} s)" wrk_publish "$d" "$url" "$pid"
  step batched "$mode: batched publishes ($pub_events events, $pub_batch per POST, $pub_concurrency in flight)" \
    helper publish --url "$url" --key "$key" --events "$pub_events" --warmup "$pub_warmup" --batch "$pub_batch" \
      --concurrency "$pub_concurrency" --server-pid "$pid" --out "$d/publish-batched.json"
  step fanout "$mode: fan-out ($fan_clients clients × $fan_rate ev/s × $fan_s s)" fanout "$d/fanout.json" "$url" "$pid" "$token"
  step storm "$mode: resume storm ($storm_clients clients × $storm_behind missed events)" \
    helper storm --url "$url" --key "$key" --token "$token" --clients "$storm_clients" --behind "$storm_behind" \
      --timeout "$storm_timeout" --server-pid "$pid" --brokers "$brokers" --out "$d/storm.json"
  echo "{\"start\": \"$(sed -n 's/.*"start": "\([^"]*\)".*/\1/p' "$d/load.json")\", \"end\": \"$(loadavg)\"}" > "$d/load.json"
}

# ---- embedded --------------------------------------------------------------------------------
if [[ " $modes " == *" embedded "* ]]; then
  d="$out/embedded"; mkdir -p "$d"
  start_gateway "$d/gateway-1"
  token=$(mint_token "$GW_YAML")
  measure embedded "$d" "$GW_URL" "$GW_PID" "$token"
  stop_gateways
  rm -rf "$d/gateway-1/data"
  sleep 5
fi

# ---- cluster ---------------------------------------------------------------------------------
if [[ " $modes " == *" cluster "* ]]; then
  d="$out/cluster"; mkdir -p "$d"
  cluster_dir="$out/cluster/kafka"
  log "starting 3 Kafka brokers (ops/cluster/run.sh start --gateways 0, TIDINGS_CLUSTER_DIR=$cluster_dir)"
  TIDINGS_CLUSTER_DIR="$cluster_dir" "$root/ops/cluster/run.sh" start --gateways 0 > "$d/cluster-start.txt" 2>&1 \
    || { cat "$d/cluster-start.txt" >&2; exit 1; }
  # shellcheck disable=SC1091
  . "$cluster_dir/cluster.env"
  kafka_lines=("log: kafka" "kafkaBootstrapServers: $BOOTSTRAP" "kafkaTopic: ${TIDINGS_CLUSTER_TOPIC:-tidings-events}")
  [ -n "$linger" ] && kafka_lines+=("kafkaLingerMs: $linger")
  start_gateway "$d/gateway-1" "${kafka_lines[@]}"
  gw1_url=$GW_URL gw1_pid=$GW_PID
  log "cluster: warming the new brokers up: ${broker_warmup} s of single-event publishes, not measured"
  wrk -t2 -c"$wrk_conns" -d"${broker_warmup}s" -s "$root/ops/load/publish-single.lua" "$gw1_url" -- "$key" > "$d/wrk-broker-warmup.txt"
  sed -n 's/^Requests\/sec: */broker warm-up events\/s: /p' "$d/wrk-broker-warmup.txt" >&2
  token=$(mint_token "$GW_YAML")
  measure cluster "$d" "$gw1_url" "$gw1_pid" "$token" "$BOOTSTRAP"
  if [ "$gateways" = 2 ]; then
    start_gateway "$d/gateway-2" "${kafka_lines[@]}"
    gw2_url=$GW_URL gw2_pid=$GW_PID
    # node 2 first replays the whole topic into its replica: wait until it has applied the record
    # node 1 applied last (nothing is published meanwhile): exact, where /readyz (which waits for
    # the replica to reach Kafka's end as of the node's start) only says it has caught up.
    t0=$SECONDS
    want=$(helper snapshot --url "$gw1_url" | jq -r '.cluster_replica_offset')
    until at=$(helper snapshot --url "$gw2_url" | jq -r '.cluster_replica_offset') && [ "$at" = "$want" ]; do
      [ $((SECONDS - t0)) -lt 600 ] || { log "node 2's replica at Kafka offset $at, node 1's at $want after 600 s"; break; }
      sleep 1
    done
    log "node 2's replica reached node 1's (Kafka offset $want) $((SECONDS - t0)) s after it was ready"
    steps_file="$d/steps.jsonl"
    step cross "cluster: fan-out across nodes (publish on node 1, $fan_clients clients on node 2)" \
      fanout "$d/fanout-cross-node.json" "$gw2_url" "$gw2_pid" "$token" "$gw1_url"
  fi
  stop_gateways
  stop_cluster
fi

# ---- the table -------------------------------------------------------------------------------
{
  echo "# Embedded vs cluster ($scale)"
  echo
  cat "$out/machine.md"
  echo "- load average (1/5/15) at the end: $(loadavg)"
  echo
  helper report --dir "$out"
  [ ${#failures[@]} -eq 0 ] || printf '\nFAILED steps: %s\n' "$(IFS=';'; echo "${failures[*]}")"
} > "$out/summary.md"
cat "$out/summary.md"
log "results in $out"
[ ${#failures[@]} -eq 0 ]
