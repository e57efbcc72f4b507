// Each page says which tiles it shows and how large; the SFU sends every
// tile the layer it can show. On a phone the tiles are small and get the
// small layer (320 pixels wide), on a laptop in a small group the large one
// (640), from the same publishers at the same time. A layer nobody
// receives is not encoded: nobody shows the phone's camera small, so the
// phone stops encoding its small layer, while the others keep theirs.
// Ada and Sam keep their microphones muted, so neither becomes the active
// speaker (whose tile gets a larger layer).

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, sleep, startHaven, stats, tid,
} from './harness.mjs';

const PHONE = { width: 390, height: 844 };

test('small tiles on a phone get the small layer, a laptop the large one', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const ada = await newPage(browser, haven.base);
    const link = await facilitatorStarts(ada, 'Tuesday group');
    const sam = await newPage(browser, haven.base);
    const kim = await newPage(browser, haven.base, PHONE);
    await memberKnocks(sam, link, 'Sam');
    await memberKnocks(kim, link, 'Kim');
    await ada.click(tid('admit-all'));
    // Only Kim speaks: the active speaker's tile gets one layer more
    // (allocation.rs), so had the fake microphone made Sam the speaker,
    // Kim's phone would show Sam large and nobody would receive Sam's
    // small layer (one CI run found it paused so).
    for (const page of [ada, sam]) {
      await page.click(tid('mute-self'));
      assert.equal(await page.getAttribute(tid('mute-self'), 'aria-pressed'), 'true');
    }
    const widths = async (page) => Object.fromEntries(Object.entries(await stats(page)).map(([n, s]) => [n, s.frameWidth]));
    const onPhone = await eventually('the phone gets small layers', async () => {
      const w = await widths(kim);
      return Object.keys(w).length === 2 && Object.values(w).every((x) => x === 320) && w;
    }, 60000);
    const onLaptop = await eventually('the laptop gets large layers', async () => {
      const w = await widths(sam);
      return Object.keys(w).length === 2 && Object.values(w).every((x) => x === 640) && w;
    }, 60000);
    console.log(`phone: ${JSON.stringify(onPhone)}, laptop: ${JSON.stringify(onLaptop)}`);
    // And the tile sizes the phone reported explain it.
    const tileWidth = await kim.locator(tid('tile')).first().evaluate((e) => e.getBoundingClientRect().width);
    assert.ok(tileWidth <= 400, `the phone's tiles are ${tileWidth} px wide`);

    // Nobody shows Kim small: Kim's page stops encoding its small layer
    // (no frame sent in two seconds); Sam's small layer, on Kim's phone,
    // goes on.
    // What a page sends, read twice two seconds apart.
    const sentOverTwoSeconds = async (page) => {
      const read = () => page.evaluate(() => window.havenSentVideoLayers());
      const before = await read();
      await sleep(2000);
      return { before, after: await read() };
    };
    const stopped = await eventually("the phone's small layer stops", async () => {
      const { before: a, after: b } = await sentOverTwoSeconds(kim);
      return a.q && a.q.active === false && b.q.framesSent === a.q.framesSent
        && b.h.framesSent > a.h.framesSent + 10 && { before: a, after: b };
    }, 30000);
    const { before: a, after: b } = await sentOverTwoSeconds(sam);
    assert.ok(b.q.active && b.q.framesSent > a.q.framesSent + 10, `Sam's small layer goes on: ${JSON.stringify([a, b])}`);
    console.log(`the phone's own layers: ${JSON.stringify(stopped)}`);
  } finally {
    await browser.close();
    haven.stop();
  }
});
