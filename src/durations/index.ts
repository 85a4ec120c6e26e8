/**
 * durations/: durations as people type them (`90s`, `15m`, `1h30m`; a plain number
 * is seconds), one parser for every TTL and grace flag, used by the CLI, the server
 * and the UI.
 */
export { DURATION_HINT, durationOption, formatDuration, parseDuration } from './duration.ts';
