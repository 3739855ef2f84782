// Slow and abusive clients against the idp over TLS: thousands of idle
// connections, slowloris (headers a byte at a time), slow bodies, oversized
// bodies, too many connections from one address, and a request flood, each
// while a legitimate client at another address keeps signing in and asking
// for tokens.  The legitimate client's success is measured in every phase
// and printed as a table; the daemon must serve it, stay within its
// connection and body limits, close idle connections after its timeout,
// and still be alive (and stop cleanly) at the end.
//
// Attackers use source addresses 127.0.0.2 and up, the legitimate client
// 127.0.0.1, so that per-address limits treat them as the internet would.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { readFileSync } from 'node:fs';
import { TMP, World, request, signIn, redeem, serviceToken, sleep, pct } from './lib.mjs';

const TIMEOUT = 4; // [http] timeout of the daemon under test, seconds
const PER_IP = 64; // [http] max_per_ip
let world;
const sockets = new Set();
after(async () => {
  for (const s of sockets) s.destroy();
  if (world) await world.stop();
});

const ca = () => readFileSync(`${TMP}/tls.crt`);
const attacker = (i) => `127.0.${2 + Math.floor(i / 250)}.${2 + (i % 250)}`;

// The legitimate client: a sign-in with a code redeemed, or a client
// credentials grant, back to back from 127.0.0.1 until stop; every
// request on a fresh connection, 15 s to answer.
async function legit(w, stop) {
  const res = { ok: 0, failed: 0, ms: [], why: {} };
  let i = 0;
  while (!stop.now) {
    const t0 = performance.now();
    let ok = false, why = '';
    try {
      if (i++ % 4 === 0) {
        const s = await signIn(w, w.users[i % w.users.length], { timeout: 15000, localAddress: '127.0.0.1' });
        const t = s.step === 'code' ? await redeem(w, s.code, s.verifier, { timeout: 15000, localAddress: '127.0.0.1' }) : null;
        ok = t?.status === 200;
        why = ok ? '' : `${s.step} ${s.status} ${t?.status ?? ''}`;
      } else {
        const t = await serviceToken(w, { timeout: 15000, localAddress: '127.0.0.1' });
        ok = t.status === 200;
        why = ok ? '' : `token ${t.status}`;
      }
    } catch (e) {
      why = e.code || e.message;
    }
    res.ms.push(performance.now() - t0);
    if (ok) res.ok++; else { res.failed++; res.why[why] = (res.why[why] || 0) + 1; }
  }
  return res;
}

// Run the legitimate client for ms while attack() runs; the measurements.
async function phase(w, name, ms, attack) {
  const stop = { now: false };
  const running = legit(w, stop);
  const a = attack ? attack(stop) : Promise.resolve({});
  let peakRss = w.rss();
  const end = Date.now() + ms;
  while (Date.now() < end) {
    await sleep(200);
    peakRss = Math.max(peakRss, w.rss());
  }
  stop.now = true;
  const r = await running;
  const info = (await a) || {};
  return { name, ...r, total: r.ok + r.failed, peakRss, info };
}

// n idle TCP connections from attacker addresses starting at `from`; resolves when all are open.
async function idle(w, n, from = 0) {
  const list = [];
  await Promise.all(Array.from({ length: n }, (_, i) => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: w.port, localAddress: attacker(from + i) });
    s.closedByServer = false;
    s.on('connect', () => resolve());
    s.on('error', () => resolve());
    s.on('close', () => { s.closedByServer = true; resolve(); });
    s.on('data', () => {});
    sockets.add(s);
    list.push(s);
  })));
  return list;
}

const openCount = (list) => list.filter((s) => !s.closedByServer && !s.destroyed).length;

test('abuse: idle connections, slowloris, slow and huge bodies, per-address limit, a flood; real requests keep succeeding', async (t) => {
  world = new World(`${TMP}/abuse`, {
    // started with the soft limit on open files most systems give (1024),
    // below what 2000 idle connections need: the daemon raises it itself
    tls: true, users: 4, nofile: 1024,
    conf: { http: { timeout: `${TIMEOUT}s`, max_per_ip: PER_IP, max_connections: 4096, max_body: '16k', threads: 2 } },
  });
  const w = world;
  await w.create();
  await w.start();
  const rows = [];

  rows.push(await phase(w, 'baseline', 3000));

  // 1. thousands of idle connections (TCP only, never a TLS hello)
  let idleConns;
  rows.push(await phase(w, 'idle x2000', 3000, async () => {
    idleConns = await idle(w, 2000);
    return { open: openCount(idleConns) };
  }));
  // the idle timeout closes them: wait up to TIMEOUT + 15 s
  for (let i = 0; i < (TIMEOUT + 15) * 5 && openCount(idleConns) > 0; i++) await sleep(200);
  const idleLeft = openCount(idleConns);
  idleConns.forEach((s) => s.destroy());

  // 2. slowloris: TLS done, then a header line every second, never the end of the headers;
  // the idle timeout never fires for them, the request deadline must
  let slowConns, bodyConns;
  const waitClosed = async (list) => {
    for (let i = 0; i < (TIMEOUT + 15) * 5 && openCount(list) > 0; i++) await sleep(200);
    const left = openCount(list);
    list.forEach((s) => s.destroy());
    return left;
  };
  rows.push(await phase(w, 'slowloris x300', 3000, async (stop) => {
    const conns = [];
    const seen = { handshakes: 0, errors: {} };
    for (let i = 0; i < 300; i++) {
      const s = tls.connect({ host: '127.0.0.1', port: w.port, ca: ca(), localAddress: attacker(i) });
      s.closedByServer = false;
      s.on('error', (e) => { seen.errors[e.code || e.message] = (seen.errors[e.code || e.message] || 0) + 1; });
      s.on('close', () => { s.closedByServer = true; });
      s.on('secureConnect', () => { seen.handshakes++; });
      // the request line first (buffered until the handshake is done)
      s.write('GET /acme/discovery/keys HTTP/1.1\r\nHost: x\r\n');
      sockets.add(s);
      conns.push(s);
    }
    let n = 0;
    while (!stop.now) {
      for (const s of conns) if (!s.closedByServer && s.writable) s.write(`X-Slow-${n}: ${'a'.repeat(8)}\r\n`);
      n++;
      await sleep(1000);
    }
    slowConns = conns;
    return { open: openCount(conns), lines: n, ...seen };
  }));

  // they keep dribbling while the deadline runs out
  const dribble = setInterval(() => {
    for (const s of slowConns) if (!s.closedByServer && s.writable) s.write('X-More: a\r\n');
  }, 1000);
  const slowLeft = await waitClosed(slowConns);
  clearInterval(dribble);

  // 3. slow bodies: a form announced as 8 KiB, sent a byte a second
  rows.push(await phase(w, 'slow body x200', 3000, async (stop) => {
    const conns = [];
    for (let i = 0; i < 200; i++) {
      const s = tls.connect({ host: '127.0.0.1', port: w.port, ca: ca(), localAddress: attacker(i) });
      s.on('error', () => {});
      s.closedByServer = false;
      s.on('close', () => { s.closedByServer = true; });
      s.write('POST /acme/oauth2/token HTTP/1.1\r\nHost: x\r\n' +
        'Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 8192\r\n\r\ngrant_type=');
      sockets.add(s);
      conns.push(s);
    }
    while (!stop.now) {
      for (const s of conns) if (!s.closedByServer && s.writable) s.write('a');
      await sleep(1000);
    }
    bodyConns = conns;
    return { open: openCount(conns) };
  }));

  const dribble2 = setInterval(() => {
    for (const s of bodyConns) if (!s.closedByServer && s.writable) s.write('a');
  }, 1000);
  const bodyLeft = await waitClosed(bodyConns);
  clearInterval(dribble2);

  // 4. bodies over the limit: announced, and chunked without a length
  const huge = await request(`${w.url}/acme/oauth2/token`, {
    method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: 'grant_type=' + 'a'.repeat(2 * 1024 * 1024), localAddress: attacker(900), timeout: 15000,
  }).catch((e) => ({ status: e.code || e.message }));
  const chunked = await new Promise((resolve) => {
    const s = tls.connect({ host: '127.0.0.1', port: w.port, ca: ca(), localAddress: attacker(901) });
    let data = '';
    s.on('data', (d) => { data += d; });
    s.on('error', () => resolve(data));
    s.on('close', () => resolve(data));
    s.on('secureConnect', async () => {
      s.write('POST /acme/oauth2/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/x-www-form-urlencoded\r\n' +
        'Transfer-Encoding: chunked\r\n\r\n');
      const chunk = 'a'.repeat(16 * 1024);
      for (let i = 0; i < 256 && !s.destroyed && !data; i++) {
        s.write(`${chunk.length.toString(16)}\r\n${chunk}\r\n`);
        await sleep(2);
      }
      s.write('0\r\n\r\n');
      setTimeout(() => s.destroy(), 5000);
    });
  });
  const chunkedStatus = Number(/^HTTP\/1\.1 (\d{3})/.exec(chunked)?.[1] ?? 0);

  // 5. one address opens twice the connections it may
  const one = [];
  await Promise.all(Array.from({ length: PER_IP * 2 }, () => new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port: w.port, localAddress: '127.0.9.9' });
    s.closedByServer = false;
    s.on('connect', resolve);
    s.on('error', resolve);
    s.on('close', () => { s.closedByServer = true; resolve(); });
    sockets.add(s);
    one.push(s);
  })));
  await sleep(1000);
  const oneOpen = openCount(one);
  one.forEach((s) => s.destroy());

  // 6. a flood: 24 clients at other addresses, requests back to back
  rows.push(await phase(w, 'flood x24', 6000, async (stop) => {
    let sent = 0;
    await Promise.all(Array.from({ length: 24 }, async (_, i) => {
      while (!stop.now) {
        const path = i % 3 === 0 ? '/acme/oauth2/token' : i % 3 === 1 ? '/acme/discovery/keys' : '/acme/v2.0/.well-known/openid-configuration';
        await request(`${w.url}${path}`, {
          method: i % 3 === 0 ? 'POST' : 'GET', localAddress: attacker(1000 + i), timeout: 15000,
          ...(i % 3 === 0 ? { headers: { authorization: 'Basic eDp5' }, body: { grant_type: 'client_credentials' } } : {}),
        }).catch(() => {});
        sent++;
      }
    }));
    return { sent };
  }));

  rows.push(await phase(w, 'after', 3000));

  // the report
  const line = (r) => `${r.name.padEnd(16)} ${String(r.total).padStart(6)} ${String(r.ok).padStart(6)} ` +
    `${(r.total ? (100 * r.ok / r.total).toFixed(1) : '-').padStart(7)}% ${pct(r.ms, 50).toFixed(0).padStart(7)} ` +
    `${pct(r.ms, 95).toFixed(0).padStart(7)} ${r.peakRss.toFixed(0).padStart(7)}  ${JSON.stringify(r.info)}` +
    `${r.failed ? ` failed: ${JSON.stringify(r.why)}` : ''}`;
  t.diagnostic(`phase            legit     ok success  p50 ms  p95 ms  rss MB  attack`);
  for (const r of rows) t.diagnostic(line(r));
  t.diagnostic(`still open ${TIMEOUT + 15}s later: idle ${idleLeft}, slowloris ${slowLeft}, slow body ${bodyLeft}; 2 MiB body: ${huge.status}; ` +
    `4 MiB chunked body: ${chunkedStatus}; one address, ${PER_IP * 2} connections: ${oneOpen} kept open`);

  for (const r of rows) {
    assert.ok(r.total > 0, `${r.name}: the legitimate client got nothing done`);
    assert.ok(r.ok / r.total >= 0.95, `${r.name}: only ${r.ok} of ${r.total} real requests succeeded: ${JSON.stringify(r.why)}`);
  }
  assert.equal(idleLeft, 0, 'idle connections outlived the timeout');
  assert.equal(slowLeft, 0, 'slowloris connections outlived the request deadline');
  assert.equal(bodyLeft, 0, 'slow-body connections outlived the request deadline');
  // refused before it is read: the 413 comes back, or the connection is reset under the upload
  assert.ok([413, 'ECONNRESET', 'EPIPE'].includes(huge.status), `2 MiB body: ${huge.status}`);
  assert.ok(chunkedStatus === 413 || chunkedStatus === 0, `chunked body over the limit: ${chunkedStatus}`);
  assert.ok(oneOpen <= PER_IP, `one address kept ${oneOpen} connections (limit ${PER_IP})`);
  assert.ok(w.alive(), 'the daemon died');
  assert.equal((await w.stop()).code, 0, `unclean stop: ${w.output()}`);
});
