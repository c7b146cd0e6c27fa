import type { KeyRecord } from './records.js';
import { UniqueViolation } from './store.js';
import type {
  RollupTable,
  UsageBucketCount,
  UsageCount,
  UsageEventRecord,
  UsageStoreOps,
} from './usage-store.js';

/** Usage rows in the memory store; part of its state, so transactions roll them back too. */
export interface UsageState {
  /** In insertion order. */
  events: UsageEventRecord[];
  ids: Set<string>;
  minute: Map<string, UsageCount>;
  hour: Map<string, UsageCount>;
}

export const emptyUsageState = (): UsageState => ({
  events: [],
  ids: new Set(),
  minute: new Map(),
  hour: new Map(),
});

const DAY_MS = 86_400_000;
const countKey = (c: UsageCount) => `${c.keyId}\0${c.bucket}\0${c.code}`;

/** Newest first: `at` descending, then `id` descending. */
function newestFirst(a: UsageEventRecord, b: UsageEventRecord): number {
  return b.at - a.at || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The memory implementation of the usage store operations, over state read at each call. */
export function memoryUsageOps(state: () => UsageState, keys: () => Map<string, KeyRecord>): UsageStoreOps {
  return {
    async insertUsageEvents(events) {
      const s = state();
      for (const e of events) if (s.ids.has(e.id)) throw new UniqueViolation('usage event');
      for (const e of events) {
        s.ids.add(e.id);
        s.events.push({ ...e });
      }
    },
    async addUsageCounts(table, counts) {
      const rows = state()[table];
      for (const c of counts) {
        const k = countKey(c);
        const row = rows.get(k);
        if (row) row.count += c.count;
        else rows.set(k, { ...c });
      }
    },
    async touchKeysLastUsed(uses) {
      const all = keys();
      for (const u of uses) {
        const k = all.get(u.keyId);
        if (k && (k.lastUsedAt === null || k.lastUsedAt < u.at)) k.lastUsedAt = u.at;
      }
    },
    async usageSeries(ws, keyId, q) {
      const rows = q.granularity === 'minute' ? state().minute : state().hour;
      const sums = new Map<string, UsageBucketCount>();
      for (const r of rows.values()) {
        if (r.workspaceId !== ws || r.keyId !== keyId || r.bucket < q.from || r.bucket >= q.to) continue;
        const t = q.granularity === 'day' ? Math.floor(r.bucket / DAY_MS) * DAY_MS : r.bucket;
        const k = `${t}\0${r.code}`;
        const sum = sums.get(k);
        if (sum) sum.count += r.count;
        else sums.set(k, { t, code: r.code, count: r.count });
      }
      return [...sums.values()].sort((a, b) => a.t - b.t || (a.code < b.code ? -1 : 1));
    },
    async listUsageEvents(ws, keyId, page) {
      const after = page.after;
      return state()
        .events.filter(
          (e) =>
            e.workspaceId === ws &&
            e.keyId === keyId &&
            (after === undefined || e.at < after.at || (e.at === after.at && e.id < after.id)),
        )
        .sort(newestFirst)
        .slice(0, page.limit)
        .map((e) => ({ ...e }));
    },
    async purgeUsageEvents(before, limit) {
      const s = state();
      let n = 0;
      s.events = s.events.filter((e) => {
        if (e.at >= before || n >= limit) return true;
        n++;
        s.ids.delete(e.id);
        return false;
      });
      return n;
    },
    async purgeUsageCounts(table: RollupTable, before, limit) {
      const rows = state()[table];
      let n = 0;
      for (const [k, r] of rows) {
        if (n >= limit) break;
        if (r.bucket < before) {
          rows.delete(k);
          n++;
        }
      }
      return n;
    },
  };
}
