'use strict';
// One WebSocket client of a server under test, on one wire protocol (lib/wire.js: Tidings' native
// protocol, also spoken by the bare Undertow server, or Socket.IO): waits until it is connected
// (`welcome` / the CONNECT answer), joins one room (live, or resuming `after` an offset on the
// native protocol; a Socket.IO client resumes at CONNECT with `recover`), and checks every event:
//   - data {"t": <publish time, ms>, "seq": <0..expected-1>, "r": <round>} as sent by the load
//     publisher (warm-up events carry "warmup": true instead of a seq and are only counted; events
//     of another round than the current one are counted as stale);
//   - each seq exactly once (a bitmap), in publish order (no seq after a higher one), and, on the
//     native protocol, offsets strictly increasing (the gateway's ordering guarantee);
//   - publish→receive latency = arrival time − t, recorded into a shared Histogram.
// The receive timestamp is taken first thing in the message handler, before parsing.

const WebSocket = require('ws');
const { nowMs, offsetIndex } = require('./common');
const { wireOf } = require('./wire');

class Subscriber {
  /**
   * @param url       the server's WebSocket URL (wire.url(base, token))
   * @param room      room to join
   * @param opts.wire       a wire from lib/wire.js (default native)
   * @param opts.token      subscriber token, also sent in a Socket.IO CONNECT
   * @param opts.localAddress  source address of the connection (e.g. 127.0.0.2: more ephemeral ports)
   * @param opts.round      only events whose data.r equals this are measured (default: any)
   * @param opts.expected  number of seqs the publisher will send (0..expected-1); 0 = don't track
   * @param opts.hist      Histogram for publish→receive latency (optional)
   * @param opts.perSecond Float64Array-like counter per second since opts.epochMs (optional)
   * @param opts.perSeq    {min, max} Float64Arrays indexed by seq: fastest and slowest latency of
   *                       each event among the clients sharing them (optional)
   */
  constructor(url, room, opts = {}) {
    this.url = url;
    this.room = room;
    this.wire = opts.wire || wireOf('native');
    this.token = opts.token || null;
    this.localAddress = opts.localAddress || undefined;
    this.round = opts.round === undefined ? null : opts.round;
    this.recover = null; // Socket.IO: {pid, offset} of the session to recover at the next open()
    this.pid = null; // Socket.IO: the session's private id
    this.stale = 0; // events of another round
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

  /**
   * Tracks a new measuring round: `expected` seqs of round `round` from now on (the counters of the
   * previous round are dropped), latencies into `hist`.
   */
  reset(expected, round, hist, perSeq) {
    this.expected = expected;
    this.round = round;
    this.hist = hist;
    this.perSeq = perSeq || null;
    this.seen = new Uint8Array(expected);
    this.received = this.unique = this.duplicates = this.outOfOrder = this.foreign = this.stale = 0;
    this.maxSeq = -1;
  }

  /** Connects; resolves with the wire's connected info ({offset, head, recovered, raw}). */
  open(timeoutMs = 30000) {
    this.closed = null;
    this.closing = false;
    if (this.wire.open) return this.wire.open(this, timeoutMs); // an npm client: it owns its socket
    return new Promise((resolve, reject) => {
      const ws = new WebSocket(this.url, { perMessageDeflate: false, handshakeTimeout: timeoutMs, localAddress: this.localAddress });
      this.ws = ws;
      let settled = false;
      const timer = setTimeout(() => finish(new Error('not connected within ' + timeoutMs + ' ms')), timeoutMs);
      const finish = (err, v) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(v);
      };
      this._onConnected = (info) => finish(null, info);
      ws.on('message', (buf) => this._onMessage(buf));
      ws.on('error', (e) => finish(e));
      ws.on('close', (code, reason) => {
        if (ws !== this.ws) return; // an earlier connection of this client
        this.closed = { code, reason: reason.toString() };
        finish(new Error(`closed before connected: ${code} ${reason}`));
        this._settleWaiters(new Error(`closed: ${code} ${reason}`));
      });
    });
  }

  /** Sends join; resolves when `live` arrives for the room (after any replay), with the time it took. */
  join(after) {
    if (after && this.wire.offsetsOrdered) this.lastIndex = offsetIndex(after);
    this.joinSentAt = nowMs();
    const p = new Promise((resolve, reject) => this._waiters.push({ resolve, reject }));
    this.wire.join(this, after);
    return p;
  }

  /** Cuts the connection without a close handshake (as a dropped network would). */
  terminate() {
    this.closing = true;
    if (this.ws && this.wire.terminate) this.wire.terminate(this);
    else if (this.ws) this.ws.terminate();
  }

  _settleWaiters(err) {
    const w = this._waiters;
    this._waiters = [];
    for (const x of w) err ? x.reject(err) : x.resolve(this.liveAt - this.joinSentAt);
  }

  _onMessage(buf) {
    const at = nowMs();
    this.wire.onMessage(this, buf.toString('utf8'), at);
  }

  // ---- called by the wire ----

  _connected(info) {
    this.welcome = info.raw;
    this.recovered = info.recovered;
    if (this._onConnected) this._onConnected(info);
  }

  _live(at) {
    this.liveAt = at;
    this._settleWaiters(null);
  }

  _gap(m) {
    this.gaps.push(m);
  }

  _error(m, fatal) {
    this.errors.push(m);
    if (fatal) this._settleWaiters(new Error(`error: ${m.code} ${m.message}`));
  }

  _onEvent(d, offset, at) {
    this.received++;
    if (this.firstEventAt === 0) this.firstEventAt = at;
    this.lastEventAt = at;
    if (offset !== null) {
      if (this.wire.offsetsOrdered) {
        const idx = offsetIndex(offset);
        if (idx <= this.lastIndex) this.offsetRegressions++;
        this.lastIndex = idx;
      }
      this.lastOffset = offset;
    }
    if (d && d.warmup === true) {
      this.warmup++;
      return;
    }
    if (this.round !== null && d && d.r !== this.round) {
      this.stale++;
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
    if (this.ws && this.wire.close) this.wire.close(this);
    else if (this.ws && this.ws.readyState === WebSocket.OPEN) this.ws.close(1000, 'done');
    else if (this.ws) this.ws.terminate();
  }

  get unexpectedlyClosed() {
    return this.closed !== null && !this.closing;
  }
}

module.exports = { Subscriber };
