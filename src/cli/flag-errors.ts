/**
 * The server's errors name API fields (`ttlSeconds`, or Fastify's
 * `querystring/ttlSeconds`); a person at the CLI typed flags. Each command says
 * which field came from which flag, and the message it prints names the flag.
 */
import { DroverError, isDroverError } from '../errors/index.ts';

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** `error` with every API field in its message replaced by the flag it came from. */
export function withFlagNames(error: unknown, fields: Record<string, string>): unknown {
  if (!isDroverError(error)) return error;
  let message = error.message;
  for (const [field, flag] of Object.entries(fields)) {
    message = message.replace(new RegExp(`(?:\\b(?:body|querystring|params)/)?\\b${escape(field)}\\b`, 'g'), flag);
  }
  return message === error.message ? error : new DroverError(error.code, message, { cause: error });
}

/** Awaits `work`; a failure's message names flags instead of API fields. */
export async function namingFlags<T>(fields: Record<string, string>, work: Promise<T>): Promise<T> {
  try {
    return await work;
  } catch (error) {
    throw withFlagNames(error, fields);
  }
}
