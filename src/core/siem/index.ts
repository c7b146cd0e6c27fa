export type { SiemExport, SiemKind } from './siem-export.js';
