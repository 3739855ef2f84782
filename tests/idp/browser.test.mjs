// A real browser (Debian's Chromium, driven by playwright-core) signs in
// through the pages for App A, then opens App B and gets in with no prompt.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { chromium } from 'playwright-core';
import { IDP, PASSWORD, app, authorizeUrl, pkce, totp } from './lib.mjs';

const ARTIFACTS = process.env.IDP_ARTIFACTS;

// The apps' redirect target: a page that says which app received a code.
function callbackServer() {
  const server = http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    res.writeHead(200, { 'content-type': 'text/html' });
    res.end(`<!doctype html><title>callback</title><h1>${u.pathname.startsWith('/a/') ? 'App A' : 'App B'} received a code</h1>`);
  });
  return new Promise((resolve) => server.listen(Number(process.env.IDP_CB_PORT), '127.0.0.1', () => resolve(server)));
}

export async function launch() {
  const profile = mkdtempSync(`${tmpdir()}/idp-chromium-`);
  const browser = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    ignoreHTTPSErrors: true,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  return { browser, close: async () => { await browser.close(); rmSync(profile, { recursive: true, force: true }); } };
}

test('browser: sign in to App A through the pages, then App B without a prompt', async () => {
  const server = await callbackServer();
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    const a = app('acme', 'a'), b = app('acme', 'b');
    await page.goto(authorizeUrl(IDP, 'acme', a, { code_challenge: pkce().challenge }));
    assert.equal(await page.locator('h1').innerText(), 'Sign in');
    assert.match(await page.locator('.app').innerText(), /App A/);
    await page.screenshot({ path: `${ARTIFACTS}/signin-page.png`, fullPage: true });

    await page.fill('#username', 'alice@acme.test');
    await page.fill('#password', 'wrong password');
    await page.click('button[type=submit]');
    await page.waitForSelector('.error');
    assert.match(await page.locator('.error').innerText(), /Wrong username or password/);
    assert.equal(await page.inputValue('#username'), 'alice@acme.test');
    await page.screenshot({ path: `${ARTIFACTS}/signin-error.png`, fullPage: true });

    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/a\/cb\?/), page.click('button[type=submit]')]);
    const backA = new URL(page.url());
    assert.ok(backA.searchParams.get('code'), 'App A got a code');

    await page.goto(authorizeUrl(IDP, 'acme', b, { code_challenge: pkce().challenge }));
    await page.waitForURL(/\/b\/cb\?/);
    const backB = new URL(page.url());
    assert.ok(backB.searchParams.get('code'), 'App B got a code without a sign-in page');
    assert.match(await page.locator('h1').innerText(), /App B/);
  } finally {
    await close();
    server.close();
  }
});

test('browser: enroll an authenticator on the account page, sign out, sign in with password and TOTP', async () => {
  const server = await callbackServer();
  const { browser, close } = await launch();
  try {
    const page = await browser.newPage();
    await page.goto(`${IDP}/acme/account`);
    await page.fill('#username', 'dave@acme.test');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForURL(/\/account$/), page.click('button[type=submit]')]);
    assert.equal(await page.locator('#mfa-state').innerText(), 'Off');
    await Promise.all([page.waitForSelector('#secret'), page.click('#enroll')]);
    assert.equal(await page.locator('.qr svg').count(), 1, 'a QR code to scan');
    await page.screenshot({ path: `${ARTIFACTS}/mfa-enroll.png`, fullPage: true });
    const secret = (await page.locator('#secret').innerText()).trim();
    await page.fill('#code', totp(secret));
    await Promise.all([page.waitForSelector('#recovery-codes'), page.click('button[type=submit]')]);
    assert.equal(await page.locator('#recovery-codes li').count(), 10);
    await Promise.all([page.waitForURL(/\/account$/), page.click('#continue')]);
    assert.match(await page.locator('#mfa-state').innerText(), /^On/);

    // sign out (confirmed on the page), then sign in to an app that needs MFA
    await page.click('#signout');
    await Promise.all([page.waitForSelector('text=You are signed out'), page.click('button[type=submit]')]);
    await page.goto(authorizeUrl(IDP, 'acme', app('acme', 'mfa'), { code_challenge: pkce().challenge }));
    await page.fill('#username', 'dave@acme.test');
    await page.fill('#password', PASSWORD);
    await Promise.all([page.waitForSelector('#code'), page.click('button[type=submit]')]);
    assert.equal(await page.locator('h1').innerText(), 'Enter your code');
    await page.screenshot({ path: `${ARTIFACTS}/mfa-code.png`, fullPage: true });
    await page.fill('#code', totp(secret, 1)); // the enrollment spent this step's code
    await Promise.all([page.waitForURL(/\/m\/cb\?/), page.click('form button[type=submit] >> nth=0')]);
    assert.ok(new URL(page.url()).searchParams.get('code'), 'signed in with password and TOTP');
  } finally {
    await close();
    server.close();
  }
});
