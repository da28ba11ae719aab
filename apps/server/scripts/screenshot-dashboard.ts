// The README's screenshot: signs in to a running dashboard (e.g. `bash scripts/demo.sh`) in headless
// Chromium and saves a page as a small palette PNG.
//   node apps/server/scripts/screenshot-dashboard.ts <base url> <email> <password> <out.png> [path=/scans]
// Chromium from CHROMIUM_PATH (default /usr/bin/chromium), as in the browser tests.
import { writeFile } from 'node:fs/promises';
import { chromium } from 'playwright-core';
import sharp from 'sharp';

const [base, email, password, out, path = '/scans'] = process.argv.slice(2);
if (!base || !email || !password || !out) {
  console.error('usage: screenshot-dashboard.ts <base url> <email> <password> <out.png> [path]');
  process.exit(2);
}
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking'],
});
try {
  const page = await browser.newPage({ viewport: { width: 1100, height: 720 } });
  await page.goto(`${base}/sign-in?next=${encodeURIComponent(path)}`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(`${base}${path}`);
  // Every image decoded (thumbnails come from the store through presigned URLs).
  await page.evaluate('Promise.all([...document.images].map((i) => i.decode().catch(() => {})))');
  const png = await page.screenshot({ fullPage: false });
  const small = await sharp(png).png({ palette: true, colours: 64, compressionLevel: 9 }).toBuffer();
  await writeFile(out, small);
  console.log(JSON.stringify({ saved: out, bytes: small.length }));
} finally {
  await browser.close();
}
