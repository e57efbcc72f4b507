// A member's microphone stops mid-session (unplugged, taken by another
// app): the member's page says so and offers the devices to choose from,
// the facilitator's console shows an icon in that member's row (no sound),
// and once the member picks a working microphone it is published without
// renegotiating: the icon goes and the others hear them again.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, sleep, startHaven, stats, tid,
} from './harness.mjs';

/** Keep every track the page gets, so the test can end one. */
function recordTracks() {
  const real = navigator.mediaDevices.getUserMedia.bind(navigator.mediaDevices);
  window.recordedTracks = [];
  navigator.mediaDevices.getUserMedia = async (constraints) => {
    const s = await real(constraints);
    window.recordedTracks.push(...s.getTracks());
    return s;
  };
}

async function hears(page, name) {
  const a = await stats(page);
  await sleep(1500);
  const b = await stats(page);
  return a[name] && b[name] && b[name].audioBytes > a[name].audioBytes;
}

test('a stopped microphone is said to the member and shown to the facilitator', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Friday group');
    const sam = await newPage(browser, haven.base);
    await sam.addInitScript(recordTracks);
    await memberKnocks(sam, link, 'Sam');
    await fac.locator(`${tid('waiting-entry')}[data-name="Sam"] ${tid('admit')}`).click();
    await eventually('ada hears Sam', () => hears(fac, 'Sam'), 30000);

    // The microphone goes away (as when it is unplugged).
    await sam.evaluate(() => {
      const mic = window.recordedTracks.filter((t) => t.kind === 'audio').pop();
      mic.dispatchEvent(new Event('ended'));
    });
    const notice = sam.locator(tid('device-trouble-self'));
    await notice.waitFor({ state: 'visible' });
    assert.match(await notice.innerText(), /microphone stopped/i);
    assert.ok(await sam.locator(tid('device-panel')).isVisible(), 'no devices offered');
    const icon = fac.locator(`[data-testid="participant-row"][data-name="Sam"] ${tid('device-trouble')}`);
    await icon.waitFor({ state: 'visible' });
    assert.match(await icon.getAttribute('aria-label'), /microphone stopped/);

    // Sam picks a microphone again: the icon goes, the others hear Sam.
    await sam.click(tid('device-apply'));
    await notice.waitFor({ state: 'hidden' });
    await icon.waitFor({ state: 'detached' });
    await eventually('ada hears Sam again', () => hears(fac, 'Sam'), 30000);
  } finally {
    await browser.close();
    haven.stop();
  }
});
