// A clinic tries Haven over plain http on an address that is not localhost
// (a LAN address, a test host name): the browser gives such pages no camera
// and no microphone. Before, every member then joined silently, unheard,
// and the page's `load` never completed. Now the page loads and says
// plainly that it must be opened over https://; and since such a page has
// no WebCrypto either, it cannot encrypt the session end to end, so it
// cannot knock at all (fail closed). `haven serve` warns at start.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { launch, logIn, newPage, startHaven, tid } from './harness.mjs';

test('a plain-http page says so and cannot knock unencrypted', { timeout: 120000 }, async () => {
  const haven = await startHaven(['ada'], { publicHost: 'insecure.test' });
  const browser = await launch({ hostRules: 'MAP insecure.test 127.0.0.1' });
  // The facilitator's browser treats the origin as https would be (a
  // console must encrypt too); the member's does not.
  const facBrowser = await launch({ hostRules: 'MAP insecure.test 127.0.0.1', secureOrigin: haven.base });
  try {
    assert.match(haven.stdout(), /only on https:\/\/ pages/, 'haven serve did not warn');
    const fac = await newPage(facBrowser, haven.base);
    await logIn(fac, 'ada');
    await fac.fill(tid('group-create-name'), 'LAN group');
    await fac.click(tid('group-create-submit'));
    const card = fac.locator('section.card[data-group]', { hasText: 'LAN group' });
    const link = (await card.locator(tid('group-invite-link')).textContent()).trim();
    await card.locator(tid('session-start')).click();
    await fac.locator('#session-screen').waitFor({ state: 'visible' });

    const member = await newPage(browser, haven.base);
    // The page's load event completes without devices.
    await member.goto(link, { waitUntil: 'load', timeout: 15000 });
    assert.equal(await member.evaluate(() => window.isSecureContext), false);
    await member.locator(tid('insecure-context')).waitFor({ state: 'visible' });
    assert.match(await member.locator(tid('insecure-context')).innerText(), /secure \(https\)/);

    await member.fill(tid('join-name'), 'Sam');
    await member.check(tid('join-agree'));
    assert.match(await member.locator('#join-error').innerText(), /cannot encrypt the session end to end/);
    assert.ok(await member.locator(tid('join-knock')).isDisabled(), 'a page that cannot encrypt may knock');
    await member.waitForTimeout(1000);
    assert.ok(await member.locator(tid('waiting-screen')).isHidden(), 'knocked without encryption');
    assert.equal(await fac.locator(tid('waiting-entry')).count(), 0, 'the facilitator saw a knock');
  } finally {
    await facBrowser.close();
    await browser.close();
    haven.stop();
  }
});
