#!/usr/bin/env bash
# The side-by-side benchmark suite (issue 8): every server under test, the same load client.
#
#   ops/load/bench.sh fanout|saturation|idle|storm|publish|all [--scale ci|full] [--servers a,b] [--repeat n] [--jar path]
#
# Prerequisites (fresh clone): `mvn -B -DskipTests package` at the root (server/target/tidings.jar,
# bench/target/benchmarks.jar), `npm ci` in ops/load and in server/src/test/node (the reference
# socket.io server). What each scenario does: ops/load/README.md; figures: docs/benchmarks.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/../.." && pwd)"
case "${1:-}" in ""|-h|--help|help) sed -n '2,/^set -euo/p' "$0" | grep '^#' | sed 's/^# \{0,1\}//'; exit 0 ;; esac
missing() { echo "bench.sh: $1 is missing: $2" >&2; exit 2; }
[ -f "$root/server/target/tidings.jar" ] || missing server/target/tidings.jar "run 'mvn -B -DskipTests package' in $root"
[ -f "$root/bench/target/benchmarks.jar" ] || missing bench/target/benchmarks.jar "run 'mvn -B -DskipTests package' in $root"
[ -d "$here/node_modules/ws" ] || missing "ops/load/node_modules" "run 'npm ci' in $here"
[ -d "$root/server/src/test/node/node_modules/socket.io" ] || missing "server/src/test/node/node_modules" "run 'npm ci' in $root/server/src/test/node"
command -v jcmd >/dev/null || missing jcmd "install a JDK (the idle scenario measures the JVM heap with it)"
exec node "$here/bench.js" "$@"
