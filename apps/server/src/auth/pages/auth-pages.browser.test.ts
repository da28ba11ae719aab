import assert from 'node:assert/strict';
import { after, test } from 'node:test';
import { type Browser, chromium, type Page } from 'playwright-core';
import { listenTestApp, useTestApp } from '../../test-helpers.ts';
import { seedFarm, seedUser, TEST_PASSWORD } from '../../test-seed.ts';

// Headless Chromium (Debian's, installed by scripts/setup.sh) drives the auth pages without any
// page JavaScript: sign-in (wrong password, then right), the session cookie out of page scripts'
// reach, password change, sign-out that really ends the session, and registration.

let browser: Browser;
let server: Awaited<ReturnType<typeof listenTestApp>>;
const ctx = useTestApp(
  {},
  {
    async seed({ db, server: app }) {
      const farm = await seedFarm(db.sql, 'Maple Farm');
      await seedUser(db.sql, 'farmer@example.com', ['farmer'], { farms: [{ id: farm, owner: true }] });
      server = await listenTestApp(app);
      browser = await launchChromium();
    },
  },
);

const launchChromium = () =>
  chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
after(async () => {
  await browser?.close();
  await server?.close();
});

async function signIn(page: Page, email: string, password: string) {
  await page.goto(`${server.url}/sign-in`);
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(password);
  await page.getByRole('button', { name: 'Sign in' }).click();
}

test('sign in, see the account, the token is out of reach of scripts, change password, sign out', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  const scriptErrors: string[] = [];
  page.on('pageerror', (e) => scriptErrors.push(String(e)));
  try {
    await signIn(page, 'farmer@example.com', 'not-the-password-9');
    assert.match((await page.getByRole('alert').textContent()) ?? '', /email or the password is wrong/);
    await signIn(page, 'farmer@example.com', TEST_PASSWORD);
    await page.waitForURL(`${server.url}/`);
    await page.goto(`${server.url}/account`);
    assert.match(
      (await page.locator('main').textContent()) ?? '',
      /farmer@example\.com[\s\S]*Maple Farm \(owner\)/,
    );
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'cti_session');
    assert.ok(session, 'a session cookie');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');
    assert.equal(await page.evaluate('document.cookie'), '', 'page scripts see no cookie');
    assert.equal(
      await page.evaluate('localStorage.length + sessionStorage.length'),
      0,
      'nothing in web storage',
    );
    const csrf = await page.locator('meta[name=csrf-token]').getAttribute('content');
    assert.ok(csrf && !csrf.includes(session.value));
    // Notification settings, as a browser sends the form: an unticked box turns its type off.
    const graded = page.getByLabel('A scan was graded', { exact: true });
    assert.equal(await graded.isChecked(), true, 'on by default');
    await graded.uncheck();
    await page.getByRole('button', { name: 'Save notification settings' }).click();
    await page.waitForURL(/\/account\?done=notifications-saved$/);
    assert.equal(await page.getByLabel('A scan was graded', { exact: true }).isChecked(), false);
    assert.equal(await page.getByLabel('A scan was rejected (grade R)').isChecked(), true);
    // Password change: a weak one is refused beside the field, a good one works.
    await page.getByLabel('Current password').fill(TEST_PASSWORD);
    await page.getByLabel(/^New password/).fill('maple');
    await page.getByRole('button', { name: 'Change password' }).click();
    assert.match(
      (await page.locator('#field-new_password-error').textContent()) ?? '',
      /at least 12 characters/,
    );
    await page.getByLabel('Current password').fill(TEST_PASSWORD);
    await page.getByLabel(/^New password/).fill('orchard-gate-frost-31');
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.waitForURL(/\/account\?done=password-changed$/);
    const rotated = (await context.cookies()).find((c) => c.name === 'cti_session')!;
    assert.notEqual(rotated.value, session.value, 'the session was rotated');
    // Sign out: redirected, the old cookie no longer works anywhere.
    await page.getByRole('button', { name: 'Sign out of this device' }).click();
    await page.waitForURL(/\/sign-in\?signed_out=1$/);
    const replay = await fetch(`${server.url}/api/v1/me`, {
      headers: { cookie: `cti_session=${rotated.value}` },
    });
    assert.equal(replay.status, 401);
    await page.goto(`${server.url}/account`);
    assert.match(page.url(), /\/sign-in\?next=\/account$/);
    // Signing in from the page the redirect showed brings the person back to what they asked for.
    await page.getByLabel('Email').fill('farmer@example.com');
    await page.getByLabel('Password').fill('orchard-gate-frost-31');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(`${server.url}/account`);
    assert.deepEqual(scriptErrors, []);
  } finally {
    await context.close();
  }
});

test('registration: errors beside the fields, then "request received"; a pending request cannot sign in', async () => {
  const context = await browser.newContext();
  const page = await context.newPage();
  try {
    await page.goto(`${server.url}/register`);
    await page.getByLabel('Your name').fill('Jo Tech');
    await page.getByLabel('Email').fill('jo@example.com');
    await page.getByLabel('technician').check();
    await page.getByLabel(/^Password/).fill('password123');
    await page.getByRole('button', { name: 'Send request' }).click();
    assert.match(
      (await page.locator('#field-password-error').textContent()) ?? '',
      /at least 12|commonly used/,
    );
    assert.equal(
      await page.getByLabel('Email').inputValue(),
      'jo@example.com',
      'the form keeps what was typed',
    );
    await page.getByLabel(/^Password/).fill('chute-gate-sunrise-5');
    await page.getByRole('button', { name: 'Send request' }).click();
    assert.match(
      (await page.locator('main').textContent()) ?? '',
      /An administrator will review your request/,
    );
    const [row] = await ctx.db
      .sql`SELECT requested_role, status FROM registration_requests WHERE email = 'jo@example.com'`;
    assert.deepEqual({ ...row }, { requested_role: 'technician', status: 'pending' });
    await signIn(page, 'jo@example.com', 'chute-gate-sunrise-5');
    assert.match((await page.getByRole('alert').textContent()) ?? '', /email or the password is wrong/);
  } finally {
    await context.close();
  }
});
