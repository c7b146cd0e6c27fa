import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { ManualClock } from '../clock/index.js';
import { type KeyRecord, MemoryStore } from '../store/index.js';
import { recordExpiringKeys } from './expiry-reminders.js';

const random = (n: number) => randomBytes(n);
const WS = 'ws_aaaaaaaaaaaa';
const HOUR = 3_600_000;
const DAY = 24 * HOUR;

describe('key.expiring reminders', () => {
  let store: MemoryStore;
  let clock: ManualClock;
  const key = (id: string, expiresAt: number | null, over: Partial<KeyRecord> = {}): KeyRecord => ({
    id,
    workspaceId: WS,
    keyspaceId: 'ks_111111111111',
    hash: `hash-${id}`,
    start: 'kw_abcd',
    name: 'billing',
    ownerId: 'user_1',
    meta: {},
    scopes: [],
    status: 'active',
    expiresAt,
    createdAt: 0,
    updatedAt: 0,
    lastUsedAt: null,
    ratelimits: [],
    restrictions: { ips: [], origins: [] },
    replaces: null,
    replacedBy: null,
    lineageId: id,
    revokedAt: null,
    revokeReason: null,
    ...over,
  });
  const reminders = async () =>
    (await store.listEvents(WS, { type: 'key.expiring', limit: 100 }))
      .map((e) => `${e.data.keyId} ${e.data.reminder}`)
      .sort();

  beforeEach(() => {
    store = new MemoryStore();
    clock = new ManualClock(Date.UTC(2026, 0, 1));
  });

  it('reminds 7 days and 1 day before expiry, once each, however often it runs', async () => {
    await store.insertKey(key('key_a', clock.now() + 10 * DAY), null);

    expect(await recordExpiringKeys(store, clock, random)).toBe(0);
    clock.advance(3 * DAY);
    expect(await recordExpiringKeys(store, clock, random)).toBe(1);
    expect(await recordExpiringKeys(store, clock, random)).toBe(0);
    expect(await reminders()).toEqual(['key_a 7d']);
    clock.advance(6 * DAY + HOUR);
    await recordExpiringKeys(store, clock, random);
    await recordExpiringKeys(store, clock, random);
    clock.advance(2 * DAY);
    await recordExpiringKeys(store, clock, random);

    expect(await reminders()).toEqual(['key_a 1d', 'key_a 7d']);
  });

  it('sends only the 1-day reminder to a key first seen less than a day before expiry', async () => {
    await store.insertKey(key('key_a', clock.now() + 12 * HOUR), null);

    await recordExpiringKeys(store, clock, random);

    expect(await reminders()).toEqual(['key_a 1d']);
  });

  it('records one reminder when several nodes check at once', async () => {
    await store.insertKey(key('key_a', clock.now() + 3 * DAY), null);

    await Promise.all([1, 2, 3].map(() => recordExpiringKeys(store, clock, random)));

    expect(await reminders()).toEqual(['key_a 7d']);
  });

  it('skips revoked, disabled, replaced, expired and never-expiring keys', async () => {
    await store.insertKey(key('key_revoked', clock.now() + DAY - 1, { status: 'revoked' }), null);
    await store.insertKey(key('key_disabled', clock.now() + DAY - 1, { status: 'disabled' }), null);
    await store.insertKey(key('key_replaced', clock.now() + DAY - 1, { replacedBy: 'key_new' }), null);
    await store.insertKey(key('key_expired', clock.now() - 1), null);
    await store.insertKey(key('key_forever', null), null);

    expect(await recordExpiringKeys(store, clock, random)).toBe(0);
  });

  it('reminds again when the expiry moves, and says what expires without key material', async () => {
    await store.insertKey(key('key_a', clock.now() + 2 * DAY), null);
    await recordExpiringKeys(store, clock, random);
    await store.updateKey(WS, 'key_a', { expiresAt: clock.now() + 5 * DAY, updatedAt: clock.now() });

    await recordExpiringKeys(store, clock, random);

    const events = await store.listEvents(WS, { type: 'key.expiring', limit: 10 });
    expect(events).toHaveLength(2);
    expect(events[0]?.data).toEqual({
      keyId: 'key_a',
      keyspaceId: 'ks_111111111111',
      start: 'kw_abcd',
      name: 'billing',
      ownerId: 'user_1',
      expiresAt: '2026-01-06T00:00:00.000Z',
      reminder: '7d',
    });
    expect(JSON.stringify(events)).not.toContain('hash-key_a');
  });
});
