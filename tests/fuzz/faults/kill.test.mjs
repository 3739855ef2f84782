// The idp killed with SIGKILL in the middle of sign-in load, and restarted.
//
// Clients sign in (authorize, password, code), redeem codes, refresh
// tokens, as fast as they can, and record everything the idp handed them
// and what they sent without an answer.  Then SIGKILL, three times over.
// After each restart:
//  - the store passes integrity_check and foreign_key_check, and no refresh
//    family has two live tokens (nothing duplicated);
//  - every session, code and refresh token a client was given is in the
//    store (nothing lost: a response the client saw was committed);
//  - every session works (a silent authorize returns a code);
//  - every refresh token not yet used works exactly once; every one used
//    before the kill is refused;
//  - every code not yet redeemed is redeemed exactly once; every one
//    redeemed before the kill is refused; one whose redemption was cut off
//    by the kill works at most once.
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { TMP, World, signIn, redeem, refresh, silentCode, sha256hex, sleep } from './lib.mjs';

const ROUNDS = 3;
const WORKERS = 6;
let world;
after(async () => { if (world) await world.stop(); });

// What one round's clients hold, by state.
function ledger() {
  return {
    sessions: [], // cookies received
    codes: new Map(), // code -> {verifier, state: unused|redeemed|inflight}
    refresh: new Map(), // token -> state: live|used|inflight
    errors: 0,
  };
}

async function worker(w, id, L, stop) {
  let i = 0;
  while (!stop.now) {
    const upn = w.users[(id + i++) % w.users.length];
    let s;
    try {
      s = await signIn(w, upn, { timeout: 5000, onSession: (c) => L.sessions.push(c) });
    } catch { L.errors++; continue; }
    if (s.step !== 'code') continue;
    L.codes.set(s.code, { verifier: s.verifier, state: 'unused' });
    if (i % 3 === 0) continue; // keep some codes for after the restart
    L.codes.get(s.code).state = 'inflight';
    let t;
    try {
      t = await redeem(w, s.code, s.verifier, { timeout: 5000 });
    } catch { L.errors++; continue; }
    L.codes.get(s.code).state = t.status === 200 ? 'redeemed' : 'refused';
    if (t.status !== 200) continue;
    let token = t.json.refresh_token;
    L.refresh.set(token, 'live');
    for (let k = 0; k < (i % 2) + 1 && !stop.now; k++) {
      L.refresh.set(token, 'inflight');
      let r;
      try {
        r = await refresh(w, token, { timeout: 5000 });
      } catch { L.errors++; break; }
      L.refresh.set(token, r.status === 200 ? 'used' : 'refused');
      if (r.status !== 200) break;
      token = r.json.refresh_token;
      L.refresh.set(token, 'live');
    }
  }
}

test(`SIGKILL under sign-in load, ${ROUNDS} times: nothing lost, nothing duplicated, no code twice`, async (t) => {
  world = new World(`${TMP}/kill`, { users: 8 });
  const w = world;
  await w.create();
  const totals = { sessions: 0, codes: 0, refresh: 0, inflightCodes: 0, inflightRefresh: 0 };
  for (let round = 1; round <= ROUNDS; round++) {
    await w.start();
    const L = ledger();
    const stop = { now: false };
    const workers = Array.from({ length: WORKERS }, (_, id) => worker(w, id, L, stop));
    // load for a while (longer each round), then the kill lands wherever it lands
    await sleep(800 + 700 * round);
    const killed = w.kill();
    stop.now = true;
    await killed;
    await Promise.all(workers);

    // on disk, with the daemon dead
    assert.equal(w.check(), 'ok', `round ${round}: the store after SIGKILL`);
    const rows = w.rows();
    const sessions = new Set(rows.sessions.map((s) => s.id_hash));
    const codes = new Map(rows.codes.map((c) => [c.code_hash, c]));
    const tokens = new Map(rows.refresh.map((r) => [r.token_hash, r]));
    for (const s of L.sessions) assert.ok(sessions.has(sha256hex(s)), `round ${round}: a session the client got is gone`);
    for (const [code, c] of L.codes) {
      const row = codes.get(sha256hex(code));
      assert.ok(row, `round ${round}: a code the client got is gone`);
      if (c.state === 'unused') assert.equal(row.used_at, null, 'a code nobody redeemed is marked used');
      if (c.state === 'redeemed') assert.notEqual(row.used_at, null, 'a redeemed code is not marked used');
    }
    for (const [tok, state] of L.refresh) {
      const row = tokens.get(sha256hex(tok));
      assert.ok(row, `round ${round}: a refresh token the client got is gone (${state})`);
      if (state === 'live') assert.ok(row.rotated_at === null && row.revoked_at === null, 'a live token is spent');
      if (state === 'used') assert.notEqual(row.rotated_at, null, 'a used token is not rotated');
    }

    // through the restarted daemon
    await w.start();
    for (const s of L.sessions) {
      const r = await silentCode(w, s);
      assert.ok(r.code, `round ${round}: a session does not work after the restart (${r.status} ${r.error})`);
    }
    // live tokens first: presenting a spent one revokes its whole family, as it should
    const order = [...L.refresh].sort((a, b) => (a[1] === 'live' ? 0 : 1) - (b[1] === 'live' ? 0 : 1));
    for (const [tok, state] of order) {
      if (state === 'refused') continue;
      const first = await refresh(w, tok);
      if (state === 'live') assert.equal(first.status, 200, `a live refresh token failed after the restart: ${JSON.stringify(first.json)}`);
      if (state === 'used') assert.equal(first.status, 400, 'a refresh token used before the kill worked again');
      const second = await refresh(w, tok);
      assert.equal(second.status, 400, `a refresh token (${state}) worked twice`);
    }
    for (const [code, c] of L.codes) {
      if (c.state === 'refused') continue;
      const first = await redeem(w, code, c.verifier);
      if (c.state === 'unused') assert.equal(first.status, 200, `an unused code failed after the restart: ${JSON.stringify(first.json)}`);
      if (c.state === 'redeemed') assert.equal(first.status, 400, 'a code redeemed before the kill worked again');
      const second = await redeem(w, code, c.verifier);
      assert.equal(second.status, 400, `a code (${c.state}) worked twice`);
    }
    assert.equal((await w.stop()).code, 0, `unclean stop: ${w.output()}`);
    assert.equal(w.check(), 'ok', `round ${round}: the store after the checks`);
    totals.sessions += L.sessions.length;
    totals.codes += L.codes.size;
    totals.refresh += L.refresh.size;
    totals.inflightCodes += [...L.codes.values()].filter((c) => c.state === 'inflight').length;
    totals.inflightRefresh += [...L.refresh.values()].filter((s) => s === 'inflight').length;
  }
  t.diagnostic(`checked after ${ROUNDS} kills: ${totals.sessions} sessions, ${totals.codes} codes ` +
    `(${totals.inflightCodes} cut off mid-redemption), ${totals.refresh} refresh tokens ` +
    `(${totals.inflightRefresh} cut off mid-rotation)`);
  assert.ok(totals.sessions > 0 && totals.codes > 0 && totals.refresh > 0, 'the load did nothing');
});
