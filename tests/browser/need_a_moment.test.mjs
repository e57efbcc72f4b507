// "I need a moment" reaches both facilitators, discreetly, and no member;
// stepping away turns the member's camera and microphone off and their
// tile says so to everyone.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  coFacilitatorJoins, eventually, facilitatorStarts, launch, memberKnocks, newPage, startHaven, tid,
} from './harness.mjs';

test('need a moment reaches the facilitators only; stepping away shows on the tile', { timeout: 180000 }, async () => {
  const haven = await startHaven(['ada', 'bea']);
  const browser = await launch();
  try {
    const ada = await newPage(browser, haven.base);
    const link = await facilitatorStarts(ada, 'Friday group', 'bea');
    const bea = await newPage(browser, haven.base);
    await coFacilitatorJoins(bea, 'bea', 'Friday group');
    const river = await newPage(browser, haven.base);
    const sam = await newPage(browser, haven.base);
    await memberKnocks(river, link, 'River');
    await memberKnocks(sam, link, 'Sam');
    await ada.click(tid('admit-all'));
    for (const page of [ada, bea, sam]) {
      await eventually('River is in', async () => (await page.locator(`${tid('tile')}[data-name="River"]`).count()) === 1);
    }
    // Facilitators have no such button; members do.
    assert.ok(await ada.locator(tid('need-moment')).isHidden());

    await river.click(tid('need-moment'));
    assert.equal(await river.locator(tid('need-moment')).getAttribute('aria-pressed'), 'true');
    const flag = (page) => page.locator(`${tid('participant-row')}[data-name="River"] ${tid('need-moment-flag')}`);
    for (const page of [ada, bea]) {
      await eventually('the facilitator sees the flag', async () => (await flag(page).count()) === 1);
      assert.match(await page.locator('[aria-live]').allInnerTexts().then((t) => t.join(' ')), /River needs a moment/);
    }
    // Sam sees nothing of it: no flag, no word anywhere on the page.
    await river.waitForTimeout(1000);
    assert.equal(await sam.locator(tid('need-moment-flag')).count(), 0);
    assert.doesNotMatch(await sam.locator('body').innerText(), /needs a moment/);

    await river.click(tid('need-moment'));
    for (const page of [ada, bea]) {
      await eventually('the flag goes', async () => (await flag(page).count()) === 0);
    }

    // Stepping away: own camera and microphone off, the tile says so.
    await river.click(tid('step-away'));
    assert.equal(await river.locator(tid('mute-self')).getAttribute('aria-pressed'), 'true');
    assert.equal(await river.locator(tid('camera-self')).getAttribute('aria-pressed'), 'true');
    for (const page of [ada, sam]) {
      await eventually('the tile says stepped away', async () => /stepped away/.test(await page.locator(`${tid('tile')}[data-name="River"]`).innerText()));
    }
    await river.click(tid('step-away'));
    assert.equal(await river.locator(tid('mute-self')).getAttribute('aria-pressed'), 'false');
    await eventually('back', async () => !/stepped away/.test(await sam.locator(`${tid('tile')}[data-name="River"]`).innerText()));
  } finally {
    await browser.close();
    haven.stop();
  }
});
