'use strict';
// Publishes a fixed number of events as fast as the server acknowledges them: NDJSON POSTs of
// `batch` events (a single JSON object when batch is 1), `concurrency` POSTs in flight. Each
// event's data is {"t": <ms>, "seq": <0..events-1>} (plus "pad"). Used to fill the log before a
// replay (resume.js, storm.js) and as the publish-throughput scenario (publish.js): every 200 is a
// commit acknowledgement (docs/protocol.md, POST /v1/events).

const { Histogram, round3 } = require('./histogram');
const { nowMs } = require('./common');

/**
 * @param pub   a Publisher with at least `concurrency` sockets
 * @param o     {room, events, batch, concurrency, dataBytes, log}
 * @returns     {events, posts, batch, concurrency, seconds, events_per_s, commit_per_batch}
 */
async function publishBulk(pub, o) {
  const pad = o.dataBytes > 0 ? 'x'.repeat(o.dataBytes) : '';
  const log = o.log || (() => {});
  const commit = new Histogram();
  let next = 0;
  let errors = 0;
  let firstError = null;
  let lastLog = nowMs();
  const t0 = nowMs();
  const worker = async () => {
    while (next < o.events) {
      const from = next;
      const n = Math.min(o.batch, o.events - from);
      next += n;
      const t = nowMs();
      let body = '';
      for (let i = 0; i < n; i++) {
        const data = { t, seq: from + i };
        if (pad) data.pad = pad;
        body += JSON.stringify({ room: o.room, type: 'load', data }) + '\n';
      }
      const res = n === 1 ? await pub.post(body) : await pub.post(body, 'application/x-ndjson');
      commit.recordMs(res.ms);
      if (res.status !== 200) {
        errors++;
        if (!firstError) firstError = `${res.status} ${res.body.slice(0, 200)}`;
      }
      if (nowMs() - lastLog > 5000) {
        lastLog = nowMs();
        log(`published ${next} / ${o.events}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, o.concurrency) }, worker));
  const seconds = (nowMs() - t0) / 1000;
  if (errors) throw new Error(`${errors} publish POSTs failed, first: ${firstError}`);
  return {
    events: o.events,
    posts: Math.ceil(o.events / o.batch),
    batch: o.batch,
    concurrency: o.concurrency,
    seconds: round3(seconds),
    events_per_s: Math.round(o.events / seconds),
    commit_per_batch: commit.summary(),
  };
}

module.exports = { publishBulk };
