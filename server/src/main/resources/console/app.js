// Tidings console: plain ES module, no build step, talks only to the gateway that served it.
// Event data is only ever put into the page as text (textContent), never as HTML.
const $ = (id) => document.getElementById(id);
const KEY = 'tidings.console.key';
const TAIL_WINDOW = 200;   // newest events kept on the live tail page
const REPLAY_PAGE = 100;   // events per replay page
const CONN_PAGE = 50;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let me = null;

class ApiFailure extends Error {
  constructor(status, message) { super(message); this.status = status; }
}

async function api(path, options = {}) {
  const res = await fetch(path, {
    ...options,
    headers: { ...(options.headers || {}), Authorization: 'Bearer ' + sessionStorage.getItem(KEY) },
  });
  if (!res.ok) {
    let message = res.status + ' ' + res.statusText;
    try { message = (await res.json()).message || message; } catch { /* not JSON */ }
    throw new ApiFailure(res.status, message);
  }
  return res;
}

/** Calls onEvent for each NDJSON line of the response as it streams in; resolves with the count. */
async function readNdjson(res, onEvent) {
  const reader = res.body.getReader();
  const decoder = new TextDecoder();
  let buffered = '';
  let n = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    buffered += decoder.decode(value, { stream: true });
    let nl;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line) { onEvent(JSON.parse(line)); n++; }
    }
  }
  return n;
}

function el(tag, text, cls) {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = String(text);
  if (cls) e.className = cls;
  return e;
}

/** One event as a list item: a text summary, a JSON view and a copy-offset button. */
function eventItem(e) {
  const li = el('li');
  li.dataset.offset = e.offset;
  li.append(el('span', `${e.offset}  ${e.time}  ${e.type}  [${(e.rooms || [e.room]).join(', ')}]  `, 'summary'));
  const data = el('span', JSON.stringify(e.data), 'data');
  li.append(data);
  const show = el('button', 'JSON');
  const copy = el('button', 'copy offset');
  const pre = el('pre', JSON.stringify(e, null, 2));
  pre.hidden = true;
  show.addEventListener('click', () => { pre.hidden = !pre.hidden; });
  copy.addEventListener('click', async () => {
    try { await navigator.clipboard.writeText(e.offset); copy.textContent = 'copied'; } catch { copy.textContent = e.offset; }
  });
  li.append(' ', show, ' ', copy, pre);
  return li;
}

// ---- sign-in and navigation ----------------------------------------------------------------

async function signIn(key) {
  sessionStorage.setItem(KEY, key);
  try {
    me = await (await api('/console/api/whoami')).json();
  } catch (e) {
    sessionStorage.removeItem(KEY);
    me = null;
    throw e;
  }
  $('who').textContent = `key ${me.name}` + (me.rooms.length ? ` (rooms ${me.rooms.join(', ')})` : ' (all rooms)');
  $('nav').hidden = false;
  $('signout').hidden = false;
  $('nav-publish').hidden = !me.scopes.includes('publish');
}

function show() {
  const page = me ? (location.hash.slice(1) || 'overview') : 'signin';
  for (const s of document.querySelectorAll('main > section')) s.hidden = s.id !== 'page-' + page;
  document.body.dataset.page = page;
  if (page === 'overview') overview.start(); else overview.stop();
  if (page === 'connections') connections.load();
}

$('signin-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  $('signin-error').textContent = '';
  try {
    await signIn($('signin-key').value);
    $('signin-key').value = '';
    show();
  } catch (e) {
    $('signin-error').textContent = e.status === 401 ? 'That key is not valid.'
      : e.status === 403 ? 'That key may not audit: sign in with an audit key.' : 'Sign-in failed: ' + e.message;
  }
});
$('signout').addEventListener('click', () => { sessionStorage.removeItem(KEY); location.hash = ''; location.reload(); });
window.addEventListener('hashchange', show);

// ---- overview -------------------------------------------------------------------------------

const overview = {
  timer: null,
  samples: [],   // {t, committed, delivered}
  start() { if (!this.timer) { this.refresh(); this.timer = setInterval(() => this.refresh(), 2000); } },
  stop() { clearInterval(this.timer); this.timer = null; },
  async refresh() {
    let o;
    try { o = await (await api('/console/api/overview')).json(); } catch (e) { return; }
    const m = o.metrics;
    const secs = (s) => (s > 0 ? new Date(s * 1000).toISOString() : '—');
    const rows = [
      ['node', o.node], ['epoch', o.epoch], ['head', o.head],
      ['head offset', m.tidings_log_head_offset], ['first retained offset', m.tidings_log_first_offset],
      ['first retained event time', secs(m.tidings_log_first_event_timestamp_seconds)],
      ['newest event time', secs(m.tidings_log_head_event_timestamp_seconds)],
      ['events retained', m.tidings_log_events], ['log bytes', m.tidings_log_bytes], ['log files', m.tidings_log_files],
      ['retention max age (s)', m.tidings_log_retention_max_age_seconds], ['retention max bytes (0 = none)', m.tidings_log_retention_max_bytes],
      ['disk free bytes', m.tidings_log_disk_free_bytes], ['disk minimum free bytes', m.tidings_log_disk_min_free_bytes],
      ['log writable', m.tidings_log_writable ? 'yes' : 'NO'],
      ['committed events (total)', m['tidings_log_appended_events_total{outcome="committed"}']],
      ['deliveries (total)', m.tidings_deliveries_total],
      ...Object.entries(o.connections).map(([p, n]) => ['connections ' + p, n]),
      ['subscriptions', m.tidings_subscriptions], ['sessions catching up', m.tidings_sessions_catching_up],
      ['slow-client disconnects (total)', m.tidings_slow_client_disconnects_total],
      ['tail repair at start-up', o.tailRepair || 'none'],
    ];
    const body = $('overview-table').tBodies[0];
    body.replaceChildren(...rows.map(([k, v]) => {
      const tr = el('tr');
      tr.append(el('th', k), el('td', v));
      tr.dataset.key = k;
      return tr;
    }));
    this.samples.push({ t: o.timeMillis, committed: m['tidings_log_appended_events_total{outcome="committed"}'], delivered: m.tidings_deliveries_total });
    if (this.samples.length > 151) this.samples.shift();
    this.draw();
  },
  draw() {
    const c = $('rate-chart'), g = c.getContext('2d');
    g.clearRect(0, 0, c.width, c.height);
    const rates = [];
    for (let i = 1; i < this.samples.length; i++) {
      const a = this.samples[i - 1], b = this.samples[i], dt = (b.t - a.t) / 1000 || 1;
      rates.push([(b.committed - a.committed) / dt, (b.delivered - a.delivered) / dt]);
    }
    const max = Math.max(1, ...rates.flat());
    [['#1f77b4', 0], ['#d62728', 1]].forEach(([color, k]) => {
      g.strokeStyle = color;
      g.beginPath();
      rates.forEach((r, i) => g.lineTo((i / 150) * c.width, c.height - (r[k] / max) * (c.height - 10)));
      g.stroke();
    });
    g.fillStyle = '#555';
    g.fillText(`max ${max.toFixed(1)}/s`, 4, 12);
  },
};

// ---- live tail: follows the room through GET /v1/events?after=…, at the page's pace --------

const tail = {
  generation: 0, paused: false, after: null, arrivals: [],
  async run(gen, room, type) {
    const list = $('tail-events');
    while (gen === this.generation) {
      if (this.paused) { await sleep(200); continue; }
      let got = 0;
      const fresh = [];
      try {
        const q = new URLSearchParams({ room, after: this.after, limit: '2000' });
        const res = await api('/v1/events?' + q);
        got = await readNdjson(res, (e) => { this.after = e.offset; if (!type || e.type === type) fresh.push(e); });
        $('tail-status').textContent = 'following ' + room + ' after ' + this.after;
      } catch (e) {
        $('tail-status').textContent = 'error: ' + e.message;
        if (e.status === 410) this.after = (await (await api('/console/api/overview')).json()).head;
        await sleep(1000);
        continue;
      }
      if (gen !== this.generation) return;
      const now = Date.now();
      for (let i = 0; i < got; i++) this.arrivals.push(now);
      while (this.arrivals.length && this.arrivals[0] < now - 5000) this.arrivals.shift();
      $('tail-rate').textContent = (this.arrivals.length / 5).toFixed(1);
      // newest first, and never more than TAIL_WINDOW items however fast the room is
      const items = fresh.slice(-TAIL_WINDOW).map(eventItem).reverse();
      list.prepend(...items);
      while (list.childElementCount > TAIL_WINDOW) list.lastElementChild.remove();
      $('tail-window').textContent = list.childElementCount;
      if (got < 2000) await sleep(200);
    }
  },
};

$('tail-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  const gen = ++tail.generation;
  tail.paused = false;
  $('tail-pause').textContent = 'Pause';
  $('tail-events').replaceChildren();
  try {
    tail.after = (await (await api('/console/api/overview')).json()).head;
  } catch (e) { $('tail-status').textContent = 'error: ' + e.message; return; }
  tail.run(gen, $('tail-room').value.trim(), $('tail-type').value.trim());
});
$('tail-pause').addEventListener('click', () => {
  tail.paused = !tail.paused;   // the log keeps everything: resuming continues where it paused
  $('tail-pause').textContent = tail.paused ? 'Resume' : 'Pause';
  $('tail-status').textContent = tail.paused ? 'paused at ' + tail.after : 'following';
});

// ---- audit replay: one page at a time, streamed ----------------------------------------------

function replayQuery() {
  const q = new URLSearchParams();
  const room = $('replay-room').value.trim(), from = $('replay-from').value.trim();
  const to = $('replay-to').value.trim(), type = $('replay-type').value.trim();
  if (room) q.set('room', room);
  if (from) q.set(/^\d{4}-\d\d-\d\dT/.test(from) ? 'from' : 'after', from);
  if (to) q.set('to', to);
  if (type) q.set('type', type);
  return q;
}

const replay = {
  pages: [],  // the query of each page shown so far (to go back)
  async show(q) {
    const list = $('replay-events');
    const items = [];
    q.set('limit', String(REPLAY_PAGE + 1)); // one more tells whether there is a next page
    const offsets = [];
    const started = performance.now();
    try {
      await readNdjson(await api('/v1/events?' + q), (e) => { if (items.length < REPLAY_PAGE) items.push(eventItem(e)); offsets.push(e.offset); });
    } catch (e) { $('replay-status').textContent = 'error: ' + e.message; return; }
    list.replaceChildren(...items);
    this.next = offsets.length > REPLAY_PAGE ? offsets[REPLAY_PAGE - 1] : null;
    this.query = q;
    const ms = Math.round(performance.now() - started);
    $('replay-status').textContent = `page ${this.pages.length}: ${items.length} events` + (this.next ? '' : ' (end)') + ` in ${ms} ms`;
    document.body.dataset.replayPageMs = ms;
    $('replay-next').disabled = !this.next;
    $('replay-prev').disabled = this.pages.length <= 1;
  },
};
$('replay-form').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const q = replayQuery();
  replay.pages = [q];
  replay.show(new URLSearchParams(q));
});
$('replay-next').addEventListener('click', () => {
  const q = new URLSearchParams(replay.query);
  q.delete('from');
  q.set('after', replay.next);
  replay.pages.push(q);
  replay.show(new URLSearchParams(q));
});
$('replay-prev').addEventListener('click', () => {
  replay.pages.pop();
  replay.show(new URLSearchParams(replay.pages[replay.pages.length - 1]));
});
$('replay-download').addEventListener('click', async () => {
  // Streamed into a Blob chunk by chunk (the browser may keep large blobs on disk), never parsed whole.
  const status = $('download-status');
  status.textContent = 'downloading…';
  try {
    const reader = (await api('/v1/events?' + replayQuery())).body.getReader();
    const chunks = [];
    let bytes = 0;
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      bytes += value.length;
    }
    const a = el('a');
    a.href = URL.createObjectURL(new Blob(chunks, { type: 'application/x-ndjson' }));
    a.download = 'tidings-events.ndjson';
    document.body.append(a);
    a.click();
    a.remove();
    status.textContent = `downloaded ${bytes} bytes`;
  } catch (e) { status.textContent = 'error: ' + e.message; }
});

// ---- connections ----------------------------------------------------------------------------

const connections = {
  page: 0, total: 0,
  async load() {
    const q = new URLSearchParams({ q: $('conn-search').value.trim(), page: String(this.page), size: String(CONN_PAGE) });
    let o;
    try { o = await (await api('/console/api/connections?' + q)).json(); } catch (e) { $('conn-status').textContent = 'error: ' + e.message; return; }
    this.total = o.total;
    const pages = Math.max(1, Math.ceil(o.total / CONN_PAGE));
    $('conn-status').textContent = `${o.total} connections · page ${this.page + 1} of ${pages} · head ${o.head}`;
    $('conn-table').tBodies[0].replaceChildren(...o.connections.map((c) => {
      const tr = el('tr');
      tr.dataset.id = c.id;
      tr.dataset.sub = c.sub;
      const cut = el('button', 'disconnect');
      cut.addEventListener('click', () => this.disconnect(c.id, tr));
      const action = el('td');
      action.append(cut);
      tr.append(el('td', c.id), el('td', c.sub), el('td', c.protocol), el('td', c.rooms.join(', ')), el('td', c.address),
        el('td', c.connectedSince), el('td', c.lag), el('td', c.queuedBytes), action);
      return tr;
    }));
    document.body.dataset.connectionsLoaded = String(Date.now());
  },
  async disconnect(id, row) {
    const q = new URLSearchParams({ id: String(id), reason: 'operator request from the console' });
    try {
      await api('/console/api/disconnect?' + q, { method: 'POST' });
      row.classList.add('gone');
      row.cells[8].textContent = 'disconnected';
    } catch (e) { $('conn-status').textContent = 'error: ' + e.message; }
  },
};
$('conn-form').addEventListener('submit', (ev) => { ev.preventDefault(); connections.page = 0; connections.load(); });
$('conn-prev').addEventListener('click', () => { if (connections.page > 0) { connections.page--; connections.load(); } });
$('conn-next').addEventListener('click', () => {
  if ((connections.page + 1) * CONN_PAGE < connections.total) { connections.page++; connections.load(); }
});

// ---- publish (keys with the publish scope only) -----------------------------------------------

$('publish-form').addEventListener('submit', async (ev) => {
  ev.preventDefault();
  let data;
  try { data = JSON.parse($('publish-data').value); } catch { $('publish-status').textContent = 'data is not JSON'; return; }
  try {
    const res = await api('/v1/events', {
      method: 'POST', headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ room: $('publish-room').value.trim(), type: $('publish-type').value.trim(), data }),
    });
    const body = await res.json();
    $('publish-status').textContent = 'published at offset ' + (body.offset || JSON.stringify(body));
  } catch (e) { $('publish-status').textContent = 'error: ' + e.message; }
});

// ---- start ----------------------------------------------------------------------------------

(async () => {
  if (sessionStorage.getItem(KEY)) {
    try { await signIn(sessionStorage.getItem(KEY)); } catch { /* back to sign-in */ }
  }
  show();
  document.body.dataset.ready = 'true';
})();
