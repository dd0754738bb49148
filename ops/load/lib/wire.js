'use strict';
// The wire protocols the load client speaks, so one Subscriber (lib/subscriber.js) measures every
// server under test with the same checks:
//   native   — Tidings' /v1/ws (docs/protocol.md), also spoken by the bare Undertow ceiling server
//              (bench/…/BareBroadcastServer.java): welcome, join → live, event frames; resume is a
//              join with `after`.
//   native-batch — the same with ?batch=1: a message may carry several frames, one per line
//   socketio — Engine.IO v4 / Socket.IO v5 over a WebSocket (Tidings' /socket.io/ and the reference
//              socket.io@4 server): open packet, CONNECT (with auth.token, and pid + offset to
//              recover a session), join with an ack (the ack is "live"), events
//              42["<room>::<type>",data,offset]; the server's pings are answered.
// A wire turns frames into calls on the subscriber: s._connected(info), s._onEvent(data, offset, at),
// s._live(), s._error(frame), s._gap(frame). The published npm clients (lib/npm-clients.js) are
// wires too: they own their connection (open, close, terminate) and call the same methods.

const native = {
  name: 'native',
  offsetsOrdered: true, // offsets are <epoch>-<index> with a growing index
  url(base, token) {
    return base.replace(/^http/, 'ws').replace(/\/$/, '') + '/v1/ws?token=' + encodeURIComponent(token);
  },
  onOpen() {},
  join(s, after) {
    const frame = { op: 'join', room: s.room };
    if (after) frame.after = after;
    s.ws.send(JSON.stringify(frame));
  },
  onMessage(s, text, at) {
    const m = JSON.parse(text);
    switch (m.op) {
      case 'event':
        return s._onEvent(m.data, m.offset, at);
      case 'welcome':
        return s._connected({ offset: m.offset, head: m.head, recovered: false, raw: m });
      case 'live':
        if (m.room === s.room) s._live(at);
        return;
      case 'gap':
        return s._gap(m);
      case 'error':
        return s._error(m, m.room === s.room);
      default: // joined, left, pong
        return;
    }
  },
};

// The native protocol with batched messages: each line of a message is a frame.
const nativeBatch = {
  ...native,
  name: 'native-batch',
  url(base, token) {
    return native.url(base, token).replace('/v1/ws?', '/v1/ws?batch=1&');
  },
  onMessage(s, text, at) {
    let from = 0;
    for (let nl = text.indexOf('\n'); nl !== -1; nl = text.indexOf('\n', from)) {
      native.onMessage(s, text.slice(from, nl), at);
      from = nl + 1;
    }
    native.onMessage(s, from === 0 ? text : text.slice(from), at);
  },
};

const JOIN_ACK = 1;
const socketio = {
  name: 'socketio',
  offsetsOrdered: false, // the reference server's offsets are opaque strings
  url(base, token) {
    return base.replace(/^http/, 'ws').replace(/\/$/, '') + '/socket.io/?EIO=4&transport=websocket&token=' + encodeURIComponent(token);
  },
  onOpen() {}, // the server speaks first (open packet)
  /** Joins the room as the 3D Repo contract's teamspace {account: room}; resume is done at CONNECT. */
  join(s) {
    s.ws.send('42' + JOIN_ACK + JSON.stringify(['join', { account: s.room }]));
  },
  onMessage(s, text, at) {
    const c = text.charCodeAt(0);
    if (c === 50 /* '2' ping */) return s.ws.send('3');
    if (c === 48 /* '0' open */) {
      const auth = { token: s.token };
      if (s.recover && s.recover.pid) {
        auth.pid = s.recover.pid;
        if (s.recover.offset) auth.offset = s.recover.offset;
      }
      return s.ws.send('40' + JSON.stringify(auth));
    }
    if (c !== 52 /* '4' message */) return;
    const type = text.charCodeAt(1);
    if (type === 50 /* '2' EVENT */) {
      const args = JSON.parse(text.slice(2));
      if (args[0] === 'credentialError') return s._error({ code: 'credentialError', message: JSON.stringify(args[1]) }, true);
      const offset = typeof args[args.length - 1] === 'string' && args.length > 2 ? args[args.length - 1] : null;
      return s._onEvent(args[1], offset, at);
    }
    if (type === 48 /* '0' CONNECT */) {
      const info = JSON.parse(text.slice(2));
      const recovered = !!(s.recover && s.recover.pid && info.pid === s.recover.pid);
      s.pid = info.pid;
      return s._connected({ offset: null, head: null, recovered, raw: info });
    }
    if (type === 51 /* '3' ACK */ && text.startsWith('43' + JOIN_ACK)) {
      const [ack] = JSON.parse(text.slice(2 + String(JOIN_ACK).length));
      if (ack && ack.ok) return s._live(at);
      return s._error({ code: 'join_refused', message: JSON.stringify(ack) }, true);
    }
    if (type === 52 /* '4' CONNECT_ERROR */) return s._error({ code: 'connect_error', message: text.slice(2) }, true);
  },
};

const WIRES = { native, 'native-batch': nativeBatch, socketio, ...require('./npm-clients').NPM_WIRES };

function wireOf(name) {
  const w = WIRES[name];
  if (!w) throw new Error(`unknown protocol '${name}' (${Object.keys(WIRES).join(', ')})`);
  return w;
}

module.exports = { wireOf };
