// Malformed and oversized requests get a 4xx (or a closed connection), never
// a crash, and the server keeps answering.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { IDP, Agent, app, authorizeUrl, pkce } from './lib.mjs';

const { hostname, port } = new URL(IDP);
const acmeA = app('acme', 'a');

// Send raw bytes over TLS; resolve with the status code (0 if closed without one).
function raw(bytes, timeoutMs = 3000) {
  return new Promise((resolve) => {
    const s = tls.connect({ host: hostname, port: Number(port), servername: undefined }, () => s.write(bytes));
    let data = '';
    const done = () => { s.destroy(); const m = /^HTTP\/1\.[01] (\d{3})/.exec(data); resolve(m ? Number(m[1]) : 0); };
    s.setTimeout(timeoutMs, done);
    s.on('data', (d) => { data += d.toString('latin1'); if (/\r\n\r\n/.test(data)) done(); });
    s.on('error', done);
    s.on('end', done);
  });
}

async function alive() {
  const res = await fetch(`${IDP}/healthz`);
  assert.equal(res.status, 200, 'the server still answers');
}

const cases = [
  ['garbage request line', 'HELLO\r\n\r\n'],
  ['no HTTP version', 'GET /\r\n\r\n'],
  ['binary junk', '\x00\x01\x02\xff\xfe\r\n\r\n'],
  ['header without colon', 'GET /healthz HTTP/1.1\r\nHost: x\r\nNoColonHere\r\n\r\n'],
  ['huge header', `GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(100000)}\r\n\r\n`],
  ['huge URL', `GET /acme/${'a'.repeat(100000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
  ['bad percent-encoding', 'GET /acme/oauth2/authorize?client_id=%zz HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['NUL in a parameter', 'GET /acme/oauth2/authorize?client_id=a%00b HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['invalid UTF-8', 'GET /acme/oauth2/authorize?state=%ff%fe HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['too many parameters', `GET /acme/oauth2/authorize?${Array.from({ length: 200 }, (_, i) => `p${i}=1`).join('&')} HTTP/1.1\r\nHost: x\r\n\r\n`],
  ['body over the limit', `POST /acme/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000000\r\n\r\n${'a'.repeat(20000)}`],
  ['lying content length', 'POST /acme/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n'],
  ['bad form body', 'POST /acme/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 9\r\n\r\ngrant=%G1'],
  ['unknown tenant', 'GET /no_such-tenant!/discovery/keys HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['path traversal', 'GET /acme/../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['wrong method', 'DELETE /acme/oauth2/token HTTP/1.1\r\nHost: x\r\n\r\n'],
  ['malformed basic auth', 'POST /acme/oauth2/token HTTP/1.1\r\nHost: x\r\nAuthorization: Basic !!!notbase64\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 29\r\n\r\ngrant_type=client_credentials'],
  ['cookie soup', 'GET /acme/oauth2/authorize HTTP/1.1\r\nHost: x\r\nCookie: ;;==;\x7f; __Secure-idp_session="unterminated\r\n\r\n'],
];

for (const [name, bytes] of cases) {
  test(`hostile: ${name}`, async () => {
    const status = await raw(bytes);
    assert.ok(status === 0 || (status >= 400 && status < 500), `${name}: got ${status}`);
    await alive();
  });
}

test('hostile: JSON and form parameters with odd values reach clear errors', async () => {
  const long = await fetch(`${IDP}/acme/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'x'.repeat(10000) }) });
  assert.equal(long.status, 400);
  const weird = await fetch(`${IDP}/acme/oauth2/token`, { method: 'POST', body: new URLSearchParams({ grant_type: 'authorization_code', client_id: '"><script>', code: '\u202e' }) });
  assert.equal(weird.status, 401);
  const page = await new Agent().fetch(authorizeUrl(IDP, 'acme', acmeA, { code_challenge: pkce().challenge, state: '"><script>alert(1)</script>' }));
  assert.equal(page.status, 200);
  assert.ok(!page.text_.includes('<script>alert'), 'reflected input is escaped');
  await alive();
});

test('hostile: a hundred requests at once while bad ones arrive', async () => {
  const good = Array.from({ length: 100 }, () => fetch(`${IDP}/acme/discovery/keys`).then((r) => r.status));
  const bad = Array.from({ length: 20 }, () => raw('GARBAGE\r\n\r\n'));
  const statuses = await Promise.all(good);
  await Promise.all(bad);
  assert.ok(statuses.every((s) => s === 200));
  await alive();
});

test('hostile: a second idp on the same port is refused, and the first keeps serving', async () => {
  // the listening sockets share the port (SO_REUSEPORT, one per thread),
  // which must not let another process quietly take half the connections
  const { spawnSync } = await import('node:child_process');
  const r = spawnSync(`${process.env.IDP_BUILD}/idp/idp`, ['-c', `${process.env.IDP_TEST_DIR}/idp.conf`],
    { encoding: 'utf8', timeout: 20000 });
  assert.notEqual(r.status, 0, 'the second idp must not start');
  assert.match(r.stderr + r.stdout, /cannot listen on 127\.0\.0\.1 port \d+: in use/);
  for (let i = 0; i < 20; i++) {
    const res = await fetch(`${IDP}/acme/v2.0/.well-known/openid-configuration`);
    assert.equal(res.status, 200);
  }
});
