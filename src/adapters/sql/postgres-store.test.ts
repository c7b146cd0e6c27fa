import { afterAll, describe } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import { describeAlertStoreContract } from '../../core/store/alert.contract.js';
import { describeStoreContract } from '../../core/store/store.contract.js';
import { describeUsageStoreContract } from '../../core/store/usage.contract.js';
import { describeVaultStoreContract } from '../../core/store/vault.contract.js';
import { openPostgresStore } from './postgres.js';

const url = postgresUrl();
const schemas: TestSchema[] = [];

describe.skipIf(!url)('PostgreSQL store', () => {
  afterAll(async () => {
    await Promise.all(schemas.map((s) => s.drop()));
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
});
