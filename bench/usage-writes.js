// Diagnosis for the usage recorder's batch size: what storing one usage event costs on SQLite, by
// how many keys the events spread over, with the shipped batch size against 1,000 events a batch
// (the size before the fourth session). `npm run build` first, then
// `node bench/usage-writes.js [--quick]`.
//
// Each configuration is a fresh SQLite store (migrated, WAL, the writer thread's pragmas) and the
// real UsageRecorder feeding the real SqliteUsageWriter thread: events are recorded as fast as
// the recorder takes them, then flushed; the figure is the process's CPU time (the writer
// thread's SQLite work is nearly all of it) and the wall time per stored event. The cost grows
// with the number of keys because events are stored one block per key per batch (at most
// 1,000 events a block; usage_event_blocks), each key's blocks land on its own pages of the key
// index, and every transaction writes each page it touched to the WAL again: more events per
// transaction, fewer rows and page writes per event.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openSqliteStore } from '../dist/adapters/sql/sqlite.js';
import { SqliteUsageWriter } from '../dist/adapters/sql/sqlite-usage-writer.js';
import { systemClock } from '../dist/core/clock/index.js';
import { DEFAULT_USAGE_RECORDER_OPTIONS, UsageRecorder } from '../dist/core/usage/index.js';

const { values: args } = parseArgs({ options: { quick: { type: 'boolean', default: false } } });
const EVENTS = args.quick ? 60_000 : 300_000;
const KEY_COUNTS = [1, 100, 1_000];
const BASELINE_BATCH = 1_000;
const SHIPPED_BATCH = DEFAULT_USAGE_RECORDER_OPTIONS.batchSize;

const log = (line) => process.stderr.write(`${line}\n`);

async function measure(keyCount, batchSize) {
  const dir = await mkdtemp(join(tmpdir(), 'keyward-usage-writes-'));
  const file = join(dir, 'keyward.db');
  const store = await openSqliteStore(file);
  const writer = new SqliteUsageWriter(file);
  const recorder = new UsageRecorder(writer, systemClock, { batchSize, maxQueued: EVENTS + 1 });
  const keys = Array.from({ length: keyCount }, (_, i) => `key_${String(i).padStart(20, '0')}`);
  try {
    // A first batch opens the thread's connection and warms its statements.
    for (let i = 0; i < batchSize; i++) recorder.record(event(keys, i));
    await recorder.flush();
    const cpu0 = process.cpuUsage();
    const t0 = performance.now();
    for (let i = 0; i < EVENTS; i++) {
      recorder.record(event(keys, i));
      // Let full batches go to the thread while recording, as a server does between requests.
      if (i % batchSize === batchSize - 1) await new Promise(setImmediate);
    }
    if (!(await recorder.flush())) throw new Error('a usage batch failed to write');
    const wall = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    if (recorder.stored !== EVENTS + batchSize) throw new Error(`stored ${recorder.stored} events`);
    return { cpuUs: (cpu.user + cpu.system) / EVENTS, wallUs: (wall * 1000) / EVENTS };
  } finally {
    await recorder.close();
    await writer.close();
    await store.close();
    await rm(dir, { recursive: true, force: true });
  }
}

function event(keys, i) {
  return {
    at: Date.now(),
    keyId: keys[i % keys.length],
    keyspaceId: 'ks_00000000000000000000',
    workspaceId: 'ws_00000000000000000000',
    code: 'VALID',
    ip: '203.0.113.7',
    origin: null,
    resource: null,
    latencyUs: 12,
  };
}

const fmt = (n, d = 1) => n.toLocaleString('en-US', { minimumFractionDigits: d, maximumFractionDigits: d });
const rows = [];
for (const keyCount of KEY_COUNTS) {
  log(
    `usage-writes: ${EVENTS.toLocaleString('en-US')} events over ${keyCount} key(s), batches of ${BASELINE_BATCH} and ${SHIPPED_BATCH}…`,
  );
  const base = await measure(keyCount, BASELINE_BATCH);
  const shipped = await measure(keyCount, SHIPPED_BATCH);
  rows.push(
    `| ${keyCount.toLocaleString('en-US')} | ${fmt(base.cpuUs)} / ${fmt(base.wallUs)} | ${fmt(shipped.cpuUs)} / ${fmt(shipped.wallUs)} | ${fmt(shipped.cpuUs / base.cpuUs, 2)}× |`,
  );
}
console.log(
  `\nStoring usage events on SQLite (${EVENTS.toLocaleString('en-US')} events per configuration; ${new Date().toISOString()})\n`,
);
console.log(
  `| Keys | batch ${BASELINE_BATCH.toLocaleString('en-US')}: CPU / wall µs per event | batch ${SHIPPED_BATCH.toLocaleString('en-US')} (shipped): CPU / wall µs per event | CPU, shipped vs ${BASELINE_BATCH.toLocaleString('en-US')} |`,
);
console.log('|--:|--:|--:|--:|');
for (const r of rows) console.log(r);
