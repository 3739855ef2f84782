// Helpers for the risk tests: clients that stand at any address (the idp
// trusts X-Forwarded-For from 127.0.0.1 in this world) with any browser,
// the sign-in flow, the reports API with an admin token.
import { Agent, app, authorizeUrl, formFields, pkce, totp, IDP, PASSWORD } from '../idp/lib.mjs';
import { execFileSync } from 'node:child_process';

export { app, formFields, totp, IDP, PASSWORD };
export const DIR = process.env.IDP_TEST_DIR;

export const UA = {
  chromeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36',
  firefoxLinux: 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  safariMac: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
  edgeWin: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 Edg/126.0.2592.87',
  safariIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
  chromeAndroid: 'Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36',
  opera: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36 OPR/111.0.0.0',
  python: 'python-requests/2.31.0',
};

// A browser at an address: every request carries the address (as a proxy
// would add it) and the agent string.
export class Client extends Agent {
  constructor(ip, ua) { super(); this.ip = ip; this.ua = ua; }
  async fetch(url, opts = {}) {
    const headers = { ...(opts.headers || {}), 'x-forwarded-for': this.ip, 'user-agent': this.ua };
    return super.fetch(url, { ...opts, headers });
  }
}

// Sign in to App A with a password.  Returns what the idp did:
// 'code' (signed in), 'mfa' (asked for a second factor), 'wrong', 'locked',
// 'blocked', or 'other', and the last response.
export async function signIn(client, user, password, tenant = 'acme') {
  const a = app(tenant, 'a');
  const res0 = await client.fetch(authorizeUrl(IDP, tenant, a, { code_challenge: pkce().challenge }));
  if (res0.status !== 200 || !res0.text_.includes('name="password"')) return { outcome: 'other', res: res0 };
  let res = await client.fetch(`${IDP}/${tenant}/login`, {
    method: 'POST', body: { ...formFields(res0.text_), username: user, password },
  });
  if (res.status === 302) res = await client.fetch(new URL(res.headers.get('location'), IDP));
  if (res.status === 302 && /[?&]code=/.test(res.headers.get('location') || '')) return { outcome: 'code', res };
  const t = res.text_ || '';
  if (/Enter your code/.test(t)) return { outcome: 'mfa', res };
  if (/Too many failed sign-ins/.test(t)) return { outcome: 'locked', res };
  if (/Too many sign-ins with this name at once/.test(t)) return { outcome: 'busy', res };
  if (/looks unusual and was blocked/.test(t)) return { outcome: 'blocked', res };
  if (/Wrong username or password/.test(t)) return { outcome: 'wrong', res };
  return { outcome: 'other', res };
}

// Enroll an authenticator on the account page; returns the base32 secret.
export async function enroll(client, user) {
  let page = await client.fetch(`${IDP}/acme/account`);
  let res = await client.fetch(`${IDP}/acme/login`, { method: 'POST', body: { ...formFields(page.text_), username: user, password: PASSWORD } });
  page = await client.fetch(new URL(res.headers.get('location'), IDP));
  res = await client.fetch(`${IDP}/acme/account`, { method: 'POST', body: { ...formFields(page.text_) } });
  const secret = /id="secret">([A-Z2-7]+)</.exec(res.text_)[1];
  res = await client.fetch(`${IDP}/acme/account`, { method: 'POST', body: { ...formFields(res.text_), code: totp(secret) } });
  if (!/recovery-codes/.test(res.text_)) throw new Error('enrollment failed');
  return secret;
}

const tokens = new Map();
// An admin API token (client_credentials, audience = the tenant's admin resource).
export async function adminToken(which = 'admin', tenant = 'acme') {
  const key = `${tenant}/${which}`;
  if (tokens.has(key)) return tokens.get(key);
  const a = app(tenant, which);
  const res = await fetch(`${IDP}/${tenant}/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${encodeURIComponent(a.client_id)}:${encodeURIComponent(a.client_secret)}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'client_credentials', resource: `${IDP}/${tenant}/admin` }),
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(JSON.stringify(body));
  tokens.set(key, body.access_token);
  return body.access_token;
}

// Call the reports API; returns { status, json, text, headers }.
export async function api(token, method, path, body, tenant = 'acme') {
  const headers = {};
  if (token) headers.authorization = `Bearer ${token}`;
  if (body !== undefined) headers['content-type'] = 'application/json';
  const res = await fetch(`${IDP}/${tenant}/reports/${path}`, { method, headers, body: body === undefined ? undefined : (typeof body === 'string' ? body : JSON.stringify(body)) });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

// Every sign-in row matching query (all pages).
export async function allSignIns(token, query = '') {
  const rows = [];
  let cursor = null;
  for (;;) {
    const q = `signIns?limit=1000${query ? '&' + query : ''}${cursor ? '&cursor=' + cursor : ''}`;
    const r = await api(token, 'GET', q);
    if (r.status !== 200) throw new Error(`${q}: ${r.status} ${r.text}`);
    rows.push(...r.json.value);
    if (!r.json.nextCursor) return rows;
    cursor = r.json.nextCursor;
  }
}

export function idpctl(...args) {
  return execFileSync(`${process.env.IDP_BUILD}/idp/idpctl`, args,
    { env: { ...process.env, IDP_CONFIG: `${DIR}/idp.conf` }, encoding: 'utf8' });
}

// Run fn over items with at most n at once.
export async function pool(items, n, fn) {
  let next = 0;
  const workers = Array.from({ length: n }, async () => {
    while (next < items.length) {
      const i = next++;
      await fn(items[i], i);
    }
  });
  await Promise.all(workers);
}

// A small deterministic generator, so a failure can be replayed.
export function rng(seed) {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
