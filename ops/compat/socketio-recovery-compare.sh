#!/usr/bin/env bash
# Socket.IO connection state recovery: Tidings vs the reference socket.io@4 server, same scenario
# (docs/benchmarks.md, "Socket.IO recovery vs reference server"). Builds server/target/tidings.jar,
# installs the pinned npm packages if needed, then runs server/src/test/node/socketio-recovery-compare.js.
#
#   ops/compat/socketio-recovery-compare.sh                      # both servers, defaults below
#   ops/compat/socketio-recovery-compare.sh --target tidings --clients 50 --seconds 120 --json out.json
#
# Options (defaults): --target both|tidings|reference (both)  --clients 20  --seconds 60
#   --rate 40 (events/s)  --cut-min-ms 2000  --cut-max-ms 5000  --signal SIGKILL  --json <file>
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
(cd "$root" && mvn -q -B -DskipTests package -pl server -am)
if [ ! -d "$root/server/src/test/node/node_modules" ]; then
  (cd "$root/server/src/test/node" && npm ci --no-audit --no-fund --loglevel=error)
fi
exec node "$root/server/src/test/node/socketio-recovery-compare.js" --root "$root" "$@"
