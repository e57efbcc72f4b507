// The join page's speaker/headphones check: "Play a test sound" plays a
// short chime (made in the page, no sound file) and asks whether it was
// heard; where the browser lets pages choose the output device and there is
// more than one, a choice of outputs is offered and used for the session.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { eventually, launch, newPage, startHaven, tid } from './harness.mjs';

test('the join page plays a test sound', { timeout: 60000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const page = await newPage(browser, haven.base);
    await page.goto('/join/not-a-real-token-but-the-page-loads', { waitUntil: 'load' });
    assert.ok(await page.locator(tid('insecure-context')).isHidden(), 'a secure page warned');
    await page.click(tid('speaker-test'));
    const note = page.locator('#speaker-note');
    await note.filter({ hasText: /two soft notes/ }).waitFor({ timeout: 10000 });
    // The devices are listed once the camera and microphone have started.
    await page.locator('#mic-select option').first().waitFor({ state: 'attached', timeout: 15000 });
    const choosable = await page.evaluate(async () => {
      const outputs = (await navigator.mediaDevices.enumerateDevices()).filter((d) => d.kind === 'audiooutput');
      return outputs.length > 1 && 'setSinkId' in HTMLMediaElement.prototype;
    });
    await eventually('the output choice is offered exactly when possible', async () => (await page.locator('#speaker-choice').isVisible()) === choosable, 5000);
  } finally {
    await browser.close();
    haven.stop();
  }
});
