// A certified client library drives the flow: openid-client runs discovery
// and the code flow with PKCE, state and nonce, validates the id token; jose
// verifies the access token against the JWKS.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as client from 'openid-client';
import * as jose from 'jose';
import { IDP, PASSWORD, Agent, app, formFields } from './lib.mjs';

test('openid-client: discovery, code + PKCE, refresh, userinfo; jose verifies', async () => {
  const a = app('acme', 'a');
  const config = await client.discovery(new URL(`${IDP}/acme/v2.0`), a.client_id, a.client_secret);
  assert.equal(config.serverMetadata().issuer, `${IDP}/acme/v2.0`);

  const verifier = client.randomPKCECodeVerifier();
  const challenge = await client.calculatePKCECodeChallenge(verifier);
  const state = client.randomState(), nonce = client.randomNonce();
  const url = client.buildAuthorizationUrl(config, {
    redirect_uri: a.redirect_uris[0], scope: 'openid profile email offline_access',
    code_challenge: challenge, code_challenge_method: 'S256', state, nonce,
  });

  // The user signs in (a browser would; here the agent posts the form).
  const agent = new Agent();
  const page = await agent.fetch(url);
  assert.equal(page.status, 200);
  let res = await agent.fetch(`${IDP}/acme/login`, {
    method: 'POST', body: { ...formFields(page.text_), username: 'alice@acme.test', password: PASSWORD },
  });
  res = await agent.fetch(new URL(res.headers.get('location'), IDP));
  const callback = new URL(res.headers.get('location'));

  const tokens = await client.authorizationCodeGrant(config, callback, {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
  });
  const claims = tokens.claims();
  assert.equal(claims.preferred_username, 'alice@acme.test');
  assert.equal(claims.email, 'alice@acme.test');

  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const { payload, protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, {
    issuer: `${IDP}/acme/v2.0`, audience: a.client_id, typ: 'at+jwt', algorithms: ['RS256'],
  });
  assert.equal(protectedHeader.typ, 'at+jwt');
  assert.equal(payload.sub, claims.sub);

  const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  assert.equal(info.given_name, 'Alice');

  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  assert.ok(refreshed.access_token && refreshed.refresh_token !== tokens.refresh_token);
  assert.equal(refreshed.claims().sub, claims.sub);

  const intro = await client.tokenIntrospection(config, refreshed.access_token);
  assert.equal(intro.active, true);
  await client.tokenRevocation(config, refreshed.refresh_token);
  await assert.rejects(client.refreshTokenGrant(config, refreshed.refresh_token));
});

test('openid-client: client credentials, ES256 app', async () => {
  const e = app('acme', 'es');
  const config = await client.discovery(new URL(`${IDP}/acme/v2.0`), e.client_id, e.client_secret);
  const tokens = await client.clientCredentialsGrant(config);
  const jwks = jose.createRemoteJWKSet(new URL(config.serverMetadata().jwks_uri));
  const { protectedHeader } = await jose.jwtVerify(tokens.access_token, jwks, { issuer: `${IDP}/acme/v2.0`, algorithms: ['ES256'] });
  assert.equal(protectedHeader.alg, 'ES256');
});
