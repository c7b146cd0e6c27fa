import type { UsageBatch } from '../../core/usage/index.js';
import { EVENTS_PER_BLOCK } from './usage-ops.js';

/**
 * A usage batch as the SQLite writer thread receives it. Posting 1,000 event objects costs about
 * 1 µs per event on the posting thread (structured clone, measured here), a JSON string about
 * as much; this form costs about 0.1 µs: every distinct string once, in `strings`, and the rest
 * in two typed arrays whose buffers are transferred, not copied.
 *
 * Layout, in this order: `events` rows, `minute` rows, `hour` rows, `uses` rows.
 * - `refs` (indexes into `strings`, -1 for null): an event has 7 (workspace, key, keyspace,
 *   code, ip, origin, resource), a count row 4 (workspace, key, keyspace, code), a use 1 (key).
 * - `nums`: an event has 2 (at, latencyUs), a count row 2 (bucket, count), a use 1 (at).
 */
export interface EncodedBatch {
  node: string;
  firstSeq: number;
  events: number;
  minute: number;
  hour: number;
  uses: number;
  strings: string[];
  refs: Int32Array<ArrayBuffer>;
  nums: Float64Array<ArrayBuffer>;
}

/** What the thread answers for each batch: `error` is null once the batch is committed. */
export interface WorkerReply {
  id: number;
  error: { code: string | undefined; message: string } | null;
}

class StringTable {
  readonly list: string[] = [];
  private readonly index = new Map<string, number>();

  ref(s: string | null): number {
    if (s === null) return -1;
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.list.length;
      this.list.push(s);
      this.index.set(s, i);
    }
    return i;
  }
}

export function encodeBatch(batch: UsageBatch): EncodedBatch {
  const { events, minute, hour, uses } = batch;
  const rows = minute.length + hour.length;
  const refs = new Int32Array(7 * events.length + 4 * rows + uses.length);
  const nums = new Float64Array(2 * events.length + 2 * rows + uses.length);
  const t = new StringTable();
  let r = 0;
  let x = 0;
  for (const e of events) {
    refs[r++] = t.ref(e.workspaceId);
    refs[r++] = t.ref(e.keyId);
    refs[r++] = t.ref(e.keyspaceId);
    refs[r++] = t.ref(e.code);
    refs[r++] = t.ref(e.ip);
    refs[r++] = t.ref(e.origin);
    refs[r++] = t.ref(e.resource);
    nums[x++] = e.at;
    nums[x++] = e.latencyUs;
  }
  for (const c of minute.concat(hour)) {
    refs[r++] = t.ref(c.workspaceId);
    refs[r++] = t.ref(c.keyId);
    refs[r++] = t.ref(c.keyspaceId);
    refs[r++] = t.ref(c.code);
    nums[x++] = c.bucket;
    nums[x++] = c.count;
  }
  for (const u of uses) {
    refs[r++] = t.ref(u.keyId);
    nums[x++] = u.at;
  }
  return {
    node: batch.node,
    firstSeq: batch.firstSeq,
    events: events.length,
    minute: minute.length,
    hour: hour.length,
    uses: uses.length,
    strings: t.list,
    refs,
    nums,
  };
}

/**
 * The writer thread, as source for `new Worker(source, { eval: true })`. A string rather than a
 * module file: the same source then runs from dist/ (the server, the benchmarks, the e2e
 * tests) and under vitest from src/, where a worker file would be TypeScript that Node cannot
 * load. An eval'd worker is CommonJS whose `require` resolves from the working directory, so
 * the driver comes as an absolute path (`workerData.driver`), resolved by the module that
 * starts the thread.
 *
 * Each batch is one `BEGIN IMMEDIATE` transaction of prepared statements: the raw events in
 * blocks (one per workspace, key and keyspace, in order of first appearance, cut at
 * EVENTS_PER_BLOCK), the minute and hour upserts, the keys' `last_used_at`. The same writes as
 * the store's `insertUsageEvents` (`usageEventBlocks`), `addUsageCounts` and `touchKeysLastUsed`
 * (usage-ops.ts); the ids are `usageEventId(node, seq)` (core/usage/usage-batch.ts), which a test
 * holds the two to. The grouping and the JSON are built here, off the thread that answers.
 * The database is opened on the first batch, so a failure to open is that batch's error.
 */
export const USAGE_WORKER_SOURCE = `'use strict';
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);

// On Linux a thread is a task of its own and setpriority(0) is the calling thread's: this lowers
// the writer thread alone, so that verifications (the main thread) come first on a busy CPU.
if (workerData.nice > 0) {
  try {
    require('node:os').setPriority(workerData.nice);
  } catch {}
}

let db = null;
let st = null;

function open() {
  const conn = new Database(workerData.file);
  try {
    for (const pragma of workerData.pragmas) conn.pragma(pragma);
    const count = (table) =>
      conn.prepare('insert into ' + table + ' (workspace_id, key_id, keyspace_id, bucket, code, count) ' +
        'values (?, ?, ?, ?, ?, ?) on conflict (key_id, bucket, code) ' +
        'do update set count = ' + table + '.count + excluded.count');
    st = {
      begin: conn.prepare('begin immediate'),
      commit: conn.prepare('commit'),
      rollback: conn.prepare('rollback'),
      block: conn.prepare('insert into usage_event_blocks ' +
        '(id, workspace_id, key_id, keyspace_id, first_at, last_at, count, events) ' +
        'values (?, ?, ?, ?, ?, ?, ?, ?)'),
      minute: count('usage_minutes'),
      hour: count('usage_hours'),
      touch: conn.prepare('update keys set last_used_at = ? ' +
        'where id = ? and (last_used_at is null or last_used_at < ?)'),
    };
    db = conn;
  } catch (err) {
    conn.close();
    throw err;
  }
}

function write(b) {
  const s = b.strings;
  const refs = b.refs;
  const nums = b.nums;
  const str = (i) => (i < 0 ? null : s[i]);
  let r = 0;
  let x = 0;
  // Events by workspace, key and keyspace (their string refs), in order of first appearance.
  const groups = new Map();
  for (let i = 0; i < b.events; i++, r += 7, x += 2) {
    const k = refs[r] + ',' + refs[r + 1] + ',' + refs[r + 2];
    let g = groups.get(k);
    if (g === undefined) {
      g = { r, rows: [] };
      groups.set(k, g);
    }
    const id = b.node + (b.firstSeq + i).toString(36).padStart(11, '0');
    g.rows.push([id, nums[x], s[refs[r + 3]], str(refs[r + 4]), str(refs[r + 5]), str(refs[r + 6]), nums[x + 1]]);
  }
  for (const g of groups.values()) {
    for (let o = 0; o < g.rows.length; o += ${EVENTS_PER_BLOCK}) {
      const part = g.rows.slice(o, o + ${EVENTS_PER_BLOCK});
      let first = part[0][1];
      let last = first;
      for (const e of part) {
        if (e[1] < first) first = e[1];
        if (e[1] > last) last = e[1];
      }
      st.block.run(part[0][0], s[refs[g.r]], str(refs[g.r + 1]), str(refs[g.r + 2]), first, last,
        part.length, JSON.stringify(part));
    }
  }
  for (let i = 0; i < b.minute + b.hour; i++, r += 4, x += 2) {
    const stmt = i < b.minute ? st.minute : st.hour;
    stmt.run(s[refs[r]], s[refs[r + 1]], s[refs[r + 2]], nums[x], s[refs[r + 3]], nums[x + 1]);
  }
  for (let i = 0; i < b.uses; i++, r++, x++) st.touch.run(nums[x], s[refs[r]], nums[x]);
}

parentPort.on('message', (m) => {
  if (m.kind === 'close') {
    if (db) db.close();
    parentPort.close();
    return;
  }
  let error = null;
  try {
    if (st === null) open();
    st.begin.run();
    try {
      write(m.batch);
      st.commit.run();
    } catch (err) {
      if (db.inTransaction) st.rollback.run();
      throw err;
    }
  } catch (err) {
    error = {
      code: err && typeof err.code === 'string' ? err.code : undefined,
      message: err && typeof err.message === 'string' ? err.message : String(err),
    };
  }
  parentPort.postMessage({ id: m.id, error });
});
`;
