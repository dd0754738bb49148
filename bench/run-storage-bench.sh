#!/usr/bin/env bash
# Storage log benchmark (issue 2): Tidings' EventLog and raw Chronicle Queue doing the same work
# (append single, append batch of 100, sequential read; ~230-byte events), side by side in one run.
# Builds bench/target/benchmarks.jar (tests skipped, nothing installed), runs the suite with JMH and
# prints a Markdown table (docs/benchmarks.md explains it). Needs Java 17+ and Maven 3.8+.
#
#   bench/run-storage-bench.sh                      # everything, default settings (~5 min)
#   bench/run-storage-bench.sh SequentialRead       # a regex picks benchmarks
#   bench/run-storage-bench.sh -prof gc             # any other JMH option is passed on
#   bench/run-storage-bench.sh SequentialRead -p rooms=1000   # read events spread over 1000 rooms
#   ITERATIONS=10 FORKS=2 bench/run-storage-bench.sh
#
# Iteration settings come from these variables (JMH refuses -i, -wi, … given twice):
#   WARMUPS=3 WARMUP_TIME=2s ITERATIONS=5 TIME=2s FORKS=1; SKIP_BUILD=1 reuses the built jar.
# Logs live in temporary directories under java.io.tmpdir (override with
# JAVA_TOOL_OPTIONS=-Djava.io.tmpdir=…); the read benchmarks write ~500 MB there.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
java="${JAVA_HOME:+$JAVA_HOME/bin/}java"
out=bench/target/storage-bench

if [[ "${SKIP_BUILD:-0}" != 1 ]]; then
  mvn -B -q -pl bench -am package -DskipTests
fi
mkdir -p "$out"

model=$( (command -v lscpu >/dev/null && lscpu | sed -n 's/^Model name: *//p') || true)
{
  echo "# $(date -u +%Y-%m-%dT%H:%M:%SZ), $(nproc) cores${model:+, $model}, load average $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?')"
  "$java" -version 2>&1 | sed 's/^/# /'
} | tee "$out/machine.txt"

host_flags=()  # the JMH host JVM itself; forked JVMs get their flags from StorageBench
spec=$("$java" -XshowSettings:properties -version 2>&1 | sed -n 's/^ *java.specification.version = //p')
if [[ "${spec%%.*}" -ge 24 ]]; then host_flags+=(--sun-misc-unsafe-memory-access=allow); fi
load=$(cut -d' ' -f1 /proc/loadavg 2>/dev/null || echo 0)
if awk -v l="$load" -v n="$(nproc)" 'BEGIN { exit !(l > n) }'; then
  echo "# warning: load average $load on $(nproc) cores: other processes compete for the CPU; the events/s"
  echo "#          columns will be noisy, compare the per-CPU-second column"
fi

"$java" ${host_flags[@]+"${host_flags[@]}"} -cp bench/target/benchmarks.jar io.tidings.bench.StorageBench \
  -wi "${WARMUPS:-3}" -w "${WARMUP_TIME:-2s}" -i "${ITERATIONS:-5}" -r "${TIME:-2s}" -f "${FORKS:-1}" \
  -rf json -rff "$out/results.json" "$@" | tee "$out/output.txt"

echo "# load average after the run: $(cut -d' ' -f1-3 /proc/loadavg 2>/dev/null || echo '?'); JMH results: $out/results.json" | tee -a "$out/machine.txt"
