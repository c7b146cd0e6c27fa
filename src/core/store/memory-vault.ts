import { UniqueViolation } from './store.js';
import type {
  SecretListFilter,
  SecretPatch,
  SecretRecord,
  SecretVersionMeta,
  SecretVersionRecord,
  VaultStoreOps,
  VersionPosition,
  WrappedKeyRef,
} from './vault-store.js';

/** The vault's rows in the memory store; part of its state, so transactions roll it back too. */
export interface VaultState {
  secrets: Map<string, SecretRecord>;
  versions: Map<string, SecretVersionRecord>;
  check: { value: string; at: number } | null;
}

export const emptyVaultState = (): VaultState => ({ secrets: new Map(), versions: new Map(), check: null });

const secretKey = (ws: string, path: string) => `${ws}\0${path}`;
const versionKey = (ws: string, path: string, v: number) => `${ws}\0${path}\0${v}`;
const clone = <T>(v: T): T => structuredClone(v);

function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function comparePosition(a: VersionPosition, b: VersionPosition): number {
  return compareText(a.workspaceId, b.workspaceId) || compareText(a.path, b.path) || a.version - b.version;
}

/** The memory implementation of the vault's store operations, over `state()` (read at each call). */
export function memoryVaultOps(state: () => VaultState): VaultStoreOps {
  return {
    async getSecret(ws, path) {
      const s = state().secrets.get(secretKey(ws, path));
      return s && clone(s);
    },
    async insertSecret(secret) {
      const k = secretKey(secret.workspaceId, secret.path);
      if (state().secrets.has(k)) throw new UniqueViolation('secret path');
      state().secrets.set(k, clone(secret));
    },
    async updateSecret(ws, path, patch: SecretPatch, guard) {
      const s = state().secrets.get(secretKey(ws, path));
      if (!s || (guard && s.latestVersion !== guard.latestVersion)) return false;
      Object.assign(s, clone(patch));
      return true;
    },
    async listSecrets(ws, f: SecretListFilter) {
      const prefix = f.prefix;
      const after = f.after;
      return [...state().secrets.values()]
        .filter(
          (s) =>
            s.workspaceId === ws &&
            (s.deletedAt !== null) === f.deleted &&
            (prefix === undefined || s.path === prefix || s.path.startsWith(`${prefix}/`)) &&
            (after === undefined ||
              s.createdAt < after.createdAt ||
              (s.createdAt === after.createdAt && s.path < after.path)),
        )
        .sort((a, b) => b.createdAt - a.createdAt || compareText(b.path, a.path))
        .slice(0, f.limit)
        .map(clone);
    },

    async insertSecretVersion(v) {
      const k = versionKey(v.workspaceId, v.path, v.version);
      if (state().versions.has(k)) throw new UniqueViolation('secret version');
      state().versions.set(k, clone(v));
    },
    async getSecretVersion(ws, path, version) {
      const v = state().versions.get(versionKey(ws, path, version));
      return v && clone(v);
    },
    async listSecretVersions(ws, paths) {
      const wanted = new Set(paths);
      const out: SecretVersionMeta[] = [];
      for (const v of state().versions.values()) {
        if (v.workspaceId !== ws || !wanted.has(v.path)) continue;
        const { ciphertext: _c, wrappedKey: _w, ...meta } = v;
        out.push(clone(meta));
      }
      return out.sort((a, b) => compareText(a.path, b.path) || a.version - b.version);
    },
    async deleteSecretVersions(ws, path, versions) {
      for (const v of versions) state().versions.delete(versionKey(ws, path, v));
    },
    async destroySecretVersion(ws, path, version, at) {
      const v = state().versions.get(versionKey(ws, path, version));
      if (!v || v.destroyedAt !== null) return false;
      Object.assign(v, { ciphertext: null, wrappedKey: null, destroyedAt: at });
      return true;
    },

    async listSecretsDueForRotation(now, limit) {
      return [...state().secrets.values()]
        .filter(
          (s) =>
            s.deletedAt === null &&
            s.currentVersion !== null &&
            s.rotationDueAt !== null &&
            s.rotationDueAt <= now &&
            s.rotationNotifiedVersion !== s.currentVersion,
        )
        .sort((a, b) => (a.rotationDueAt ?? 0) - (b.rotationDueAt ?? 0))
        .slice(0, limit)
        .map(clone);
    },
    async markSecretRotationNotified(ws, path, version) {
      const s = state().secrets.get(secretKey(ws, path));
      if (!s || s.currentVersion !== version || s.rotationNotifiedVersion === version) return false;
      s.rotationNotifiedVersion = version;
      return true;
    },

    async countWrappedKeys() {
      let n = 0;
      for (const v of state().versions.values()) if (v.wrappedKey !== null) n++;
      return n;
    },
    async scanWrappedKeys(after, limit) {
      const out: WrappedKeyRef[] = [];
      for (const v of state().versions.values()) {
        if (v.wrappedKey === null || (after && comparePosition(v, after) <= 0)) continue;
        out.push({ workspaceId: v.workspaceId, path: v.path, version: v.version, wrappedKey: v.wrappedKey });
      }
      return out.sort(comparePosition).slice(0, limit);
    },
    async updateWrappedKey(p, wrappedKey) {
      const v = state().versions.get(versionKey(p.workspaceId, p.path, p.version));
      if (v && v.wrappedKey !== null) v.wrappedKey = wrappedKey;
    },

    async getMasterKeyCheck() {
      return state().check?.value;
    },
    async insertMasterKeyCheck(value, at) {
      const s = state();
      if (s.check) return false;
      s.check = { value, at };
      return true;
    },
    async replaceMasterKeyCheck(value, at) {
      state().check = { value, at };
    },
  };
}
