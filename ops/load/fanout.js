#!/usr/bin/env node
'use strict';
// Fan-out scenario: N WebSocket subscribers in one room (spread over child processes), a publisher
// at a fixed rate for a fixed time, and a report of publish→receive latency, deliveries/s and
// lost / duplicate / out-of-order counts (which must all be 0). With --rates a,b,c it is the
// saturation search: the same clients measure one round per rate, stopping after two rounds in a
// row whose p99 exceeds --p99-limit-ms or that lost deliveries; the highest deliveries/s of a round
// within the limit is the sustained figure. See README.md in this directory.
//
// Process layout: this file runs as the coordinator (publisher + report) and, with --child, as a
// subscriber process started by the coordinator over an IPC channel:
//   coordinator → child  {type:'start', …}         child opens its clients, joins, waits for "live"
//   child → coordinator  {type:'ready', …}
//   per round:
//   coordinator → child  {type:'measure', round, expected, epochMs}  (after the warm-up)
//   coordinator → child  {type:'finish', drainMs}   (after the last publish of the round)
//   child → coordinator  {type:'result', …}        counts, latency histogram, CPU, loop delay
//   coordinator → child  {type:'close'}

const { fork } = require('child_process');
const os = require('os');
const { monitorEventLoopDelay } = require('perf_hooks');
const { parseArgs } = require('./lib/args');
const { Histogram, round3 } = require('./lib/histogram');
const { Subscriber } = require('./lib/subscriber');
const { publishAtRate } = require('./lib/rate');
const { wireOf } = require('./lib/wire');
const { nowMs, sleep, Publisher, ProcSampler, machineCpu, machineShare, scrapeCounters, counterDelta, selfCpuS, mib, writeResult } = require('./lib/common');

const SPEC = {
  url: { required: true, help: 'gateway base URL, e.g. http://127.0.0.1:8080' },
  token: { required: true, help: 'subscriber token granting --room (tidings token --sub load --room ROOM)' },
  'publish-key': { required: true, help: 'publish key (Authorization: Bearer)' },
  'publish-url': { def: '', help: 'publish to this gateway instead of --url (cluster mode: publish on one node, subscribe on another)' },
  room: { def: 'loadtest', help: 'room every client joins and every event goes to' },
  protocol: { def: 'native', help: 'wire protocol of the clients: native (/v1/ws) or socketio (/socket.io/)' },
  rates: { def: '', help: 'saturation search: comma-separated rates (events/s), one --duration round each' },
  'p99-limit-ms': { def: 100, type: 'number', help: 'saturation: two rounds in a row whose p99 exceeds this (or that lose events) end the search' },
  'source-addresses': { def: 1, type: 'number', help: 'spread the client processes over 127.0.0.1…127.0.0.N (ephemeral ports)' },
  clients: { def: 1000, type: 'number', help: 'WebSocket clients' },
  rate: { def: 20, type: 'number', help: 'events per second published' },
  duration: { def: 30, type: 'number', help: 'seconds of measured publishing' },
  warmup: { def: 5, type: 'number', help: 'seconds of unmeasured publishing first (JIT warm-up)' },
  procs: { def: 0, type: 'number', help: 'subscriber processes; 0 = ceil(clients / per-proc)' },
  'per-proc': { def: 5000, type: 'number', help: 'most clients per process when --procs is 0 (open-file limit!)' },
  'connect-concurrency': { def: 200, type: 'number', help: 'handshakes in flight per process while connecting' },
  'data-bytes': { def: 0, type: 'number', help: 'pad each event data with a string of this many bytes' },
  'drain-timeout': { def: 15, type: 'number', help: 'seconds to wait after the last publish for deliveries' },
  'server-pid': { def: 0, type: 'number', help: 'pid of the gateway (local): report its CPU seconds and RSS' },
  out: { def: '', help: 'write the result as JSON to this file' },
  child: { def: false, type: 'boolean', help: '(internal) run as a subscriber process' },
};
const USAGE = 'usage: node fanout.js --url URL --token JWT --publish-key KEY [options]';

// ---------------------------------------------------------------------------------------------
// child: a share of the subscribers

function child() {
  const subs = [];
  let hist = new Histogram();
  let perSeq = null; // fastest / slowest latency of each event among this process's clients
  const loop = monitorEventLoopDelay({ resolution: 5 });
  let cpuAtMeasure = 0;
  let measureAt = 0;
  let perSecond = null;

  process.on('message', async (msg) => {
    try {
      if (msg.type === 'start') {
        const t0 = nowMs();
        const wire = wireOf(msg.protocol);
        const url = wire.url(msg.url, msg.token);
        let failed = 0;
        let firstFailure = null;
        let next = 0;
        const worker = async () => {
          while (next < msg.count) {
            next++;
            const s = new Subscriber(url, msg.room, { wire, token: msg.token, localAddress: msg.localAddress });
            try {
              await s.open();
              await s.join();
              subs.push(s);
            } catch (e) {
              failed++;
              if (!firstFailure) firstFailure = String(e.message || e);
              s.close();
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(msg.concurrency, msg.count) }, worker));
        process.send({ type: 'ready', opened: subs.length, failed, firstFailure, connectMs: nowMs() - t0 });
      } else if (msg.type === 'measure') {
        measureAt = msg.epochMs;
        perSecond = new Float64Array(msg.seconds);
        hist = new Histogram();
        perSeq = { min: new Float64Array(msg.expected).fill(Infinity), max: new Float64Array(msg.expected).fill(-Infinity) };
        loop.reset();
        for (const s of subs) {
          s.reset(msg.expected, msg.round, hist, perSeq);
          s.perSecond = perSecond;
          s.epochMs = measureAt;
        }
        cpuAtMeasure = selfCpuS();
        loop.enable();
      } else if (msg.type === 'finish') {
        const deadline = nowMs() + msg.drainMs;
        while (nowMs() < deadline && subs.some((s) => s.unique < s.expected && !s.closed)) await sleep(20);
        loop.disable();
        const cpuS = selfCpuS() - cpuAtMeasure;
        const r = {
          type: 'result',
          clients: subs.length,
          received: 0,
          unique: 0,
          lost: 0,
          duplicates: 0,
          outOfOrder: 0,
          offsetRegressions: 0,
          foreign: 0,
          stale: 0,
          warmup: 0,
          errorFrames: 0,
          gapFrames: 0,
          unexpectedCloses: 0,
          firstClose: null,
          clientsMissingEvents: 0,
          lastDeliveryAt: 0,
          hist: hist.toJSON(),
          perSeqMin: Array.from(perSeq.min, (v) => (Number.isFinite(v) ? v : null)),
          perSeqMax: Array.from(perSeq.max, (v) => (Number.isFinite(v) ? v : null)),
          perSecond: Array.from(perSecond || []),
          cpuS,
          loopDelayP99Ms: loop.percentile(99) / 1e6,
          loopDelayMaxMs: loop.max / 1e6,
        };
        for (const s of subs) {
          r.received += s.received;
          r.unique += s.unique;
          r.lost += s.lost;
          r.duplicates += s.duplicates;
          r.outOfOrder += s.outOfOrder;
          r.offsetRegressions += s.offsetRegressions;
          r.foreign += s.foreign;
          r.stale += s.stale;
          r.warmup += s.warmup;
          r.errorFrames += s.errors.length;
          r.gapFrames += s.gaps.length;
          if (s.lost > 0) r.clientsMissingEvents++;
          if (s.unexpectedlyClosed) {
            r.unexpectedCloses++;
            if (!r.firstClose) r.firstClose = s.closed;
          }
          r.lastDeliveryAt = Math.max(r.lastDeliveryAt, s.lastEventAt);
        }
        process.send(r);
      } else if (msg.type === 'close') {
        for (const s of subs) s.close();
        setTimeout(() => process.exit(0), 500).unref();
      }
    } catch (e) {
      process.send({ type: 'fatal', error: String((e && e.stack) || e) });
      process.exit(1);
    }
  });
  process.on('disconnect', () => process.exit(0));
}

// ---------------------------------------------------------------------------------------------
// coordinator

function nextMessage(proc, type) {
  return new Promise((resolve, reject) => {
    const onMsg = (m) => {
      if (m.type === type) {
        cleanup();
        resolve(m);
      } else if (m.type === 'fatal') {
        cleanup();
        reject(new Error('subscriber process failed: ' + m.error));
      }
    };
    const onExit = (code) => {
      cleanup();
      reject(new Error(`subscriber process exited (${code}) while waiting for '${type}'`));
    };
    const cleanup = () => {
      proc.off('message', onMsg);
      proc.off('exit', onExit);
    };
    proc.on('message', onMsg);
    proc.on('exit', onExit);
  });
}

/**
 * Forks `procs` subscriber processes and has them open a.clients clients in all, joined to a.room
 * on a.protocol. Resolves once every client is live: {children, opened, connectS, killAll}.
 */
async function startClients(a, procs, log) {
  const children = [];
  const shares = [];
  for (let i = 0; i < procs; i++) {
    shares.push(Math.floor(a.clients / procs) + (i < a.clients % procs ? 1 : 0));
    children.push(fork(__filename, ['--child'], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
  }
  const killAll = () => children.forEach((c) => c.connected && c.kill());
  process.on('exit', killAll);
  const t0 = nowMs();
  const ready = await Promise.all(
    children.map((c, i) => {
      const p = nextMessage(c, 'ready');
      const localAddress = a['source-addresses'] > 1 ? `127.0.0.${1 + (i % a['source-addresses'])}` : undefined;
      c.send({ type: 'start', url: a.url, token: a.token, room: a.room, protocol: a.protocol, localAddress, count: shares[i], concurrency: a['connect-concurrency'] });
      return p;
    }),
  ).catch((e) => {
    killAll();
    throw e;
  });
  const opened = ready.reduce((n, r) => n + r.opened, 0);
  const failed = ready.reduce((n, r) => n + r.failed, 0);
  const connectS = (nowMs() - t0) / 1000;
  log(`${opened} clients connected and live in ${connectS.toFixed(1)} s` + (failed ? `; ${failed} FAILED: ${ready.find((r) => r.firstFailure).firstFailure}` : ''));
  if (failed > 0) {
    killAll();
    throw new Error(`${failed} clients could not connect: ${ready.find((r) => r.firstFailure).firstFailure}`);
  }
  return { children, opened, connectS, killAll };
}

/** Asks the subscriber processes to close their clients and exit. */
async function closeClients({ children, killAll }) {
  for (const c of children) if (c.connected) c.send({ type: 'close' });
  await sleep(600);
  killAll();
}

async function coordinator(a) {
  const procs = a.procs > 0 ? a.procs : Math.max(1, Math.ceil(a.clients / a['per-proc']));
  const rates = a.rates ? String(a.rates).split(',').map(Number) : [a.rate];
  const pad = a['data-bytes'] > 0 ? 'x'.repeat(a['data-bytes']) : '';
  const server = new ProcSampler(a['server-pid'] || 0);
  const log = (s) => console.error(`[fanout] ${s}`);

  log(`${a.clients} ${a.protocol} clients in ${procs} process(es), room ${a.room}; ${rates.join(', ')} ev/s for ${a.duration} s each (+${a.warmup} s warm-up)`);
  const { children, opened, connectS, killAll } = await startClients(a, procs, log);

  const pub = new Publisher(a['publish-url'] || a.url, a['publish-key']);
  const base = { room: a.room, pad, maxBatch: 1000 };
  if (a.warmup > 0) {
    log(`warm-up: ${a.warmup} s`);
    const w = await publishAtRate(pub, { ...base, rate: rates[0], seconds: a.warmup, warmup: true });
    if (w.httpErrors) throw new Error(`warm-up publish failed: ${w.firstError}`);
    await sleep(500);
  }

  const rounds = [];
  let over = 0; // consecutive rounds over the limit: two end the search (one may be a neighbour's burst)
  for (let i = 0; i < rates.length; i++) {
    const r = await measureRound(a, { children, server, pub, base, rate: rates[i], round: i, procs, opened, connectS, log });
    rounds.push(r);
    if (rates.length > 1) {
      log(`round ${i}: ${rates[i]} ev/s → ${r.delivered.per_s} deliveries/s, p99 ${r.latency.p99_ms} ms, lost ${r.checks.lost}`);
      over = !r.ok || r.latency.p99_ms > a['p99-limit-ms'] ? over + 1 : 0;
      if (over === 2) break;
      await sleep(1000);
    }
  }
  pub.close();
  await closeClients({ children, killAll });

  let result;
  if (rates.length === 1) result = rounds[0];
  else {
    const sustained = rounds.filter((r) => r.ok && r.latency.p99_ms <= a['p99-limit-ms']);
    const best = sustained.reduce((b, r) => (!b || r.delivered.per_s > b.delivered.per_s ? r : b), null);
    result = {
      scenario: 'saturation',
      when: new Date().toISOString(),
      params: { ...rounds[0].params, rates, p99_limit_ms: a['p99-limit-ms'] },
      connect_s: round3(connectS),
      rounds: rounds.map((r) => ({
        rate: r.params.rate, per_s: r.delivered.per_s, nominal_per_s: r.delivered.nominal_per_s, latency: r.latency,
        checks: r.checks, server: r.server, load_client: r.load_client, machine_cpu: r.machine_cpu, ok: r.ok,
      })),
      sustained_per_s: best ? best.delivered.per_s : 0,
      sustained_rate: best ? best.params.rate : 0,
      sustained_p99_ms: best ? best.latency.p99_ms : null,
      ok: rounds.every((r) => r.checks.duplicates === 0 && r.checks.out_of_order === 0),
    };
  }
  writeResult(a.out, result);
  if (rates.length === 1) printReport(result);
  else printSaturation(result);
  return result;
}

/** One measured round at `rate`: publish, drain, merge the children's results. */
async function measureRound(a, { children, server, pub, base, rate, round, procs, opened, connectS, log }) {
  const expected = Math.round(rate * a.duration);
  const countersBefore = await scrapeCounters(a.url);
  const serverBefore = server.read();
  const machineBefore = machineCpu();
  server.start();
  const measureAt = nowMs();
  const coordCpu0 = selfCpuS();
  for (const c of children) c.send({ type: 'measure', round, expected, epochMs: measureAt, seconds: Math.ceil(a.duration + a['drain-timeout'] + 2) });
  log(`measuring: ${expected} events at ${rate}/s`);
  const p = await publishAtRate(pub, { ...base, rate, seconds: a.duration, warmup: false, round });
  const publishedAt = nowMs();

  const results = await Promise.all(
    children.map((c) => {
      const r = nextMessage(c, 'result');
      c.send({ type: 'finish', drainMs: a['drain-timeout'] * 1000 });
      return r;
    }),
  );
  server.stop();
  const serverAfter = server.read();
  const machineAfter = machineCpu();
  const countersAfter = await scrapeCounters(a.url);

  const hist = new Histogram();
  const sum = (k) => results.reduce((n, r) => n + r[k], 0);
  for (const r of results) hist.add(r.hist);
  const lastDeliveryAt = Math.max(...results.map((r) => r.lastDeliveryAt));
  const perSecond = [];
  for (const r of results) r.perSecond.forEach((v, i) => (perSecond[i] = (perSecond[i] || 0) + v));
  while (perSecond.length && perSecond[perSecond.length - 1] === 0) perSecond.pop();
  const deliveries = sum('unique');
  // Per event: the fastest client's latency (publish → commit → dispatch → first socket: the part
  // every client waits for) and the spread to the slowest (fan-out over all sockets + client queueing).
  const first = new Histogram();
  const spread = new Histogram();
  const perEvent = [];
  for (let q = 0; q < expected; q++) {
    let mn = Infinity;
    let mx = -Infinity;
    for (const r of results) {
      if (r.perSeqMin[q] !== null && r.perSeqMin[q] < mn) mn = r.perSeqMin[q];
      if (r.perSeqMax[q] !== null && r.perSeqMax[q] > mx) mx = r.perSeqMax[q];
    }
    if (!Number.isFinite(mn)) continue;
    first.recordMs(mn);
    spread.recordMs(mx - mn);
    perEvent.push({ seq: q, at_s: round3(p.sentAtBySeq[q] / 1000), commit_ms: round3(p.commitMsBySeq[q]), fastest_ms: round3(mn), slowest_ms: round3(mx) });
  }
  const worst = perEvent.slice().sort((x, y) => y.slowest_ms - x.slowest_ms).slice(0, 8);
  const windowS = (lastDeliveryAt - measureAt) / 1000;

  const result = {
    scenario: 'fanout',
    when: new Date().toISOString(),
    params: {
      protocol: a.protocol, clients: a.clients, procs, rate, duration_s: a.duration, warmup_s: a.warmup, room: a.room,
      data_bytes: a['data-bytes'], url: a.url, publish_url: a['publish-url'] || a.url,
    },
    machine: { cpus: os.cpus().length, cpu_model: os.cpus()[0] && os.cpus()[0].model, node: process.version },
    connect_s: round3(connectS),
    published: {
      events: p.events, posts: p.posts, batched_posts: p.batched, http_errors: p.httpErrors, first_error: p.firstError,
      retried_after_reset: pub.retries || 0,
      seconds: round3(p.seconds), max_schedule_lag_ms: round3(p.maxLagMs), commit: p.commit.summary(),
    },
    delivered: {
      expected: expected * opened,
      deliveries,
      per_s: Math.round(deliveries / windowS),
      nominal_per_s: rate * opened,
      last_delivery_after_last_publish_ms: round3(lastDeliveryAt - publishedAt),
      per_second: perSecond,
    },
    latency: hist.summary(),
    per_event: {
      fastest_client: first.summary(),
      spread_to_slowest: spread.summary(),
      worst_events: worst,
    },
    negative_latency_samples: hist.negative,
    checks: {
      lost: sum('lost'),
      duplicates: sum('duplicates'),
      out_of_order: sum('outOfOrder'),
      offset_regressions: sum('offsetRegressions'),
      foreign_events: sum('foreign'),
      stale_events: sum('stale'),
      error_frames: sum('errorFrames'),
      gap_frames: sum('gapFrames'),
      unexpected_closes: sum('unexpectedCloses'),
      clients_missing_events: sum('clientsMissingEvents'),
    },
    first_close: (results.find((r) => r.firstClose) || {}).firstClose || null,
    load_client: {
      cpu_s: round3(sum('cpuS') + (selfCpuS() - coordCpu0)),
      cpu_us_per_delivery: round3(((sum('cpuS') + (selfCpuS() - coordCpu0)) * 1e6) / Math.max(1, deliveries)),
      loop_delay_p99_ms: round3(Math.max(...results.map((r) => r.loopDelayP99Ms))),
      loop_delay_max_ms: round3(Math.max(...results.map((r) => r.loopDelayMaxMs))),
    },
    server: serverBefore && serverAfter ? {
      cpu_s: round3(serverAfter.cpuS - serverBefore.cpuS),
      cpu_cores_avg: round3((serverAfter.cpuS - serverBefore.cpuS) / ((nowMs() - measureAt) / 1000)),
      cpu_us_per_delivery: round3(((serverAfter.cpuS - serverBefore.cpuS) * 1e6) / Math.max(1, deliveries)),
      rss_mib_end: mib(serverAfter.rssBytes),
      rss_mib_peak_window: mib(server.peakRssBytes),
      rss_mib_peak_process: mib(serverAfter.hwmBytes),
      threads: serverAfter.threads,
    } : null,
  };
  result.server_counters = counterDelta(countersBefore, countersAfter);
  result.machine_cpu = machineShare(machineBefore, machineAfter,
    (result.load_client.cpu_s || 0) + (result.server ? result.server.cpu_s : 0));
  result.ok = Object.entries(result.checks).every(([k, v]) => v === 0 || k === 'stale_events') && p.httpErrors === 0;
  return result;
}

function printReport(r) {
  const l = r.latency;
  const c = r.checks;
  console.log(`fan-out: ${r.params.clients} ${r.params.protocol} clients × ${r.params.rate} ev/s × ${r.params.duration_s} s (${r.params.procs} client process(es))`);
  console.log(`  published        ${r.published.events} events in ${r.published.posts} POSTs (${r.published.batched_posts} batched), http errors ${r.published.http_errors}; commit p50 ${r.published.commit.p50_ms} ms p99 ${r.published.commit.p99_ms} ms`);
  console.log(`  latency          p50 ${l.p50_ms} ms   p99 ${l.p99_ms} ms   p99.9 ${l.p999_ms} ms   max ${l.max_ms} ms   (${l.samples} samples)`);
  const pe = r.per_event;
  console.log(`  per event        fastest client p50 ${pe.fastest_client.p50_ms} p99 ${pe.fastest_client.p99_ms} max ${pe.fastest_client.max_ms} ms; spread to the slowest p50 ${pe.spread_to_slowest.p50_ms} p99 ${pe.spread_to_slowest.p99_ms} max ${pe.spread_to_slowest.max_ms} ms`);
  console.log(`  worst events     ${pe.worst_events.slice(0, 4).map((w) => `#${w.seq} at ${w.at_s}s: commit ${w.commit_ms}, fastest ${w.fastest_ms}, slowest ${w.slowest_ms} ms`).join('; ')}`);
  console.log(`  deliveries       ${r.delivered.deliveries} of ${r.delivered.expected}; ${r.delivered.per_s}/s (nominal ${r.delivered.nominal_per_s}/s)`);
  console.log(`  checks           lost ${c.lost} (missing after the drain timeout)  duplicates ${c.duplicates}  out-of-order ${c.out_of_order}  offset regressions ${c.offset_regressions}  unexpected closes ${c.unexpected_closes}  error frames ${c.error_frames}`);
  console.log(`  load client      ${r.load_client.cpu_s} CPU s (${r.load_client.cpu_us_per_delivery} µs per delivery); event-loop delay p99 ${r.load_client.loop_delay_p99_ms} ms max ${r.load_client.loop_delay_max_ms} ms`);
  if (r.server) console.log(`  server           ${r.server.cpu_s} CPU s (${r.server.cpu_cores_avg} cores avg, ${r.server.cpu_us_per_delivery} µs per delivery); RSS end ${r.server.rss_mib_end} MiB, peak ${r.server.rss_mib_peak_process} MiB; ${r.server.threads} threads`);
  const k = r.server_counters;
  if (k) console.log(`  gateway counters deliveries ${k.deliveries_total || 0}, sessions fell behind ${k.sessions_fell_behind_total || 0}, replayed from log ${k.replayed_events_total || 0}, slow-client closes ${k.slow_client_disconnects_total || 0}`);
  if (r.machine_cpu) console.log(`  machine          ${r.machine_cpu.busy_cores} cores busy on average, of which other processes ${r.machine_cpu.other_cores} (steal ${r.machine_cpu.steal_cores})`);
  console.log(`  result           ${r.ok ? 'OK' : 'FAILED'}`);
}

function printSaturation(r) {
  console.log(`saturation: ${r.params.clients} ${r.params.protocol} clients, rounds of ${r.params.duration_s} s, limit p99 ${r.params.p99_limit_ms} ms`);
  for (const x of r.rounds) {
    console.log(`  ${String(x.rate).padStart(6)} ev/s  ${String(x.per_s).padStart(8)} deliveries/s (nominal ${x.nominal_per_s})  p50 ${x.latency.p50_ms} p99 ${x.latency.p99_ms} max ${x.latency.max_ms} ms  lost ${x.checks.lost} dup ${x.checks.duplicates}  server ${x.server ? x.server.cpu_s : '?'} CPU s  other ${x.machine_cpu ? x.machine_cpu.other_cores : '?'} cores`);
  }
  console.log(`  sustained        ${r.sustained_per_s} deliveries/s at ${r.sustained_rate} ev/s (p99 ${r.sustained_p99_ms} ms)`);
}

module.exports = { coordinator, startClients, closeClients, SPEC };

if (process.argv.includes('--child')) child();
else if (require.main === module) {
  coordinator(parseArgs(process.argv.slice(2), SPEC, USAGE)).then(
    (r) => process.exit(r.ok ? 0 : 1),
    (e) => {
      console.error('[fanout] error: ' + (e.stack || e));
      process.exit(2);
    },
  );
}
