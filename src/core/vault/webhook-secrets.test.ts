import { randomBytes } from 'node:crypto';
import { beforeEach, describe, expect, it } from 'vitest';
import { MemoryStore, type WebhookRecord } from '../store/index.js';
import { MasterKey, SealOpenError } from './envelope.js';
import { ensureMasterKey } from './master-key-check.js';
import { rotateMasterKey } from './master-key-rotation.js';
import { sealPlaintextWebhookSecrets, WebhookSecretBox } from './webhook-secrets.js';

const random = (n: number) => randomBytes(n);
const SECRET = `whsec_${Buffer.alloc(32, 7).toString('base64')}`;

describe('webhook signing secrets at rest', () => {
  let store: MemoryStore;
  let key: MasterKey;
  let box: WebhookSecretBox;
  const endpoint = (id: string, sealedSecret: string, workspaceId = 'ws_1'): WebhookRecord => ({
    id,
    workspaceId,
    url: `https://hooks.example.com/${id}`,
    events: ['*'],
    sealedSecret,
    secretPath: null,
    createdAt: 1,
  });

  beforeEach(async () => {
    store = new MemoryStore();
    key = MasterKey.generate(random);
    box = new WebhookSecretBox(key, random);
    await ensureMasterKey(store, key, random, 1);
  });

  it('seals a secret so that only its own endpoint, under the same master key, opens it', () => {
    const sealed = box.seal('ws_1', 'wh_1', SECRET);

    expect(sealed).not.toContain(SECRET.slice('whsec_'.length, 20));
    expect(box.open('ws_1', 'wh_1', sealed)).toBe(SECRET);
    // Copied onto another endpoint or workspace, or opened with another key: an error, never garbage.
    expect(() => box.open('ws_1', 'wh_2', sealed)).toThrow(SealOpenError);
    expect(() => box.open('ws_2', 'wh_1', sealed)).toThrow(SealOpenError);
    expect(() =>
      new WebhookSecretBox(MasterKey.generate(random), random).open('ws_1', 'wh_1', sealed),
    ).toThrow(SealOpenError);
    const tampered = Buffer.from(sealed, 'base64');
    tampered[20] = (tampered[20] ?? 0) ^ 1;
    expect(() => box.open('ws_1', 'wh_1', tampered.toString('base64'))).toThrow(SealOpenError);
  });

  it('seals the plaintext secrets an earlier release stored, once', async () => {
    await store.insertWebhook(endpoint('wh_old', SECRET));
    await store.insertWebhook(endpoint('wh_new', box.seal('ws_1', 'wh_new', SECRET)));

    expect(await store.transaction((tx) => sealPlaintextWebhookSecrets(tx, box))).toBe(1);
    expect(await store.transaction((tx) => sealPlaintextWebhookSecrets(tx, box))).toBe(0);

    const old = await store.getWebhook('ws_1', 'wh_old');
    expect(old?.sealedSecret).not.toBe(SECRET);
    expect(box.open('ws_1', 'wh_old', old?.sealedSecret ?? '')).toBe(SECRET);
  });

  it('re-seals every signing secret in a master-key rotation, counted in its progress', async () => {
    await store.insertWebhook(endpoint('wh_1', box.seal('ws_1', 'wh_1', SECRET)));
    await store.insertWebhook(endpoint('wh_2', box.seal('ws_2', 'wh_2', `${SECRET}2`), 'ws_2'));
    const next = MasterKey.generate(random);
    const progress: { done: number; total: number }[] = [];

    await rotateMasterKey(store, key, next, random, 2, (p) => progress.push(p));

    expect(progress.at(-1)).toEqual({ done: 2, total: 2 });
    const after = new WebhookSecretBox(next, random);
    expect(after.open('ws_1', 'wh_1', (await store.getWebhook('ws_1', 'wh_1'))?.sealedSecret ?? '')).toBe(
      SECRET,
    );
    expect(after.open('ws_2', 'wh_2', (await store.getWebhook('ws_2', 'wh_2'))?.sealedSecret ?? '')).toBe(
      `${SECRET}2`,
    );
    const resealed = (await store.getWebhook('ws_1', 'wh_1'))?.sealedSecret ?? '';
    expect(() => box.open('ws_1', 'wh_1', resealed)).toThrow(SealOpenError);
  });

  it('stops a master-key rotation with nothing changed when a signing secret does not open', async () => {
    const good = box.seal('ws_1', 'wh_1', SECRET);
    await store.insertWebhook(endpoint('wh_1', good));
    await store.insertWebhook(endpoint('wh_2', box.seal('ws_1', 'wh_1', SECRET))); // moved from wh_1

    await expect(rotateMasterKey(store, key, MasterKey.generate(random), random, 2)).rejects.toThrow(
      /webhook wh_2 .*nothing was changed/,
    );
    expect((await store.getWebhook('ws_1', 'wh_1'))?.sealedSecret).toBe(good);
    expect(await ensureMasterKey(store, key, random, 3)).toBe('verified');
  });
});
