import { randomBytes } from 'node:crypto';
import { Webhook } from 'standardwebhooks';
import { describe, expect, it } from 'vitest';
import { newWebhookSecret, signWebhook, webhookHeaders } from './signature.js';

const random = (n: number) => randomBytes(n);

describe('webhook signatures', () => {
  it('makes secrets of whsec_ and base64 of 32 random bytes', () => {
    const secret = newWebhookSecret(random);

    expect(secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(secret.slice(6), 'base64')).toHaveLength(32);
    expect(newWebhookSecret(random)).not.toBe(secret);
  });

  it('signs exactly as the standardwebhooks package does', () => {
    const secret = newWebhookSecret(random);
    const body = JSON.stringify({
      type: 'key.revoked',
      timestamp: '2026-01-15T12:00:00.000Z',
      data: { a: 'ü' },
    });
    const at = new Date(Date.UTC(2026, 0, 15, 12, 0, 0));

    expect(signWebhook(secret, 'whd_abc', at.getTime() / 1000, body)).toBe(
      new Webhook(secret).sign('whd_abc', at, body),
    );
  });

  it('produces headers that the standardwebhooks package verifies', () => {
    const secret = newWebhookSecret(random);
    const body = JSON.stringify({
      type: 'credits.low',
      timestamp: new Date().toISOString(),
      data: { remaining: 3 },
    });

    const headers = webhookHeaders(secret, 'whd_xyz', Math.floor(Date.now() / 1000), body);

    expect(new Webhook(secret).verify(body, headers)).toEqual(JSON.parse(body));
    expect(headers['webhook-id']).toBe('whd_xyz');
    expect(headers['content-type']).toBe('application/json');
  });

  it('is refused by the package with another secret or another body', () => {
    const secret = newWebhookSecret(random);
    const body = '{"type":"key.created","timestamp":"2026-01-15T12:00:00.000Z","data":{}}';
    const headers = webhookHeaders(secret, 'whd_1', Math.floor(Date.now() / 1000), body);

    expect(() => new Webhook(newWebhookSecret(random)).verify(body, headers)).toThrow();
    expect(() => new Webhook(secret).verify(body.replace('created', 'deleted'), headers)).toThrow();
  });
});
