import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from '../support/harness.js';
import { createKey, createKeyspace, DAY, expectProblem, HOUR, type Reply, verify } from './fixtures.js';

const MINUTE = 60 * 1000;
/** The harness clock starts here: 2026-01-15T12:00:00Z, a whole hour. */
const T0 = Date.UTC(2026, 0, 15, 12, 0, 0);
const iso = (ms: number) => new Date(ms).toISOString();

describe('usage', () => {
  let h: Harness;
  let keyspaceId: string;
  let key: { id: string; key: string };
  beforeEach(async () => {
    h = await harness();
    keyspaceId = (await createKeyspace(h)).id;
    key = await createKey(h, keyspaceId, { scopes: ['read'] });
  });
  afterEach(async () => h.close());

  const flush = async () => expect(await h.services.usage.flush()).toBe(true);
  const usage = (query = '', id = key.id) => h.call('GET', `/v1/keys/${id}/usage${query ? `?${query}` : ''}`);
  const events = (query = '', id = key.id) =>
    h.call('GET', `/v1/keys/${id}/events${query ? `?${query}` : ''}`);
  const sumOf = (res: Reply) =>
    (res.body.series as { total: number }[]).reduce((n: number, p: { total: number }) => n + p.total, 0);

  describe('N concurrent verifications show up exactly as N after a flush', () => {
    it('in every granularity, split by code, with the events listing holding each one', async () => {
      const other = await createKey(h, keyspaceId);
      const N = 3000;
      const bodies = Array.from({ length: N }, (_, i) =>
        i % 10 === 0 ? { key: key.key, scopes: 'write' } : { key: i % 3 === 0 ? other.key : key.key },
      );

      const answers = await Promise.all(bodies.map((b) => verify(h, b)));
      await flush();

      const mine = bodies.filter((b) => b.key === key.key);
      const denied = bodies.filter((b) => 'scopes' in b).length;
      expect(answers.filter((a) => a.code === 'INSUFFICIENT_SCOPES')).toHaveLength(denied);
      for (const granularity of ['minute', 'hour', 'day']) {
        const res = await usage(`granularity=${granularity}`);
        expect(res.status).toBe(200);
        expect(sumOf(res)).toBe(mine.length);
      }
      const hour = (await usage('granularity=hour')).body.series.at(-1);
      expect(hour).toEqual({
        t: iso(T0),
        total: mine.length,
        byCode: { VALID: mine.length - denied, INSUFFICIENT_SCOPES: denied },
      });
      expect(sumOf(await usage('granularity=minute', other.id))).toBe(N - mine.length);

      let listed = 0;
      let cursor: string | null = null;
      do {
        const page: Reply = await events(`limit=100${cursor ? `&cursor=${cursor}` : ''}`);
        listed += page.body.items.length;
        cursor = page.body.nextCursor;
      } while (cursor);
      expect(listed).toBe(mine.length);
    });
  });

  describe('GET /v1/keys/{id}/usage', () => {
    async function verifyAt(at: number, n: number, body: Record<string, unknown> = {}) {
      h.clock.set(at);
      for (let i = 0; i < n; i++) await verify(h, { key: key.key, ...body });
    }

    beforeEach(async () => {
      await verifyAt(T0 - 2 * DAY + 5 * MINUTE, 1);
      await verifyAt(T0 - 90 * MINUTE, 2);
      await verifyAt(T0 - 30 * MINUTE + 10_000, 3);
      await verifyAt(T0 - 30 * MINUTE + 50_000, 1, { scopes: 'admin' });
      await verifyAt(T0 - 1, 4);
      h.clock.set(T0);
      await flush();
    });

    it('defaults to 24 hourly buckets ending with the current hour, every bucket present', async () => {
      const res = await usage();

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ granularity: 'hour', from: iso(T0 - 23 * HOUR), to: iso(T0 + HOUR) });
      expect(res.body.series).toHaveLength(24);
      expect(res.body.series[0]).toEqual({ t: iso(T0 - 23 * HOUR), total: 0, byCode: {} });
      expect(res.body.series.slice(-3)).toEqual([
        { t: iso(T0 - 2 * HOUR), total: 2, byCode: { VALID: 2 } },
        { t: iso(T0 - HOUR), total: 8, byCode: { VALID: 7, INSUFFICIENT_SCOPES: 1 } },
        { t: iso(T0), total: 0, byCode: {} },
      ]);
    });

    it('answers per minute, aligned to whole minutes', async () => {
      const res = await usage(`granularity=minute&from=${iso(T0 - 31 * MINUTE + 5_000)}&to=${iso(T0)}`);

      expect(res.body.from).toBe(iso(T0 - 31 * MINUTE));
      expect(res.body.series).toHaveLength(31);
      const busy = res.body.series.filter((p: { total: number }) => p.total > 0);
      expect(busy).toEqual([
        { t: iso(T0 - 30 * MINUTE), total: 4, byCode: { VALID: 3, INSUFFICIENT_SCOPES: 1 } },
        { t: iso(T0 - MINUTE), total: 4, byCode: { VALID: 4 } },
      ]);
    });

    it('answers per UTC day over a range of days', async () => {
      const res = await usage(`granularity=day&from=${iso(T0 - 3 * DAY)}&to=${iso(T0 + DAY)}`);

      const days = Date.UTC(2026, 0, 12);
      // 2026-01-12T12:00 rounds down to the 12th, 2026-01-16T12:00 up to the 17th.
      expect(res.body.series.map((p: { t: string; total: number }) => [p.t, p.total])).toEqual([
        [iso(days), 0],
        [iso(days + DAY), 1],
        [iso(days + 2 * DAY), 0],
        [iso(days + 3 * DAY), 10],
        [iso(days + 4 * DAY), 0],
      ]);
    });

    it('defaults to 30 days ending with today, and to 60 minutes ending with the current one', async () => {
      h.clock.set(T0 + 30_000);
      const days = await usage('granularity=day');
      const minutes = await usage('granularity=minute');

      expect(days.body.series).toHaveLength(30);
      expect(days.body.series.at(-1)).toMatchObject({ t: iso(Date.UTC(2026, 0, 15)), total: 10 });
      expect(minutes.body.series).toHaveLength(60);
      expect(minutes.body.series.at(-1)).toMatchObject({ t: iso(T0), total: 0 });
      expect(minutes.body.series.at(-2)).toMatchObject({ t: iso(T0 - MINUTE), total: 4 });
    });

    it('answers zeros for a range without verifications', async () => {
      const res = await usage(`from=${iso(T0 - 40 * DAY)}&to=${iso(T0 - 39 * DAY)}`);

      expect(res.body.series).toHaveLength(24);
      expect(sumOf(res)).toBe(0);
    });

    it('refuses `from` that is not before `to`', async () => {
      const res = await usage(`from=${iso(T0)}&to=${iso(T0)}`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors).toEqual([{ path: 'querystring:/from', message: 'must be before `to`' }]);
    });

    it('refuses a range of more than 1500 buckets, saying what to do', async () => {
      const res = await usage(`granularity=minute&from=${iso(T0 - 2 * DAY)}&to=${iso(T0)}`);

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.detail).toMatch(/2880 minute buckets, more than 1500: shorten it or use a coarser/);
      expect((await usage(`granularity=hour&from=${iso(T0 - 2 * DAY)}&to=${iso(T0)}`)).status).toBe(200);
    });

    it.each([
      ['an unknown granularity', 'granularity=week'],
      ['a `from` that is not a time', 'from=yesterday'],
      ['an unknown parameter', 'bucket=hour'],
    ])('refuses %s', async (_, query) => {
      expectProblem(await usage(query), 400, 'VALIDATION_FAILED');
    });

    it('answers 404 for a key that does not exist or was deleted', async () => {
      expectProblem(await usage('', 'key_00000000000000000000'), 404, 'NOT_FOUND');
      await h.call('DELETE', `/v1/keys/${key.id}`);
      expectProblem(await usage(), 404, 'NOT_FOUND');
    });
  });

  describe('GET /v1/keys/{id}/events', () => {
    it('lists the latest events newest first, with what the verification was given', async () => {
      h.clock.set(T0 + 1_000);
      await verify(h, { key: key.key, ip: '203.0.113.9', origin: 'https://app.example.com', resource: '/a' });
      h.clock.set(T0 + 2_000);
      await verify(h, { key: key.key, scopes: 'admin', resource: '/b' });
      await flush();

      const res = await events();

      expect(res.status).toBe(200);
      expect(res.body).toEqual({
        items: [
          {
            at: iso(T0 + 2_000),
            code: 'INSUFFICIENT_SCOPES',
            ip: null,
            origin: null,
            resource: '/b',
            latencyUs: expect.any(Number),
          },
          {
            at: iso(T0 + 1_000),
            code: 'VALID',
            ip: '203.0.113.9',
            origin: 'https://app.example.com',
            resource: '/a',
            latencyUs: expect.any(Number),
          },
        ],
        nextCursor: null,
      });
    });

    it('pages with a cursor, 20 by default, without gaps or repeats', async () => {
      for (let i = 0; i < 45; i++) {
        h.clock.set(T0 + Math.floor(i / 4));
        await verify(h, { key: key.key, resource: `/r${i}` });
      }
      await flush();

      const first = await events();
      const second = await events(`cursor=${first.body.nextCursor}`);
      const third = await events(`cursor=${second.body.nextCursor}`);

      expect([first, second, third].map((r) => r.body.items.length)).toEqual([20, 20, 5]);
      expect(third.body.nextCursor).toBeNull();
      const resources = [first, second, third].flatMap((r) =>
        r.body.items.map((e: { resource: string }) => e.resource),
      );
      expect(new Set(resources).size).toBe(45);
      const times = [first, second, third].flatMap((r) =>
        r.body.items.map((e: { at: string }) => Date.parse(e.at)),
      );
      expect(times).toEqual([...times].sort((a, b) => b - a));
    });

    it.each([
      ['limit=0', 'VALIDATION_FAILED'],
      ['limit=101', 'VALIDATION_FAILED'],
      ['limit=ten', 'VALIDATION_FAILED'],
      ['cursor=bm90LWEtY3Vyc29y', 'INVALID_CURSOR'],
    ])('answers 400 for %s', async (query, code) => {
      expectProblem(await events(query), 400, code);
    });

    it('accepts limit=100', async () => {
      expect((await events('limit=100')).status).toBe(200);
    });

    it('shows nothing of another key', async () => {
      const other = await createKey(h, keyspaceId);
      await verify(h, { key: other.key });
      await flush();

      expect((await events()).body.items).toEqual([]);
    });
  });

  it('sets lastUsedAt at the flush to the key’s latest verification', async () => {
    h.clock.set(T0 + 5_000);
    await verify(h, { key: key.key });
    h.clock.set(T0 + 9_000);
    await verify(h, { key: key.key, scopes: 'admin' });

    await flush();

    expect((await h.call('GET', `/v1/keys/${key.id}`)).body.lastUsedAt).toBe(iso(T0 + 9_000));
  });

  it('never stores the presented key: not in the database files, not in any answer', async () => {
    await verify(h, { key: key.key, ip: '203.0.113.9', resource: '/orders' });
    await verify(h, { key: `${key.key.slice(0, -1)}x` });
    await flush();

    const files = readdirSync(h.dataDir).map((f) => readFileSync(join(h.dataDir, f)));
    const answers = JSON.stringify([(await events()).body, (await usage()).body]);

    expect(files.some((bytes) => bytes.includes(Buffer.from(key.key)))).toBe(false);
    expect(answers).not.toContain(key.key);
    expect(answers).not.toContain(key.key.slice(-12));
  });
});

describe('GET /metrics', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  it('shows verifications by code, cache hits and misses, latency, queue depth and drops, with bounded labels', async () => {
    const ks = await createKeyspace(h);
    const key = await createKey(h, ks.id);
    for (let i = 0; i < 5; i++) await verify(h, { key: key.key });
    await verify(h, { key: key.key, scopes: 'admin' });
    await h.call('POST', `/v1/keys/${key.id}/revoke`);
    await verify(h, { key: key.key });

    const res = await h.app.inject({ method: 'GET', url: '/metrics' });
    const text = res.body;
    const sample = (line: string) => text.split('\n').find((l) => l.startsWith(`${line} `));

    expect(sample('keyward_verifications_total{code="VALID"}')).toBe(
      'keyward_verifications_total{code="VALID"} 5',
    );
    expect(sample('keyward_verifications_total{code="INSUFFICIENT_SCOPES"}')).toMatch(/ 1$/);
    expect(sample('keyward_verifications_total{code="REVOKED"}')).toMatch(/ 1$/);
    expect(sample('keyward_verifications_total{code="USAGE_EXCEEDED"}')).toMatch(/ 0$/);
    // The first verification read the store, the revocation evicted the key: two misses.
    expect(sample('keyward_verification_cache_total{result="miss"}')).toMatch(/ 2$/);
    expect(sample('keyward_verification_cache_total{result="hit"}')).toMatch(/ 5$/);
    expect(sample('keyward_verification_duration_seconds_count')).toMatch(/ 7$/);
    expect(sample('keyward_verification_duration_seconds_bucket{le="+Inf"}')).toMatch(/ 7$/);
    expect(text).toMatch(/keyward_verification_duration_seconds_bucket\{le="0.0001"\} \d+/);
    expect(text).toMatch(/# TYPE keyward_verification_duration_seconds histogram/);
    // Queued or already flushed by the recorder's timer: every event is in one place or the other.
    const value = (name: string) => Number(sample(name)?.split(' ')[1]);
    expect(value('keyward_usage_queue_depth') + value('keyward_usage_events_stored_total')).toBe(7);
    expect(sample('keyward_usage_events_dropped_total')).toBe('keyward_usage_events_dropped_total 0');

    await h.services.usage.flush();
    const after = (await h.app.inject({ method: 'GET', url: '/metrics' })).body;
    expect(after).toMatch(/^keyward_usage_queue_depth 0$/m);
    expect(after).toMatch(/^keyward_usage_events_stored_total 7$/m);

    const mine = after.split('\n').filter((l) => /^keyward_(verification|usage)/.test(l));
    const labelNames = new Set(mine.flatMap((l) => [...l.matchAll(/([a-z_]+)="/g)].map((m) => m[1])));
    expect([...labelNames].sort()).toEqual(['code', 'le', 'result']);
    for (const secret of [key.key, key.id, ks.id, h.rootKey]) expect(after).not.toContain(secret);
  });
});
