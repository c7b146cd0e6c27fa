// Diagnosis, not a goal: what each step of a verification costs on its own, in the same process,
// against the same floor (sha256 + Map.get). `node bench/verify-breakdown.js`. Three parts:
// a cached verification; a cached verification with in-process rate limits; a cache miss on SQLite.
import { hash } from 'node:crypto';
import { crc32 } from 'node:zlib';
import BetterSqlite3 from 'better-sqlite3';
import { systemClock } from '../dist/core/clock/index.js';
import { hasValidChecksum } from '../dist/core/keys/key-format.js';
import { MemoryRateLimiter } from '../dist/core/ratelimit/index.js';
import { verifyView } from '../dist/http/routes/verify.js';
import { insertKeyClones } from './bulk-keys.js';
import { createFixture } from './fixture.js';
import { LIMITS } from './limits.js';
import { median } from './stats.js';

const N = 200_000;
const ROUNDS = 7;
let sink = 0;

function timeSync(fn, n = N) {
  for (let w = 0; w < 3; w++) for (let i = 0; i < n; i++) sink += fn() ? 1 : 0;
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += fn() ? 1 : 0;
    out.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(out);
}

async function timeAsync(fn, n = N) {
  for (let w = 0; w < 3; w++) for (let i = 0; i < n; i++) sink += (await fn()) ? 1 : 0;
  const out = [];
  for (let r = 0; r < ROUNDS; r++) {
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) sink += (await fn()) ? 1 : 0;
    out.push(Number(process.hrtime.bigint() - t0) / n);
  }
  return median(out);
}

/** Each key verified once (a cache miss each): median ns/op of `rounds` passes over fresh keys. */
async function timeCold(verifier, principal, keys, rounds) {
  const per = Math.floor(keys.length / (rounds + 1));
  const pass = async (from) => {
    const t0 = process.hrtime.bigint();
    for (let i = from; i < from + per; i++) {
      const r = await verifier.verify(principal, { key: keys[i] });
      if (!r.valid) throw new Error(`a fresh key answered ${r.code}`);
    }
    return Number(process.hrtime.bigint() - t0) / per;
  };
  await pass(0); // warm-up
  const out = [];
  for (let r = 1; r <= rounds; r++) out.push(await pass(r * per));
  return median(out);
}

const fx = await createFixture({
  keys: { one: { ratelimits: LIMITS.one }, three: { ratelimits: LIMITS.three } },
});
try {
  const { key, principal } = fx;
  const { verifier, config } = fx.services;
  const h = hash('sha256', key);
  const map = new Map([[h, { n: 1 }]]);
  const body = key.slice(0, -6);
  const lru = new Map([[h, { v: 1, expiresAt: Number.MAX_SAFE_INTEGER }]]);
  const limiter = new MemoryRateLimiter(systemClock);
  const viewOf = {};
  for (const name of ['key', 'one', 'three'])
    viewOf[name] = await verifier.verify(principal, { key: fx.keys[name].key });

  // The SQL of the store's lookup by hash (SqlStore.getKeyByHash, as Kysely compiles it).
  const lookupSql =
    'select "keys".*, "key_credits"."remaining", "key_credits"."refill_amount", "key_credits"."refill_interval", "key_credits"."refill_day", "key_credits"."low_threshold" from "keys" left join "key_credits" on "key_credits"."lineage_id" = "keys"."lineage_id" where "keys"."hash" = ?';
  const sqlite = new BetterSqlite3(`${config.dataDir}/keyward.db`, { readonly: true });
  const prepared = sqlite.prepare(lookupSql);
  const cold = await insertKeyClones(config, fx.keys.key.id, 24_000);

  const sections = [
    [
      'A cached verification',
      [
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
        ['verifyView (the route mapping the result)', timeSync(() => verifyView(viewOf.key).valid)],
      ],
    ],
    [
      'In-process rate limits (limits far above what is spent)',
      [
        [
          'verifier.verify, 1 limit',
          await timeAsync(async () => (await verifier.verify(principal, { key: fx.keys.one.key })).valid),
        ],
        [
          'verifier.verify, 3 limits',
          await timeAsync(async () => (await verifier.verify(principal, { key: fx.keys.three.key })).valid),
        ],
        ['MemoryRateLimiter.decide, 1 limit', timeSync(() => limiter.decide('key:a', LIMITS.one, 1).success)],
        [
          'MemoryRateLimiter.decide, 3 limits',
          timeSync(() => limiter.decide('key:b', LIMITS.three, 1).success),
        ],
        ['verifyView, 1 limit (toIso per limit)', timeSync(() => verifyView(viewOf.one).valid)],
        ['verifyView, 3 limits', timeSync(() => verifyView(viewOf.three).valid)],
      ],
    ],
    [
      'A cache miss on SQLite',
      [
        ['verifier.verify, fresh key each time', await timeCold(verifier, principal, cold, 5)],
        ['store.getKeyByHash (Kysely)', await timeAsync(() => fx.services.store.getKeyByHash(h), 20_000)],
        [
          '  better-sqlite3: prepare + get',
          timeSync(() => sqlite.prepare(lookupSql).get(h) !== undefined, 20_000),
        ],
        [
          '  better-sqlite3: get on a statement prepared once',
          timeSync(() => prepared.get(h) !== undefined, 20_000),
        ],
      ],
    ],
  ];
  sqlite.close();
  const floor = sections[0][1][0][1];
  const w = Math.max(...sections.flatMap(([, rows]) => rows.map((r) => r[0].length)));
  for (const [title, rows] of sections) {
    console.log(`\n${title}\n${'step'.padEnd(w)}   ns/op   × floor`);
    for (const [name, ns] of rows)
      console.log(`${name.padEnd(w)} ${ns.toFixed(0).padStart(7)} ${(ns / floor).toFixed(2).padStart(8)}×`);
  }
  if (sink === 0) console.log('');
} finally {
  await fx.dispose();
}
