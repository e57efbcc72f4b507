// A check-in round: everyone sees the order and whose turn it is; "Next"
// moves it on, the person whose turn it is may pass, and after the last
// turn it is over. (And the session clock shows on the console only.)

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, SCREENSHOTS, startHaven, tid,
} from './harness.mjs';

/** The round as a page shows it: names in order, and whose turn it is. */
async function roundOn(page) {
  const order = page.locator(`${tid('round-order')} li`);
  const names = await order.evaluateAll((lis) => lis.map((li) => li.dataset.name));
  const current = await order.evaluateAll((lis) => (lis.find((li) => li.getAttribute('aria-current') === 'true') || {}).dataset?.name);
  return { names, current };
}

test('a round goes through three people in order', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const ada = await newPage(browser, haven.base);
    const link = await facilitatorStarts(ada, 'Check-in group');
    const river = await newPage(browser, haven.base);
    const sam = await newPage(browser, haven.base);
    await memberKnocks(river, link, 'River');
    await memberKnocks(sam, link, 'Sam');
    await ada.click(tid('admit-all'));
    for (const page of [ada, river, sam]) {
      await eventually('all in', async () => (await page.locator(tid('tile')).count()) === 2);
    }
    const pages = [ada, river, sam];
    // The session clock is the facilitators' alone.
    assert.match(await ada.locator(tid('session-clock')).innerText(), /0 min in · 90 min left of 90/);
    for (const page of [river, sam]) assert.equal(await page.locator(tid('session-clock')).count(), 0);
    const everyoneSees = async (current) => {
      for (const page of pages) {
        await eventually(`${current}'s turn`, async () => {
          const r = await roundOn(page);
          return r.current === current && r.names.length === 3;
        });
      }
    };

    await ada.click(tid('round-start'));
    await everyoneSees('River');
    const { names } = await roundOn(sam);
    assert.deepEqual(names.slice(0, 2), ['River', 'Sam'], 'members first, in order of arrival');
    assert.ok(await sam.locator(tid('round-pass')).isHidden(), 'only the speaker may pass');
    await ada.click(tid('round-next'));
    await everyoneSees('Sam');
    mkdirSync(SCREENSHOTS, { recursive: true });
    await sam.screenshot({ path: join(SCREENSHOTS, 'round-in-progress.png') });
    await sam.click(tid('round-pass'));
    const facilitator = names[2];
    await everyoneSees(facilitator);
    assert.match(await river.locator(`${tid('round-order')} li[data-name="Sam"]`).innerText(), /passed/);
    await ada.click(tid('round-next'));
    for (const page of pages) {
      await eventually('the round is over', async () => page.locator(tid('round-order')).isHidden());
    }
    assert.ok(await ada.locator(tid('round-start')).isVisible(), 'a new round can start');
  } finally {
    await browser.close();
    haven.stop();
  }
});
