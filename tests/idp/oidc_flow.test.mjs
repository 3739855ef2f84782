// The sign-in and token flows over real HTTPS, and what must go wrong.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createPublicKey, createHmac, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as jose from 'jose';
import {
  IDP, SHORT, DIR, PASSWORD, Agent, app, authorizeUrl, b64json, formFields, idpctl, pkce,
  redeem, signIn, tokenRequest,
} from './lib.mjs';

const acmeA = app('acme', 'a'), acmeB = app('acme', 'b'), acmeSvc = app('acme', 'svc');
const acmeEs = app('acme', 'es'), globexSvc = app('globex', 'svc');
const jwks = (t) => jose.createRemoteJWKSet(new URL(`${IDP}/${t}/discovery/keys`));
const iss = (t, base = IDP) => `${base}/${t}/v2.0`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

async function userinfo(base, tenant, token) {
  const res = await fetch(`${base}/${tenant}/oidc/userinfo`, { headers: { authorization: `Bearer ${token}` } });
  return { status: res.status, body: await res.json(), www: res.headers.get('www-authenticate') };
}

async function introspect(base, tenant, client, token) {
  const res = await fetch(`${base}/${tenant}/oauth2/introspect`, {
    method: 'POST', body: new URLSearchParams({ token }),
    headers: { authorization: 'Basic ' + Buffer.from(`${client.client_id}:${client.client_secret}`).toString('base64') },
  });
  return { status: res.status, body: await res.json() };
}

test('discovery and JWKS describe the tenant', async () => {
  const d = await (await fetch(`${IDP}/acme/v2.0/.well-known/openid-configuration`)).json();
  assert.equal(d.issuer, iss('acme'));
  assert.equal(d.token_endpoint, `${IDP}/acme/oauth2/token`);
  assert.deepEqual(d.code_challenge_methods_supported, ['S256']);
  assert.ok(d.id_token_signing_alg_values_supported.includes('ES256'));
  const k = await (await fetch(`${IDP}/acme/discovery/keys`)).json();
  const types = k.keys.map((x) => `${x.kty}/${x.alg}/${x.use}`).sort();
  assert.deepEqual(types, ['EC/ES256/sig', 'RSA/RS256/sig']);
  for (const key of k.keys) {
    assert.ok(key.kid && !key.d && !key.p, 'public parts only, with a kid');
  }
  const other = await (await fetch(`${IDP}/globex/discovery/keys`)).json();
  assert.notDeepEqual(other.keys.map((x) => x.kid), k.keys.map((x) => x.kid), 'keys per tenant');
  const missing = await fetch(`${IDP}/nosuch/discovery/keys`);
  assert.equal(missing.status, 404);
});

test('code flow: sign in, tokens, userinfo; then SSO into a second app', async () => {
  const agent = new Agent();
  const nonce = 'nonce-' + randomBytes(4).toString('hex');
  const page = await agent.fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge }));
  assert.equal(page.status, 200);
  assert.match(page.headers.get('content-security-policy'), /default-src 'none'/);
  assert.equal(page.headers.get('x-frame-options'), 'DENY');
  const csrfCookie = page.headers.getSetCookie().find((c) => c.startsWith('__Secure-idp_csrf='));
  assert.match(csrfCookie, /HttpOnly/);
  assert.match(csrfCookie, /Secure/);

  const r = await signIn(agent, IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD, { nonce, state: 's1' });
  assert.equal(r.res.status, 302);
  assert.equal(r.back.origin + r.back.pathname, acmeA.redirect_uris[0]);
  assert.equal(r.back.searchParams.get('state'), 's1');
  assert.equal(r.back.searchParams.get('iss'), iss('acme'), 'RFC 9207 iss in the response');
  const session = [...agent.jar.keys()].find((k) => k.includes('session'));
  assert.equal(session, '__Secure-idp_session');

  const t = await redeem(IDP, 'acme', acmeA, r.code, r.verifier);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  assert.equal(t.headers.get('cache-control'), 'no-store');
  assert.equal(t.body.token_type, 'Bearer');
  assert.ok(t.body.refresh_token);
  const { payload: idt, protectedHeader: ih } = await jose.jwtVerify(t.body.id_token, jwks('acme'), {
    issuer: iss('acme'), audience: acmeA.client_id, algorithms: ['RS256'],
  });
  assert.equal(idt.nonce, nonce);
  assert.deepEqual(idt.amr, ['pwd']);
  assert.equal(idt.preferred_username, 'alice@acme.test');
  assert.deepEqual(idt.groups, ['staff']);
  assert.ok(idt.auth_time && idt.tid && idt.jti && ih.kid);
  const { payload: at, protectedHeader: ah } = await jose.jwtVerify(t.body.access_token, jwks('acme'), {
    issuer: iss('acme'), audience: acmeA.client_id, typ: 'at+jwt',
  });
  assert.equal(ah.typ, 'at+jwt');
  assert.equal(at.client_id, acmeA.client_id);
  assert.equal(at.sub, idt.sub);
  const ui = await userinfo(IDP, 'acme', t.body.access_token);
  assert.equal(ui.status, 200);
  assert.equal(ui.body.sub, idt.sub);
  assert.equal(ui.body.email, 'alice@acme.test');

  // Second app, same browser: a code with no page in between.
  const { verifier, challenge } = pkce();
  const sso = await agent.fetch(authorizeUrl(IDP, 'acme', acmeB, { code_challenge: challenge }));
  assert.equal(sso.status, 302, 'no prompt inside the session');
  const code = new URL(sso.headers.get('location')).searchParams.get('code');
  const tb = await redeem(IDP, 'acme', acmeB, code, verifier);
  assert.equal(tb.status, 200, JSON.stringify(tb.body));
  assert.equal(b64json(tb.body.id_token.split('.')[1]).sub, idt.sub);

  // prompt=login and max_age=0 bring the sign-in page back; prompt=none does not.
  const again = await agent.fetch(authorizeUrl(IDP, 'acme', acmeB, { code_challenge: challenge, prompt: 'login' }));
  assert.equal(again.status, 200);
  assert.match(again.text_, /name="password"/);
  await sleep(1100);
  const aged = await agent.fetch(authorizeUrl(IDP, 'acme', acmeB, { code_challenge: challenge, max_age: '0' }));
  assert.equal(aged.status, 200);
  const fresh = await agent.fetch(authorizeUrl(IDP, 'acme', acmeB, { code_challenge: challenge, max_age: '3600', prompt: 'none' }));
  assert.equal(fresh.status, 302);
  assert.ok(new URL(fresh.headers.get('location')).searchParams.get('code'));
});

test('prompt=none without a session says login_required to the app', async () => {
  const res = await new Agent().fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge, prompt: 'none' }));
  assert.equal(res.status, 302);
  const back = new URL(res.headers.get('location'));
  assert.equal(back.searchParams.get('error'), 'login_required');
});

test('wrong password and unknown user get the same answer', async () => {
  const norm = (s) => s.replace(/value="[^"]*"/g, 'value=""');
  const wrong = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', 'not-it');
  const unknown = await signIn(new Agent(), IDP, 'acme', acmeA, 'nobody@acme.test', 'not-it');
  assert.equal(wrong.res.status, 200);
  assert.equal(unknown.res.status, wrong.res.status);
  assert.match(wrong.res.text_, /Wrong username or password/);
  assert.equal(norm(unknown.res.text_), norm(wrong.res.text_));
  const disabled = await signIn(new Agent(), IDP, 'acme', acmeA, 'disabled@acme.test', PASSWORD);
  assert.match(disabled.res.text_, /disabled/);
  assert.ok(!disabled.code);
  const log = JSON.parse(idpctl('--json', 'audit', 'acme'));
  assert.ok(Array.isArray(log));
});

test('the sign-in form needs its CSRF token', async () => {
  const agent = new Agent();
  const page = await agent.fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge }));
  const fields = formFields(page.text_);
  delete fields.csrf;
  const res = await agent.fetch(`${IDP}/acme/login`, { method: 'POST', body: { ...fields, username: 'alice@acme.test', password: PASSWORD } });
  assert.equal(res.status, 400);
  assert.match(res.text_, /expired/);
  assert.ok(![...agent.jar.keys()].some((k) => k.includes('session')), 'no session without the token');
  const forged = await agent.fetch(`${IDP}/acme/login`, { method: 'POST', body: { ...fields, csrf: 'A'.repeat(43), username: 'alice@acme.test', password: PASSWORD } });
  assert.equal(forged.status, 400);
});

test('PKCE is required and checked', async () => {
  const noPkce = await new Agent().fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge_method: undefined }));
  assert.equal(noPkce.status, 302);
  assert.equal(new URL(noPkce.headers.get('location')).searchParams.get('error'), 'invalid_request');
  const plain = await new Agent().fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge, code_challenge_method: 'plain' }));
  assert.equal(new URL(plain.headers.get('location')).searchParams.get('error'), 'invalid_request');
  const r = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const bad = await redeem(IDP, 'acme', acmeA, r.code, pkce().verifier);
  assert.equal(bad.status, 400);
  assert.equal(bad.body.error, 'invalid_grant');
  const none = await tokenRequest(IDP, 'acme', { grant_type: 'authorization_code', code: r.code, redirect_uri: acmeA.redirect_uris[0] }, [acmeA.client_id, acmeA.client_secret]);
  assert.equal(none.status, 400);
});

test('redirect_uri must match exactly', async () => {
  for (const uri of [acmeA.redirect_uris[0] + 'x', acmeA.redirect_uris[0] + '/..', 'https://evil.test/cb', acmeA.redirect_uris[0].toUpperCase()]) {
    const res = await new Agent().fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge, redirect_uri: uri }));
    assert.equal(res.status, 400, uri);
    assert.equal(res.headers.get('location'), null, 'never redirect to an unregistered address');
  }
  const r = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const t = await tokenRequest(IDP, 'acme', { grant_type: 'authorization_code', code: r.code, redirect_uri: acmeA.redirect_uris[0] + '?x=1', code_verifier: r.verifier }, [acmeA.client_id, acmeA.client_secret]);
  assert.equal(t.body.error, 'invalid_grant');
  const dup = await new Agent().fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge }) + `&client_id=${acmeB.client_id}`);
  assert.equal(dup.status, 400, 'repeated parameters are refused');
});

test('a code works once; reuse revokes what it issued', async () => {
  const r = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const first = await redeem(IDP, 'acme', acmeA, r.code, r.verifier);
  assert.equal(first.status, 200);
  assert.equal((await introspect(IDP, 'acme', acmeA, first.body.access_token)).body.active, true);
  const second = await redeem(IDP, 'acme', acmeA, r.code, r.verifier);
  assert.equal(second.status, 400);
  assert.equal(second.body.error, 'invalid_grant');
  assert.equal((await introspect(IDP, 'acme', acmeA, first.body.access_token)).body.active, false);
  assert.equal((await userinfo(IDP, 'acme', first.body.access_token)).status, 401);
  const refresh = await tokenRequest(IDP, 'acme', { grant_type: 'refresh_token', refresh_token: first.body.refresh_token }, [acmeA.client_id, acmeA.client_secret]);
  assert.equal(refresh.body.error, 'invalid_grant');
  // another app cannot redeem someone else's code either
  const r2 = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const stolen = await tokenRequest(IDP, 'acme', { grant_type: 'authorization_code', code: r2.code, redirect_uri: acmeA.redirect_uris[0], code_verifier: r2.verifier, client_id: acmeB.client_id });
  assert.equal(stolen.body.error, 'invalid_grant');
});

test('refresh tokens rotate; a rotated one coming back revokes the family', async () => {
  const r = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const t0 = (await redeem(IDP, 'acme', acmeA, r.code, r.verifier)).body;
  const auth = [acmeA.client_id, acmeA.client_secret];
  const t1 = await tokenRequest(IDP, 'acme', { grant_type: 'refresh_token', refresh_token: t0.refresh_token }, auth);
  assert.equal(t1.status, 200, JSON.stringify(t1.body));
  assert.notEqual(t1.body.refresh_token, t0.refresh_token);
  const narrow = await tokenRequest(IDP, 'acme', { grant_type: 'refresh_token', refresh_token: t1.body.refresh_token, scope: 'openid' }, auth);
  assert.equal(narrow.status, 200);
  assert.equal(narrow.body.scope, 'openid');
  const reuse = await tokenRequest(IDP, 'acme', { grant_type: 'refresh_token', refresh_token: t0.refresh_token }, auth);
  assert.equal(reuse.body.error, 'invalid_grant');
  const latest = await tokenRequest(IDP, 'acme', { grant_type: 'refresh_token', refresh_token: narrow.body.refresh_token }, auth);
  assert.equal(latest.body.error, 'invalid_grant', 'the whole family is revoked');
  assert.equal((await userinfo(IDP, 'acme', narrow.body.access_token)).status, 401);
});

test('revocation (RFC 7009) and introspection (RFC 7662)', async () => {
  const r = await signIn(new Agent(), IDP, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const t = (await redeem(IDP, 'acme', acmeA, r.code, r.verifier)).body;
  const unauth = await fetch(`${IDP}/acme/oauth2/introspect`, { method: 'POST', body: new URLSearchParams({ token: t.access_token }) });
  assert.equal(unauth.status, 401);
  const rt = await introspect(IDP, 'acme', acmeA, t.refresh_token);
  assert.equal(rt.body.active, true);
  assert.equal(rt.body.token_type, 'refresh_token');
  const rev = await fetch(`${IDP}/acme/oauth2/revoke`, {
    method: 'POST', body: new URLSearchParams({ token: t.access_token }),
    headers: { authorization: 'Basic ' + Buffer.from(`${acmeA.client_id}:${acmeA.client_secret}`).toString('base64') },
  });
  assert.equal(rev.status, 200);
  assert.equal((await introspect(IDP, 'acme', acmeA, t.access_token)).body.active, false);
  const junk = await fetch(`${IDP}/acme/oauth2/revoke`, {
    method: 'POST', body: new URLSearchParams({ token: 'junk' }),
    headers: { authorization: 'Basic ' + Buffer.from(`${acmeA.client_id}:${acmeA.client_secret}`).toString('base64') },
  });
  assert.equal(junk.status, 200, 'unknown tokens are not an error');
});

test('client credentials: confidential apps only, secrets checked', async () => {
  const ok = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [acmeSvc.client_id, acmeSvc.client_secret]);
  assert.equal(ok.status, 200);
  const { payload } = await jose.jwtVerify(ok.body.access_token, jwks('acme'), { issuer: iss('acme'), audience: acmeSvc.client_id, typ: 'at+jwt' });
  assert.equal(payload.sub, acmeSvc.id);
  const post = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials', client_id: acmeSvc.client_id, client_secret: acmeSvc.client_secret });
  assert.equal(post.status, 200, 'client_secret_post');
  const wrong = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [acmeSvc.client_id, acmeSvc.client_secret + 'x']);
  assert.equal(wrong.status, 401);
  assert.equal(wrong.body.error, 'invalid_client');
  const pub = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials', client_id: acmeB.client_id });
  assert.equal(pub.status, 401);
  const both = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials', client_secret: acmeSvc.client_secret }, [acmeSvc.client_id, acmeSvc.client_secret]);
  assert.equal(both.status, 400, 'one authentication method at a time');
  const notAllowed = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [acmeA.client_id, acmeA.client_secret]);
  assert.equal(notAllowed.body.error, 'unauthorized_client');
  const es = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [acmeEs.client_id, acmeEs.client_secret]);
  assert.equal(JSON.parse(Buffer.from(es.body.access_token.split('.')[0], 'base64url')).alg, 'ES256');
  await jose.jwtVerify(es.body.access_token, jwks('acme'), { issuer: iss('acme'), algorithms: ['ES256'] });
});

test('tokens of one tenant are worthless at another', async () => {
  const g = (await tokenRequest(IDP, 'globex', { grant_type: 'client_credentials' }, [globexSvc.client_id, globexSvc.client_secret])).body;
  assert.equal((await introspect(IDP, 'acme', acmeSvc, g.access_token)).body.active, false);
  const r = await signIn(new Agent(), IDP, 'globex', app('globex', 'a'), 'alice@globex.test', PASSWORD);
  const gt = (await redeem(IDP, 'globex', app('globex', 'a'), r.code, r.verifier)).body;
  assert.equal((await userinfo(IDP, 'acme', gt.access_token)).status, 401);
  // acme's client cannot authenticate at globex either
  const cross = await tokenRequest(IDP, 'globex', { grant_type: 'client_credentials' }, [acmeSvc.client_id, acmeSvc.client_secret]);
  assert.equal(cross.status, 401);
  // nor can a globex code be redeemed at acme
  const r2 = await signIn(new Agent(), IDP, 'globex', app('globex', 'a'), 'alice@globex.test', PASSWORD);
  const crossCode = await redeem(IDP, 'acme', acmeA, r2.code, r2.verifier);
  assert.equal(crossCode.body.error, 'invalid_grant');
});

test('forged tokens: alg none, HS256 with the RSA public key, tampered, wrong audience', async () => {
  const t = (await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [acmeSvc.client_id, acmeSvc.client_secret])).body.access_token;
  const [h, p] = t.split('.');
  const header = b64json(h), claims = b64json(p);
  const enc = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');

  const none = `${enc({ ...header, alg: 'none' })}.${p}.`;
  assert.equal((await introspect(IDP, 'acme', acmeSvc, none)).body.active, false);

  const k = (await (await fetch(`${IDP}/acme/discovery/keys`)).json()).keys.find((x) => x.kid === header.kid);
  const pem = createPublicKey({ key: k, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
  const hsHead = enc({ alg: 'HS256', typ: 'at+jwt', kid: header.kid });
  const mac = createHmac('sha256', pem).update(`${hsHead}.${p}`).digest('base64url');
  assert.equal((await introspect(IDP, 'acme', acmeSvc, `${hsHead}.${p}.${mac}`)).body.active, false);

  const tampered = `${h}.${enc({ ...claims, sub: 'someone-else' })}.${t.split('.')[2]}`;
  assert.equal((await introspect(IDP, 'acme', acmeSvc, tampered)).body.active, false);
  assert.equal((await introspect(IDP, 'acme', acmeSvc, t)).body.active, true, 'the original is fine');

  // idp-verify, offline: audience and algorithm allow-list
  const jwksFile = `${DIR}/acme-jwks.json`;
  writeFileSync(jwksFile, JSON.stringify(await (await fetch(`${IDP}/acme/discovery/keys`)).json()));
  const verify = (...args) => {
    try { return { code: 0, out: execFileSync(`${process.env.IDP_BUILD}/idp/idp-verify`, args, { encoding: 'utf8' }) }; }
    catch (e) { return { code: e.status, out: e.stdout }; }
  };
  assert.equal(verify('--jwks', jwksFile, '--iss', iss('acme'), '--aud', acmeSvc.client_id, '--typ', 'at+jwt', t).code, 0);
  const wrongAud = verify('--jwks', jwksFile, '--iss', iss('acme'), '--aud', 'someone-else', t);
  assert.equal(wrongAud.code, 1);
  assert.match(wrongAud.out, /wrong audience/);
  assert.match(verify('--jwks', jwksFile, '--iss', iss('acme'), '--no-aud', '--alg', 'ES256', t).out, /not accepted/);
  assert.match(verify('--jwks', jwksFile, '--iss', iss('globex'), '--no-aud', t).out, /wrong issuer/);
  assert.match(verify('--jwks', jwksFile, '--iss', iss('acme'), '--no-aud', none).out, /not accepted/);
  await assert.rejects(jose.jwtVerify(t, jwks('acme'), { issuer: iss('acme'), audience: 'someone-else' }));
});

test('expired codes and expired tokens are refused', async () => {
  const r = await signIn(new Agent(), SHORT, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const early = await signIn(new Agent(), SHORT, 'acme', acmeA, 'alice@acme.test', PASSWORD);
  const t = (await redeem(SHORT, 'acme', acmeA, early.code, early.verifier)).body;
  assert.ok(t.access_token);
  assert.equal((await userinfo(SHORT, 'acme', t.access_token)).status, 200);
  await sleep(6000);
  const late = await redeem(SHORT, 'acme', acmeA, r.code, r.verifier);
  assert.equal(late.status, 400);
  assert.match(late.body.error_description, /expired/);
  const ui = await userinfo(SHORT, 'acme', t.access_token);
  assert.equal(ui.status, 401);
  assert.match(ui.www, /invalid_token/);
});

test('RP-initiated logout ends the session; without a hint the user confirms', async () => {
  const agent = new Agent();
  const r = await signIn(agent, IDP, 'acme', acmeA, 'bob@acme.test', PASSWORD);
  const t = (await redeem(IDP, 'acme', acmeA, r.code, r.verifier)).body;
  const confirm = await agent.fetch(`${IDP}/acme/oauth2/logout`);
  assert.equal(confirm.status, 200);
  assert.match(confirm.text_, /Sign out\?/);
  const out = await agent.fetch(`${IDP}/acme/oauth2/logout?${new URLSearchParams({
    id_token_hint: t.id_token, post_logout_redirect_uri: acmeA.redirect_uris[0], state: 'bye' })}`);
  assert.equal(out.status, 302);
  assert.equal(new URL(out.headers.get('location')).searchParams.get('state'), 'bye');
  const after = await agent.fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge }));
  assert.equal(after.status, 200, 'signed out: the sign-in page again');
  const evil = await new Agent().fetch(`${IDP}/acme/oauth2/logout?post_logout_redirect_uri=https://evil.test/`);
  assert.equal(evil.headers.get('location'), null, 'unregistered address: no redirect');
});

test('key rotation: new tokens use the new key, old ones stay valid', async () => {
  const before = (await tokenRequest(IDP, 'globex', { grant_type: 'client_credentials' }, [globexSvc.client_id, globexSvc.client_secret])).body.access_token;
  const oldKid = b64json(before.split('.')[0]).kid;
  idpctl('keys', 'rotate', 'globex');
  let kids = [];
  for (let i = 0; i < 30 && kids.length < 4; i++) {
    kids = (await (await fetch(`${IDP}/globex/discovery/keys`)).json()).keys.map((k) => k.kid);
    if (kids.length < 4) await sleep(500);
  }
  assert.equal(kids.length, 4, 'old and new keys published');
  assert.ok(kids.includes(oldKid));
  const after = (await tokenRequest(IDP, 'globex', { grant_type: 'client_credentials' }, [globexSvc.client_id, globexSvc.client_secret])).body.access_token;
  assert.notEqual(b64json(after.split('.')[0]).kid, oldKid);
  assert.equal((await introspect(IDP, 'globex', globexSvc, before)).body.active, true);
  assert.equal((await introspect(IDP, 'globex', globexSvc, after)).body.active, true);
});

test('synced users sign in with their LDAP password (pass-through bind)', async () => {
  const { readFileSync } = await import('node:fs');
  const ldapPassword = readFileSync(process.env.IDP_LDAP_PASSWORD_FILE, 'utf8').trim();
  const ok = await signIn(new Agent(), IDP, 'acme', acmeA, 'ada@ldap.acme.test', ldapPassword);
  assert.ok(ok.code, 'the directory accepted the password');
  const t = await redeem(IDP, 'acme', acmeA, ok.code, ok.verifier);
  assert.equal(b64json(t.body.id_token.split('.')[1]).preferred_username, 'ada@ldap.acme.test');
  const wrong = await signIn(new Agent(), IDP, 'acme', acmeA, 'ada@ldap.acme.test', 'not-it');
  assert.match(wrong.res.text_, /Wrong username or password/);
  const locked = await signIn(new Agent(), IDP, 'acme', acmeA, 'charles@ldap.acme.test', ldapPassword);
  assert.match(locked.res.text_, /locked at your organisation/);
  assert.ok(!locked.code);
});
