#!/usr/bin/env node
'use strict';
// Resume scenario: pre-publishes M events (NDJSON batches over HTTP), then a client joins with
// `after` = the head offset from before them and reads until {"op":"live"}. Reports the replay rate
// (events/s from the join to "live") and checks that exactly the M events arrived, once each, in
// order. Runs several passes (each a fresh client replaying the same M events) so a cold-JIT pass
// can be told from a warm one. See README.md in this directory.

const os = require('os');
const { parseArgs } = require('./lib/args');
const { Histogram, round3 } = require('./lib/histogram');
const { Subscriber } = require('./lib/subscriber');
const { wireOf } = require('./lib/wire');
const { publishBulk } = require('./lib/bulk');
const { nowMs, Publisher, ProcSampler, machineCpu, machineShare, scrapeCounters, counterDelta, selfCpuS, mib, writeResult } = require('./lib/common');

const SPEC = {
  url: { required: true, help: 'gateway base URL, e.g. http://127.0.0.1:8080' },
  token: { required: true, help: 'subscriber token granting --room' },
  'publish-key': { required: true, help: 'publish key (Authorization: Bearer)' },
  room: { def: 'loadtest', help: 'room of the events and of the join' },
  events: { def: 1000000, type: 'number', help: 'events to pre-publish and replay' },
  batch: { def: 1000, type: 'number', help: 'events per NDJSON POST while pre-publishing' },
  concurrency: { def: 1, type: 'number', help: 'POSTs in flight while pre-publishing (>1: order is then checked by offset only)' },
  passes: { def: 3, type: 'number', help: 'replays, each by a fresh client' },
  'data-bytes': { def: 0, type: 'number', help: 'pad each event data with a string of this many bytes' },
  'live-timeout': { def: 600, type: 'number', help: 'seconds a replay may take before it counts as failed' },
  'server-pid': { def: 0, type: 'number', help: 'pid of the gateway (local): report its CPU seconds and RSS' },
  out: { def: '', help: 'write the result as JSON to this file' },
};
const USAGE = 'usage: node resume.js --url URL --token JWT --publish-key KEY [options]';
const log = (s) => console.error(`[resume] ${s}`);

async function replay(a, url, after, server, pass) {
  const s = new Subscriber(url, a.room, { expected: a.events });
  await s.open();
  const counters0 = await scrapeCounters(a.url);
  const machine0 = machineCpu();
  const server0 = server.read();
  server.start(100);
  const cpu0 = selfCpuS();
  const t0 = nowMs();
  const progress = setInterval(() => log(`pass ${pass}: ${s.received} events so far`), 5000);
  let timer;
  try {
    await Promise.race([
      s.join(after),
      new Promise((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no "live" within ${a['live-timeout']} s (${s.received} events received)`)), a['live-timeout'] * 1000);
      }),
    ]);
  } finally {
    clearTimeout(timer);
    clearInterval(progress);
  }
  const seconds = (s.liveAt - t0) / 1000;
  const clientCpu = selfCpuS() - cpu0;
  server.stop();
  const server1 = server.read();
  const machine1 = machineCpu();
  const counters1 = await scrapeCounters(a.url);
  s.close();
  const r = {
    pass,
    events: s.received,
    seconds_to_live: round3(seconds),
    events_per_s: Math.round(s.received / seconds),
    first_event_ms: round3(s.firstEventAt - t0),
    checks: {
      missing: s.lost,
      duplicates: s.duplicates,
      out_of_order: a.concurrency > 1 ? null : s.outOfOrder, // by seq: only meaningful with one POST in flight
      offset_regressions: s.offsetRegressions,
      foreign_events: s.foreign,
      gap_frames: s.gaps.length,
      error_frames: s.errors.length,
    },
    load_client_cpu_s: round3(clientCpu),
    server: server0 && server1 ? {
      cpu_s: round3(server1.cpuS - server0.cpuS),
      cpu_us_per_event: round3(((server1.cpuS - server0.cpuS) * 1e6) / Math.max(1, s.received)),
      rss_mib_peak_window: mib(server.peakRssBytes),
      rss_mib_end: mib(server1.rssBytes),
    } : null,
  };
  r.server_counters = counterDelta(counters0, counters1);
  r.machine_cpu = machineShare(machine0, machine1, clientCpu + (r.server ? r.server.cpu_s : 0));
  r.ok = r.events === a.events && Object.values(r.checks).every((v) => v === 0 || v === null);
  return r;
}

async function main(a) {
  const url = wireOf('native').url(a.url, a.token);
  const server = new ProcSampler(a['server-pid'] || 0);
  const probe = new Subscriber(url, a.room);
  const welcome = await probe.open();
  probe.close();
  const after = welcome.offset;
  log(`head before publishing: ${after}; publishing ${a.events} events in batches of ${a.batch} (${a.concurrency} in flight)`);

  const pub = new Publisher(a.url, a['publish-key'], { sockets: Math.max(1, a.concurrency) });
  const published = await publishBulk(pub, { room: a.room, events: a.events, batch: a.batch, concurrency: a.concurrency, dataBytes: a['data-bytes'], log });
  pub.close();
  log(`published ${published.events} events in ${published.seconds} s (${published.events_per_s}/s)`);

  const passes = [];
  for (let i = 1; i <= a.passes; i++) {
    log(`pass ${i}: joining with after=${after}`);
    const r = await replay(a, url, after, server, i);
    passes.push(r);
    log(`pass ${i}: ${r.events} events to "live" in ${r.seconds_to_live} s = ${r.events_per_s}/s ${r.ok ? 'OK' : 'FAILED'}`);
  }
  const s = server.read();
  const result = {
    scenario: 'resume',
    when: new Date().toISOString(),
    params: { events: a.events, batch: a.batch, concurrency: a.concurrency, passes: a.passes, room: a.room, data_bytes: a['data-bytes'], url: a.url },
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0] && os.cpus()[0].model, node: process.version },
    after,
    published,
    passes,
    best_events_per_s: Math.max(...passes.map((p) => p.events_per_s)),
    server_rss_mib_peak_process: s ? mib(s.hwmBytes) : null,
  };
  result.ok = passes.every((p) => p.ok);
  writeResult(a.out, result);
  printReport(result);
  return result.ok;
}

function printReport(r) {
  console.log(`resume: ${r.params.events} events replayed after ${r.after}`);
  console.log(`  pre-publish      ${r.published.events} events in ${r.published.posts} NDJSON POSTs of ${r.published.batch} (${r.published.concurrency} in flight): ${r.published.seconds} s = ${r.published.events_per_s} events/s; commit per batch p50 ${r.published.commit_per_batch.p50_ms} ms p99 ${r.published.commit_per_batch.p99_ms} ms`);
  for (const p of r.passes) {
    const c = p.checks;
    const srv = p.server ? `; server ${p.server.cpu_s} CPU s (${p.server.cpu_us_per_event} µs/event), RSS peak ${p.server.rss_mib_peak_window} MiB` : '';
    const m = p.machine_cpu ? `; other processes ${p.machine_cpu.other_cores} cores` : '';
    console.log(`  pass ${p.pass}           ${p.events} events to "live" in ${p.seconds_to_live} s = ${p.events_per_s} events/s (first after ${p.first_event_ms} ms); client ${p.load_client_cpu_s} CPU s${srv}${m}`);
    console.log(`                   missing ${c.missing}  duplicates ${c.duplicates}  out-of-order ${c.out_of_order}  offset regressions ${c.offset_regressions}  gaps ${c.gap_frames}  errors ${c.error_frames}  ${p.ok ? 'OK' : 'FAILED'}`);
  }
  console.log(`  result           ${r.ok ? 'OK' : 'FAILED'} (best ${r.best_events_per_s} events/s)`);
}

main(parseArgs(process.argv.slice(2), SPEC, USAGE)).then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error('[resume] error: ' + (e.stack || e));
    process.exit(2);
  },
);
