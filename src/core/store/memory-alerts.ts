import type {
  AlertBaselineRecord,
  AlertCountIncrement,
  AlertRecord,
  AlertRuleRecord,
  AlertStoreOps,
} from './alert-store.js';

/** Alerts' rows in the memory store; part of its state, so transactions roll them back too. */
export interface AlertState {
  rules: Map<string, AlertRuleRecord>;
  alerts: AlertRecord[];
  /** `rule\0subject\0bucket` → counter. */
  counters: Map<string, AlertCountIncrement>;
  /** `rule\0subject` → spike state. */
  baselines: Map<string, AlertBaselineRecord>;
  /** key id → network → first seen. */
  networks: Map<string, Map<string, { workspaceId: string; at: number }>>;
  /** `rule\0subject` → claimed until. */
  cooldowns: Map<string, number>;
}

export const emptyAlertState = (): AlertState => ({
  rules: new Map(),
  alerts: [],
  counters: new Map(),
  baselines: new Map(),
  networks: new Map(),
  cooldowns: new Map(),
});

const clone = <T>(v: T): T => structuredClone(v);
const pair = (rule: string, subject: string) => `${rule}\0${subject}`;

function newestFirst(a: { t: number; id: string }, b: { t: number; id: string }): number {
  return b.t - a.t || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0);
}

/** The memory implementation of alerts' store operations, over `state()` (read at each call). */
export function memoryAlertOps(state: () => AlertState): AlertStoreOps {
  const dropRuleState = (ruleId: string) => {
    const s = state();
    const prefix = `${ruleId}\0`;
    for (const map of [s.counters, s.baselines, s.cooldowns] as Map<string, unknown>[])
      for (const k of [...map.keys()]) if (k.startsWith(prefix)) map.delete(k);
  };
  return {
    async insertAlertRule(rule) {
      state().rules.set(rule.id, clone(rule));
    },
    async getAlertRule(ws, id) {
      const r = state().rules.get(id);
      return r && r.workspaceId === ws ? clone(r) : undefined;
    },
    async listAlertRules(ws, page) {
      const after = page.after;
      return [...state().rules.values()]
        .filter(
          (r) =>
            r.workspaceId === ws &&
            (after === undefined ||
              r.createdAt < after.createdAt ||
              (r.createdAt === after.createdAt && r.id < after.id)),
        )
        .sort((a, b) => newestFirst({ t: a.createdAt, id: a.id }, { t: b.createdAt, id: b.id }))
        .slice(0, page.limit)
        .map(clone);
    },
    async listEnabledAlertRules(ws) {
      return [...state().rules.values()]
        .filter((r) => r.workspaceId === ws && r.enabled)
        .sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : 1))
        .map(clone);
    },
    async updateAlertRule(ws, id, patch) {
      const r = state().rules.get(id);
      if (r && r.workspaceId === ws) Object.assign(r, clone(patch));
    },
    async deleteAlertRule(ws, id) {
      const r = state().rules.get(id);
      if (!r || r.workspaceId !== ws) return false;
      state().rules.delete(id);
      dropRuleState(id);
      return true;
    },

    async insertAlert(alert) {
      state().alerts.push(clone(alert));
    },
    async listAlerts(ws, f) {
      const after = f.after;
      return state()
        .alerts.filter(
          (a) =>
            a.workspaceId === ws &&
            (f.ruleId === undefined || a.ruleId === f.ruleId) &&
            (f.keyId === undefined || a.keyId === f.keyId) &&
            (after === undefined || a.at < after.at || (a.at === after.at && a.id < after.id)),
        )
        .sort((a, b) => newestFirst({ t: a.at, id: a.id }, { t: b.at, id: b.id }))
        .slice(0, f.limit)
        .map(clone);
    },

    async addAlertCounts(increments) {
      const counters = state().counters;
      for (const inc of increments) {
        const k = `${pair(inc.ruleId, inc.subject)}\0${inc.bucket}`;
        const row = counters.get(k);
        if (row) {
          row.count += inc.count;
          row.expiresAt = Math.max(row.expiresAt, inc.expiresAt);
        } else counters.set(k, clone(inc));
      }
    },
    async sumAlertCounts(ruleId, subjects, since) {
      const wanted = new Set(subjects);
      const sums = new Map<string, number>();
      for (const c of state().counters.values())
        if (c.ruleId === ruleId && wanted.has(c.subject) && c.bucket >= since)
          sums.set(c.subject, (sums.get(c.subject) ?? 0) + c.count);
      return sums;
    },
    async purgeAlertCounts(now) {
      const counters = state().counters;
      let n = 0;
      for (const [k, c] of counters)
        if (c.expiresAt <= now) {
          counters.delete(k);
          n++;
        }
      return n;
    },

    async getAlertBaseline(ruleId, subject) {
      const b = state().baselines.get(pair(ruleId, subject));
      return b && clone(b);
    },
    async saveAlertBaseline(next, expectedVersion) {
      const baselines = state().baselines;
      const k = pair(next.ruleId, next.subject);
      const current = baselines.get(k);
      if (expectedVersion === null ? current !== undefined : current?.version !== expectedVersion)
        return false;
      baselines.set(k, clone(next));
      return true;
    },

    async rememberKeyNetworks(ws, keyId, networks, at) {
      const all = state().networks;
      const seen = all.get(keyId) ?? new Map<string, { workspaceId: string; at: number }>();
      const known = seen.size > 0;
      const added: string[] = [];
      for (const n of [...new Set(networks)].sort()) {
        if (seen.has(n)) continue;
        seen.set(n, { workspaceId: ws, at });
        added.push(n);
      }
      all.set(keyId, seen);
      return { known, added };
    },

    async claimAlertFiring(ruleId, subject, now, until) {
      const cooldowns = state().cooldowns;
      const k = pair(ruleId, subject);
      const held = cooldowns.get(k);
      if (held !== undefined && held > now) return false;
      cooldowns.set(k, until);
      return true;
    },
  };
}
