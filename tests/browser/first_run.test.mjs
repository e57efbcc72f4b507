// First run: with no account yet, `haven serve` prints a one-time link;
// opening it, the first facilitator chooses a name and password and lands
// in the console, logged in. The link then shows that it no longer works.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, launch, newPage, startHaven, tid } from './harness.mjs';

test('the first facilitator signs up from the printed link', { timeout: 60000 }, async () => {
  const haven = await startHaven([]);
  const browser = await launch();
  try {
    const printed = await eventually('the setup link is printed', () => haven.stdout().match(/\S+\/setup\/\S+/));
    const link = new URL(printed[0]);
    const page = await newPage(browser, haven.base);
    await page.goto(new URL(link.pathname, haven.base).href);
    await page.fill(tid('setup-username'), 'ada');
    await page.fill(tid('setup-password'), 'a-long-password-for-tests');
    await page.fill(tid('setup-repeat'), 'a-long-password-for-tests');
    await page.click(tid('setup-submit'));
    await page.locator('#groups-screen').waitFor({ state: 'visible' });
    const again = await newPage(browser, haven.base);
    const resp = await again.goto(new URL(link.pathname, haven.base).href);
    assert.equal(resp.status(), 404);
    await again.locator(tid('setup-used')).waitFor({ state: 'visible' });
  } finally {
    await browser.close();
    haven.stop();
  }
});
