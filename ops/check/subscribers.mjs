// WebSocket side of the ops check's small load (ops/check/run.sh): real `ws` clients on the
// native protocol, chosen so that every metric the dashboards plot gets a value:
//   - LIVE subscribers (deliveries, delivery latency, connections, joins outcome=live)
//   - one subscriber that stops reading (falls behind, catches up from the log: lag samples,
//     sessions_catching_up, then the slow-client timeout closes it with 4008)
//   - one resuming subscriber (joins outcome=replay, replayed events)
//   - a forbidden join, a join with a foreign-epoch offset (gap), a bad and a missing token (auth failures)
// Usage: node subscribers.mjs  (env: TIDINGS_WS_URL, TIDINGS_TOKEN, DURATION_MS, NODE_DIR, RESUME_AFTER)
// Prints one JSON summary line on stdout on SIGTERM or after DURATION_MS; exit code 0 if the checks held.
import { createRequire } from 'node:module';
import path from 'node:path';

const require = createRequire(path.join(process.env.NODE_DIR, 'package.json'));
const WebSocket = require('ws');

const url = process.env.TIDINGS_WS_URL;
const token = process.env.TIDINGS_TOKEN;
const durationMs = Number(process.env.DURATION_MS || 120000);
const live = Number(process.env.LIVE_SUBSCRIBERS || 4);
const summary = { live: [], slow: null, resume: null, forbidden: null, gap: null, badToken: null, noToken: null };

function client(name, query, onOpenFrames, opts = {}) {
  const state = { name, events: 0, frames: [], close: null };
  const ws = new WebSocket(url + query);
  ws.on('message', (buf) => {
    const frame = JSON.parse(buf.toString());
    if (frame.op === 'event') state.events++;
    else state.frames.push(frame.op + (frame.code ? ':' + frame.code : '') + (frame.reason ? ':' + frame.reason : ''));
    if (frame.op === 'welcome') {
      for (const f of onOpenFrames) ws.send(JSON.stringify(f));
      if (opts.stopReading) setTimeout(() => ws._socket.pause(), 200);
    }
  });
  ws.on('close', (code) => { state.close = code; });
  ws.on('error', (e) => { state.error = String(e.message || e); });
  state.ws = ws;
  return state;
}

const q = '?token=' + encodeURIComponent(token);
for (let i = 0; i < live; i++) {
  summary.live.push(client('live' + i, q, [{ op: 'join', room: i % 2 ? 'teamspaceA' : 'teamspaceA/m1' }]));
}
summary.slow = client('slow', q, [{ op: 'join', room: 'teamspaceA' }], { stopReading: true });
if (process.env.RESUME_AFTER) {
  summary.resume = client('resume', q, [{ op: 'join', room: 'teamspaceA', after: process.env.RESUME_AFTER }]);
}
summary.forbidden = client('forbidden', q, [{ op: 'join', room: 'otherTeam' }]);
summary.gap = client('gap', q, [{ op: 'join', room: 'teamspaceA', after: 'zzzzzzzzzzzz-1' }]);
summary.badToken = client('badToken', '?token=not-a-token', []);
summary.noToken = client('noToken', '', []);

// Runs until SIGTERM (run.sh sends it once the gateway has counted what it needs) or DURATION_MS.
function finish() {
  const out = {};
  let ok = true;
  for (const [k, v] of Object.entries(summary)) {
    if (v === null) continue;
    const list = Array.isArray(v) ? v : [v];
    out[k] = list.map((s) => ({ events: s.events, close: s.close, frames: s.frames.slice(0, 4), error: s.error }));
    for (const s of list) s.ws.terminate();
  }
  const problems = [];
  if (summary.live.some((s) => s.events === 0)) problems.push('a live subscriber received no event');
  if (summary.resume && summary.resume.events === 0) problems.push('the resuming subscriber replayed nothing');
  if (!summary.forbidden.frames.some((f) => f.startsWith('error:forbidden'))) problems.push('forbidden join was not refused');
  if (!summary.gap.frames.some((f) => f.startsWith('gap'))) problems.push('foreign-epoch resume got no gap');
  if (summary.badToken.close === null || summary.badToken.close === 1000) problems.push('bad token was not refused');
  ok = problems.length === 0;
  out.problems = problems;
  console.log(JSON.stringify(out));
  process.exit(ok ? 0 : 1);
}
process.on('SIGTERM', finish);
setTimeout(finish, durationMs);
