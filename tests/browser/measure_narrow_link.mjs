// A measurement, not (yet) a test: what a member behind a narrow downlink
// gets in real Chromium with bandwidth estimation on. Far sits in its own
// network namespace behind a veth pair whose Haven-side end is shaped with
// `tc tbf` (200 ms queue), first at 800 then at 250 kbit/s; Ada, Bo and Cy
// are on open links. It prints Far's audio concealment and video per
// speaker, what the open-link member Bo sees, and which of issue 9's
// expectations did not hold. Run as root (docs/media.md):
//
//   cargo build -p haven && unshare -n sh -c \
//     'ip link set lo up && cd tests/browser && node measure_narrow_link.mjs'
//
// Extra environment for haven: HAVEN_TEST_ENV='{"HAVEN_LOG":"haven_sfu=debug"}'.
// It is not in the suite because the estimates swing when four pages share
// two cores (delay-based estimation reads CPU stalls as queueing): on
// 2026-11-27 Far's side held at 800 kbit/s in three runs of three, but the
// open-link member's own estimate dipped (small layers) or a sender slowed
// in two of them, and bandwidth estimation is not on by default
// (docs/media.md).

import { eventually, sleep, stats, tid } from './harness.mjs';
import { memberNetwork, sessionWithFarMember } from './netns.mjs';

const WARM_UP_MS = 15000; // the estimate follows the limit, layers settle
const WINDOW_MS = 30000;

const net = memberNetwork();

const delta = (a, b, speaker, field) => b[speaker][field] - a[speaker][field];

async function measure() {
  const session = await sessionWithFarMember(net, ['Bo', 'Cy'], { HAVEN_BANDWIDTH_ESTIMATION: 'true' });
  try {
    const { ada, Bo: bo, Cy: cy, Far: far } = session.pages;
    const publishers = { Bo: bo, Cy: cy, Far: far };
    const sentLayers = async (pages) => Object.fromEntries(await Promise.all(
      Object.entries(pages).map(async ([n, p]) => [n, await p.evaluate(() => window.havenSentVideoLayers())]),
    ));
    const speakers = await eventually('Far hears and sees everyone', async () => {
      const s = await stats(far);
      const names = Object.keys(s);
      return names.length === 3 && names.every((n) => s[n].totalSamples > 48000 && s[n].framesDecoded > 30) && names;
    }, 60000);
    // The facilitator's display name is the account's.
    publishers[speakers.find((n) => !['Bo', 'Cy'].includes(n))] = ada;

    for (const [kbit, videoExpected] of [[800, true], [250, false]]) {
      net.setRate(kbit);
      await sleep(WARM_UP_MS);
      const a = await stats(far);
      const bo1 = await stats(bo);
      const sent1 = await sentLayers(publishers);
      await sleep(WINDOW_MS);
      const b = await stats(far);
      const bo2 = await stats(bo);
      const sent2 = await sentLayers(publishers);
      const failures = [];
      const check = (ok, msg) => { if (!ok) failures.push(msg); };
      for (const speaker of speakers) {
        const share = delta(a, b, speaker, 'concealedSamples') / delta(a, b, speaker, 'totalSamples');
        const fps = delta(a, b, speaker, 'framesDecoded') / (WINDOW_MS / 1000);
        console.log(`${kbit} kbit/s: Far concealed ${(share * 100).toFixed(2)}% of ${speaker}; video ${fps.toFixed(1)} fps at width ${b[speaker].frameWidth}`);
        check(share <= 0.01, `Far concealed ${(share * 100).toFixed(2)}% of ${speaker} at ${kbit} kbit/s`);
        if (videoExpected) {
          // At least 10 fps, or what the publisher itself managed on that
          // layer (four pages share two cores here; a browser short of CPU
          // lowers its own frame rate, which no server can mend).
          const layer = b[speaker].frameWidth <= 320 ? 'q' : 'h';
          const sentFps = ((sent2[speaker][layer]?.framesSent ?? 0) - (sent1[speaker][layer]?.framesSent ?? 0)) / (WINDOW_MS / 1000);
          console.log(`${kbit} kbit/s: ${speaker} sent layer ${layer} at ${sentFps.toFixed(1)} fps`);
          check(fps >= Math.min(10, 0.8 * sentFps), `Far saw ${speaker} at ${fps.toFixed(1)} fps (sent ${sentFps.toFixed(1)})`);
        } else {
          check(fps < 1, `Far still decodes ${speaker} at ${fps.toFixed(1)} fps at ${kbit} kbit/s`);
        }
      }
      // Bo, on an open link, keeps the large layer of everyone who sends
      // it (a browser short of CPU stops sending its large layer itself).
      for (const speaker of Object.keys(bo2)) {
        const fps = delta(bo1, bo2, speaker, 'framesDecoded') / (WINDOW_MS / 1000);
        const large = (sent2[speaker].h?.framesSent ?? 0) - (sent1[speaker].h?.framesSent ?? 0) > 100;
        console.log(`${kbit} kbit/s: Bo sees ${speaker} at ${fps.toFixed(1)} fps, width ${bo2[speaker].frameWidth} (large layer sent: ${large})`);
        check(fps >= 10, `Bo sees ${speaker} at ${fps.toFixed(1)} fps`);
        if (large) check(bo2[speaker].frameWidth >= 640, `Bo gets ${speaker} at width ${bo2[speaker].frameWidth}, not the large layer`);
      }
      const notice = await far.locator(tid('video-paused')).isVisible();
      check(notice === !videoExpected, `the video-paused notice is ${notice ? 'shown' : 'hidden'} at ${kbit} kbit/s`);
      console.log(failures.length ? `${kbit} kbit/s, not as issue 9 expects:\n  ${failures.join('\n  ')}` : `${kbit} kbit/s: as issue 9 expects`);
    }
  } finally {
    await session.close();
  }
}

try {
  await measure();
} finally {
  net.close();
}
