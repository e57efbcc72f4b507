// Who is on which tile: each member's browser has a camera of one solid
// colour (a generated Y4M file), and the facilitator's page must show that
// colour under that member's name. A mix-up of slots (one member's video
// under another's name) fails here, whatever the signalling says.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually, facilitatorStarts, launch, memberKnocks, newPage, startHaven, stats, tid,
} from './harness.mjs';

/** A Y4M file of one colour (BT.601 Y, U, V), 160×120, a few frames. */
function solidY4m(path, [y, u, v]) {
  const w = 160;
  const h = 120;
  const header = Buffer.from(`YUV4MPEG2 W${w} H${h} F15:1 Ip A1:1 C420jpeg\n`);
  const frame = Buffer.concat([
    Buffer.from('FRAME\n'),
    Buffer.alloc(w * h, y),
    Buffer.alloc((w / 2) * (h / 2), u),
    Buffer.alloc((w / 2) * (h / 2), v),
  ]);
  writeFileSync(path, Buffer.concat([header, ...Array(15).fill(frame)]));
}

const COLOURS = {
  red: { yuv: [81, 90, 240], rgb: [255, 0, 0] },
  blue: { yuv: [41, 240, 110], rgb: [0, 0, 255] },
};

/** The colour at the middle of the tile named `name`, as the page shows it. */
function tileColour(page, name) {
  return page.evaluate((n) => {
    const video = document.querySelector(`[data-testid="tile"][data-name="${n}"] video`);
    if (!video || !video.videoWidth) return null;
    const c = document.createElement('canvas');
    c.width = video.videoWidth;
    c.height = video.videoHeight;
    const g = c.getContext('2d');
    g.drawImage(video, 0, 0);
    return Array.from(g.getImageData(c.width / 2, c.height / 2, 1, 1).data.slice(0, 3));
  }, name);
}

function nearest(rgb) {
  let best = null;
  for (const [name, { rgb: ref }] of Object.entries(COLOURS)) {
    const d = ref.reduce((s, x, i) => s + (x - rgb[i]) ** 2, 0);
    if (!best || d < best.d) best = { name, d };
  }
  return best.name;
}

test('each member\'s camera colour is shown under their own name', { timeout: 180000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'haven-colours-'));
  const haven = await startHaven();
  const browsers = [];
  try {
    const facBrowser = await launch();
    browsers.push(facBrowser);
    const fac = await newPage(facBrowser, haven.base);
    const link = await facilitatorStarts(fac, 'Colour group');
    const members = [['Rosa', 'red'], ['Bill', 'blue']];
    for (const [name, colour] of members) {
      const file = join(dir, `${colour}.y4m`);
      solidY4m(file, COLOURS[colour].yuv);
      const b = await launch({ camera: file });
      browsers.push(b);
      const page = await newPage(b, haven.base);
      await memberKnocks(page, link, name);
      await fac.locator(`${tid('waiting-entry')}[data-name="${name}"] ${tid('admit')}`).click();
      await page.locator('#session-screen').waitFor({ state: 'visible' });
    }
    for (const [name, colour] of members) {
      await eventually(`${name}'s video plays at the facilitator`, async () => (await stats(fac))[name]?.framesDecoded > 20, 30000);
      const seen = await eventually(`${name}'s tile has a picture`, () => tileColour(fac, name), 15000);
      assert.equal(nearest(seen), colour, `${name}'s tile shows ${JSON.stringify(seen)}`);
    }
  } finally {
    for (const b of browsers) await b.close();
    haven.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});
