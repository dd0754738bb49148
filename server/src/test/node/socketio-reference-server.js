// The reference: an ordinary socket.io@4 server with connection state recovery on, speaking the
// same room contract as Tidings' Socket.IO adapter, for socketio-recovery-compare.js.
//
//   node socketio-reference-server.js <port>
//
// - emit('join', {account, model?}[, ack]) joins room "account" or "account/model"; leave likewise.
// - POST /publish {"room":"account/model","type":"newIssues","data":…,"id":"…"} emits
//   "<account>::<model>::<type>" (or "<account>::<type>") to the room and to its teamspace room,
//   once per socket; a repeated id (a publisher retry) is not emitted again. Answers {"ok":true}.
// - Sessions live in the process's memory (the in-memory adapter): a restart loses them.
'use strict';
const http = require('http');
const { Server } = require('socket.io');

const port = Number(process.argv[2] || 3000);
const seen = new Set();

const server = http.createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/healthz') {
    res.writeHead(200, { 'content-type': 'application/json' });
    return res.end('{"status":"ok"}');
  }
  if (req.method !== 'POST' || req.url !== '/publish') {
    res.writeHead(404);
    return res.end();
  }
  let body = '';
  req.on('data', (d) => (body += d));
  req.on('end', () => {
    let e;
    try {
      e = JSON.parse(body);
    } catch (err) {
      res.writeHead(400);
      return res.end('{"error":"bad_request"}');
    }
    if (!(e.id && seen.has(e.id))) {
      if (e.id) seen.add(e.id);
      const [account, model] = e.room.split('/');
      const name = model === undefined ? `${account}::${e.type}` : `${account}::${model}::${e.type}`;
      io.to([e.room, account]).emit(name, e.data);
    }
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"ok":true}');
  });
});

const io = new Server(server, {
  transports: ['websocket'],
  connectionStateRecovery: { maxDisconnectionDuration: 10 * 60 * 1000, skipMiddlewares: true },
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

server.listen(port, '127.0.0.1', () => console.log(`reference socket.io server on ${port}`));
