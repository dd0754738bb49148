#!/usr/bin/env node
'use strict';
// Churn scenario: clients drop abruptly (TCP reset, no close handshake) and new ones join while
// events flow at full speed, so the gateway keeps writing to sockets that are going away. A canary
// client stays connected throughout and must receive every event exactly once and in order; if it
// stops receiving while the publisher goes on, delivery has stalled (the report says so). This is
// the situation that exposed the dispatcher/I/O-thread deadlock fixed with issue 3's benchmark.

const { monitorEventLoopDelay } = require('perf_hooks');
const { parseArgs } = require('./lib/args');
const { Subscriber } = require('./lib/subscriber');
const { wireOf } = require('./lib/wire');
const { nowMs, sleep, Publisher, writeResult } = require('./lib/common');
const { round3 } = require('./lib/histogram');

const SPEC = {
  url: { required: true, help: 'gateway base URL' },
  token: { required: true, help: 'subscriber token granting --room' },
  'publish-key': { required: true, help: 'publish key' },
  room: { def: 'loadtest', help: 'room' },
  clients: { def: 100, type: 'number', help: 'clients kept connected (besides the canary)' },
  duration: { def: 20, type: 'number', help: 'seconds of publishing' },
  batch: { def: 100, type: 'number', help: 'events per NDJSON POST (one POST in flight, back to back)' },
  'drop-every': { def: 50, type: 'number', help: 'ms between drops' },
  'drop-count': { def: 5, type: 'number', help: 'clients reset (and replaced) at each drop' },
  'stall-after': { def: 5, type: 'number', help: 'seconds the canary may go without an event while committed events are owed to it' },
  'max-events': { def: 5000000, type: 'number', help: 'upper bound of events published (size of the canary\'s seq bitmap)' },
  'server-pid': { def: 0, type: 'number', help: '(unused; accepted for run.sh)' },
  out: { def: '', help: 'write the result as JSON to this file' },
};
const log = (s) => console.error(`[churn] ${s}`);

async function main(a) {
  const url = wireOf('native').url(a.url, a.token);
  const canary = new Subscriber(url, a.room, { expected: a['max-events'] }); // one byte per seq
  await canary.open();
  await canary.join();
  let pool = [];
  const connect = async () => {
    const s = new Subscriber(url, a.room);
    try {
      await s.open();
      await s.join();
      pool.push(s);
    } catch {
      /* counted by the pool size */
    }
  };
  for (let i = 0; i < a.clients; i += 50) await Promise.all(Array.from({ length: Math.min(50, a.clients - i) }, connect));
  log(`${pool.length} clients + canary connected`);

  const loop = monitorEventLoopDelay({ resolution: 10 });
  loop.enable();
  const pub = new Publisher(a.url, a['publish-key']);
  let published = 0;
  let publishing = true;
  let dropped = 0;
  let stalls = 0;
  let longestSilenceMs = 0;
  const t0 = nowMs();
  const publisher = (async () => {
    while (nowMs() - t0 < a.duration * 1000) {
      let body = '';
      if (published + a.batch > a['max-events']) break;
      for (let i = 0; i < a.batch; i++) body += JSON.stringify({ room: a.room, type: 'load', data: { t: nowMs(), seq: published + i } }) + '\n';
      const r = await pub.post(body, 'application/x-ndjson');
      if (r.status !== 200) throw new Error(`publish failed: ${r.status} ${r.body}`);
      published += a.batch;
    }
    publishing = false;
  })();
  const churner = (async () => {
    while (publishing) {
      await sleep(a['drop-every']);
      for (let i = 0; i < a['drop-count'] && pool.length; i++) {
        const s = pool.splice(Math.floor(Math.random() * pool.length), 1)[0];
        s.closing = true;
        s.ws.terminate(); // no close frame: the gateway finds out when a write fails
        dropped++;
        connect();
      }
    }
  })();
  // A silence is time during which committed events are owed to the canary and it gets none. It
  // starts when events become owed (not at the canary's last event), so a stall of this process's
  // own event loop before the publish answer arrived is not blamed on the gateway.
  let lastCount = 0;
  let owedSince = 0;
  const watch = setInterval(() => {
    const now = nowMs();
    if (canary.received >= published) owedSince = 0;
    else if (owedSince === 0 || canary.received !== lastCount) owedSince = now;
    lastCount = canary.received;
    if (owedSince && publishing) {
      const silent = now - owedSince;
      longestSilenceMs = Math.max(longestSilenceMs, silent);
      if (silent > a['stall-after'] * 1000 && stalls === 0) {
        stalls++;
        log(`STALL: the canary got nothing for ${Math.round(silent / 1000)} s while committed events were owed to it (${canary.received} of ${published} events)`);
      }
    }
  }, 50);
  await publisher;
  await churner;
  const deadline = nowMs() + 20000;
  while (canary.received < published && nowMs() < deadline) await sleep(50);
  clearInterval(watch);
  loop.disable();
  pub.close();
  const result = {
    scenario: 'churn',
    when: new Date().toISOString(),
    params: { clients: a.clients, duration_s: a.duration, batch: a.batch, drop_every_ms: a['drop-every'], drop_count: a['drop-count'] },
    published,
    dropped_and_replaced: dropped,
    canary: {
      received: canary.received,
      missing: published - canary.unique,
      duplicates: canary.duplicates,
      out_of_order: canary.outOfOrder,
      offset_regressions: canary.offsetRegressions,
      closed: canary.closed,
      longest_silence_with_events_owed_ms: round3(longestSilenceMs),
    },
    stalled: stalls > 0,
    load_client_loop_delay_max_ms: round3(loop.max / 1e6),
  };
  result.ok = !result.stalled && result.canary.missing === 0 && canary.duplicates === 0 && canary.outOfOrder === 0 && !canary.closed;
  writeResult(a.out, result);
  console.log(`churn: ${published} events published in ${a.duration} s (${Math.round(published / a.duration)}/s, each to ${a.clients + 1} clients) while ${dropped} clients were reset and replaced (${a.clients} connected)`);
  console.log(`  canary           received ${canary.received}; missing ${result.canary.missing}  duplicates ${canary.duplicates}  out-of-order ${canary.outOfOrder}; longest silence with events owed ${Math.round(longestSilenceMs)} ms (this process's own event-loop delay max ${Math.round(loop.max / 1e6)} ms)`);
  console.log(`  result           ${result.ok ? 'OK' : 'FAILED'}${result.stalled ? ' (delivery STALLED)' : ''}`);
  for (const s of pool) s.close();
  canary.close();
  return result.ok;
}

main(parseArgs(process.argv.slice(2), SPEC, 'usage: node churn.js --url URL --token JWT --publish-key KEY [options]')).then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error('[churn] error: ' + (e.stack || e));
    process.exit(2);
  },
);
