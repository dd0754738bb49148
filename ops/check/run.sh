#!/usr/bin/env bash
# Ops check (run by .ci/run after the tests; takes well under a minute once prometheus is installed):
#   1. promtool check config / check rules / test rules on ops/prometheus (and ops/compose's configs)
#   2. structure of the Grafana dashboards and provisioning, alert-test coverage   (check.py static)
#   3. a real gateway (the built jar, temp data dir, free port) under a small load: curl publishes
#      (committed, duplicate, a 401), WebSocket subscribers incl. a slow one, a resume, a forbidden
#      join, a foreign-epoch resume, bad and missing tokens                         (subscribers.mjs)
#   4. a real Prometheus scraping it every second with ops/prometheus/alerts.yml loaded; then every
#      rule and every dashboard query is evaluated through its HTTP API             (check.py live)
# Needs: java, node (the `ws` package of server/src/test/node), python3, curl; installs Debian's
# `prometheus` package when promtool/prometheus are missing (as root, like CI).
# Usage: ops/check/run.sh        (from anywhere; KEEP=1 keeps the temp dir for inspection)
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
cd "$root"
log() { printf '\n== %s\n' "$*"; }

# ---- prerequisites ---------------------------------------------------------------------------------
if ! command -v promtool >/dev/null 2>&1 || ! command -v prometheus >/dev/null 2>&1; then
  log "installing Debian's prometheus package (promtool, prometheus)"
  if [ "$(id -u)" -ne 0 ]; then echo "ops check: prometheus/promtool missing and not root to apt-get them" >&2; exit 1; fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -q --no-install-recommends prometheus >/dev/null 2>&1 \
    || { apt-get update -q >/dev/null && apt-get install -y -q --no-install-recommends prometheus >/dev/null; }
fi
for tool in java node python3 curl; do
  command -v "$tool" >/dev/null 2>&1 || { echo "ops check: $tool is required" >&2; exit 1; }
done
jar="$root/server/target/tidings.jar"
if [ ! -f "$jar" ]; then
  log "building $jar"
  mvn -B -q -DskipTests package -pl server -am
fi
node_dir="$root/server/src/test/node"
if [ ! -d "$node_dir/node_modules/ws" ]; then
  log "installing the npm test clients (npm ci)"
  (cd "$node_dir" && npm ci --no-audit --no-fund --loglevel=error)
fi

work="$(mktemp -d -t tidings-ops-check.XXXXXX)"
pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -n "${KEEP:-}" ]; then echo "ops check: kept $work"; else rm -rf "$work"; fi
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() { # url seconds
  local i
  for ((i = 0; i < $2 * 10; i++)); do curl -fs -o /dev/null "$1" && return 0; sleep 0.1; done
  echo "ops check: $1 did not answer within $2 s" >&2; return 1
}

# ---- 1. promtool ---------------------------------------------------------------------------------
log "promtool"
promtool check config ops/prometheus/prometheus.yml
for compose_config in ops/compose/prometheus*.yml; do
  # the compose configs name their rule file by its path inside the container: check them with a copy
  sed "s#/etc/prometheus/rules/alerts.yml#$root/ops/prometheus/alerts.yml#" "$compose_config" > "$work/compose-prometheus.yml"
  promtool check config "$work/compose-prometheus.yml"
done
promtool check rules ops/prometheus/alerts.yml
(cd ops/prometheus && promtool test rules alerts_test.yml)

# ---- 2. static checks ----------------------------------------------------------------------------
log "dashboards, provisioning, alert-test coverage"
python3 ops/check/check.py static "$root"

# ---- 3. gateway under load -----------------------------------------------------------------------
log "gateway"
gw_port=$(free_port)
export TIDINGS_JWT_SECRET="ops-check-secret-ops-check-secret-0123456789"
export TIDINGS_PUBLISH_KEYS="ops-check-publish" TIDINGS_AUDIT_KEYS="ops-check-audit"
# small queues and a short slow-client timeout so the load exercises fall-behind, lag and 4008
export TIDINGS_OUTBOUND_BUFFER_BYTES=65536 TIDINGS_SLOW_CLIENT_TIMEOUT_MS=3000
TIDINGS_JAR="$jar" TIDINGS_JAVA_OPTS="-Xmx256m" ops/bin/tidings serve --host 127.0.0.1 --port "$gw_port" \
  --data-dir "$work/data" > "$work/gateway.log" 2>&1 &
pids+=($!)
base="http://127.0.0.1:$gw_port"
wait_http "$base/readyz" 60 || { cat "$work/gateway.log"; exit 1; }
echo "gateway on $base"

log "prometheus"
prom_port=$(free_port)
cat > "$work/prometheus.yml" <<EOF
global: {scrape_interval: 1s, evaluation_interval: 1s}
rule_files: ["$root/ops/prometheus/alerts.yml"]
scrape_configs:
  - job_name: tidings
    static_configs: [{targets: ["127.0.0.1:$gw_port"]}]
EOF
prometheus --config.file="$work/prometheus.yml" --storage.tsdb.path="$work/prometheus" \
  --web.listen-address="127.0.0.1:$prom_port" --log.level=warn > "$work/prometheus.log" 2>&1 &
pids+=($!)
prom="http://127.0.0.1:$prom_port"
wait_http "$prom/-/ready" 30 || { cat "$work/prometheus.log"; exit 1; }
echo "prometheus on $prom"

log "load"
publish() { curl -s -o /dev/null -w '%{http_code}' -X POST "$base/v1/events" -H "Authorization: Bearer $TIDINGS_PUBLISH_KEYS" "$@"; }
first=$(curl -fs -X POST "$base/v1/events" -H "Authorization: Bearer $TIDINGS_PUBLISH_KEYS" \
  -d '{"room":"teamspaceA/m1","type":"newIssues","data":{"n":0}}' | python3 -c 'import json,sys; print(json.load(sys.stdin)["offset"])')
for i in 1 2 3 4 5; do publish -d "{\"room\":\"teamspaceA/m1\",\"type\":\"newIssues\",\"data\":{\"n\":$i}}" >/dev/null; done
token=$(TIDINGS_JAR="$jar" ops/bin/tidings token --data-dir "$work/data" --sub ops-check --room teamspaceA --ttl PT1H)
TIDINGS_WS_URL="ws://127.0.0.1:$gw_port/v1/ws" TIDINGS_TOKEN="$token" NODE_DIR="$node_dir" RESUME_AFTER="$first" \
  DURATION_MS=120000 node ops/check/subscribers.mjs > "$work/subscribers.json" 2> "$work/subscribers.err" &
subs=$!
sleep 1.5
codes=""
codes+=" dup:$(publish -d '{"id":"ops-check-1","room":"teamspaceA/m1","type":"t","data":{}}')"
codes+="/$(publish -d '{"id":"ops-check-1","room":"teamspaceA/m1","type":"t","data":{}}')"
codes+=" badkey:$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/v1/events" -H 'Authorization: Bearer wrong' -d '{}')"
codes+=" audit:$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/events?room=teamspaceA" -H "Authorization: Bearer $TIDINGS_AUDIT_KEYS")"
codes+=" broadcast:$(curl -s -o /dev/null -w '%{http_code}' -X POST "$base/_broadcast" -H "Authorization: Bearer $TIDINGS_PUBLISH_KEYS" \
  -d '{"stream":"notifications:alice","data":"{\"n\":1}"}')"
codes+=" presence:$(curl -s -o /dev/null -w '%{http_code}' "$base/v1/presence?room=teamspaceA/m1" -H "Authorization: Bearer $TIDINGS_AUDIT_KEYS")"
# ~6 MB of larger events: more than the slow subscriber's socket buffers and outbound queue can hold
python3 -c '
import json
print("\n".join(json.dumps({"room": "teamspaceA/big", "type": "blob", "data": {"x": "x" * 60000}}) for _ in range(100)))' > "$work/big.ndjson"
codes+=" big:$(publish --data-binary @"$work/big.ndjson")"
echo "responses:$codes"
for i in $(seq 1 60); do
  publish -d "{\"room\":\"teamspaceA/m$((i % 3))\",\"type\":\"tick\",\"data\":{\"i\":$i}}" >/dev/null
  sleep 0.15
done
# the slow subscriber is closed slowClientTimeoutMs after its queue stops moving: wait for that (a
# loaded machine may take a while), then stop the subscribers
metric() { curl -fs "$base/metrics" | awk -v m="$1" 'index($0, m) == 1 {s += $NF} END {print s + 0}'; }
for i in $(seq 1 120); do
  [ "$(metric tidings_slow_client_disconnects_total)" != "0" ] && break
  sleep 0.5
done
kill -TERM "$subs" 2>/dev/null || true
if ! wait "$subs"; then
  echo "ops check: subscribers reported problems:" >&2; cat "$work/subscribers.json" "$work/subscribers.err" >&2; exit 1
fi
python3 - "$work/subscribers.json" <<'EOF'
import json, sys
s = json.load(open(sys.argv[1]))
print("subscribers: live events", [c["events"] for c in s["live"]], "| resume", s["resume"][0]["events"],
      "| forbidden", s["forbidden"][0]["frames"][1:2],
      "| gap", s["gap"][0]["frames"][2:3], "| bad/missing token closed with", s["badToken"][0]["close"], s["noToken"][0]["close"])
EOF
# what the load produced, as the gateway counts it: the slow subscriber must have fallen behind, been
# served from the log (lag samples) and been closed, so the lag and error panels show real data
curl -fs "$base/metrics" > "$work/metrics.txt"
python3 - "$work/metrics.txt" <<'EOF'
import re, sys
text = open(sys.argv[1]).read()
def total(name):
    return sum(float(x) for x in re.findall(r"^" + re.escape(name) + r"(?:\{[^}]*\})? (\S+)$", text, re.M))
names = ["tidings_log_appended_events_total", "tidings_deliveries_total", "tidings_replayed_events_total",
         "tidings_sessions_fell_behind_total", "tidings_consumer_lag_seconds_count",
         "tidings_slow_client_disconnects_total", "tidings_auth_failures_total", "tidings_joins_total"]
got = {n: total(n) for n in names}
print("gateway counted: " + ", ".join(f"{n[len('tidings_'):]}={got[n]:g}" for n in names))
missing = [n for n in names if got[n] <= 0]
if missing:
    sys.exit("ops check: the load did not produce " + ", ".join(missing))
EOF
case "$codes" in
  *"dup:200/200 badkey:401 audit:200 broadcast:201 presence:200 big:200"*) ;;
  *) echo "ops check: unexpected HTTP responses:$codes" >&2; exit 1 ;;
esac

# a few more scrapes after the load, so rate() windows hold the whole run
for i in $(seq 1 50); do
  n=$(curl -fs "$prom/api/v1/query" --data-urlencode 'query=count_over_time(up{job="tidings"}[1m])' \
      | python3 -c 'import json,sys; r=json.load(sys.stdin)["data"]["result"]; print(int(float(r[0]["value"][1])) if r else 0)')
  [ "$n" -ge 20 ] && break
  sleep 0.5
done
echo "prometheus has $n scrapes of the gateway"

# ---- 4. every expression against Prometheus ------------------------------------------------------
log "rules and dashboard queries against Prometheus"
python3 ops/check/check.py live "$root" "$prom" "$base" tidings

log "ops check passed"
