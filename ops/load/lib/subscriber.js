'use strict';
// One WebSocket client on the native protocol (docs/protocol.md): waits for `welcome`, joins one
// room (live, or resuming `after` an offset), and checks every `event` frame it receives:
//   - data {"t": <publish time, ms>, "seq": <0..expected-1>} as sent by the load publisher
//     (warm-up events carry "warmup": true instead of a seq and are only counted);
//   - each seq exactly once (a bitmap), in publish order (no seq after a higher one), and offsets
//     strictly increasing (the gateway's ordering guarantee);
//   - publish→receive latency = arrival time − t, recorded into a shared Histogram.
// The receive timestamp is taken first thing in the message handler, before parsing.

const WebSocket = require('ws');
const { nowMs, offsetIndex } = require('./common');

class Subscriber {
  /**
   * @param url       ws://host:port/v1/ws?token=…
   * @param room      room to join
   * @param opts.expected  number of seqs the publisher will send (0..expected-1); 0 = don't track
   * @param opts.hist      Histogram for publish→receive latency (optional)
   * @param opts.perSecond Float64Array-like counter per second since opts.epochMs (optional)
   * @param opts.perSeq    {min, max} Float64Arrays indexed by seq: fastest and slowest latency of
   *                       each event among the clients sharing them (optional)
   */
  constructor(url, room, opts = {}) {
    this.url = url;
    this.room = room;
    this.expected = opts.expected || 0;
    this.hist = opts.hist || null;
    this.perSecond = opts.perSecond || null;
    this.perSeq = opts.perSeq || null;
    this.epochMs = opts.epochMs || 0;
    this.seen = this.expected > 0 ? new Uint8Array(this.expected) : null;

    this.ws = null;
    this.welcome = null;
    this.received = 0; // event frames
    this.unique = 0; // distinct expected seqs
    this.duplicates = 0;
    this.outOfOrder = 0; // a seq that arrived after a higher one
    this.offsetRegressions = 0; // an offset not greater than the previous one
    this.foreign = 0; // events without a seq of this run
    this.warmup = 0; // warm-up events (data.warmup === true): delivered but not measured
    this.errors = []; // error frames
    this.gaps = []; // gap frames
    this.maxSeq = -1;
    this.lastIndex = -1;
    this.lastOffset = null;
    this.firstEventAt = 0;
    this.lastEventAt = 0;
    this.liveAt = 0;
    this.closed = null; // {code, reason} once closed
    this.closing = false;
    this._waiters = [];
  }

  /** Connects; resolves with the welcome frame. */
  open(timeoutMs = 30000) {
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs });
      this.ws = ws;
      let settled = false;
      const timer = setTimeout(() => finish(new Error('no welcome within ' + timeoutMs + ' ms')), timeoutMs);
      const finish = (err, v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      };
      ws.on('message', (buf) => this._onMessage(buf, finish));
      ws.on('error', (e) => finish(e));
      ws.on('close', (code, reason) => {
        this.closed = { code, reason: reason.toString() };
        finish(new Error(`closed before welcome: ${code} ${reason}`));
        this._settleWaiters(new Error(`closed: ${code} ${reason}`));
      });
    });
  }

  /** Sends join; resolves when `live` arrives for the room (after any replay), with the time it took. */
  join(after) {
    const frame = { op: 'join', room: this.room };
    if (after) frame.after = after;
    if (after) this.lastIndex = offsetIndex(after);
    this.joinSentAt = nowMs();
    const p = new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
    this.ws.send(JSON.stringify(frame));
    return p;
  }

  _settleWaiters(err) {
    const w = this._waiters;
    this._waiters = [];
    for (const x of w) err ? x.reject(err) : x.resolve(this.liveAt - this.joinSentAt);
  }

  _onMessage(buf, onWelcome) {
    const at = nowMs();
    const m = JSON.parse(buf.toString('utf8'));
    switch (m.op) {
      case 'event':
        this._onEvent(m, at);
        break;
      case 'welcome':
        this.welcome = m;
        onWelcome(null, m);
        break;
      case 'live':
        if (m.room === this.room) {
          this.liveAt = at;
          this._settleWaiters(null);
        }
        break;
      case 'gap':
        this.gaps.push(m);
        break;
      case 'error':
        this.errors.push(m);
        if (m.room === this.room) this._settleWaiters(new Error(`error frame: ${m.code} ${m.message}`));
        break;
      default: // joined, left, pong
        break;
    }
  }

  _onEvent(m, at) {
    this.received++;
    if (this.firstEventAt === 0) this.firstEventAt = at;
    this.lastEventAt = at;
    const idx = offsetIndex(m.offset);
    if (idx <= this.lastIndex) this.offsetRegressions++;
    this.lastIndex = idx;
    this.lastOffset = m.offset;
    const d = m.data;
    if (d && d.warmup === true) {
      this.warmup++;
      return;
    }
    const seq = d && typeof d.seq === 'number' ? d.seq : -1;
    if (seq < 0 || (this.seen && seq >= this.expected)) {
      this.foreign++;
      return;
    }
    if (this.seen) {
      if (this.seen[seq]) {
        this.duplicates++;
        return;
      }
      this.seen[seq] = 1;
    }
    this.unique++;
    if (seq < this.maxSeq) this.outOfOrder++;
    else this.maxSeq = seq;
    if (this.hist && typeof d.t === 'number') this.hist.recordMs(at - d.t);
    if (this.perSeq && typeof d.t === 'number') {
      const ms = at - d.t;
      if (ms < this.perSeq.min[seq]) this.perSeq.min[seq] = ms;
      if (ms > this.perSeq.max[seq]) this.perSeq.max[seq] = ms;
    }
    if (this.perSecond) {
      const s = Math.floor((at - this.epochMs) / 1000);
      if (s >= 0 && s < this.perSecond.length) this.perSecond[s]++;
    }
  }

  /** Expected seqs never received (meaningful once the publisher is done and deliveries drained). */
  get lost() {
    return this.seen ? this.expected - this.unique : 0;
  }

  close() {
    this.closing = true;
    if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'done');
    else if (this.ws) this.ws.terminate();
  }

  get unexpectedlyClosed() {
    return this.closed !== null && !this.closing;
  }
}

module.exports = { Subscriber };
