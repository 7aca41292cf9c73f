export { NmeaParser, parseNmea, nmeaChecksum, nmeaCoordToDegrees, type NmeaParserOptions } from './nmea.js';
export { JsonlParser, parseJsonl, parseJsonlTs, detectTelemetryFormat, sniffTelemetryFormat } from './jsonl.js';
export {
  TelemetryTrack,
  parseAllLines,
  type TelemetryTrackOptions,
  type TelemetryLineParser,
  type TelemetryLineResult,
  type TelemetryParseResult,
} from './track.js';
export { TelemetryFeed, type TelemetryFeedOptions, type TelemetryFeedStats, type TelemetryFormat } from './feed.js';
