// The admin API, SCIM and /authz over real HTTPS: every endpoint, RBAC on
// every call, hostile JSON, and tenant isolation.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { IDP, DIR, PASSWORD, Agent, app, authorizeUrl, pkce, redeem, signIn, tokenRequest } from './lib.mjs';

const admin = (t) => `${IDP}/${t}/admin`;
const tokens = new Map();

// A client-credentials token for the admin resource.
async function appToken(tenant, which, resource = admin(tenant)) {
  const key = `${tenant}/${which}/${resource}`;
  if (tokens.has(key)) return tokens.get(key);
  const a = app(tenant, which);
  const t = await tokenRequest(IDP, tenant, { grant_type: 'client_credentials', ...(resource ? { resource } : {}) }, [a.client_id, a.client_secret]);
  assert.equal(t.status, 200, JSON.stringify(t.body));
  tokens.set(key, t.body.access_token);
  return t.body.access_token;
}

async function call(token, method, url, body, headers = {}) {
  const h = { ...headers };
  if (token) h.authorization = `Bearer ${token}`;
  let payload = body;
  if (body !== undefined && typeof body !== 'string') payload = JSON.stringify(body);
  if (payload !== undefined && !h['content-type']) h['content-type'] = 'application/json';
  const res = await fetch(url, { method, headers: h, body: payload });
  const text = await res.text();
  let json = null;
  try { json = text ? JSON.parse(text) : null; } catch { /* not JSON */ }
  return { status: res.status, json, text, headers: res.headers };
}

test('admin tokens: the admin resource is required as audience', async () => {
  const plain = await appToken('acme', 'admin', null);
  const r1 = await call(plain, 'GET', `${admin('acme')}/users`);
  assert.equal(r1.status, 401);
  assert.match(r1.json.error.message, /audience/);
  assert.equal((await call(null, 'GET', `${admin('acme')}/users`)).status, 401);
  const bad = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials', resource: 'https://evil.test/api' }, [app('acme', 'admin').client_id, app('acme', 'admin').client_secret]);
  assert.equal(bad.body.error, 'invalid_target');
  const ok = await call(await appToken('acme', 'admin'), 'GET', `${admin('acme')}/users`);
  assert.equal(ok.status, 200);
});

test('users: create, list with paging and filter, read, change, delete', async () => {
  const tok = await appToken('acme', 'admin');
  const made = [];
  for (const n of ['zoe', 'zack', 'zelda']) {
    const r = await call(tok, 'POST', `${admin('acme')}/users`, { userPrincipalName: `${n}@acme.test`, displayName: `${n} ✓ 𝒵`, password: 'Long-enough-1' });
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.displayName, `${n} ✓ 𝒵`);
    assert.equal(r.json.hasPassword, true);
    assert.equal(r.json.password, undefined, 'never echoes the password');
    made.push(r.json);
  }
  const dup = await call(tok, 'POST', `${admin('acme')}/users`, { userPrincipalName: 'ZOE@acme.test' });
  assert.equal(dup.status, 409);
  const p1 = await call(tok, 'GET', `${admin('acme')}/users?startsWith=Z&limit=2`);
  assert.equal(p1.status, 200);
  assert.equal(p1.json.value.length, 2);
  assert.ok(p1.json.nextCursor);
  const p2 = await call(tok, 'GET', `${admin('acme')}/users?startsWith=z&limit=2&cursor=${encodeURIComponent(p1.json.nextCursor)}`);
  assert.equal(p2.json.value.length, 1);
  assert.deepEqual([...p1.json.value, ...p2.json.value].map((u) => u.userPrincipalName), ['zack@acme.test', 'zelda@acme.test', 'zoe@acme.test']);
  const one = await call(tok, 'GET', `${admin('acme')}/users/${made[0].id}`);
  assert.equal(one.json.userPrincipalName, 'zoe@acme.test');
  const patched = await call(tok, 'PATCH', `${admin('acme')}/users/${made[0].id}`, { displayName: 'Zoë', enabled: false });
  assert.equal(patched.status, 200);
  assert.equal(patched.json.displayName, 'Zoë');
  assert.equal(patched.json.enabled, false);
  const groups = await call(tok, 'GET', `${admin('acme')}/users/${made[0].id}/groups`);
  assert.deepEqual(groups.json.value, []);
  const del = await call(tok, 'DELETE', `${admin('acme')}/users/${made[1].id}`);
  assert.equal(del.status, 204);
  assert.equal((await call(tok, 'GET', `${admin('acme')}/users/${made[1].id}`)).status, 404);
  const audit = await call(tok, 'GET', `${admin('acme')}/auditLogs?limit=1000`);
  const actions = audit.json.value.map((a) => `${a.action}:${a.targetId}`);
  assert.ok(actions.includes(`user.create:${made[0].id}`));
  assert.ok(actions.includes(`user.update:${made[0].id}`));
  assert.ok(actions.includes(`user.purge:${made[1].id}`));
  const rec = audit.json.value.find((a) => a.action === 'user.update' && a.targetId === made[0].id);
  assert.match(rec.actor, /^app:/);
  assert.equal(rec.ip, '127.0.0.1');
});

test('bad input gets a 4xx with a code and a message, never a 500', async () => {
  const tok = await appToken('acme', 'admin');
  const u = `${admin('acme')}/users`;
  const cases = [
    ['not JSON', '{"userPrincipalName": ', 400, 'invalid_json'],
    ['an array', '[1,2]', 400, 'invalid_json'],
    ['duplicate keys', '{"userPrincipalName":"a@x","userPrincipalName":"b@x"}', 400, 'invalid_json'],
    ['unknown field', { userPrincipalName: 'q1@acme.test', isAdmin: true }, 400, 'unknown_field'],
    ['wrong type', { userPrincipalName: 42 }, 400, 'invalid_field'],
    ['missing field', { displayName: 'x' }, 400, 'missing_field'],
    ['too long', { userPrincipalName: `${'a'.repeat(300)}@acme.test` }, 400, 'invalid_field'],
    ['not an address', { userPrincipalName: 'no-at-sign' }, 400, 'invalid_request'],
    ['control characters', { userPrincipalName: 'q2@acme.test', displayName: 'a\u0007b' }, 400, 'invalid_request'],
    ['NUL inside', '{"userPrincipalName":"q3@acme.test","displayName":"a\\u0000b"}', 400, 'invalid_json'],
    ['deep nesting', `{"userPrincipalName":"q4@acme.test","x":${'['.repeat(40)}${']'.repeat(40)}}`, 400, 'invalid_json'],
    ['very deep nesting', '['.repeat(10000), 400, 'invalid_json'],
    ['lone surrogate', '{"userPrincipalName":"q5@acme.test","displayName":"\\ud800"}', 400, 'invalid_json'],
  ];
  for (const [name, body, status, code] of cases) {
    const r = await call(tok, 'POST', u, body);
    assert.equal(r.status, status, `${name}: ${r.text}`);
    assert.equal(r.json?.error?.code, code, `${name}: ${r.text}`);
    assert.ok(r.json.error.message, name);
  }
  const bytes = await fetch(u, { method: 'POST', headers: { authorization: `Bearer ${tok}`, 'content-type': 'application/json' }, body: Buffer.from([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]) });
  assert.equal(bytes.status, 400, 'invalid UTF-8');
  const huge = await call(tok, 'POST', u, { userPrincipalName: 'q6@acme.test', displayName: 'x'.repeat(100000) });
  assert.equal(huge.status, 413);
  const media = await call(tok, 'POST', u, 'userPrincipalName=x', { 'content-type': 'application/x-www-form-urlencoded' });
  assert.equal(media.status, 415);
  assert.equal((await call(tok, 'GET', `${admin('acme')}/users?limit=0`)).status, 400);
  assert.equal((await call(tok, 'GET', `${admin('acme')}/users/../../etc`)).status, 404);
  assert.equal((await call(tok, 'PUT', `${admin('acme')}/users`)).status, 405);
});

test('RBAC decides: Reader reads but cannot write; a user acts only within what the app may do', async () => {
  const reader = await appToken('acme', 'reader');
  assert.equal((await call(reader, 'GET', `${admin('acme')}/users`)).status, 200);
  const denied = await call(reader, 'POST', `${admin('acme')}/users`, { userPrincipalName: 'nope@acme.test' });
  assert.equal(denied.status, 403);
  assert.match(denied.json.error.message, /idp\/users\/write/);

  // bob (Reader) through App A (Reader): can list, cannot create
  const a = app('acme', 'a');
  async function userToken(user) {
    const r = await signIn(new Agent(), IDP, 'acme', a, user, PASSWORD, { resource: admin('acme') });
    const t = await redeem(IDP, 'acme', a, r.code, r.verifier);
    assert.equal(t.status, 200, JSON.stringify(t.body));
    return t.body.access_token;
  }
  const bob = await userToken('bob@acme.test');
  assert.equal((await call(bob, 'GET', `${admin('acme')}/users`)).status, 200);
  assert.equal((await call(bob, 'POST', `${admin('acme')}/users`, { userPrincipalName: 'b2@acme.test' })).status, 403);
  // alice is Owner, but App A only Reader: the app limits what it does for her
  const alice = await userToken('alice@acme.test');
  assert.equal((await call(alice, 'GET', `${admin('acme')}/groups`)).status, 200);
  const lim = await call(alice, 'POST', `${admin('acme')}/groups`, { name: 'nope' });
  assert.equal(lim.status, 403);
  assert.match(lim.json.error.message, /app acting for the user/);
  // a user token without the admin resource is refused outright
  const r = await signIn(new Agent(), IDP, 'acme', a, 'alice@acme.test', PASSWORD);
  const plain = (await redeem(IDP, 'acme', a, r.code, r.verifier)).body.access_token;
  assert.equal((await call(plain, 'GET', `${admin('acme')}/users`)).status, 401);
});

test('groups and membership; apps and secret rotation; sessions; MFA reset', async () => {
  const tok = await appToken('acme', 'admin');
  const g = await call(tok, 'POST', `${admin('acme')}/groups`, { name: 'platform', description: 'Platform team' });
  assert.equal(g.status, 201);
  const users = (await call(tok, 'GET', `${admin('acme')}/users?startsWith=carol`)).json.value;
  const carol = users[0];
  assert.equal((await call(tok, 'POST', `${admin('acme')}/groups/${g.json.id}/members`, { kind: 'user', id: carol.id })).status, 204);
  const members = await call(tok, 'GET', `${admin('acme')}/groups/${g.json.id}/members`);
  assert.deepEqual(members.json.value.map((m) => m.name), ['carol@acme.test']);
  assert.equal((await call(tok, 'POST', `${admin('acme')}/groups/${g.json.id}/members`, { kind: 'robot', id: carol.id })).status, 400);
  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/groups/${g.json.id}/members/${carol.id}?kind=user`)).status, 204);

  const made = await call(tok, 'POST', `${admin('acme')}/apps`, { name: 'Payroll', redirectUris: ['https://payroll.acme.test/cb'], grants: ['authorization_code', 'client_credentials'] });
  assert.equal(made.status, 201, made.text);
  const first = made.json.clientSecret;
  assert.equal(first.length, 43);
  const t1 = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [made.json.clientId, first]);
  assert.equal(t1.status, 200);
  const rot = await call(tok, 'POST', `${admin('acme')}/apps/${made.json.id}/secret`);
  assert.equal(rot.status, 200);
  const t2 = await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [made.json.clientId, rot.json.clientSecret]);
  assert.equal(t2.status, 200, 'the new secret works at once');
  assert.equal((await call(tok, 'PATCH', `${admin('acme')}/apps/${made.json.id}`, { redirectUris: ['http://evil.test/cb'] })).status, 400);
  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/apps/${made.json.id}`)).status, 204);

  // carol signs in; an admin sees and revokes her sessions
  const agent = new Agent();
  await signIn(agent, IDP, 'acme', app('acme', 'a'), 'carol@acme.test', PASSWORD);
  const s = await call(tok, 'GET', `${admin('acme')}/users/${carol.id}/sessions`);
  assert.equal(s.json.value.length, 1);
  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/users/${carol.id}/sessions`)).status, 204);
  const after = await agent.fetch(authorizeUrl(IDP, 'acme', app('acme', 'a'), { code_challenge: pkce().challenge }));
  assert.equal(after.status, 200, 'session gone: sign-in page again');
  assert.equal((await call(tok, 'POST', `${admin('acme')}/users/${carol.id}/mfa/reset`)).status, 404);
});

test('synced objects are read-only except cloud-only attributes', async () => {
  const tok = await appToken('initech', 'admin');
  const peter = (await call(tok, 'GET', `${admin('initech')}/users?source=ldap`)).json.value[0];
  assert.equal(peter.source, 'ldap');
  const r = await call(tok, 'PATCH', `${admin('initech')}/users/${peter.id}`, { displayName: 'Pete' });
  assert.equal(r.status, 409);
  assert.match(r.json.error.message, /at the source/);
  assert.equal((await call(tok, 'PATCH', `${admin('initech')}/users/${peter.id}`, { mfaRequired: true })).status, 200);
  assert.equal((await call(tok, 'DELETE', `${admin('initech')}/users/${peter.id}`)).status, 409);
  const grp = (await call(tok, 'GET', `${admin('initech')}/groups`)).json.value[0];
  assert.equal((await call(tok, 'POST', `${admin('initech')}/groups/${grp.id}/members`, { kind: 'user', id: peter.id })).status, 409);
  const scim = await call(tok, 'PATCH', `${IDP}/initech/scim/v2/Users/${peter.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] }, { 'content-type': 'application/scim+json' });
  assert.equal(scim.status, 409);
});

test('role definitions, assignments and deny assignments through the API', async () => {
  const tok = await appToken('acme', 'admin');
  const roles = await call(tok, 'GET', `${admin('acme')}/roleDefinitions`);
  assert.deepEqual(roles.json.value.filter((r) => r.builtin).map((r) => r.name).sort(), ['Contributor', 'Owner', 'Reader', 'User Access Administrator']);
  const bad = await call(tok, 'POST', `${admin('acme')}/roleDefinitions`, { name: 'Broken', actions: ['proj/**/read'] });
  assert.equal(bad.status, 400);
  const role = await call(tok, 'POST', `${admin('acme')}/roleDefinitions`, { name: 'Project Reader', actions: ['proj/*/read'], assignableScopes: ['/projects'] });
  assert.equal(role.status, 201, role.text);
  const dave = (await call(tok, 'GET', `${admin('acme')}/users?startsWith=dave`)).json.value[0];
  const outside = await call(tok, 'POST', `${admin('acme')}/roleAssignments`, { roleId: role.json.id, principalType: 'user', principalId: dave.id, scope: '/other' });
  assert.equal(outside.status, 400, 'scope outside assignableScopes');
  const nobody = await call(tok, 'POST', `${admin('acme')}/roleAssignments`, { roleId: role.json.id, principalType: 'user', principalId: 'no-such-user', scope: '/projects' });
  assert.ok([400, 404].includes(nobody.status));
  const asg = await call(tok, 'POST', `${admin('acme')}/roleAssignments`, { roleId: 'Project Reader', principalType: 'user', principalId: dave.id, scope: '/projects/p1' });
  assert.equal(asg.status, 201, asg.text);
  const deny = await call(tok, 'POST', `${admin('acme')}/denyAssignments`, { name: 'No secrets', scope: '/projects/p1/secret', principals: [{ type: 'user', id: dave.id }], actions: ['proj/*/read'] });
  assert.equal(deny.status, 201, deny.text);

  // the app asks /authz/check, single and batch
  const authzApp = app('acme', 'authz');
  const at = (await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [authzApp.client_id, authzApp.client_secret])).body.access_token;
  let one;
  for (let i = 0; i < 30; i++) { // role data reaches the evaluator within a second
    one = await call(at, 'POST', `${IDP}/acme/authz/check`, { principalType: 'user', principalId: dave.id, action: 'proj/docs/read', scope: '/projects/p1/docs' });
    if (one.json.allowed) break;
    await new Promise((r) => setTimeout(r, 200));
  }
  assert.equal(one.status, 200);
  assert.equal(one.json.allowed, true);
  assert.equal(one.json.grantedBy.roleName, 'Project Reader');
  const batch = await call(at, 'POST', `${IDP}/acme/authz/check`, { checks: [
    { principalType: 'user', principalId: dave.id, action: 'proj/docs/read', scope: '/projects/p1/secret/x' },
    { principalType: 'user', principalId: dave.id, action: 'proj/docs/read', scope: '/projects' },
    { principalType: 'user', principalId: dave.id, action: 'proj/docs/write', scope: '/projects/p1' },
    { principalId: dave.id, action: 'bad action', scope: '/' },
  ] });
  const [denied, above, notGranted, malformed] = batch.json.results;
  assert.equal(denied.allowed, false);
  assert.equal(denied.deniedBy.name, 'No secrets');
  assert.equal(above.allowed, false, 'never above the assignment');
  assert.match(notGranted.reason, /no/i);
  assert.ok(malformed.error);
  const perms = await call(at, 'POST', `${IDP}/acme/authz/permissions`, { principalType: 'user', principalId: dave.id, scope: '/projects/p1/secret' });
  assert.equal(perms.json.grants[0].roleName, 'Project Reader');
  assert.equal(perms.json.denies[0].name, 'No secrets');
  // an app without idp/authz/check/action may not ask (Reader reads, it does not ask)
  const readerApp = app('acme', 'reader');
  const rt = (await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials' }, [readerApp.client_id, readerApp.client_secret])).body.access_token;
  const refused = await call(rt, 'POST', `${IDP}/acme/authz/check`, { principalId: dave.id, action: 'proj/docs/read', scope: '/projects/p1' });
  assert.equal(refused.status, 403, refused.text);
  assert.match(refused.json.error.message, /idp\/authz\/check\/action/);
  assert.equal((await call(rt, 'POST', `${IDP}/acme/authz/permissions`, { principalId: dave.id })).status, 403);
  // the asking app's token for another audience (the admin API) is not its own token
  const adminAud = (await tokenRequest(IDP, 'acme', { grant_type: 'client_credentials', resource: admin('acme') }, [authzApp.client_id, authzApp.client_secret])).body.access_token;
  assert.ok(adminAud);
  assert.equal((await call(adminAud, 'POST', `${IDP}/acme/authz/check`, { principalId: dave.id, action: 'a/b/c', scope: '/' })).status, 401);
  // a user's token is not for checks
  const r = await signIn(new Agent(), IDP, 'acme', app('acme', 'a'), 'dave@acme.test', PASSWORD);
  const ut = (await redeem(IDP, 'acme', app('acme', 'a'), r.code, r.verifier)).body.access_token;
  assert.equal((await call(ut, 'POST', `${IDP}/acme/authz/check`, { principalId: dave.id, action: 'a/b/c', scope: '/' })).status, 403);

  // roles in the token when asked for
  await call(tok, 'POST', `${admin('acme')}/roleAssignments`, { roleId: 'Reader', principalType: 'user', principalId: dave.id, scope: '/' });
  await new Promise((res) => setTimeout(res, 1100));
  const r2 = await signIn(new Agent(), IDP, 'acme', app('acme', 'a'), 'dave@acme.test', PASSWORD, { scope: 'openid roles' });
  const t2 = (await redeem(IDP, 'acme', app('acme', 'a'), r2.code, r2.verifier)).body;
  const claims = JSON.parse(Buffer.from(t2.access_token.split('.')[1], 'base64url'));
  assert.deepEqual(claims.roles.sort(), ['Project Reader', 'Reader']);

  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/roleDefinitions/${role.json.id}`)).status, 409, 'assigned roles stay');
  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/roleAssignments/${asg.json.id}`)).status, 204);
  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/denyAssignments/${deny.json.id}`)).status, 204);
  assert.equal((await call(tok, 'DELETE', `${admin('acme')}/roleDefinitions/${role.json.id}`)).status, 204);
});

test('SCIM 2.0: users and groups', async () => {
  const tok = await appToken('acme', 'admin');
  const scim = `${IDP}/acme/scim/v2`;
  const h = { 'content-type': 'application/scim+json' };
  const made = await call(tok, 'POST', `${scim}/Users`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'scim.user@acme.test', name: { givenName: 'Sam', familyName: 'Cim' }, emails: [{ value: 'sam@acme.test', primary: true }], active: true }, h);
  assert.equal(made.status, 201, made.text);
  assert.equal(made.headers.get('content-type'), 'application/scim+json');
  assert.equal(made.json.meta.resourceType, 'User');
  const found = await call(tok, 'GET', `${scim}/Users?filter=${encodeURIComponent('userName eq "scim.user@acme.test"')}`);
  assert.equal(found.json.totalResults, 1);
  assert.equal(found.json.Resources[0].id, made.json.id);
  const none = await call(tok, 'GET', `${scim}/Users?filter=${encodeURIComponent('userName eq "alice@globex.test"')}`);
  assert.equal(none.json.totalResults, 0, 'another tenant by name: nothing');
  assert.equal((await call(tok, 'GET', `${scim}/Users?filter=${encodeURIComponent('title co "x"')}`)).status, 400);
  const patched = await call(tok, 'PATCH', `${scim}/Users/${made.json.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }, { op: 'replace', path: 'name.givenName', value: 'Samuel' }] }, h);
  assert.equal(patched.status, 200, patched.text);
  assert.equal(patched.json.active, false);
  assert.equal(patched.json.name.givenName, 'Samuel');
  const replaced = await call(tok, 'PUT', `${scim}/Users/${made.json.id}`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'scim.user@acme.test', displayName: 'Sam C' }, h);
  assert.equal(replaced.json.displayName, 'Sam C');
  assert.equal(replaced.json.emails, undefined, 'PUT replaces: emails cleared');
  const grp = await call(tok, 'POST', `${scim}/Groups`, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'scim-group', members: [{ value: made.json.id }] }, h);
  assert.equal(grp.status, 201, grp.text);
  assert.equal(grp.json.members.length, 1);
  const rm = await call(tok, 'PATCH', `${scim}/Groups/${grp.json.id}`, { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'remove', path: `members[value eq "${made.json.id}"]` }] }, h);
  assert.equal(rm.json.members.length, 0);
  const err = await call(tok, 'POST', `${scim}/Users`, { schemas: [], userName: 'scim.user@acme.test' }, h);
  assert.equal(err.status, 409);
  assert.deepEqual(err.json.schemas, ['urn:ietf:params:scim:api:messages:2.0:Error']);
  assert.equal(err.json.scimType, 'uniqueness');
  assert.equal((await call(tok, 'DELETE', `${scim}/Users/${made.json.id}`)).status, 204);
  assert.equal((await call(tok, 'GET', `${scim}/Users/${made.json.id}`)).status, 404);
  assert.equal((await call(tok, 'DELETE', `${scim}/Groups/${grp.json.id}`)).status, 204);
});

test('export: the tenant\'s data, streamed, and nothing of another tenant', async () => {
  const tok = await appToken('acme', 'admin');
  const res = await fetch(`${admin('acme')}/export`, { headers: { authorization: `Bearer ${tok}` } });
  assert.equal(res.status, 200);
  const doc = await res.json();
  assert.equal(doc.format, 'idp-tenant-export');
  assert.ok(doc.users.some((u) => u.upn === 'alice@acme.test'));
  assert.ok(doc.audit_log.length > 0);
  const text = JSON.stringify(doc);
  const globexTool = app('globex', 'admin');
  assert.ok(!text.includes('@globex.test') && !text.includes(globexTool.client_id), 'no other tenant');
  assert.ok(!text.includes('BEGIN PRIVATE KEY'), 'no private keys');
  const reader = await appToken('acme', 'reader');
  assert.equal((await call(reader, 'GET', `${admin('acme')}/export`)).status, 403);
});

test('isolation: tenant A cannot read, change or use tenant B by id, by name or with its tokens', async () => {
  const acme = await appToken('acme', 'admin');
  const globex = await appToken('globex', 'admin');
  const gUsers = (await call(globex, 'GET', `${admin('globex')}/users`)).json.value;
  const gAlice = gUsers.find((u) => u.userPrincipalName === 'alice@globex.test');
  const gGroup = (await call(globex, 'GET', `${admin('globex')}/groups`)).json.value[0];
  const gApp = (await call(globex, 'GET', `${admin('globex')}/apps`)).json.value[0];
  const probes = [
    ['GET', `/admin/users/${gAlice.id}`], ['PATCH', `/admin/users/${gAlice.id}`, { displayName: 'x' }],
    ['DELETE', `/admin/users/${gAlice.id}`], ['GET', `/admin/users/${gAlice.id}/sessions`],
    ['POST', `/admin/users/${gAlice.id}/mfa/reset`], ['GET', `/admin/groups/${gGroup.id}`],
    ['GET', `/admin/groups/${gGroup.id}/members`], ['GET', `/admin/apps/${gApp.id}`],
    ['POST', `/admin/apps/${gApp.id}/secret`], ['GET', `/scim/v2/Users/${gAlice.id}`],
    ['DELETE', `/scim/v2/Groups/${gGroup.id}`],
  ];
  for (const [m, path, body] of probes) {
    const r = await call(acme, m, `${IDP}/acme${path}`, body);
    assert.equal(r.status, 404, `${m} ${path} by id: ${r.status}`);
  }
  // adding another tenant's user to one's own group fails too
  const own = (await call(acme, 'POST', `${admin('acme')}/groups`, { name: 'iso-probe' })).json;
  assert.equal((await call(acme, 'POST', `${admin('acme')}/groups/${own.id}/members`, { kind: 'user', id: gAlice.id })).status, 404);
  // by name
  const byName = await call(acme, 'GET', `${admin('acme')}/users?startsWith=alice@globex`);
  assert.deepEqual(byName.json.value, []);
  // with its own tokens at the other tenant
  for (const [m, path] of [['GET', '/admin/users'], ['GET', `/admin/users/${gAlice.id}`], ['GET', '/scim/v2/Users'], ['POST', '/authz/check']]) {
    const r = await call(acme, m, `${IDP}/globex${path}`, m === 'POST' ? { principalId: 'x', action: 'a/b/c', scope: '/' } : undefined);
    assert.equal(r.status, 401, `acme token at globex ${path}`);
  }
  const gAfter = await call(globex, 'GET', `${admin('globex')}/users/${gAlice.id}`);
  assert.equal(gAfter.json.displayName, 'Alice Liddell', 'untouched');
});

test('idpctl remote: the same operations against the running idp', async () => {
  const a = app('acme', 'admin');
  const secretFile = `${DIR}/admin-secret`;
  writeFileSync(secretFile, a.client_secret + '\n', { mode: 0o600 });
  const run = (...args) => {
    try {
      return { code: 0, out: execFileSync(`${process.env.IDP_BUILD}/idp/idpctl`, ['remote', '--url', `${IDP}/acme`, '--client-id', a.client_id, '--client-secret-file', secretFile, '--ca', `${DIR}/tls.crt`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
    } catch (e) { return { code: e.status, out: e.stdout, err: e.stderr }; }
  };
  const made = run('POST', 'users', '--data', JSON.stringify({ userPrincipalName: 'remote.user@acme.test', displayName: 'Remote' }));
  assert.equal(made.code, 0, made.err);
  const id = JSON.parse(made.out).id;
  const list = run('GET', 'users?startsWith=remote.');
  assert.deepEqual(JSON.parse(list.out).value.map((u) => u.id), [id]);
  assert.equal(run('POST', 'users', '--data', JSON.stringify({ userPrincipalName: 'remote.user@acme.test' })).code, 4, 'exists');
  assert.equal(run('DELETE', `users/${id}`).code, 0);
  assert.equal(run('GET', `users/${id}`).code, 3, 'not found');
  const audit = JSON.parse(run('GET', 'auditLogs?limit=1000').out);
  assert.ok(audit.value.some((r) => r.action === 'user.purge' && r.targetId === id));
  writeFileSync(secretFile, 'wrong\n', { mode: 0o600 });
  assert.equal(run('GET', 'users').code, 5, 'a wrong secret is refused');
});
