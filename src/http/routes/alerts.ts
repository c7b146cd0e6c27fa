import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Type } from 'typebox';
import { toIso } from '../../core/clock/index.js';
import type { AlertRecord, AlertRuleRecord } from '../../core/store/index.js';
import type { Services } from '../../server/services.js';
import { callContext } from '../auth.js';
import { decodeTimeCursor, pageOf } from '../pagination.js';
import {
  Alert,
  AlertRule,
  AlertRuleCreate,
  AlertRuleParams,
  AlertRuleUpdate,
  AlertsQuery,
} from '../schemas/alerts.js';
import { errors, Page, PageQuery } from '../schemas/common.js';

export function alertRuleView(r: AlertRuleRecord) {
  return {
    id: r.id,
    name: r.name,
    keyspaceId: r.keyspaceId,
    keyId: r.keyId,
    condition: r.condition,
    actions: r.actions,
    cooldownSeconds: r.cooldownSeconds,
    enabled: r.enabled,
    createdAt: toIso(r.createdAt),
    updatedAt: toIso(r.updatedAt),
  };
}

export function alertView(a: AlertRecord) {
  return { id: a.id, ruleId: a.ruleId, keyId: a.keyId, at: toIso(a.at), detail: a.detail };
}

const tags = ['alerts'];
const security = [{ rootKey: [] }];
const RULES = 'Needs `alerts.write`.';

export function alertRoutes(services: Services): FastifyPluginAsyncTypebox {
  return async (app) => {
    app.post(
      '/v1/alert-rules',
      {
        schema: {
          tags,
          security,
          summary: 'Create an alert rule',
          description: `${RULES} Scoped to a key (\`keyId\`), a keyspace (\`keyspaceId\`) or, with neither, the whole workspace. Actions \`disable\` and \`rotate\` also need \`keys.update\` / \`keys.rotate\` over that scope. Conditions, windows and cool-downs: docs/monitoring.md.`,
          body: AlertRuleCreate,
          response: { 201: AlertRule, ...errors() },
        },
      },
      async (req, reply) => {
        const rule = await services.alertRules.create(callContext(req), req.body);
        return reply.code(201).send(alertRuleView(rule));
      },
    );

    app.get(
      '/v1/alert-rules',
      {
        schema: {
          tags,
          security,
          summary: 'List alert rules, newest first',
          description: RULES,
          querystring: Type.Object(PageQuery, { additionalProperties: false }),
          response: { 200: Page(AlertRule), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const rows = await services.alertRules.list(callContext(req), {
          limit: limit + 1,
          after: decodeTimeCursor(req.query.cursor),
        });
        return pageOf(rows, limit, alertRuleView, (r) => [r.createdAt, r.id]);
      },
    );

    app.get(
      '/v1/alert-rules/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Get an alert rule',
          description: RULES,
          params: AlertRuleParams,
          response: { 200: AlertRule, ...errors() },
        },
      },
      async (req) => alertRuleView(await services.alertRules.get(callContext(req), req.params.id)),
    );

    app.patch(
      '/v1/alert-rules/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Rename, enable or disable an alert rule, or change its cool-down',
          description: `${RULES} A condition or actions cannot change: create a new rule.`,
          params: AlertRuleParams,
          body: AlertRuleUpdate,
          response: { 200: AlertRule, ...errors() },
        },
      },
      async (req) =>
        alertRuleView(await services.alertRules.update(callContext(req), req.params.id, req.body)),
    );

    app.delete(
      '/v1/alert-rules/:id',
      {
        schema: {
          tags,
          security,
          summary: 'Delete an alert rule',
          description: `${RULES} Its fired alerts stay listed.`,
          params: AlertRuleParams,
          response: { 204: Type.Null({ description: 'Deleted' }), ...errors() },
        },
      },
      async (req, reply) => {
        await services.alertRules.delete(callContext(req), req.params.id);
        return reply.code(204).send(null);
      },
    );

    app.get(
      '/v1/alerts',
      {
        schema: {
          tags,
          security,
          summary: 'List fired alerts, newest first',
          description:
            'Needs `usage.read` (alerts are monitoring data, like usage). Filter by `ruleId` and `keyId`.',
          querystring: AlertsQuery,
          response: { 200: Page(Alert), ...errors() },
        },
      },
      async (req) => {
        const limit = req.query.limit ?? 20;
        const after = decodeTimeCursor(req.query.cursor);
        const rows = await services.alertRules.listAlerts(callContext(req), {
          ruleId: req.query.ruleId,
          keyId: req.query.keyId,
          after: after && { at: after.createdAt, id: after.id },
          limit: limit + 1,
        });
        return pageOf(rows, limit, alertView, (a) => [a.at, a.id]);
      },
    );
  };
}
