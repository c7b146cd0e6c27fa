import { afterAll, describe } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import { describeAlertStoreContract } from '../../core/store/alert.contract.js';
import { describeSchedulerStoreContract } from '../../core/store/scheduler.contract.js';
import { describeStoreContract } from '../../core/store/store.contract.js';
import { describeUsageStoreContract } from '../../core/store/usage.contract.js';
import { describeVaultStoreContract } from '../../core/store/vault.contract.js';
import { describeWebhookStoreContract } from '../../core/store/webhook.contract.js';
import { openPostgresStore } from './postgres.js';

const url = postgresUrl();
const schemas: TestSchema[] = [];

describe.skipIf(!url)('PostgreSQL store', () => {
  afterAll(async () => {
    // One at a time: each drop locks every table of its schema, and dropping dozens at once
    // exhausts PostgreSQL's shared lock table ("out of shared memory").
    for (const s of schemas) await s.drop();
  });
  describeStoreContract('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
  describeVaultStoreContract('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
  describeAlertStoreContract('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
  describeUsageStoreContract('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
  describeSchedulerStoreContract('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
  describeWebhookStoreContract('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
});
