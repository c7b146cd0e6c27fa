export {
  type BulkRevokeRequest,
  type IncidentReport,
  type KeyUsageSummary,
  Revocations,
  type TimelineEntry,
} from './revocations.js';
