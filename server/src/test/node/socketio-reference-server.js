// The reference: an ordinary socket.io@4 server with connection state recovery on, speaking the
// same room contract as Tidings' Socket.IO adapter, for socketio-recovery-compare.js.
//
//   node socketio-reference-server.js <port> [--no-recovery]
//
// (port 0: any free port; the start line names the bound one. --no-recovery: connectionStateRecovery
// off, the plain broadcast server the gateway benchmarks compare against, ops/load/bench.sh.)
// - emit('join', {account, model?}[, ack]) joins room "account" or "account/model"; leave likewise.
// - POST /publish {"room":"account/model","type":"newIssues","data":…,"id":"…"} emits
//   "<account>::<model>::<type>" (or "<account>::<type>") to the room and to its teamspace room,
//   once per socket; a repeated id (a publisher retry) is not emitted again. Answers {"ok":true}.
// - POST /v1/events: the same for Tidings' publish body (one event, a JSON array or NDJSON; no
//   authentication), so the load tool publishes to both with one code path. Answers {"offsets":[]}.
// - GET /debug/memory: process.memoryUsage() after a full GC when started with --expose-gc.
// - Sessions live in the process's memory (the in-memory adapter): a restart loses them.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 3000);
const recovery = !process.argv.includes('--no-recovery');
const seen = new Set();

/** Emits one published event to its room and its teamspace room, unless its id was seen before. */
function emit(e) {
  if (e.id && seen.has(e.id)) return;
  if (e.id) seen.add(e.id);
  const [account, model] = e.room.split('/');
  const name = model === undefined ? `${account}::${e.type}` : `${account}::${model}::${e.type}`;
  io.to([e.room, account]).emit(name, e.data);
}

/** The events of a Tidings publish body: one object, an array, or NDJSON lines. */
function eventsOf(body) {
  const t = body.trim();
  if (t.startsWith('[')) return JSON.parse(t);
  return t.split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l));
}

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/debug/memory') {
    // For the idle-connection benchmark: memory after a full GC (node --expose-gc).
    if (global.gc) global.gc();
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end(JSON.stringify(process.memoryUsage()));
  }
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end('{"status":"ok"}');
  }
  if (req.method !== 'POST' || (req.url !== '/publish' && req.url !== '/v1/events')) {
    res.writeHead(404);
    return res.end();
  }
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    let events;
    try {
      events = req.url === '/publish' ? [JSON.parse(body)] : eventsOf(body);
    } catch (err) {
      res.writeHead(400);
      return res.end('{"error":"bad_request"}');
    }
    events.forEach(emit);
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(req.url === '/publish' ? '{"ok":true}' : '{"offsets":[]}');
  });
});

const io = new Server(server, {
  transports: ['websocket'],
  ...(recovery ? { connectionStateRecovery: { maxDisconnectionDuration: 10 * 60 * 1000, skipMiddlewares: true } } : {}),
});

function roomOf(arg) {
  if (!arg || typeof arg.account !== 'string' || !arg.account) return null;
  return typeof arg.model === 'string' && arg.model ? `${arg.account}/${arg.model}` : arg.account;
}

io.on('connection', (socket) => {
  socket.on('join', (arg, ack) => {
    const room = roomOf(arg);
    if (room) socket.join(room);
    if (typeof ack === 'function') ack({ ok: !!room, room });
  });
  socket.on('leave', (arg, ack) => {
    const room = roomOf(arg);
    if (room) socket.leave(room);
    if (typeof ack === 'function') ack({ ok: !!room, room });
  });
});

server.listen(port, '127.0.0.1', () =>
  console.log(`reference socket.io server on ${server.address().port}${recovery ? '' : ' (no connection state recovery)'}`),
);
