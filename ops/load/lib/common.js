'use strict';
const http = require('http');
const fs = require('fs');
const { performance } = require('perf_hooks');

/**
 * Wall-clock time in ms since the Unix epoch with sub-ms precision. Every process derives it the
 * same way (its wall-clock start time, read once in µs, plus the monotonic clock since), so
 * timestamps taken in the publisher and in the subscriber children are comparable to a few µs.
 */
function nowMs() {
  return performance.timeOrigin + performance.now();
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** The index part of an offset token `<epoch>-<index>` as a Number (exact below 2^53, see docs/decisions.md). */
function offsetIndex(token) {
  return Number(token.slice(token.lastIndexOf('-') + 1));
}

/**
 * POST /v1/events over one keep-alive connection. Resolves with {status, body, ms}; rejects on a
 * transport error. Non-2xx answers are returned, not thrown: callers count them as errors.
 */
class Publisher {
  constructor(baseUrl, publishKey, { sockets = 1 } = {}) {
    this.url = new URL('/v1/events', baseUrl);
    this.key = publishKey;
    this.agent = new http.Agent({ keepAlive: true, maxSockets: sockets });
  }

  /**
   * POSTs once; if the connection was reset before any answer (a keep-alive connection the server
   * dropped as the request went out), once more on a new connection. `retries` counts those: a
   * retried event the server had in fact committed shows up as a duplicate in the checks.
   */
  async post(body, contentType = 'application/json') {
    try {
      return await this._post(body, contentType);
    } catch (e) {
      if (e.code !== 'ECONNRESET' && e.code !== 'EPIPE') throw e;
      this.retries = (this.retries || 0) + 1;
      return this._post(body, contentType);
    }
  }

  _post(body, contentType) {
    const buf = Buffer.isBuffer(body) ? body : Buffer.from(body);
    const started = nowMs();
    return new Promise((resolve, reject) => {
      const req = http.request(
        this.url,
        {
          method: 'POST',
          agent: this.agent,
          headers: {
            authorization: 'Bearer ' + this.key,
            'content-type': contentType,
            'content-length': buf.length,
          },
        },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () =>
            resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString('utf8'), ms: nowMs() - started }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(buf);
    });
  }

  close() {
    this.agent.destroy();
  }
}

/**
 * Samples a local process (the gateway) from /proc: CPU seconds (user+system) and resident memory.
 * Linux only; silently inactive when the pid is missing or /proc is not readable.
 */
class ProcSampler {
  constructor(pid) {
    this.pid = pid;
    this.ticks = 100; // USER_HZ: 100 on every Linux we run on (getconf CLK_TCK)
    this.peakRssBytes = 0;
    this.timer = null;
  }

  get active() {
    return !!this.pid && fs.existsSync(`/proc/${this.pid}/stat`);
  }

  /** {cpuS, rssBytes, hwmBytes, threads} or null. */
  read() {
    if (!this.pid) return null;
    try {
      const stat = fs.readFileSync(`/proc/${this.pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      const cpuS = (Number(fields[11]) + Number(fields[12])) / this.ticks; // utime, stime (fields 14, 15)
      const status = fs.readFileSync(`/proc/${this.pid}/status`, 'utf8');
      const kb = (name) => {
        const m = status.match(new RegExp('^' + name + ':\\s+(\\d+) kB', 'm'));
        return m ? Number(m[1]) * 1024 : 0;
      };
      const threads = Number((status.match(/^Threads:\s+(\d+)/m) || [0, 0])[1]);
      const s = { cpuS, rssBytes: kb('VmRSS'), hwmBytes: kb('VmHWM'), threads };
      if (s.rssBytes > this.peakRssBytes) this.peakRssBytes = s.rssBytes;
      return s;
    } catch {
      return null;
    }
  }

  /** Starts sampling every `ms` so the peak RSS of a window is known. */
  start(ms = 250) {
    this.peakRssBytes = 0;
    this.read();
    this.timer = setInterval(() => this.read(), ms);
    this.timer.unref();
    return this;
  }

  stop() {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
    this.read();
  }
}

/**
 * Whole-machine CPU from /proc/stat: busy core-seconds (everything but idle and iowait) and total
 * core-seconds elapsed. Subtracting the gateway's and the load client's own CPU from `busyS` tells
 * how much CPU other processes on the machine took during a run: the figures are only comparable
 * when that is near 0.
 */
function machineCpu() {
  try {
    const line = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0];
    const v = line.trim().split(/\s+/).slice(1).map(Number); // user nice system idle iowait irq softirq steal
    const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
    const idle = v[3] + v[4];
    return { busyS: (total - idle) / 100, totalS: total / 100, stealS: (v[7] || 0) / 100 };
  } catch {
    return null;
  }
}

/** {busy_cores, other_cores, steal_cores} averaged over the window between two machineCpu() samples. */
function machineShare(before, after, ownCpuS) {
  if (!before || !after) return null;
  const cores = (after.totalS - before.totalS) / require('os').cpus().length;
  const wall = cores > 0 ? cores : 1; // elapsed seconds
  const busy = (after.busyS - before.busyS) / wall;
  return {
    busy_cores: Math.round(busy * 100) / 100,
    other_cores: Math.round(Math.max(0, busy - ownCpuS / wall) * 100) / 100,
    steal_cores: Math.round(((after.stealS - before.stealS) / wall) * 100) / 100,
  };
}

/**
 * The gateway's counters from GET /metrics (Prometheus text), summed over labels: {name: value}.
 * Resolves to null if the gateway has no /metrics. Used to report what the hub did during a run
 * (deliveries, sessions that fell behind and were served from the log, slow-client closes).
 */
function scrapeCounters(baseUrl) {
  return new Promise((resolve) => {
    const req = http.get(new URL('/metrics', baseUrl), (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if (res.statusCode !== 200) return resolve(null);
        const out = {};
        for (const line of body.split('\n')) {
          const m = line.match(/^(tidings_[a-z_]+_total)(?:\{[^}]*\})? ([0-9.eE+-]+)$/);
          if (m) out[m[1]] = (out[m[1]] || 0) + Number(m[2]);
        }
        resolve(out);
      });
    });
    req.on('error', () => resolve(null));
    req.setTimeout(5000, () => req.destroy());
  });
}

/** after − before for every counter in `after`. */
function counterDelta(before, after) {
  if (!before || !after) return null;
  const d = {};
  for (const [k, v] of Object.entries(after)) d[k.replace(/^tidings_/, '')] = Math.round(v - (before[k] || 0));
  return d;
}

/** CPU seconds used by this process (user+system). */
function selfCpuS() {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

const mib = (bytes) => Math.round((bytes / 1048576) * 10) / 10;

/** Writes `result` as pretty JSON to `file` (if given) and returns it. */
function writeResult(file, result) {
  if (file) fs.writeFileSync(file, JSON.stringify(result, null, 2) + '\n');
  return result;
}

module.exports = { nowMs, sleep, offsetIndex, Publisher, ProcSampler, machineCpu, machineShare, scrapeCounters, counterDelta, selfCpuS, mib, writeResult };
