'use strict';
// Reconnect storm: N clients of a server are joined to a room and have each received one event;
// their connections are cut (no close handshake), M events are published while they are away, and
// then all of them reconnect at once and resume — the native protocol with `join … after` their
// last offset, Socket.IO by recovering its session (CONNECT with pid + offset). Measured: the time
// from the reconnect until every client has every missed event, events/s, and per client that it
// received exactly the M missed events (no loss, no duplicate, in order). Run by bench.js.

const { Subscriber } = require('./lib/subscriber');
const { wireOf } = require('./lib/wire');
const { publishBulk } = require('./lib/bulk');
const { nowMs, sleep, Publisher, ProcSampler, machineCpu, machineShare, selfCpuS, mib } = require('./lib/common');
const { round3 } = require('./lib/histogram');

async function waitFor(pred, timeoutMs, what) {
  const deadline = nowMs() + timeoutMs;
  while (!pred()) {
    if (nowMs() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(20);
  }
}

async function inBatches(items, concurrency, fn) {
  let next = 0;
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, async () => {
    while (next < items.length) await fn(items[next++]);
  }));
}

/**
 * @param srv  a started server (lib/servers.js)
 * @param o    {clients, behind, room, timeoutS, log, afterCatchUp}: afterCatchUp (optional) is awaited
 *             once every client caught up, before they close; what it returns is in the result
 */
async function storm(srv, o) {
  const log = o.log || (() => {});
  const wire = wireOf(srv.protocol);
  const url = wire.url(srv.url, srv.token);
  const subs = Array.from({ length: o.clients }, () => new Subscriber(url, o.room, { wire, token: srv.token }));
  const t0 = nowMs();
  await inBatches(subs, 200, async (s) => {
    await s.open();
    await s.join();
  });
  log(`${subs.length} clients live in ${((nowMs() - t0) / 1000).toFixed(1)} s`);

  const pub = new Publisher(srv.url, srv.publishKey);
  const primer = await pub.post(JSON.stringify({ room: o.room, type: 'load', data: { t: nowMs(), warmup: true } }));
  if (primer.status !== 200) throw new Error(`primer publish failed: ${primer.status} ${primer.body}`);
  await waitFor(() => subs.every((s) => s.warmup > 0), 30000, 'every client to receive the primer event');
  const resumeFrom = subs.map((s) => ({ pid: s.pid, offset: s.lastOffset }));
  for (const s of subs) s.terminate();
  await sleep(2000); // the server notices the cut connections (and, for Socket.IO, keeps their sessions)

  const published = await publishBulk(pub, { room: o.room, events: o.behind, batch: 100, concurrency: 1, log });
  pub.close();
  log(`published ${o.behind} events while the clients were away (${published.events_per_s}/s)`);
  for (const s of subs) s.reset(o.behind, null, null);

  const sampler = new ProcSampler(srv.pid);
  const server0 = sampler.read();
  const machine0 = machineCpu();
  const cpu0 = selfCpuS();
  sampler.start(100);
  const start = nowMs();
  let failedReconnects = 0;
  let firstFailure = null;
  let notRecovered = 0;
  await Promise.all(subs.map(async (s, i) => {
    try {
      s.recover = resumeFrom[i];
      const info = await s.open(60000);
      if (wire.name.startsWith('native')) await s.join(resumeFrom[i].offset);
      else if (!info.recovered) notRecovered++;
    } catch (e) {
      failedReconnects++;
      if (!firstFailure) firstFailure = String(e.message || e);
    }
  }));
  const reconnectedS = (nowMs() - start) / 1000;
  let timedOut = false;
  try {
    await waitFor(() => subs.every((s) => s.unique >= o.behind || s.closed), o.timeoutS * 1000, 'every client to catch up');
  } catch (e) {
    timedOut = true;
  }
  sampler.stop();
  const server1 = sampler.read();
  const machine1 = machineCpu();
  const clientCpu = selfCpuS() - cpu0;
  const caughtUp = subs.filter((s) => s.unique === o.behind);
  const lastAt = Math.max(...subs.map((s) => s.lastEventAt));
  const seconds = (lastAt - start) / 1000;
  const sum = (f) => subs.reduce((n, s) => n + f(s), 0);
  // optional: measure the server while every resumed client is still connected (ops/cluster/bench.js)
  let afterCatchUp;
  if (o.afterCatchUp) {
    try {
      afterCatchUp = await o.afterCatchUp();
    } catch (e) {
      afterCatchUp = { error: String(e.message || e) };
    }
  }
  for (const s of subs) s.close();
  const r = {
    scenario: 'storm',
    server: srv.name,
    params: { clients: o.clients, behind: o.behind, protocol: srv.protocol },
    reconnected_s: round3(reconnectedS),
    all_caught_up_s: round3(seconds),
    events_per_s: Math.round(sum((s) => s.unique) / seconds),
    clients_caught_up: caughtUp.length,
    checks: {
      failed_reconnects: failedReconnects,
      not_recovered: notRecovered,
      lost: sum((s) => s.lost),
      duplicates: sum((s) => s.duplicates),
      out_of_order: sum((s) => s.outOfOrder),
      offset_regressions: sum((s) => s.offsetRegressions),
      foreign_events: sum((s) => s.foreign),
      gap_frames: sum((s) => s.gaps.length),
      error_frames: sum((s) => s.errors.length),
      unexpected_closes: sum((s) => (s.unexpectedlyClosed ? 1 : 0)),
      timed_out: timedOut ? 1 : 0,
    },
    first_failure: firstFailure,
    load_client_cpu_s: round3(clientCpu),
    server_cpu_s: server0 && server1 ? round3(server1.cpuS - server0.cpuS) : null,
    server_rss_mib_peak: mib(sampler.peakRssBytes),
    machine_cpu: machineShare(machine0, machine1, clientCpu + (server0 && server1 ? server1.cpuS - server0.cpuS : 0)),
  };
  if (o.afterCatchUp) r.after_catch_up = afterCatchUp;
  r.ok = Object.values(r.checks).every((v) => v === 0) && caughtUp.length === o.clients;
  return r;
}

module.exports = { storm };
