import { afterAll, describe } from 'vitest';
import { createSchema, postgresUrl, type TestSchema } from '../../../test/support/services.js';
import { describeAllStoreContracts } from '../../core/store/all.contract.js';
import { openPostgresStore } from './postgres.js';

const url = postgresUrl();
const schemas: TestSchema[] = [];

describe.skipIf(!url)('PostgreSQL store', () => {
  afterAll(async () => {
    // One at a time: each drop locks every table of its schema, and dropping dozens at once
    // exhausts PostgreSQL's shared lock table ("out of shared memory").
    for (const s of schemas) await s.drop();
  });
  // Each test runs in a schema of its own, so runs and tests never see each other's rows.
  describeAllStoreContracts('postgres', async () => {
    const schema = await createSchema(url ?? '');
    schemas.push(schema);
    return openPostgresStore(schema.url, { poolSize: 4 });
  });
});
