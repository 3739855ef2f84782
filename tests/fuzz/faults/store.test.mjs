// The idp daemon when its store fails under it: the disk fills up, another
// process locks the database, the store is on a read-only file system.
// What must hold: requests that need a write get a clear 503 (never a 500,
// never a hang, never a wrong "invalid_grant" that makes a client throw a
// good token away), requests that only read keep working, the daemon keeps
// running, nothing is left half-written (a code or refresh token whose
// redemption failed still works once the store does), and the store passes
// integrity_check afterwards.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { openSync, writeSync, closeSync, unlinkSync } from 'node:fs';
import {
  TMP, TOOL, World, mountTmpfs, umount, request, signIn, redeem, refresh, serviceToken,
} from './lib.mjs';

const worlds = [];
after(async () => {
  for (const w of worlds) await w.stop();
});

// Fill the file system holding dir until nothing is left; returns the filler path.
function fillUp(dir) {
  const path = `${dir}/filler`;
  const fd = openSync(path, 'w');
  const block = Buffer.alloc(64 * 1024, 120);
  try {
    for (;;) writeSync(fd, block);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  // the last bytes too, a page at a time
  try {
    for (;;) writeSync(fd, block, 0, 512);
  } catch (e) {
    if (e.code !== 'ENOSPC') throw e;
  }
  closeSync(fd);
  return path;
}

// A sign-in up to tokens; the statuses of each step, and what it left in hand.
async function flow(w, upn) {
  const s = await signIn(w, upn, { timeout: 30000 });
  if (s.step !== 'code') return { step: s.step, status: s.status, body: s.body };
  const t = await redeem(w, s.code, s.verifier, { timeout: 30000 });
  return { step: t.status === 200 ? 'tokens' : 'redeem', status: t.status, body: JSON.stringify(t.json), code: s.code, verifier: s.verifier, refresh: t.json?.refresh_token };
}

// A failure a client can act on: a 503 saying to try again, or the sign-in page with a message.
function assertClearFailure(r) {
  assert.notEqual(r.status, 500, `a 500: ${r.body}`);
  assert.ok([503, 200, 400].includes(r.status), `status ${r.status} at ${r.step}: ${r.body}`);
  if (r.status === 503 || r.step === 'login' || r.step === 'page') {
    assert.match(r.body, /try again|unavailable|could not|temporarily/i, `no clear message: ${r.body}`);
  }
}

test('disk full: writes fail with a clear 503, reads go on, nothing is half-written, and it recovers', async (t) => {
  const root = `${TMP}/full`;
  const mnt = `${root}/mnt`;
  if (!mountTmpfs(mnt, '8m')) {
    t.skip('cannot mount a tmpfs here (needs root): skipped');
    return;
  }
  try {
    const w = new World(root, { store: `${mnt}/store.db` });
    worlds.push(w);
    await w.create();
    await w.start();
    // before the disk fills: a code and a refresh token in hand, unused
    const pending = await signIn(w, w.users[0]);
    assert.equal(pending.step, 'code');
    const held = await flow(w, w.users[1]);
    assert.equal(held.step, 'tokens', JSON.stringify(held));

    const filler = fillUp(mnt);
    let failures = 0;
    const seen = {};
    for (let i = 0; i < 40; i++) {
      const r = await flow(w, w.users[i % w.users.length]);
      seen[`${r.step}:${r.status}`] = (seen[`${r.step}:${r.status}`] || 0) + 1;
      if (r.step !== 'tokens') {
        failures++;
        assertClearFailure(r);
      }
      // reads that need no write keep working
      const d = await request(`${w.url}/acme/v2.0/.well-known/openid-configuration`);
      assert.equal(d.status, 200);
      assert.ok(w.alive(), 'the daemon died');
    }
    t.diagnostic(`on a full disk: ${JSON.stringify(seen)}`);
    assert.ok(failures > 0, 'the disk never refused a write: the test did not fill it');
    // what needs a write on the token endpoint fails cleanly too, and burns nothing
    const c = await redeem(w, pending.code, pending.verifier);
    const rf = await refresh(w, held.refresh);
    t.diagnostic(`redeem on a full disk: ${c.status}, refresh: ${rf.status}`);
    for (const r of [c, rf]) assert.ok(r.status === 200 || r.status === 503, `token endpoint on a full disk: ${r.status} ${JSON.stringify(r.json)}`);

    unlinkSync(filler);
    // room again: everything works, and what failed above was left as it was
    for (let i = 0; i < 5; i++) {
      const r = await flow(w, w.users[i % w.users.length]);
      assert.equal(r.step, 'tokens', `after the disk had room again: ${JSON.stringify(r)}`);
    }
    if (c.status === 503) assert.equal((await redeem(w, pending.code, pending.verifier)).status, 200, 'a code whose redemption failed was burned');
    if (rf.status === 503) assert.equal((await refresh(w, held.refresh)).status, 200, 'a refresh token whose use failed was burned');
    assert.equal((await w.stop()).code, 0, `unclean stop: ${w.output()}`);
    assert.equal(w.check(), 'ok');
  } finally {
    umount(mnt);
  }
});

test('store locked by another process: writes wait, then a clear 503; reads go on; nothing burned', async (t) => {
  const w = new World(`${TMP}/locked`, { conf: { store: { busy_timeout: 300 } } });
  worlds.push(w);
  await w.create();
  await w.start();
  const pending = await signIn(w, w.users[0]);
  assert.equal(pending.step, 'code');
  const held = await flow(w, w.users[1]);
  assert.equal(held.step, 'tokens');

  const locker = spawn(TOOL, ['lock', w.store, 'write'], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise((resolve, reject) => {
    locker.stdout.on('data', (d) => { if (String(d).includes('locked')) resolve(); });
    locker.on('exit', (code) => reject(new Error(`the lock holder exited with ${code}`)));
  });
  try {
    const s = await flow(w, w.users[2]);
    t.diagnostic(`sign-in while locked: ${s.step} ${s.status}`);
    assert.notEqual(s.step, 'tokens', 'a sign-in wrote through a held lock');
    assertClearFailure(s);
    const c = await redeem(w, pending.code, pending.verifier);
    assert.equal(c.status, 503, `code redemption while locked: ${c.status} ${JSON.stringify(c.json)}`);
    assert.equal(c.json?.error, 'temporarily_unavailable');
    const rf = await refresh(w, held.refresh);
    assert.equal(rf.status, 503, `refresh while locked: ${rf.status} ${JSON.stringify(rf.json)}`);
    const svc = await serviceToken(w);
    t.diagnostic(`client credentials while locked: ${svc.status}`);
    assert.ok(svc.status === 200 || svc.status === 503, `client credentials: ${svc.status}`);
    for (const path of ['/acme/v2.0/.well-known/openid-configuration', '/acme/discovery/keys']) {
      assert.equal((await request(`${w.url}${path}`)).status, 200, `${path} while locked`);
    }
    assert.ok(w.alive());
  } finally {
    locker.stdin.end();
    await new Promise((resolve) => locker.on('exit', resolve));
  }
  // unlocked: the code and the refresh token that failed are still good, once
  assert.equal((await redeem(w, pending.code, pending.verifier)).status, 200);
  assert.equal((await redeem(w, pending.code, pending.verifier)).status, 400);
  assert.equal((await refresh(w, held.refresh)).status, 200);
  assert.equal((await flow(w, w.users[2])).step, 'tokens');
  assert.equal((await w.stop()).code, 0, `unclean stop: ${w.output()}`);
  assert.equal(w.check(), 'ok');
});

test('store on a read-only file system: the idp refuses to start and says why', async (t) => {
  const root = `${TMP}/ro`;
  const mnt = `${root}/mnt`;
  if (!mountTmpfs(mnt, '8m')) {
    t.skip('cannot mount a tmpfs here (needs root): skipped');
    return;
  }
  try {
    const w = new World(root, { store: `${mnt}/store.db` });
    await w.create();
    const { execFileSync } = await import('node:child_process');
    execFileSync('mount', ['-o', 'remount,ro', mnt]);
    await assert.rejects(w.start(), /read-only/);
    assert.notEqual((await w.exited).code, 0);
    // reading it is still possible (an operator can look before fixing the mount)
    assert.equal(w.check(), 'ok');
  } finally {
    umount(mnt);
  }
});

