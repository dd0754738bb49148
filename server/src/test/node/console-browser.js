// Drives the web console in Debian's headless Chromium (puppeteer-core, no downloaded browser).
// Args: <gateway base URL> <config JSON>. Prints "ok <case> …" per case and "done"; on a failure
// prints "fail <case>: …" and exits 1. Screenshots go to config.screenshots.
const chromium = require('./chromium');
const fs = require('fs');
const os = require('os');
const path = require('path');

const [base, configJson] = process.argv.slice(2);
const cfg = JSON.parse(configJson);
const origin = new URL(base).origin;
let current = 'launch';

function fail(message) {
  console.log(`fail ${current}: ${message}`);
  process.exit(1);
}
function check(condition, message) { if (!condition) fail(message); }
function ok(extra = '') { console.log(`ok ${current}${extra ? ' ' + extra : ''}`); }

async function metrics() {
  const text = await (await fetch(base + '/metrics')).text();
  const values = {};
  for (const line of text.split('\n')) {
    if (line.startsWith('#') || !line) continue;
    const sp = line.lastIndexOf(' ');
    values[line.slice(0, sp)] = Number(line.slice(sp + 1));
  }
  return values;
}

async function publish(body) {
  const res = await fetch(base + '/v1/events', {
    method: 'POST', headers: { Authorization: 'Bearer ' + cfg.publishKey, 'Content-Type': 'application/json' }, body,
  });
  check(res.ok, 'publish failed: ' + res.status);
  return res.json();
}

(async () => {
  const downloads = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-downloads-'));
  fs.mkdirSync(cfg.screenshots, { recursive: true });
  const chrome = await chromium.launch();
  const browser = chrome.browser;
  const offsite = [];
  let dialogs = 0;
  const watch = (page) => {
    page.on('request', (r) => {
      const u = r.url();
      if (!u.startsWith(origin + '/') && !u.startsWith('blob:' + origin) && !u.startsWith('data:')) offsite.push(u);
    });
    page.on('dialog', async (d) => { dialogs++; await d.dismiss(); });
    page.on('pageerror', (e) => console.error('page error: ' + e.message));
  };
  const shot = (page, name) => page.screenshot({ path: path.join(cfg.screenshots, name + '.png'), fullPage: false });
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    watch(page);
    const cdp = await page.createCDPSession();
    await cdp.send('Browser.setDownloadBehavior', { behavior: 'allow', downloadPath: downloads });

    current = 'headers';
    const first = await page.goto(base + '/console/', { waitUntil: 'load' });
    const h = first.headers();
    check(h['content-security-policy'].includes("default-src 'self'") && h['content-security-policy'].includes("frame-ancestors 'none'")
      && !h['content-security-policy'].includes('unsafe-inline'), 'CSP: ' + h['content-security-policy']);
    check(h['x-frame-options'] === 'DENY' && h['x-content-type-options'] === 'nosniff', JSON.stringify(h));
    const anonymous = await fetch(base + '/console/api/overview');
    check(anonymous.status === 401, 'overview without a key answered ' + anonymous.status);
    ok();

    current = 'signin-bad';
    await page.waitForSelector('body[data-ready="true"]');
    await shot(page, 'signin');
    await page.type('#signin-key', 'not-a-key-not-a-key');
    await page.click('#signin-form button');
    await page.waitForFunction(() => document.getElementById('signin-error').textContent.includes('not valid'), { timeout: 5000 });
    check(await page.$eval('#nav', (n) => n.hidden), 'navigation shown after a bad key');
    ok();

    current = 'signin-good';
    await page.$eval('#signin-key', (e) => { e.value = ''; });
    await page.type('#signin-key', cfg.consoleKey);
    await page.click('#signin-form button');
    await page.waitForSelector('#page-overview:not([hidden]) #overview-table tr', { timeout: 5000 });
    check(await page.evaluate(() => !document.cookie), 'a cookie was set');
    ok();

    current = 'overview';
    const shown = async () => page.$$eval('#overview-table tr', (rows) => Object.fromEntries(rows.map((r) => [r.dataset.key, r.cells[1].textContent])));
    const pairs = [['head offset', 'tidings_log_head_offset'], ['first retained offset', 'tidings_log_first_offset'],
      ['events retained', 'tidings_log_events'], ['log bytes', 'tidings_log_bytes'],
      ['connections native', 'tidings_connections{protocol="native",}'],
      ['committed events (total)', 'tidings_log_appended_events_total{outcome="committed",}'],
      ['subscriptions', 'tidings_subscriptions']];
    let mismatch = null;
    for (let attempt = 0; attempt < 5; attempt++) {
      const m = await metrics();
      const s = await shown();
      mismatch = pairs.find(([k, name]) => Number(s[k]) !== m[name]);
      if (!mismatch) break;
      mismatch = `${mismatch[0]}: page ${s[mismatch[0]]}, /metrics ${m[mismatch[1]]}`;
      await new Promise((r) => setTimeout(r, 2100)); // the page refreshes every 2 s
    }
    check(!mismatch, 'overview differs from /metrics: ' + mismatch);
    await new Promise((r) => setTimeout(r, 2100));
    await shot(page, 'overview');
    ok(`(${pairs.length} figures equal to /metrics)`);

    current = 'tail';
    await page.goto(base + '/console/#tail');
    await page.waitForSelector('#page-tail:not([hidden])');
    await page.type('#tail-room', 'live');
    await page.click('#tail-form button[type=submit]');
    await page.waitForFunction(() => document.getElementById('tail-status').textContent.startsWith('following'), { timeout: 5000 });
    const sent = Date.now();
    const { offset } = await publish(JSON.stringify({ room: 'live/one', type: 'tail.test', data: { hello: 'tail' } }));
    await page.waitForSelector(`#tail-events li[data-offset="${offset}"]`, { timeout: 5000 });
    const tailMs = Date.now() - sent;
    check(tailMs < 1000, `the event appeared after ${tailMs} ms`);
    ok(`publishToTailMs=${tailMs}`);

    current = 'tail-fast';
    const burst = Array.from({ length: 5000 }, (_, i) => ({ room: 'live/fast', type: 'burst', data: { i } }));
    await publish(JSON.stringify(burst));
    // the page keeps up: the newest event reaches the top, and the list stays at its bound
    await page.waitForFunction(() => document.querySelector('#tail-events li').textContent.includes('"i":4999'), { timeout: 10000 });
    const count = await page.$eval('#tail-events', (l) => l.childElementCount);
    check(count === 200 && Number(await page.$eval('#tail-rate', (e) => e.textContent)) > 0, 'window ' + count);
    await shot(page, 'tail');
    ok(`rate ${await page.$eval('#tail-rate', (e) => e.textContent)}/s, window 200`);

    current = 'xss';
    await page.goto(base + '/console/#replay');
    await page.waitForSelector('#page-replay:not([hidden])');
    await page.type('#replay-room', cfg.xssRoom);
    await page.click('#replay-form button');
    await page.waitForSelector('#replay-events li');
    const xss = await page.evaluate(() => ({
      text: document.getElementById('replay-events').textContent,
      elements: document.querySelectorAll('#replay-events img, #replay-events script, #replay-events iframe').length,
      flag: window.__xss,
    }));
    check(xss.text.includes('<img src=x onerror=') && xss.text.includes('</script>'), 'payload not shown literally: ' + xss.text);
    check(xss.elements === 0 && xss.flag === undefined && dialogs === 0, 'payload ran: ' + JSON.stringify(xss) + ' dialogs ' + dialogs);
    ok();

    current = 'replay';
    await page.$eval('#replay-room', (e) => { e.value = ''; });
    await page.type('#replay-room', cfg.bigRoom);
    await page.click('#replay-form button');
    await page.waitForFunction(() => document.getElementById('replay-status').textContent.startsWith('page 1:'));
    await shot(page, 'replay');
    const seen = new Set();
    let previous = -1, pages = 0;
    const times = [];
    for (;;) {
      pages++;
      const offsets = await page.$$eval('#replay-events li', (lis) => lis.map((li) => li.dataset.offset));
      for (const o of offsets) {
        const index = Number(o.split('-')[1]);
        check(index > previous && !seen.has(o), 'out of order or repeated: ' + o);
        previous = index;
        seen.add(o);
      }
      times.push(Number(await page.$eval('body', (b) => b.dataset.replayPageMs)));
      if (await page.$eval('#replay-next', (b) => b.disabled)) break;
      await page.click('#replay-next');
      await page.waitForFunction((n) => document.getElementById('replay-status').textContent.startsWith(`page ${n}:`), {}, pages + 1);
    }
    check(seen.size === cfg.bigCount && pages === cfg.bigCount / 100, `paged through ${seen.size} events in ${pages} pages, expected ${cfg.bigCount}`);
    times.sort((a, b) => a - b);
    ok(`pages=${pages} events=${seen.size} pageMsMedian=${times[times.length >> 1]} pageMsMax=${times[times.length - 1]}`);

    current = 'download';
    const t0 = Date.now();
    await page.click('#replay-download');
    const file = path.join(downloads, 'tidings-events.ndjson');
    for (let i = 0; i < 300 && !fs.existsSync(file); i++) await new Promise((r) => setTimeout(r, 100));
    check(fs.existsSync(file), 'no download');
    const lines = fs.readFileSync(file, 'utf8').trim().split('\n');
    check(lines.length === cfg.bigCount && JSON.parse(lines[lines.length - 1]).rooms[0].startsWith(cfg.bigRoom), 'download has ' + lines.length + ' lines');
    ok(`lines=${lines.length} ms=${Date.now() - t0}`);

    current = 'connections';
    const c0 = Date.now();
    await page.goto(base + '/console/#connections');
    await page.waitForFunction(() => document.body.dataset.connectionsLoaded, { timeout: 10000 });
    const loadMs = Date.now() - c0;
    const status = await page.$eval('#conn-status', (e) => e.textContent);
    check(status.startsWith(`${cfg.clients} connections`), status);
    await shot(page, 'connections');
    await page.type('#conn-search', cfg.victim);
    await page.click('#conn-form button');
    await page.waitForFunction((sub) => [...document.querySelectorAll('#conn-table tbody tr')].every((r) => r.dataset.sub === sub)
      && document.querySelectorAll('#conn-table tbody tr').length === 1, { timeout: 5000 }, cfg.victim);
    const oldId = await page.$eval('#conn-table tbody tr', (r) => r.dataset.id);
    await page.click('#conn-table tbody tr button');
    await page.waitForFunction(() => document.querySelector('#conn-table tbody tr').cells[8].textContent === 'disconnected');
    let newId = oldId;
    for (let i = 0; i < 50 && (newId === oldId || !newId); i++) {
      await new Promise((r) => setTimeout(r, 200));
      await page.click('#conn-form button');
      await new Promise((r) => setTimeout(r, 100));
      newId = await page.$eval('#conn-table tbody tr', (r) => r.dataset.id).catch(() => null);
    }
    check(newId && newId !== oldId, `${cfg.victim} did not come back (id ${oldId} → ${newId})`);
    console.log('disconnected ' + cfg.victim);
    ok(`loadMs=${loadMs} (${cfg.clients} clients) ${cfg.victim}: session ${oldId} → ${newId}`);

    current = 'publish';
    await page.goto(base + '/console/#publish');
    await page.waitForSelector('#page-publish:not([hidden])');
    check(!(await page.$eval('#nav-publish', (e) => e.hidden)), 'publish hidden for a publish key');
    await page.type('#publish-room', 'live/console');
    await page.click('#publish-form button');
    await page.waitForFunction(() => document.getElementById('publish-status').textContent.startsWith('published at offset'));
    await shot(page, 'publish');
    ok();

    current = 'room-limited';
    const context = await browser.createBrowserContext();
    const limited = await context.newPage();
    await limited.setViewport({ width: 1200, height: 800 });
    watch(limited);
    await limited.goto(base + '/console/');
    await limited.waitForSelector('body[data-ready="true"]');
    await limited.type('#signin-key', cfg.limitedKey);
    await limited.click('#signin-form button');
    await limited.waitForSelector('#page-overview:not([hidden])');
    check(await limited.$eval('#nav-publish', (e) => e.hidden), 'publish shown to an audit-only key');
    await limited.goto(base + '/console/#connections');
    await limited.waitForFunction(() => document.body.dataset.connectionsLoaded, { timeout: 10000 });
    const limitedStatus = await limited.$eval('#conn-status', (e) => e.textContent);
    check(limitedStatus.startsWith(`${cfg.limitedClients} connections`), limitedStatus);
    const rooms = await limited.$$eval('#conn-table tbody tr', (rs) => rs.map((r) => r.cells[3].textContent));
    check(rooms.length > 0 && rooms.every((r) => r.split(', ').every((x) => x.startsWith(cfg.limitedPrefix + '/'))), 'rooms ' + rooms);
    await shot(limited, 'connections-room-limited');
    await limited.goto(base + '/console/#replay');
    await limited.type('#replay-room', cfg.bigRoom);
    await limited.click('#replay-form button');
    await limited.waitForFunction(() => document.getElementById('replay-status').textContent.includes('may not read'));
    await limited.$eval('#replay-room', (e) => { e.value = ''; });
    await limited.click('#replay-form button');
    await limited.waitForFunction(() => document.getElementById('replay-status').textContent.startsWith('page 1:'));
    const visibleRooms = await limited.$$eval('#replay-events li .summary', (s) => s.map((x) => x.textContent));
    check(visibleRooms.length === cfg.limitedEvents && visibleRooms.every((t) => t.includes('[' + cfg.limitedPrefix + '/')),
      'replay showed ' + visibleRooms.length + ': ' + visibleRooms.slice(0, 3));
    await limited.goto(base + '/console/#tail');
    await limited.type('#tail-room', cfg.xssRoom);
    await limited.click('#tail-form button[type=submit]');
    await limited.waitForFunction(() => document.getElementById('tail-status').textContent.includes('may not read'), { timeout: 5000 });
    ok();

    current = 'offsite';
    check(offsite.length === 0, 'requests outside the gateway: ' + offsite.join(' '));
    check(dialogs === 0, dialogs + ' dialogs opened');
    ok();
    console.log('done');
  } catch (e) {
    fail(e.stack || String(e));
  } finally {
    await chrome.close();
    fs.rmSync(downloads, { recursive: true, force: true });
  }
})();
