'use strict';
// Publishes at a fixed rate over HTTP with one request in flight, so the order of `seq` is the
// order of commit (and of offsets): subscribers can then check ordering by seq alone. Event i is
// due at start + i/rate; every tick sends all due events, one per POST normally, or as one NDJSON
// batch if the previous POST took longer than the interval (reported as `batched`). Each event's
// data carries the wall-clock time just before its POST was written ({"t":…,"seq":…}), so the
// measured latency is publish→commit→fan-out→receive, without the publisher's own scheduling lag.

const { Histogram } = require('./histogram');
const { nowMs, sleep } = require('./common');

/**
 * @param pub       a Publisher
 * @param o.room    room of every event
 * @param o.rate    events per second
 * @param o.seconds duration
 * @param o.warmup  true: events carry {"warmup":true} instead of a seq
 * @param o.round   carried as data.r when given (saturation rounds: late events of an earlier
 *                  round are told apart)
 * @param o.pad     string appended to data as "pad" (event size knob), '' for none
 * @param o.maxBatch most events in one POST when catching up
 */
async function publishAtRate(pub, o) {
  const total = Math.round(o.rate * o.seconds);
  const interval = 1000 / o.rate;
  const commit = new Histogram(); // POST → response (the commit acknowledgement)
  const r = { events: 0, posts: 0, batched: 0, httpErrors: 0, firstError: null, maxLagMs: 0, commit };
  r.commitMsBySeq = new Float64Array(total); // the POST's duration for each event (batched events share it)
  r.sentAtBySeq = new Float64Array(total); // ms after start when each event's POST was written
  const start = nowMs();
  let sent = 0;
  while (sent < total) {
    const now = nowMs();
    const due = Math.min(total, Math.floor((now - start) / interval) + 1);
    if (due <= sent) {
      await sleep(Math.max(0, start + sent * interval - now));
      continue;
    }
    const n = Math.min(due - sent, o.maxBatch || 1000);
    r.maxLagMs = Math.max(r.maxLagMs, now - (start + sent * interval));
    const t = nowMs();
    const lines = [];
    for (let i = 0; i < n; i++) {
      const data = o.warmup ? { t, warmup: true } : { t, seq: sent + i };
      if (o.round !== undefined && !o.warmup) data.r = o.round;
      if (o.pad) data.pad = o.pad;
      lines.push(JSON.stringify({ room: o.room, type: 'load', data }));
    }
    const res = await pub.post(n === 1 ? lines[0] : lines.join('\n') + '\n', n === 1 ? 'application/json' : 'application/x-ndjson');
    commit.recordMs(res.ms);
    for (let i = 0; i < n; i++) {
      r.commitMsBySeq[sent + i] = res.ms;
      r.sentAtBySeq[sent + i] = t - start;
    }
    r.posts++;
    if (n > 1) r.batched++;
    if (res.status !== 200) {
      r.httpErrors++;
      if (!r.firstError) r.firstError = `${res.status} ${res.body.slice(0, 200)}`;
    }
    sent += n;
    r.events = sent;
  }
  r.seconds = (nowMs() - start) / 1000;
  return r;
}

module.exports = { publishAtRate };
