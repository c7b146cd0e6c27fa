export {
  SiemExporter,
  type SiemExporterOptions,
  type SiemLogger,
  type SiemOutcome,
  type SiemStats,
} from './siem-exporter.js';
export {
  parseSiemSinks,
  type ResolvedSink,
  resolveSiemSinks,
  SiemConfigError,
  type SinkSpec,
  type SinkType,
} from './sink-spec.js';
