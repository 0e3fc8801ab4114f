// node tests/browser/docs-page.js BASE_URL SCREENSHOT.png
// Opens BASE_URL/api/docs/ (Swagger UI over /api/openapi.json) and finds the guests routes: the GuestService section,
// opened, lists GET /api/v1/guests/{id}. Prints {"sections", "guestRoutes", "title"}.
'use strict';
const { launch, run } = require('./chromium');

run(async () => {
  const [base, screenshot] = process.argv.slice(2);
  const browser = await launch();
  try {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
    const failed = [];
    page.on('requestfailed', (r) => failed.push(r.url()));
    await page.goto(`${base}/api/docs/`, { waitUntil: 'load' });
    // Swagger UI draws the sections as they scroll into view: scroll down as a reader would until GuestService shows.
    await page.waitForSelector('.opblock-tag', { timeout: 30000 });
    const sections = new Set();
    for (let i = 0; i < 200 && !sections.has('GuestService'); i++) {
      (await page.$$eval('.opblock-tag', (tags) => tags.map((t) => t.getAttribute('data-tag')))).forEach((t) => sections.add(t));
      await page.mouse.wheel(0, 800);
      await page.waitForTimeout(100);
    }
    const guests = page.locator('.opblock-tag[data-tag="GuestService"]');
    const path = '.opblock-summary-path[data-path="/api/v1/guests/{id}"]';
    if (await page.locator(path).count() === 0) await guests.click();
    await page.waitForSelector(path, { timeout: 30000 });
    const guestRoutes = await page.$$eval('.opblock-summary', (rows) => rows
      .map((r) => `${r.querySelector('.opblock-summary-method').textContent} ${r.querySelector('.opblock-summary-path').getAttribute('data-path')}`)
      .filter((route) => route.includes('/api/v1/guests')));
    const title = await page.$eval('.info .title', (t) => t.textContent);
    if (screenshot) await page.screenshot({ path: screenshot });
    if (failed.length > 0) throw new Error(`requests failed: ${failed.join(', ')}`);
    return { sections: [...sections], guestRoutes, title };
  } finally {
    await browser.close();
  }
});
