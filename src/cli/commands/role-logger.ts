/**
 * The logger of a long-running role other than the server (`drover agent`, `drover kube-api-auth`):
 * they have no log flags, so `DROVER_LOG_LEVEL` and `DROVER_LOG_FORMAT` from the command's
 * environment choose. The server reads the same variables in src/server/config.ts, under its flags.
 */
import { createLogger, logFormatOption, logLevelOption, type Logger } from '../../logging/index.ts';

export function roleLogger(name: string, env: NodeJS.ProcessEnv): Logger {
  const level = logLevelOption('DROVER_LOG_LEVEL', env.DROVER_LOG_LEVEL);
  const format = logFormatOption('DROVER_LOG_FORMAT', env.DROVER_LOG_FORMAT);
  return createLogger({ name, ...(level ? { level } : {}), ...(format ? { format } : {}) });
}
