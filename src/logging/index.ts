/**
 * logging/: the structured logger (pino): a constant message plus fields, the
 * level guide, and the readable text format for terminals. Loaded by the server,
 * the agent and kube-api-auth, never by the CLI's client verbs (they stay fast).
 */
export { createLogger, LOG_FORMATS, LOG_LEVELS, logFormatOption, logLevelOption, resolvedLogFormat, silentLogger, type LogFormat, type Logger, type LogLevel, type LogOptions, type LogSink } from './log.ts';
export { formatLogLine, textDestination } from './log-text.ts';
