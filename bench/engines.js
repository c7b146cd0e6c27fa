// Issue 3: HTTP verification on PostgreSQL + Redis against the same server on SQLite (warm cache),
// and verification with a cold cache (every request a key not yet cached) on both engines against
// the warm figure of the same engine. Every server is a child process; all targets run in
// alternating slices of one run.
import { join } from 'node:path';
import { createSchema, newMasterKey, REDIS_URL, serverEnv } from './backing.js';
import { loadWarnings, measureAlternating, startServer, verifyTarget } from './http-load.js';

const VALID = '"valid":true';

/**
 * A verify target; every answer must be VALID. `body` is one fixed body (warm: built once, as
 * cheap for the load generator as it gets); `nextBody` builds one per request (cold: a fresh key
 * each time, which costs autocannon about 5 µs more per request, small beside a cache miss).
 */
function checkedTarget(server, bodies, amount) {
  return verifyTarget(server, { ...bodies, expect: VALID, ...(amount ? { amount } : {}) });
}

/** Hands out each key once; past the end it sends a made-up key, which the run then reports. */
function coldBodies(keys) {
  let next = 0;
  const state = { sent: 0, exhausted: 0 };
  const body = () => {
    const key = keys[next++];
    if (key === undefined) {
      state.exhausted++;
      return '{"key":"kw_exhausted"}';
    }
    state.sent++;
    return JSON.stringify({ key });
  };
  return { body, state };
}

/**
 * @param {{ load: object, cold: { warmup: number, slice: number } | null, pg: boolean,
 *   skipPg?: string, profileDir?: string, log(line: string): void }} opts
 *   `cold` null: warm only; `pg` false: SQLite only (`skipPg` says why).
 */
export async function runEnginesBench({ load, cold, pg, profileDir, log }) {
  const servers = [];
  let schema;
  try {
    log('engines: starting Keyward on SQLite…');
    const sqlite = await startServer('keyward', {
      profileDir: profileDir && join(profileDir, 'sqlite'),
      options: { env: serverEnv() },
    });
    servers.push(sqlite);
    const engines = [{ name: 'SQLite', server: sqlite }];
    if (pg) {
      schema = await createSchema();
      log(`engines: starting Keyward on PostgreSQL (schema ${schema.name}) + Redis…`);
      const pgServer = await startServer('keyward', {
        profileDir: profileDir && join(profileDir, 'postgres'),
        options: {
          env: serverEnv({
            KEYWARD_DATABASE_URL: schema.url,
            KEYWARD_REDIS_URL: REDIS_URL,
            KEYWARD_MASTER_KEY: newMasterKey(),
          }),
        },
      });
      servers.push(pgServer);
      engines.push({ name: 'PostgreSQL', server: pgServer });
    }

    const targets = [];
    for (const e of engines) {
      // One verification first: the key answers VALID, and it is cached before anything is counted.
      const res = await fetch(`${e.server.url}/v1/keys/verify`, {
        method: 'POST',
        headers: { authorization: `Bearer ${e.server.rootKey}`, 'content-type': 'application/json' },
        body: JSON.stringify({ key: e.server.key }),
      });
      const answer = await res.json();
      if (res.status !== 200 || answer.valid !== true)
        throw new Error(`${e.name}: verify answered ${res.status} ${JSON.stringify(answer)}`);
      e.warm = targets.push(checkedTarget(e.server, { body: JSON.stringify({ key: e.server.key }) })) - 1;
    }
    if (cold) {
      const total = cold.warmup + load.slices * cold.slice;
      for (const e of engines) {
        log(`engines: inserting ${total.toLocaleString('en-US')} keys into ${e.name}…`);
        const { keys } = await e.server.command({ cmd: 'clones', count: total });
        e.coldKeys = coldBodies(keys);
        e.cacheBefore = (await e.server.command({ cmd: 'cacheSize' })).cacheSize;
        e.cold = targets.push(checkedTarget(e.server, { nextBody: e.coldKeys.body }, cold)) - 1;
      }
    }
    log(
      `engines: ${targets.length} targets; warm: ${load.warmupSeconds} s warm-up, then ${load.slices} alternating slices of ${load.sliceSeconds} s${cold ? `; cold: ${cold.warmup.toLocaleString('en-US')} requests warm-up, then slices of ${cold.slice.toLocaleString('en-US')} requests (each a fresh key)` : ''}…`,
    );
    const results = await measureAlternating(targets, load);
    for (const e of engines) {
      e.warmResult = results[e.warm];
      if (cold) {
        e.coldResult = results[e.cold];
        // Each cold request must have been a miss that loaded its key: the cache grows by one each.
        e.cacheGrowth = (await e.server.command({ cmd: 'cacheSize' })).cacheSize - e.cacheBefore;
      }
    }
    const warnings = loadWarnings(
      engines.flatMap((e) => [
        [`${e.name} warm`, e.warmResult],
        ...(cold ? [[`${e.name} cold`, e.coldResult]] : []),
      ]),
    );
    for (const e of engines) {
      if (!cold) continue;
      if (e.coldKeys.state.exhausted > 0)
        warnings.push(`WARNING ${e.name} cold: ran out of fresh keys ${e.coldKeys.state.exhausted} times`);
      if (e.cacheGrowth !== e.coldKeys.state.sent)
        warnings.push(
          `WARNING ${e.name} cold: ${e.coldKeys.state.sent} fresh keys sent but the cache grew by ${e.cacheGrowth}`,
        );
    }
    return { engines, warnings, schema: schema?.name };
  } finally {
    for (const s of servers) await s.stop();
    await schema?.drop();
  }
}
