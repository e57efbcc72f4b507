// A facilitator and three members in real headless Chromium against the real
// `haven serve`: knock, deny one, admit two; every admitted page decodes the
// others' video and receives their audio; the waiting page shows nobody;
// a facilitator's mute stops that member's audio on the others' pages;
// return-to-waiting and remove work; ending the session ends it for all.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, participantAction, receivesFrom, sleep, startHaven, stats, tid,
} from './harness.mjs';

async function videoAdvances(page, name) {
  const t = () => page.locator(`${tid('tile')}[data-name="${name}"] video`).evaluate((v) => v.currentTime);
  const t0 = await t();
  await sleep(1000);
  return (await t()) > t0;
}

test('facilitator and members in real browsers', { timeout: 240000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Tuesday group');
    assert.match(link, /\/join\/[A-Za-z0-9_-]{20,}$/);

    const members = {};
    for (const name of ['Sam', 'Kim', 'Lee']) {
      members[name] = await newPage(browser, haven.base);
      await memberKnocks(members[name], link, name);
    }
    // The waiting page shows no names and no tiles.
    for (const [name, page] of Object.entries(members)) {
      assert.equal(await page.locator(tid('tile')).count(), 0);
      const text = await page.locator('body').innerText();
      for (const other of ['Sam', 'Kim', 'Lee', 'ada'].filter((n) => n !== name)) {
        assert.ok(!text.includes(other), `${name}'s waiting page shows ${other}`);
      }
    }
    // Knocks appear in arrival order.
    await eventually('three knocks', async () => (await fac.locator(tid('waiting-entry')).count()) === 3);
    const order = await fac.locator(tid('waiting-entry')).evaluateAll((els) => els.map((e) => e.dataset.name));
    assert.deepEqual(order, ['Sam', 'Kim', 'Lee']);

    // A private word before deciding: only Lee sees it.
    const leeEntry = fac.locator(`${tid('waiting-entry')}[data-name="Lee"]`);
    await leeEntry.locator(tid('message-open')).click();
    await leeEntry.locator(tid('message-text')).fill('One moment, please.');
    await leeEntry.locator(tid('message-send')).click();
    await eventually('Lee reads the message', async () => (await members.Lee.locator('#waiting-messages').innerText()).includes('One moment, please.'));
    for (const other of [members.Sam, members.Kim]) {
      assert.ok(!(await other.locator('body').innerText()).includes('One moment'), 'a private message reached someone else');
    }
    await fac.locator(`${tid('waiting-entry')}[data-name="Lee"] ${tid('deny')}`).click();
    await members.Lee.locator('#ended-screen').waitFor({ state: 'visible' });
    assert.match(await members.Lee.locator('#ended-title').innerText(), /not admitted/);
    await fac.locator(`${tid('waiting-entry')}[data-name="Sam"] ${tid('admit')}`).click();
    await fac.locator(`${tid('waiting-entry')}[data-name="Kim"] ${tid('admit')}`).click();

    // Every admitted page: a tile per other participant, decoding and hearing.
    const inRoom = { ada: fac, Sam: members.Sam, Kim: members.Kim };
    for (const [name, page] of Object.entries(inRoom)) {
      const others = Object.keys(inRoom).filter((n) => n !== name);
      await eventually(`${name} sees two tiles`, async () => (await page.locator(tid('tile')).count()) === 2);
      for (const o of others) await page.locator(`${tid('tile')}[data-name="${o}"]`).waitFor();
      await eventually(`${name} receives ${others}`, () => receivesFrom(page, others), 30000);
      for (const o of others) await eventually(`${name}'s video of ${o} plays`, () => videoAdvances(page, o));
    }

    // Mute Sam: Sam's audio stops arriving on the others' pages.
    await participantAction(fac, 'Sam', 'participant-mute');
    await eventually('Sam is told', async () => (await members.Sam.locator(tid('mute-self')).innerText()).includes('Muted by facilitator'));
    await sleep(1000);
    for (const page of [fac, members.Kim]) {
      const a = await stats(page);
      await sleep(2000);
      const b = await stats(page);
      assert.ok(b.Sam.audioBytes - a.Sam.audioBytes < 500, `Sam's audio still arrives: ${a.Sam.audioBytes} -> ${b.Sam.audioBytes}`);
      assert.ok(b.Sam.framesDecoded > a.Sam.framesDecoded, "Sam's video stopped too");
    }

    // Return Kim to the waiting room: Kim sees the waiting screen, the others lose the tile.
    await participantAction(fac, 'Kim', 'participant-return');
    await members.Kim.locator(tid('waiting-screen')).waitFor({ state: 'visible' });
    await eventually('Kim leaves the gallery', async () => (await members.Sam.locator(`${tid('tile')}[data-name="Kim"]`).count()) === 0);
    assert.equal(await members.Kim.locator(tid('tile')).count(), 0);

    // Remove Sam.
    await participantAction(fac, 'Sam', 'participant-remove');
    await members.Sam.locator('#ended-screen').waitFor({ state: 'visible' });
    assert.match(await members.Sam.locator('#ended-title').innerText(), /removed/);

    // End the session: Kim (waiting) is told too.
    await fac.click(tid('session-end'));
    await members.Kim.locator('#ended-screen').waitFor({ state: 'visible' });
    assert.match(await members.Kim.locator('#ended-title').innerText(), /ended/);
    await fac.locator('#groups-screen').waitFor({ state: 'visible' });
  } finally {
    await browser.close();
    haven.stop();
  }
});
