// End-to-end encryption, in real Chromium: a facilitator and three members
// hear and see each other while every frame is sealed in the pages; a
// webrtc-rs member admitted without a key shows what the SFU forwards is
// not Opus or VP8 anyone can decode; a removal brings a new key at once,
// the others keep talking without a gap, and the removed page never holds
// the new key. A second test: a page whose keys never arrive plays nothing
// and says it is waiting for the key.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  eventually, facilitatorStarts, fakeMembers, launch, memberKnocks, newPage, receivesFrom, sleep, startHaven, stats, tid,
} from './harness.mjs';

const status = (page) => page.locator(tid('e2ee-status'));
const epochOf = async (page) => Number(await status(page).getAttribute('data-epoch')) || 0;
const frameCounts = (page) => page.evaluate(() => window.havenFrameCounts());

test('every frame is sealed, only the admitted open them, a removal changes the key', { timeout: 300000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  let fakes = null;
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Encrypted group');
    const pages = { ada: fac };
    for (const name of ['Sam', 'Kim', 'Lee']) {
      pages[name] = await newPage(browser, haven.base);
      await memberKnocks(pages[name], link, name);
    }
    fakes = fakeMembers(haven.base, link, ['Tao'], { report: true });
    await eventually('four knocks', async () => (await fac.locator(tid('waiting-entry')).count()) === 4, 60000);
    // While waiting, nobody holds a key.
    for (const name of ['Sam', 'Kim', 'Lee']) assert.deepEqual((await frameCounts(pages[name])).keys, [], `${name} holds a key while waiting`);
    await fac.click(tid('admit-all'));

    const names = Object.keys(pages);
    for (const [name, page] of Object.entries(pages)) {
      const others = names.filter((n) => n !== name);
      await eventually(`${name} decodes ${others}`, () => receivesFrom(page, others, { decodedAudio: true }), 60000);
    }
    // Everyone holds the same key: the same safety code on every page.
    await eventually('one safety code', async () => {
      const codes = await Promise.all(names.map(async (n) => [await status(pages[n]).getAttribute('data-state'), await status(pages[n]).getAttribute('data-code')]));
      return codes.every(([s, c]) => s === 'encrypted' && c === codes[0][1] && /^\d{3} \d{3} \d{3} \d{3}$/.test(c));
    });
    assert.match(await status(fac).innerText(), /End-to-end encrypted · safety code \d{3} \d{3} \d{3} \d{3}/);
    for (const n of names) {
      const c = await frameCounts(pages[n]);
      console.log(`${n}: ${JSON.stringify(c)}`);
      assert.ok(c.sealed > 100 && c.opened > 100, `${n} seals and opens frames`);
    }

    // What the SFU forwards, seen by an admitted client without a key.
    const seen = await eventually('Tao receives media', async () => {
      const r = fakes.received().Tao;
      return r && r.audio_packets > 500 && r.video_frames > 100 ? r : null;
    }, 60000);
    console.log(`Tao (no key) received ${JSON.stringify(seen)}`);
    assert.ok(seen.opus_errors >= seen.audio_packets * 0.1, 'the forwarded audio decodes as Opus');
    assert.ok(seen.distinct_first_bytes >= 64, 'the forwarded audio starts like an Opus stream (a steady TOC byte)');
    assert.ok(seen.video_frames_sealed >= seen.video_frames * 0.95, 'forwarded video frames are not all sealed');
    // And the pages cannot play Tao's plain media: nothing of it opens.
    const samBefore = await stats(pages.Sam);
    await sleep(2000);
    const samAfter = await stats(pages.Sam);
    assert.equal(samAfter.Tao.framesDecoded - samBefore.Tao.framesDecoded, 0, 'a page played unencrypted video');
    // Tao has shown what it was for; it leaves (its debug-built decoder is
    // the heaviest process on this 2-core machine, and CPU starvation, not
    // keys, is what made the pages conceal audio around a removal: measured
    // with the key change switched off, 313–773 ms in 3 of 8 runs).
    fakes.stop();
    fakes = null;
    await sleep(2000);

    // Remove Lee: a new key within a moment; the others carry on.
    const before = await epochOf(fac);
    const samples = async () => {
      const out = {};
      for (const n of ['ada', 'Sam', 'Kim']) out[n] = await stats(pages[n]);
      return out;
    };
    // What the machine itself conceals with four pages on two cores, in a
    // window as long as the one across the key change: the change is
    // judged by what it adds (as the lossy-link test does).
    const sPre = await samples();
    await sleep(4000);
    const s0 = await samples();
    const lostBefore = {};
    for (const n of ['ada', 'Sam', 'Kim']) lostBefore[n] = (await frameCounts(pages[n])).lost;
    const c0 = {}; for (const n of ['ada','Sam','Kim']) c0[n] = await frameCounts(pages[n]);
    // Open Lee's menu first, so the time runs from the click on "Remove".
    const row = fac.locator(`${tid('participant-row')}[data-name="Lee"]`);
    await row.locator(tid('participant-menu')).click();
    const t0 = Date.now();
    await row.locator(tid('participant-remove')).click();
    // A liveness bound, not a speed target (the time is printed).
    await eventually('a new key on the remaining pages', async () => {
      for (const n of ['ada', 'Sam', 'Kim']) if ((await epochOf(pages[n])) <= before) return false;
      return true;
    }, 10000);
    const since = await Promise.all(['ada', 'Sam', 'Kim'].map(async (n) => Number(await status(pages[n]).getAttribute('data-since')) - t0));
    console.log(`the remaining pages (ada, Sam, Kim) held the new key ${since.join(', ')} ms after "Remove" was clicked`);
    const newKid = (await epochOf(fac)) & 0xff;
    await sleep(4000);
    const s1 = await samples();
    for (const n of ['ada', 'Sam', 'Kim']) {
      // Not one frame of anyone already heard was refused across the change
      // (no key yet, an old key gone, a replay): the key change itself
      // takes nothing out of the audio or the video.
      const lost = (await frameCounts(pages[n])).lost;
      assert.deepEqual(lost, lostBefore[n], `${n} refused frames of people it was hearing: ${JSON.stringify(lost)}`);
      for (const o of ['ada', 'Sam', 'Kim'].filter((x) => x !== n)) {
        const ms = (a, b) => ((b[n][o].concealedSamples - a[n][o].concealedSamples) / 48000) * 1000;
        const concealedMs = ms(s0, s1);
        const baselineMs = ms(sPre, s0);
        console.log(`${n} concealed ${concealedMs.toFixed(0)} ms of ${o} across the key change (${baselineMs.toFixed(0)} ms in the 4 s before)`);
        assert.ok(concealedMs <= 200 + baselineMs, `${n} lost ${concealedMs} ms of ${o}'s voice across the key change (${baselineMs} ms before)`);
        assert.ok(s1[n][o].framesDecoded > s0[n][o].framesDecoded, `${n} stopped seeing ${o}`);
      }
    }
    const lee = await frameCounts(pages.Lee);
    assert.ok(!lee.keys.includes(newKid), `the removed page holds the new key ${newKid}: ${JSON.stringify(lee)}`);
    assert.deepEqual(lee.keys, [], 'the removed page kept a key');
  } finally {
    if (fakes) fakes.stop();
    await browser.close();
    haven.stop();
  }
});

test('a page whose keys never arrive plays nothing and says it waits for the key', { timeout: 180000 }, async () => {
  const haven = await startHaven();
  const browser = await launch();
  try {
    const fac = await newPage(browser, haven.base);
    const link = await facilitatorStarts(fac, 'Keyless group');
    const ann = await newPage(browser, haven.base);
    // Ann's page never sees a media key (as if the server dropped them).
    await ann.addInitScript(() => {
      const set = Object.getOwnPropertyDescriptor(WebSocket.prototype, 'onmessage').set;
      Object.defineProperty(WebSocket.prototype, 'onmessage', {
        set(fn) { set.call(this, (e) => { if (!String(e.data).includes('"type":"media_key"')) fn(e); }); },
      });
    });
    await memberKnocks(ann, link, 'Ann');
    await fac.locator(`${tid('waiting-entry')}[data-name="Ann"] ${tid('admit')}`).click();
    await ann.locator('#session-screen').waitFor({ state: 'visible' });
    await eventually('ada is encrypted', async () => (await status(fac).getAttribute('data-state')) === 'encrypted');
    // Media reaches Ann's page (bytes arrive) but nothing opens or plays.
    await eventually('Ann receives ada\'s packets', async () => {
      const s = (await stats(ann)).ada;
      return s && s.audioBytes > 20000;
    }, 30000);
    await sleep(3000);
    const s = (await stats(ann)).ada;
    const c = await frameCounts(ann);
    console.log(`Ann without a key: ${JSON.stringify(s)}; frames ${JSON.stringify(c)}`);
    assert.equal(s.framesDecoded, 0, 'a frame was decoded without the key');
    assert.equal(c.opened, 0);
    assert.ok(c.noKey > 100, 'frames were not refused for want of a key');
    assert.ok(c.sealed === 0 && c.unsent > 0, 'Ann sent media without a key');
    assert.equal(await status(ann).getAttribute('data-state'), 'waiting');
    assert.match(await status(ann).innerText(), /Waiting for the key/);
    // Nor does ada play anything of Ann's.
    assert.equal(((await stats(fac)).Ann || {}).framesDecoded || 0, 0);
  } finally {
    await browser.close();
    haven.stop();
  }
});
