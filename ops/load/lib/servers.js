'use strict';
// The servers under test of the benchmark suite (bench.js), each started as its own process on
// 127.0.0.1 with a free port, and stopped (SIGTERM, then SIGKILL after 30 s) so no run leaves one
// behind:
//   tidings            the gateway jar via ops/bin/tidings (the one place of its JVM flags), a fresh
//                      data directory, generated credentials; clients on the native protocol
//   tidings-batch      the same gateway, native clients asking for batched messages (?batch=1)
//   tidings-sio        the same gateway, clients on its Socket.IO endpoint
//   tidings-sio-npm    the same, with the npm socket.io-client package (lib/npm-clients.js)
//   tidings-cable-npm  the same gateway, @rails/actioncable clients on /cable (NotificationsChannel → the room)
//   reference          socket.io@4 (server/src/test/node/socketio-reference-server.js), broadcast
//                      to a room, without connection state recovery
//   reference-npm      the same, with the npm socket.io-client package
//   reference-recovery the same with connectionStateRecovery (in memory)
//   reference-recovery-npm  the same, with the npm socket.io-client package: like Tidings' frames, each
//                      event carries its recovery offset as a last argument
//   bare               bench/…/BareBroadcastServer: Undertow broadcasting to a room, no log — the
//                      framework's ceiling on this machine
// Each started server: {name, protocol, pid, url, token, publishKey, log, resumable, heapBytes(), stop()}.

const { spawn, execFile } = require('child_process');
const fs = require('fs');
const http = require('http');
const path = require('path');
const crypto = require('crypto');
const { sleep } = require('./common');

const root = path.resolve(__dirname, '../../..');
const KINDS = {
  tidings: { kind: 'tidings', protocol: 'native', resumable: true },
  'tidings-batch': { kind: 'tidings', protocol: 'native-batch', resumable: true },
  'tidings-sio': { kind: 'tidings', protocol: 'socketio', resumable: true },
  'tidings-sio-npm': { kind: 'tidings', protocol: 'socket.io-client', resumable: false },
  'tidings-cable-npm': { kind: 'tidings', protocol: 'actioncable', resumable: false },
  reference: { kind: 'reference', protocol: 'socketio', resumable: false },
  'reference-npm': { kind: 'reference', protocol: 'socket.io-client', resumable: false },
  'reference-recovery': { kind: 'reference', protocol: 'socketio', resumable: true },
  'reference-recovery-npm': { kind: 'reference', protocol: 'socket.io-client', resumable: true },
  bare: { kind: 'bare', protocol: 'native', resumable: false },
};
const SERVER_NAMES = Object.keys(KINDS);

const rand = (n) => crypto.randomBytes(n).toString('hex');

function run(cmd, args, env) {
  return new Promise((resolve, reject) =>
    execFile(cmd, args, { env, maxBuffer: 1 << 24 }, (e, stdout, stderr) => (e ? reject(new Error(`${cmd} ${args.join(' ')}: ${e.message} ${stderr}`)) : resolve(stdout))),
  );
}

// Servers still running; killed if the suite exits early (an error, Ctrl-C, SIGTERM).
const running = new Set();
process.on('exit', () => running.forEach((p) => p.kill('SIGKILL')));
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => process.exit(130));

/** Spawns `cmd`, logs to `logFile`, resolves with {proc, port} once a line matching `re` (group 1 = port) appears. */
async function spawnListening(cmd, args, env, logFile, re) {
  const out = fs.openSync(logFile, 'w');
  const proc = spawn(cmd, args, { env, stdio: ['ignore', out, out] });
  fs.closeSync(out);
  running.add(proc);
  proc.on('exit', () => running.delete(proc));
  let exited = null;
  proc.on('exit', (code, signal) => (exited = { code, signal }));
  for (let i = 0; i < 1200; i++) {
    const m = fs.readFileSync(logFile, 'utf8').match(re);
    if (m) return { proc, port: Number(m[1]), exited: () => exited };
    if (exited) throw new Error(`${cmd} exited during start (${JSON.stringify(exited)}); see ${logFile}`);
    await sleep(100);
  }
  proc.kill('SIGKILL');
  throw new Error(`${cmd} did not report its port within 120 s; see ${logFile}`);
}

async function stopProcess(proc) {
  if (proc.exitCode !== null || proc.signalCode !== null) return { code: proc.exitCode, signal: proc.signalCode, killed: false };
  const done = new Promise((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
  proc.kill('SIGTERM');
  const t = setTimeout(() => proc.kill('SIGKILL'), 30000);
  const r = await done;
  clearTimeout(t);
  return { ...r, killed: r.signal === 'SIGKILL' };
}

/** Heap in use after a full GC of a JVM: `jcmd GC.run`, then the "used" of `jcmd GC.heap_info`. */
async function jvmHeapBytes(pid) {
  await run('jcmd', [String(pid), 'GC.run'], process.env);
  const info = await run('jcmd', [String(pid), 'GC.heap_info'], process.env);
  const m = info.match(/heap\s+total\s+\d+K, used (\d+)K/);
  return m ? Number(m[1]) * 1024 : null;
}

function getJson(url) {
  return new Promise((resolve, reject) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => (res.statusCode === 200 ? resolve(JSON.parse(body)) : reject(new Error(`${url}: ${res.statusCode}`))));
    }).on('error', reject);
  });
}

/**
 * Starts server `name` (one of SERVER_NAMES) with its output in `dir`.
 * @param o.durability  Tidings' durability mode (process_crash, power_loss)
 * @param o.javaOpts    extra JVM flags (the gateway and the bare server alike)
 */
async function startServer(name, dir, o = {}) {
  const k = KINDS[name];
  if (!k) throw new Error(`unknown server '${name}' (${SERVER_NAMES.join(', ')})`);
  fs.mkdirSync(dir, { recursive: true });
  const logFile = path.join(dir, `${name}.log`);
  const javaOpts = o.javaOpts || '';
  let started;
  let token = 'unused';
  let publishKey = 'unused';
  let dataDir = null;
  if (k.kind === 'tidings') {
    dataDir = path.join(dir, `${name}-data`);
    publishKey = `pub_bench_${rand(12)}`;
    const env = {
      ...process.env,
      TIDINGS_JAR: o.jar || path.join(root, 'server/target/tidings.jar'),
      TIDINGS_JAVA_OPTS: `-Xlog:gc:file=${path.join(dir, name + '-gc.log')}:uptime,level ${javaOpts}`,
      TIDINGS_JWT_SECRET: rand(32),
      TIDINGS_PUBLISH_KEYS: publishKey,
      TIDINGS_AUDIT_KEYS: `aud_bench_${rand(12)}`,
      TIDINGS_DURABILITY: o.durability || 'process_crash',
      TIDINGS_CABLE_CHANNELS: 'NotificationsChannel=loadtest', // the ActionCable clients' room: the token grants it
    };
    const launcher = path.join(root, 'ops/bin/tidings');
    started = await spawnListening(launcher, ['serve', '--host', '127.0.0.1', '--port', '0', '--data-dir', dataDir], env, logFile,
      /^tidings: listening on http:\/\/[^:]*:(\d+)/m);
    const out = await run(launcher, ['token', '--sub', 'load', '--room', 'loadtest', '--ttl', 'PT12H', '--data-dir', dataDir], { ...env, TIDINGS_JAVA_OPTS: '' });
    token = out.trim().split('\n').pop();
  } else if (k.kind === 'reference') {
    const script = path.join(root, 'server/src/test/node/socketio-reference-server.js');
    const args = ['--expose-gc', script, '0'];
    if (!k.resumable) args.push('--no-recovery');
    started = await spawnListening(process.execPath, args, process.env, logFile, /reference socket\.io server on (\d+)/);
  } else {
    const jar = path.join(root, 'bench/target/benchmarks.jar');
    const args = [...javaOpts.split(' ').filter(Boolean), `-Xlog:gc:file=${path.join(dir, name + '-gc.log')}:uptime,level`,
      '-cp', jar, 'io.tidings.bench.gateway.BareBroadcastServer', '0'];
    started = await spawnListening('java', args, process.env, logFile, /^bare: listening on http:\/\/[^:]*:(\d+)/m);
  }
  const url = `http://127.0.0.1:${started.port}`;
  const pid = started.proc.pid; // ops/bin/tidings execs java: the same pid
  return {
    name,
    protocol: k.protocol,
    resumable: k.resumable,
    kind: k.kind,
    pid,
    url,
    token,
    publishKey,
    log: logFile,
    exited: started.exited,
    /** Heap in use after a full GC (JVM: jcmd; Node: V8 heapUsed after gc()). */
    async heapBytes() {
      if (k.kind === 'reference') return (await getJson(url + '/debug/memory')).heapUsed;
      return jvmHeapBytes(pid);
    },
    async stop() {
      const r = await stopProcess(started.proc);
      if (dataDir && !o.keepData) fs.rmSync(dataDir, { recursive: true, force: true });
      return r;
    },
  };
}

module.exports = { startServer, SERVER_NAMES };
