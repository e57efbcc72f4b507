// Shared helpers for the browser tests: start the real `haven` binary with a
// fresh data directory, and Debian's Chromium with fake camera and microphone.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const HAVEN = process.env.HAVEN_BIN || join(ROOT, 'target', 'debug', 'haven');
export const PASSWORD = 'a-long-password-for-tests';
/**
 * `rmSync` options for a directory a process we just stopped may still be
 * writing: retried on ENOTEMPTY/EBUSY with a growing pause (up to ~5 s).
 */
export const REMOVE_WHILE_EXITING = { recursive: true, force: true, maxRetries: 10, retryDelay: 100 };

async function freePort() {
  return new Promise((ok) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => ok(port)); });
  });
}

/**
 * Start `haven serve` with facilitator accounts (`ada` unless told).
 * `publicHost`: serve under that name (mapped to 127.0.0.1 by `launch`'s
 * `hostRules`) as the public URL, e.g. to be a plain-http page that is not
 * a secure context; `publicUrl`: that public URL exactly (a proxy's).
 */
export async function startHaven(accounts = ['ada'], { publicHost, listenHost, publicUrl: givenUrl, env = {} } = {}) {
  const dataDir = mkdtempSync(join(tmpdir(), 'haven-browser-'));
  for (const account of accounts) {
    const add = spawnSync(HAVEN, ['facilitator', 'add', account, '--password-stdin', '--data-dir', dataDir], {
      input: `${PASSWORD}\n`, env: { ...process.env, HAVEN_LOG: 'warn' },
    });
    if (add.status !== 0) throw new Error(`facilitator add failed: ${add.stderr}`);
  }
  const port = await freePort();
  const host = listenHost || '127.0.0.1';
  const publicUrl = givenUrl || (publicHost || listenHost ? `http://${publicHost || listenHost}:${port}` : null);
  const args = ['serve', '--listen', `${host}:${port}`, '--media-port', '0', '--metrics-listen', 'off', '--data-dir', dataDir];
  if (publicUrl) args.push('--public-url', publicUrl);
  // Media on the same address as HTTP, for members in other namespaces.
  if (listenHost) args.push('--public-ip', listenHost);
  let stdout = '';
  const local = `http://${host}:${port}`;
  const base = publicUrl || local;
  const run = async () => {
    const c = spawn(HAVEN, args, {
      env: { ...process.env, HAVEN_LOG: 'warn', ...env }, stdio: ['ignore', 'pipe', 'inherit'],
    });
    c.stdout.on('data', (d) => { stdout += d; });
    for (let i = 0; i < 100; i++) {
      try { if ((await fetch(`${local}/healthz`)).ok) break; } catch { /* not yet */ }
      await new Promise((r) => setTimeout(r, 100));
    }
    return c;
  };
  let child = await run();
  return {
    base,
    /** Haven's own address (plain http), e.g. for a proxy in front. */
    local,
    /** What `haven serve` printed so far. */
    stdout: () => stdout,
    /**
     * Stop Haven with `signal` (SIGKILL: a crash; SIGTERM: a restart by
     * systemd), wait until it is gone, and start it again on the same
     * address and data directory. Resolves when it answers again.
     */
    async restart(signal) {
      const gone = new Promise((ok) => child.once('exit', ok));
      child.kill(signal);
      await gone;
      child = await run();
    },
    // Haven may still write its data directory while it shuts down (one
    // CI run failed with ENOTEMPTY here): retry until it is gone.
    stop() { child.kill(); rmSync(dataDir, REMOVE_WHILE_EXITING); },
  };
}

/**
 * Debian's Chromium; `hostRules` maps test host names (e.g. `MAP insecure.test
 * 127.0.0.1`); `camera` is a Y4M file the fake camera shows instead of its
 * test pattern; `executablePath` another way to start Chromium (e.g. in a
 * network namespace); `secureOrigin` an http origin to treat as secure;
 * `trustSpki` the key hash of a certificate authority to trust.
 */
export async function launch({ hostRules, camera, executablePath, secureOrigin, trustSpki } = {}) {
  return chromium.launch({
    executablePath: executablePath || process.env.CHROMIUM || '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking',
      '--disable-component-update', '--disable-sync',
      '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream',
      '--allow-loopback-in-peer-connection', '--autoplay-policy=no-user-gesture-required',
      ...(hostRules ? [`--host-resolver-rules=${hostRules}`] : []),
      ...(camera ? [`--use-file-for-fake-video-capture=${camera}`] : []),
      // Plain http on an address other than loopback, treated as HTTPS would be.
      ...(secureOrigin ? [`--unsafely-treat-insecure-origin-as-secure=${secureOrigin}`] : []),
      // Trust a test CA (its key's SHA-256, base64), e.g. Caddy's internal one.
      ...(trustSpki ? [`--ignore-certificate-errors-spki-list=${trustSpki}`] : []),
    ],
  });
}

/** A page in its own context (its own cookies), allowed camera and microphone. */
export async function newPage(browser, base, viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, baseURL: base });
  // Not possible (nor needed) on pages that are not secure contexts.
  await context.grantPermissions(['camera', 'microphone'], { origin: base }).catch(() => {});
  // Turns on the page's test hook (`window.havenStats`); real pages have none.
  await context.addInitScript(() => { window.havenTestHooks = true; });
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error('page error:', e.message));
  return page;
}

export const tid = (id) => `[data-testid="${id}"]`;

/** Log in to the console as `account`. */
export async function logIn(page, account) {
  await page.goto('/');
  await page.fill(tid('login-username'), account);
  await page.fill(tid('login-password'), PASSWORD);
  await page.click(tid('login-submit'));
}

/** Log in as ada, create a group, start its session; returns the invite link. */
export async function facilitatorStarts(page, groupName, coFacilitator = '') {
  await logIn(page, 'ada');
  await page.fill(tid('group-create-name'), groupName);
  if (coFacilitator) await page.fill('#group-co', coFacilitator);
  await page.click(tid('group-create-submit'));
  const card = page.locator('section.card', { hasText: groupName });
  const link = (await card.locator(tid('group-invite-link')).textContent()).trim();
  await card.locator(tid('session-start')).click();
  await page.locator('#session-screen').waitFor({ state: 'visible' });
  return link;
}

/** Co-facilitator `account` logs in, accepts the invitation to `groupName` and joins its session. */
export async function coFacilitatorJoins(page, account, groupName) {
  await logIn(page, account);
  await page.click(tid('invitation-accept'));
  await page.locator('section.card[data-group]', { hasText: groupName }).locator(tid('session-start')).click();
  await page.locator('#session-screen').waitFor({ state: 'visible' });
}

/** In the console's participant list, open `name`'s action menu and click `action` (a test id). */
export async function participantAction(page, name, action) {
  const row = page.locator(`${tid('participant-row')}[data-name="${name}"]`);
  if (!(await row.locator('details.menu').evaluate((d) => d.open))) await row.locator(tid('participant-menu')).click();
  await row.locator(tid(action)).click();
}

/** A member opens the link, names themself, agrees and knocks. */
export async function memberKnocks(page, link, name) {
  await page.goto(link);
  await page.fill(tid('join-name'), name);
  await page.check(tid('join-agree'));
  await page.click(tid('join-knock'));
  try {
    await page.locator(tid('waiting-screen')).waitFor({ state: 'visible' });
  } catch (e) {
    // What the join page said instead (one CI run timed out here once).
    const said = await page.evaluate(() => ['join-error', 'device-note', 'unheard-choice', 'waiting-status']
      .map((id) => { const el = document.getElementById(id); return `${id}: ${el ? `${el.hidden ? '(hidden) ' : ''}${el.textContent.trim()}` : 'none'}`; })
      .join('; ')).catch(() => 'the page did not answer');
    throw new Error(`${name}'s knock never reached the waiting room (${said}): ${e.message}`);
  }
}

/** Inbound media per remote participant, from the page's own getStats. */
export const stats = (page) => page.evaluate(() => window.havenStats());

/**
 * Whether `page` receives audio and decodes video from each of `names`
 * over the next 1.5 s; with `decodedAudio`, also plays their audio (samples
 * decoded, not only bytes arrived).
 */
export async function receivesFrom(page, names, { decodedAudio = false } = {}) {
  const a = await stats(page);
  await sleep(1500);
  const b = await stats(page);
  return names.every((n) => a[n] && b[n] && b[n].audioBytes > a[n].audioBytes && b[n].framesDecoded > a[n].framesDecoded
    && (!decodedAudio || b[n].totalSamples > a[n].totalSamples));
}

export async function eventually(what, f, timeoutMs = 20000) {
  const end = Date.now() + timeoutMs;
  let last;
  while (Date.now() < end) {
    try { last = await f(); if (last) return last; } catch (e) { last = e; }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out: ${what} (last: ${last instanceof Error ? last.message : JSON.stringify(last)})`);
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export const FAKE_MEMBERS = process.env.FAKE_MEMBERS_BIN || join(ROOT, 'target', 'debug', 'fake-members');
/**
 * Where the screenshots test writes. A test run must not rewrite committed
 * files, so the default is under target/; `HAVEN_SCREENSHOTS=docs/screenshots`
 * refreshes the committed pictures on purpose.
 */
export const SCREENSHOTS = resolve(ROOT, process.env.HAVEN_SCREENSHOTS || join('target', 'screenshots'));

/**
 * Light members (webrtc-rs) that knock with `link` under these names. With
 * `report`, each says every 2 s what it received (see fake_members.rs):
 * `received()` is the latest per name.
 */
export function fakeMembers(base, link, names, { report = false } = {}) {
  const token = link.split('/').pop();
  const env = report ? { ...process.env, HAVEN_FAKE_REPORT: '1' } : process.env;
  const child = spawn(FAKE_MEMBERS, [base, token, ...names], { env, stdio: ['ignore', report ? 'pipe' : 'ignore', 'inherit'] });
  const latest = {};
  if (report) {
    let buf = '';
    child.stdout.on('data', (d) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const m = buf.slice(0, nl).match(/^(\S+) received (\{.*\})$/);
        buf = buf.slice(nl + 1);
        if (m) latest[m[1]] = JSON.parse(m[2]);
      }
    });
  }
  return { stop() { child.kill(); }, received: () => latest };
}

/**
 * A TCP relay in front of Haven, standing for one member's network path:
 * `cut(ms)` drops every connection through it and refuses new ones for
 * `ms`, as a flaky Wi-Fi would. (Media flows over UDP straight to the SFU.)
 */
export async function relay(base) {
  const target = new URL(base);
  const sockets = new Set();
  let downUntil = 0;
  const server = createServer((client) => {
    if (Date.now() < downUntil) { client.destroy(); return; }
    const upstream = connect(Number(target.port), target.hostname);
    for (const [a, b] of [[client, upstream], [upstream, client]]) {
      sockets.add(a);
      a.on('error', () => b.destroy());
      a.on('close', () => { sockets.delete(a); b.destroy(); });
      a.pipe(b);
    }
  });
  const port = await new Promise((ok) => server.listen(0, '127.0.0.1', () => ok(server.address().port)));
  return {
    base: `http://127.0.0.1:${port}`,
    cut(ms) {
      downUntil = Date.now() + ms;
      for (const s of sockets) s.destroy();
    },
    stop() { server.close(); for (const s of sockets) s.destroy(); },
  };
}
