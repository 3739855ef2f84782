// The second factor in the sign-in, over HTTP: enrollment when policy
// requires it, step-up for an app that requires it, replay, recovery codes,
// the account page, and the amr claims.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { IDP, PASSWORD, Agent, app, authorizeUrl, b64json, formFields, pkce, redeem, signIn, totp } from './lib.mjs';

const acmeA = app('acme', 'a'), mfaApp = app('acme', 'mfa');
const secretOf = (html) => /id="secret">([A-Z2-7]+)</.exec(html)[1];
const codesOf = (html) => [...html.matchAll(/<li>([0-9a-z-]+)<\/li>/g)].map((m) => m[1]);

async function postForm(agent, url, html, extra) {
  return agent.fetch(url, { method: 'POST', body: { ...formFields(html), ...extra } });
}

test('a user who must use MFA enrolls during sign-in, then gets amr otp+mfa', async () => {
  const agent = new Agent();
  const r = await signIn(agent, IDP, 'acme', acmeA, 'mallory@acme.test', PASSWORD);
  assert.equal(r.res.status, 200, 'no code after the password alone');
  assert.match(r.res.text_, /Set up your authenticator app/);
  assert.match(r.res.text_, /<svg/);
  assert.match(r.res.text_, /otpauth:\/\/totp\//);
  const secret = secretOf(r.res.text_);
  // a wrong first code keeps the same secret on the page
  const wrong = await postForm(agent, `${IDP}/acme/login/mfa`, r.res.text_, { code: '000000' });
  assert.match(wrong.text_, /not right/);
  assert.equal(secretOf(wrong.text_), secret);
  const ok = await postForm(agent, `${IDP}/acme/login/mfa`, wrong.text_, { code: totp(secret) });
  assert.equal(ok.status, 200);
  const codes = codesOf(ok.text_);
  assert.equal(codes.length, 10);
  const next = /id="continue" href="([^"]+)"/.exec(ok.text_)[1].replace(/&amp;/g, '&');
  const back = await agent.fetch(new URL(next, IDP));
  assert.equal(back.status, 302);
  const code = new URL(back.headers.get('location')).searchParams.get('code');
  const t = await redeem(IDP, 'acme', acmeA, code, r.verifier);
  assert.deepEqual(b64json(t.body.id_token.split('.')[1]).amr, ['pwd', 'otp', 'mfa']);
});

test('an app that requires MFA steps an SSO session up; replay and recovery', async () => {
  const agent = new Agent();
  // enroll erin through the account page
  let page = await agent.fetch(`${IDP}/acme/account`);
  assert.match(page.text_, /to manage your account/);
  let res = await postForm(agent, `${IDP}/acme/login`, page.text_, { username: 'erin@acme.test', password: PASSWORD });
  assert.equal(res.status, 302);
  page = await agent.fetch(new URL(res.headers.get('location'), IDP));
  assert.match(page.text_, /id="mfa-state">Off/);
  res = await postForm(agent, `${IDP}/acme/account`, page.text_, {});
  const secret = secretOf(res.text_);
  res = await postForm(agent, `${IDP}/acme/account`, res.text_, { code: totp(secret) });
  const recovery = codesOf(res.text_);
  assert.equal(recovery.length, 10);

  // App A needs no MFA: SSO gives a code at once.
  const plain = await signIn(agent, IDP, 'acme', acmeA, 'erin@acme.test', PASSWORD);
  assert.ok(plain.code);

  // A fresh browser: password only, then the MFA app asks for the code.
  const b2 = new Agent();
  const first = await signIn(b2, IDP, 'acme', acmeA, 'erin@acme.test', PASSWORD);
  assert.ok(first.code, 'app A: password is enough');
  const step = await b2.fetch(authorizeUrl(IDP, 'acme', mfaApp, { code_challenge: pkce().challenge }));
  assert.equal(step.status, 200, 'stepped up instead of a code');
  assert.match(step.text_, /Enter your code/);
  // the code just used at enrollment is spent: a replay is refused
  const replay = await postForm(b2, `${IDP}/acme/login/mfa`, step.text_, { code: totp(secret) });
  assert.match(replay.text_, /already used|not right/);
  const good = await postForm(b2, `${IDP}/acme/login/mfa`, step.text_, { code: totp(secret, 1) });
  assert.equal(good.status, 302);
  const done = await b2.fetch(new URL(good.headers.get('location'), IDP));
  assert.ok(new URL(done.headers.get('location')).searchParams.get('code'));

  // A third browser with a recovery code instead; the same code twice fails.
  for (const attempt of [0, 1]) {
    const b3 = new Agent();
    await signIn(b3, IDP, 'acme', acmeA, 'erin@acme.test', PASSWORD);
    const p = await b3.fetch(authorizeUrl(IDP, 'acme', mfaApp, { code_challenge: pkce().challenge }));
    const fields = formFields(p.text_.slice(p.text_.indexOf('value="recover"') - 200));
    const r2 = await b3.fetch(`${IDP}/acme/login/mfa`, { method: 'POST', body: { ...fields, action: 'recover', code: recovery[0].toUpperCase() } });
    if (attempt === 0) assert.equal(r2.status, 302, 'a recovery code works once');
    else assert.match(r2.text_, /not right/, 'and not twice');
  }
});

test('the account page wants a fresh second factor before removing it', async () => {
  const agent = new Agent();
  let page = await agent.fetch(`${IDP}/acme/account`);
  let res = await postForm(agent, `${IDP}/acme/login`, page.text_, { username: 'frank@acme.test', password: PASSWORD });
  page = await agent.fetch(new URL(res.headers.get('location'), IDP));
  res = await postForm(agent, `${IDP}/acme/account`, page.text_, {});
  const secret = secretOf(res.text_);
  res = await postForm(agent, `${IDP}/acme/account`, res.text_, { code: totp(secret) });
  page = await agent.fetch(`${IDP}/acme/account`);
  assert.match(page.text_, /id="mfa-state">On/);
  // a new browser session with the password only
  const b2 = new Agent();
  let p2 = await b2.fetch(`${IDP}/acme/account`);
  res = await postForm(b2, `${IDP}/acme/login`, p2.text_, { username: 'frank@acme.test', password: PASSWORD });
  p2 = await b2.fetch(new URL(res.headers.get('location'), IDP));
  const csrf = /name="csrf" value="([^"]+)"/.exec(p2.text_)[1];
  const ask = await b2.fetch(`${IDP}/acme/account`, { method: 'POST', body: { csrf, action: 'remove' } });
  assert.match(ask.text_, /Confirm it is you/);
  const removed = await postForm(b2, `${IDP}/acme/account`, ask.text_, { code: totp(secret, 1) });
  assert.match(removed.text_, /removed/);
  assert.match(removed.text_, /id="mfa-state">Off/);
});
