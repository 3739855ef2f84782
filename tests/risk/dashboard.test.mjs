// The dashboard in a real browser (Debian's Chromium through playwright-core):
// an analyst signs in on the account page and opens the page; it shows the
// charts and tables of the traffic made here, with no script, no external
// asset and no CSP violation; the screenshot lands in tests/artifacts/.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { Client, UA, PASSWORD, IDP, adminToken, signIn } from './lib.mjs';

const ARTIFACTS = process.env.IDP_ARTIFACTS;

async function launch() {
  const profile = mkdtempSync(`${tmpdir()}/idp-chromium-`);
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true,
    viewport: { width: 1400, height: 900 },
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { browser, close: async () => { await browser.close(); rmSync(profile, { recursive: true, force: true }); } };
}

test('traffic to show', async () => {
  const homes = ['81.2.30.4', '2.2.31.5', '24.24.32.6', '5.5.33.7', '126.0.34.8'];
  for (let i = 0; i < 40; i++) {
    const u = `u${String(20 + (i % 5)).padStart(3, '0')}@acme.test`;
    const c = new Client(homes[i % 5], UA.chromeWin);
    if (i % 7 === 0) assert.equal((await signIn(c, u, 'typo')).outcome, 'wrong');
    assert.equal((await signIn(c, u, PASSWORD)).outcome, 'code');
  }
  for (let i = 0; i < 11; i++) await signIn(new Client('41.58.9.9', UA.python), 'u030@acme.test', `guess${i}`);
  for (let i = 0; i < 12; i++) await signIn(new Client('177.0.9.9', UA.python), `u${String(40 + i).padStart(3, '0')}@acme.test`, 'Winter2026!');
  assert.equal((await signIn(new Client('198.51.100.3', UA.chromeWin), 'u021@acme.test', PASSWORD)).outcome, 'blocked');
  assert.equal((await signIn(new Client('1.128.9.9', UA.opera), 'u020@acme.test', PASSWORD)).outcome, 'blocked');
});

test('the page for an admin token: HTML with inline SVG, a strict CSP, no script', async () => {
  const token = await adminToken('reader');
  const res = await fetch(`${IDP}/acme/reports/dashboard`, { headers: { authorization: `Bearer ${token}` } });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type'), /text\/html/);
  const csp = res.headers.get('content-security-policy');
  assert.match(csp, /default-src 'none'; style-src 'sha256-[A-Za-z0-9+/=]+'/);
  const html = await res.text();
  assert.doesNotMatch(html, /<script/i);
  assert.doesNotMatch(html, /(src|href)="https?:/i, 'no external asset');
  assert.ok((html.match(/<svg/g) || []).length >= 4);
  const nobody = await adminToken('nobody');
  assert.equal((await fetch(`${IDP}/acme/reports/dashboard`, { headers: { authorization: `Bearer ${nobody}` } })).status, 403);
});

test('browser: an analyst signs in and reads the dashboard; screenshot saved', async () => {
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    const problems = [];
    page.on('console', (m) => { if (m.type() === 'error') problems.push(m.text()); });
    page.on('pageerror', (e) => problems.push(String(e)));
    page.on('request', (r) => { if (!r.url().startsWith(IDP)) problems.push(`external request ${r.url()}`); });

    // not signed in: a page that says so, with the way to sign in
    let resp = await page.goto(`${IDP}/acme/reports/dashboard`);
    assert.equal(resp.status(), 401);
    assert.match(await page.locator('h1').innerText(), /Sign in to see the reports/);

    // a user without a reports role is refused
    await page.goto(`${IDP}/acme/account`);
    await page.fill('#username', 'plain@acme.test');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/account$/), page.click('button[type=submit]')]);
    resp = await page.goto(`${IDP}/acme/reports/dashboard`);
    assert.equal(resp.status(), 403);

    // the analyst (Reader at the tenant root); the refusals above were meant
    problems.length = 0;
    await browser.clearCookies(); // another person at the same browser
    await page.goto(`${IDP}/acme/account`);
    await page.fill('#username', 'admin@acme.test');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/account$/), page.click('button[type=submit]')]);
    resp = await page.goto(`${IDP}/acme/reports/dashboard`);
    assert.equal(resp.status(), 200);
    assert.match(await page.locator('h1').innerText(), /Sign-in security · Acme Corporation/);
    assert.match(await page.locator('#range').innerText(), /signed in as admin@acme.test/);
    const total = Number(await page.locator('#total-signins b').innerText());
    assert.ok(total >= 70, `attempts: ${total}`);
    assert.ok(Number(await page.locator('#total-failure b').innerText()) >= 20);
    assert.ok(Number(await page.locator('#total-blocked b').innerText()) >= 2);
    // the chart has bars for the hour of the traffic, each with a tooltip
    const bars = page.locator('#over-time svg rect title');
    assert.ok(await bars.count() >= 2);
    assert.match(await bars.first().textContent(), /UTC: \d+ (success|failure|locked|blocked)/);
    assert.match(await page.locator('#by-reason').innerText(), /wrong password/);
    assert.match(await page.locator('#top-sources').innerText(), /177\.0\.9\.9 \(12 names\)/);
    assert.match(await page.locator('#by-detection').innerText(), /password_spray/);
    const risky = page.locator('#risky-signins tbody tr');
    assert.ok(await risky.count() >= 3);
    const text = await page.locator('#risky-signins').innerText();
    assert.match(text, /listed_network: 198\.51\.100\.3 is in 198\.51\.100\.0\/24, listed as malicious/);
    assert.match(text, /brute_force/);
    assert.match(text, /password_spray/);
    assert.match(await page.locator('#lockouts').innerText(), /u030@acme\.test/);
    assert.match(await page.locator('#risky-users').innerText(), /u021@acme\.test/);
    // the charts are laid out, not collapsed
    const box = await page.locator('#over-time svg').boundingBox();
    assert.ok(box.width > 500 && box.height > 150, JSON.stringify(box));
    await page.screenshot({ path: `${ARTIFACTS}/risk-dashboard.png`, fullPage: true });
    assert.ok(statSync(`${ARTIFACTS}/risk-dashboard.png`).size > 20000);
    // a week's range draws one bar per day
    await page.click('text=last week');
    assert.match(await page.locator('#over-time h2').innerText(), /per day/);
    assert.deepEqual(problems, [], 'no console errors, CSP violations or external requests');
  } finally {
    await close();
  }
});
