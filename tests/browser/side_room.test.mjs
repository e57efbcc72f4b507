// The side room: the facilitator takes River aside. River then hears only
// the facilitator; the group (the co-facilitator, Sam and a third member)
// no longer receives River or the facilitator, and keeps hearing the
// co-facilitator; the pages say so in their own words. When the
// co-facilitator ends it, everyone hears everyone again. Routing is the
// SFU's: what is measured is what each page receives (getStats).

import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  coFacilitatorJoins, eventually, facilitatorStarts, fakeMembers, launch, memberKnocks, newPage, participantAction, SCREENSHOTS,
  sleep, startHaven, stats, tid,
} from './harness.mjs';

/**
 * Audio bytes `page` received per speaker over `ms`; a speaker with no
 * receive slot at either end (not routed to this page) counts 0.
 */
async function audioDuring(page, ms) {
  const a = await stats(page);
  await sleep(ms);
  const b = await stats(page);
  const out = {};
  for (const [name, s] of Object.entries(b)) out[name] = a[name] ? s.audioBytes - a[name].audioBytes : 0;
  return out;
}

const hears = (got, name) => (got[name] || 0) > 1000;

test('a side room: two hear only each other, the group goes on without them', { timeout: 240000 }, async () => {
  const haven = await startHaven(['ada', 'bea']);
  const browser = await launch();
  let fakes = null;
  try {
    const ada = await newPage(browser, haven.base);
    const link = await facilitatorStarts(ada, 'Side room group', 'bea');
    const bea = await newPage(browser, haven.base);
    await coFacilitatorJoins(bea, 'bea', 'Side room group');
    const river = await newPage(browser, haven.base);
    const sam = await newPage(browser, haven.base);
    await memberKnocks(river, link, 'River');
    await memberKnocks(sam, link, 'Sam');
    fakes = fakeMembers(haven.base, link, ['Tao']);
    await eventually('three knocks', async () => (await ada.locator(tid('waiting-entry')).count()) === 3, 60000);
    await ada.click(tid('admit-all'));
    const everyone = ['ada', 'bea', 'River', 'Sam', 'Tao'];
    for (const [page, me] of [[river, 'River'], [sam, 'Sam']]) {
      await eventually(`${me} hears everyone`, async () => {
        const got = await audioDuring(page, 1000);
        return everyone.filter((n) => n !== me).every((n) => hears(got, n));
      }, 60000);
    }

    await participantAction(ada, 'River', 'side-room');
    await sleep(2000);
    const riverGot = await audioDuring(river, 3000);
    const samGot = await audioDuring(sam, 3000);
    console.log(`in the side room, River received ${JSON.stringify(riverGot)}; Sam ${JSON.stringify(samGot)}`);
    assert.ok(hears(riverGot, 'ada'), 'River hears the facilitator');
    for (const n of ['bea', 'Sam', 'Tao']) assert.ok(!riverGot[n], `River receives nothing from ${n}`);
    for (const n of ['River', 'ada']) assert.ok(!samGot[n], `Sam receives nothing from ${n}`);
    assert.ok(hears(samGot, 'bea') && hears(samGot, 'Tao'), 'Sam keeps hearing the co-facilitator and Tao');
    assert.match(await river.locator(tid('side-room-banner')).innerText(), /side room with ada/);
    assert.match(await ada.locator(tid('side-room-banner')).innerText(), /side room with River/);
    for (const page of [sam, bea]) {
      assert.match(await page.locator(tid('stepped-out-notice')).innerText(), /River stepped out with ada/);
    }
    // Nor are they seen: their tiles show no (frozen) picture.
    for (const n of ['River', 'ada']) {
      assert.ok(await sam.locator(`${tid('tile')}[data-name="${n}"] video`).evaluate((v) => v.srcObject === null), `Sam still shows ${n}'s picture`);
    }
    mkdirSync(SCREENSHOTS, { recursive: true });
    await river.screenshot({ path: join(SCREENSHOTS, 'side-room-inside.png') });
    await sam.screenshot({ path: join(SCREENSHOTS, 'side-room-outside.png') });

    await bea.click(tid('side-room-end'));
    for (const [page, me] of [[river, 'River'], [sam, 'Sam']]) {
      await eventually(`${me} hears everyone again`, async () => {
        const got = await audioDuring(page, 1000);
        return everyone.filter((n) => n !== me).every((n) => hears(got, n));
      }, 20000);
    }
    assert.ok(await sam.locator(tid('stepped-out-notice')).isHidden());
  } finally {
    if (fakes) fakes.stop();
    await browser.close();
    haven.stop();
  }
});
