// The member journey by keyboard alone: Tab through the device check to the
// name, type it, Space to accept the agreement, Enter to knock; then, once
// admitted, the controls by keyboard, and leaving. Focus is always visible.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, facilitatorStarts, launch, newPage, startHaven, tid } from './harness.mjs';

/** Press Tab until the focused element has this test id (at most 30 times). */
async function tabTo(page, testid) {
  for (let i = 0; i < 30; i++) {
    await page.keyboard.press('Tab');
    const at = await page.evaluate(() => document.activeElement && document.activeElement.dataset.testid);
    if (at === testid) return;
  }
  assert.fail(`Tab never reached ${testid}`);
}

/** The focused element shows a visible focus ring. */
async function focusVisible(page) {
  return page.evaluate(() => {
    const s = getComputedStyle(document.activeElement);
    return s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) >= 2;
  });
}

test('member journey by keyboard only', { timeout: 120000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Keyboard group');

    const page = await newPage(browser, haven.base);
    await page.goto(link);
    await tabTo(page, 'join-name');
    assert.ok(await focusVisible(page), 'focus ring on the name field');
    await page.keyboard.type('Robin');
    await tabTo(page, 'join-agree');
    assert.ok(await focusVisible(page), 'focus ring on the agreement');
    await page.keyboard.press('Space');
    assert.ok(await page.isChecked(tid('join-agree')));
    await tabTo(page, 'join-knock');
    await page.keyboard.press('Enter');
    await page.locator(tid('waiting-screen')).waitFor({ state: 'visible' });
    // The waiting screen puts focus on its only control and announces itself.
    assert.equal(await page.evaluate(() => document.activeElement.id), 'waiting-leave');
    await eventually('announcement', async () => (await page.locator('#announcer').textContent()).includes('waiting room'));

    await fac.locator(`${tid('waiting-entry')}[data-name="Robin"] ${tid('admit')}`).click();
    await page.locator('#session-screen').waitFor({ state: 'visible' });

    await tabTo(page, 'mute-self');
    assert.ok(await focusVisible(page), 'focus ring on the microphone button');
    await page.keyboard.press('Enter');
    assert.equal(await page.getAttribute(tid('mute-self'), 'aria-pressed'), 'true');
    await tabTo(page, 'raise-hand');
    await page.keyboard.press('Space');
    assert.equal(await page.getAttribute(tid('raise-hand'), 'aria-pressed'), 'true');
    await eventually('the facilitator sees the hand', async () => (await fac.locator('ol[aria-label^="Raised hands"]').innerText()).includes('Robin'));
    await tabTo(page, 'leave');
    await page.keyboard.press('Enter');
    await page.locator('#ended-screen').waitFor({ state: 'visible' });
    await eventually('Robin left the facilitator\'s gallery', async () => (await fac.locator(tid('tile')).count()) === 0);
  } finally {
    await browser.close();
    haven.stop();
  }
});
