#!/usr/bin/env node
'use strict';
// The side-by-side benchmark suite (issue 8): runs a scenario against each server under test in
// turn (lib/servers.js: Tidings native and Socket.IO, the reference socket.io@4 server with and
// without connection state recovery, the bare Undertow broadcast server), each started fresh on
// 127.0.0.1 and stopped afterwards, with the same load client for all, and writes one JSON result
// per scenario plus a Markdown summary with the ratios Tidings/reference and Tidings/bare.
//
//   node bench.js fanout|saturation|idle|storm|publish|all [--scale ci|full] [--servers a,b] [--repeat n]
//
// Use ops/load/bench.sh, which checks the prerequisites. README.md in this directory explains each
// scenario; docs/benchmarks.md ("Side by side (issue 8)") has the figures.

const fs = require('fs');
const os = require('os');
const path = require('path');
const { execFileSync, spawnSync } = require('child_process');
const { parseArgs } = require('./lib/args');
const { startServer, SERVER_NAMES } = require('./lib/servers');
const { coordinator, startClients, closeClients, SPEC: FANOUT_SPEC } = require('./fanout');
const { storm } = require('./storm');
const { publishBulk } = require('./lib/bulk');
const { Publisher, ProcSampler, sleep, mib } = require('./lib/common');

const SCENARIOS = ['fanout', 'saturation', 'idle', 'storm', 'publish'];
// Which servers each scenario compares (storm needs a server that resumes; publish is Tidings' own
// commit path). The order is the run order: servers alternate within a scenario.
const DEFAULT_SERVERS = {
  fanout: ['tidings', 'tidings-batch', 'tidings-sio', 'reference', 'reference-recovery', 'bare'],
  saturation: ['tidings', 'tidings-batch', 'tidings-sio', 'reference', 'bare'],
  idle: ['tidings', 'tidings-sio', 'reference', 'bare'],
  storm: ['tidings', 'tidings-batch', 'tidings-sio', 'reference-recovery'],
  publish: ['process_crash', 'power_loss'],
};
// full: the issue's sizes; ci: minutes in all, to check the harness.
const SCALES = {
  full: {
    fanout: { clients: 5000, rate: 20, duration: 60, warmup: 5, procs: 2 },
    saturation: { clients: 1000, rates: '20,50,100,150,200,300,400,600,800,1200', duration: 10, warmup: 5, procs: 2 },
    idle: { clients: 19000, procs: 4, settleS: 5, warmupClients: 2000 },
    storm: { clients: 2000, behind: 1000, timeoutS: 120 },
    publish: { batched: 1000000, batch: 1000, batchedConcurrency: 2, single: 30000, singleConcurrency: 16, warmup: 200000 },
  },
  ci: {
    fanout: { clients: 200, rate: 20, duration: 5, warmup: 2, procs: 1 },
    saturation: { clients: 100, rates: '20,100,400', duration: 3, warmup: 1, procs: 1 },
    idle: { clients: 1000, procs: 2, settleS: 1, warmupClients: 200 },
    storm: { clients: 100, behind: 100, timeoutS: 60 },
    publish: { batched: 50000, batch: 1000, batchedConcurrency: 2, single: 2000, singleConcurrency: 16, warmup: 10000 },
  },
};

const SPEC = {
  scale: { def: 'full', help: 'full (the issue\'s sizes) or ci (small: checks the harness in minutes)' },
  servers: { def: '', help: `comma-separated servers (${SERVER_NAMES.join(', ')}); publish: durability modes` },
  repeat: { def: 1, type: 'number', help: 'run the server sequence this many times (interleaved: A B C A B C)' },
  out: { def: '', help: 'run directory (default /tmp/tidings-bench/<time>)' },
  'java-opts': { def: '', help: 'extra JVM flags for the gateway and the bare server' },
  set: { def: '', help: 'override scale parameters, e.g. clients=500,duration=20 (rates: 20/50/100)' },
  jar: { def: '', help: 'the gateway jar (default server/target/tidings.jar), e.g. a build from before a change' },
};
const USAGE = 'usage: node bench.js fanout|saturation|idle|storm|publish|all [options]';
const log = (s) => console.error(`[bench] ${s}`);

function machineLine() {
  const l = os.loadavg().map((x) => x.toFixed(2)).join(' ');
  return { at: new Date().toISOString(), loadavg: l };
}

function fanoutArgs(srv, extra) {
  const a = {};
  for (const [k, v] of Object.entries(FANOUT_SPEC)) a[k] = v.def;
  return { ...a, url: srv.url, token: srv.token, 'publish-key': srv.publishKey, protocol: srv.protocol, 'server-pid': srv.pid, ...extra };
}

// ---- scenarios: each takes a started server and the scale's parameters, returns a result ----

async function fanout(srv, p) {
  return coordinator(fanoutArgs(srv, { clients: p.clients, rate: p.rate, duration: p.duration, warmup: p.warmup, procs: p.procs }));
}

async function saturation(srv, p) {
  return coordinator(fanoutArgs(srv, { clients: p.clients, rates: p.rates, duration: p.duration, warmup: p.warmup, procs: p.procs, 'drain-timeout': 10 }));
}

async function idle(srv, p) {
  const sampler = new ProcSampler(srv.pid);
  await sleep(1000);
  if (p.warmupClients > 0) {
    // A first wave that connects, joins and leaves: what the first handshakes cost once (JIT-compiled
    // code, loaded classes, buffer pools) is then in "before", and "after" − "before" is what the
    // connections themselves hold. Every server gets the same wave.
    const w = await startClients(fanoutArgs(srv, { clients: p.warmupClients, 'source-addresses': p.procs, 'connect-concurrency': 100 }), p.procs, log);
    await closeClients(w);
    await sleep(p.settleS * 1000);
    await srv.heapBytes(); // a full GC, so the wave's garbage is not in "before"
  }
  const heap0 = await srv.heapBytes();
  const rss0 = sampler.read().rssBytes;
  const a = fanoutArgs(srv, { clients: p.clients, 'source-addresses': p.procs, 'connect-concurrency': 100 });
  const clients = await startClients(a, p.procs, log);
  await sleep(p.settleS * 1000);
  await srv.heapBytes(); // a second full GC: what the first left for finalisation is gone too
  const heap1 = await srv.heapBytes();
  const s1 = sampler.read();
  await closeClients(clients);
  const n = clients.opened;
  return {
    scenario: 'idle',
    params: { clients: p.clients, warmup_clients: p.warmupClients, protocol: srv.protocol },
    connected: n,
    connect_s: Math.round(clients.connectS * 10) / 10,
    rss_mib_before: mib(rss0),
    rss_mib_after: mib(s1.rssBytes),
    rss_mib_peak: mib(s1.hwmBytes),
    heap_mib_before: mib(heap0),
    heap_mib_after: mib(heap1),
    rss_kib_per_connection: Math.round(((s1.rssBytes - rss0) / n / 1024) * 10) / 10,
    heap_kib_per_connection: Math.round(((heap1 - heap0) / n / 1024) * 10) / 10,
    ok: n === p.clients,
  };
}

async function stormScenario(srv, p) {
  return storm(srv, { clients: p.clients, behind: p.behind, room: 'loadtest', timeoutS: p.timeoutS, log });
}

async function publish(srv, p) {
  const sampler = new ProcSampler(srv.pid);
  const run = async (events, batch, concurrency) => {
    const pub = new Publisher(srv.url, srv.publishKey, { sockets: concurrency });
    const s0 = sampler.read();
    const r = await publishBulk(pub, { room: 'loadtest', events, batch, concurrency, log });
    const s1 = sampler.read();
    pub.close();
    return { ...r, server_cpu_s: Math.round((s1.cpuS - s0.cpuS) * 100) / 100, server_us_per_event: Math.round(((s1.cpuS - s0.cpuS) * 1e7) / events) / 10 };
  };
  await run(p.warmup, p.batch, p.batchedConcurrency); // JIT warm-up, not reported
  const batched = await run(p.batched, p.batch, p.batchedConcurrency);
  const single = await run(p.single, 1, p.singleConcurrency);
  return { scenario: 'publish', durability: srv.durability, batched, single, rss_mib_peak: mib(sampler.read().hwmBytes), ok: true };
}

const RUNNERS = { fanout, saturation, idle, storm: stormScenario, publish };

// ---- summary ----------------------------------------------------------------------------------

const fmt = (x) => (x === null || x === undefined ? '–' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));
const ratio = (a, b) => (a && b ? (a / b).toFixed(2) : '–');

/** Median of each server's runs for `key` (repeat > 1). */
function bestOf(runs, name, key) {
  const v = runs.filter((r) => r.server === name && r.result).map((r) => key(r.result)).filter((x) => x !== null && x !== undefined).sort((x, y) => x - y);
  return v.length ? v[Math.floor((v.length - 1) / 2)] : null;
}

function summarise(scenario, runs) {
  const lines = [`### ${scenario}`, ''];
  if (scenario === 'fanout') {
    lines.push('| server | run at (load 1/5/15) | p50 ms | p99 ms | max ms | deliveries/s | server CPU s (µs per delivery) | client CPU s | peak RSS MiB | other cores | checks |', '|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---|');
    for (const r of runs) {
      const x = r.result;
      if (!x) { lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} (${r.machine.loadavg}) | FAILED: ${r.error} |`); continue; }
      lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} (${r.machine.loadavg}) | ${x.latency.p50_ms} | ${x.latency.p99_ms} | ${x.latency.max_ms} | ${fmt(x.delivered.per_s)} | ${x.server && `${x.server.cpu_s} (${x.server.cpu_us_per_delivery})`} | ${x.load_client.cpu_s} | ${x.server && x.server.rss_mib_peak_process} | ${x.machine_cpu && x.machine_cpu.other_cores} | ${x.ok ? 'all 0' : JSON.stringify(x.checks)} |`);
    }
    const p99 = (n) => bestOf(runs, n, (x) => x.latency.p99_ms);
    lines.push('', `p99 ratios (median of runs): tidings/reference ${ratio(p99('tidings'), p99('reference'))}, tidings-batch/reference ${ratio(p99('tidings-batch'), p99('reference'))}, tidings-sio/reference ${ratio(p99('tidings-sio'), p99('reference'))}, with the npm socket.io-client tidings-sio-npm/reference-npm ${ratio(p99('tidings-sio-npm'), p99('reference-npm'))}, tidings-sio-npm/reference-recovery-npm ${ratio(p99('tidings-sio-npm'), p99('reference-recovery-npm'))}, tidings/reference-recovery ${ratio(p99('tidings'), p99('reference-recovery'))}, tidings/bare ${ratio(p99('tidings'), p99('bare'))} (target ≤ 0.5 vs reference)`);
  } else if (scenario === 'saturation') {
    lines.push('| server | run at (load 1/5/15) | sustained deliveries/s | at ev/s | p99 ms there | rounds (ev/s → deliveries/s, p99 ms, server µs per delivery, other processes\' cores) |', '|---|---|---:|---:|---:|---|');
    for (const r of runs) {
      const x = r.result;
      if (!x) { lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} | FAILED: ${r.error} |`); continue; }
      lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} (${r.machine.loadavg}) | ${fmt(x.sustained_per_s)} | ${x.sustained_rate} | ${x.sustained_p99_ms} | ${x.rounds.map((q) => `${q.rate}→${fmt(q.per_s)}, ${q.latency.p99_ms}, ${q.server ? q.server.cpu_us_per_delivery : '?'} µs, ${q.machine_cpu ? q.machine_cpu.other_cores : '?'}${q.checks.lost ? ` (lost ${q.checks.lost})` : ''}`).join('; ')} |`);
    }
    const s = (n) => bestOf(runs, n, (x) => x.sustained_per_s);
    lines.push('', `ratios (median of runs): tidings/reference ${ratio(s('tidings'), s('reference'))} (target ≥ 2), tidings-batch/reference ${ratio(s('tidings-batch'), s('reference'))}, tidings-sio/reference ${ratio(s('tidings-sio'), s('reference'))}, tidings-sio-npm/reference-npm ${ratio(s('tidings-sio-npm'), s('reference-npm'))}, tidings/bare ${ratio(s('tidings'), s('bare'))} (target ≥ 0.8)`);
  } else if (scenario === 'idle') {
    lines.push('| server | run at (load 1/5/15) | connections | connect s | RSS before → after MiB | heap before → after MiB | RSS KiB/conn | heap KiB/conn |', '|---|---|---:|---:|---|---|---:|---:|');
    for (const r of runs) {
      const x = r.result;
      if (!x) { lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} | FAILED: ${r.error} |`); continue; }
      lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} (${r.machine.loadavg}) | ${fmt(x.connected)} | ${x.connect_s} | ${x.rss_mib_before} → ${x.rss_mib_after} | ${x.heap_mib_before} → ${x.heap_mib_after} | ${x.rss_kib_per_connection} | ${x.heap_kib_per_connection} |`);
    }
    const m = (n) => bestOf(runs, n, (x) => x.rss_kib_per_connection);
    lines.push('', `RSS per connection ratios: tidings/reference ${ratio(m('tidings'), m('reference'))}, tidings/bare ${ratio(m('tidings'), m('bare'))} (target ≤ 10 KiB)`);
  } else if (scenario === 'storm') {
    lines.push('| server | run at (load 1/5/15) | clients caught up | reconnected in s | all caught up in s | events/s | server CPU s | checks |', '|---|---|---:|---:|---:|---:|---:|---|');
    for (const r of runs) {
      const x = r.result;
      if (!x) { lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} | FAILED: ${r.error} |`); continue; }
      lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} (${r.machine.loadavg}) | ${x.clients_caught_up} / ${x.params.clients} | ${x.reconnected_s} | ${x.all_caught_up_s} | ${fmt(x.events_per_s)} | ${x.server_cpu_s} | ${x.ok ? 'all 0' : JSON.stringify(x.checks)} |`);
    }
  } else if (scenario === 'publish') {
    lines.push('| durability | run at (load 1/5/15) | batched events/s (batch, in flight) | commit p50 / p99 ms per batch | single events/s (in flight) | commit p50 / p99 ms | server µs/event batched / single |', '|---|---|---:|---|---:|---|---|');
    for (const r of runs) {
      const x = r.result;
      if (!x) { lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} | FAILED: ${r.error} |`); continue; }
      lines.push(`| ${r.server} | ${r.machine.at.slice(11, 19)} (${r.machine.loadavg}) | ${fmt(x.batched.events_per_s)} (${x.batched.batch}, ${x.batched.concurrency}) | ${x.batched.commit_per_batch.p50_ms} / ${x.batched.commit_per_batch.p99_ms} | ${fmt(x.single.events_per_s)} (${x.single.concurrency}) | ${x.single.commit_per_batch.p50_ms} / ${x.single.commit_per_batch.p99_ms} | ${x.batched.server_us_per_event} / ${x.single.server_us_per_event} |`);
    }
  }
  return lines.join('\n') + '\n';
}

// ---- main -------------------------------------------------------------------------------------

async function runScenario(scenario, a, dir) {
  const p = { ...SCALES[a.scale][scenario] };
  for (const kv of a.set ? a.set.split(',') : []) {
    const [k, v] = kv.split('=');
    if (!(k in p)) throw new Error(`--set: ${scenario} has no parameter '${k}' (${Object.keys(p).join(', ')})`);
    p[k] = k === 'rates' ? v.replace(/\//g, ',') : Number(v);
  }
  const names = a.servers ? a.servers.split(',') : DEFAULT_SERVERS[scenario];
  const runs = [];
  for (let rep = 0; rep < a.repeat; rep++) {
    for (const name of names) {
      const machine = machineLine();
      log(`${scenario} on ${name} (load ${machine.loadavg})`);
      const srvName = scenario === 'publish' ? 'tidings' : name;
      let srv = null;
      const entry = { scenario, server: name, machine };
      try {
        srv = await startServer(srvName, path.join(dir, 'servers'), { durability: scenario === 'publish' ? name : undefined, javaOpts: a['java-opts'], jar: a.jar || undefined });
        srv.durability = scenario === 'publish' ? name : undefined;
        entry.result = await RUNNERS[scenario](srv, p);
        log(`${scenario} on ${name}: ${entry.result.ok ? 'OK' : 'FAILED CHECKS'}`);
      } catch (e) {
        entry.error = String(e.message || e).slice(0, 300);
        log(`${scenario} on ${name} FAILED: ${e.stack || e}`);
      } finally {
        if (srv) entry.stop = await srv.stop();
      }
      runs.push(entry);
      fs.writeFileSync(path.join(dir, `${scenario}.json`), JSON.stringify(runs, null, 2) + '\n'); // so far, if the run is cut short
      await sleep(2000);
    }
  }
  fs.writeFileSync(path.join(dir, `${scenario}.json`), JSON.stringify(runs, null, 2) + '\n');
  const md = summarise(scenario, runs);
  fs.appendFileSync(path.join(dir, 'summary.md'), md + '\n');
  console.log(md);
  return runs.every((r) => r.result && r.result.ok);
}

async function main() {
  const argv = process.argv.slice(2);
  const scenario = argv[0];
  if (!scenario || scenario.startsWith('-')) {
    console.log(USAGE);
    return true;
  }
  const a = parseArgs(argv.slice(1), SPEC, USAGE);
  if (!SCALES[a.scale]) throw new Error(`unknown scale '${a.scale}'`);
  const list = scenario === 'all' ? SCENARIOS : [scenario];
  for (const s of list) if (!RUNNERS[s]) throw new Error(`unknown scenario '${s}' (${SCENARIOS.join(', ')}, all)`);
  const dir = a.out || path.join('/tmp/tidings-bench', new Date().toISOString().replace(/[:.]/g, '').slice(0, 15) + 'Z');
  fs.mkdirSync(dir, { recursive: true });
  const facts = [
    `date: ${new Date().toISOString()}`,
    `cores: ${os.cpus().length} (${os.cpus()[0] && os.cpus()[0].model}), memory ${Math.round(os.totalmem() / 1048576)} MiB`,
    `java: ${spawnSync('java', ['-version'], { encoding: 'utf8' }).stderr.split('\n')[0]}`,
    `node: ${process.version}; scale ${a.scale}; uptime: ${execFileSync('uptime', { encoding: 'utf8' }).trim()}`,
  ];
  fs.appendFileSync(path.join(dir, 'summary.md'), facts.map((f) => `- ${f}`).join('\n') + '\n\n');
  log(`results in ${dir}`);
  let ok = true;
  for (const s of list) ok = (await runScenario(s, a, dir)) && ok;
  log(`results in ${dir}`);
  return ok;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error('[bench] error: ' + (e.stack || e));
    process.exit(2);
  },
);
