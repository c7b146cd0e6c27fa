/** Webhooks' tables as Kysely sees them (see migration `0006_webhooks`). */
export interface WebhooksTable {
  id: string;
  workspace_id: string;
  url: string;
  /** JSON array of event types. */
  events: string;
  /** The sealed signing secret (`sealedSecret`); the column name predates the sealing. */
  secret: string;
  /** Migration 0010: the secret whose `rotation.webhook` this endpoint is, or null. */
  secret_path: string | null;
  created_at: number;
}

export interface WebhookDeliveriesTable {
  id: string;
  workspace_id: string;
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: string;
  attempts: number;
  next_attempt_at: number | null;
  last_attempt_at: number | null;
  last_response_code: number | null;
  last_error: string | null;
  delivered_at: number | null;
  /** The node holding the delivery while it attempts it, and until when (multi-node dispatch). */
  leased_by: string | null;
  leased_until: number | null;
  created_at: number;
  updated_at: number;
}

/** One row per `key.expiring` reminder recorded: unique (key, reminder, expiry). */
export interface KeyExpiryRemindersTable {
  key_id: string;
  reminder: string;
  expires_at: number;
  created_at: number;
}

export interface WebhookTables {
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  key_expiry_reminders: KeyExpiryRemindersTable;
}
