/** Alerts' tables as Kysely sees them (see migration `0007_alerts`). JSON is text; booleans are 0/1. */
export interface AlertRulesTable {
  id: string;
  workspace_id: string;
  name: string;
  keyspace_id: string | null;
  key_id: string | null;
  condition: string;
  actions: string;
  cooldown_seconds: number;
  enabled: number;
  created_at: number;
  updated_at: number;
}

export interface AlertsTable {
  id: string;
  workspace_id: string;
  rule_id: string;
  key_id: string | null;
  subject: string;
  at: number;
  detail: string;
}

export interface AlertCountersTable {
  rule_id: string;
  subject: string;
  bucket: number;
  count: number;
  expires_at: number;
}

export interface AlertBaselinesTable {
  rule_id: string;
  subject: string;
  bucket: number;
  count: number;
  baseline: number;
  windows: number;
  version: number;
  updated_at: number;
}

export interface KeyNetworksTable {
  key_id: string;
  network: string;
  workspace_id: string;
  first_seen_at: number;
}

export interface AlertCooldownsTable {
  rule_id: string;
  subject: string;
  cooling_until: number;
}

export interface AlertTables {
  alert_rules: AlertRulesTable;
  alerts: AlertsTable;
  alert_counters: AlertCountersTable;
  alert_baselines: AlertBaselinesTable;
  key_networks: KeyNetworksTable;
  alert_cooldowns: AlertCooldownsTable;
}
