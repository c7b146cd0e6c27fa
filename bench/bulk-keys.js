// Many valid keys at once for the cold-cache benchmark. Creating them through the service (one
// transaction and one audit entry each) would take minutes on PostgreSQL, so this clones one key
// made by the service: same row, fresh id, plaintext, hash and start, in multi-row INSERTs on a
// connection of its own. The keys are real: the server finds and verifies them like any other.
import { join } from 'node:path';
import BetterSqlite3 from 'better-sqlite3';
import pg from 'pg';
import { secureRandom } from '../dist/core/crypto/index.js';
import { newId } from '../dist/core/ids/index.js';
import { generateKey } from '../dist/core/keys/key-format.js';

const BATCH = 1_000;

/** The template row with fresh identity; `lineage_id` is its own id, as for any new key. */
function clones(template, count) {
  const prefix = template.start.slice(0, template.start.lastIndexOf('_'));
  const now = Date.now();
  const rows = [];
  const plaintexts = [];
  for (let i = 0; i < count; i++) {
    const g = generateKey(prefix, secureRandom);
    const id = newId('key');
    rows.push({
      ...template,
      id,
      hash: g.hash,
      start: g.start,
      name: null,
      lineage_id: id,
      created_at: now,
      updated_at: now,
    });
    plaintexts.push(g.key);
  }
  return { rows, plaintexts };
}

/**
 * Inserts `count` clones of key `templateId` into the store of `config` (SQLite or PostgreSQL)
 * and returns their plaintexts.
 * @param {{ dataDir: string, databaseUrl?: string }} config
 */
export async function insertKeyClones(config, templateId, count) {
  if (config.databaseUrl === undefined) {
    const db = new BetterSqlite3(join(config.dataDir, 'keyward.db'));
    try {
      db.pragma('busy_timeout = 5000');
      const template = db.prepare('select * from keys where id = ?').get(templateId);
      if (!template) throw new Error(`template key ${templateId} not found`);
      const { rows, plaintexts } = clones(template, count);
      const columns = Object.keys(template);
      const insert = db.prepare(
        `insert into keys (${columns.join(', ')}) values (${columns.map((c) => `@${c}`).join(', ')})`,
      );
      db.transaction(() => {
        for (const r of rows) insert.run(r);
      })();
      return plaintexts;
    } finally {
      db.close();
    }
  }
  const client = new pg.Client({ connectionString: config.databaseUrl });
  await client.connect();
  try {
    const { rows: found } = await client.query('select * from keys where id = $1', [templateId]);
    const template = found[0];
    if (!template) throw new Error(`template key ${templateId} not found`);
    const { rows, plaintexts } = clones(template, count);
    const columns = Object.keys(template);
    for (let at = 0; at < rows.length; at += BATCH) {
      const batch = rows.slice(at, at + BATCH);
      const values = [];
      const tuples = batch.map((r, i) => {
        for (const c of columns) values.push(r[c]);
        return `(${columns.map((_, j) => `$${i * columns.length + j + 1}`).join(', ')})`;
      });
      await client.query(`insert into keys (${columns.join(', ')}) values ${tuples.join(', ')}`, values);
    }
    // Fresh statistics, so the planner sees the table as it now is (as it would in production).
    await client.query('analyze keys');
    return plaintexts;
  } finally {
    await client.end();
  }
}
