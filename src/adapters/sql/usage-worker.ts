import { NUMS_PER_EVENT, REFS_PER_EVENT, type UsageBatch } from '../../core/usage/index.js';
import { EVENTS_PER_BLOCK } from './usage-ops.js';

/**
 * A usage batch as the SQLite writer thread receives it: the recorder's columns as they are
 * (core/usage/usage-columns.ts: every distinct string once, in `strings`; per event seven string
 * references and two numbers in typed arrays, which posting copies as blocks of memory), and the
 * batch's counts and key uses in two more arrays referring to the same strings. Posting 1,000
 * event objects cost about 1 µs per event on the posting thread (structured clone, measured
 * here), a JSON string about as much.
 *
 * - `eventRefs` / `eventNums`: the first `events` events, REFS_PER_EVENT and NUMS_PER_EVENT each
 *   (the arrays may be longer).
 * - `refs` (indexes into `strings`, -1 for null) and `nums`, in this order: `minute` rows,
 *   `hour` rows, `uses` rows. A count row has 4 refs (workspace, key, keyspace, code) and 2
 *   nums (bucket, count); a use 1 ref (key) and 1 num (at).
 */
export interface EncodedBatch {
  node: string;
  firstSeq: number;
  events: number;
  minute: number;
  hour: number;
  uses: number;
  strings: string[];
  eventRefs: Int32Array<ArrayBuffer>;
  eventNums: Float64Array<ArrayBuffer>;
  refs: Int32Array<ArrayBuffer>;
  nums: Float64Array<ArrayBuffer>;
}

/** What the thread answers for each batch: `error` is null once the batch is committed. */
export interface WorkerReply {
  id: number;
  error: { code: string | undefined; message: string } | null;
}

export function encodeBatch(batch: UsageBatch): EncodedBatch {
  const { events: c, minute, hour, uses } = batch;
  const rows = minute.length + hour.length;
  const refs = new Int32Array(4 * rows + uses.length);
  const nums = new Float64Array(2 * rows + uses.length);
  let r = 0;
  let x = 0;
  for (const counts of [minute, hour]) {
    for (const row of counts) {
      refs[r++] = c.refOf(row.workspaceId);
      refs[r++] = c.refOf(row.keyId);
      refs[r++] = c.refOf(row.keyspaceId);
      refs[r++] = c.refOf(row.code);
      nums[x++] = row.bucket;
      nums[x++] = row.count;
    }
  }
  for (const u of uses) {
    refs[r++] = c.refOf(u.keyId);
    nums[x++] = u.at;
  }
  return {
    node: batch.node,
    firstSeq: batch.firstSeq,
    events: c.length,
    minute: minute.length,
    hour: hour.length,
    uses: uses.length,
    strings: c.strings,
    eventRefs: c.refs,
    eventNums: c.nums,
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

// Event ids: the node's tag, then the sequence number in base 36 over 11 digits (usageEventId).
// The last two digits come from this table; the first nine change once every 1,296 events.
const LOW = Array.from({ length: 1296 }, (_, i) => i.toString(36).padStart(2, '0'));
let idNode = '';
let idHigh = -1;
let idPrefix = '';
function eventId(node, seq) {
  const high = Math.floor(seq / 1296);
  if (high !== idHigh || node !== idNode) {
    idNode = node;
    idHigh = high;
    idPrefix = node + high.toString(36).padStart(9, '0');
  }
  return idPrefix + LOW[seq - high * 1296];
}

function write(b) {
  const s = b.strings;
  const str = (i) => (i < 0 ? null : s[i]);
  // Each distinct string's JSON text, once: a block's JSON is put together from these.
  const q = s.map((v) => JSON.stringify(v));
  const json = (i) => (i < 0 ? 'null' : q[i]);
  const er = b.eventRefs;
  const en = b.eventNums;
  // Events by workspace, key and keyspace (their string refs), in order of first appearance;
  // consecutive events of one key (the usual case) find their group without a lookup.
  const groups = new Map();
  let g;
  for (let i = 0, r = 0; i < b.events; i++, r += ${REFS_PER_EVENT}) {
    if (g === undefined || er[r] !== er[g.r] || er[r + 1] !== er[g.r + 1] || er[r + 2] !== er[g.r + 2]) {
      const k = er[r] + ',' + er[r + 1] + ',' + er[r + 2];
      g = groups.get(k);
      if (g === undefined) {
        g = { r, events: [] };
        groups.set(k, g);
      }
    }
    g.events.push(i);
  }
  // Each block's events as the JSON array [[id, at, code, ip, origin, resource, latencyUs], …]
  // (usage-ops.ts blockRow), written out directly rather than built as arrays and stringified.
  for (const g of groups.values()) {
    const list = g.events;
    for (let o = 0; o < list.length; o += ${EVENTS_PER_BLOCK}) {
      const end = Math.min(list.length, o + ${EVENTS_PER_BLOCK});
      let first = Infinity;
      let last = -Infinity;
      let firstId = '';
      let text = '[';
      for (let k = o; k < end; k++) {
        const i = list[k];
        const r = i * ${REFS_PER_EVENT};
        const x = i * ${NUMS_PER_EVENT};
        const at = en[x];
        if (at < first) first = at;
        if (at > last) last = at;
        const id = eventId(b.node, b.firstSeq + i);
        if (k === o) firstId = id;
        text += (k === o ? '["' : ',["') + id + '",' + JSON.stringify(at) + ',' + q[er[r + 3]] + ',' +
          json(er[r + 4]) + ',' + json(er[r + 5]) + ',' + json(er[r + 6]) + ',' + JSON.stringify(en[x + 1]) + ']';
      }
      st.block.run(firstId, s[er[g.r]], str(er[g.r + 1]), str(er[g.r + 2]), first, last, end - o, text + ']');
    }
  }
  const refs = b.refs;
  const nums = b.nums;
  let r = 0;
  let x = 0;
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
