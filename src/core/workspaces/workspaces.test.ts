import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../server/config.js';
import { buildServices, type Services } from '../../server/services.js';
import { ManualClock } from '../clock/index.js';
import { MemoryStore } from '../store/index.js';

/**
 * A store on which another node's bootstrap commits between this node's "is the store empty?"
 * and its insert: what PostgreSQL's read committed allows two nodes starting at once.
 */
class LateCommitStore extends MemoryStore {
  looksEmpty = false;
  override async countWorkspaces(): Promise<number> {
    return this.looksEmpty ? 0 : super.countWorkspaces();
  }
}

describe('Workspaces.bootstrap', () => {
  const dirs: string[] = [];
  const opened: Services[] = [];
  afterEach(async () => {
    for (const s of opened.splice(0)) await s.close();
    for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
  });

  /** Services on `store`; nodes of one store share their data directory (its master key). */
  async function services(store: MemoryStore, dir = newDir()): Promise<Services> {
    const s = await buildServices(loadConfig({ data: dir }, {}), {
      store,
      clock: new ManualClock(Date.UTC(2026, 0, 15)),
    });
    opened.push(s);
    return s;
  }
  function newDir(): string {
    const dir = mkdtempSync(join(tmpdir(), 'keyward-workspaces-'));
    dirs.push(dir);
    return dir;
  }

  it('creates the default workspace and one root key with every permission, once', async () => {
    const store = new MemoryStore();
    const s = await services(store);
    const first = await s.workspaces.bootstrap();
    expect(first?.workspace.name).toBe('default');
    expect(first?.key).toMatch(/^kw_root_/);
    expect(await s.workspaces.bootstrap()).toBeNull();
    expect(await store.listRootKeys(first?.workspace.id as string, { limit: 10 })).toHaveLength(1);
  });

  it('yields to a node that bootstrapped after this one found the store empty: no second root key', async () => {
    const store = new LateCommitStore();
    const dir = newDir();
    const other = await services(store, dir);
    const s = await services(store, dir);
    const won = await other.workspaces.bootstrap();
    expect(won).not.toBeNull();

    store.looksEmpty = true;
    expect(await s.workspaces.bootstrap()).toBeNull();
    store.looksEmpty = false;

    expect(await store.countWorkspaces()).toBe(1);
    const keys = await store.listRootKeys(won?.workspace.id as string, { limit: 10 });
    expect(keys.map((k) => k.name)).toEqual(['bootstrap']);
  });
});
