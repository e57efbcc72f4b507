// Connections that drop mid-session. A member's: the page says so plainly,
// rejoins on its own without knocking again, and media flows both ways
// again; the facilitator sees "reconnecting" meanwhile and never a second
// copy of the member or a new knock. The facilitator's: members are told
// and stay connected, a knock meanwhile waits (nobody is admitted by
// default), and the facilitator comes back to admit it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, relay, sleep, startHaven, stats, tid,
} from './harness.mjs';

async function receives(page, name) {
  const a = await stats(page);
  await sleep(1500);
  const b = await stats(page);
  return a[name] && b[name] && b[name].audioBytes > a[name].audioBytes && b[name].framesDecoded > a[name].framesDecoded;
}

test('a member whose connection drops rejoins on its own', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const path = await relay(haven.base);
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Thursday group');
    // Sam reaches Haven through the relay, i.e. over a network that can fail.
    const sam = await newPage(browser, path.base);
    await memberKnocks(sam, new URL(new URL(link).pathname, path.base).href, 'Sam');
    await fac.locator(`${tid('waiting-entry')}[data-name="Sam"] ${tid('admit')}`).click();
    await eventually('ada receives Sam', () => receives(fac, 'Sam'), 30000);
    await eventually('Sam receives ada', () => receives(sam, 'ada'), 30000);
    const row = fac.locator(`[data-testid="participant-row"][data-name="Sam"]`);

    path.cut(4000);
    await sam.locator('#reconnecting').waitFor({ state: 'visible', timeout: 10000 });
    assert.match(await sam.locator('#reconnecting').innerText(), /connection dropped/i);
    await eventually('the facilitator sees Sam reconnecting', async () => (await row.innerText()).includes('reconnecting'));

    // Back without knocking: the banner goes, media flows both ways again.
    await sam.locator('#reconnecting').waitFor({ state: 'hidden', timeout: 30000 });
    assert.ok(await sam.locator('#session-screen').isVisible(), 'Sam is back in the session');
    await eventually('Sam no longer reconnecting', async () => !(await row.innerText()).includes('reconnecting'));
    await eventually('ada receives Sam again', () => receives(fac, 'Sam'), 30000);
    await eventually('Sam receives ada again', () => receives(sam, 'ada'), 30000);
    assert.equal(await fac.locator(tid('waiting-entry')).count(), 0, 'Sam had to knock again');
    assert.equal(await fac.locator(`${tid('tile')}[data-name="Sam"]`).count(), 1, 'one tile for Sam');
    assert.equal(await fac.locator('[data-testid="participant-row"][data-name="Sam"]').count(), 1, 'one row for Sam');
    assert.equal(await sam.locator(tid('tile')).count(), 1, 'Sam sees one tile (ada)');
  } finally {
    await browser.close();
    path.stop();
    haven.stop();
  }
});

test('the facilitator drops: members stay, admissions wait, the facilitator returns', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const path = await relay(haven.base);
  const browser = await launch();
  try {
    // The facilitator reaches Haven through the relay this time.
    const fac = await newPage(browser, path.base);
    const link = await facilitatorStarts(fac, 'Monday group');
    const memberLink = new URL(new URL(link).pathname, haven.base).href;
    const sam = await newPage(browser, haven.base);
    await memberKnocks(sam, memberLink, 'Sam');
    await fac.locator(`${tid('waiting-entry')}[data-name="Sam"] ${tid('admit')}`).click();
    await eventually('Sam receives ada', () => receives(sam, 'ada'), 30000);

    path.cut(6000);
    await sam.locator('#facilitator-away').waitFor({ state: 'visible', timeout: 15000 });
    await fac.locator('#reconnecting').waitFor({ state: 'visible', timeout: 10000 });
    // Meanwhile Kim knocks and waits: nobody admits in the facilitator's absence.
    const kim = await newPage(browser, haven.base);
    await memberKnocks(kim, memberLink, 'Kim');
    await sleep(1000);
    assert.ok(await kim.locator(tid('waiting-screen')).isVisible(), 'Kim was let in without the facilitator');
    assert.equal(await sam.locator(tid('tile')).count(), 1, 'Sam still sees only ada');

    // Back: the banner goes, Kim's knock is there to decide, media flows again.
    await sam.locator('#facilitator-away').waitFor({ state: 'hidden', timeout: 30000 });
    await fac.locator('#reconnecting').waitFor({ state: 'hidden', timeout: 30000 });
    await eventually('ada receives Sam again', () => receives(fac, 'Sam'), 30000);
    await fac.locator(`${tid('waiting-entry')}[data-name="Kim"] ${tid('admit')}`).click();
    await kim.locator('#session-screen').waitFor({ state: 'visible' });
    await eventually('Kim receives Sam and ada', async () => (await receives(kim, 'Sam')) && (await receives(kim, 'ada')), 30000);
  } finally {
    await browser.close();
    path.stop();
    haven.stop();
  }
});
