import type { Kysely } from 'kysely';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Database } from '../../src/adapters/sql/schema.js';
import { type Harness, harness } from '../support/harness.js';
import { allAuditEntries, expectProblem, HOUR } from './fixtures.js';

/** The raw SQLite handle, to tamper with rows the way an attacker with file access would. */
function database(h: Harness): Kysely<Database> {
  return (h.services.store as unknown as { database: Kysely<Database> }).database;
}

describe('vault: /v1/secrets', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  const put = (path: string, body: Record<string, unknown>, key?: string) =>
    h.call('PUT', `/v1/secrets/${path}`, body, key);
  const get = (path: string, key?: string) => h.call('GET', `/v1/secrets/${path}`, undefined, key);

  describe('put and get', () => {
    it('writes version 1, answers 200 { path, version }, and reads the value back', async () => {
      const written = await put('payments/stripe-key', { value: 'sk_live_123' });

      expect(written.status).toBe(200);
      expect(written.body).toEqual({
        path: 'payments/stripe-key',
        version: 1,
        createdAt: '2026-01-15T12:00:00.000Z',
        labels: ['current'],
      });
      const read = await get('payments/stripe-key');
      expect(read.status).toBe(200);
      expect(read.body).toEqual({
        path: 'payments/stripe-key',
        version: 1,
        value: 'sk_live_123',
        createdAt: '2026-01-15T12:00:00.000Z',
        labels: ['current'],
        meta: {},
      });
      expect(read.headers['cache-control']).toBe('no-store');
    });

    it('makes every write a new version; older ones stay readable by number', async () => {
      await put('quotes/api-key', { value: 'one' });
      h.clock.advance(1000);

      const second = await put('quotes/api-key', { value: 'two', meta: { provider: 'quotes.example' } });

      expect(second.body.version).toBe(2);
      expect((await get('quotes/api-key')).body).toMatchObject({
        version: 2,
        value: 'two',
        labels: ['current'],
      });
      expect((await get('quotes/api-key?version=1')).body).toMatchObject({
        version: 1,
        value: 'one',
        labels: ['previous'],
        meta: { provider: 'quotes.example' },
      });
      expectProblem(await get('quotes/api-key?version=3'), 404, 'NOT_FOUND');
    });

    it('keeps values exactly: unicode, newlines, empty', async () => {
      for (const [path, value] of [
        ['v/unicode', 'clé-🔑-ключ'],
        ['v/pem', '-----BEGIN KEY-----\nabc\n-----END KEY-----\n'],
        ['v/empty', ''],
      ]) {
        await put(String(path), { value });
        expect((await get(String(path))).body.value).toBe(value);
      }
    });

    it('answers 404 for a secret that does not exist', async () => {
      expectProblem(await get('nothing/here'), 404, 'NOT_FOUND');
    });

    it('accepts a value of exactly 64 KiB and refuses one byte more with 413', async () => {
      expect((await put('big/ok', { value: 'x'.repeat(65_536) })).status).toBe(200);

      expectProblem(await put('big/over', { value: 'x'.repeat(65_537) }), 413, 'SECRET_TOO_LARGE');
      // Bytes of UTF-8, not characters: 21,846 × 3 bytes = 65,538.
      expectProblem(await put('big/multibyte', { value: '€'.repeat(21_846) }), 413, 'SECRET_TOO_LARGE');
      expectProblem(await get('big/over'), 404, 'NOT_FOUND');
    });

    it.each([
      ['an empty segment', 'a//b'],
      ['a trailing slash', 'a/'],
      ['a space', 'a%20b'],
      ['a colon', 'a:b'],
      ['a percent-encoded slash that decodes to an empty segment', 'a%2F%2Fb'],
      ['a non-ASCII character', 'caf%C3%A9'],
      ['a path over 512 characters', `${'a'.repeat(300)}/${'b'.repeat(300)}`],
    ])('answers 400 for a path with %s', async (_, path) => {
      const res = await put(path, { value: 'v' });

      expectProblem(res, 400, 'VALIDATION_FAILED');
      expect(res.body.errors[0].path).toBe('params:/path');
    });

    it('answers 400 for a body without value, or with unknown fields', async () => {
      expectProblem(await put('a', {}), 400, 'VALIDATION_FAILED');
      expectProblem(await put('a', { value: 'v', extra: 1 }), 400, 'VALIDATION_FAILED');
      expectProblem(await put('a', { value: 42 }), 400, 'VALIDATION_FAILED');
    });
  });

  describe('check-and-set', () => {
    it('writes with expectedVersion 0 only while the secret does not exist', async () => {
      expect((await put('cas/a', { value: 'v1', expectedVersion: 0 })).status).toBe(200);

      const again = await put('cas/a', { value: 'v2', expectedVersion: 0 });

      expectProblem(again, 409, 'SECRET_VERSION_MISMATCH');
      expect((await get('cas/a')).body.value).toBe('v1');
    });

    it('writes with the latest version, and answers 409 with any other', async () => {
      await put('cas/b', { value: 'v1' });
      await put('cas/b', { value: 'v2' });

      expectProblem(
        await put('cas/b', { value: 'stale', expectedVersion: 1 }),
        409,
        'SECRET_VERSION_MISMATCH',
      );
      const ok = await put('cas/b', { value: 'v3', expectedVersion: 2 });

      expect(ok.body.version).toBe(3);
      expect((await get('cas/b')).body.value).toBe('v3');
    });
  });

  describe('delete, restore, destroy', () => {
    it('soft-deletes: reads and listings answer as if it did not exist, and restore brings every version back', async () => {
      await put('soft/a', { value: 'v1' });
      await put('soft/a', { value: 'v2' });

      expect((await h.call('DELETE', '/v1/secrets/soft/a')).status).toBe(204);
      expectProblem(await get('soft/a'), 404, 'NOT_FOUND');
      expect((await h.call('GET', '/v1/secrets?prefix=soft')).body.items).toEqual([]);
      const deleted = (await h.call('GET', '/v1/secrets?prefix=soft&deleted=true')).body.items;
      expect(deleted).toMatchObject([{ path: 'soft/a', deletedAt: '2026-01-15T12:00:00.000Z' }]);
      expectProblem(await h.call('DELETE', '/v1/secrets/soft/a'), 404, 'NOT_FOUND');

      const restored = await h.call('POST', '/v1/secrets/soft/a:restore');

      expect(restored.status).toBe(200);
      expect(restored.body).toMatchObject({ path: 'soft/a', version: 2, deletedAt: null });
      expect((await get('soft/a')).body.value).toBe('v2');
      expect((await get('soft/a?version=1')).body.value).toBe('v1');
    });

    it('restores a deleted secret by writing to it', async () => {
      await put('soft/b', { value: 'v1' });
      await h.call('DELETE', '/v1/secrets/soft/b');

      expect((await put('soft/b', { value: 'v2' })).body.version).toBe(2);

      expect((await get('soft/b?version=1')).body.value).toBe('v1');
    });

    it('destroys one version for good; the others stay readable and its number is never reused', async () => {
      await put('d/a', { value: 'leaked' });
      await put('d/a', { value: 'fresh' });

      const destroyed = await h.call('POST', '/v1/secrets/d/a:destroy', { version: 1 });

      expect(destroyed.status).toBe(200);
      expect(destroyed.body.versions).toMatchObject([
        { version: 1, destroyedAt: '2026-01-15T12:00:00.000Z' },
        { version: 2, destroyedAt: null },
      ]);
      const gone = await get('d/a?version=1');
      expectProblem(gone, 404, 'NOT_FOUND');
      expect(gone.body.detail).toMatch(/destroyed/);
      expect((await get('d/a')).body.value).toBe('fresh');
      expect((await put('d/a', { value: 'next' })).body.version).toBe(3);
      const row = await database(h)
        .selectFrom('secret_versions')
        .selectAll()
        .where('path', '=', 'd/a')
        .where('version', '=', 1)
        .executeTakeFirstOrThrow();
      expect({ ciphertext: row.ciphertext, wrapped_key: row.wrapped_key }).toEqual({
        ciphertext: null,
        wrapped_key: null,
      });
    });

    it('answers 400 for destroy or confirm without a version, 404 for an unknown version or action', async () => {
      await put('d/b', { value: 'v' });

      expectProblem(await h.call('POST', '/v1/secrets/d/b:destroy', {}), 400, 'VALIDATION_FAILED');
      expectProblem(await h.call('POST', '/v1/secrets/d/b:confirm'), 400, 'VALIDATION_FAILED');
      expectProblem(await h.call('POST', '/v1/secrets/d/b:destroy', { version: 9 }), 404, 'NOT_FOUND');
      expectProblem(await h.call('POST', '/v1/secrets/d/b:explode'), 404, 'ROUTE_NOT_FOUND');
      expectProblem(await h.call('POST', '/v1/secrets/d/b'), 404, 'ROUTE_NOT_FOUND');
    });
  });

  describe('versions kept', () => {
    it('prunes versions beyond the configured number (10), oldest first', async () => {
      for (let i = 1; i <= 12; i++) await put('many/a', { value: `v${i}` });

      expectProblem(await get('many/a?version=1'), 404, 'NOT_FOUND');
      expectProblem(await get('many/a?version=2'), 404, 'NOT_FOUND');
      expect((await get('many/a?version=3')).body.value).toBe('v3');
      const [meta] = (await h.call('GET', '/v1/secrets?prefix=many/a')).body.items;
      expect(meta.versions.map((v: { version: number }) => v.version)).toEqual([
        3, 4, 5, 6, 7, 8, 9, 10, 11, 12,
      ]);
      expect(meta).toMatchObject({ version: 12, latestVersion: 12 });
    });
  });

  describe('listing', () => {
    it('lists names, versions and metadata, never values, newest first, by whole-segment prefix', async () => {
      await put('payments/stripe', { value: 'VALUE-ONE', meta: { team: 'billing' } });
      h.clock.advance(1000);
      await put('payments/adyen/live', { value: 'VALUE-TWO' });
      h.clock.advance(1000);
      await put('payments2/other', { value: 'VALUE-THREE' });

      const res = await h.call('GET', '/v1/secrets?prefix=payments');

      expect(res.status).toBe(200);
      expect(res.body.items.map((s: { path: string }) => s.path)).toEqual([
        'payments/adyen/live',
        'payments/stripe',
      ]);
      expect(res.body.items[1]).toEqual({
        path: 'payments/stripe',
        version: 1,
        latestVersion: 1,
        labels: { current: 1, pending: null, previous: null },
        versions: [
          {
            version: 1,
            createdAt: '2026-01-15T12:00:00.000Z',
            createdBy: expect.stringMatching(/^rk_/),
            destroyedAt: null,
            labels: ['current'],
          },
        ],
        meta: { team: 'billing' },
        rotation: null,
        rotationDueAt: null,
        createdAt: '2026-01-15T12:00:00.000Z',
        updatedAt: '2026-01-15T12:00:00.000Z',
        deletedAt: null,
      });
      expect(JSON.stringify(res.body)).not.toMatch(/VALUE-/);
    });

    it('pages with limit and cursor', async () => {
      for (let i = 0; i < 5; i++) {
        await put(`page/s${i}`, { value: 'v' });
        h.clock.advance(1000);
      }
      const seen: string[] = [];
      let cursor: string | null = null;
      do {
        const res: Awaited<ReturnType<Harness['call']>> = await h.call(
          'GET',
          `/v1/secrets?prefix=page&limit=2${cursor ? `&cursor=${cursor}` : ''}`,
        );
        expect(res.body.items.length).toBeLessThanOrEqual(2);
        seen.push(...res.body.items.map((s: { path: string }) => s.path));
        cursor = res.body.nextCursor;
      } while (cursor);

      expect(seen).toEqual(['page/s4', 'page/s3', 'page/s2', 'page/s1', 'page/s0']);
    });

    it('answers 400 for a malformed prefix or limit', async () => {
      expectProblem(await h.call('GET', '/v1/secrets?prefix=a//b'), 400, 'VALIDATION_FAILED');
      expectProblem(await h.call('GET', '/v1/secrets?limit=101'), 400, 'VALIDATION_FAILED');
    });
  });

  describe('meta', () => {
    it('changes meta without writing a version', async () => {
      await put('m/a', { value: 'v', meta: { a: 1 } });

      const res = await h.call('PATCH', '/v1/secrets/m/a', { meta: { b: 2 } });

      expect(res.status).toBe(200);
      expect(res.body).toMatchObject({ path: 'm/a', version: 1, latestVersion: 1, meta: { b: 2 } });
      expectProblem(await h.call('PATCH', '/v1/secrets/m/a', {}), 400, 'VALIDATION_FAILED');
      expectProblem(await h.call('PATCH', '/v1/secrets/m/none', { meta: {} }), 404, 'NOT_FOUND');
    });
  });

  describe('rotation of held secrets', () => {
    async function dueEvents() {
      const ws = await h.services.store.getWorkspaceByName('default');
      return h.services.store.listEvents(ws?.id ?? '', { type: 'secret.rotation_due', limit: 100 });
    }

    it('sends secret.rotation_due once per version when the current version outlives maxAgeSeconds', async () => {
      const written = await put('quotes/key', {
        value: 'old',
        rotation: { maxAgeSeconds: 3600, webhook: 'https://rotator.internal/hook' },
      });
      expect(written.status).toBe(200);
      const [meta] = (await h.call('GET', '/v1/secrets?prefix=quotes/key')).body.items;
      expect(meta.rotationDueAt).toBe('2026-01-15T13:00:00.000Z');

      h.clock.advance(HOUR - 1000);
      expect(await h.services.checkSecretRotation()).toBe(0);
      h.clock.advance(1000);
      expect(await h.services.checkSecretRotation()).toBe(1);
      expect(await h.services.checkSecretRotation()).toBe(0);
      h.clock.advance(HOUR);
      expect(await h.services.checkSecretRotation()).toBe(0);

      const events = await dueEvents();
      expect(events).toHaveLength(1);
      expect(events[0]?.data).toEqual({
        path: 'quotes/key',
        version: 1,
        dueAt: '2026-01-15T13:00:00.000Z',
        maxAgeSeconds: 3600,
        webhook: 'https://rotator.internal/hook',
      });
      const audit = await allAuditEntries(h);
      expect(audit.filter((e) => e.action === 'secret.rotation_due')).toMatchObject([
        { actor: 'system', targetType: 'secret', targetId: 'quotes/key', data: { version: 1 } },
      ]);
    });

    it('keeps current (and then previous) readable until the rotated version is confirmed', async () => {
      await put('quotes/key', { value: 'old', rotation: { maxAgeSeconds: 3600 } });
      h.clock.advance(HOUR);
      await h.services.checkSecretRotation();

      // The rotator writes the new value as pending: readers still get the old one.
      const pending = await put('quotes/key', { value: 'new', pending: true });
      expect(pending.body).toMatchObject({ version: 2, labels: ['pending'] });
      expect((await get('quotes/key')).body).toMatchObject({ version: 1, value: 'old', labels: ['current'] });
      expect((await get('quotes/key?label=pending')).body).toMatchObject({ version: 2, value: 'new' });
      expect(await h.services.checkSecretRotation()).toBe(0);

      const confirmed = await h.call('POST', '/v1/secrets/quotes/key:confirm', { version: 2 });

      expect(confirmed.status).toBe(200);
      expect(confirmed.body.labels).toEqual({ current: 2, pending: null, previous: 1 });
      expect(confirmed.body.rotationDueAt).toBe('2026-01-15T14:00:00.000Z');
      expect((await get('quotes/key')).body).toMatchObject({ version: 2, value: 'new' });
      expect((await get('quotes/key?label=previous')).body).toMatchObject({ version: 1, value: 'old' });
      // The new version is due in its own time, and notified once too.
      h.clock.advance(HOUR);
      expect(await h.services.checkSecretRotation()).toBe(1);
      expect((await dueEvents()).map((e) => e.data.version)).toEqual([2, 1]);
    });

    it('confirms an older version to roll back, and answers 404 for a label nobody holds', async () => {
      await put('r/a', { value: 'one' });
      await put('r/a', { value: 'two' });

      await h.call('POST', '/v1/secrets/r/a:confirm', { version: 1 });

      expect((await get('r/a')).body).toMatchObject({ version: 1, value: 'one', labels: ['current'] });
      expect((await get('r/a?label=previous')).body.value).toBe('two');
      expectProblem(await get('r/a?label=pending'), 404, 'NOT_FOUND');
      expectProblem(await get('r/a?label=pending&version=1'), 400, 'VALIDATION_FAILED');
    });

    it('never prunes a version that holds a label', async () => {
      await put('keep/a', { value: 'current-one' });
      for (let i = 0; i < 12; i++) await put('keep/a', { value: `pending-${i}`, pending: true });

      expect((await get('keep/a')).body).toMatchObject({ version: 1, value: 'current-one' });
      expect((await get('keep/a?label=pending')).body).toMatchObject({ version: 13, value: 'pending-11' });
    });

    it('removes the policy with rotation: null', async () => {
      await put('r/b', { value: 'v', rotation: { maxAgeSeconds: 60 } });

      const res = await h.call('PATCH', '/v1/secrets/r/b', { rotation: null });

      expect(res.body).toMatchObject({ rotation: null, rotationDueAt: null });
      h.clock.advance(HOUR);
      expect(await h.services.checkSecretRotation()).toBe(0);
    });

    it('refuses a rotation shorter than a minute or a webhook that is not http(s)', async () => {
      expectProblem(
        await put('r/c', { value: 'v', rotation: { maxAgeSeconds: 59 } }),
        400,
        'VALIDATION_FAILED',
      );
      expectProblem(
        await put('r/c', { value: 'v', rotation: { maxAgeSeconds: 60, webhook: 'ftp://x' } }),
        400,
        'VALIDATION_FAILED',
      );
    });
  });

  describe('audit', () => {
    it('records every read and write with path and version, and never the value', async () => {
      const value = 'AUDIT-CANARY-5f2c';
      await put('a/b', { value });
      await get('a/b');
      await get('a/b?version=7');
      await h.call('DELETE', '/v1/secrets/a/b');
      await h.call('POST', '/v1/secrets/a/b:restore');
      await h.call('POST', '/v1/secrets/a/b:destroy', { version: 1 });

      const entries = (await allAuditEntries(h)).filter((e) => e.targetType === 'secret');

      expect(entries.map((e) => [e.action, e.targetId, e.data.version ?? e.data.versions ?? null])).toEqual([
        ['secret.written', 'a/b', 1],
        ['secret.read', 'a/b', 1],
        ['secret.read_failed', 'a/b', 7],
        ['secret.deleted', 'a/b', null],
        ['secret.restored', 'a/b', null],
        ['secret.destroyed', 'a/b', [1]],
      ]);
      expect(JSON.stringify(await allAuditEntries(h))).not.toContain(value);
      expect((await h.call('GET', '/v1/audit/verify')).body.ok).toBe(true);
    });
  });

  describe('tampering', () => {
    async function versionRow(path: string, version: number) {
      return database(h)
        .selectFrom('secret_versions')
        .selectAll()
        .where('path', '=', path)
        .where('version', '=', version)
        .executeTakeFirstOrThrow();
    }
    async function overwrite(
      path: string,
      version: number,
      from: { ciphertext: string | null; wrapped_key: string | null },
    ) {
      await database(h)
        .updateTable('secret_versions')
        .set({ ciphertext: from.ciphertext, wrapped_key: from.wrapped_key })
        .where('path', '=', path)
        .where('version', '=', version)
        .execute();
    }

    it('refuses a ciphertext and data key moved to another path (500 SECRET_DECRYPTION_FAILED, no value)', async () => {
      await put('victim/key', { value: 'victim-value' });
      await put('attacker/key', { value: 'attacker-value' });

      await overwrite('attacker/key', 1, await versionRow('victim/key', 1));
      const res = await get('attacker/key');

      expectProblem(res, 500, 'SECRET_DECRYPTION_FAILED');
      expect(JSON.stringify(res.body)).not.toContain('victim-value');
      const [last] = (await h.call('GET', '/v1/audit?limit=1')).body.items;
      expect(last).toMatchObject({ action: 'secret.read_failed', targetId: 'attacker/key' });
    });

    it('refuses a ciphertext moved to another version of the same path', async () => {
      await put('same/key', { value: 'first' });
      await put('same/key', { value: 'second' });

      await overwrite('same/key', 2, await versionRow('same/key', 1));

      expectProblem(await get('same/key'), 500, 'SECRET_DECRYPTION_FAILED');
      expect((await get('same/key?version=1')).body.value).toBe('first');
    });

    it('refuses a ciphertext moved to the same path in another workspace', async () => {
      const other = await h.rootKeyWith(['*'], 'other');
      await put('shared/name', { value: 'mine' });
      await put('shared/name', { value: 'theirs' }, other);
      const ws = await h.services.store.getWorkspaceByName('default');
      const mine = await database(h)
        .selectFrom('secret_versions')
        .selectAll()
        .where('workspace_id', '=', ws?.id ?? '')
        .executeTakeFirstOrThrow();

      await database(h)
        .updateTable('secret_versions')
        .set({ ciphertext: mine.ciphertext, wrapped_key: mine.wrapped_key })
        .where('workspace_id', '<>', ws?.id ?? '')
        .execute();

      expectProblem(await get('shared/name', other), 500, 'SECRET_DECRYPTION_FAILED');
    });

    it('refuses a flipped bit in the ciphertext', async () => {
      await put('flip/key', { value: 'value' });
      const row = await versionRow('flip/key', 1);
      const bytes = Buffer.from(row.ciphertext ?? '', 'base64');
      bytes[20] = (bytes[20] ?? 0) ^ 1;

      await overwrite('flip/key', 1, { ciphertext: bytes.toString('base64'), wrapped_key: row.wrapped_key });

      expectProblem(await get('flip/key'), 500, 'SECRET_DECRYPTION_FAILED');
    });
  });
});
