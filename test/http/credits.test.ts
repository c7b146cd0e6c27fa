import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, DAY, expectProblem, HOUR, verify } from './fixtures.js';

const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const at = (iso: string) => Date.parse(iso);

describe('usage credits', () => {
  let h: Harness;
  let ks: { id: string };
  beforeEach(async () => {
    h = await harness({ now: T0 });
    ks = await createKeyspace(h);
  });
  afterEach(async () => h.close());

  const remainingOf = async (keyId: string) =>
    (await h.call('GET', `/v1/keys/${keyId}`)).body.credits?.remaining as number | undefined;

  /** Verifies `key` `n` times in a row and returns the codes. */
  async function codes(key: string, n: number, extra: Record<string, unknown> = {}) {
    const out: string[] = [];
    for (let i = 0; i < n; i++) out.push((await verify(h, { key, ...extra })).code);
    return out;
  }

  describe('spending', () => {
    it('spends one credit per verification and reports the balance left', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 3 } });

      const answers = [];
      for (let i = 0; i < 3; i++) answers.push(await verify(h, { key: k.key }));

      expect(answers.map((a) => [a.code, a.credits])).toEqual([
        ['VALID', { remaining: 2 }],
        ['VALID', { remaining: 1 }],
        ['VALID', { remaining: 0 }],
      ]);
      expect(await remainingOf(k.id)).toBe(0);
    });

    it('answers USAGE_EXCEEDED at zero, with remaining 0, however often the key is tried', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 1 } });
      await verify(h, { key: k.key });

      const refused = [];
      for (let i = 0; i < 5; i++) refused.push(await verify(h, { key: k.key }));

      expect(new Set(refused.map((r) => JSON.stringify([r.valid, r.code, r.credits])))).toEqual(
        new Set([JSON.stringify([false, 'USAGE_EXCEEDED', { remaining: 0 }])]),
      );
      expect(await remainingOf(k.id)).toBe(0);
    });

    it('admits exactly the balance out of a concurrent burst and never goes below zero', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 20 } });

      const answers = await Promise.all(Array.from({ length: 60 }, () => verify(h, { key: k.key })));

      expect(answers.filter((a) => a.code === 'VALID')).toHaveLength(20);
      expect(answers.filter((a) => a.code === 'USAGE_EXCEEDED')).toHaveLength(40);
      expect(Math.min(...answers.map((a) => (a.credits as { remaining: number }).remaining))).toBe(0);
      expect(await remainingOf(k.id)).toBe(0);
    });

    it('spends `cost` credits', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 10 } });

      const res = await verify(h, { key: k.key, cost: 7 });

      expect(res).toMatchObject({ code: 'VALID', credits: { remaining: 3 } });
      expect(await remainingOf(k.id)).toBe(3);
    });

    it('refuses a cost larger than the balance without spending any of it', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 3 } });

      const tooBig = await verify(h, { key: k.key, cost: 5 });
      const exact = await verify(h, { key: k.key, cost: 3 });

      expect(tooBig).toMatchObject({ valid: false, code: 'USAGE_EXCEEDED', credits: { remaining: 3 } });
      expect(exact).toMatchObject({ valid: true, code: 'VALID', credits: { remaining: 0 } });
    });

    it('spends nothing with cost 0, however often', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 2 } });

      const peeks = [];
      for (let i = 0; i < 10; i++) peeks.push(await verify(h, { key: k.key, cost: 0 }));

      expect(new Set(peeks.map((p) => `${p.code}:${JSON.stringify(p.credits)}`))).toEqual(
        new Set(['VALID:{"remaining":2}']),
      );
      expect(await remainingOf(k.id)).toBe(2);
    });

    it('answers cost 0 USAGE_EXCEEDED once the balance is zero', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 0 } });

      const peek = await verify(h, { key: k.key, cost: 0 });

      expect(peek).toMatchObject({ valid: false, code: 'USAGE_EXCEEDED', credits: { remaining: 0 } });
    });

    it('answers a key without credits with no credits field and never refuses it for usage', async () => {
      const k = await createKey(h, ks.id);

      const answers = [];
      for (let i = 0; i < 5; i++) answers.push(await verify(h, { key: k.key, cost: 1000 }));

      expect(answers.map((a) => a.code)).toEqual(Array(5).fill('VALID'));
      expect(answers[0]).not.toHaveProperty('credits');
    });

    it('spends nothing on a verification refused by an earlier check', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 5 }, scopes: ['docs.read'] });

      const refused = await verify(h, { key: k.key, scopes: 'docs.write' });

      expect(refused.code).toBe('INSUFFICIENT_SCOPES');
      expect(await remainingOf(k.id)).toBe(5);
    });

    it('still counts a call refused for credits against the key’s rate limit', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 1 },
        ratelimits: [{ name: 'per-minute', limit: 3, windowMs: 60_000 }],
      });

      const answers = [];
      for (let i = 0; i < 4; i++) answers.push(await verify(h, { key: k.key }));

      expect(answers.map((a) => a.code)).toEqual([
        'VALID',
        'USAGE_EXCEEDED',
        'USAGE_EXCEEDED',
        'RATE_LIMITED',
      ]);
      expect(answers[2]).toMatchObject({ credits: { remaining: 0 }, ratelimits: [{ remaining: 0 }] });
    });
  });

  describe('PATCH /v1/keys/{id} credits', () => {
    it('sets the balance with { remaining } and the next verification spends from it', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 1 } });
      await verify(h, { key: k.key });

      const patched = await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { remaining: 50 } });

      expect(patched.status).toBe(200);
      expect(patched.body.credits).toMatchObject({ remaining: 50 });
      expect(await verify(h, { key: k.key })).toMatchObject({ code: 'VALID', credits: { remaining: 49 } });
    });

    it('keeps the refill when only the balance is set', async () => {
      const refill = { amount: 100, interval: 'daily' };
      const k = await createKey(h, ks.id, { credits: { remaining: 5, refill } });

      const patched = await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { remaining: 7 } });

      expect(patched.body.credits).toMatchObject({ remaining: 7, refill });
    });

    it('gives a key without credits a balance', async () => {
      const k = await createKey(h, ks.id);
      await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { remaining: 1 } });

      expect(await codes(k.key, 2)).toEqual(['VALID', 'USAGE_EXCEEDED']);
    });

    it('removes credits with null, and the key is no longer limited by usage', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 0 } });

      const patched = await h.call('PATCH', `/v1/keys/${k.id}`, { credits: null });

      expect(patched.body.credits).toBeNull();
      expect(await verify(h, { key: k.key })).toMatchObject({ code: 'VALID' });
    });

    it('adds { increment } to the balance and answers the new balance', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 0 } });

      const patched = await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { increment: 5 } });

      expect(patched.body.credits).toMatchObject({ remaining: 5 });
      expect(await codes(k.key, 6)).toEqual([...Array(5).fill('VALID'), 'USAGE_EXCEEDED']);
    });

    it('never takes the balance below zero with a negative increment', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 3 } });

      const patched = await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { increment: -10 } });

      expect(patched.body.credits).toMatchObject({ remaining: 0 });
      expect(await verify(h, { key: k.key })).toMatchObject({
        code: 'USAGE_EXCEEDED',
        credits: { remaining: 0 },
      });
    });

    it('counts every one of many concurrent increments', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 10 } });

      const answers = await Promise.all(
        Array.from({ length: 25 }, () => h.call('PATCH', `/v1/keys/${k.id}`, { credits: { increment: 2 } })),
      );

      expect(answers.map((a) => a.status)).toEqual(Array(25).fill(200));
      expect(await remainingOf(k.id)).toBe(60);
    });

    it('loses neither increments nor spends when both run concurrently', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 100 } });

      await Promise.all([
        ...Array.from({ length: 30 }, () =>
          h.call('PATCH', `/v1/keys/${k.id}`, { credits: { increment: 1 } }),
        ),
        ...Array.from({ length: 30 }, () => verify(h, { key: k.key })),
      ]);

      expect(await remainingOf(k.id)).toBe(100);
    });

    it('answers 400 to an increment on a key without credits', async () => {
      const k = await createKey(h, ks.id);

      const res = await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { increment: 5 } });

      expectProblem(res, 400, 'VALIDATION_FAILED');
    });

    it('answers 400 to a negative balance or to remaining and increment together', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 3 } });

      expectProblem(await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { remaining: -1 } }), 400);
      expectProblem(
        await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { remaining: 1, increment: 1 } }),
        400,
      );
      expect(await remainingOf(k.id)).toBe(3);
    });
  });

  describe('refills', () => {
    /** Spends the whole balance in one verification; returns what was left before. */
    async function drain(key: string): Promise<number> {
      const peek = await verify(h, { key, cost: 0 });
      const left = (peek.credits as { remaining: number }).remaining;
      if (left > 0) expect((await verify(h, { key, cost: left })).code).toBe('VALID');
      return left;
    }

    it('refills a daily balance at 00:00 UTC and not a millisecond before', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 2, refill: { amount: 5, interval: 'daily' } },
      });
      await drain(k.key);

      h.clock.set(at('2026-01-15T23:59:59.999Z'));
      const before = await verify(h, { key: k.key });
      h.clock.set(at('2026-01-16T00:00:00.000Z'));
      const after = await verify(h, { key: k.key });

      expect(before).toMatchObject({ code: 'USAGE_EXCEEDED', credits: { remaining: 0 } });
      expect(after).toMatchObject({ code: 'VALID', credits: { remaining: 4 } });
    });

    it('refills once per period: a drained balance stays empty until the next day', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 3, interval: 'daily' } },
      });
      h.clock.set(at('2026-01-16T00:00:00.000Z'));
      expect(await drain(k.key)).toBe(3);

      h.clock.set(at('2026-01-16T23:59:59.999Z'));
      const sameDay = await verify(h, { key: k.key });
      h.clock.set(at('2026-01-17T08:00:00.000Z'));
      const nextDay = await verify(h, { key: k.key });

      expect(sameDay.code).toBe('USAGE_EXCEEDED');
      expect(nextDay).toMatchObject({ code: 'VALID', credits: { remaining: 2 } });
    });

    it('refills to the amount once after idle days, not once per missed day', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 1, refill: { amount: 5, interval: 'daily' } },
      });
      h.clock.advance(10 * DAY);

      const res = await verify(h, { key: k.key });

      expect(res).toMatchObject({ code: 'VALID', credits: { remaining: 4 } });
    });

    it('raises the balance to the amount but never lowers a larger balance', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 50, refill: { amount: 10, interval: 'daily' } },
      });
      h.clock.advance(DAY);

      const res = await verify(h, { key: k.key });

      expect(res).toMatchObject({ code: 'VALID', credits: { remaining: 49 } });
      expect(await remainingOf(k.id)).toBe(49);
    });

    it('treats a balance set by PATCH as that period’s refill', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 10, interval: 'daily' } },
      });
      h.clock.set(at('2026-01-16T01:00:00.000Z'));
      await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { remaining: 2 } });

      const sameDay = await verify(h, { key: k.key });
      h.clock.set(at('2026-01-17T00:00:00.000Z'));
      const nextDay = await verify(h, { key: k.key });

      expect(sameDay.credits).toEqual({ remaining: 1 });
      expect(nextDay.credits).toEqual({ remaining: 9 });
    });

    it('refills a monthly balance at 00:00 UTC on the 1st by default', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 1, refill: { amount: 100, interval: 'monthly' } },
      });
      await drain(k.key);

      h.clock.set(at('2026-01-31T23:59:59.999Z'));
      const before = await verify(h, { key: k.key });
      h.clock.set(at('2026-02-01T00:00:00.000Z'));
      const after = await verify(h, { key: k.key });

      expect(before.code).toBe('USAGE_EXCEEDED');
      expect(after).toMatchObject({ code: 'VALID', credits: { remaining: 99 } });
    });

    it('refills a monthly balance on the configured day', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 100, interval: 'monthly', day: 20 } },
      });

      h.clock.set(at('2026-01-19T23:59:59.999Z'));
      const before = await verify(h, { key: k.key });
      h.clock.set(at('2026-01-20T00:00:00.000Z'));
      const after = await verify(h, { key: k.key });

      expect(before.code).toBe('USAGE_EXCEEDED');
      expect(after).toMatchObject({ code: 'VALID', credits: { remaining: 99 } });
    });

    it('refills on the 31st on the last day of shorter months: Feb 28, Mar 31, Apr 30, May 31', async () => {
      h.clock.set(at('2026-01-31T12:00:00.000Z'));
      const k = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 10, interval: 'monthly', day: 31 } },
      });

      const seen: Record<string, string> = {};
      for (const moment of [
        '2026-01-31T23:59:59.999Z',
        '2026-02-27T23:59:59.999Z',
        '2026-02-28T00:00:00.000Z',
        '2026-03-30T23:59:59.999Z',
        '2026-03-31T00:00:00.000Z',
        '2026-04-29T23:59:59.999Z',
        '2026-04-30T00:00:00.000Z',
        '2026-05-30T23:59:59.999Z',
        '2026-05-31T00:00:00.000Z',
      ]) {
        h.clock.set(at(moment));
        seen[moment] = `refilled ${await drain(k.key)}`;
      }

      expect(seen).toEqual({
        '2026-01-31T23:59:59.999Z': 'refilled 0',
        '2026-02-27T23:59:59.999Z': 'refilled 0',
        '2026-02-28T00:00:00.000Z': 'refilled 10',
        '2026-03-30T23:59:59.999Z': 'refilled 0',
        '2026-03-31T00:00:00.000Z': 'refilled 10',
        '2026-04-29T23:59:59.999Z': 'refilled 0',
        '2026-04-30T00:00:00.000Z': 'refilled 10',
        '2026-05-30T23:59:59.999Z': 'refilled 0',
        '2026-05-31T00:00:00.000Z': 'refilled 10',
      });
    });

    it('refills on the 30th on Feb 29 of a leap year, and on the 31st across the year end', async () => {
      h.clock.set(at('2027-12-31T12:00:00.000Z'));
      const on30 = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 4, interval: 'monthly', day: 30 } },
      });
      const on31 = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 4, interval: 'monthly', day: 31 } },
      });

      h.clock.set(at('2028-01-30T00:00:00.000Z'));
      const janFor30 = await drain(on30.key);
      const janFor31 = await drain(on31.key);
      h.clock.set(at('2028-01-31T00:00:00.000Z'));
      const jan31For31 = await drain(on31.key);
      h.clock.set(at('2028-02-28T23:59:59.999Z'));
      const feb28 = [await drain(on30.key), await drain(on31.key)];
      h.clock.set(at('2028-02-29T00:00:00.000Z'));
      const feb29 = [await drain(on30.key), await drain(on31.key)];

      expect({ janFor30, janFor31, jan31For31, feb28, feb29 }).toEqual({
        janFor30: 4,
        janFor31: 0,
        jan31For31: 4,
        feb28: [0, 0],
        feb29: [4, 4],
      });
    });

    it('refills on the new schedule after PATCH changes the refill from monthly to daily', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 10, interval: 'monthly' } },
      });
      expect((await verify(h, { key: k.key })).code).toBe('USAGE_EXCEEDED');
      await h.call('PATCH', `/v1/keys/${k.id}`, {
        credits: { remaining: 0, refill: { amount: 10, interval: 'daily' } },
      });

      h.clock.set(at('2026-01-16T00:00:00.000Z'));
      const res = await verify(h, { key: k.key });

      expect(res).toMatchObject({ code: 'VALID', credits: { remaining: 9 } });
    });

    it('refills on the new day after PATCH moves a monthly refill earlier in the month', async () => {
      const k = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 10, interval: 'monthly', day: 1 } },
      });
      expect((await verify(h, { key: k.key })).code).toBe('USAGE_EXCEEDED');
      await h.call('PATCH', `/v1/keys/${k.id}`, {
        credits: { remaining: 0, refill: { amount: 10, interval: 'monthly', day: 20 } },
      });

      h.clock.set(at('2026-01-20T00:00:00.000Z'));
      const res = await verify(h, { key: k.key });

      expect(res).toMatchObject({ code: 'VALID', credits: { remaining: 9 } });
    });
  });

  describe('rotation', () => {
    it('shares one balance between a rotated key and its predecessor', async () => {
      const old = await createKey(h, ks.id, { credits: { remaining: 10 } });
      await verify(h, { key: old.key });
      const rotated = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });

      const viaNew = await verify(h, { key: rotated.body.key });
      const viaOld = await verify(h, { key: old.key });

      expect(viaNew.credits).toEqual({ remaining: 8 });
      expect(viaOld.credits).toEqual({ remaining: 7 });
      expect([await remainingOf(old.id), await remainingOf(rotated.body.id)]).toEqual([7, 7]);
    });

    it('admits exactly the shared balance when old and new key are spent concurrently', async () => {
      const old = await createKey(h, ks.id, { credits: { remaining: 10 } });
      const rotated = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 3600 });

      const answers = await Promise.all([
        ...Array.from({ length: 15 }, () => verify(h, { key: old.key })),
        ...Array.from({ length: 15 }, () => verify(h, { key: rotated.body.key })),
      ]);

      expect(answers.filter((a) => a.code === 'VALID')).toHaveLength(10);
      expect(await remainingOf(rotated.body.id)).toBe(0);
    });

    it('refills the shared balance once, not once per key', async () => {
      const old = await createKey(h, ks.id, {
        credits: { remaining: 0, refill: { amount: 3, interval: 'daily' } },
      });
      const rotated = await h.call('POST', `/v1/keys/${old.id}/rotate`, { gracePeriodSeconds: 2 * 86400 });
      h.clock.advance(DAY);

      const answers = [];
      for (let i = 0; i < 4; i++)
        answers.push((await verify(h, { key: i % 2 ? old.key : rotated.body.key })).code);

      expect(answers).toEqual(['VALID', 'VALID', 'VALID', 'USAGE_EXCEEDED']);
    });
  });

  describe('credits.low events', () => {
    async function lowEvents() {
      const principal = await h.services.rootKeys.authenticate(h.rootKey);
      return h.services.store.listEvents(principal.workspaceId, { type: 'credits.low', limit: 10 });
    }

    it('records credits.low exactly once when the balance falls below the key’s threshold', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 5, lowThreshold: 3 } });

      await codes(k.key, 8);

      const events = await lowEvents();
      expect(events).toHaveLength(1);
      expect(events[0]).toMatchObject({
        type: 'credits.low',
        data: { keyId: k.id, keyspaceId: ks.id, remaining: 2, threshold: 3 },
        createdAt: T0,
      });
    });

    it('records nothing while the balance stays at or above the threshold', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 5, lowThreshold: 3 } });

      await codes(k.key, 2);

      expect(await lowEvents()).toEqual([]);
    });

    it('uses the keyspace’s default threshold for a key created with credits', async () => {
      const withDefault = await createKeyspace(h, { defaults: { creditsLowThreshold: 3 } });
      const k = await createKey(h, withDefault.id, { credits: { remaining: 5 } });

      await codes(k.key, 5);

      const events = await lowEvents();
      expect(events.map((e) => e.data)).toEqual([
        { keyId: k.id, keyspaceId: withDefault.id, remaining: 2, threshold: 3 },
      ]);
    });

    it('prefers the key’s own threshold to the keyspace’s default', async () => {
      const withDefault = await createKeyspace(h, { defaults: { creditsLowThreshold: 3 } });
      const k = await createKey(h, withDefault.id, { credits: { remaining: 10, lowThreshold: 8 } });

      await codes(k.key, 3);

      expect((await lowEvents()).map((e) => e.data.remaining)).toEqual([7]);
    });

    it('records the crossing of a cost that jumps past the threshold', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 10, lowThreshold: 5 } });

      await verify(h, { key: k.key, cost: 8 });

      expect((await lowEvents()).map((e) => e.data.remaining)).toEqual([2]);
    });

    it('does not record credits.low for verifications with cost 0', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 3, lowThreshold: 3 } });

      await codes(k.key, 5, { cost: 0 });
      const afterPeeks = await lowEvents();
      await verify(h, { key: k.key });

      expect(afterPeeks).toEqual([]);
      expect((await lowEvents()).map((e) => e.data.remaining)).toEqual([2]);
    });

    it('records one event out of a concurrent burst that crosses the threshold', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 10, lowThreshold: 5 } });

      await Promise.all(Array.from({ length: 20 }, () => verify(h, { key: k.key })));

      expect(await lowEvents()).toHaveLength(1);
    });

    it('records another event after a top-up when the balance falls below again', async () => {
      const k = await createKey(h, ks.id, { credits: { remaining: 3, lowThreshold: 3 } });
      await verify(h, { key: k.key });
      await h.call('PATCH', `/v1/keys/${k.id}`, { credits: { increment: 5 } });
      h.clock.advance(HOUR);

      await codes(k.key, 6);

      expect((await lowEvents()).map((e) => [e.createdAt, e.data.remaining])).toEqual([
        [T0 + HOUR, 2],
        [T0, 2],
      ]);
    });
  });
});
