// Helpers for the fault-injection tests: a throw-away world made with idpctl
// (tenant, users, apps), an idp daemon started and stopped (or killed) by
// the test, an HTTP client over node's http/https that can pick its source
// address on 127/8 (so that "another client" really is another address to
// the server's per-address limits), and the sign-in flow done by hand.
import { spawn, execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { appendFileSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';

export const BUILD = process.env.IDP_BUILD;
export const TMP = process.env.FAULTS_DIR;
export const TOOL = `${BUILD}/tests/fuzz/faults/fault_tool`;
export const PASSWORD = 'Correct-Horse-1';
export const REDIRECT = 'http://127.0.0.1:9/cb';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const sha256hex = (s) => createHash('sha256').update(s).digest('hex');

// A port nobody listens on (the kernel's choice, released at once).
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, '127.0.0.1', () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

// mount a tmpfs of size at dir; false when this process may not mount.
export function mountTmpfs(dir, size) {
  mkdirSync(dir, { recursive: true });
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0700`, 'tmpfs', dir], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

export function umount(dir) {
  try { execFileSync('umount', ['-l', dir], { stdio: 'pipe' }); } catch { /* not mounted */ }
}

// A world under root: key file, config, store, tenant "acme" with users and apps.
export class World {
  constructor(root, { store, tls = false, users = 4, conf = {}, nofile } = {}) {
    this.root = root;
    this.nofile = nofile; // soft limit on open files for the daemon (the common default is 1024)
    this.store = store ?? `${root}/store.db`;
    this.tls = tls;
    this.nusers = users;
    this.extra = conf;
    mkdirSync(root, { recursive: true });
  }

  writeConf(port) {
    const sections = {
      store: { path: this.store, busy_timeout: 2000 },
      passwords: { argon2_passes: 1, argon2_memory: '64k' },
      http: {
        listen: '127.0.0.1', port, public_url: `${this.tls ? 'https' : 'http'}://127.0.0.1:${port}`,
        ...(this.tls ? { tls_cert: `${TMP}/tls.crt`, tls_key: `${TMP}/tls.key` } : { plain_http: 'true' }),
        threads: 2,
      },
      tokens: { code_lifetime: '10m' },
      secrets: { key_file: `${this.root}/keys.txt` },
      log: { level: 'warn' },
    };
    for (const [sec, kv] of Object.entries(this.extra)) sections[sec] = { ...(sections[sec] || {}), ...kv };
    let text = '';
    for (const [sec, kv] of Object.entries(sections)) {
      text += `[${sec}]\n`;
      for (const [k, v] of Object.entries(kv)) text += `${k} = ${v}\n`;
    }
    this.confPath = `${this.root}/idp.conf`;
    writeFileSync(this.confPath, text, { mode: 0o600 });
  }

  ctl(...args) {
    return execFileSync(`${BUILD}/idp/idpctl`, args, {
      env: { ...process.env, IDP_CONFIG: this.confPath }, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'],
    });
  }

  // Make the store: run once, before the first start.
  async create() {
    this.port = await freePort();
    this.writeConf(this.port);
    if (!existsSync(`${this.root}/keys.txt`)) this.ctl('mfa', 'keygen', `${this.root}/keys.txt`);
    writeFileSync(`${this.root}/pw`, `${PASSWORD}\n`, { mode: 0o600 });
    this.ctl('tenant', 'create', 'acme');
    this.users = [];
    for (let i = 0; i < this.nusers; i++) {
      const upn = `user${i}@acme.test`;
      this.ctl('user', 'create', 'acme', upn, '--password-file', `${this.root}/pw`);
      this.users.push(upn);
    }
    this.app = JSON.parse(this.ctl('--json', 'app', 'create', 'acme', 'Web', '--redirect-uri', REDIRECT,
      '--grant', 'authorization_code', '--grant', 'refresh_token'));
    this.svc = JSON.parse(this.ctl('--json', 'app', 'create', 'acme', 'Service', '--grant', 'client_credentials'));
    return this;
  }

  get url() { return `${this.tls ? 'https' : 'http'}://127.0.0.1:${this.port}`; }

  // Start the daemon; resolves when /healthz answers.  Rejects with its output if it exits.
  async start() {
    const out = [];
    const argv = [`${BUILD}/idp/idp`, '-c', this.confPath];
    if (this.nofile) argv.unshift('prlimit', `--nofile=${this.nofile}:`, '--');
    this.proc = spawn(argv[0], argv.slice(1), { stdio: ['ignore', 'pipe', 'pipe'] });
    appendFileSync(`${TMP}/pids`, `${this.proc.pid}\n`); /* run.sh stops what a failed test left */
    this.proc.stdout.on('data', (d) => out.push(d));
    this.proc.stderr.on('data', (d) => out.push(d));
    this.output = () => Buffer.concat(out).toString();
    this.exited = new Promise((resolve) => this.proc.on('exit', (code, sig) => resolve({ code, sig })));
    const deadline = Date.now() + 30000;
    for (;;) {
      if (this.proc.exitCode !== null || this.proc.signalCode !== null) {
        throw new Error(`idp exited at start (${this.proc.exitCode}): ${this.output()}`);
      }
      try {
        const r = await request(`${this.url}/healthz`, { timeout: 1000 });
        if (r.status === 200) return this;
      } catch { /* not yet */ }
      if (Date.now() > deadline) throw new Error(`idp did not start: ${this.output()}`);
      await sleep(50);
    }
  }

  alive() { return this.proc && this.proc.exitCode === null && this.proc.signalCode === null; }

  async kill() { this.proc.kill('SIGKILL'); return this.exited; }

  // SIGTERM; resolves with the exit status (0 expected: a clean stop, no leak report).
  async stop() {
    if (!this.alive()) return this.exited;
    this.proc.kill('SIGTERM');
    return this.exited;
  }

  rss() {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${this.proc.pid}/status`, 'utf8'));
      return m ? Number(m[1]) / 1024 : 0;
    } catch { return 0; }
  }

  check() {
    try {
      return execFileSync(TOOL, ['check', this.store], { encoding: 'utf8' }).trim();
    } catch (e) {
      return `${e.stdout}${e.stderr}`.trim();
    }
  }

  rows() {
    return JSON.parse(execFileSync(TOOL, ['rows', this.store], { encoding: 'utf8', maxBuffer: 1 << 28 }));
  }
}

// One HTTP request on its own connection.  opts: method, headers, body
// (string or object as a form), localAddress, timeout (ms).  Resolves with
// {status, headers, body, cookies}; rejects on a network error or timeout.
export function request(url, opts = {}) {
  const u = new URL(url);
  const lib = u.protocol === 'https:' ? https : http;
  let body = opts.body;
  const headers = { ...(opts.headers || {}) };
  if (body && typeof body === 'object') {
    body = new URLSearchParams(body).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (body !== undefined) headers['content-length'] = Buffer.byteLength(body);
  return new Promise((resolve, reject) => {
    const req = lib.request({
      host: u.hostname, port: u.port, path: u.pathname + u.search, method: opts.method || 'GET',
      headers, agent: false, localAddress: opts.localAddress,
      ...(u.protocol === 'https:' ? { ca: readFileSync(`${TMP}/tls.crt`), servername: undefined } : {}),
    }, (res) => {
      const chunks = [];
      res.on('data', (c) => chunks.push(c));
      res.on('end', () => resolve({
        status: res.statusCode, headers: res.headers, body: Buffer.concat(chunks).toString(),
        cookies: (res.headers['set-cookie'] || []).map((c) => c.split(';')[0]),
      }));
      res.on('error', reject);
    });
    req.setTimeout(opts.timeout ?? 20000, () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    if (body !== undefined) req.write(body);
    req.end();
  });
}

export function pkce() {
  const verifier = randomBytes(32).toString('base64url');
  return { verifier, challenge: createHash('sha256').update(verifier).digest('base64url') };
}

function formFields(html) {
  const fields = {};
  const end = html.indexOf('</form>');
  for (const m of html.slice(0, end >= 0 ? end : undefined).matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) {
    fields[m[1]] = m[2].replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&');
  }
  return fields;
}

const cookieName = (w, what) => `${w.tls ? '__Secure-' : ''}idp_${what}`;

// The sign-in of one browser: authorize, the password form, back to
// authorize, the code.  Returns {session, code, verifier, step, status}:
// step names the last step reached ('code' when a code came back).
export async function signIn(w, upn, opts = {}) {
  const jar = new Map();
  const cookie = () => [...jar].map(([k, v]) => `${k}=${v}`).join('; ');
  const keep = (r) => { for (const c of r.cookies) { const i = c.indexOf('='); jar.set(c.slice(0, i), c.slice(i + 1)); } };
  const { verifier, challenge } = pkce();
  const q = new URLSearchParams({
    client_id: w.app.client_id, redirect_uri: REDIRECT, response_type: 'code',
    scope: 'openid profile offline_access', state: 's', code_challenge: challenge,
    code_challenge_method: 'S256',
  });
  const o = { timeout: opts.timeout, localAddress: opts.localAddress };
  let r = await request(`${w.url}/acme/oauth2/authorize?${q}`, o);
  keep(r);
  if (r.status !== 200) return { step: 'page', status: r.status, body: r.body };
  r = await request(`${w.url}/acme/login`, {
    ...o, method: 'POST', headers: { cookie: cookie() },
    body: { ...formFields(r.body), username: upn, password: PASSWORD },
  });
  keep(r);
  const session = jar.get(cookieName(w, 'session'));
  if (r.status !== 302 || !session) return { step: 'login', status: r.status, body: r.body };
  if (opts.onSession) opts.onSession(session);
  r = await request(new URL(r.headers.location, w.url).toString(), { ...o, headers: { cookie: cookie() } });
  const loc = r.headers.location ? new URL(r.headers.location) : null;
  const code = loc?.searchParams.get('code');
  if (r.status !== 302 || !code) return { step: 'authorize', status: r.status, body: r.body, session };
  return { step: 'code', status: r.status, session, code, verifier };
}

const basic = (a) => 'Basic ' + Buffer.from(`${encodeURIComponent(a.client_id)}:${encodeURIComponent(a.client_secret)}`).toString('base64');

export async function redeem(w, code, verifier, opts = {}) {
  const r = await request(`${w.url}/acme/oauth2/token`, {
    ...opts, method: 'POST', headers: { authorization: basic(w.app) },
    body: { grant_type: 'authorization_code', code, redirect_uri: REDIRECT, code_verifier: verifier },
  });
  return { status: r.status, json: safeJson(r.body) };
}

export async function refresh(w, token, opts = {}) {
  const r = await request(`${w.url}/acme/oauth2/token`, {
    ...opts, method: 'POST', headers: { authorization: basic(w.app) },
    body: { grant_type: 'refresh_token', refresh_token: token },
  });
  return { status: r.status, json: safeJson(r.body) };
}

export async function serviceToken(w, opts = {}) {
  const r = await request(`${w.url}/acme/oauth2/token`, {
    ...opts, method: 'POST', headers: { authorization: basic(w.svc) },
    body: { grant_type: 'client_credentials' },
  });
  return { status: r.status, json: safeJson(r.body) };
}

// With the session alone (prompt=none): a code if the session is live.
export async function silentCode(w, session, opts = {}) {
  const { challenge } = pkce();
  const q = new URLSearchParams({
    client_id: w.app.client_id, redirect_uri: REDIRECT, response_type: 'code', scope: 'openid',
    state: 's', code_challenge: challenge, code_challenge_method: 'S256', prompt: 'none',
  });
  const r = await request(`${w.url}/acme/oauth2/authorize?${q}`, { ...opts, headers: { cookie: `${cookieName(w, 'session')}=${session}` } });
  const loc = r.headers.location ? new URL(r.headers.location) : null;
  return { status: r.status, code: loc?.searchParams.get('code'), error: loc?.searchParams.get('error') };
}

function safeJson(s) { try { return JSON.parse(s); } catch { return null; } }

// Percentiles of a list of numbers (ms).
export function pct(list, p) {
  if (list.length === 0) return 0;
  const s = [...list].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))];
}
