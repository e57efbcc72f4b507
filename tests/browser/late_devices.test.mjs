// The knock race: a member may knock while the camera/microphone permission
// prompt is still open or before the devices start. Whatever devices arrive
// afterwards must be published (replaceTrack on the senders the page already
// has, no renegotiation), whether they arrive while the member waits or
// after they were admitted. Before the fix such a member heard the group
// and nobody heard them, for the whole session, and nothing said so.

import { test } from 'node:test';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, sleep, startHaven, stats, tid,
} from './harness.mjs';

/** getUserMedia answers only when the test calls `window.releaseDevices()`. */
function holdDevices() {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  let release;
  const gate = new Promise((ok) => { release = ok; });
  window.releaseDevices = release;
  navigator.mediaDevices.getUserMedia = async (constraints) => { await gate; return real(constraints); };
}

async function receives(page, name) {
  const a = await stats(page);
  await sleep(1500);
  const b = await stats(page);
  return a[name] && b[name] && b[name].audioBytes > a[name].audioBytes && b[name].framesDecoded > a[name].framesDecoded;
}

test('devices that start after the knock are heard and seen', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Tuesday group');
    const admit = (name) => fac.locator(`${tid('waiting-entry')}[data-name="${name}"] ${tid('admit')}`).click();

    // Lee: admitted first, devices 3 s after knocking (mid-session).
    const lee = await newPage(browser, haven.base);
    await lee.addInitScript(holdDevices);
    await memberKnocks(lee, link, 'Lee');
    const knockedAt = Date.now();
    await admit('Lee');
    await lee.locator('#session-screen').waitFor({ state: 'visible' });
    await sleep(Math.max(0, 3000 - (Date.now() - knockedAt)));
    await lee.evaluate(() => window.releaseDevices());
    await eventually('ada hears and sees Lee', () => receives(fac, 'Lee'), 30000);

    // Wren: devices 3 s after knocking, while still in the waiting room.
    const wren = await newPage(browser, haven.base);
    await wren.addInitScript(holdDevices);
    await memberKnocks(wren, link, 'Wren');
    await sleep(3000);
    await wren.evaluate(() => window.releaseDevices());
    await admit('Wren');
    await eventually('ada hears and sees Wren', () => receives(fac, 'Wren'), 30000);
    await eventually('Lee hears and sees Wren', () => receives(lee, 'Wren'), 30000);
  } finally {
    await browser.close();
    haven.stop();
  }
});
