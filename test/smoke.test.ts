import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { type Harness, harness } from './support/harness.js';

describe('smoke', () => {
  let h: Harness;
  beforeEach(async () => {
    h = await harness();
  });
  afterEach(async () => h.close());

  it('issues a key and verifies it as VALID', async () => {
    const ks = await h.call('POST', '/v1/keyspaces', { name: 'api' });
    expect(ks.status).toBe(201);
    const key = await h.call('POST', `/v1/keyspaces/${ks.body.id}/keys`, { ownerId: 'u1' });
    expect(key.status).toBe(201);
    const v = await h.call('POST', '/v1/keys/verify', { key: key.body.key });
    expect(v.body).toMatchObject({ valid: true, code: 'VALID', ownerId: 'u1' });
  });
});
