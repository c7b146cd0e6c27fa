export { noSiemExport, SIEM_KINDS, type SiemExport, type SiemKind } from './siem-export.js';
