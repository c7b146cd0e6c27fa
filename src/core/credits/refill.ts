import type { CreditRefill } from '../store/index.js';

const DAY_MS = 86_400_000;

function daysInMonth(year: number, month: number): number {
  return new Date(Date.UTC(year, month + 1, 0)).getUTCDate();
}

/** Midnight UTC of the refill day in a month, clamped to the month's last day (31 → 30 Apr, 28/29 Feb). */
function refillMoment(year: number, month: number, day: number): number {
  return Date.UTC(year, month, Math.min(day, daysInMonth(year, month)));
}

/**
 * The start of the refill period `now` falls in: the latest refill moment at or before `now`.
 * A balance last refilled before it is due for a refill. Daily refills happen at 00:00 UTC;
 * monthly ones at 00:00 UTC on `day` (default 1), or on the last day of a shorter month.
 */
export function refillPeriodStart(refill: CreditRefill, now: number): number {
  if (refill.interval === 'daily') return Math.floor(now / DAY_MS) * DAY_MS;
  const day = refill.day ?? 1;
  const d = new Date(now);
  const year = d.getUTCFullYear();
  const month = d.getUTCMonth();
  const thisMonth = refillMoment(year, month, day);
  if (now >= thisMonth) return thisMonth;
  return month === 0 ? refillMoment(year - 1, 11, day) : refillMoment(year, month - 1, day);
}

/** When the period after the one containing `now` starts: until then no refill can be due. */
export function nextRefillAt(refill: CreditRefill, now: number): number {
  if (refill.interval === 'daily') return refillPeriodStart(refill, now) + DAY_MS;
  const start = new Date(refillPeriodStart(refill, now));
  const year = start.getUTCFullYear();
  const month = start.getUTCMonth();
  return month === 11
    ? refillMoment(year + 1, 0, refill.day ?? 1)
    : refillMoment(year, month + 1, refill.day ?? 1);
}
