/**
 * Drover's error vocabulary. Code throws a DroverError with a stable code; one
 * responder per surface (REST API JSON, Kubernetes Status for /k8s/clusters, the
 * CLI's one-line reason) turns it into an answer. `expose` says whether the message
 * may be shown to the caller: anything 5xx is logged, and the caller sees a
 * generic message, so internals stay inside.
 *
 * Every code is listed in docs/errors.md; errors.test.ts checks both directions.
 */

export const errorCodes = {
  DRV_ERR_INVALID_ARGUMENT: 400,
  DRV_ERR_BAD_REQUEST: 400,
  DRV_ERR_UNAUTHENTICATED: 401,
  DRV_ERR_TOKEN_EXPIRED: 401,
  DRV_ERR_FORBIDDEN: 403,
  DRV_ERR_USER_DISABLED: 403,
  DRV_ERR_PASSWORD_CHANGE_REQUIRED: 403,
  DRV_ERR_PRIVILEGE_ESCALATION: 403,
  DRV_ERR_NOT_FOUND: 404,
  DRV_ERR_LOGIN_EXPIRED: 410,
  DRV_ERR_CONFLICT: 409,
  DRV_ERR_PAYLOAD_TOO_LARGE: 413,
  DRV_ERR_MISDIRECTED: 421,
  DRV_ERR_UNPROCESSABLE: 422,
  DRV_ERR_ROLE_TEMPLATE_LOCKED: 422,
  DRV_ERR_TOO_MANY_REQUESTS: 429,
  DRV_ERR_INTERNAL: 500,
  DRV_ERR_BAD_GATEWAY: 502,
  DRV_ERR_CA_CHECKSUM_MISMATCH: 502,
  DRV_ERR_KUBE_API: 502,
  DRV_ERR_CLUSTER_UNAVAILABLE: 503,
  DRV_ERR_SESSION_CLOSED: 503,
  DRV_ERR_SERVER_UNAVAILABLE: 503,
  DRV_ERR_PROVIDER_UNAVAILABLE: 502,
  DRV_ERR_PROVISIONING_FAILED: 500,
  DRV_ERR_GATEWAY_TIMEOUT: 504,
} as const;

export type ErrorCode = keyof typeof errorCodes;

export class DroverError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  /** Whether `message` may be sent to the caller (never for 5xx). */
  readonly expose: boolean;
  /** Seconds the caller should wait before retrying, for 429 and 503. */
  readonly retryAfterSeconds: number | undefined;

  constructor(code: ErrorCode, message: string, options: { cause?: unknown; retryAfterSeconds?: number } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'DroverError';
    this.code = code;
    this.status = errorCodes[code];
    // Which downstream failed, and how, is what the caller needs to act on: those messages are shown.
    this.expose = this.status < 500 || code === 'DRV_ERR_CLUSTER_UNAVAILABLE' || code === 'DRV_ERR_BAD_GATEWAY' || code === 'DRV_ERR_PROVIDER_UNAVAILABLE'
      || code === 'DRV_ERR_GATEWAY_TIMEOUT';
    this.retryAfterSeconds = options.retryAfterSeconds;
  }
}

/** Thrown by constructors and option parsers: names the option and what was expected. */
export class InvalidArgumentError extends DroverError {
  constructor(option: string, expected: string, got?: unknown) {
    super('DRV_ERR_INVALID_ARGUMENT', `${option}: expected ${expected}${got === undefined ? '' : `, got ${JSON.stringify(got)}`}`);
    this.name = 'InvalidArgumentError';
  }
}

export function isDroverError(error: unknown): error is DroverError {
  return error instanceof DroverError;
}

/**
 * The HTTP status to answer a caller with. A hidden error answers as the 5xx its code
 * stands for: a KubeApiError keeps Kubernetes' own status (404, 409, ...) in `status`
 * for the code that handles it, but one that escapes is Drover's failure, answered as
 * a 502 with a generic message, never as a 4xx that names no reason.
 */
export function answerStatus(error: DroverError): number {
  return error.expose ? error.status : errorCodes[error.code];
}

/** The message a caller may see for any error. */
export function publicMessage(error: unknown): string {
  if (isDroverError(error) && error.expose) return error.message;
  return 'internal error; the server log has the details';
}
