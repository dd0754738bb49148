// A real browser's EventSource (Debian's headless Chromium via puppeteer-core) on GET /v1/sse,
// driven by SseEventSourceTest with the same output as client.mjs. Usage: node sse/browser.js <url>
// The page is a same-origin page of the gateway (/healthz), so the stream is a plain same-origin
// EventSource, as an application page would open it.
const { launch } = require('../chromium.js');
const readline = require('readline');

const [url] = process.argv.slice(2);
const print = line => process.stdout.write(line + '\n');

(async () => {
  const chromium = await launch();
  const page = await chromium.browser.newPage();
  await page.exposeFunction('report', print);
  await page.goto(new URL('/healthz', url).href);
  await page.evaluate(streamUrl => {
    const es = new EventSource(streamUrl);
    es.onopen = () => window.report('open');
    es.onerror = () => window.report('error ' + es.readyState);
    const show = name => ev => window.report(`${name} ${ev.lastEventId || '-'} ${ev.data}`);
    es.onmessage = show('message');
    for (const name of ['welcome', 'joined', 'gap', 'live', 'close']) es.addEventListener(name, show(name));
  }, url);
  print('ready');
  readline.createInterface({ input: process.stdin }).on('line', async line => {
    if (line === 'exit') { await chromium.close(); process.exit(0); }
  });
})().catch(e => { print('failed ' + e); process.exit(1); });
