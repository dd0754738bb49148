#!/usr/bin/env node
'use strict';
// Helper of ops/cluster/bench.sh (embedded vs cluster, issue 15): the parts of the run that talk to
// a running gateway from Node, each writing one JSON result. Not meant to be run by hand, but it can:
//
//   node bench.js snapshot --url U --out F                  # the /metrics figures the report uses
//   node bench.js wrk --txt F --before A --after B --cpu-s S --out F   # wrk's output → JSON
//   node bench.js publish --url U --key K --events N --batch B --concurrency C --warmup W --server-pid P --out F
//   node bench.js storm --url U --key K --token T --clients N --behind M --timeout S --server-pid P [--brokers H:P,…] --out F
//   node bench.js report --dir D                            # the markdown table of D/{embedded,cluster}
//
// The scenarios are ops/load's: publishBulk (lib/bulk.js) for batched publishes, storm.js for the
// reconnect storm (its exactly-once checks per client); fan-out is ops/load/fanout.js, run by bench.sh.

const fs = require('fs');
const http = require('http');
const path = require('path');
const { execFileSync } = require('child_process');
const load = path.resolve(__dirname, '../load');
const { parseArgs } = require(path.join(load, 'lib/args'));
const { publishBulk } = require(path.join(load, 'lib/bulk'));
const { storm } = require(path.join(load, 'storm'));
const { Publisher, ProcSampler, sleep, mib } = require(path.join(load, 'lib/common'));

const log = (s) => console.error(`[bench] ${s}`);
const r1 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 10) / 10);
const r3 = (x) => (x === null || x === undefined || !Number.isFinite(x) ? null : Math.round(x * 1000) / 1000);

// ---- /metrics --------------------------------------------------------------------------------

function getText(url) {
  return new Promise((resolve, reject) => {
    const req = http.get(url, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: ${res.statusCode}`))));
    });
    req.on('error', reject);
    req.setTimeout(10000, () => req.destroy(new Error(`${url}: timeout`)));
  });
}

/** Sums the samples of each metric name whose labels match `labelRe` (if given). */
function sumOf(text, name, labelRe) {
  let found = false;
  let v = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = line.match(/^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$/);
    if (!m || m[1] !== name) continue;
    if (labelRe && !labelRe.test(m[2] || '')) continue;
    found = true;
    v += Number(m[3]);
  }
  return found ? v : null;
}

async function snapshot(url) {
  const t = await getText(new URL('/metrics', url));
  return {
    at: new Date().toISOString(),
    log_append_sum_s: sumOf(t, 'tidings_log_append_seconds_sum'),
    log_append_count: sumOf(t, 'tidings_log_append_seconds_count'),
    cluster_produce_sum_s: sumOf(t, 'tidings_cluster_produce_seconds_sum'),
    cluster_produce_count: sumOf(t, 'tidings_cluster_produce_seconds_count'),
    cluster_produce_errors: sumOf(t, 'tidings_cluster_produce_errors_total'),
    cluster_consumers_opened: sumOf(t, 'tidings_cluster_consumers_opened'),
    cluster_replica_offset: sumOf(t, 'tidings_cluster_replica_offset'),
    cluster_replica_lag_events: sumOf(t, 'tidings_cluster_replica_lag_events'),
    log_head_offset: sumOf(t, 'tidings_log_head_offset'),
    heap_used_bytes: sumOf(t, 'jvm_memory_used_bytes', /area="heap"/),
    gc_pause_count: sumOf(t, 'jvm_gc_pause_seconds_count'),
    gc_pause_sum_s: sumOf(t, 'jvm_gc_pause_seconds_sum'),
    replayed_events: sumOf(t, 'tidings_replayed_events_total'),
    sessions_fell_behind: sumOf(t, 'tidings_sessions_fell_behind_total'),
    deliveries: sumOf(t, 'tidings_deliveries_total'),
  };
}

/** Mean ms per call of a histogram between two snapshots (sum and count deltas). */
function meanMs(a, b, key) {
  if (!a || !b || a[key + '_sum_s'] === null || b[key + '_sum_s'] === null) return null;
  const n = b[key + '_count'] - a[key + '_count'];
  return n > 0 ? r3(((b[key + '_sum_s'] - a[key + '_sum_s']) * 1000) / n) : null;
}

/** Heap in use after a full GC (jcmd GC.run, then GC.heap_info's "used"). */
function heapAfterGcBytes(pid) {
  if (!pid) return null;
  try {
    execFileSync('jcmd', [String(pid), 'GC.run'], { stdio: ['ignore', 'pipe', 'pipe'] });
    const info = execFileSync('jcmd', [String(pid), 'GC.heap_info'], { encoding: 'utf8' });
    const m = info.match(/heap\s+total\s+\d+K, used (\d+)K/);
    return m ? Number(m[1]) * 1024 : null;
  } catch (e) {
    log(`jcmd ${pid}: ${e.message}`);
    return null;
  }
}

/** Established TCP connections of `pid` to any of the `hostPorts` (the Kafka brokers), from `ss`. */
function connectionsTo(pid, hostPorts) {
  if (!pid || !hostPorts.length) return null;
  try {
    // ss prints IPv4 peers of a dual-stack socket as [::ffff:127.0.0.1]:port: match on the port
    const ports = new Set(hostPorts.map((hp) => hp.slice(hp.lastIndexOf(':') + 1)));
    const out = execFileSync('ss', ['-Htnp', 'state', 'established'], { encoding: 'utf8' });
    return out.split('\n').filter((l) => {
      if (!l.includes(`pid=${pid},`)) return false;
      const peer = l.trim().split(/\s+/)[3] || '';
      return ports.has(peer.slice(peer.lastIndexOf(':') + 1));
    }).length;
  } catch (e) {
    log(`ss: ${e.message}`);
    return null;
  }
}

// ---- subcommands -----------------------------------------------------------------------------

const COMMON = {
  url: { def: '', help: 'gateway base URL' },
  key: { def: '', help: 'publish key' },
  token: { def: '', help: 'subscriber token (room loadtest)' },
  out: { def: '', help: 'result JSON file' },
  'server-pid': { def: 0, type: 'number', help: 'the gateway pid (CPU, RSS, jcmd)' },
  events: { def: 100000, type: 'number', help: 'publish: events measured' },
  warmup: { def: 0, type: 'number', help: 'publish: events first, not measured' },
  batch: { def: 100, type: 'number', help: 'publish: events per POST' },
  concurrency: { def: 4, type: 'number', help: 'publish: POSTs in flight' },
  clients: { def: 2000, type: 'number', help: 'storm: clients' },
  behind: { def: 1000, type: 'number', help: 'storm: events each client misses' },
  timeout: { def: 300, type: 'number', help: 'storm: seconds to wait for every client to catch up' },
  brokers: { def: '', help: 'storm: Kafka bootstrap host:port,… (counts the gateway\'s TCP connections to them)' },
  txt: { def: '', help: 'wrk: its output file' },
  before: { def: '', help: 'wrk: snapshot JSON before the window' },
  after: { def: '', help: 'wrk: snapshot JSON after the window' },
  'cpu-s': { def: 0, type: 'number', help: 'wrk: gateway CPU seconds over the window' },
  'worker-threads': { def: 0, type: 'number', help: 'wrk: the gateway\'s Undertow worker threads after the window' },
  dir: { def: '', help: 'report: the run directory' },
};

function write(file, obj) {
  if (file) fs.writeFileSync(file, JSON.stringify(obj, null, 2) + '\n');
  console.log(JSON.stringify(obj));
}

function msOf(s) { // wrk's "1.23ms" / "850.00us" / "1.02s" → ms
  const m = String(s || '').match(/^([0-9.]+)(us|ms|s|m)$/);
  if (!m) return null;
  return Number(m[1]) * { us: 0.001, ms: 1, s: 1000, m: 60000 }[m[2]];
}

function wrkResult(a) {
  const t = fs.readFileSync(a.txt, 'utf8');
  const g = (re) => { const m = t.match(re); return m ? m[1] : null; };
  const requests = Number(g(/(\d+) requests in/));
  const before = a.before ? JSON.parse(fs.readFileSync(a.before, 'utf8')) : null;
  const after = a.after ? JSON.parse(fs.readFileSync(a.after, 'utf8')) : null;
  return {
    events_per_s: Math.round(Number(g(/Requests\/sec:\s*([0-9.]+)/))),
    requests,
    non_2xx: Number(g(/Non-2xx or 3xx responses:\s*(\d+)/) || 0),
    socket_errors: g(/Socket errors: ([^\n]*)/),
    latency_ms: { mean: msOf(g(/Latency\s+(\S+)/)), p50: msOf(g(/\n\s+50%\s+(\S+)/)), p90: msOf(g(/\n\s+90%\s+(\S+)/)), p99: msOf(g(/\n\s+99%\s+(\S+)/)), max: msOf(g(/Latency\s+\S+\s+\S+\s+(\S+)/)) },
    server_cpu_s: r3(a['cpu-s']),
    server_us_per_event: requests > 0 ? r1((a['cpu-s'] * 1e6) / requests) : null,
    log_append_mean_ms: meanMs(before, after, 'log_append'),
    kafka_produce_mean_ms: meanMs(before, after, 'cluster_produce'),
    kafka_produce_errors: before && after && after.cluster_produce_errors !== null ? after.cluster_produce_errors - before.cluster_produce_errors : null,
    worker_threads: a['worker-threads'],
  };
}

async function publish(a) {
  const sampler = new ProcSampler(a['server-pid']);
  const run = async (events) => {
    const pub = new Publisher(a.url, a.key, { sockets: a.concurrency });
    const m0 = await snapshot(a.url);
    const s0 = sampler.read();
    const r = await publishBulk(pub, { room: 'loadtest', events, batch: a.batch, concurrency: a.concurrency, log });
    const s1 = sampler.read();
    const m1 = await snapshot(a.url);
    pub.close();
    const cpu = s0 && s1 ? s1.cpuS - s0.cpuS : null;
    return {
      ...r,
      server_cpu_s: r3(cpu),
      server_us_per_event: cpu === null ? null : r1((cpu * 1e6) / events),
      log_append_mean_ms: meanMs(m0, m1, 'log_append'),
      kafka_produce_mean_ms: meanMs(m0, m1, 'cluster_produce'),
      kafka_produce_errors: m1.cluster_produce_errors === null ? null : m1.cluster_produce_errors - m0.cluster_produce_errors,
    };
  };
  if (a.warmup > 0) {
    log(`batched publish warm-up: ${a.warmup} events`);
    await run(a.warmup);
  }
  log(`batched publish: ${a.events} events, ${a.batch} per POST, ${a.concurrency} in flight`);
  return run(a.events);
}

async function stormCmd(a) {
  const pid = a['server-pid'];
  const brokers = a.brokers ? a.brokers.split(',') : [];
  const srv = { name: 'tidings', protocol: 'native', url: a.url, token: a.token, publishKey: a.key, pid };
  const heapBefore = heapAfterGcBytes(pid);
  const m0 = await snapshot(a.url);
  const tcp0 = connectionsTo(pid, brokers);
  // heap in use as /metrics reports it (no GC forced), sampled through the storm: the peak is the
  // transient footprint of the catch-up (garbage included), the after-GC figures are what stays
  let heapPeak = 0;
  let sampling = true;
  const sampler = (async () => {
    while (sampling) {
      try {
        const s = await snapshot(a.url);
        if (s.heap_used_bytes > heapPeak) heapPeak = s.heap_used_bytes;
      } catch { /* the gateway is busy: next time */ }
      await sleep(250);
    }
  })();
  let r;
  try {
    r = await storm(srv, {
      clients: a.clients, behind: a.behind, room: 'loadtest', timeoutS: a.timeout, log,
      afterCatchUp: async () => {
        const m = await snapshot(a.url);
        return {
          heap_after_gc_mib: mib(heapAfterGcBytes(pid) || 0),
          consumers_opened: m.cluster_consumers_opened,
          tcp_connections_to_brokers: connectionsTo(pid, brokers),
        };
      },
    });
  } finally {
    sampling = false;
    await sampler;
  }
  const m1 = await snapshot(a.url);
  return {
    ...r,
    memory: {
      heap_after_gc_mib_before: heapBefore === null ? null : mib(heapBefore),
      heap_after_gc_mib_caught_up: r.after_catch_up ? r.after_catch_up.heap_after_gc_mib : null,
      heap_used_mib_peak: mib(heapPeak),
      rss_mib_peak: r.server_rss_mib_peak,
      gc_pauses: m1.gc_pause_count - m0.gc_pause_count,
      gc_pause_s: r3(m1.gc_pause_sum_s - m0.gc_pause_sum_s),
    },
    kafka: {
      consumers_opened_before: m0.cluster_consumers_opened,
      consumers_opened_caught_up: r.after_catch_up ? r.after_catch_up.consumers_opened : null,
      consumers_opened_after: m1.cluster_consumers_opened,
      tcp_connections_to_brokers_before: tcp0,
      tcp_connections_to_brokers_caught_up: r.after_catch_up ? r.after_catch_up.tcp_connections_to_brokers : null,
    },
    replayed_events: m1.replayed_events - m0.replayed_events,
    sessions_fell_behind: m1.sessions_fell_behind - m0.sessions_fell_behind,
  };
}

// ---- report ----------------------------------------------------------------------------------

function readJson(file) {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return null;
  }
}

const n = (x) => (x === null || x === undefined ? '–' : typeof x === 'number' ? x.toLocaleString('en-US') : String(x));

function checks(c) {
  if (!c) return '–';
  const bad = Object.entries(c).filter(([k, v]) => v !== 0 && k !== 'stale_events');
  return bad.length ? bad.map(([k, v]) => `${k} ${v}`).join(', ') : 'all 0';
}

function report(dir) {
  const modes = ['embedded', 'cluster'];
  const R = {};
  for (const m of modes) {
    R[m] = {
      single: readJson(path.join(dir, m, 'publish-single.json')),
      batched: readJson(path.join(dir, m, 'publish-batched.json')),
      fanout: readJson(path.join(dir, m, 'fanout.json')),
      storm: readJson(path.join(dir, m, 'storm.json')),
      cross: readJson(path.join(dir, m, 'fanout-cross-node.json')),
      load: readJson(path.join(dir, m, 'load.json')) || {},
      steps: readSteps(path.join(dir, m, 'steps.jsonl')),
    };
  }
  const row = (label, f) => `| ${label} | ${modes.map((m) => { try { const v = f(R[m], m); return v === undefined ? '–' : v; } catch { return 'FAILED'; } }).join(' | ')} |`;
  const fail = (x, what) => (x ? null : `not measured (${what} failed, see the logs)`);
  const L = [];
  const p = (R.embedded.fanout || R.cluster.fanout || {}).params || {};
  const s = (R.embedded.storm || R.cluster.storm || {}).params || {};
  const b = R.embedded.batched || R.cluster.batched || {};
  L.push('| measure | embedded (`log: chronicle`) | cluster (`log: kafka`, 3 brokers) |', '|---|---:|---:|');
  L.push(row('load average (1/5/15) at the start of the mode', (r) => r.load.start));
  L.push(row('**single-event publish**, wrk 32 connections: events/s', (r) => fail(r.single, 'wrk') || `**${n(r.single.events_per_s)}**`));
  L.push(row('  latency p50 / p99 / max ms (wrk)', (r) => r.single && `${r.single.latency_ms.p50} / ${r.single.latency_ms.p99} / ${r.single.latency_ms.max}`));
  L.push(row('  gateway CPU µs/event; non-2xx; Undertow worker threads', (r) => r.single && `${r.single.server_us_per_event}; ${r.single.non_2xx}; ${r.single.worker_threads}`));
  L.push(row('  log append mean ms (Kafka produce, acks=all)', (r) => r.single && `${r.single.log_append_mean_ms}${r.single.kafka_produce_mean_ms !== null ? ` (${r.single.kafka_produce_mean_ms})` : ''}`));
  L.push(row(`**batched publish**, ${b.batch || '?'} events/POST, ${b.concurrency || '?'} in flight: events/s`, (r) => fail(r.batched, 'batched publish') || `**${n(r.batched.events_per_s)}**`));
  L.push(row('  commit p50 / p99 ms per POST', (r) => r.batched && `${r.batched.commit_per_batch.p50_ms} / ${r.batched.commit_per_batch.p99_ms}`));
  L.push(row('  gateway CPU µs/event; log append mean ms (Kafka produce)', (r) => r.batched && `${r.batched.server_us_per_event}; ${r.batched.log_append_mean_ms}${r.batched.kafka_produce_mean_ms !== null ? ` (${r.batched.kafka_produce_mean_ms})` : ''}`));
  L.push(row(`**fan-out** ${n(p.clients)} clients × ${p.rate} ev/s × ${p.duration_s} s, one node: latency p50 / p99 ms`, (r) => fail(r.fanout, 'fan-out') || `**${r.fanout.latency.p50_ms} / ${r.fanout.latency.p99_ms}**`));
  L.push(row('  p99.9 / max ms', (r) => r.fanout && `${r.fanout.latency.p999_ms} / ${r.fanout.latency.max_ms}`));
  L.push(row('  fastest client per event p50 / p99 ms; publish commit p50 / p99 ms', (r) => r.fanout && `${r.fanout.per_event.fastest_client.p50_ms} / ${r.fanout.per_event.fastest_client.p99_ms}; ${r.fanout.published.commit.p50_ms} / ${r.fanout.published.commit.p99_ms}`));
  L.push(row('  deliveries/s (nominal); gateway CPU µs/delivery', (r) => r.fanout && `${n(r.fanout.delivered.per_s)} (${n(r.fanout.delivered.nominal_per_s)}); ${r.fanout.server ? r.fanout.server.cpu_us_per_delivery : '–'}`));
  L.push(row('  checks (lost, duplicates, order, offsets, closes)', (r) => r.fanout && checks(r.fanout.checks)));
  L.push(row('fan-out across nodes (publish on node 1, clients on node 2): p50 / p99 / max ms', (r, m) => (m === 'embedded' ? 'n/a' : r.cross ? `${r.cross.latency.p50_ms} / ${r.cross.latency.p99_ms} / ${r.cross.latency.max_ms}; checks ${checks(r.cross.checks)}` : 'not run')));
  L.push(row(`**resume storm** ${n(s.clients)} clients × ${n(s.behind)} missed events: all caught up in s`, (r) => fail(r.storm, 'storm') || `**${r.storm.all_caught_up_s}**`));
  L.push(row('  every reconnect answered `live` in s; missed events delivered/s', (r) => r.storm && `${r.storm.reconnected_s}; ${n(r.storm.events_per_s)}`));
  L.push(row('  clients with exactly their missed events; checks', (r) => r.storm && `${n(r.storm.clients_caught_up)} / ${n(r.storm.params.clients)}; ${checks(r.storm.checks)}`));
  L.push(row('  gateway CPU s; load client CPU s', (r) => r.storm && `${r.storm.server_cpu_s}; ${r.storm.load_client_cpu_s}`));
  L.push(row('  heap after full GC: before → caught up (clients connected) MiB', (r) => r.storm && `${r.storm.memory.heap_after_gc_mib_before} → ${r.storm.memory.heap_after_gc_mib_caught_up}`));
  L.push(row('  heap in use peak (no GC forced); RSS peak MiB', (r) => r.storm && `${r.storm.memory.heap_used_mib_peak}; ${r.storm.memory.rss_mib_peak}`));
  L.push(row('  GC pauses during the storm (count, s)', (r) => r.storm && `${r.storm.memory.gc_pauses}, ${r.storm.memory.gc_pause_s}`));
  L.push(row('  `tidings_cluster_consumers_opened` before → caught up → after', (r) => r.storm && (r.storm.kafka.consumers_opened_before === null ? 'n/a (no Kafka)' : `${r.storm.kafka.consumers_opened_before} → ${r.storm.kafka.consumers_opened_caught_up} → ${r.storm.kafka.consumers_opened_after}`)));
  L.push(row('  gateway TCP connections to the brokers before → caught up', (r) => r.storm && (r.storm.kafka.tcp_connections_to_brokers_before === null ? 'n/a' : `${r.storm.kafka.tcp_connections_to_brokers_before} → ${r.storm.kafka.tcp_connections_to_brokers_caught_up}`)));
  L.push(row('  events replayed from the log (`tidings_replayed_events_total`)', (r) => r.storm && n(r.storm.replayed_events)));
  L.push('', 'CPU during each step, in cores (averaged over the step\'s wall time; "other" = the whole machine\'s busy time minus the gateways, the brokers and the load clients: processes outside this benchmark):', '');
  L.push('| step | embedded: wall s · gateway / load client / other | cluster: wall s · gateway / brokers / load client / other |', '|---|---|---|');
  for (const [k, label] of [['single', 'single-event publish (incl. warm-up)'], ['batched', 'batched publish (incl. warm-up)'], ['fanout', 'fan-out (incl. connect, warm-up, drain)'], ['storm', 'resume storm (incl. connect, GCs)'], ['cross', 'fan-out across nodes']]) {
    const c = (m) => {
      const x = R[m].steps[k];
      if (!x) return '–';
      return `${x.wall_s} s · ${x.gateway_cores}${m === 'cluster' ? ` / ${x.brokers_cores}` : ''} / ${x.load_client_cores} / ${x.other_cores}${x.ok ? '' : ' (FAILED)'}`;
    };
    if (R.embedded.steps[k] || R.cluster.steps[k]) L.push(`| ${label} | ${c('embedded')} | ${c('cluster')} |`);
  }
  return L.join('\n') + '\n';
}

function readSteps(file) {
  const out = {};
  try {
    for (const line of fs.readFileSync(file, 'utf8').split('\n')) if (line.trim()) { const x = JSON.parse(line); out[x.key] = x; }
  } catch { /* no steps recorded */ }
  return out;
}

// ---- main ------------------------------------------------------------------------------------

async function main() {
  const cmd = process.argv[2];
  const a = parseArgs(process.argv.slice(3), COMMON, 'usage: node bench.js snapshot|wrk|publish|storm|report [options]');
  if (cmd === 'snapshot') write(a.out, await snapshot(a.url));
  else if (cmd === 'wrk') write(a.out, wrkResult(a));
  else if (cmd === 'publish') write(a.out, await publish(a));
  else if (cmd === 'storm') {
    const r = await stormCmd(a);
    write(a.out, r);
    return r.ok;
  } else if (cmd === 'report') process.stdout.write(report(a.dir));
  else throw new Error(`unknown command '${cmd}' (snapshot, wrk, publish, storm, report)`);
  return true;
}

main().then(
  (ok) => process.exit(ok ? 0 : 1),
  (e) => {
    console.error('[bench] error: ' + (e.stack || e));
    process.exit(2);
  },
);
