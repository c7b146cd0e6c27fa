import { describe, expect, it } from 'vitest';
import { nextRefillAt, refillPeriodStart } from './refill.js';

const at = (iso: string) => Date.parse(iso);
const iso = (ms: number) => new Date(ms).toISOString();

describe('refillPeriodStart', () => {
  it('starts a daily period at midnight UTC', () => {
    expect(iso(refillPeriodStart({ amount: 1, interval: 'daily' }, at('2026-03-10T23:59:59.999Z')))).toBe(
      '2026-03-10T00:00:00.000Z',
    );
  });

  it('starts a monthly period on the 1st by default', () => {
    expect(iso(refillPeriodStart({ amount: 1, interval: 'monthly' }, at('2026-03-10T12:00:00Z')))).toBe(
      '2026-03-01T00:00:00.000Z',
    );
  });

  it('refills a 31st-of-the-month key on the last day of shorter months', () => {
    const r = { amount: 1, interval: 'monthly' as const, day: 31 };
    expect(iso(refillPeriodStart(r, at('2026-04-30T00:00:00Z')))).toBe('2026-04-30T00:00:00.000Z');
    expect(iso(refillPeriodStart(r, at('2026-04-29T23:59:59Z')))).toBe('2026-03-31T00:00:00.000Z');
    expect(iso(refillPeriodStart(r, at('2026-02-28T08:00:00Z')))).toBe('2026-02-28T00:00:00.000Z');
    expect(iso(refillPeriodStart(r, at('2028-02-29T08:00:00Z')))).toBe('2028-02-29T00:00:00.000Z');
    expect(iso(refillPeriodStart(r, at('2028-02-28T08:00:00Z')))).toBe('2028-01-31T00:00:00.000Z');
  });

  it('crosses the year boundary backwards', () => {
    const r = { amount: 1, interval: 'monthly' as const, day: 15 };
    expect(iso(refillPeriodStart(r, at('2027-01-10T00:00:00Z')))).toBe('2026-12-15T00:00:00.000Z');
  });
});

describe('nextRefillAt', () => {
  it('is the next midnight for daily refills and the next clamped refill day for monthly ones', () => {
    expect(iso(nextRefillAt({ amount: 1, interval: 'daily' }, at('2026-12-31T10:00:00Z')))).toBe(
      '2027-01-01T00:00:00.000Z',
    );
    expect(iso(nextRefillAt({ amount: 1, interval: 'monthly', day: 31 }, at('2026-01-31T10:00:00Z')))).toBe(
      '2026-02-28T00:00:00.000Z',
    );
    expect(iso(nextRefillAt({ amount: 1, interval: 'monthly', day: 31 }, at('2026-12-31T10:00:00Z')))).toBe(
      '2027-01-31T00:00:00.000Z',
    );
  });
});
