// casbin_bench: the same tenant and the same requests as rbac_bench, through
// casbin (node-casbin 5, RBAC with domains; see rbac_bench.c, casbin_export,
// for the encoding).  Reads DIR/model.conf, policy.csv, excluded.txt,
// requests.txt (with our answers) and ours.txt (our checks/s and latency),
// runs the requests through enforceSync() on one thread until they are done
// or MAX_SECONDS pass, and prints casbin's figures, the agreement with our
// answers and the ratio.  Measures; never fails on time.
//
//   node casbin_bench.mjs DIR [MAX_SECONDS]
import * as casbin from 'casbin';
import fs from 'node:fs';
import { performance } from 'node:perf_hooks';

const dir = process.argv[2];
const maxSeconds = Number(process.argv[3] || 30);
if (!dir) {
  console.error('usage: node casbin_bench.mjs DIR [MAX_SECONDS]');
  process.exit(2);
}

const within = (scope, parent) =>
  parent === '/' || scope === parent || scope.startsWith(parent + '/');

const excludedBy = new Map();
for (const line of fs.readFileSync(`${dir}/excluded.txt`, 'utf8').split('\n')) {
  const [deny, ...who] = line.trim().split(' ');
  if (deny) excludedBy.set(deny, who);
}

const t0 = performance.now();
const e = await casbin.newEnforcer(`${dir}/model.conf`, `${dir}/policy.csv`);
const rm = e.getRoleManager();
await e.addFunction('within', within);
await e.addFunction('everyone', (sub) => sub.startsWith('everyone:'));
await e.addFunction('excluded', (sub, psub, dom) => {
  const who = excludedBy.get(psub);
  if (!who) return false;
  return who.some((x) => x === sub || rm.syncedHasLink(sub, x, dom));
});
const loadSeconds = (performance.now() - t0) / 1000;
const heapMiB = process.memoryUsage().rss / 1048576;

const requests = fs.readFileSync(`${dir}/requests.txt`, 'utf8').trim().split('\n')
  .map((l) => l.split(' '));
const lat = [];
let agree = 0, done = 0, allowed = 0;
const start = performance.now();
for (const [sub, scope, act, ours] of requests) {
  const a = performance.now();
  const ok = e.enforceSync(sub, 't1', scope, act);
  lat.push((performance.now() - a) * 1000);
  done++;
  allowed += ok ? 1 : 0;
  if ((ok ? '1' : '0') === ours) agree++;
  if ((performance.now() - start) / 1000 > maxSeconds) break;
}
const seconds = (performance.now() - start) / 1000;
lat.sort((x, y) => x - y);
const cps = done / seconds;
const pct = (q) => lat[Math.min(lat.length - 1, Math.floor(lat.length * q))];
const [oursCps, oursP50, oursP99] = fs.readFileSync(`${dir}/ours.txt`, 'utf8').trim()
  .split(' ').map(Number);

const fmt = (n) => n.toLocaleString('en-US', { maximumFractionDigits: 0 });
console.log(`\ncasbin ${casbin.Enforcer ? '(node-casbin)' : ''} on the same data, ` +
  `${done} of ${requests.length} requests (${maxSeconds} s cap), one thread:\n`);
console.log('| measure | idp rbac (C) | casbin | ratio |');
console.log('|---|---|---|---|');
console.log(`| load model + policy | see above | ${loadSeconds.toFixed(2)} s ` +
  `(RSS ${heapMiB.toFixed(0)} MiB) | |`);
console.log(`| checks/s, one core | ${fmt(oursCps)} | ${cps.toFixed(1)} | ` +
  `**${fmt(oursCps / cps)}x** |`);
console.log(`| latency p50 | ${oursP50.toFixed(2)} us | ${fmt(pct(0.5))} us | ` +
  `${fmt(pct(0.5) / oursP50)}x |`);
console.log(`| latency p99 | ${oursP99.toFixed(2)} us | ${fmt(pct(0.99))} us | ` +
  `${fmt(pct(0.99) / oursP99)}x |`);
console.log(`| same answer as ours | | ${agree} of ${done} ` +
  `(${(100 * agree / Math.max(done, 1)).toFixed(1)}%), ${allowed} allowed | |`);
