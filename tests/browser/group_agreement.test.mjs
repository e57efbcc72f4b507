// The facilitator writes the group's own agreement in the console; a member
// opening the invite link reads exactly that before knocking. Another
// group keeps Haven's default.

import assert from 'node:assert/strict';
import { test } from 'node:test';
import { facilitatorStarts, launch, logIn, newPage, startHaven, tid } from './harness.mjs';

test("the group's own agreement is what members accept", { timeout: 120000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const ada = await newPage(browser, haven.base);
    const link = await facilitatorStarts(ada, 'Thursday group');
    const console = await newPage(browser, haven.base);
    await logIn(console, 'ada');
    const card = console.locator('section.card[data-group]', { hasText: 'Thursday group' });
    await card.locator('summary', { hasText: 'Group agreement and wording' }).click();
    assert.match(await card.locator(tid('agreement-edit')).inputValue(), /stays in the group/, 'the default to start from');
    await card.locator(tid('agreement-edit')).fill('We start and end on time.\n\nWe speak for ourselves.\n');
    await card.locator(tid('agreement-save')).click();
    await console.locator('[aria-live]', { hasText: 'Saved' }).first().waitFor();

    const member = await newPage(browser, haven.base);
    await member.goto(link);
    const points = member.locator(`${tid('agreement')} li`);
    await points.nth(1).waitFor();
    assert.deepEqual(await points.allInnerTexts(), ['We start and end on time.', 'We speak for ourselves.']);

    // A link that opens nothing tells nothing.
    const r = await member.evaluate(async () => (await fetch('/api/invite/notarealtoken')).status);
    assert.equal(r, 404);
  } finally {
    await browser.close();
    haven.stop();
  }
});
