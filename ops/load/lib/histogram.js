'use strict';
// A log-linear latency histogram (the HdrHistogram layout, simplified): values are recorded in
// microseconds; each power of two is split into SUB buckets, so a recorded value is off by at most
// 1/SUB (< 0.8 %). Fixed memory (a few KiB), O(1) record, and mergeable across processes by adding
// the counts, which is how the fan-out children report to the coordinator.

const SUB_BITS = 7;
const SUB = 1 << SUB_BITS; // 128 buckets per power of two
const MAX_POW = 40; // 2^40 µs ≈ 12.7 days: far beyond anything we measure
const SIZE = (MAX_POW - SUB_BITS + 1) * SUB;

function bucketOf(us) {
  if (us < SUB) return us; // exact below 128 µs
  const pow = 31 - Math.clz32(us); // floor(log2), us < 2^31 here
  const shift = pow - SUB_BITS;
  return (shift + 1) * SUB + ((us >>> shift) - SUB);
}

function lowerBound(bucket) {
  if (bucket < SUB) return bucket;
  const shift = Math.floor(bucket / SUB) - 1;
  return (SUB + (bucket % SUB)) * 2 ** shift;
}

function upperBound(bucket) {
  if (bucket < SUB) return bucket;
  const shift = Math.floor(bucket / SUB) - 1;
  return (SUB + (bucket % SUB) + 1) * 2 ** shift - 1;
}

class Histogram {
  constructor() {
    this.counts = new Float64Array(SIZE);
    this.n = 0;
    this.sum = 0;
    this.min = Infinity;
    this.max = -Infinity; // exact, in ms
    this.negative = 0; // samples below zero (clock trouble); recorded as 0
  }

  /** Records a latency given in milliseconds (fractional). */
  recordMs(ms) {
    if (ms < 0) {
      this.negative++;
      ms = 0;
    }
    let us = Math.round(ms * 1000);
    if (us > 2 ** 31 - 1) us = 2 ** 31 - 1;
    this.counts[bucketOf(us)]++;
    this.n++;
    this.sum += ms;
    if (ms < this.min) this.min = ms;
    if (ms > this.max) this.max = ms;
  }

  /** The value (ms) at or below which `p` percent of the samples lie (bucket midpoint, max for 100). */
  percentile(p) {
    if (this.n === 0) return NaN;
    if (p >= 100) return this.max;
    const rank = Math.max(1, Math.ceil((p / 100) * this.n));
    let seen = 0;
    for (let b = 0; b < SIZE; b++) {
      seen += this.counts[b];
      if (seen >= rank) {
        const mid = (lowerBound(b) + upperBound(b)) / 2 / 1000;
        return Math.min(Math.max(mid, this.min), this.max);
      }
    }
    return this.max;
  }

  mean() {
    return this.n === 0 ? NaN : this.sum / this.n;
  }

  /** A compact, JSON-safe form (only non-empty buckets) for sending between processes. */
  toJSON() {
    const buckets = [];
    for (let b = 0; b < SIZE; b++) if (this.counts[b] > 0) buckets.push([b, this.counts[b]]);
    return { n: this.n, sum: this.sum, min: this.min, max: this.max, negative: this.negative, buckets };
  }

  static fromJSON(o) {
    const h = new Histogram();
    h.add(o);
    return h;
  }

  /** Adds another histogram (or its JSON form) to this one. */
  add(o) {
    if (o instanceof Histogram) o = o.toJSON();
    if (!o || o.n === 0) return this;
    for (const [b, c] of o.buckets) this.counts[b] += c;
    this.n += o.n;
    this.sum += o.sum;
    this.negative += o.negative;
    if (o.min < this.min) this.min = o.min;
    if (o.max > this.max) this.max = o.max;
    return this;
  }

  summary() {
    return {
      samples: this.n,
      p50_ms: round3(this.percentile(50)),
      p90_ms: round3(this.percentile(90)),
      p99_ms: round3(this.percentile(99)),
      p999_ms: round3(this.percentile(99.9)),
      max_ms: round3(this.max),
      mean_ms: round3(this.mean()),
    };
  }
}

function round3(x) {
  return Number.isFinite(x) ? Math.round(x * 1000) / 1000 : null;
}

module.exports = { Histogram, round3 };
