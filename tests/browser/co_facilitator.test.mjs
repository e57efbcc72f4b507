// The facilitator's connection drops for good while the co-facilitator is
// in the session: admissions wait until the co-facilitator takes over from
// their own console, then the co-facilitator admits a knocking member and
// has the facilitator's controls.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually, facilitatorStarts, launch, logIn, memberKnocks, newPage, relay, sleep, startHaven, tid,
} from './harness.mjs';

test('the co-facilitator takes over when the facilitator is gone', { timeout: 180000 }, async () => {
  const haven = await startHaven(['ada', 'bea']);
  const path = await relay(haven.base);
  const browser = await launch();
  try {
    const ada = await newPage(browser, path.base);
    const link = await facilitatorStarts(ada, 'Wednesday group', 'bea');
    const bea = await newPage(browser, haven.base);
    await logIn(bea, 'bea');
    // Bea co-facilitates only once she accepts ada's invitation.
    await bea.click(tid('invitation-accept'));
    const card = bea.locator('section.card[data-group]', { hasText: 'Wednesday group' });
    assert.match(await card.innerText(), /you co-facilitate/);
    await card.locator(tid('session-start')).click();
    await bea.locator('#session-screen').waitFor({ state: 'visible' });
    await eventually('ada sees bea', async () => (await ada.locator(`${tid('tile')}[data-name="bea"]`).count()) === 1);
    assert.ok(await bea.locator(tid('take-over')).isHidden(), 'take-over offered while the facilitator is there');

    path.cut(120000);
    await eventually('bea is offered to take over', () => bea.locator(tid('take-over')).isVisible(), 20000);
    const memberLink = new URL(new URL(link).pathname, haven.base).href;
    const sam = await newPage(browser, haven.base);
    await memberKnocks(sam, memberLink, 'Sam');
    await sleep(1000);
    assert.ok(await sam.locator(tid('waiting-screen')).isVisible(), 'admitted while nobody facilitates');

    await bea.click(tid('take-over'));
    const entry = bea.locator(`${tid('waiting-entry')}[data-name="Sam"]`);
    await entry.locator(tid('admit')).click();
    await sam.locator('#session-screen').waitFor({ state: 'visible' });
    await eventually('Sam sees bea', async () => (await sam.locator(`${tid('tile')}[data-name="bea"]`).count()) === 1);
    await eventually('bea facilitates', async () => (await bea.locator(`[data-testid="participant-row"][data-name="Sam"] ${tid('participant-mute')}`).count()) === 1);
  } finally {
    await browser.close();
    path.stop();
    haven.stop();
  }
});
