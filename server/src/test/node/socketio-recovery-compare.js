// Socket.IO connection state recovery: Tidings vs the reference socket.io@4 server, same scenario.
//
//   node socketio-recovery-compare.js [--target both|tidings|reference] [--clients 20] [--seconds 60]
//        [--rate 40] [--cut-min-ms 2000] [--cut-max-ms 5000] [--signal SIGKILL] [--json result.json]
//
// (ops/compat/socketio-recovery-compare.sh builds Tidings and runs this.) For each target:
//   1. start the server (Tidings: ./tidings serve on a fresh data dir; reference:
//      socketio-reference-server.js, socket.io@4 with connectionStateRecovery on);
//   2. connect N unmodified socket.io-client@4 clients (transports: ['websocket']); client i joins
//      teamspace room "teamspaceA" (every 5th) or model room "teamspaceA/m<i%4>". Like a real app,
//      a client joins again whenever a (re)connect was NOT recovered;
//   3. publish events at a steady rate (one at a time; a failed publish is retried with the same
//      idempotency id until accepted), while every client's WebSocket is terminated every
//      cut-min..cut-max ms (no close frame: a network cut); the clients reconnect on their own;
//   4. halfway through, kill the server process (SIGKILL by default) and start it again on the same
//      port (and, for Tidings, the same data dir);
//   5. stop cutting and publishing, let the clients settle, and count for each client the accepted
//      events of its room it received exactly once, missing, duplicated, out of order, and the
//      recovery latencies.
'use strict';
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const { io } = require('socket.io-client');

const args = parseArgs(process.argv.slice(2), {
  target: 'both', clients: 20, seconds: 60, rate: 40, 'cut-min-ms': 2000, 'cut-max-ms': 5000,
  signal: 'SIGKILL', json: '', root: path.resolve(__dirname, '../../../..'),
});
const SECRET = 'compare-secret-compare-secret-compare-secret-0123';
const PUBLISH_KEY = 'compare-publish-key';
const KINDS = ['newIssues', 'newComment', 'commentChanged', 'commentDeleted', 'modelStatusChanged', 'issueChanged', 'newModel'];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function parseArgs(argv, defaults) {
  const a = { ...defaults };
  for (let i = 0; i < argv.length; i += 2) {
    const k = argv[i].replace(/^--/, '');
    if (!(k in defaults)) throw new Error('unknown option --' + k);
    a[k] = typeof defaults[k] === 'number' ? Number(argv[i + 1]) : argv[i + 1];
  }
  return a;
}

function jwt(sub, rooms) {
  const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
  const body = b64({ alg: 'HS256' }) + '.' + b64({ sub, rooms, exp: Math.floor(Date.now() / 1000) + 3600 });
  return body + '.' + crypto.createHmac('sha256', SECRET).update(body).digest('base64url');
}

async function freePort() {
  const net = require('net');
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

async function waitReady(url, proc, what) {
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (proc.exitCode !== null) throw new Error(what + ' exited with ' + proc.exitCode);
    try {
      const r = await fetch(url);
      if (r.status === 200) return;
    } catch (e) { /* not up yet */ }
    await sleep(50);
  }
  throw new Error(what + ' not ready in 60 s');
}

/** A server process we can start, kill and start again on the same port. */
class Target {
  constructor(name, port, logFile) {
    this.name = name;
    this.port = port;
    this.url = `http://127.0.0.1:${port}`;
    this.log = fs.openSync(logFile, 'a');
  }

  async kill(signal) {
    const exited = new Promise((r) => this.proc.once('exit', r));
    this.proc.kill(signal);
    await exited;
  }
}

class Tidings extends Target {
  constructor(port, dir) {
    super('tidings', port, path.join(dir, 'tidings.log'));
    this.dataDir = path.join(dir, 'data');
  }

  async start() {
    this.proc = spawn(path.join(args.root, 'tidings'),
      ['serve', '--data-dir', this.dataDir, '--port', String(this.port), '--host', '127.0.0.1'], {
        env: { ...process.env, TIDINGS_JWT_SECRET: SECRET, TIDINGS_PUBLISH_KEYS: PUBLISH_KEY, TIDINGS_AUDIT_KEYS: 'compare-audit-key', TIDINGS_MIN_FREE_BYTES: '0' },
        stdio: ['ignore', this.log, this.log],
      });
    await waitReady(this.url + '/readyz', this.proc, 'tidings');
  }

  auth(sub, room) {
    return { token: jwt(sub, [room]) };
  }

  async publish(e) {
    const r = await fetch(this.url + '/v1/events', {
      method: 'POST', headers: { authorization: 'Bearer ' + PUBLISH_KEY, 'content-type': 'application/json' },
      body: JSON.stringify(e),
    });
    if (r.status !== 200) throw new Error('publish ' + r.status);
  }
}

class Reference extends Target {
  constructor(port, dir) {
    super('reference', port, path.join(dir, 'reference.log'));
  }

  async start() {
    this.proc = spawn(process.execPath, [path.join(__dirname, 'socketio-reference-server.js'), String(this.port)],
      { stdio: ['ignore', this.log, this.log] });
    await waitReady(this.url + '/healthz', this.proc, 'reference server');
  }

  auth() {
    return {};
  }

  async publish(e) {
    const r = await fetch(this.url + '/publish', { method: 'POST', body: JSON.stringify(e) });
    if (r.status !== 200) throw new Error('publish ' + r.status);
  }
}

function covers(subscribed, room) {
  return room === subscribed || room.startsWith(subscribed + '/');
}

function pct(values, p) {
  if (values.length === 0) return null;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}

async function run(target) {
  await target.start();
  const clients = [];
  for (let i = 0; i < args.clients; i++) {
    const room = i % 5 === 0 ? 'teamspaceA' : `teamspaceA/m${i % 4}`;
    const [account, model] = room.split('/');
    const c = {
      i, room, counts: new Map(), order: [], outOfOrder: 0, lastSeq: 0, unexpected: 0,
      connects: 0, recovered: 0, fresh: 0, cuts: [], cutAt: null, openAt: null, joined: null, connectLog: [],
    };
    c.joined = new Promise((resolve) => (c.onFirstJoin = resolve));
    const socket = io(target.url, {
      transports: ['websocket'], auth: target.auth('user' + i, room),
      reconnectionDelay: 500, reconnectionDelayMax: 2000, randomizationFactor: 0.5,
    });
    c.socket = socket;
    socket.io.on('open', () => (c.openAt = Date.now()));
    socket.on('connect', () => {
      const now = Date.now();
      c.connects++;
      c.connectLog.push({ at: now, recovered: socket.recovered });
      if (c.connects > 1) (socket.recovered ? c.recovered++ : c.fresh++);
      if (c.cutAt !== null) {
        c.cuts.push({ reconnectMs: now - c.cutAt, handshakeMs: now - c.openAt, recovered: socket.recovered, cutAt: c.cutAt, connectAt: now, restart: c.cutByRestart });
        c.cutAt = null;
        c.cutByRestart = false;
      }
      if (!socket.recovered) {
        // what an app does when the state was not recovered: join its room again
        socket.emit('join', model === undefined ? { account } : { account, model }, () => c.onFirstJoin());
      }
    });
    socket.on('disconnect', () => {
      if (c.cutAt === null) {
        c.cutAt = Date.now();
        c.cutByRestart = true; // not cut by us: the server went away
      }
    });
    socket.onAny((name, data) => {
      if (!data || typeof data.seq !== 'number') return;
      const seq = data.seq;
      c.counts.set(seq, (c.counts.get(seq) || 0) + 1);
      c.arrivals = c.arrivals || new Map();
      if (!c.arrivals.has(seq)) c.arrivals.set(seq, Date.now());
      if (seq < c.lastSeq) c.outOfOrder++;
      c.lastSeq = Math.max(c.lastSeq, seq);
    });
    clients.push(c);
  }
  await Promise.all(clients.map((c) => c.joined));

  const published = [];
  const startedAt = Date.now();
  const stopAt = startedAt + args.seconds * 1000;
  let restart = null;
  let publishing = true;
  let failedPublishes = 0;
  const publisher = (async () => {
    const interval = 1000 / args.rate;
    for (let seq = 1; publishing && Date.now() < stopAt; seq++) {
      const due = startedAt + seq * interval;
      if (due > Date.now()) await sleep(due - Date.now());
      const room = seq % 10 === 0 ? 'teamspaceA' : `teamspaceA/m${seq % 4}`;
      const e = { room, type: KINDS[seq % KINDS.length], data: { seq }, id: `cmp-${seq}` };
      for (;;) {
        try {
          await target.publish(e);
          published.push({ seq, room, ackAt: Date.now() });
          break;
        } catch (err) {
          failedPublishes++;
          await sleep(100);
        }
      }
    }
  })();

  let cutting = true;
  const cutters = clients.map((c) => (async () => {
    while (cutting) {
      await sleep(args['cut-min-ms'] + Math.random() * (args['cut-max-ms'] - args['cut-min-ms']));
      if (!cutting) break;
      const ws = c.socket.io.engine && c.socket.io.engine.transport && c.socket.io.engine.transport.ws;
      if (c.socket.connected && ws && c.cutAt === null) {
        c.cutAt = Date.now();
        c.cutByRestart = false;
        ws.terminate();
      }
    }
  })());

  await sleep((args.seconds * 1000) / 2);
  const killAt = Date.now();
  await target.kill(args.signal);
  const exitAt = Date.now();
  await target.start();
  restart = { killAt, exitAt, upMs: Date.now() - killAt };

  await publisher;
  cutting = false;
  await Promise.all(cutters);
  // settle: until every client is connected and has what it is due, or 15 s
  const settleUntil = Date.now() + 15_000;
  const due = (c) => published.filter((e) => covers(c.room, e.room));
  while (Date.now() < settleUntil) {
    if (clients.every((c) => c.socket.connected && due(c).every((e) => c.counts.has(e.seq)))) break;
    await sleep(200);
  }

  const perClient = clients.map((c) => {
    const expected = due(c);
    const expectedSeqs = new Set(expected.map((e) => e.seq));
    let once = 0, missing = 0, duplicated = 0;
    for (const e of expected) {
      const n = c.counts.get(e.seq) || 0;
      if (n === 1) once++;
      else if (n === 0) missing++;
      else duplicated++;
    }
    for (const seq of c.counts.keys()) if (!expectedSeqs.has(seq)) c.unexpected++;
    // replay: for each recovered reconnect, how long after CONNECT the last event accepted during the
    // outage arrived (0 if it came with or before CONNECT: the reference sends replays first)
    const catchUps = [];
    for (const cut of c.cuts.filter((x) => x.recovered)) {
      const missed = expected.filter((e) => e.ackAt >= cut.cutAt && e.ackAt < cut.connectAt && c.arrivals && c.arrivals.has(e.seq));
      if (missed.length) catchUps.push(Math.max(0, Math.max(...missed.map((e) => c.arrivals.get(e.seq))) - cut.connectAt));
    }
    return {
      client: c.i, room: c.room, expected: expected.length, exactlyOnce: once, missing, duplicated,
      outOfOrder: c.outOfOrder, unexpected: c.unexpected, share: expected.length ? once / expected.length : 1,
      reconnects: c.connects - 1, recovered: c.recovered, fresh: c.fresh, cuts: c.cuts, catchUps,
      // the first connect to the restarted server
      afterRestart: (({ at, recovered }) => ({ ms: at - restart.killAt, recovered }))(c.connectLog.find((x) => x.at > restart.exitAt)),
    };
  });
  for (const c of clients) c.socket.disconnect();
  await target.kill('SIGTERM');

  const allCuts = perClient.flatMap((p) => p.cuts);
  const byCut = allCuts.filter((x) => !x.restart);
  const shares = perClient.map((p) => p.share);
  return {
    target: target.name,
    published: published.length,
    failedPublishAttempts: failedPublishes,
    restart,
    clients: perClient.length,
    shareExactlyOnce: { min: Math.min(...shares), mean: shares.reduce((a, b) => a + b, 0) / shares.length },
    clientsAt100: perClient.filter((p) => p.share === 1).length,
    totals: ['expected', 'exactlyOnce', 'missing', 'duplicated', 'outOfOrder', 'unexpected']
      .reduce((o, k) => ({ ...o, [k]: perClient.reduce((s, p) => s + p[k], 0) }), {}),
    // cuts we made (not the restart): reconnect = cut -> connect event; handshake = transport open -> connect event
    cuts: {
      count: byCut.length, recovered: byCut.filter((x) => x.recovered).length,
      reconnectMs: { p50: pct(byCut.map((x) => x.reconnectMs), 50), p95: pct(byCut.map((x) => x.reconnectMs), 95) },
      handshakeMs: { p50: pct(byCut.map((x) => x.handshakeMs), 50), p95: pct(byCut.map((x) => x.handshakeMs), 95) },
    },
    restartReconnects: {
      count: perClient.length, recovered: perClient.filter((p) => p.afterRestart.recovered).length,
      reconnectMs: { p50: pct(perClient.map((p) => p.afterRestart.ms), 50), p95: pct(perClient.map((p) => p.afterRestart.ms), 95) },
    },
    catchUpMs: { p50: pct(perClient.flatMap((p) => p.catchUps), 50), p95: pct(perClient.flatMap((p) => p.catchUps), 95) },
    perClient: perClient.map(({ cuts, catchUps, ...rest }) => rest),
  };
}

function report(r) {
  const f = (x) => (x === null ? '-' : String(x));
  console.log(`\n== ${r.target}: ${r.published} events accepted, ${r.clients} clients, server killed (${args.signal}) and back after ${r.restart.upMs} ms`);
  console.log(`   events delivered exactly once: min ${(100 * r.shareExactlyOnce.min).toFixed(2)}% / mean ${(100 * r.shareExactlyOnce.mean).toFixed(2)}% per client; ${r.clientsAt100}/${r.clients} clients at 100%`);
  console.log(`   totals: ${JSON.stringify(r.totals)}`);
  console.log(`   cuts: ${r.cuts.count}, recovered ${r.cuts.recovered}; reconnect p50 ${f(r.cuts.reconnectMs.p50)} ms p95 ${f(r.cuts.reconnectMs.p95)} ms; CONNECT handshake p50 ${f(r.cuts.handshakeMs.p50)} ms p95 ${f(r.cuts.handshakeMs.p95)} ms`);
  console.log(`   restart: ${r.restartReconnects.recovered}/${r.restartReconnects.count} clients recovered on their first connect to the new process; kill -> that connect p50 ${f(r.restartReconnects.reconnectMs.p50)} ms p95 ${f(r.restartReconnects.reconnectMs.p95)} ms`);
  console.log(`   events published during an outage, all delivered after a recovered reconnect: p50 ${f(r.catchUpMs.p50)} ms p95 ${f(r.catchUpMs.p95)} ms after CONNECT`);
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sio-compare-'));
  console.log(`scenario: ${args.clients} clients, ${args.seconds} s, ${args.rate} events/s, cuts every ${args['cut-min-ms']}-${args['cut-max-ms']} ms, restart at ${args.seconds / 2} s (${args.signal}); logs in ${dir}`);
  const results = [];
  for (const name of args.target === 'both' ? ['reference', 'tidings'] : [args.target]) {
    const port = await freePort();
    const target = name === 'tidings' ? new Tidings(port, dir) : new Reference(port, dir);
    const r = await run(target);
    report(r);
    results.push(r);
  }
  if (args.json) fs.writeFileSync(args.json, JSON.stringify({ args, node: process.version, results }, null, 2));
  process.exit(0);
})().catch((e) => {
  console.error(e);
  process.exit(1);
});
