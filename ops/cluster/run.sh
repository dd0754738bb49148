#!/usr/bin/env bash
# A local Tidings cluster without Docker: 3 Kafka brokers in KRaft mode (each broker + controller, its
# own JVM, from the Maven Central artifacts of ops/cluster/pom.xml) and N gateway nodes (the built
# server/target/tidings.jar) with `log: kafka`. For operators trying cluster mode and for benchmarks.
#
#   ops/cluster/run.sh start [--gateways N]   # default 2; 0 = brokers only. Prints the addresses.
#   ops/cluster/run.sh status                 # which processes of the cluster are alive
#   ops/cluster/run.sh stop                   # SIGTERM every process it started, SIGKILL after 30 s
#   ops/cluster/run.sh kafka-classpath        # the brokers' class path (for Kafka's own tools)
#   ops/cluster/run.sh produce-bench [--records N] [--size BYTES]
#                                             # Kafka's ProducerPerformance against the running
#                                             # brokers: acks=all, idempotent, one RF3 partition
#
# Environment: TIDINGS_CLUSTER_DIR (default target/cluster under the repository: configs, data, logs,
# pid files), TIDINGS_CLUSTER_TOPIC (default tidings-events, the gateway's default kafkaTopic), KAFKA_HEAP (default -Xmx512m per broker),
# TIDINGS_JAVA_OPTS (gateways, default -Xmx256m). Ports are picked free at start and written to
# $TIDINGS_CLUSTER_DIR/cluster.env (BOOTSTRAP=..., GATEWAYS=...).
#
# The topic is created as docs/operations.md "Running a cluster" prescribes: 1 partition, replication
# factor 3, min.insync.replicas=2, unclean leader election off, 7 days of retention.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
dir="${TIDINGS_CLUSTER_DIR:-$root/target/cluster}"
topic="${TIDINGS_CLUSTER_TOPIC:-tidings-events}"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
brokers=3
log() { printf '%s\n' "cluster: $*" >&2; }

usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }

classpath() { # resolves the Kafka jars once into the local Maven repository
  local cp="$dir/kafka.classpath"
  if [ ! -s "$cp" ] || [ "$root/ops/cluster/pom.xml" -nt "$cp" ]; then
    mkdir -p "$dir"
    mvn -B -q -f "$root/ops/cluster/pom.xml" dependency:build-classpath -Dmdep.outputFile="$cp" >&2
  fi
  cat "$cp"
}

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

kafka_tool() { # main-class args... (Kafka's command-line tools, on the brokers' class path)
  "$java" -Xmx256m -cp "$(classpath)" -Dlog4j2.configurationFile="$dir/log4j2-tools.xml" "$@"
}

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

write_log4j() { # file level appender-target
  cat > "$1" <<EOF
<Configuration status="warn">
  <Appenders><Console name="out" target="SYSTEM_OUT"><PatternLayout pattern="[%d] %p %m (%c)%n"/></Console></Appenders>
  <Loggers><Root level="$2"><AppenderRef ref="out"/></Root></Loggers>
</Configuration>
EOF
}

start_brokers() {
  local i voters="" cluster_id
  declare -ga BROKER_PORTS=() CONTROLLER_PORTS=()
  for i in $(seq 1 $brokers); do
    BROKER_PORTS[$i]=$(free_port); CONTROLLER_PORTS[$i]=$(free_port)
    voters+="${voters:+,}$i@127.0.0.1:${CONTROLLER_PORTS[$i]}"
  done
  write_log4j "$dir/log4j2.xml" INFO
  write_log4j "$dir/log4j2-tools.xml" WARN
  cluster_id=$(kafka_tool kafka.tools.StorageTool random-uuid)
  for i in $(seq 1 $brokers); do
    mkdir -p "$dir/kafka-$i/data"
    cat > "$dir/kafka-$i/server.properties" <<EOF
process.roles=broker,controller
node.id=$i
controller.quorum.voters=$voters
listeners=PLAINTEXT://127.0.0.1:${BROKER_PORTS[$i]},CONTROLLER://127.0.0.1:${CONTROLLER_PORTS[$i]}
advertised.listeners=PLAINTEXT://127.0.0.1:${BROKER_PORTS[$i]}
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/kafka-$i/data
# the shipped settings (docs/operations.md, "Running a cluster")
default.replication.factor=3
min.insync.replicas=2
unclean.leader.election.enable=false
auto.create.topics.enable=false
offsets.topic.replication.factor=3
transaction.state.log.replication.factor=3
transaction.state.log.min.isr=2
group.initial.rebalance.delay.ms=0
EOF
    kafka_tool kafka.tools.StorageTool format -t "$cluster_id" -c "$dir/kafka-$i/server.properties" >/dev/null
    # shellcheck disable=SC2086 # KAFKA_HEAP is word-split on purpose
    nohup "$java" ${KAFKA_HEAP:--Xmx512m} -cp "$(classpath)" -Dlog4j2.configurationFile="$dir/log4j2.xml" \
      kafka.Kafka "$dir/kafka-$i/server.properties" > "$dir/kafka-$i/broker.log" 2>&1 &
    echo $! > "$dir/kafka-$i.pid"
  done
  BOOTSTRAP=$(for i in $(seq 1 $brokers); do printf '127.0.0.1:%s,' "${BROKER_PORTS[$i]}"; done)
  BOOTSTRAP=${BOOTSTRAP%,}
  echo "BOOTSTRAP=$BOOTSTRAP" > "$dir/cluster.env"
  log "3 brokers starting (cluster id $cluster_id), bootstrap $BOOTSTRAP"
  # the topic can be created once all three brokers are registered (RF3)
  local t0=$SECONDS
  until kafka_tool org.apache.kafka.tools.TopicCommand --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
      --topic "$topic" --partitions 1 --replication-factor 3 \
      --config min.insync.replicas=2 --config unclean.leader.election.enable=false \
      --config retention.ms=604800000 > "$dir/topic.log" 2>&1; do
    for i in $(seq 1 $brokers); do
      alive "$dir/kafka-$i.pid" || { log "broker $i exited:"; tail -20 "$dir/kafka-$i/broker.log" >&2; exit 1; }
    done
    [ $((SECONDS - t0)) -lt 120 ] || { log "topic $topic not created within 120 s:"; cat "$dir/topic.log" >&2; exit 1; }
    sleep 1
  done
  log "topic $topic ready after $((SECONDS - t0)) s: $(kafka_tool org.apache.kafka.tools.TopicCommand \
      --bootstrap-server "$BOOTSTRAP" --describe --topic "$topic" | tail -n +2 | tr -s '\t ' ' ')"
}

start_gateways() { # count
  local n=$1 i port urls=""
  [ "$n" -gt 0 ] || return 0
  local jar="$root/server/target/tidings.jar"
  [ -f "$jar" ] || { log "building $jar"; (cd "$root" && mvn -B -q -DskipTests package -pl server -am) >&2; }
  export TIDINGS_JWT_SECRET="${TIDINGS_JWT_SECRET:-cluster-dev-secret-cluster-dev-secret-0123456789}"
  export TIDINGS_PUBLISH_KEYS="${TIDINGS_PUBLISH_KEYS:-cluster-dev-publish}"
  export TIDINGS_AUDIT_KEYS="${TIDINGS_AUDIT_KEYS:-cluster-dev-audit}"
  for i in $(seq 1 "$n"); do
    port=$(free_port)
    mkdir -p "$dir/gateway-$i"
    cat > "$dir/gateway-$i/tidings.yaml" <<EOF
host: 127.0.0.1
port: $port
dataDir: $dir/gateway-$i/data
log: kafka
kafkaBootstrapServers: $BOOTSTRAP
kafkaTopic: $topic
EOF
    TIDINGS_JAR="$jar" TIDINGS_JAVA_OPTS="${TIDINGS_JAVA_OPTS:--Xmx256m}" nohup "$root/ops/bin/tidings" serve \
      --config "$dir/gateway-$i/tidings.yaml" > "$dir/gateway-$i/gateway.log" 2>&1 &
    echo $! > "$dir/gateway-$i.pid"
    urls+="${urls:+,}http://127.0.0.1:$port"
  done
  echo "GATEWAYS=$urls" >> "$dir/cluster.env"
  local t0=$SECONDS url
  for i in $(seq 1 "$n"); do
    url=$(echo "$urls" | cut -d, -f"$i")
    until curl -fs -o /dev/null "$url/readyz"; do
      alive "$dir/gateway-$i.pid" || { log "gateway $i exited:"; tail -20 "$dir/gateway-$i/gateway.log" >&2; exit 1; }
      [ $((SECONDS - t0)) -lt 90 ] || { log "gateway $i not ready within 90 s (see $dir/gateway-$i/gateway.log)"; exit 1; }
      sleep 0.5
    done
  done
  log "$n gateways ready: $urls (publish key $TIDINGS_PUBLISH_KEYS, audit key $TIDINGS_AUDIT_KEYS)"
}

stop_all() {
  local f pids=() t0=$SECONDS
  # gateways first (they close their clients with 1001), then the brokers
  for f in "$dir"/gateway-*.pid "$dir"/kafka-*.pid; do
    [ -f "$f" ] || continue
    if alive "$f"; then kill -TERM "$(cat "$f")"; pids+=("$(cat "$f")"); fi
  done
  for pid in "${pids[@]}"; do
    while kill -0 "$pid" 2>/dev/null && [ $((SECONDS - t0)) -lt 30 ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && { log "pid $pid still alive after 30 s: SIGKILL"; kill -KILL "$pid" 2>/dev/null || true; }
  done
  rm -f "$dir"/gateway-*.pid "$dir"/kafka-*.pid
  log "stopped ${#pids[@]} processes (data kept in $dir)"
}

status() {
  local f any=1
  for f in "$dir"/kafka-*.pid "$dir"/gateway-*.pid; do
    [ -f "$f" ] || continue
    any=0
    if alive "$f"; then echo "$(basename "$f" .pid): running (pid $(cat "$f"))"; else echo "$(basename "$f" .pid): dead"; fi
  done
  [ -f "$dir/cluster.env" ] && cat "$dir/cluster.env"
  return $any
}

produce_bench() {
  local records=200000 size=200
  while [ $# -gt 0 ]; do
    case "$1" in --records) records=$2; shift ;; --size) size=$2; shift ;; *) usage ;; esac; shift
  done
  # shellcheck disable=SC1091
  . "$dir/cluster.env"
  # the gateway's producer settings: idempotent, acks=all, one request in flight per partition
  # ordering-safe (idempotence keeps order with up to 5), default batching (linger.ms 5 in Kafka 4)
  kafka_tool org.apache.kafka.tools.ProducerPerformance --topic "$topic" --num-records "$records" \
    --record-size "$size" --throughput -1 \
    --producer-props bootstrap.servers="$BOOTSTRAP" acks=all enable.idempotence=true
}

[ $# -ge 1 ] || usage
cmd=$1; shift
case "$cmd" in
  start)
    gateways=2
    while [ $# -gt 0 ]; do
      case "$1" in --gateways) gateways=$2; shift ;; *) usage ;; esac; shift
    done
    for f in "$dir"/*.pid; do
      if alive "$f"; then log "already running (ops/cluster/run.sh stop first)"; exit 1; fi
    done
    rm -rf "$dir/kafka-"* "$dir/gateway-"* "$dir/cluster.env"
    mkdir -p "$dir"
    start_brokers
    start_gateways "$gateways"
    cat "$dir/cluster.env"
    ;;
  stop) stop_all ;;
  status) status ;;
  kafka-classpath) classpath ;;
  produce-bench) produce_bench "$@" ;;
  *) usage ;;
esac
