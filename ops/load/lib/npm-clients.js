'use strict';
// The published npm clients as wires of lib/subscriber.js, so the same checks and latency figures
// cover what an unmodified application runs, not only the hand-written protocol speakers of
// lib/wire.js:
//   socket.io-client — `io(url, {transports: ['websocket'], auth: {token}})` (Tidings has no
//                      long-polling transport: docs/protocol.md), `emit('join', {account: room}, ack)`,
//                      every event through `onAny(event, data, offset)`
//   actioncable      — @rails/actioncable's `createConsumer(ws url?token=…)` and
//                      `subscriptions.create({channel: 'NotificationsChannel'}, {received})`: the
//                      server maps the channel to the room (cableChannels); a plain (non-resumable) client
// A wire of this kind owns its connection (`open`, `close`, `terminate`) instead of handing frames
// to the subscriber; the receive time is taken first thing in the library's callback, i.e. after the
// library parsed the frame, as an application sees it.

const WebSocket = require('ws');
const { nowMs } = require('./common');

let sioClient = null; // loaded on first use: the other wires need neither package
let cable = null;

const socketioClient = {
  name: 'socket.io-client',
  offsetsOrdered: false,
  url(base) {
    return base.replace(/\/$/, '');
  },
  open(s, timeoutMs) {
    if (!sioClient) sioClient = require('socket.io-client');
    return new Promise((resolve, reject) => {
      const socket = sioClient.io(s.url, {
        transports: ['websocket'],
        auth: { token: s.token },
        reconnection: false,
        timeout: timeoutMs,
        forceNew: true,
        localAddress: s.localAddress,
      });
      s.ws = socket;
      let settled = false;
      socket.on('connect', () => {
        settled = true;
        s._connected({ offset: null, head: null, recovered: socket.recovered, raw: { id: socket.id } });
        resolve();
      });
      socket.on('connect_error', (e) => {
        if (!settled) reject(new Error('connect_error: ' + e.message));
      });
      socket.on('disconnect', (reason) => {
        s.closed = { code: 0, reason };
      });
      socket.onAny((event, data, offset) => {
        const at = nowMs();
        if (event === 'credentialError') return s._error({ code: 'credentialError', message: JSON.stringify(data) }, true);
        s._onEvent(data, typeof offset === 'string' ? offset : null, at);
      });
    });
  },
  join(s) {
    s.ws.emit('join', { account: s.room }, (ack) => {
      if (ack && ack.ok) s._live(nowMs());
      else s._error({ code: 'join_refused', message: JSON.stringify(ack) }, true);
    });
  },
  close(s) {
    s.ws.disconnect();
  },
  terminate(s) {
    s.ws.io.engine.transport.ws.terminate(); // the socket under the client, without a close handshake
  },
};

/** @rails/actioncable expects a page: a global addEventListener and a visible document. */
function loadActionCable() {
  if (cable) return cable;
  globalThis.document = globalThis.document || { visibilityState: 'visible', hidden: false, addEventListener() {}, removeEventListener() {} };
  globalThis.addEventListener = globalThis.addEventListener || (() => {});
  globalThis.removeEventListener = globalThis.removeEventListener || (() => {});
  cable = require('@rails/actioncable');
  cable.adapters.WebSocket = WebSocket;
  return cable;
}

const actioncable = {
  name: 'actioncable',
  offsetsOrdered: false,
  channel: 'NotificationsChannel',
  url(base, token) {
    return base.replace(/^http/, 'ws').replace(/\/$/, '') + '/cable?token=' + encodeURIComponent(token);
  },
  open(s, timeoutMs) {
    const consumer = loadActionCable().createConsumer(s.url);
    s.ws = consumer;
    consumer.connect();
    return new Promise((resolve, reject) => {
      const started = nowMs();
      const poll = setInterval(() => {
        if (consumer.connection.isOpen()) {
          clearInterval(poll);
          s._connected({ offset: null, head: null, recovered: false, raw: {} });
          resolve();
        } else if (nowMs() - started > timeoutMs) {
          clearInterval(poll);
          consumer.disconnect();
          reject(new Error('not connected within ' + timeoutMs + ' ms'));
        }
      }, 10);
    });
  },
  join(s) {
    s.ws.subscriptions.create(
      { channel: actioncable.channel },
      {
        connected: () => s._live(nowMs()),
        rejected: () => s._error({ code: 'reject_subscription', message: actioncable.channel }, true),
        received: (data) => s._onEvent(data, null, nowMs()),
        disconnected: () => {
          s.closed = { code: 0, reason: 'disconnected' };
        },
      },
    );
  },
  close(s) {
    s.ws.disconnect();
  },
  terminate(s) {
    s.ws.connection.webSocket.terminate();
  },
};

module.exports = { NPM_WIRES: { 'socket.io-client': socketioClient, actioncable } };
