// Helpers for the idp integration tests: the world run.sh made, a browser
// without a browser (cookies and redirects by hand), PKCE, sign-in.
import { createHash, createHmac, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';

export const IDP = process.env.IDP_URL;
export const SHORT = process.env.IDP_SHORT_URL;
export const DIR = process.env.IDP_TEST_DIR;
export const CB = `http://127.0.0.1:${process.env.IDP_CB_PORT}`;
export const PASSWORD = 'Correct-Horse-1';

export function app(tenant, which) {
  return JSON.parse(readFileSync(`${DIR}/${tenant}-${which}.json`, 'utf8'));
}

export function idpctl(...args) {
  return execFileSync(`${process.env.IDP_BUILD}/idp/idpctl`, args,
    { env: { ...process.env, IDP_CONFIG: `${DIR}/idp.conf` }, encoding: 'utf8' });
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

export function b64json(part) {
  return JSON.parse(Buffer.from(part, 'base64url').toString('utf8'));
}

// A user agent with a cookie jar; never follows redirects on its own.
export class Agent {
  constructor() { this.jar = new Map(); }
  cookieHeader() {
    return [...this.jar].map(([k, v]) => `${k}=${v}`).join('; ');
  }
  async fetch(url, opts = {}) {
    const headers = { ...(opts.headers || {}) };
    if (this.jar.size) headers.cookie = this.cookieHeader();
    let body = opts.body;
    if (body && typeof body === 'object' && !(body instanceof URLSearchParams) && !(typeof body === 'string')) {
      body = new URLSearchParams(body);
    }
    const res = await fetch(url, { ...opts, headers, body, redirect: 'manual' });
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const i = pair.indexOf('=');
      const name = pair.slice(0, i), value = pair.slice(i + 1);
      if (/Max-Age=0/i.test(c) || value === '') this.jar.delete(name); else this.jar.set(name, value);
    }
    res.text_ = await res.text();
    return res;
  }
}

// The hidden inputs of the first form on a page.
export function formFields(html) {
  const fields = {};
  const end = html.indexOf('</form>');
  if (end >= 0) html = html.slice(0, end);
  for (const m of html.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]] = m[2].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&');
  }
  return fields;
}

export function authorizeUrl(base, tenant, a, extra = {}) {
  const p = new URLSearchParams({
    client_id: a.client_id, redirect_uri: a.redirect_uris[0], response_type: 'code',
    scope: 'openid profile email groups', state: 'st-' + randomBytes(6).toString('hex'),
    nonce: 'n-' + randomBytes(6).toString('hex'), code_challenge_method: 'S256', ...extra,
  });
  for (const [k, v] of Object.entries(extra)) if (v === undefined) p.delete(k);
  return `${base}/${tenant}/oauth2/authorize?${p}`;
}

// Go through the sign-in page with a password; returns the final response
// (a redirect to the app with a code, or whatever stopped the flow).
export async function signIn(agent, base, tenant, a, user, password, extra = {}) {
  const { verifier, challenge } = pkce();
  const url = authorizeUrl(base, tenant, a, { code_challenge: challenge, ...extra });
  let res = await agent.fetch(url);
  if (res.status === 200 && res.text_.includes('name="password"')) {
    const fields = formFields(res.text_);
    res = await agent.fetch(`${base}/${tenant}/login`, {
      method: 'POST', body: { ...fields, username: user, password },
    });
    if (res.status === 302) res = await agent.fetch(new URL(res.headers.get('location'), base));
  }
  const loc = res.headers.get('location');
  const back = loc ? new URL(loc) : null;
  return { res, verifier, url, code: back?.searchParams.get('code'), back };
}

export async function tokenRequest(base, tenant, params, auth) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  if (auth) headers.authorization = 'Basic ' + Buffer.from(`${encodeURIComponent(auth[0])}:${encodeURIComponent(auth[1])}`).toString('base64');
  const res = await fetch(`${base}/${tenant}/oauth2/token`, { method: 'POST', headers, body: new URLSearchParams(params) });
  return { status: res.status, body: await res.json(), headers: res.headers };
}

export async function redeem(base, tenant, a, code, verifier) {
  return tokenRequest(base, tenant, {
    grant_type: 'authorization_code', code, redirect_uri: a.redirect_uris[0], code_verifier: verifier,
    ...(a.client_secret ? {} : { client_id: a.client_id }),
  }, a.client_secret ? [a.client_id, a.client_secret] : null);
}

// RFC 6238 TOTP (SHA1, 6 digits, 30 s) for a base32 secret, at step offset.
export function totp(base32, offset = 0, now = Date.now()) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const c of base32.replace(/=+$/, '').toUpperCase()) bits += alphabet.indexOf(c).toString(2).padStart(5, '0');
  const key = Buffer.from(bits.match(/.{8}/g).map((b) => parseInt(b, 2)));
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(now / 1000 / 30) + offset));
  const h = createHmac('sha1', key).update(counter).digest();
  const o = h[h.length - 1] & 15;
  const n = ((h[o] & 0x7f) << 24 | h[o + 1] << 16 | h[o + 2] << 8 | h[o + 3]) % 1000000;
  return String(n).padStart(6, '0');
}
