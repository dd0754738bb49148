// Debian's headless Chromium for the console tests, launched by puppeteer-core (no downloaded
// browser) with the flags it needs as root and a fresh profile; close() also removes the profile,
// and the browser is killed when the script exits without closing it.
const puppeteer = require('puppeteer-core');
const fs = require('fs');
const os = require('os');
const path = require('path');

async function launch() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'tidings-chromium-'));
  const browser = await puppeteer.launch({
    executablePath: '/usr/bin/chromium',
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync', `--user-data-dir=${userDataDir}`],
  });
  // a script that fails calls process.exit, which skips its finally: never leave the browser running
  process.on('exit', () => {
    const child = browser.process();
    if (child && child.exitCode === null) child.kill('SIGKILL');
    fs.rmSync(userDataDir, { recursive: true, force: true });
  });
  return {
    browser,
    async close() {
      await browser.close();
      fs.rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

module.exports = { launch };
