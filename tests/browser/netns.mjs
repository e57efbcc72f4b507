// A member's own network, for tests of lossy links: a network namespace
// joined to the test's namespace by a veth pair (192.0.2.61 on Haven's side,
// 192.0.2.62 on the member's), with random loss on the member's downlink
// by nftables (`numgen random`; this kernel has no netem) or a rate limit
// by `tc tbf`. Needs root, as
// the test command runs the browser tests.

import { spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  facilitatorStarts, launch, memberKnocks, newPage, REMOVE_WHILE_EXITING, startHaven, tid,
} from './harness.mjs';

export const HAVEN_SIDE = '192.0.2.61';
export const MEMBER_SIDE = '192.0.2.62';

function run(cmd, args, input) {
  const r = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr || r.error}`);
  return r.stdout;
}

/** Create the namespace and the veth pair; `close()` removes both. */
export function memberNetwork() {
  const ns = `haven-far-${process.pid}`;
  const [near, far] = [`hv${process.pid % 10000}a`, `hv${process.pid % 10000}b`];
  const inNs = (...args) => run('ip', ['netns', 'exec', ns, ...args]);
  run('ip', ['netns', 'add', ns]);
  const dir = mkdtempSync(join(tmpdir(), 'haven-netns-'));
  try {
    run('ip', ['link', 'add', near, 'type', 'veth', 'peer', 'name', far, 'netns', ns]);
    // No IPv6 on the pair: its link-local address would appear a moment
    // after the link comes up (duplicate address detection), and Chromium
    // aborts the page loads in flight on any address change
    // (net::ERR_NETWORK_CHANGED), leaving a page whose scripts never ran.
    writeFileSync(`/proc/sys/net/ipv6/conf/${near}/disable_ipv6`, '1');
    inNs('sh', '-c', `echo 1 > /proc/sys/net/ipv6/conf/${far}/disable_ipv6`);
    run('ip', ['addr', 'add', `${HAVEN_SIDE}/24`, 'dev', near]);
    run('ip', ['link', 'set', near, 'up']);
    inNs('ip', 'link', 'set', 'lo', 'up');
    inNs('ip', 'addr', 'add', `${MEMBER_SIDE}/24`, 'dev', far);
    inNs('ip', 'link', 'set', far, 'up');
  } catch (e) {
    run('ip', ['netns', 'del', ns]);
    throw e;
  }
  // Chromium started through this runs inside the member's namespace.
  const chromium = join(dir, 'chromium-in-netns');
  writeFileSync(chromium, `#!/bin/sh\nexec ip netns exec ${ns} ${process.env.CHROMIUM || '/usr/bin/chromium'} "$@"\n`);
  chmodSync(chromium, 0o755);
  return {
    chromium,
    /** Drop this share (0..1) of UDP arriving at the member (media only). */
    setLoss(share) {
      const percent = Math.round(share * 100);
      run('ip', ['netns', 'exec', ns, 'nft', '-f', '-'], [
        'table inet haven_loss',
        'delete table inet haven_loss',
        'table inet haven_loss {',
        '  chain downlink {',
        '    type filter hook input priority 0; policy accept;',
        percent > 0 ? `    meta l4proto udp numgen random mod 100 < ${percent} counter drop` : '',
        '  }',
        '}',
      ].join('\n'));
    },
    /**
     * Limit the member's downlink to `kbit` kbit/s with a 200 ms queue
     * (`tc tbf` on Haven's end of the pair; 0 removes the limit). tbf drops
     * segments larger than its burst, so offloads are turned off first. The
     * bucket holds one full packet: a real bottleneck sends one packet at a
     * time, while a 4 KB bucket passes a short cluster of the estimator's
     * probes at line rate, which no real link does (docs/media.md).
     */
    setRate(kbit) {
      run('ethtool', ['-K', near, 'tso', 'off', 'gso', 'off', 'gro', 'off']);
      if (kbit > 0) {
        run('tc', ['qdisc', 'replace', 'dev', near, 'root', 'tbf', 'rate', `${kbit}kbit`, 'burst', '1600', 'latency', '200ms']);
      } else {
        spawnSync('tc', ['qdisc', 'del', 'dev', near, 'root']);
      }
    },
    /** UDP datagrams dropped so far. */
    dropped() {
      const out = run('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'inet', 'haven_loss']);
      const m = out.match(/counter packets (\d+)/);
      return m ? Number(m[1]) : 0;
    },
    close() {
      spawnSync('ip', ['link', 'del', near]);
      spawnSync('ip', ['netns', 'del', ns]);
      rmSync(dir, REMOVE_WHILE_EXITING);
    },
  };
}

/**
 * A session with its facilitator and the members `nearNames` on open links
 * and "Far" in `net`'s namespace, all admitted; Haven listens on the
 * namespace pair's address with `env` (plus `HAVEN_TEST_ENV`, JSON).
 * `close()` ends it (the namespace stays, for `net.close()`); `haven` is
 * the running Haven (e.g. its `stdout()`).
 */
export async function sessionWithFarMember(net, nearNames, env = {}) {
  const extra = process.env.HAVEN_TEST_ENV ? JSON.parse(process.env.HAVEN_TEST_ENV) : {};
  const haven = await startHaven(['ada'], { listenHost: HAVEN_SIDE, env: { ...env, ...extra } });
  const origin = haven.base;
  const browser = await launch({ secureOrigin: origin });
  const farBrowser = await launch({ secureOrigin: origin, executablePath: net.chromium });
  const close = async () => {
    await farBrowser.close();
    await browser.close();
    haven.stop();
  };
  try {
    const ada = await newPage(browser, origin);
    const link = await facilitatorStarts(ada, 'Thursday group');
    const pages = { ada };
    for (const name of nearNames) pages[name] = await newPage(browser, origin);
    pages.Far = await newPage(farBrowser, origin);
    for (const name of [...nearNames, 'Far']) await memberKnocks(pages[name], link, name);
    for (const name of [...nearNames, 'Far']) {
      await ada.locator(`${tid('waiting-entry')}[data-name="${name}"] ${tid('admit')}`).click();
    }
    return { pages, close, haven };
  } catch (e) {
    await close();
    throw e;
  }
}
