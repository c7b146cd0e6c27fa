import { beforeEach, describe, expect, it } from 'vitest';
import { AuditLog } from '../audit/index.js';
import { InProcessCacheBus } from '../cache-bus/index.js';
import { ManualClock } from '../clock/index.js';
import { secureRandom } from '../crypto/index.js';
import { generateKey, Keys } from '../keys/index.js';
import { Keyspaces } from '../keyspaces/index.js';
import { MemoryRateLimiter } from '../ratelimit/index.js';
import { PermissionSet, type Principal } from '../root-keys/index.js';
import { type KeyWithCredits, MemoryStore } from '../store/index.js';
import { Verifier } from './verifier.js';

/** A memory store that counts verification lookups, to prove what the cache and checksum spare. */
class CountingStore extends MemoryStore {
  lookups = 0;
  /** When set, the next lookup waits for this promise before answering (to stage races). */
  gate: Promise<void> | null = null;
  override async getKeyByHash(hash: string): Promise<KeyWithCredits | undefined> {
    this.lookups++;
    const found = await super.getKeyByHash(hash);
    if (this.gate) await this.gate;
    return found;
  }
}

describe('Verifier', () => {
  let store: CountingStore;
  let clock: ManualClock;
  let bus: InProcessCacheBus;
  let verifier: Verifier;
  let keys: Keys;
  let principal: Principal;
  let keyspaceId: string;

  beforeEach(async () => {
    store = new CountingStore();
    clock = new ManualClock(Date.UTC(2026, 5, 1));
    bus = new InProcessCacheBus();
    const audit = new AuditLog(store, clock);
    keys = new Keys(store, audit, bus, clock, secureRandom);
    verifier = new Verifier(store, bus, clock, new MemoryRateLimiter(clock), {
      cacheSize: 100,
      cacheTtlMs: 60_000,
      negativeTtlMs: 2_000,
    });
    await store.insertWorkspace({ id: 'ws_test00000000', name: 'default', createdAt: 0 });
    principal = {
      workspaceId: 'ws_test00000000',
      rootKeyId: 'rk_test00000000',
      permissions: new PermissionSet(['*']),
    };
    const ks = await new Keyspaces(store, audit, clock, secureRandom).create(
      { principal, ip: null },
      { name: 'api' },
    );
    keyspaceId = ks.id;
  });

  const issue = async () => keys.create({ principal, ip: null }, keyspaceId, {});

  it('answers NOT_FOUND for a bad checksum without touching the store', async () => {
    const { key } = await issue();
    const last = key.at(-1) === 'A' ? 'B' : 'A';
    const result = await verifier.verify(principal, { key: key.slice(0, -1) + last });
    expect(result.code).toBe('NOT_FOUND');
    expect(store.lookups).toBe(0);
  });

  it('reads the store once for a key and then answers from the cache', async () => {
    const { key } = await issue();
    for (let i = 0; i < 5; i++) expect((await verifier.verify(principal, { key })).code).toBe('VALID');
    expect(store.lookups).toBe(1);
  });

  it('answers a cached key synchronously and a store read with a promise', async () => {
    const { key } = await issue();
    const first = verifier.verify(principal, { key });
    expect(first).toBeInstanceOf(Promise);
    expect((await first).code).toBe('VALID');
    const cached = verifier.verify(principal, { key });
    expect(cached).not.toBeInstanceOf(Promise);
    expect((cached as Awaited<typeof cached>).code).toBe('VALID');
    // Bad input on the synchronous path is thrown, not answered.
    expect(() => verifier.verify(principal, { key, ip: 'not an ip' })).toThrow(/IPv4 or IPv6/);
  });

  it('remembers an unknown key only for the negative TTL', async () => {
    const unknown = generateKey('kw', secureRandom).key;
    expect((await verifier.verify(principal, { key: unknown })).code).toBe('NOT_FOUND');
    expect((await verifier.verify(principal, { key: unknown })).code).toBe('NOT_FOUND');
    expect(store.lookups).toBe(1);
    clock.advance(2_001);
    await verifier.verify(principal, { key: unknown });
    expect(store.lookups).toBe(2);
  });

  it('refuses a revoked key on the very next verification after revoke returns', async () => {
    const { key, record } = await issue();
    expect((await verifier.verify(principal, { key })).code).toBe('VALID');
    await keys.revoke({ principal, ip: null }, record.id, 'test');
    expect((await verifier.verify(principal, { key })).code).toBe('REVOKED');
  });

  it('does not cache a record read before a concurrent revoke committed', async () => {
    const { key, record } = await issue();
    let release: () => void = () => {};
    store.gate = new Promise<void>((r) => {
      release = r;
    });
    // The read starts and sees the key active; the revoke commits while the read is in flight.
    const inFlight = verifier.verify(principal, { key });
    await keys.revoke({ principal, ip: null }, record.id, 'race');
    store.gate = null;
    release();
    expect((await inFlight).code).toBe('VALID');
    expect((await verifier.verify(principal, { key })).code).toBe('REVOKED');
  });

  it('trusts a cached key no longer than the cache TTL', async () => {
    const { key, record } = await issue();
    await verifier.verify(principal, { key });
    // A change that bypasses the bus (as if another node's message were lost) is seen after the TTL.
    await store.updateKey('ws_test00000000', record.id, { status: 'disabled', updatedAt: clock.now() });
    expect((await verifier.verify(principal, { key })).code).toBe('VALID');
    clock.advance(60_001);
    expect((await verifier.verify(principal, { key })).code).toBe('DISABLED');
  });

  it('treats a key outside a narrowed keys.verify permission as not found', async () => {
    const { key } = await issue();
    const narrowed: Principal = {
      ...principal,
      permissions: new PermissionSet(['keys.verify:ks_other000000000']),
    };
    expect((await verifier.verify(narrowed, { key })).code).toBe('NOT_FOUND');
  });
});
