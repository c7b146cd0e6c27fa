import { createHmac } from 'node:crypto';
import type { RandomSource } from '../crypto/index.js';

/** Standard Webhooks' prefix of a signing secret: `whsec_` + base64 of the key bytes. */
export const SECRET_PREFIX = 'whsec_';
const SECRET_BYTES = 32;

/** A new signing secret: `whsec_` + base64 of 32 random bytes (a 256-bit HMAC key). */
export function newWebhookSecret(random: RandomSource): string {
  return SECRET_PREFIX + Buffer.from(random(SECRET_BYTES)).toString('base64');
}

/**
 * The `webhook-signature` header of the Standard Webhooks spec: `v1,` + base64 of
 * HMAC-SHA256 over `${id}.${timestamp}.${body}`, keyed with the base64-decoded part of the
 * secret after `whsec_`. `timestamp` is in whole seconds, as sent in `webhook-timestamp`.
 */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(
    secret.startsWith(SECRET_PREFIX) ? secret.slice(SECRET_PREFIX.length) : secret,
    'base64',
  );
  const mac = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${mac}`;
}

/** The headers of one delivery attempt (the same `webhook-id` on every attempt). */
export function webhookHeaders(
  secret: string,
  id: string,
  timestamp: number,
  body: string,
): Record<string, string> {
  return {
    'content-type': 'application/json',
    'user-agent': 'Keyward-Webhooks/1',
    'webhook-id': id,
    'webhook-timestamp': String(timestamp),
    'webhook-signature': signWebhook(secret, id, timestamp, body),
  };
}
