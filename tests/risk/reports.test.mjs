// The reports API over HTTPS: RBAC on every call, filters and pagination,
// hostile parameters and bodies, risky users dismissed and confirmed (which
// revokes the user's sessions and refresh tokens), lockouts lifted, the
// tenant's policy, counts and summary, tenant isolation; and the same
// through idpctl's tables.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { Client, UA, PASSWORD, IDP, DIR, adminToken, allSignIns, api, app, idpctl, signIn } from './lib.mjs';
import { pkce, redeem, authorizeUrl, formFields } from '../idp/lib.mjs';

const LONDON = (n) => `81.2.60.${n}`;
let admin, reader;

test('setup: a little history with an attack or two', async () => {
  admin = await adminToken('admin');
  reader = await adminToken('reader');
  for (let i = 0; i < 3; i++) {
    assert.equal((await signIn(new Client(LONDON(1), UA.firefoxLinux), 'u000@acme.test', PASSWORD)).outcome, 'code');
    assert.equal((await signIn(new Client(LONDON(2), UA.chromeWin), 'u002@acme.test', PASSWORD)).outcome, 'code');
  }
  assert.equal((await signIn(new Client(LONDON(1), UA.firefoxLinux), 'u000@acme.test', 'typo')).outcome, 'wrong');
  for (let i = 0; i < 10; i++)
    assert.equal((await signIn(new Client('41.58.1.1', UA.python), 'u001@acme.test', `guess${i}`)).outcome, 'wrong');
  assert.equal((await signIn(new Client(LONDON(3), UA.firefoxLinux), 'u001@acme.test', PASSWORD)).outcome, 'locked');
  assert.equal((await signIn(new Client('198.51.100.7', UA.chromeWin), 'u002@acme.test', PASSWORD)).outcome, 'blocked');
  // an address a proxy did not write is not believed: garbage is ignored
  const odd = new Client('not-an-address', UA.chromeWin);
  assert.equal((await signIn(odd, 'u005@acme.test', PASSWORD)).outcome, 'code');
});

test('authorization: a token for the admin resource with the right role', async () => {
  assert.equal((await api(null, 'GET', 'signIns')).status, 401);
  const nobody = await adminToken('nobody');
  const r = await api(nobody, 'GET', 'signIns');
  assert.equal(r.status, 403);
  assert.match(r.json.error.message, /idp\/signIns\/read/);
  assert.equal((await api(reader, 'GET', 'signIns')).status, 200);
  assert.equal((await api(reader, 'GET', 'riskyUsers')).status, 200);
  assert.equal((await api(reader, 'POST', 'lockouts/unlock', { userName: 'u001@acme.test' })).status, 403);
  assert.equal((await api(reader, 'PUT', 'policy', { requireMfaAt: 'low', blockAt: 'high' })).status, 403);
  // another tenant's admin token is not accepted here
  const globex = await adminToken('admin', 'globex');
  assert.equal((await api(globex, 'GET', 'signIns')).status, 401);
  // and its own reports hold none of acme's sign-ins
  const g = await api(globex, 'GET', 'signIns', undefined, 'globex');
  assert.equal(g.status, 200);
  // (only its admin tool's own token grant)
  assert.ok(g.json.value.every((r) => r.userName === `app:${app('globex', 'admin').client_id}`), g.text);
});

// Successful grants and SSO reuse reach the log through a batch writer
// (within 50 ms): let it catch up before counting rows.
const settle = () => new Promise((res) => setTimeout(res, 300));

test('sign-ins: filters, pagination, what a row says', async () => {
  await settle();
  const all = await allSignIns(admin, '');
  assert.ok(all.length >= 18, `${all.length} rows`);
  const u1 = await api(admin, 'GET', 'signIns?user=u001@acme.test&limit=1000');
  assert.equal(u1.status, 200);
  assert.equal(u1.json.value.length, 11);
  assert.ok(u1.json.value.every((r) => r.userName === 'u001@acme.test'));
  // the same user by id, and by result
  const byId = await api(admin, 'GET', `signIns?user=${u1.json.value[0].userId}&result=locked`);
  assert.equal(byId.json.value.length, 1);
  assert.equal(byId.json.value[0].ip, '81.2.60.3', 'the X-Forwarded-For address');
  assert.equal(byId.json.value[0].location.city, 'London');
  assert.equal(byId.json.value[0].device, 'Firefox/Linux');
  const locked = byId.json.value[0];
  assert.equal(locked.detections[0].name, 'brute_force');
  assert.match(locked.detections[0].reason, /locked after 10 failed passwords/);
  assert.equal(locked.detections[0].evidence.lastIp, '41.58.1.1');
  // by address, by step, by app, by time
  const src = await api(admin, 'GET', 'signIns?ip=41.58.1.1');
  assert.equal(src.json.value.length, 10);
  assert.ok(src.json.value.every((r) => r.location.country === 'NG'));
  assert.equal((await api(admin, 'GET', 'signIns?step=mfa')).json.value.length, 0);
  const a = app('acme', 'a');
  const ofA = all.filter((r) => r.appId === all.find((x) => x.userName === 'u001@acme.test').appId);
  assert.equal((await api(admin, 'GET', `signIns?app=${a.client_id}&limit=1000`)).json.value.length, ofA.length);
  // the app token grants are rows too (the admin tools' client_credentials)
  const grants = await api(admin, 'GET', 'signIns?step=token&limit=1000');
  assert.ok(grants.json.value.some((r) => r.userName === `app:${app('acme', 'admin').client_id}` && r.reason === 'client_credentials'));
  const future = await api(admin, 'GET', 'signIns?from=2100-01-01T00:00:00Z&to=2100-01-02');
  assert.deepEqual(future.json.value, []);
  const epoch = await api(admin, 'GET', `signIns?from=${all.at(-1).timestamp}&to=${all[0].timestamp + 1}&limit=1000`);
  assert.equal(epoch.json.value.length, all.length);
  // the garbage X-Forwarded-For was ignored: the proxy's own address
  assert.ok(all.some((r) => r.userName === 'u005@acme.test' && r.ip === '127.0.0.1'));
  // pages of 3 walk everything once, newest first
  const seen = [];
  let cursor = null;
  for (;;) {
    const p = await api(admin, 'GET', `signIns?limit=3${cursor ? '&cursor=' + cursor : ''}`);
    assert.equal(p.status, 200);
    seen.push(...p.json.value.map((r) => r.id));
    if (!p.json.nextCursor) break;
    cursor = p.json.nextCursor;
  }
  assert.deepEqual(seen, all.map((r) => r.id));
  assert.equal(new Set(seen).size, seen.length);
  // risky only: nothing at none
  const risky = await api(admin, 'GET', 'riskySignIns?limit=1000');
  assert.ok(risky.json.value.length >= 3);
  assert.ok(risky.json.value.every((r) => r.riskLevel !== 'none' && r.detections.length > 0));
  const high = await api(admin, 'GET', 'riskySignIns?risk=high');
  assert.ok(high.json.value.some((r) => r.ip === '198.51.100.7' && r.result === 'blocked'));
  assert.ok(high.json.value.every((r) => r.riskLevel === 'high'));
});

test('hostile parameters get a 400 that says which', async () => {
  const bad = [
    'signIns?limit=0', 'signIns?limit=1001', 'signIns?limit=ten', 'signIns?risk=extreme',
    'signIns?risk=none', 'signIns?result=maybe', 'signIns?step=%3Cscript%3E',
    'signIns?ip=1.2.3.4%3BDROP', 'signIns?from=yesterday', 'signIns?from=2026-01-01T00:00:00%2B02:00',
    'signIns?from=5&to=4', 'signIns?cursor=abc', 'signIns?cursor=1.2.3', 'signIns?limit=1&limit=2',
    'counts?interval=fortnight', 'counts?interval=59', 'counts?interval=60s', 'counts?from=0&interval=minute',
    'summary?top=0', 'summary?top=1x', 'riskyUsers?state=happy', 'dashboard?days=2',
  ];
  for (const q of bad) {
    const r = await api(admin, 'GET', q);
    assert.equal(r.status, 400, `${q}: ${r.status} ${r.text}`);
    assert.ok(r.json.error.message.length > 5, q);
  }
  assert.equal((await api(admin, 'GET', 'signIns?user=nobody@acme.test')).status, 404);
  assert.equal((await api(admin, 'GET', 'signIns?app=no-such-app')).status, 404);
  assert.equal((await api(admin, 'GET', 'nothing')).status, 404);
  assert.equal((await api(admin, 'DELETE', 'signIns')).status, 405);
  const bodies = ['not json', '[]', '{"userName":1}', '{"userName":"x","extra":true}', '{}', '{"userName":"a","userName":"b"}'];
  for (const b of bodies) {
    const r = await api(admin, 'POST', 'lockouts/unlock', b);
    assert.equal(r.status, 400, `${b}: ${r.status} ${r.text}`);
  }
  const r = await fetch(`${IDP}/acme/reports/lockouts/unlock`, { method: 'POST', headers: { authorization: `Bearer ${admin}`, 'content-type': 'text/plain' }, body: '{}' });
  assert.equal(r.status, 415);
});

test('lockouts: visible, lifted by an admin, audited', async () => {
  const l = await api(admin, 'GET', 'lockouts');
  assert.equal(l.status, 200);
  const row = l.json.value.find((x) => x.userName === 'u001@acme.test');
  assert.ok(row, JSON.stringify(l.json));
  assert.equal(row.failures, 10);
  assert.equal(row.lastIp, '41.58.1.1');
  assert.equal((await api(admin, 'POST', 'lockouts/unlock', { userName: 'U001@ACME.TEST' })).status, 204);
  assert.equal((await api(admin, 'POST', 'lockouts/unlock', { userName: 'u001@acme.test' })).status, 404);
  assert.equal((await signIn(new Client(LONDON(3), UA.firefoxLinux), 'u001@acme.test', PASSWORD)).outcome, 'code');
  const audit = await (await fetch(`${IDP}/acme/admin/auditLogs?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json();
  assert.ok(audit.value.some((a) => a.action === 'signin.unlock' && /u001@acme.test/.test(a.summary) && a.actor.startsWith('app:')));
});

test('risky users: dismiss, and confirm revokes sessions and refresh tokens', async () => {
  let r = await api(admin, 'GET', 'riskyUsers');
  const u2 = r.json.value.find((u) => u.userPrincipalName === 'u002@acme.test');
  assert.ok(u2, JSON.stringify(r.json));
  assert.equal(u2.riskLevel, 'high');
  assert.equal(u2.state, 'at_risk');
  assert.ok(u2.detections.includes('listed_network'));
  assert.equal((await api(reader, 'POST', `riskyUsers/${u2.userId}/dismiss`)).status, 403);
  r = await api(admin, 'POST', `riskyUsers/${u2.userId}/dismiss`, { note: 'travelling admin, checked by phone' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'dismissed');
  assert.match(r.json.updatedBy, /^app:/);
  assert.equal((await api(admin, 'GET', 'riskyUsers?state=dismissed')).json.value.length, 1);
  assert.equal((await api(admin, 'POST', 'riskyUsers/nobody/dismiss')).status, 404);
  assert.equal((await api(admin, 'POST', `riskyUsers/${u2.userId}/explode`)).status, 404);
  assert.equal((await api(admin, 'GET', `riskyUsers/${u2.userId}/dismiss`)).status, 405);

  // u003 holds a session and a refresh token
  const c = new Client(LONDON(9), UA.chromeWin);
  const a = app('acme', 'a');
  const { verifier, challenge } = pkce();
  let res = await c.fetch(authorizeUrl(IDP, 'acme', a, { code_challenge: challenge }));
  res = await c.fetch(`${IDP}/acme/login`, { method: 'POST', body: { ...formFields(res.text_), username: 'u003@acme.test', password: PASSWORD } });
  res = await c.fetch(new URL(res.headers.get('location'), IDP));
  const code = new URL(res.headers.get('location')).searchParams.get('code');
  const t = await redeem(IDP, 'acme', a, code, verifier);
  assert.equal(t.status, 200);
  assert.ok(t.body.refresh_token);
  r = await api(admin, 'POST', 'riskyUsers/u003@acme.test/confirmCompromised', { note: 'phished' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.state, 'confirmed');
  assert.equal(r.json.riskLevel, 'high');
  assert.ok(r.json.revokedGrants >= 1);
  // the refresh token no longer works, nor the session, nor the access token
  const refreshed = await fetch(`${IDP}/acme/oauth2/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: 'Basic ' + Buffer.from(`${a.client_id}:${a.client_secret}`).toString('base64') },
    body: new URLSearchParams({ grant_type: 'refresh_token', refresh_token: t.body.refresh_token }),
  });
  assert.equal(refreshed.status, 400);
  const again = await c.fetch(authorizeUrl(IDP, 'acme', a, { code_challenge: pkce().challenge }));
  assert.equal(again.status, 200);
  assert.match(again.text_, /name="password"/, 'signed out: the sign-in page again');
  const ui = await fetch(`${IDP}/acme/oidc/userinfo`, { headers: { authorization: `Bearer ${t.body.access_token}` } });
  assert.equal(ui.status, 401);
  const audit = await (await fetch(`${IDP}/acme/admin/auditLogs?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json();
  assert.ok(audit.value.some((x) => x.action === 'risk.dismiss' && x.targetId === u2.userId && /travelling admin/.test(x.summary)));
  assert.ok(audit.value.some((x) => x.action === 'risk.confirm' && /revoked/.test(x.summary)));
});

test('policy: per tenant, from the configuration by default', async () => {
  let r = await api(reader, 'GET', 'policy');
  assert.deepEqual([r.json.requireMfaAt, r.json.blockAt, r.json.source], ['medium', 'high', 'configuration']);
  assert.equal((await api(admin, 'PUT', 'policy', { requireMfaAt: 'sometimes', blockAt: 'high' })).status, 400);
  assert.equal((await api(admin, 'PUT', 'policy', { requireMfaAt: 'low' })).status, 400);
  r = await api(admin, 'PUT', 'policy', { requireMfaAt: 'never', blockAt: 'never' });
  assert.equal(r.status, 200, r.text);
  assert.equal(r.json.source, 'tenant');
  // the same botnet address now gets through (and is still flagged)
  assert.equal((await signIn(new Client('198.51.100.8', UA.chromeWin), 'u004@acme.test', PASSWORD)).outcome, 'code');
  const rows = await api(admin, 'GET', 'signIns?user=u004@acme.test');
  assert.equal(rows.json.value[0].riskLevel, 'high');
  assert.equal(rows.json.value[0].result, 'success');
  r = await api(admin, 'DELETE', 'policy');
  assert.equal(r.json.source, 'configuration');
  assert.equal((await signIn(new Client('198.51.100.8', UA.chromeWin), 'u004@acme.test', PASSWORD)).outcome, 'blocked');
});

test('counts over time and the summary', async () => {
  await settle();
  const all = await allSignIns(admin, '');
  const r = await api(admin, 'GET', 'counts?interval=hour');
  assert.equal(r.status, 200);
  assert.ok(r.json.value.length >= 24 && r.json.value.length <= 26);
  const sum = r.json.value.reduce((n, b) => n + b.success + b.failure + b.locked + b.blocked, 0);
  assert.equal(sum, all.length);
  const s = await api(admin, 'GET', 'summary?top=5');
  assert.equal(s.status, 200);
  assert.ok(s.json.failuresByReason.some((x) => x.reason === 'wrong password' && x.count >= 11));
  const src = s.json.topFailingSources.find((x) => x.ip === '41.58.1.1');
  assert.deepEqual([src.count, src.names], [10, 1]);
  assert.ok(s.json.detections.some((x) => x.name === 'brute_force'));
  assert.ok(s.json.detections.some((x) => x.name === 'listed_network'));
});

test('idpctl report: tables and JSON, actions, usage errors', () => {
  const table = idpctl('report', 'signins', 'acme', '--user', 'u001@acme.test', '--limit', '5');
  const lines = table.trim().split('\n');
  assert.match(lines[0], /^TIME \(UTC\)\s+STEP\s+RESULT\s+NAME\s+ADDRESS\s+PLACE\s+RISK\s+DETECTIONS/);
  assert.equal(lines.length, 6);
  assert.ok(lines.some((l) => /41\.58\.1\.1\s+Lagos, NG/.test(l)));
  const risky = idpctl('report', 'risky', 'acme');
  assert.match(risky, /Risky users/);
  assert.match(risky, /u003@acme\.test\s+high\s+confirmed/);
  assert.match(risky, /listed_network/);
  const js = JSON.parse(idpctl('--json', 'report', 'signins', 'acme', '--ip', '41.58.1.1', '--since', '7d'));
  assert.equal(js.length, 10);
  assert.equal(js[0].country, 'NG');
  const rj = JSON.parse(idpctl('--json', 'report', 'risky', 'acme'));
  assert.ok(rj.risky_users.length >= 2 && rj.risky_signins.length >= 3);
  // lock, see, unlock
  return (async () => {
    for (let i = 0; i < 10; i++) await signIn(new Client('41.58.1.2', UA.python), 'ghost@acme.test', 'x');
    assert.match(idpctl('report', 'lockouts', 'acme'), /ghost@acme\.test\s+10\s+41\.58\.1\.2/);
    assert.match(idpctl('report', 'unlock', 'acme', 'ghost@acme.test'), /unlocked/);
    assert.match(idpctl('report', 'lockouts', 'acme'), /no name is locked/);
    assert.match(idpctl('report', 'policy', 'acme', '--require-mfa-at', 'low', '--block-at', 'high'), /from: low/);
    assert.equal(JSON.parse(idpctl('--json', 'report', 'policy', 'acme')).require_mfa_at, 'low');
    assert.match(idpctl('report', 'policy', 'acme', '--reset'), /configuration/);
    assert.match(idpctl('report', 'dismiss', 'acme', 'u003@acme.test', '--note', 'handled'), /dismissed/);
    const status = (args) => { try { execFileSync(`${process.env.IDP_BUILD}/idp/idpctl`, args, { env: { ...process.env, IDP_CONFIG: `${DIR}/idp.conf` }, stdio: 'pipe' }); return 0; } catch (e) { return e.status; } };
    assert.equal(status(['report', 'signins', 'nope']), 3);
    assert.equal(status(['report', 'signins', 'acme', '--risk', 'extreme']), 2);
    assert.equal(status(['report', 'signins', 'acme', '--since', 'forever']), 2);
    assert.equal(status(['report', 'signins', 'acme', '--ip', 'x']), 2);
    assert.equal(status(['report', 'unlock', 'acme', 'never-failed@acme.test']), 3);
    assert.equal(status(['report', 'dismiss', 'acme', 'nobody@acme.test']), 3);
    assert.equal(status(['report', 'policy', 'acme', '--block-at', 'high']), 2);
    assert.equal(status(['report', 'frobnicate', 'acme']), 2);
    assert.equal(status(['report']), 2);
  })();
});

test('a confirmed compromise blocks password sign-in until an admin resets the password', async () => {
  const who = 'u000@acme.test';
  assert.equal((await signIn(new Client(LONDON(1), UA.firefoxLinux), who, PASSWORD)).outcome, 'code');
  let r = await api(admin, 'POST', `riskyUsers/${who}/confirmCompromised`, { note: 'token theft' });
  assert.equal(r.status, 200, r.text);
  // the right password, from the user's usual place and browser: still refused
  assert.equal((await signIn(new Client(LONDON(1), UA.firefoxLinux), who, PASSWORD)).outcome, 'blocked');
  const rows = await api(admin, 'GET', `signIns?user=${who}&result=blocked`);
  assert.equal(rows.status, 200, rows.text);
  assert.ok(rows.json.value.length >= 1, rows.text);
  assert.equal(rows.json.value[0].riskLevel, 'high');
  assert.ok(rows.json.value[0].detections.some((d) => d.name === 'confirmed_compromised'), rows.text);
  // an admin's password reset lifts it
  const users = await fetch(`${IDP}/acme/admin/users?startsWith=u000`, { headers: { authorization: `Bearer ${admin}` } });
  const id = (await users.json()).value.find((u) => u.userPrincipalName === who).id;
  const NEW = 'a new passphrase 2026';
  const patched = await fetch(`${IDP}/acme/admin/users/${id}`, {
    method: 'PATCH',
    headers: { authorization: `Bearer ${admin}`, 'content-type': 'application/json' },
    body: JSON.stringify({ password: NEW }),
  });
  assert.equal(patched.status, 200, await patched.text());
  r = await api(admin, 'GET', 'riskyUsers?state=remediated');
  assert.ok(r.json.value.some((u) => u.userPrincipalName === who && /^app:/.test(u.updatedBy)), r.text);
  assert.equal((await signIn(new Client(LONDON(1), UA.firefoxLinux), who, PASSWORD)).outcome, 'wrong');
  assert.equal((await signIn(new Client(LONDON(1), UA.firefoxLinux), who, NEW)).outcome, 'code');
  const audit = await (await fetch(`${IDP}/acme/admin/auditLogs?limit=1000`, { headers: { authorization: `Bearer ${admin}` } })).json();
  assert.ok(audit.value.some((x) => x.action === 'risk.remediate' && x.targetId === id), 'remediation audited');
});

test('guesses sent at once cannot pass the lockout threshold', async () => {
  // 40 wrong passwords for one name at once, on 4 server threads: without
  // counting the attempts under way, each batch would pass the lock check
  // before the previous batch's failures were recorded
  const name = 'burst@acme.test';
  const outcomes = await Promise.all(Array.from({ length: 40 }, (_, i) =>
    signIn(new Client('41.58.2.1', UA.python), name, `guess-${i}`).then((x) => x.outcome)));
  const count = (o) => outcomes.filter((x) => x === o).length;
  assert.ok(count('wrong') <= 10, `at most the threshold of passwords was checked: ${outcomes}`);
  assert.ok(count('wrong') >= 1, outcomes.join());
  assert.equal(count('wrong') + count('locked') + count('busy'), 40, outcomes.join());
  await settle();
  // (the address is this test's own; the name is nobody's, so no ?user filter)
  const rows = (await allSignIns(admin, 'ip=41.58.2.1')).filter((r) => r.userName === name && r.step === 'password');
  assert.equal(rows.filter((r) => r.result === 'failure').length, count('wrong'));
  const busy = rows.filter((r) => r.result === 'locked' && /at once/.test(r.reason));
  assert.equal(busy.length, count('busy'), JSON.stringify(rows.slice(0, 3)));
  // the name ends locked, and an admin can lift it
  assert.equal((await signIn(new Client('41.58.2.1', UA.python), name, 'one more')).outcome, 'locked');
  assert.equal((await api(admin, 'POST', 'lockouts/unlock', { userName: name })).status, 204);
});
