/**
 * Server settings for kubeconfig tokens, read once at startup and checked then:
 *   DROVER_KUBECONFIG_TOKEN_TTL_SECONDS      default lifetime (default 30 days)
 *   DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS  the most a caller may ask for (default 90 days)
 *   DROVER_KUBECONFIG_GENERATE_TOKEN         "false": kubeconfigs use `drover token` instead of a token
 */
import { InvalidArgumentError } from '../shared/errors.ts';

export interface KubeconfigSettings {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  generateToken: boolean;
}

function seconds(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new InvalidArgumentError(name, 'a positive whole number of seconds', raw);
  return value;
}

export function kubeconfigSettingsFromEnv(env: NodeJS.ProcessEnv): KubeconfigSettings {
  const maxTtlSeconds = seconds(env, 'DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS', 90 * 24 * 3600);
  const defaultTtlSeconds = seconds(env, 'DROVER_KUBECONFIG_TOKEN_TTL_SECONDS', Math.min(30 * 24 * 3600, maxTtlSeconds));
  if (defaultTtlSeconds > maxTtlSeconds) {
    throw new InvalidArgumentError('DROVER_KUBECONFIG_TOKEN_TTL_SECONDS', `at most DROVER_KUBECONFIG_TOKEN_MAX_TTL_SECONDS (${maxTtlSeconds})`, defaultTtlSeconds);
  }
  const generate = env.DROVER_KUBECONFIG_GENERATE_TOKEN ?? 'true';
  if (generate !== 'true' && generate !== 'false') throw new InvalidArgumentError('DROVER_KUBECONFIG_GENERATE_TOKEN', '"true" or "false"', generate);
  return { defaultTtlSeconds, maxTtlSeconds, generateToken: generate === 'true' };
}
