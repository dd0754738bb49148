// Drives real socket.io-client@4 sockets (and raw `ws` sockets) for the Java tests (SocketIo*Test).
//
//   node socketio-driver.js <base url, e.g. http://127.0.0.1:8080>
//
// Reads one JSON command per stdin line and prints one JSON line per thing that happens, so a test
// can script a scenario and assert on exactly what the unmodified client saw. Commands:
//   {"cmd":"connect","id":"a","auth":{…},"query":{…},"headers":{…},"path":"/socket.io/","reconnection":true,
//    "transports":["websocket"]}
//   {"cmd":"emit","id":"a","args":["join",{…}],"ack":true,"tag":"j1"}   → {"ev":"ack","id":"a","tag":"j1","args":[…]}
//   {"cmd":"cut","id":"a","reconnect":false}  terminate the underlying WebSocket without a close frame
//                                             (reconnect:false holds the client off until "reconnect")
//   {"cmd":"reconnect","id":"a"}              let a held-off client reconnect now
//   {"cmd":"disconnect","id":"a"}             socket.disconnect() (sends DISCONNECT; no recovery)
//   {"cmd":"connect_again","id":"a"}          socket.connect() after a disconnect
//   {"cmd":"auth","id":"a","auth":{…}}        replace the auth object sent on the next (re)connect
//   {"cmd":"raw","id":"r","path":"/socket.io/?EIO=4&transport=websocket"}  a raw ws client
//   {"cmd":"rawsend","id":"r","text":"40"}
//   {"cmd":"exit"}
// Output lines: connect (sid, recovered), connect_error (message, data), disconnect (reason),
// event (name, args — every server event, via onAny), ack, raw (frame), rawclose (code), ok (cmd done).
'use strict';
const { io } = require('socket.io-client');
const WebSocket = require('ws');
const readline = require('readline');

const base = process.argv[2];
const sockets = new Map();
const raws = new Map();

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

function connect(c) {
  const socket = io(base, {
    path: c.path || '/socket.io/',
    transports: c.transports || ['websocket'],
    auth: c.auth || {},
    query: c.query || {},
    extraHeaders: c.headers || {},
    reconnection: c.reconnection !== false,
    reconnectionDelay: 100,
    reconnectionDelayMax: 200,
    randomizationFactor: 0,
    forceNew: true,
  });
  sockets.set(c.id, socket);
  socket.on('connect', () => out({ ev: 'connect', id: c.id, sid: socket.id, recovered: socket.recovered === true }));
  socket.on('connect_error', (err) => out({ ev: 'connect_error', id: c.id, message: err.message, data: err.data === undefined ? null : err.data, active: socket.active }));
  socket.on('disconnect', (reason) => out({ ev: 'disconnect', id: c.id, reason }));
  socket.onAny((name, ...args) => out({ ev: 'event', id: c.id, name, args }));
}

function underlyingWs(socket) {
  const transport = socket.io.engine && socket.io.engine.transport;
  return transport && transport.ws;
}

function handle(c) {
  switch (c.cmd) {
    case 'connect':
      connect(c);
      break;
    case 'emit': {
      const socket = sockets.get(c.id);
      if (c.ack) socket.emit(...c.args, (...args) => out({ ev: 'ack', id: c.id, tag: c.tag, args }));
      else socket.emit(...c.args);
      break;
    }
    case 'cut': {
      const socket = sockets.get(c.id);
      if (c.reconnect === false) socket.io.reconnection(false);
      underlyingWs(socket).terminate();
      break;
    }
    case 'reconnect': {
      const socket = sockets.get(c.id);
      socket.io.reconnection(true);
      socket.connect();
      break;
    }
    case 'disconnect':
      sockets.get(c.id).disconnect();
      break;
    case 'connect_again':
      sockets.get(c.id).connect();
      break;
    case 'auth':
      sockets.get(c.id).auth = c.auth;
      break;
    case 'raw': {
      const ws = new WebSocket(base.replace(/^http/, 'ws') + c.path);
      raws.set(c.id, ws);
      ws.on('message', (data) => out({ ev: 'raw', id: c.id, frame: data.toString() }));
      ws.on('close', (code) => out({ ev: 'rawclose', id: c.id, code }));
      ws.on('error', (err) => out({ ev: 'rawerror', id: c.id, message: err.message }));
      ws.on('unexpected-response', (req, res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => out({ ev: 'rawrefused', id: c.id, status: res.statusCode, body }));
      });
      break;
    }
    case 'rawsend':
      raws.get(c.id).send(c.text);
      break;
    case 'exit':
      for (const s of sockets.values()) s.disconnect();
      for (const w of raws.values()) w.terminate();
      process.exit(0);
  }
  out({ ev: 'ok', cmd: c.cmd, id: c.id === undefined ? null : c.id, tag: c.tag === undefined ? null : c.tag });
}

readline.createInterface({ input: process.stdin }).on('line', (line) => {
  if (!line.trim()) return;
  try {
    handle(JSON.parse(line));
  } catch (e) {
    out({ ev: 'driver_error', message: String(e && e.stack || e) });
  }
});
process.stdin.on('end', () => process.exit(0));
