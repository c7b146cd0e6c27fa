import { type Clock, toIsoOrNull } from '../clock/index.js';
import type { RandomSource } from '../crypto/index.js';
import { newId } from '../ids/index.js';
import type { ExpiryReminder, Store } from '../store/index.js';

const DAY = 86_400_000;
const BATCH = 100;
/** One run handles at most this many keys per reminder; the next run picks up the rest. */
const MAX_PER_RUN = 10_000;

/**
 * The reminders and the window each covers: `1d` for keys expiring within a day, `7d` for
 * keys expiring within a week but not within a day (a key created 3 days before its expiry
 * gets the 7-day reminder at once, then the 1-day one).
 */
const REMINDERS: readonly { reminder: ExpiryReminder; from: number; to: number }[] = [
  { reminder: '1d', from: 0, to: DAY },
  { reminder: '7d', from: DAY, to: 7 * DAY },
];

/**
 * Records `key.expiring` 7 days and 1 day before each active key's `expiresAt` — once each,
 * however many nodes run the check: the reminder row (unique per key, reminder and expiry,
 * inserted on conflict do nothing) and the event commit in one transaction, and only the node
 * whose insert counted records the event. A key whose expiry moves gets reminders for the new
 * date. Replaced keys (in a rotation's grace period) get none: their successor is out already.
 *
 * Returns how many reminders were recorded.
 */
export async function recordExpiringKeys(store: Store, clock: Clock, random: RandomSource): Promise<number> {
  const now = clock.now();
  let recorded = 0;
  for (const { reminder, from, to } of REMINDERS) {
    for (let seen = 0; seen < MAX_PER_RUN; ) {
      const keys = await store.listKeysExpiringBetween(now + from, now + to, reminder, BATCH);
      for (const key of keys) {
        const expiresAt = key.expiresAt;
        if (expiresAt === null) continue;
        const sent = await store.transaction(async (tx) => {
          if (!(await tx.insertExpiryReminder(key.id, reminder, expiresAt, now))) return false;
          await tx.recordEvent({
            id: newId('event', random),
            workspaceId: key.workspaceId,
            type: 'key.expiring',
            data: {
              keyId: key.id,
              keyspaceId: key.keyspaceId,
              start: key.start,
              name: key.name,
              ownerId: key.ownerId,
              expiresAt: toIsoOrNull(key.expiresAt),
              reminder,
            },
            createdAt: now,
          });
          return true;
        });
        if (sent) recorded++;
      }
      seen += keys.length;
      // Each key listed was reminded here or by another node, so it is not listed again.
      if (keys.length < BATCH) break;
    }
  }
  return recorded;
}
