#!/usr/bin/env bash
# Runs one reliability scenario of docs/reliability.md, or all of them.
#
#   ops/reliability/run.sh <scenario>|all [--long] [--seed N] [-Dtidings.reliability.<knob>=<value> ...]
#
# Scenarios: crash, disk-full, jitter, slow, fuzz, auth, soak, cluster. Each is a JUnit class in
# server/src/test/java/io/tidings/server/reliability/ (cluster: ClusterGatewayKillTest, ClusterSessionMoveTest and ClusterBrokerFaultTest there, and the shipped Kafka settings under broker
# faults, kafka-testkit/src/test/java/io/tidings/kafka/testkit/); `mvn -B verify` runs the short ("ci") version
# of every one, --long the on-demand version (more rounds, clients, cases, time). A failing run prints
# its seed; --seed replays it.
set -euo pipefail
cd "$(dirname "$0")/../.."

declare -A CLASS=(
  [crash]=GatewayCrashTest
  [disk-full]=DiskFullTest
  [jitter]=NetworkJitterTest
  [slow]=SlowConsumerStressTest
  [fuzz]=ProtocolFuzzTest
  [auth]=AuthorizationPropertyTest
  [soak]=SoakTest
  [cluster]=ShippedSettingsFaultTest,ClusterGatewayKillTest,ClusterSessionMoveTest,ClusterBrokerFaultTest
)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit 2; }
[ $# -ge 1 ] || usage
scenario=$1; shift
props=()
while [ $# -gt 0 ]; do
  case "$1" in
    --long) props+=(-Dtidings.reliability.scale=long -Djunit.jupiter.execution.timeout.default=12h) ;; # past the suite's 3 min per test
    --seed) props+=(-Dtidings.reliability.seed="$2"); shift ;;
    -D*) props+=("$1") ;;
    *) usage ;;
  esac
  shift
done

if [ "$scenario" = all ]; then
  tests=$(IFS=,; echo "${CLASS[*]}")
elif [ -n "${CLASS[$scenario]:-}" ]; then
  tests=${CLASS[$scenario]}
else
  usage
fi

# Reports (figures per run) land in server/target/reliability/. The build's default per-test timeout
# (3 m, src/test/resources/junit-platform.properties) is for CI scale; on-demand runs get 2 h (a later
# -Djunit.jupiter.execution.timeout.default on the command line wins).
exec mvn -B -pl server,kafka-testkit -am verify -Dtest="$tests" -Dsurefire.failIfNoSpecifiedTests=false \
  -Djunit.jupiter.execution.timeout.default=2h "${props[@]}"
