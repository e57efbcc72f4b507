// What four people in a call cost their browsers: Haven's pages against the
// same four pages on Janus VideoRoom (issue 9: "a 4-person session in
// headless Chromium should cost the pages no more CPU than the same four
// pages on Janus"). One headless Chromium with four pages (fake camera and
// microphone, 1280x800 each), in a Haven session, in a Janus room, and in
// a Janus room whose pages seal and open every frame with Haven's own media
// worker (Haven's pages always do: end-to-end encryption, issue 11); after a
// warm-up, the CPU time of every Chromium process over the window, by
// process type, and what the pages decoded.
//
// Run as root, in a network namespace of its own (Janus needs a non-loopback
// address; the script puts 192.0.2.101 on a veth pair there, never the
// machine's own address):
//
//   cargo build -p haven && unshare -n node benches/pages/page-cpu.mjs [--window 30] [--warmup 15]
//
// Figures: docs/performance.md ("Page CPU").

import { execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync,
} from 'node:fs';
import { createServer, request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ROOT, eventually, facilitatorStarts, launch, memberKnocks, newPage, receivesFrom, sleep, startHaven, stats, tid,
} from '../../tests/browser/harness.mjs';

const arg = (name, dflt) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const WINDOW_S = arg('window', 30);
const WARMUP_S = arg('warmup', 15);
const NAMES = ['ada', 'Sam', 'Kim', 'Lee'];
const TICKS = 100; // USER_HZ

/** CPU seconds of every Chromium process now, by type. */
function chromiumCpu() {
  const out = {};
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    let comm; let cmd; let stat;
    try {
      comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
      if (!comm.startsWith('chrom')) continue;
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch { continue; }
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const secs = (Number(fields[11]) + Number(fields[12])) / TICKS;
    const type = (cmd.match(/--type=([a-z-]+)/) || [null, 'browser'])[1];
    const sub = (cmd.match(/--utility-sub-type=([a-zA-Z.]+)/) || [null, ''])[1].split('.').pop();
    const key = sub ? `${type}:${sub}` : type;
    out[key] = (out[key] || 0) + secs;
  }
  return out;
}

/** CPU (cores) used over `seconds`, by process type and in total. */
async function cpuOver(seconds) {
  const a = chromiumCpu();
  await sleep(seconds * 1000);
  const b = chromiumCpu();
  const used = {};
  for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) used[k] = ((b[k] || 0) - (a[k] || 0)) / seconds;
  used.total = Object.values(used).reduce((x, y) => x + y, 0);
  return used;
}

/** Frames per second over the window. */
const fps = (frames) => Number((frames / WINDOW_S).toFixed(1));

/**
 * After the warm-up: the browser's CPU over the window, and what each page
 * decoded (`decodedOf(before, after, name)` from two readings of `statsOf`).
 */
async function measure(pages, statsOf, decodedOf) {
  await sleep(WARMUP_S * 1000);
  const before = {};
  for (const n of NAMES) before[n] = await statsOf(pages[n]);
  const cpu = await cpuOver(WINDOW_S);
  const decoded = {};
  for (const n of NAMES) decoded[n] = decodedOf(before[n], await statsOf(pages[n]), n);
  return { cpu, decoded };
}

async function havenRun() {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const pages = { ada: await newPage(browser, haven.base) };
    const link = await facilitatorStarts(pages.ada, 'Page CPU');
    for (const n of NAMES.slice(1)) {
      pages[n] = await newPage(browser, haven.base);
      await memberKnocks(pages[n], link, n);
    }
    await eventually('three knocks', async () => (await pages.ada.locator(tid('waiting-entry')).count()) === 3, 60000);
    await pages.ada.click(tid('admit-all'));
    for (const n of NAMES) {
      await eventually(`${n} decodes everyone`, () => receivesFrom(pages[n], NAMES.filter((o) => o !== n), { decodedAudio: true }), 60000);
    }
    const result = await measure(pages, stats, (before, after, n) => Object.fromEntries(
      NAMES.filter((o) => o !== n).map((o) => [o, {
        fps: fps(after[o].framesDecoded - before[o].framesDecoded),
        width: after[o].frameWidth,
      }]),
    ));
    // Which camera layers each page was encoding (layers nobody receives
    // are switched off).
    for (const n of NAMES) {
      const sent = await pages[n].evaluate(() => window.havenSentVideoLayers());
      console.log(`haven: ${n} encodes ${Object.entries(sent).filter(([, s]) => s.active !== false).map(([rid]) => rid).join(', ')}`);
    }
    return result;
  } finally {
    await browser.close();
    haven.stop();
  }
}

/** Janus VideoRoom; with `e2ee`, its pages encrypt every frame as Haven's do. */
async function janusRun(e2ee = false) {
  const dir = mkdtempSync(join(tmpdir(), 'janus-pages-'));
  execFileSync(join(ROOT, 'benches/janus/configure.sh'), [dir, 'hv0']);
  const janus = spawn('janus', ['-F', dir, '-C', join(dir, 'janus.jcfg'), '-o'], { stdio: 'ignore' });
  const page = readFileSync(join(ROOT, 'benches/pages/janus-videoroom.html'));
  // The page, and Janus's API on the same origin (no CORS to reason about).
  const server = createServer((req, res) => {
    const js = req.url.match(/^\/js\/([a-z0-9-]+\.js)$/);
    if (js) {
      res.writeHead(200, { 'content-type': 'text/javascript' });
      res.end(readFileSync(join(ROOT, 'web/js', js[1])));
      return;
    }
    if (!/^\/janus(\/|\?|$)/.test(req.url)) {
      res.writeHead(200, { 'content-type': 'text/html' });
      res.end(page);
      return;
    }
    const up = request({ host: '127.0.0.1', port: 8088, path: req.url, method: req.method, headers: req.headers }, (r) => {
      res.writeHead(r.statusCode, r.headers);
      r.pipe(res);
    });
    up.on('error', () => { res.writeHead(502); res.end(); });
    req.pipe(up);
  });
  await new Promise((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${server.address().port}`;
  const key = e2ee ? `&e2ee=${encodeURIComponent(randomBytes(16).toString('base64'))}` : '';
  const browser = await launch();
  try {
    await eventually('Janus answers', async () => {
      try { return (await fetch(`${base}/janus/info`)).ok; } catch { return false; }
    }, 20000);
    const pages = {};
    for (const n of NAMES) {
      pages[n] = await newPage(browser, base);
      await pages[n].goto(`/janus-videoroom.html?room=4242&name=${n}${key}`);
      await eventually(`${n} publishes`, () => pages[n].evaluate(() => window.benchReady === true), 30000);
    }
    const statsOf = (p) => p.evaluate(() => window.benchStats());
    for (const n of NAMES) {
      await eventually(`${n} decodes three feeds`, async () => {
        const a = await statsOf(pages[n]);
        await sleep(500);
        const b = await statsOf(pages[n]);
        return b.feeds === 3 && b.framesDecoded > a.framesDecoded && b.samples > a.samples;
      }, 60000);
    }
    return await measure(pages, statsOf, (before, after) => ({
      fps: fps((after.framesDecoded - before.framesDecoded) / 3),
      widths: after.widths,
    }));
  } finally {
    await browser.close();
    server.close();
    janus.kill();
    rmSync(dir, { recursive: true, force: true });
  }
}

function network() {
  const ip = (...a) => execFileSync('ip', a);
  ip('link', 'set', 'lo', 'up');
  ip('link', 'add', 'hv0', 'type', 'veth', 'peer', 'name', 'hv1');
  // No IPv6 on the pair: a link-local address appearing after the link is
  // up makes Chromium abort page loads in flight (ERR_NETWORK_CHANGED).
  for (const dev of ['hv0', 'hv1']) writeFileSync(`/proc/sys/net/ipv6/conf/${dev}/disable_ipv6`, '1');
  ip('addr', 'add', '192.0.2.101/24', 'dev', 'hv0');
  ip('link', 'set', 'hv0', 'up');
  ip('link', 'set', 'hv1', 'up');
}

const fmt = (cpu) => Object.entries(cpu).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${v.toFixed(2)}`).join(', ');

network();
const runs = [['haven', havenRun], ['janus', () => janusRun(false)], ['janus+e2ee', () => janusRun(true)]];
if (process.argv.includes('--janus-first')) runs.push(runs.shift());
const results = {};
for (const [name, run] of runs) {
  results[name] = await run();
  console.log(`${name}: CPU (cores) ${fmt(results[name].cpu)}`);
  console.log(`${name}: decoded ${JSON.stringify(results[name].decoded)}`);
}
const ratio = (other) => (results.haven.cpu.total / results[other].cpu.total).toFixed(2);
console.log(`pages' CPU, Haven / Janus: ${ratio('janus')}; Haven / Janus with the same frame encryption: ${ratio('janus+e2ee')}`);
process.exit(0);
