// make_seeds.mjs: writes the JWT and JWKS seed corpora (tests/fuzz/corpus/jwt,
// corpus/jwks) from the fixed test keys in fuzz_keys.h, so that seeds carry
// valid signatures.  Run once when the keys or the token shapes change:
//     node tests/fuzz/make_seeds.mjs
// Only node's standard library is used.
import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const header = readFileSync(join(here, 'fuzz_keys.h'), 'utf8');

function pem(name) {
  const block = header.split(`static const char ${name}[] =`)[1].split(';')[0];
  return [...block.matchAll(/"([^"]*)\\n"/g)].map((m) => m[1]).join('\n') + '\n';
}
const keys = {
  RS256: { key: createPrivateKey(pem('fuzz_rs256_pem')), kid: 'fuzz-rs256' },
  ES256: { key: createPrivateKey(pem('fuzz_es256_pem')), kid: 'fuzz-es256' },
};
const b64 = (x) => Buffer.from(typeof x === 'string' ? x : JSON.stringify(x)).toString('base64url');

function jws(alg, hdr, claims) {
  const input = `${b64(hdr)}.${b64(claims)}`;
  const sig = sign('sha256', Buffer.from(input), {
    key: keys[alg].key, ...(alg === 'ES256' ? { dsaEncoding: 'ieee-p1363' } : {}),
  });
  return `${input}.${sig.toString('base64url')}`;
}

const NOW = 1700000000;
const good = {
  iss: 'https://idp.test/acme/v2.0', sub: 'u1', aud: 'app-1', iat: NOW - 10, nbf: NOW - 10,
  exp: NOW + 600, jti: 'j1', tid: 't1', scope: 'openid', amr: ['pwd', 'otp', 'mfa'],
};
const write = (dir, name, data) => {
  mkdirSync(join(here, 'corpus', dir), { recursive: true });
  writeFileSync(join(here, 'corpus', dir, name), data);
};

const tokens = {};
for (const alg of ['RS256', 'ES256']) {
  const kid = keys[alg].kid;
  tokens[alg] = jws(alg, { alg, typ: 'at+jwt', kid }, good);
  write('jwt', `T-${alg}-good`, 'T' + tokens[alg]);
  write('jwt', `T-${alg}-nokid`, 'T' + jws(alg, { alg }, good));
  write('jwt', `T-${alg}-expired`, 'T' + jws(alg, { alg, kid }, { ...good, exp: NOW - 100 }));
  write('jwt', `T-${alg}-aud-array`, 'T' + jws(alg, { alg, kid }, { ...good, aud: ['x', 'app-1'] }));
  const k = alg === 'RS256' ? '\x00' : '\x01';
  write('jwt', `H-${alg}-plain`, `H${k}${JSON.stringify({ alg, kid })}\n${JSON.stringify(good)}`);
  write('jwt', `H-${alg}-none`, `H${k}${JSON.stringify({ alg: 'none', kid })}\n${JSON.stringify(good)}`);
  write('jwt', `H-${alg}-hs256`, `H${k}${JSON.stringify({ alg: 'HS256', kid })}\n${JSON.stringify(good)}`);
  write('jwt', `H-${alg}-crit`, `H${k}${JSON.stringify({ alg, kid, crit: ['exp'], exp: 1 })}\n${JSON.stringify(good)}`);
  write('jwt', `H-${alg}-jku`, `H${k}${JSON.stringify({ alg, jku: 'https://evil/jwks', jwk: { kty: 'oct' } })}\n${JSON.stringify(good)}`);
  write('jwt', `H-${alg}-otherkid`, `H${k}${JSON.stringify({ alg, kid: 'someone-else' })}\n${JSON.stringify(good)}`);
  write('jwt', `C-${alg}`, `C${k}\x01${JSON.stringify(good)}`);
  write('jwt', `C-${alg}-big-exp`, `C${k}\x00${JSON.stringify({ ...good, exp: 9223372036854775807, iat: -9223372036854775807 })}`);
  write('jwt', `C-${alg}-types`, `C${k}\x02${JSON.stringify({ ...good, exp: '1', nbf: 1.5, iat: null, iss: 7, aud: [1, null] })}`);
}
write('jwt', 'T-garbage', 'Tnot.a.token');
write('jwt', 'T-four-parts', 'Ta.b.c.d');
write('jwt', 'T-badb64', 'T!!!.???.***');

// JWKS documents as the idp publishes them, with the tokens above after a newline
const jwk = (alg) => ({
  ...createPublicKey(keys[alg].key).export({ format: 'jwk' }), use: 'sig', alg, kid: keys[alg].kid,
});
const set = { keys: [jwk('RS256'), jwk('ES256')] };
write('jwks', 'both-rs', `${JSON.stringify(set)}\n${tokens.RS256}`);
write('jwks', 'both-es', `${JSON.stringify(set)}\n${tokens.ES256}`);
write('jwks', 'rs-only-es-token', `${JSON.stringify({ keys: [jwk('RS256')] })}\n${tokens.ES256}`);
write('jwks', 'skips', `${JSON.stringify({ keys: [{ kty: 'oct', k: 'AAAA' }, { ...jwk('ES256'), use: 'enc' }, { ...jwk('RS256'), kid: undefined }, jwk('ES256')] })}\n${tokens.ES256}`);
write('jwks', 'wrong-alg', `${JSON.stringify({ keys: [{ ...jwk('RS256'), alg: 'ES256' }] })}\n${tokens.RS256}`);
write('jwks', 'off-curve', `${JSON.stringify({ keys: [{ ...jwk('ES256'), y: jwk('ES256').x }] })}\nx.y.z`);
write('jwks', 'small-rsa', `${JSON.stringify({ keys: [{ ...jwk('RS256'), n: 'AQAB' }] })}\nx.y.z`);
write('jwks', 'not-json', '{"keys": [\n');
console.log('seeds written');
