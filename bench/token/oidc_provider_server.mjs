// node's oidc-provider (a certified OpenID Provider) set up for the same
// client_credentials grant the idp serves, so bench/token/run.sh can measure
// both in one run.
//
//   node oidc_provider_server.mjs PORT SECRET [WORKERS]
//
// Two confidential clients, bench-rs and bench-es (client_secret_basic, the
// given secret), get JWT access tokens (RFC 9068) signed RS256 and ES256:
// with resource indicators, the default resource of each client names a
// resource server whose tokens are JWTs signed with that client's algorithm.
// One worker process per core (node's cluster), as node is deployed; the keys
// are made once in the primary, so every worker signs with the same ones.
// Listens on 127.0.0.1 only; prints "ready" when every worker listens.
import cluster from 'node:cluster';
import { generateKeyPairSync } from 'node:crypto';
import http from 'node:http';
import os from 'node:os';

const [port, secret, workersArg] = process.argv.slice(2);
if (!port || !secret) {
  console.error('usage: node oidc_provider_server.mjs PORT SECRET [WORKERS]');
  process.exit(2);
}
const workers = Number(workersArg || os.availableParallelism());

if (cluster.isPrimary) {
  const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ format: 'jwk' });
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ format: 'jwk' });
  const keys = JSON.stringify([
    { ...rsa, kid: 'bench-rs', alg: 'RS256', use: 'sig' },
    { ...ec, kid: 'bench-es', alg: 'ES256', use: 'sig' },
  ]);
  let listening = 0;
  for (let i = 0; i < workers; i++) {
    const w = cluster.fork({ BENCH_OP_KEYS: keys });
    w.on('message', (m) => {
      if (m === 'listening' && ++listening === workers) console.log('ready');
    });
  }
  cluster.on('exit', (w, code, sig) => {
    if (!w.exitedAfterDisconnect) console.error(`worker ${w.process.pid} exited (${code ?? sig})`);
  });
  const stop = () => {
    for (const w of Object.values(cluster.workers)) w.process.kill('SIGTERM');
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
} else {
  const { default: Provider } = await import('oidc-provider');
  const alg = (resource) => (resource === 'urn:bench:es256' ? 'ES256' : 'RS256');
  const client = (id) => ({
    client_id: id,
    client_secret: secret,
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  });
  const provider = new Provider(`http://127.0.0.1:${port}`, {
    clients: [client('bench-rs'), client('bench-es')],
    jwks: { keys: JSON.parse(process.env.BENCH_OP_KEYS) },
    features: {
      devInteractions: { enabled: false },
      clientCredentials: { enabled: true },
      resourceIndicators: {
        enabled: true,
        defaultResource: (ctx, c) => (c.clientId === 'bench-es' ? 'urn:bench:es256' : 'urn:bench:rs256'),
        useGrantedResource: () => true,
        getResourceServerInfo: (ctx, resource) => ({
          scope: 'api',
          accessTokenTTL: 600,
          accessTokenFormat: 'jwt',
          jwt: { sign: { alg: alg(resource) } },
        }),
      },
    },
  });
  http.createServer(provider.callback()).listen(Number(port), '127.0.0.1', () => process.send('listening'));
  process.on('SIGTERM', () => process.exit(0));
}
