import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { AlertBaselineRecord, AlertRecord, AlertRuleRecord } from './alert-store.js';
import type { Store } from './store.js';

const WS = 'ws_aaaaaaaaaaaa';
const OTHER = 'ws_bbbbbbbbbbbb';

/**
 * Alerts' part of the store contract, run against every store (memory, SQLite, PostgreSQL).
 * Each test gets a fresh store with two workspaces.
 */
export function describeAlertStoreContract(name: string, open: () => Promise<Store>): void {
  describe(`alert store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
      await store.insertWorkspace({ id: WS, name: 'one', createdAt: 1 });
      await store.insertWorkspace({ id: OTHER, name: 'two', createdAt: 2 });
    });
    afterEach(async () => store.close());

    const rule = (id: string, over: Partial<AlertRuleRecord> = {}): AlertRuleRecord => ({
      id,
      workspaceId: WS,
      name: `rule ${id}`,
      keyspaceId: 'ks_111111111111',
      keyId: null,
      condition: {
        type: 'threshold',
        metric: 'failures',
        count: 10,
        windowSeconds: 60,
        codes: ['NOT_FOUND'],
      },
      actions: ['notify', 'disable'],
      cooldownSeconds: 3600,
      enabled: true,
      createdAt: 100,
      updatedAt: 100,
      ...over,
    });
    const alert = (id: string, over: Partial<AlertRecord> = {}): AlertRecord => ({
      id,
      workspaceId: WS,
      ruleId: 'ar_1',
      keyId: 'key_1',
      subject: 'key_1',
      at: 1000,
      detail: { type: 'threshold', count: 12, actions: [{ action: 'notify', outcome: 'done' }] },
      ...over,
    });
    const baseline = (over: Partial<AlertBaselineRecord> = {}): AlertBaselineRecord => ({
      ruleId: 'ar_1',
      subject: 'key_1',
      bucket: 60_000,
      count: 5,
      baseline: 2.75,
      windows: 3,
      version: 1,
      updatedAt: 61_000,
      ...over,
    });

    it('round-trips a rule and scopes it to its workspace', async () => {
      await store.insertAlertRule(rule('ar_1'));

      expect(await store.getAlertRule(WS, 'ar_1')).toEqual(rule('ar_1'));
      expect(await store.getAlertRule(OTHER, 'ar_1')).toBeUndefined();
    });

    it('lists rules newest first, by page, and only enabled ones for evaluation', async () => {
      await store.insertAlertRule(rule('ar_1', { createdAt: 100 }));
      await store.insertAlertRule(rule('ar_2', { createdAt: 200, enabled: false }));
      await store.insertAlertRule(rule('ar_3', { createdAt: 200 }));
      await store.insertAlertRule(rule('ar_4', { workspaceId: OTHER }));

      const first = await store.listAlertRules(WS, { limit: 2 });
      const rest = await store.listAlertRules(WS, { limit: 2, after: { createdAt: 200, id: 'ar_2' } });

      expect(first.map((r) => r.id)).toEqual(['ar_3', 'ar_2']);
      expect(rest.map((r) => r.id)).toEqual(['ar_1']);
      expect((await store.listEnabledAlertRules(WS)).map((r) => r.id)).toEqual(['ar_1', 'ar_3']);
    });

    it('updates a rule only in its workspace', async () => {
      await store.insertAlertRule(rule('ar_1'));

      await store.updateAlertRule(OTHER, 'ar_1', { enabled: false, updatedAt: 150 });
      await store.updateAlertRule(WS, 'ar_1', { name: 'renamed', cooldownSeconds: 60, updatedAt: 200 });

      expect(await store.getAlertRule(WS, 'ar_1')).toEqual(
        rule('ar_1', { name: 'renamed', cooldownSeconds: 60, updatedAt: 200 }),
      );
      await store.updateAlertRule(WS, 'ar_1', { enabled: false, updatedAt: 300 });
      expect(await store.getAlertRule(WS, 'ar_1')).toMatchObject({ enabled: false, updatedAt: 300 });
    });

    it('deletes a rule with its evaluation state, keeping its fired alerts', async () => {
      await store.insertAlertRule(rule('ar_1'));
      await store.insertAlert(alert('al_1'));
      await store.addAlertCounts([
        { ruleId: 'ar_1', subject: 'key_1', bucket: 0, count: 3, expiresAt: 9e12 },
      ]);
      await store.saveAlertBaseline(baseline(), null);
      await store.claimAlertFiring('ar_1', 'key_1', 0, 9e12);

      expect(await store.deleteAlertRule(OTHER, 'ar_1')).toBe(false);
      expect(await store.deleteAlertRule(WS, 'ar_1')).toBe(true);

      expect(await store.getAlertRule(WS, 'ar_1')).toBeUndefined();
      expect(await store.deleteAlertRule(WS, 'ar_1')).toBe(false);
      expect((await store.sumAlertCounts('ar_1', ['key_1'], 0)).get('key_1')).toBeUndefined();
      expect(await store.getAlertBaseline('ar_1', 'key_1')).toBeUndefined();
      expect(await store.claimAlertFiring('ar_1', 'key_1', 1, 9e12)).toBe(true);
      expect((await store.listAlerts(WS, { limit: 10 })).map((a) => a.id)).toEqual(['al_1']);
    });

    it('lists alerts newest first, filtered by rule and key, by page, per workspace', async () => {
      await store.insertAlert(alert('al_1', { at: 1000 }));
      await store.insertAlert(alert('al_2', { at: 2000, ruleId: 'ar_2' }));
      await store.insertAlert(alert('al_3', { at: 2000, keyId: null, subject: 'ip:203.0.113.9' }));
      await store.insertAlert(alert('al_4', { at: 3000, workspaceId: OTHER }));

      expect((await store.listAlerts(WS, { limit: 10 })).map((a) => a.id)).toEqual(['al_3', 'al_2', 'al_1']);
      expect((await store.listAlerts(WS, { limit: 10, ruleId: 'ar_1' })).map((a) => a.id)).toEqual([
        'al_3',
        'al_1',
      ]);
      expect((await store.listAlerts(WS, { limit: 10, keyId: 'key_1' })).map((a) => a.id)).toEqual([
        'al_2',
        'al_1',
      ]);
      expect(
        (await store.listAlerts(WS, { limit: 10, after: { at: 2000, id: 'al_3' } })).map((a) => a.id),
      ).toEqual(['al_2', 'al_1']);
      expect(await store.listAlerts(WS, { limit: 1 })).toEqual([
        alert('al_3', { at: 2000, keyId: null, subject: 'ip:203.0.113.9' }),
      ]);
    });

    it('adds window counts with upserts and sums them per subject from a bucket on', async () => {
      const exp = 9e12;
      await store.addAlertCounts([
        { ruleId: 'ar_1', subject: 'key_1', bucket: 0, count: 2, expiresAt: exp },
        { ruleId: 'ar_1', subject: 'key_1', bucket: 6000, count: 3, expiresAt: exp },
        { ruleId: 'ar_1', subject: 'key_1', bucket: 6000, count: 1, expiresAt: exp },
        { ruleId: 'ar_1', subject: 'key_2', bucket: 6000, count: 7, expiresAt: exp },
        { ruleId: 'ar_2', subject: 'key_1', bucket: 6000, count: 100, expiresAt: exp },
      ]);
      await store.addAlertCounts([
        { ruleId: 'ar_1', subject: 'key_1', bucket: 12000, count: 5, expiresAt: exp },
      ]);

      const all = await store.sumAlertCounts('ar_1', ['key_1', 'key_2', 'key_3'], 0);
      const recent = await store.sumAlertCounts('ar_1', ['key_1'], 6000);

      expect(Object.fromEntries(all)).toEqual({ key_1: 11, key_2: 7 });
      expect(Object.fromEntries(recent)).toEqual({ key_1: 9 });
    });

    it('keeps every increment of concurrent writers', async () => {
      await Promise.all(
        Array.from({ length: 20 }, () =>
          store.transaction((tx) =>
            tx.addAlertCounts([{ ruleId: 'ar_1', subject: 'key_1', bucket: 0, count: 1, expiresAt: 9e12 }]),
          ),
        ),
      );

      expect((await store.sumAlertCounts('ar_1', ['key_1'], 0)).get('key_1')).toBe(20);
    });

    it('purges counters that expired', async () => {
      await store.addAlertCounts([
        { ruleId: 'ar_1', subject: 'key_1', bucket: 0, count: 2, expiresAt: 1000 },
        { ruleId: 'ar_1', subject: 'key_1', bucket: 6000, count: 3, expiresAt: 5000 },
      ]);

      expect(await store.purgeAlertCounts(1000)).toBe(1);

      expect((await store.sumAlertCounts('ar_1', ['key_1'], 0)).get('key_1')).toBe(3);
    });

    it('saves a baseline with check-and-set on its version', async () => {
      expect(await store.saveAlertBaseline(baseline(), null)).toBe(true);
      expect(await store.saveAlertBaseline(baseline({ count: 9 }), null)).toBe(false);

      expect(await store.saveAlertBaseline(baseline({ count: 6, version: 2 }), 1)).toBe(true);
      expect(await store.saveAlertBaseline(baseline({ count: 7, version: 2 }), 1)).toBe(false);

      expect(await store.getAlertBaseline('ar_1', 'key_1')).toEqual(baseline({ count: 6, version: 2 }));
      expect(await store.getAlertBaseline('ar_1', 'key_2')).toBeUndefined();
    });

    it('remembers the networks of a key and says which were new', async () => {
      const first = await store.rememberKeyNetworks(WS, 'key_1', ['203.0.113.0/24'], 10);
      const second = await store.rememberKeyNetworks(WS, 'key_1', ['203.0.113.0/24', '2001:db8:1::/48'], 20);
      const again = await store.rememberKeyNetworks(WS, 'key_1', ['2001:db8:1::/48'], 30);
      const other = await store.rememberKeyNetworks(WS, 'key_2', ['2001:db8:1::/48'], 30);

      expect(first).toEqual({ known: false, added: ['203.0.113.0/24'] });
      expect(second).toEqual({ known: true, added: ['2001:db8:1::/48'] });
      expect(again).toEqual({ known: true, added: [] });
      expect(other).toEqual({ known: false, added: ['2001:db8:1::/48'] });
    });

    it('gives a new network to exactly one of concurrent callers', async () => {
      await store.rememberKeyNetworks(WS, 'key_1', ['10.0.0.0/24'], 1);

      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          store.transaction((tx) => tx.rememberKeyNetworks(WS, 'key_1', ['198.51.100.0/24'], 2)),
        ),
      );

      expect(results.filter((r) => r.added.length === 1)).toHaveLength(1);
    });

    it('grants a firing claim once per cool-down', async () => {
      expect(await store.claimAlertFiring('ar_1', 'key_1', 1000, 5000)).toBe(true);
      expect(await store.claimAlertFiring('ar_1', 'key_1', 4999, 9000)).toBe(false);
      expect(await store.claimAlertFiring('ar_1', 'key_2', 4999, 9000)).toBe(true);
      expect(await store.claimAlertFiring('ar_2', 'key_1', 4999, 9000)).toBe(true);

      expect(await store.claimAlertFiring('ar_1', 'key_1', 5000, 8000)).toBe(true);
      expect(await store.claimAlertFiring('ar_1', 'key_1', 7999, 9000)).toBe(false);
    });

    it('grants a firing claim to exactly one of concurrent claimers', async () => {
      const results = await Promise.all(
        Array.from({ length: 8 }, () =>
          store.transaction((tx) => tx.claimAlertFiring('ar_1', 'key_1', 1000, 5000)),
        ),
      );

      expect(results.filter(Boolean)).toHaveLength(1);
    });

    it('rolls alert rows back with their transaction', async () => {
      await expect(
        store.transaction(async (tx) => {
          await tx.insertAlertRule(rule('ar_1'));
          await tx.insertAlert(alert('al_1'));
          await tx.claimAlertFiring('ar_1', 'key_1', 0, 9e12);
          throw new Error('boom');
        }),
      ).rejects.toThrow('boom');

      expect(await store.getAlertRule(WS, 'ar_1')).toBeUndefined();
      expect(await store.listAlerts(WS, { limit: 10 })).toEqual([]);
      expect(await store.claimAlertFiring('ar_1', 'key_1', 1, 9e12)).toBe(true);
    });
  });
}
