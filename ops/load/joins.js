#!/usr/bin/env node
'use strict';
// Joins with resume offsets at once (issue 17): N native clients connect and are welcomed, M events
// are published, then every client sends `join … after` the offset from before them in the same
// tick. Measured per client: join sent → "live" (all M replayed), and the gateway's I/O-thread lag
// (`tidings_io_thread_lag_seconds`, the gateway's own 20 ms probe, between a scrape just before the
// joins and one just after: the longest stall of any I/O thread, to the histogram's resolution;
// absent on builds before it). Checks that every client got exactly the M events.
// Several rounds, each with fresh connections. See README.md in this directory.

const { parseArgs } = require('./lib/args');
const { Histogram, round3 } = require('./lib/histogram');
const { Subscriber } = require('./lib/subscriber');
const { publishBulk } = require('./lib/bulk');
const { nowMs, sleep, Publisher, writeResult } = require('./lib/common');
const http = require('http');

const SPEC = {
  url: { required: true, help: 'gateway base URL, e.g. http://127.0.0.1:8080' },
  token: { required: true, help: 'subscriber token granting --room' },
  'publish-key': { required: true, help: 'publish key (Authorization: Bearer)' },
  room: { def: 'loadtest', help: 'room of the events and of the joins' },
  clients: { def: 300, type: 'number', help: 'clients joining at once' },
  behind: { def: 100, type: 'number', help: 'events each client resumes (published before the joins)' },
  rounds: { def: 3, type: 'number', help: 'rounds, each with fresh connections' },
  'server-pid': { def: 0, type: 'number', help: 'unused (run.sh passes it)' },
  out: { def: '', help: 'write the result as JSON to this file' },
};
const log = (s) => console.error(`[joins] ${s}`);

/** The I/O-thread lag histogram's cumulative buckets {le (ms): count}, or null on builds without it. */
function ioLagBuckets(baseUrl) {
  return new Promise((resolve) => {
    http.get(new URL('/metrics', baseUrl), (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const out = {};
        for (const m of body.matchAll(/^tidings_io_thread_lag_seconds_bucket\{le="([^"]+)",\} ([0-9.eE+-]+)$/gm)) {
          out[m[1] === '+Inf' ? Infinity : Number(m[1]) * 1000] = Number(m[2]);
        }
        resolve(Object.keys(out).length ? out : null);
      });
    }).on('error', () => resolve(null));
  });
}

/**
 * The longest I/O-thread stall between two scrapes, as the upper bound of the smallest bucket that
 * holds every sample taken between them (the histogram's resolution), and how many samples that was.
 */
function longestLag(before, after) {
  if (!before || !after) return { longest_ms: null, samples: null };
  const les = Object.keys(after).map(Number).sort((x, y) => x - y);
  const total = after[Infinity] - before[Infinity];
  for (const le of les) if (after[le] - (before[le] || 0) >= total) return { longest_ms_at_most: le === Infinity ? 'inf' : round3(le), samples: total };
  return { longest_ms_at_most: 'inf', samples: total };
}

async function round(a, pub, n) {
  const url = new URL('/v1/ws', a.url.replace(/^http/, 'ws'));
  url.searchParams.set('token', a.token);
  const subs = Array.from({ length: a.clients }, () => new Subscriber(url.toString(), a.room, { expected: 0 }));
  const infos = [];
  for (let i = 0; i < subs.length; i += 50) infos.push(...await Promise.all(subs.slice(i, i + 50).map((s) => s.open())));
  const after = infos[0].offset; // the head when welcomed: the joins resume the events published next
  if (!after) throw new Error('the welcome carries no offset: ' + JSON.stringify(infos[0].raw));
  await publishBulk(pub, { events: a.behind, batch: Math.min(1000, a.behind), concurrency: 1, room: a.room, dataBytes: 0 });
  await sleep(500);
  const lagBefore = await ioLagBuckets(a.url);
  const t0 = nowMs();
  const done = subs.map((s) => s.join(after)); // every join goes out in this tick
  await Promise.all(done);
  const allLiveMs = nowMs() - t0;
  await sleep(100); // a stall during the joins is recorded when the probe finally runs
  const lagAfter = await ioLagBuckets(a.url);
  const h = new Histogram();
  let wrong = 0;
  for (const s of subs) {
    h.recordMs(s.liveAt - s.joinSentAt);
    if (s.received !== a.behind || s.gaps.length > 0 || s.errors.length > 0) wrong++;
  }
  if (wrong > 0) log(`a client got ${subs[0].received} events, gaps ${JSON.stringify(subs[0].gaps)}, errors ${JSON.stringify(subs[0].errors)} (expected ${a.behind})`);
  for (const s of subs) s.close();
  const r = { round: n, clients: a.clients, behind: a.behind, all_live_ms: round3(allLiveMs), join_to_live_ms: h.summary(),
    io_thread_lag: longestLag(lagBefore, lagAfter), clients_with_wrong_events: wrong };
  log(JSON.stringify(r));
  return r;
}

async function main() {
  const a = parseArgs(process.argv.slice(2), SPEC, 'usage: node joins.js --url URL --token JWT --publish-key KEY [options]');
  const pub = new Publisher(a.url, a['publish-key']);
  const rounds = [];
  for (let n = 1; n <= a.rounds; n++) rounds.push(await round(a, pub, n));
  const result = writeResult(a.out, { scenario: 'joins', rounds });
  console.log(JSON.stringify(result, null, 2));
  if (rounds.some((r) => r.clients_with_wrong_events > 0)) process.exit(1);
}

main().catch((e) => { console.error(e); process.exit(1); });
