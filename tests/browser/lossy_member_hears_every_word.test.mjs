// A member whose connection loses packets hears the group without clipped
// words: Haven sends that member redundant audio (RED), and only that
// member. Far sits in its own network namespace behind a veth pair, with
// nftables dropping a random share of the UDP arriving there (its
// downlink); Ada and Near are on clean links. Concealment is what the
// listener's browser had to invent for lost audio
// (concealedSamples / totalSamplesReceived).
//
// To see it fail without the protection:
//   HAVEN_TEST_ENV='{"HAVEN_AUDIO_PROTECTION":"false"}' (extra environment for haven).

import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { eventually, sleep, stats } from './harness.mjs';
import { memberNetwork, sessionWithFarMember } from './netns.mjs';

const WARM_UP_MS = 15000; // receiver reports show the loss, protection starts
const WINDOW_MS = 30000;

const net = memberNetwork();
after(() => net.close());

/** What each page received and sent, at one moment. */
async function snapshot(pages) {
  const out = {};
  for (const [name, page] of Object.entries(pages)) {
    out[name] = { inbound: await stats(page), sent: await page.evaluate(() => window.havenSentAudioBytes()) };
  }
  return out;
}

const delta = (a, b, listener, speaker, field) => b[listener].inbound[speaker][field] - a[listener].inbound[speaker][field];

test('a member on a lossy link hears every word; clean members pay nothing for it', { timeout: 300000 }, async () => {
  const session = await sessionWithFarMember(net, ['Near']);
  try {
    const { ada, Near: near, Far: far } = session.pages;
    const pages = { ada, near, far };
    const adaName = await eventually('Far hears the facilitator and Near', async () => {
      const s = await stats(far);
      const names = Object.keys(s);
      return names.length === 2 && names.every((n) => s[n].totalSamples > 48000) && names.find((n) => n !== 'Near');
    }, 60000);
    const speakers = [adaName, 'Near'];

    for (const [loss, limit] of [[0.03, 0.005], [0.10, 0.02]]) {
      net.setLoss(loss);
      await sleep(WARM_UP_MS);
      const a = await snapshot(pages);
      const droppedBefore = net.dropped();
      await sleep(WINDOW_MS);
      const b = await snapshot(pages);
      const dropped = net.dropped() - droppedBefore;
      assert.ok(dropped > 100, `the namespace dropped only ${dropped} datagrams`);
      for (const speaker of speakers) {
        const concealed = delta(a, b, 'far', speaker, 'concealedSamples');
        const total = delta(a, b, 'far', speaker, 'totalSamples');
        const share = concealed / total;
        // What a listener on a clean link concealed of the same speaker in
        // the same window: the machine's own share (three pages on two
        // busy cores sometimes play late), not the link's.
        const clean = speaker === 'Near' ? 'ada' : 'near';
        const base = delta(a, b, clean, speaker, 'concealedSamples') / delta(a, b, clean, speaker, 'totalSamples');
        console.log(`loss ${loss * 100}%: Far concealed ${(share * 100).toFixed(2)}% of ${speaker}'s audio (a clean listener ${(base * 100).toFixed(2)}%)`);
        assert.ok(total > 48000 * 20, `Far received too little of ${speaker}'s audio`);
        assert.ok(share <= limit + base, `Far concealed ${(share * 100).toFixed(2)}% of ${speaker} at ${loss * 100}% loss (limit ${limit * 100}% over the clean listener's ${(base * 100).toFixed(2)}%)`);
      }
      // Clean listeners get exactly what the speaker sent (plain Opus).
      for (const [listener, speaker, speakerPage] of [['ada', 'Near', 'near'], ['near', adaName, 'ada']]) {
        const got = delta(a, b, listener, speaker, 'audioBytes');
        const sent = b[speakerPage].sent - a[speakerPage].sent;
        console.log(`loss ${loss * 100}%: ${listener} received ${got} audio bytes of ${speaker}'s ${sent}`);
        assert.ok(Math.abs(got - sent) <= 0.05 * sent, `${listener} received ${got} bytes of ${speaker}'s ${sent}`);
      }
      const farGot = delta(a, b, 'far', 'Near', 'audioBytes');
      console.log(`loss ${loss * 100}%: Far received ${farGot} audio bytes of Near's ${b.near.sent - a.near.sent}`);
    }
  } finally {
    await session.close();
  }
});
