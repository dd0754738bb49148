// Measures the console with many real connections (docs/benchmarks.md, "Console"):
//   node console-load.js <base http URL> <jwt secret> <audit key> <clients> [per-process]
// Starts <clients> native WebSocket clients in separate processes (console-clients.js, 5,000 each),
// then times in Debian's headless Chromium: sign-in to a filled overview, the connections page's
// first load, a search, a page turn, and one replay page. Prints JSON.
const { spawn } = require('child_process');
const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');
const chromium = require('./chromium');

const [base, secret, auditKey, total, perProcess = '5000'] = process.argv.slice(2);
const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
function token(sub) {
  const head = b64({ alg: 'HS256', typ: 'JWT' }) + '.' + b64({ sub, exp: Math.floor(Date.now() / 1000) + 3600 });
  return head + '.' + crypto.createHmac('sha256', secret).update(head).digest('base64url');
}

(async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-console-load-'));
  const children = [];
  const ready = [];
  for (let start = 0; start < Number(total); start += Number(perProcess)) {
    const lines = [];
    for (let i = start; i < Math.min(Number(total), start + Number(perProcess)); i++) {
      const sub = 'load-' + String(i).padStart(5, '0');
      lines.push(`${sub} user/${sub} ${token(sub)}`);
    }
    const file = path.join(dir, `tokens-${start}.txt`);
    fs.writeFileSync(file, lines.join('\n'));
    const child = spawn('node', [path.join(__dirname, 'console-clients.js'), base.replace(/^http/, 'ws'), file], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(child);
    ready.push(new Promise((resolve) => child.stdout.on('data', (d) => { if (d.toString().includes('ready')) resolve(); })));
  }
  const t0 = Date.now();
  await Promise.all(ready);
  const connectSeconds = (Date.now() - t0) / 1000;
  const chrome = await chromium.launch();
  const browser = chrome.browser;
  const result = { clients: Number(total), connectSeconds };
  try {
    const page = await browser.newPage();
    await page.setViewport({ width: 1200, height: 800 });
    let t = Date.now();
    await page.goto(base + '/console/');
    await page.waitForSelector('body[data-ready="true"]');
    await page.type('#signin-key', auditKey);
    await page.click('#signin-form button');
    await page.waitForSelector('#overview-table tr');
    result.signInToOverviewMs = Date.now() - t;
    const times = [];
    for (let i = 0; i < 5; i++) {
      t = Date.now();
      await page.goto(base + '/console/#connections' + (i ? '' : ''));
      await page.reload();
      await page.waitForFunction(() => document.body.dataset.connectionsLoaded);
      times.push(Date.now() - t);
    }
    result.connectionsPageLoadMs = times;
    result.status = await page.$eval('#conn-status', (e) => e.textContent);
    const timed = async (action) => {
      const before = await page.$eval('body', (b) => b.dataset.connectionsLoaded);
      const s = Date.now();
      await action();
      await page.waitForFunction((v) => document.body.dataset.connectionsLoaded !== v, {}, before);
      return Date.now() - s;
    };
    result.nextPageMs = await timed(() => page.click('#conn-next'));
    await page.type('#conn-search', 'load-1234');
    result.searchMs = await timed(() => page.click('#conn-form button'));
    result.searchStatus = await page.$eval('#conn-status', (e) => e.textContent);
    await page.screenshot({ path: path.join(dir, 'connections-load.png') });
    result.screenshot = path.join(dir, 'connections-load.png');
  } finally {
    await chrome.close();
    for (const c of children) c.kill('SIGKILL');
  }
  console.log(JSON.stringify(result));
})();
