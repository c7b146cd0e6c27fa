import type { KeyUse, UsageCount } from '../store/index.js';
import type { UsageEvent } from './usage-event.js';

/**
 * An event's string fields in `refs`, in this order: workspace, key, keyspace, code, ip, origin,
 * resource — each the index of the string in `strings`, or -1 for null.
 */
export const REFS_PER_EVENT = 7;
/** An event's numbers in `nums`, in this order: at, latencyUs. */
export const NUMS_PER_EVENT = 2;

const WORKSPACE = 0;
const KEY = 1;
const KEYSPACE = 2;
const CODE = 3;
const IP = 4;
const ORIGIN = 5;
const RESOURCE = 6;

/** Room for this many events at first; a batch grows by doubling, up to its capacity. */
const FIRST_ROOM = 256;

/**
 * Usage events column by column, as the recorder gathers them and hands them on: every distinct
 * string once (`strings`), and per event seven string references and two numbers in typed
 * arrays. Recording an event writes nine numbers and allocates nothing (a verification's strings
 * are mostly the ones of the event before it: one comparison each); the arrays live outside the
 * JavaScript heap, so a batch waiting for its write is nothing the garbage collector copies or
 * scans; and a batch goes to the SQLite writer thread as the arrays themselves. Event objects
 * are built only for a reader that asks (`events()`).
 */
export class UsageColumns {
  /** Every distinct string of the batch, once. */
  readonly strings: string[] = [];
  private readonly index = new Map<string, number>();
  /** REFS_PER_EVENT per event; the first `length * REFS_PER_EVENT` are set. */
  refs: Int32Array<ArrayBuffer>;
  /** NUMS_PER_EVENT per event; the first `length * NUMS_PER_EVENT` are set. */
  nums: Float64Array<ArrayBuffer>;
  length = 0;
  /** Per field, the last string seen and its reference. */
  private readonly lastString: (string | null)[] = new Array<string | null>(REFS_PER_EVENT).fill(null);
  private readonly lastRef = new Int32Array(REFS_PER_EVENT).fill(-1);
  /** References of the distinct workspaces, in order of first appearance. */
  private readonly workspaceRefs: number[] = [];
  private built: UsageEvent[] | null = null;

  /** @param capacity the most events this batch takes (its arrays never grow beyond it) */
  constructor(private readonly capacity: number = FIRST_ROOM) {
    const room = Math.max(1, Math.min(capacity, FIRST_ROOM));
    this.refs = new Int32Array(room * REFS_PER_EVENT);
    this.nums = new Float64Array(room * NUMS_PER_EVENT);
  }

  /** A batch holding `events`, in order (tests, and readers that start from event objects). */
  static of(events: readonly UsageEvent[]): UsageColumns {
    const c = new UsageColumns(Math.max(events.length, 1));
    for (const e of events) c.push(e);
    return c;
  }

  push(e: UsageEvent): void {
    if (this.length * NUMS_PER_EVENT === this.nums.length) this.grow();
    const r = this.length * REFS_PER_EVENT;
    const refs = this.refs;
    const previousWorkspace = this.lastRef[WORKSPACE];
    const workspace = this.ref(WORKSPACE, e.workspaceId);
    if (workspace !== previousWorkspace && !this.workspaceRefs.includes(workspace))
      this.workspaceRefs.push(workspace);
    refs[r] = workspace;
    refs[r + KEY] = this.ref(KEY, e.keyId);
    refs[r + KEYSPACE] = this.ref(KEYSPACE, e.keyspaceId);
    refs[r + CODE] = this.ref(CODE, e.code);
    refs[r + IP] = this.ref(IP, e.ip);
    refs[r + ORIGIN] = this.ref(ORIGIN, e.origin);
    refs[r + RESOURCE] = this.ref(RESOURCE, e.resource);
    const x = this.length * NUMS_PER_EVENT;
    this.nums[x] = e.at;
    this.nums[x + 1] = e.latencyUs;
    this.length++;
    this.built = null;
  }

  /** The index of `s` in `strings` (added when absent), or -1 for null. */
  refOf(s: string | null): number {
    if (s === null) return -1;
    let i = this.index.get(s);
    if (i === undefined) {
      i = this.strings.length;
      this.strings.push(s);
      this.index.set(s, i);
    }
    return i;
  }

  /** The string a reference stands for (null for -1). */
  string(ref: number): string | null {
    return ref < 0 ? null : (this.strings[ref] as string);
  }

  /** The workspaces with events in this batch, in order of first appearance. */
  workspaceIds(): string[] {
    return this.workspaceRefs.map((r) => this.strings[r] as string);
  }

  /** Event `i` as an object. */
  event(i: number): UsageEvent {
    const r = i * REFS_PER_EVENT;
    const x = i * NUMS_PER_EVENT;
    const refs = this.refs;
    return {
      at: this.nums[x] as number,
      keyId: this.string(refs[r + KEY] as number),
      keyspaceId: this.string(refs[r + KEYSPACE] as number),
      workspaceId: this.strings[refs[r] as number] as string,
      code: this.strings[refs[r + CODE] as number] as UsageEvent['code'],
      ip: this.string(refs[r + IP] as number),
      origin: this.string(refs[r + ORIGIN] as number),
      resource: this.string(refs[r + RESOURCE] as number),
      latencyUs: this.nums[x + 1] as number,
    };
  }

  /** Every event as an object, in the order recorded (built once, then shared: do not change). */
  events(): readonly UsageEvent[] {
    if (this.built === null) {
      const out: UsageEvent[] = new Array(this.length);
      for (let i = 0; i < this.length; i++) out[i] = this.event(i);
      this.built = out;
    }
    return this.built;
  }

  private ref(field: number, s: string | null): number {
    if (s === null) return -1;
    if (s === this.lastString[field]) return this.lastRef[field] as number;
    const i = this.refOf(s);
    this.lastString[field] = s;
    this.lastRef[field] = i;
    return i;
  }

  private grow(): void {
    const room = Math.max(this.length + 1, Math.min(this.length * 2, this.capacity));
    const refs = new Int32Array(room * REFS_PER_EVENT);
    refs.set(this.refs);
    const nums = new Float64Array(room * NUMS_PER_EVENT);
    nums.set(this.nums);
    this.refs = refs;
    this.nums = nums;
  }
}

/**
 * The batch's counts by key, bucket (`size` ms) and code. Events of unknown keys (NOT_FOUND)
 * are stored raw only: no key to count them for.
 */
export function usageCounts(c: UsageColumns, size: number): UsageCount[] {
  const counts = new Map<string, UsageCount>();
  const { refs, nums } = c;
  // Consecutive events mostly fall into one row (one busy key, one outcome, one minute): those
  // are counted without building the row's map key.
  let last: UsageCount | undefined;
  let lastKey = -1;
  let lastCode = -1;
  for (let i = 0; i < c.length; i++) {
    const r = i * REFS_PER_EVENT;
    const key = refs[r + KEY] as number;
    const keyspace = refs[r + KEYSPACE] as number;
    if (key < 0 || keyspace < 0) continue;
    const code = refs[r + CODE] as number;
    const bucket = Math.floor((nums[i * NUMS_PER_EVENT] as number) / size) * size;
    if (last !== undefined && key === lastKey && code === lastCode && last.bucket === bucket) {
      last.count++;
      continue;
    }
    const k = `${key},${bucket},${code}`;
    last = counts.get(k);
    if (last) last.count++;
    else {
      last = {
        workspaceId: c.strings[refs[r] as number] as string,
        keyId: c.strings[key] as string,
        keyspaceId: c.strings[keyspace] as string,
        code: c.strings[code] as string,
        bucket,
        count: 1,
      };
      counts.set(k, last);
    }
    lastKey = key;
    lastCode = code;
  }
  // One order on every node: two nodes upserting the same rows lock them in the same order,
  // so their flushes queue behind each other instead of deadlocking.
  return [...counts.values()].sort(
    (a, b) => compareText(a.keyId, b.keyId) || a.bucket - b.bucket || compareText(a.code, b.code),
  );
}

/** Each key's latest use in the batch, by key id. */
export function lastUses(c: UsageColumns): KeyUse[] {
  const latest = new Map<number, KeyUse>();
  const { refs, nums } = c;
  let last: KeyUse | undefined;
  let lastKey = -1;
  for (let i = 0; i < c.length; i++) {
    const key = refs[i * REFS_PER_EVENT + KEY] as number;
    if (key < 0) continue;
    if (key !== lastKey) {
      last = latest.get(key);
      if (last === undefined) {
        last = { keyId: c.strings[key] as string, at: nums[i * NUMS_PER_EVENT] as number };
        latest.set(key, last);
      }
      lastKey = key;
    }
    const at = nums[i * NUMS_PER_EVENT] as number;
    if ((last as KeyUse).at < at) (last as KeyUse).at = at;
  }
  return [...latest.values()].sort((a, b) => compareText(a.keyId, b.keyId));
}

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
