// X-Forwarded-For: a client cannot pad its own header until the address a
// trusted proxy appended for it is dropped (the idp would then take the
// proxy for the client, hiding the address from every network check and
// from the logs).  This world trusts 127.0.0.1 as a proxy.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import { IDP, adminToken, api, app } from './lib.mjs';

// A client-credentials grant with these X-Forwarded-For lines (one header each).
function grant(a, xff) {
  return new Promise((resolve, reject) => {
    const u = new URL(`${IDP}/acme/oauth2/token`);
    const r = https.request({ hostname: u.hostname, port: u.port, path: u.pathname, method: 'POST', rejectUnauthorized: false });
    r.setHeader('content-type', 'application/x-www-form-urlencoded');
    r.setHeader('authorization', 'Basic ' + Buffer.from(`${a.client_id}:${a.client_secret}`).toString('base64'));
    r.setHeader('x-forwarded-for', xff);
    r.on('response', (res) => { res.resume(); res.on('end', () => resolve(res.statusCode)); });
    r.on('error', reject);
    r.end('grant_type=client_credentials');
  });
}

// The address of the app's newest grant row, once it is the one expected
// (successful grants reach the log through a batch writer, within 50 ms).
async function lastAddress(token, a, expected) {
  let ip;
  for (let i = 0; i < 40; i++) {
    const rows = await api(token, 'GET', `signIns?step=token&app=${a.client_id}&limit=1`);
    assert.equal(rows.status, 200);
    ip = rows.json.value[0]?.ip;
    if (ip === expected) break;
    await new Promise((res) => setTimeout(res, 50));
  }
  return ip;
}

test('a padded X-Forwarded-For does not push the client address out', async () => {
  const admin = await adminToken('admin');
  const a = app('acme', 'admin');
  const pad = '10.9.9.9, '.repeat(205); // about 2 KB, sent by the client
  // the edge proxy appended the client's address to the client's line; the
  // inner (trusted) proxy added a line of its own
  assert.equal(await grant(a, ['198.51.100.7', '127.0.0.1']), 200);
  assert.equal(await lastAddress(admin, a, '198.51.100.7'), '198.51.100.7');
  assert.equal(await grant(a, [pad + '198.51.100.8', '127.0.0.1']), 200);
  assert.equal(await lastAddress(admin, a, '198.51.100.8'), '198.51.100.8', 'padding on one line of two');
  assert.equal(await grant(a, [pad + pad + '198.51.100.9, 127.0.0.1']), 200);
  assert.equal(await lastAddress(admin, a, '198.51.100.9'), '198.51.100.9', 'padding on a single line');
  // a line that is nothing but padding: nothing left of the proxy is believed
  assert.equal(await grant(a, ['1'.repeat(5000), '127.0.0.1']), 200);
  assert.equal(await lastAddress(admin, a, '127.0.0.1'), '127.0.0.1');
});
