// A crash (SIGKILL) or a restart (SIGTERM, as systemd or an upgrade sends)
// in the middle of a session: every page reconnects by itself and finds
// its place; the admitted see and hear each other again, the waiting
// member is still waiting, the facilitator's console is in the same
// session, still logged in, and nobody knocked.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, receivesFrom, startHaven, stats, tid,
} from './harness.mjs';

/** Remember whether the waiting screen ever shows on this page (a knock). */
async function watchForKnocks(page) {
  await page.addInitScript(() => {
    window.havenSawWaiting = false;
    document.addEventListener('DOMContentLoaded', () => {
      const el = document.querySelector('[data-testid="waiting-screen"]');
      if (!el) return;
      new MutationObserver(() => { if (!el.hidden) window.havenSawWaiting = true; })
        .observe(el, { attributes: true, attributeFilter: ['hidden'] });
    });
  });
}

test('a crash or a restart mid-session: everyone is back where they were, nobody knocks', { timeout: 300000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Thursday group');
    const members = {};
    for (const name of ['Sam', 'Kim']) {
      members[name] = await newPage(browser, haven.base);
      await watchForKnocks(members[name]);
      await memberKnocks(members[name], link, name);
      await fac.locator(`${tid('waiting-entry')}[data-name="${name}"] ${tid('admit')}`).click();
      await members[name].locator('#session-screen').waitFor({ state: 'visible' });
      // From here on, the waiting screen would mean a new knock.
      await members[name].evaluate(() => { window.havenSawWaiting = false; });
    }
    const lee = await newPage(browser, haven.base);
    await memberKnocks(lee, link, 'Lee');
    const pages = { ada: fac, ...members };
    const names = Object.keys(pages);
    const allReceive = async () => {
      for (const [n, p] of Object.entries(pages)) {
        if (!(await receivesFrom(p, names.filter((o) => o !== n)))) return false;
      }
      return true;
    };
    await eventually('everyone sees and hears everyone', allReceive, 60000);

    for (const signal of ['SIGKILL', 'SIGTERM']) {
      const t0 = Date.now();
      await haven.restart(signal);
      const up = Date.now() - t0;
      // A liveness bound, not a speed target: the time is printed.
      try {
        await eventually(`after ${signal}, everyone sees and hears everyone again`, allReceive, 60000);
      } catch (e) {
        for (const [n, p] of Object.entries(pages)) {
          console.log(n, JSON.stringify(await stats(p)), await p.locator(tid('e2ee-status')).getAttribute('data-state'),
            await p.locator('#reconnecting').isVisible(), JSON.stringify(await p.evaluate(() => window.havenFrameCounts())));
        }
        console.log(haven.stdout());
        throw e;
      }
      console.log(`${signal}: Haven answered again after ${up} ms; every admitted page decoded the others again ${Date.now() - t0} ms after the ${signal}`);
      // The facilitator is still logged in, in the same session, with the
      // same people; Lee is still waiting, and the only one waiting.
      await fac.locator('#session-screen').waitFor({ state: 'visible' });
      await eventually('the console lists Sam and Kim', async () => (await fac.locator(tid('participant-row')).evaluateAll((r) => r.map((x) => x.dataset.name))).filter((n) => n === 'Sam' || n === 'Kim').length === 2);
      await eventually('Lee is waiting, alone', async () => {
        const waiting = await fac.locator(tid('waiting-entry')).evaluateAll((els) => els.map((e) => e.dataset.name));
        return waiting.length === 1 && waiting[0] === 'Lee';
      });
      assert.ok(await lee.locator(tid('waiting-screen')).isVisible(), 'Lee is not waiting any more');
      for (const [name, page] of Object.entries(members)) {
        assert.ok(await page.locator('#session-screen').isVisible(), `${name} left the session`);
        assert.equal(await page.evaluate(() => window.havenSawWaiting), false, `${name} had to knock again`);
      }
    }
    assert.match(haven.stdout(), /Resumed 1 open session/);
  } finally {
    await browser.close();
    haven.stop();
  }
});
