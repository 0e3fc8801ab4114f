// node tests/browser/console-page.js CONSOLE_URL SCREENSHOT.png RESTART_MARKER
// Opens the console page of a running guest (its URL carries a session in its fragment) and checks, as a person
// looking at it would, that the guest's screen shows: the noVNC canvas is drawn and not blank. Then it waits for the
// marker file RESTART_MARKER to appear (the test restarts the guest meanwhile: the socket drops) and checks that the
// page reconnected on its own, with a fresh channel, and shows the screen again.
// Prints {"first": {...}, "after": {...}, "connects", "events", "fragmentKept"}.
'use strict';
const fs = require('fs');
const { launch, run } = require('./chromium');

// How much of the canvas is not background: share of sampled pixels that differ from the top-left one, and colours.
async function look(page) {
  return page.evaluate(() => {
    const canvas = document.querySelector('#screen canvas');
    if (!canvas || canvas.width === 0) return { width: 0, height: 0, lit: 0, colours: 0 };
    const data = canvas.getContext('2d').getImageData(0, 0, canvas.width, canvas.height).data;
    const colours = new Set();
    let lit = 0;
    let samples = 0;
    for (let i = 0; i < data.length; i += 4 * 7) {
      samples += 1;
      const rgb = (data[i] << 16) | (data[i + 1] << 8) | data[i + 2];
      colours.add(rgb);
      if (rgb !== ((data[0] << 16) | (data[1] << 8) | data[2])) lit += 1;
    }
    return { width: canvas.width, height: canvas.height, lit: lit / samples, colours: colours.size };
  });
}

async function until(page, what, condition, seconds) {
  const deadline = Date.now() + seconds * 1000;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > deadline) {
      const state = await page.evaluate(() => window.nanoConsole);
      throw new Error(`${what} not within ${seconds} s; page state ${JSON.stringify(state)}`);
    }
    await page.waitForTimeout(250);
  }
}

run(async () => {
  const [url, screenshot, marker] = process.argv.slice(2);
  const browser = await launch();
  try {
    // The server's certificate is from the zone's own CA, which a user's browser is told to trust; this one is not.
    const page = await browser.newPage({ viewport: { width: 1024, height: 768 }, ignoreHTTPSErrors: true });
    const errors = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(url, { waitUntil: 'load' });
    // 'load' may come before a module script with a large import graph (noVNC) has run; the page's module runs in one
    // synchronous step that sets window.nanoConsole and takes the fragment, so once nanoConsole exists the address bar
    // shows what the page left there.
    await until(page, 'the page script', () => page.evaluate(() => window.nanoConsole !== undefined), 60);
    const fragmentKept = (await page.evaluate(() => location.hash)).length > 0;
    await until(page, 'connected', () => page.evaluate(() => window.nanoConsole && window.nanoConsole.state === 'connected'), 60);
    const first = await until(page, 'a screen drawn', async () => { const l = await look(page); return l.lit > 0.005 ? l : null; }, 60);
    if (screenshot) await page.screenshot({ path: screenshot });
    console.log(JSON.stringify({ ready: true }));
    await until(page, 'the restart marker', async () => fs.existsSync(marker), 180);
    await until(page, 'a second connection', () => page.evaluate(() => window.nanoConsole.connects >= 2 && window.nanoConsole.state === 'connected'), 120);
    const after = await until(page, 'a screen drawn again', async () => { const l = await look(page); return l.lit > 0.005 ? l : null; }, 60);
    if (screenshot) await page.screenshot({ path: screenshot.replace(/\.png$/, '-after.png') });
    if (errors.length > 0) throw new Error(`page errors: ${errors.join('; ')}`);
    const { connects, events } = await page.evaluate(() => window.nanoConsole);
    return { first, after, connects, events, fragmentKept };
  } finally {
    await browser.close();
  }
});
