// Diagnosis for benchmark 1: what each step of a cached verification costs on its own, in the
// same process, against the same floor. Not a goal, a profile: `node bench/verify-breakdown.js`.
import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import { hasValidChecksum } from '../dist/core/keys/key-format.js';
import { createFixture } from './fixture.js';
import { median } from './stats.js';

const N = 200_000;
const ROUNDS = 7;
let sink = 0;

function timeSync(fn) {
  for (let w = 0; w < 3; w++) for (let i = 0; i < N; i++) sink += fn() ? 1 : 0;
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += fn() ? 1 : 0;
    out.push(Number(process.hrtime.bigint() - t0) / N);
  }
  return median(out);
}

async function timeAsync(fn) {
  for (let w = 0; w < 3; w++) for (let i = 0; i < N; i++) sink += (await fn()) ? 1 : 0;
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < N; i++) sink += (await fn()) ? 1 : 0;
    out.push(Number(process.hrtime.bigint() - t0) / N);
  }
  return median(out);
}

const fx = await createFixture();
try {
  const { key, principal } = fx;
  const { verifier } = fx.services;
  const h = hash('sha256', key);
  const map = new Map([[h, { n: 1 }]]);
  const body = key.slice(0, -6);
  const lru = new Map([[h, { v: 1, expiresAt: Number.MAX_SAFE_INTEGER }]]);
  const rows = [
    ['floor: hash + Map.get', timeSync(() => map.get(hash('sha256', key)))],
    ['crypto.hash sha256 hex', timeSync(() => hash('sha256', key))],
    ['hasValidChecksum(key)', timeSync(() => hasValidChecksum(key))],
    ['  zlib.crc32(body)', timeSync(() => crc32(body))],
    ['  TAIL_RE test', timeSync(() => /^[0-9A-Za-z]{38}$/.test(key.slice(-38)))],
    [
      'LRU touch: get + Date.now + delete + set',
      timeSync(() => {
        const e = lru.get(h);
        if (e.expiresAt <= Date.now()) return false;
        lru.delete(h);
        lru.set(h, e);
        return true;
      }),
    ],
    ['Date.now()', timeSync(() => Date.now() > 0)],
    ['await of an async no-op', await timeAsync(async () => true)],
    [
      'verifier.verify (cached key)',
      await timeAsync(async () => (await verifier.verify(principal, { key })).valid),
    ],
  ];
  const floor = rows[0][1];
  const w = Math.max(...rows.map((r) => r[0].length));
  console.log(`${'step'.padEnd(w)}   ns/op   × floor`);
  for (const [name, ns] of rows)
    console.log(`${name.padEnd(w)} ${ns.toFixed(0).padStart(7)} ${(ns / floor).toFixed(2).padStart(8)}×`);
  if (sink === 0) console.log('');
} finally {
  await fx.dispose();
}
