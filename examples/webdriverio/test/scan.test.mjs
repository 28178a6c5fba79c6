// WebDriver test of the mini-program in ../miniapp, run in Booth with every device simulated.
//
//   TAURI_DRIVER_URL=http://127.0.0.1:4444 BOOTH_BIN=/path/to/booth npm test
//
// tauri-driver (with WebKitWebDriver on Linux) must be running on TAURI_DRIVER_URL, on a display.
// Each session starts its own booth through the `tauri:options` capability; hardware events are
// produced through Booth's control endpoint on a port the test picks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { remote } from 'webdriverio';

const driver = new URL(process.env.TAURI_DRIVER_URL || 'http://127.0.0.1:4444');
const boothBin = process.env.BOOTH_BIN;
const pkg = fileURLToPath(new URL('../miniapp', import.meta.url));

/** A free loopback port for the control endpoint. */
function freePort() {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

/** Starts booth on the package through tauri-driver; `control(path, body?)` talks to its control endpoint. */
async function launchBooth() {
  assert.ok(boothBin, 'set BOOTH_BIN to the booth binary (e.g. target/debug/booth)');
  assert.ok(existsSync(boothBin), `BOOTH_BIN ${boothBin} does not exist`);
  const controlPort = await freePort();
  const browser = await remote({
    protocol: driver.protocol.replace(':', ''),
    hostname: driver.hostname,
    port: Number(driver.port),
    path: '/',
    logLevel: 'warn',
    capabilities: {
      'tauri:options': {
        application: boothBin,
        args: ['run', pkg, '--sim', '--control-port', String(controlPort)],
      },
      // WebKitWebDriver speaks classic WebDriver (no BiDi).
      'wdio:enforceWebDriverClassic': true,
    },
  });
  const base = `http://127.0.0.1:${controlPort}`;
  async function control(path, body) {
    const res = await fetch(base + path, body === undefined
      ? {}
      : { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  }
  return { browser, control };
}

test('device info shows and a simulated scan reaches the page', async (t) => {
  const { browser, control } = await launchBooth();
  // Ending the WebDriver session closes booth, also when an assertion failed.
  t.after(() => browser.deleteSession());

  // Booth's runtime is up and the package loaded.
  await browser.waitUntil(
    () => browser.execute(() => !!window.__BOOTH__ && document.readyState === 'complete'),
    { timeout: 15000, timeoutMsg: 'the page did not load in booth' },
  );
  const booth = await browser.execute(() => window.__BOOTH__);
  assert.equal(booth.package, 'dev.booth.example.webdriverio');

  // getDeviceInfo answered: the serial number is on the page.
  const sn = await browser.$('#sn');
  await sn.waitUntil(async function () { return (await this.getText()) !== '…'; }, { timeout: 5000 });
  const snText = await sn.getText();
  assert.ok(snText.length > 0 && !snText.startsWith('失败'), `device info: ${snText}`);

  // The control endpoint: alive, serving this package, with a simulated scanner.
  const health = await control('/health');
  assert.equal(health.status, 200);
  assert.equal(health.body.status, 'ok');
  assert.equal(health.body.package.id, 'dev.booth.example.webdriverio');
  const sim = await control('/sim');
  const scanner = sim.body.devices.find((d) => d.id === 'scanner');
  assert.ok(scanner && scanner.actions.some((a) => a.name === 'scan'), JSON.stringify(sim.body));

  // A scan, as the scanner would produce it, lands in the page's my.on('initQRListener').
  const code = '6901234567892';
  const scan = await control('/sim/scanner/scan', { code });
  assert.equal(scan.status, 200, JSON.stringify(scan.body));
  const out = await browser.$('#code');
  await out.waitUntil(async function () { return (await this.getText()) === code; }, {
    timeout: 5000,
    timeoutMsg: 'the scanned code did not show on the page',
  });

  // Calling the API from the test: a one-shot getQRCode started in the page (without waiting
  // for it), answered by the next scan.
  await browser.execute(() => {
    window.oneShot = null;
    my.call('ampeHHCommunication',
      { action: 'getQRCode', event: 'open', taskId: 'wdio-1', params: { timeout: 10000 } },
      (res) => { window.oneShot = res; });
  });
  await new Promise((r) => setTimeout(r, 300)); // let the call reach the scanner
  assert.equal((await control('/sim/scanner/scan', { code: 'one-shot' })).status, 200);
  await browser.waitUntil(() => browser.execute(() => window.oneShot !== null), { timeout: 5000 });
  const reply = await browser.execute(() => window.oneShot);
  assert.deepEqual(
    { success: reply.success, taskId: reply.taskId, data: reply.data },
    { success: true, taskId: 'wdio-1', data: { qrCode: 'one-shot' } },
  );

  // A malformed action is refused by the endpoint, not passed to the page.
  const bad = await control('/sim/scanner/scan', {});
  assert.equal(bad.status, 400);
  assert.equal(await out.getText(), 'one-shot');
});
