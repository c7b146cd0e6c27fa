import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { allAuditEntries, createKey, createKeyspace, expectProblem, UNKNOWN_ID, verify } from './fixtures.js';

const threshold = (count: number) => ({
  type: 'threshold',
  metric: 'verifications',
  count,
  windowSeconds: 60,
});

describe('alert rules and alerts', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness();
    ks = await createKeyspace(h, { rotation: { gracePeriodSeconds: 600 } });
  });
  afterEach(async () => h.close());

  const createRule = (body: Record<string, unknown>, rootKey?: string) =>
    h.call('POST', '/v1/alert-rules', { name: 'rule', actions: ['notify'], ...body }, rootKey);

  /** What the server does about once a second: store the usage batch, then evaluate it. */
  async function flush() {
    await h.services.usage.flush();
    await h.services.alertEvaluator.idle();
  }

  describe('POST /v1/alert-rules', () => {
    it('answers 201 with the rule, its defaults, and records an audit entry', async () => {
      const res = await createRule({ keyspaceId: ks.id, condition: threshold(100) });

      expect(res.status).toBe(201);
      expect(res.body).toEqual({
        id: expect.stringMatching(/^ar_/),
        name: 'rule',
        keyspaceId: ks.id,
        keyId: null,
        condition: threshold(100),
        actions: ['notify'],
        cooldownSeconds: 3600,
        enabled: true,
        createdAt: '2026-01-15T12:00:00.000Z',
        updatedAt: '2026-01-15T12:00:00.000Z',
      });
      const audit = await allAuditEntries(h);
      expect(audit.at(-1)).toMatchObject({
        action: 'alert_rule.created',
        targetType: 'alert_rule',
        targetId: res.body.id,
      });
    });

    it.each([
      ['a spike', { type: 'spike', factor: 2.5, windowSeconds: 300, minCount: 50, minHistoryWindows: 12 }],
      ['a new IP', { type: 'new_ip' }],
      ['failures of some codes', { ...threshold(5), metric: 'failures', codes: ['FORBIDDEN', 'EXPIRED'] }],
    ])('accepts %s condition, with the key scope', async (_, condition) => {
      const key = await createKey(h, ks.id);

      const res = await createRule({ keyId: key.id, condition, cooldownSeconds: 0 });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ keyId: key.id, keyspaceId: ks.id, condition, cooldownSeconds: 0 });
    });

    it('accepts a workspace-wide failure burst rule', async () => {
      const res = await createRule({ condition: { type: 'failure_burst', count: 50, windowSeconds: 60 } });

      expect(res.status).toBe(201);
      expect(res.body).toMatchObject({ keyspaceId: null, keyId: null });
    });

    it.each([
      ['an unknown condition type', { type: 'sometimes' }],
      ['a threshold without count', { type: 'threshold', metric: 'verifications', windowSeconds: 60 }],
      ['an unknown metric', { ...threshold(5), metric: 'latency' }],
      ['a zero count', threshold(0)],
      ['a zero window', { ...threshold(5), windowSeconds: 0 }],
      ['a window over 7 days', { ...threshold(5), windowSeconds: 7 * 86_400 + 1 }],
      ['a spike factor of 1', { type: 'spike', factor: 1, windowSeconds: 60 }],
      ['an unknown field', { type: 'new_ip', extra: true }],
      ['codes on verifications', { ...threshold(5), codes: ['NOT_FOUND'] }],
      ['VALID among failure codes', { type: 'failure_burst', count: 5, windowSeconds: 60, codes: ['VALID'] }],
    ])('answers 400 for %s', async (_, condition) => {
      expectProblem(await createRule({ condition }), 400, 'VALIDATION_FAILED');
    });

    it.each<[string, Record<string, unknown>]>([
      ['an unknown action', { actions: ['page'] }],
      ['a repeated action', { actions: ['notify', 'notify'] }],
      ['a failure burst that would disable', { actions: ['disable'] }],
      ['a failure burst scoped to a keyspace', { keyspaceId: 'KS' }],
      ['no name', { name: undefined }],
      ['a negative cool-down', { cooldownSeconds: -1 }],
    ])('answers 400 for %s', async (_, over) => {
      const body: Record<string, unknown> = {
        name: 'rule',
        condition: { type: 'failure_burst', count: 5, windowSeconds: 60 },
        actions: ['notify'],
        ...over,
      };
      if (body.keyspaceId === 'KS') body.keyspaceId = ks.id;

      expectProblem(await h.call('POST', '/v1/alert-rules', body), 400, 'VALIDATION_FAILED');
    });

    it('answers 400 for a key of another keyspace than keyspaceId', async () => {
      const other = await createKeyspace(h);
      const key = await createKey(h, other.id);

      expectProblem(
        await createRule({ keyspaceId: ks.id, keyId: key.id, condition: threshold(5) }),
        400,
        'VALIDATION_FAILED',
      );
    });

    it('answers 404 for an unknown keyspace or key, and for those of another workspace', async () => {
      const foreignRoot = await h.rootKeyWith(['*'], 'other');
      const foreignKs = await createKeyspace(h, {}, foreignRoot);
      const foreignKey = await createKey(h, foreignKs.id, {}, foreignRoot);

      for (const scope of [
        { keyspaceId: UNKNOWN_ID.keyspace },
        { keyId: UNKNOWN_ID.key },
        { keyspaceId: foreignKs.id },
        { keyId: foreignKey.id },
      ])
        expectProblem(await createRule({ ...scope, condition: threshold(5) }), 404, 'NOT_FOUND');
    });

    it('needs keys.update for a disable action and keys.rotate for a rotate action, over the scope', async () => {
      const alertsOnly = await h.rootKeyWith(['alerts.write']);
      const withUpdate = await h.rootKeyWith(['alerts.write', `keys.update:${ks.id}`]);
      const body = { keyspaceId: ks.id, condition: threshold(5) };

      expectProblem(
        await createRule({ ...body, actions: ['disable'] }, alertsOnly),
        403,
        'PERMISSION_DENIED',
      );
      expectProblem(await createRule({ ...body, actions: ['rotate'] }, withUpdate), 403, 'PERMISSION_DENIED');
      expectProblem(
        await createRule({ condition: threshold(5), actions: ['disable'] }, withUpdate),
        403,
        'PERMISSION_DENIED',
      );
      expect((await createRule({ ...body, actions: ['disable'] }, withUpdate)).status).toBe(201);
    });
  });

  describe('GET, PATCH and DELETE /v1/alert-rules', () => {
    it('lists rules newest first with a cursor', async () => {
      const ids: string[] = [];
      for (let i = 0; i < 3; i++) {
        ids.push((await createRule({ condition: threshold(10 + i) })).body.id);
        h.clock.advance(1000);
      }

      const first = await h.call('GET', '/v1/alert-rules?limit=2');
      const second = await h.call('GET', `/v1/alert-rules?limit=2&cursor=${first.body.nextCursor}`);

      expect(first.body.items.map((r: { id: string }) => r.id)).toEqual([ids[2], ids[1]]);
      expect(second.body).toEqual({ items: [expect.objectContaining({ id: ids[0] })], nextCursor: null });
    });

    it('gets, disables, renames and deletes a rule', async () => {
      const { id } = (await createRule({ condition: threshold(10) })).body;

      expect((await h.call('GET', `/v1/alert-rules/${id}`)).body).toMatchObject({ id, enabled: true });
      h.clock.advance(1000);
      const patched = await h.call('PATCH', `/v1/alert-rules/${id}`, {
        enabled: false,
        name: 'quiet',
        cooldownSeconds: 60,
      });
      expect(patched.body).toMatchObject({
        enabled: false,
        name: 'quiet',
        cooldownSeconds: 60,
        updatedAt: '2026-01-15T12:00:01.000Z',
      });
      expect((await h.call('GET', `/v1/alert-rules/${id}`)).body).toEqual(patched.body);

      expect((await h.call('DELETE', `/v1/alert-rules/${id}`)).status).toBe(204);
      expectProblem(await h.call('GET', `/v1/alert-rules/${id}`), 404, 'NOT_FOUND');
      expect((await allAuditEntries(h)).map((e) => e.action).slice(-3)).toEqual([
        'alert_rule.created',
        'alert_rule.updated',
        'alert_rule.deleted',
      ]);
    });

    it('answers 400 for a PATCH that changes nothing or tries to change the condition', async () => {
      const { id } = (await createRule({ condition: threshold(10) })).body;

      expectProblem(await h.call('PATCH', `/v1/alert-rules/${id}`, {}), 400, 'VALIDATION_FAILED');
      expectProblem(
        await h.call('PATCH', `/v1/alert-rules/${id}`, { condition: threshold(1) }),
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('evaluation end to end', () => {
    it('disables a key that crosses a threshold: DISABLED at once, alert listed, event and audit recorded', async () => {
      const key = await createKey(h, ks.id);
      const rule = (
        await createRule({ keyId: key.id, condition: threshold(3), actions: ['notify', 'disable'] })
      ).body;
      for (let i = 0; i < 3; i++)
        expect((await verify(h, { key: key.key, ip: '203.0.113.9' })).code).toBe('VALID');

      await flush();

      expect((await verify(h, { key: key.key })).code).toBe('DISABLED');
      expect((await h.call('GET', `/v1/keys/${key.id}`)).body.status).toBe('disabled');
      const alerts = await h.call('GET', '/v1/alerts');
      expect(alerts.body).toEqual({
        items: [
          {
            id: expect.stringMatching(/^al_/),
            ruleId: rule.id,
            keyId: key.id,
            at: '2026-01-15T12:00:00.000Z',
            detail: {
              type: 'threshold',
              metric: 'verifications',
              count: 3,
              threshold: 3,
              windowSeconds: 60,
              ruleName: 'rule',
              actions: [
                { action: 'notify', outcome: 'done' },
                { action: 'disable', outcome: 'done' },
              ],
            },
          },
        ],
        nextCursor: null,
      });
      const entry = (await allAuditEntries(h)).find(
        (e) => e.targetId === key.id && e.action === 'key.updated',
      );
      expect(entry).toMatchObject({
        actor: `alert_rule:${rule.id}`,
        data: { cause: 'alert', status: 'disabled' },
      });
      const ws = await h.services.store.getWorkspaceByName('default');
      const events = await h.services.store.listEvents(ws?.id ?? '', { type: 'alert.fired', limit: 5 });
      expect(events).toEqual([
        expect.objectContaining({
          type: 'alert.fired',
          data: expect.objectContaining({ alertId: alerts.body.items[0].id }),
        }),
      ]);
      expect(JSON.stringify([alerts.body, events])).not.toContain(key.key);
    });

    it('rotates a key with the keyspace grace period; the old key keeps working meanwhile', async () => {
      const key = await createKey(h, ks.id);
      const rule = (await createRule({ keyId: key.id, condition: threshold(2), actions: ['rotate'] })).body;
      await verify(h, { key: key.key });
      await verify(h, { key: key.key });

      await flush();

      const old = (await h.call('GET', `/v1/keys/${key.id}`)).body;
      expect(old).toMatchObject({
        replacedBy: expect.stringMatching(/^key_/),
        expiresAt: '2026-01-15T12:10:00.000Z',
      });
      expect((await h.call('GET', `/v1/keys/${old.replacedBy}`)).body).toMatchObject({
        replaces: key.id,
        status: 'active',
      });
      expect((await verify(h, { key: key.key })).code).toBe('VALID');
      const rotated = (await allAuditEntries(h)).find((e) => e.action === 'key.rotated');
      expect(rotated).toMatchObject({
        actor: `alert_rule:${rule.id}`,
        targetId: key.id,
        data: { cause: 'alert', gracePeriodSeconds: 600 },
      });
    });

    it('fires a failure burst for enumeration from one IP', async () => {
      const rule = (await createRule({ condition: { type: 'failure_burst', count: 5, windowSeconds: 60 } }))
        .body;
      for (let i = 0; i < 5; i++)
        await verify(h, { key: `kw_${String(i).padStart(32, 'A')}AAAAAA`, ip: '198.51.100.7' });

      await flush();

      const alerts = await h.call('GET', `/v1/alerts?ruleId=${rule.id}`);
      expect(alerts.body.items).toEqual([
        expect.objectContaining({
          keyId: null,
          detail: expect.objectContaining({ ip: '198.51.100.7', count: 5 }),
        }),
      ]);
    });
  });

  describe('GET /v1/alerts', () => {
    it('lists newest first, filters by rule and key, and pages', async () => {
      const k1 = await createKey(h, ks.id);
      const k2 = await createKey(h, ks.id);
      const r1 = (await createRule({ condition: threshold(1), cooldownSeconds: 0 })).body;
      await verify(h, { key: k1.key });
      await flush();
      h.clock.advance(61_000);
      await verify(h, { key: k2.key });
      await flush();
      h.clock.advance(61_000);
      await verify(h, { key: k1.key });
      await flush();

      const all = (await h.call('GET', '/v1/alerts')).body.items;
      const ofK1 = (await h.call('GET', `/v1/alerts?keyId=${k1.id}`)).body.items;
      const ofOtherRule = (await h.call('GET', `/v1/alerts?ruleId=${UNKNOWN_ID.key.replace('key_', 'ar_')}`))
        .body.items;
      const page1 = await h.call('GET', '/v1/alerts?limit=2');
      const page2 = await h.call('GET', `/v1/alerts?limit=2&cursor=${page1.body.nextCursor}`);

      expect(all.map((a: { keyId: string }) => a.keyId)).toEqual([k1.id, k2.id, k1.id]);
      expect(all.every((a: { ruleId: string }) => a.ruleId === r1.id)).toBe(true);
      expect(ofK1).toHaveLength(2);
      expect(ofOtherRule).toEqual([]);
      expect([...page1.body.items, ...page2.body.items]).toEqual(all);
      expect(page2.body.nextCursor).toBeNull();
    });

    it('answers 400 for a bad filter or limit', async () => {
      expectProblem(await h.call('GET', '/v1/alerts?ruleId=nope'), 400, 'VALIDATION_FAILED');
      expectProblem(await h.call('GET', '/v1/alerts?limit=101'), 400, 'VALIDATION_FAILED');
    });
  });
});
