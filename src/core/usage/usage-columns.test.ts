import { describe, expect, it } from 'vitest';
import { lastUses, UsageColumns, usageCounts } from './usage-columns.js';
import type { UsageEvent } from './usage-event.js';

const T0 = Date.UTC(2026, 5, 1, 10, 0, 0);
const MINUTE = 60_000;

function event(i: number, over: Partial<UsageEvent> = {}): UsageEvent {
  return {
    at: T0 + i * 1_000,
    keyId: `key_${i % 3}`,
    keyspaceId: 'ks_1',
    workspaceId: i % 5 === 0 ? 'ws_b' : 'ws_a',
    code: i % 4 === 0 ? 'RATE_LIMITED' : 'VALID',
    ip: i % 2 === 0 ? `203.0.113.${i % 7}` : null,
    origin: i % 6 === 0 ? 'https://app.example.com' : null,
    resource: `/orders/${i % 2}`,
    latencyUs: i,
    ...over,
  };
}

describe('UsageColumns', () => {
  it('gives back every field of every event as recorded, in order, past its first room', () => {
    // Strings made afresh for each event, as a request's JSON gives them: equal, not identical.
    const recorded = Array.from({ length: 700 }, (_, i) =>
      event(i, { resource: `/orders/${'x'.repeat(i % 2)}` }),
    );
    const c = UsageColumns.of(recorded);

    expect(c.length).toBe(700);
    expect(c.events()).toEqual(recorded);
    expect(c.event(699)).toEqual(recorded[699]);
    // Each distinct string once.
    expect(new Set(c.strings).size).toBe(c.strings.length);
    expect(c.strings).toContain('/orders/x');
  });

  it('keeps nulls apart from strings', () => {
    const e = event(1, {
      keyId: null,
      keyspaceId: null,
      code: 'NOT_FOUND',
      ip: null,
      origin: null,
      resource: null,
    });
    const c = UsageColumns.of([e, event(2)]);

    expect(c.events()).toEqual([e, event(2)]);
  });

  it('names its workspaces once each, in order of first appearance', () => {
    const c = UsageColumns.of([
      event(1, { workspaceId: 'ws_a' }),
      event(2, { workspaceId: 'ws_b' }),
      event(3, { workspaceId: 'ws_a' }),
      event(4, { workspaceId: 'ws_c' }),
      event(5, { workspaceId: 'ws_b' }),
    ]);

    expect(c.workspaceIds()).toEqual(['ws_a', 'ws_b', 'ws_c']);
  });

  it('never grows past the capacity it was made with', () => {
    const c = new UsageColumns(300);
    for (let i = 0; i < 300; i++) c.push(event(i));

    expect(c.length).toBe(300);
    expect(c.refs.length).toBe(300 * 7);
    expect(c.nums.length).toBe(300 * 2);
    expect(c.events()).toHaveLength(300);
  });

  it('builds its events once and again after a push', () => {
    const c = UsageColumns.of([event(1)]);
    const first = c.events();

    expect(c.events()).toBe(first);
    c.push(event(2));
    expect(c.events()).toHaveLength(2);
  });

  it('counts by key, bucket and code, skipping unknown keys, in one order', () => {
    const e = (i: number, over: Partial<UsageEvent>) => event(i, { workspaceId: 'ws_a', ...over });
    const c = UsageColumns.of([
      e(0, { keyId: 'key_b', code: 'VALID' }),
      e(0, { keyId: 'key_a', code: 'VALID' }),
      e(1, { keyId: 'key_a', code: 'VALID' }),
      e(2, { keyId: 'key_a', code: 'FORBIDDEN' }),
      e(3, { keyId: 'key_a', code: 'VALID' }),
      e(70, { keyId: 'key_a', code: 'VALID' }),
      e(4, { keyId: null, keyspaceId: null, code: 'NOT_FOUND' }),
    ]);
    const row = (keyId: string, bucket: number, code: string, count: number) => ({
      workspaceId: 'ws_a',
      keyId,
      keyspaceId: 'ks_1',
      code,
      bucket,
      count,
    });

    expect(usageCounts(c, MINUTE)).toEqual([
      row('key_a', T0, 'FORBIDDEN', 1),
      row('key_a', T0, 'VALID', 3),
      row('key_a', T0 + MINUTE, 'VALID', 1),
      row('key_b', T0, 'VALID', 1),
    ]);
    expect(lastUses(c)).toEqual([
      { keyId: 'key_a', at: T0 + 70_000 },
      { keyId: 'key_b', at: T0 },
    ]);
  });
});
