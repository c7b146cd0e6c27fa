import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { auditView } from '../../core/audit/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeSeqCursor, pageOf } from '../pagination.js';
import { AuditEntry, AuditQuery, AuditVerification } from '../schemas/audit.js';
import { errors, Page } from '../schemas/common.js';

const tags = ['audit'];
const security = [{ rootKey: [] }];

export function auditRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.get(
      '/v1/audit',
      {
        schema: {
          tags,
          security,
          summary: 'List audit entries, newest first',
          description: 'Needs `audit.read`. `action=` matches exactly; `targetId=` selects one resource.',
          querystring: AuditQuery,
          response: { 200: Page(AuditEntry), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.audit.list(callContext(req), {
          action: req.query.action,
          targetId: req.query.targetId,
          beforeSeq: decodeSeqCursor(req.query.cursor),
          limit: limit + 1,
        });
        return pageOf(rows, limit, auditView, (e) => e.seq);
      },
    );

    app.get(
      '/v1/audit/verify',
      {
        schema: {
          tags,
          security,
          summary: 'Check the audit chain',
          description:
            'Needs `audit.read`. Recomputes every hash of the caller’s workspace chain; `firstBadSeq` names the first entry edited, deleted or relinked.',
          response: { 200: AuditVerification, ...errors() },
        },
      },
      async (req) => services.audit.verifyFor(callContext(req)),
    );
  };
}
