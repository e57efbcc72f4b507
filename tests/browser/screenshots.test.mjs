// Screenshots of the main screens, made from real sessions (written under
// target/screenshots/; `HAVEN_SCREENSHOTS=docs/screenshots` refreshes the
// committed copies): device check, waiting room, the facilitator
// console with a waiting list and with 13 people, and the gallery with 4
// and 13 people on a laptop and a phone. Each step also asserts what the screen must show.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  SCREENSHOTS, eventually, facilitatorStarts, fakeMembers, launch, memberKnocks, newPage, sleep, startHaven, tid,
} from './harness.mjs';

const PHONE = { width: 390, height: 844 };
const shot = (page, name) => page.screenshot({ path: join(SCREENSHOTS, `${name}.png`) });

/** Every tile fits on screen: no scrolling is needed to see anyone. */
async function allTilesVisible(page, count) {
  await eventually(`${count} tiles`, async () => (await page.locator(tid('tile')).count()) === count, 60000);
  const boxes = await page.locator(tid('tile')).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
  const vh = await page.evaluate(() => window.innerHeight);
  const vw = await page.evaluate(() => window.innerWidth);
  for (const b of boxes) assert.ok(b.bottom <= vh + 1 && b.right <= vw + 1 && b.width > 60, `a tile is off screen: ${JSON.stringify(b)} in ${vw}x${vh}`);
}

test('screenshots of the main screens', { timeout: 300000 }, async () => {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const haven = await startHaven();
  const browser = await launch();
  let fakes = null;
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Wednesday group');

    const sam = await newPage(browser, haven.base);
    await sam.goto(link);
    await eventually('camera preview', () => sam.locator('#preview').evaluate((v) => v.currentTime > 0.5));
    await shot(sam, 'device-check');
    await memberKnocks(sam, link, 'Sam');
    await shot(sam, 'waiting');

    const kim = await newPage(browser, haven.base, PHONE);
    await memberKnocks(kim, link, 'Kim');
    const lee = await newPage(browser, haven.base);
    await memberKnocks(lee, link, 'Lee');
    await eventually('three knocks', async () => (await fac.locator(tid('waiting-entry')).count()) === 3);
    await shot(fac, 'console-waiting-list');

    await fac.click(tid('admit-all'));
    await allTilesVisible(sam, 3);
    await allTilesVisible(kim, 3);
    await eventually('video plays', async () => (await sam.evaluate(() => window.havenStats())).Lee?.framesDecoded > 30);
    await sleep(1000);
    await shot(sam, 'gallery-4-desktop');
    await shot(kim, 'gallery-4-phone');
    await shot(fac, 'console-in-session');

    // Nine light members make thirteen.
    const names = ['Ash', 'Bea', 'Cy', 'Dev', 'Eli', 'Fay', 'Gus', 'Hal', 'Ivy'];
    fakes = fakeMembers(haven.base, link, names);
    await eventually('nine knocks', async () => (await fac.locator(tid('waiting-entry')).count()) === 9, 60000);
    await fac.click(tid('admit-all'));
    await allTilesVisible(sam, 12);
    await allTilesVisible(kim, 12);
    await eventually('audio from all nine', async () => {
      const s = await sam.evaluate(() => window.havenStats());
      return names.every((n) => s[n] && s[n].audioBytes > 0);
    }, 60000);
    // The console fits thirteen on a laptop: one line per person, every
    // row on screen without scrolling the participant list.
    const rows = await fac.locator(tid('participant-row')).evaluateAll((els) => els.map((e) => e.getBoundingClientRect().toJSON()));
    const facHeight = await fac.evaluate(() => document.querySelector('.side').getBoundingClientRect().bottom);
    assert.equal(rows.length, 12);
    for (const r of rows) assert.ok(r.bottom <= facHeight && r.height < 40, `a participant row is off screen or too tall: ${JSON.stringify(r)}`);
    await shot(fac, 'console-13');
    await sleep(1500);
    await shot(sam, 'gallery-13-desktop');
    await shot(kim, 'gallery-13-phone');
    await kim.setViewportSize({ width: PHONE.height, height: PHONE.width });
    await sleep(500);
    await allTilesVisible(kim, 12);
    await shot(kim, 'gallery-13-phone-landscape');
  } finally {
    if (fakes) fakes.stop();
    await browser.close();
    haven.stop();
  }
});
