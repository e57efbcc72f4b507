// Haven behind Caddy, as deploy/Caddyfile sets it up: a whole session
// (log in, knock, admit, media both ways) over HTTPS through Debian's
// `caddy` on loopback, with Caddy's internal CA (`local_certs`) trusted by
// the test browser. Haven sends HSTS itself; the response carries it once.

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash, X509Certificate } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { get } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, ROOT, startHaven, stats, tid,
} from './harness.mjs';

const HOST = 'haven.localhost';
const PORT = 8443; // inside the test's own network namespace

/** Status of GET `path` through Caddy, trusting only `ca`. */
const status = (ca, path) => new Promise((ok) => {
  get({ host: '127.0.0.1', port: PORT, servername: HOST, ca, path, headers: { host: `${HOST}:${PORT}` } }, (r) => {
    r.resume();
    ok(r.statusCode);
  }).on('error', () => ok(0));
});

test('a whole session over HTTPS through Caddy', { timeout: 180000 }, async () => {
  const origin = `https://${HOST}:${PORT}`;
  const haven = await startHaven(['ada'], { publicUrl: origin, env: { HAVEN_TRUSTED_PROXIES: '127.0.0.1' } });
  const dir = mkdtempSync(join(tmpdir(), 'haven-caddy-'));
  const caddy = spawn('caddy', ['run', '--config', join(ROOT, 'deploy', 'Caddyfile'), '--adapter', 'caddyfile'], {
    env: {
      ...process.env,
      HOME: dir,
      XDG_DATA_HOME: dir,
      XDG_CONFIG_HOME: dir,
      HAVEN_HOST: `${HOST}:${PORT}`,
      HAVEN_UPSTREAM: new URL(haven.local).host,
      HAVEN_CADDY_OPTIONS: `local_certs\nskip_install_trust\nadmin off\nhttp_port 8088\nhttps_port ${PORT}\nstorage file_system ${dir}`,
    },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let caddyLog = '';
  caddy.stderr.on('data', (d) => { caddyLog += d; });
  let browser = null;
  try {
    const rootCert = join(dir, 'pki', 'authorities', 'local', 'root.crt');
    await eventually('Caddy made its CA', () => existsSync(rootCert), 30000).catch((e) => {
      throw new Error(`${e.message}\n${caddyLog}`);
    });
    const ca = readFileSync(rootCert);
    await eventually('Haven answers through Caddy', async () => (await status(ca, '/healthz')) === 200, 30000);
    // Chromium matches the key of a certificate Caddy serves: its CA's
    // intermediate (the root is not sent).
    const intermediate = readFileSync(join(dir, 'pki', 'authorities', 'local', 'intermediate.crt'));
    const spki = new X509Certificate(intermediate).publicKey.export({ type: 'spki', format: 'der' });
    browser = await launch({ trustSpki: createHash('sha256').update(spki).digest('base64'), hostRules: `MAP ${HOST} 127.0.0.1` });

    const ada = await newPage(browser, origin);
    const response = await ada.goto('/');
    const hsts = (await response.headersArray()).filter((h) => h.name.toLowerCase() === 'strict-transport-security');
    assert.equal(hsts.length, 1, `HSTS once, not ${hsts.length} times`);
    const link = await facilitatorStarts(ada, 'Monday group');
    assert.ok(link.startsWith(`${origin}/`), `the invite link uses the public https address: ${link}`);
    const sam = await newPage(browser, origin);
    await memberKnocks(sam, link, 'Sam');
    assert.equal(await sam.evaluate(() => window.isSecureContext), true);
    await ada.locator(`${tid('waiting-entry')}[data-name="Sam"] ${tid('admit')}`).click();
    for (const [page, other] of [[sam, null], [ada, 'Sam']]) {
      await eventually('audio and video arrive', async () => {
        const s = await stats(page);
        const from = other ? s[other] : Object.values(s)[0];
        return from && from.audioBytes > 5000 && from.framesDecoded > 10;
      }, 60000);
    }
  } finally {
    if (browser) await browser.close();
    caddy.kill();
    haven.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
