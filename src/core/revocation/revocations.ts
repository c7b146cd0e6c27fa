import type { AuditLog } from '../audit/index.js';
import { type CacheBus, MAX_HASHES_PER_MESSAGE } from '../cache-bus/index.js';
import type { Clock } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { invalid, KeywardError, notFound } from '../errors/index.js';
import { newId } from '../ids/index.js';
import { type CallContext, denied } from '../root-keys/index.js';
import type { EventRecord, IncidentRecord, Store, UsageEventRecord } from '../store/index.js';

export interface BulkRevokeRequest {
  filter: { keyspaceId?: string; ownerId?: string; createdBefore?: number; createdAfter?: number };
  reason: string;
}

export interface TimelineEntry {
  at: number;
  keyId: string | null;
  /** `incident.declared`, `key.revoked`, `key.verified`, `incident.note`, `incident.closed`. */
  event: string;
  detail: Record<string, unknown>;
}

export interface KeyUsageSummary {
  keyId: string;
  firstUsedAt: number | null;
  lastUsedAt: number | null;
  verifications: number;
  failures: number;
  distinctIps: number;
  /** Verifications after the revocation: someone still holds and tries the key. */
  attemptsAfterRevocation: number;
}

export interface IncidentReport {
  incident: IncidentRecord;
  timeline: TimelineEntry[];
  /** True when the window held more usage events than the timeline shows. */
  truncated: boolean;
  keys: KeyUsageSummary[];
}

const WINDOW_MS = 3_600_000;
const TIMELINE_LIMIT = 5_000;

/**
 * Emergency revocation as a procedure: identify (the filter), revoke (one transaction, every
 * node invalidated), notify (`key.revoked` per key in the outbox), investigate (the incident,
 * its timeline from usage events, notes, closing).
 */
export class Revocations {
  constructor(
    private readonly store: Store,
    private readonly audit: AuditLog,
    private readonly bus: CacheBus,
    private readonly clock: Clock,
    private readonly random: RandomSource,
  ) {}

  async revokeMany(
    ctx: CallContext,
    req: BulkRevokeRequest,
  ): Promise<{ revoked: number; incidentId: string }> {
    const { principal } = ctx;
    const f = req.filter;
    if (f.keyspaceId === undefined && f.ownerId === undefined)
      throw invalid('/filter', 'needs at least keyspaceId or ownerId');
    if (f.keyspaceId !== undefined) {
      if (!(await this.store.getKeyspace(principal.workspaceId, f.keyspaceId)))
        throw notFound('keyspace', f.keyspaceId);
      if (!principal.permissions.hasFor('keys.revoke', f.keyspaceId)) throw denied('keys.revoke');
    } else if (!principal.permissions.has('keys.revoke')) {
      throw denied('keys.revoke');
    }
    const now = this.clock.now();
    const incidentId = newId('incident', this.random);
    const revoked = await this.store.transaction(async (tx) => {
      const refs = await tx.bulkRevokeKeys({ workspaceId: principal.workspaceId, ...f }, now, req.reason);
      await tx.insertIncident({
        id: incidentId,
        workspaceId: principal.workspaceId,
        reason: req.reason,
        actor: principal.rootKeyId,
        keyIds: refs.map((r) => r.id),
        filter: { ...f },
        status: 'open',
        notes: [],
        createdAt: now,
        closedAt: null,
      });
      const events: EventRecord[] = refs.map((r) => ({
        id: newId('event', this.random),
        workspaceId: principal.workspaceId,
        type: 'key.revoked',
        data: { keyId: r.id, keyspaceId: r.keyspaceId, ownerId: r.ownerId, reason: req.reason, incidentId },
        createdAt: now,
      }));
      await tx.recordEvents(events);
      await this.audit.append(tx, {
        workspaceId: principal.workspaceId,
        actor: principal.rootKeyId,
        ip: ctx.ip,
        action: 'incident.created',
        targetType: 'incident',
        targetId: incidentId,
        data: { reason: req.reason, filter: { ...f }, revoked: refs.length },
      });
      return refs;
    });
    for (let i = 0; i < revoked.length; i += MAX_HASHES_PER_MESSAGE) {
      await this.bus.publish({
        kind: 'keys',
        hashes: revoked.slice(i, i + MAX_HASHES_PER_MESSAGE).map((r) => r.hash),
      });
    }
    return { revoked: revoked.length, incidentId };
  }

  async get(ctx: CallContext, id: string): Promise<IncidentReport> {
    const incident = await this.store.getIncident(ctx.principal.workspaceId, id);
    if (!incident) throw notFound('incident', id);
    if (!ctx.principal.permissions.has('audit.read')) throw denied('audit.read');
    return this.report(incident);
  }

  private async report(incident: IncidentRecord): Promise<IncidentReport> {
    const events = await this.store.usageEventsOfKeys(
      incident.workspaceId,
      incident.keyIds,
      incident.createdAt - WINDOW_MS,
      incident.createdAt + WINDOW_MS,
      TIMELINE_LIMIT + 1,
    );
    const truncated = events.length > TIMELINE_LIMIT;
    const shown = events.slice(0, TIMELINE_LIMIT);
    const timeline: TimelineEntry[] = [
      ...shown.map((e) => ({
        at: e.at,
        keyId: e.keyId,
        event: 'key.verified',
        detail: { code: e.code, ip: e.ip, origin: e.origin, resource: e.resource },
      })),
      {
        at: incident.createdAt,
        keyId: null,
        event: 'incident.declared',
        detail: { reason: incident.reason, actor: incident.actor, revoked: incident.keyIds.length },
      },
      ...incident.keyIds.map((keyId) => ({
        at: incident.createdAt,
        keyId,
        event: 'key.revoked',
        detail: {},
      })),
      ...incident.notes.map((n) => ({
        at: n.at,
        keyId: null,
        event: 'incident.note',
        detail: { actor: n.actor, text: n.text },
      })),
      ...(incident.closedAt !== null
        ? [{ at: incident.closedAt, keyId: null, event: 'incident.closed', detail: {} }]
        : []),
    ].sort((a, b) => a.at - b.at);
    return { incident, timeline, truncated, keys: summarize(incident, shown) };
  }

  async update(
    ctx: CallContext,
    id: string,
    patch: { note?: string | undefined; status?: 'open' | 'closed' | undefined },
  ): Promise<IncidentReport> {
    const { principal } = ctx;
    const updated = await this.store.transaction(async (tx) => {
      const incident = await tx.getIncident(principal.workspaceId, id);
      if (!incident) throw notFound('incident', id);
      // A root key narrowed to one keyspace may handle incidents of that keyspace.
      const scope = typeof incident.filter.keyspaceId === 'string' ? incident.filter.keyspaceId : null;
      const allowed = scope
        ? principal.permissions.hasFor('keys.revoke', scope)
        : principal.permissions.has('keys.revoke');
      if (!allowed) throw denied('keys.revoke');
      if (incident.status === 'closed' && patch.status !== 'open' && patch.note !== undefined)
        throw new KeywardError('CONFLICT', `Incident ${id} is closed; reopen it to add notes`);
      // Closing a closed incident (or reopening an open one) with no note changes nothing, so
      // it writes nothing: no second `incident.closed` in the audit log.
      if ((patch.status === undefined || patch.status === incident.status) && patch.note === undefined)
        return incident;
      const now = this.clock.now();
      const notes =
        patch.note !== undefined
          ? [...incident.notes, { at: now, actor: principal.rootKeyId, text: patch.note }]
          : undefined;
      const closedAt =
        patch.status === 'closed' && incident.status !== 'closed'
          ? now
          : patch.status === 'open'
            ? null
            : undefined;
      await tx.updateIncident(principal.workspaceId, id, { status: patch.status, notes, closedAt });
      await this.audit.append(tx, {
        workspaceId: principal.workspaceId,
        actor: principal.rootKeyId,
        ip: ctx.ip,
        action: patch.status === 'closed' ? 'incident.closed' : 'incident.updated',
        targetType: 'incident',
        targetId: id,
        data: { status: patch.status ?? incident.status, noteAdded: patch.note !== undefined },
      });
      return {
        ...incident,
        ...(patch.status !== undefined ? { status: patch.status } : {}),
        ...(notes !== undefined ? { notes } : {}),
        ...(closedAt !== undefined ? { closedAt } : {}),
      };
    });
    return this.report(updated);
  }
}

function summarize(incident: IncidentRecord, events: readonly UsageEventRecord[]): KeyUsageSummary[] {
  const byKey = new Map<string, UsageEventRecord[]>();
  for (const e of events) {
    if (e.keyId === null) continue;
    const list = byKey.get(e.keyId) ?? [];
    list.push(e);
    byKey.set(e.keyId, list);
  }
  return [...byKey.entries()].map(([keyId, list]) => ({
    keyId,
    firstUsedAt: list[0]?.at ?? null,
    lastUsedAt: list[list.length - 1]?.at ?? null,
    verifications: list.length,
    failures: list.filter((e) => e.code !== 'VALID').length,
    distinctIps: new Set(list.map((e) => e.ip).filter((ip) => ip !== null)).size,
    attemptsAfterRevocation: list.filter((e) => e.at > incident.createdAt).length,
  }));
}
