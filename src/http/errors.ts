/**
 * The one place REST errors are answered: every thrown DroverError, Fastify
 * validation/parse error and unknown error becomes `{code, message}` with the
 * right status. 5xx details stay in the log (error level) under the request id;
 * 4xx are logged at info. Raw handlers (the proxy) reuse `errorBody`.
 */
import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { answerStatus, DroverError, isDroverError, publicMessage, type ErrorCode } from '../errors/index.ts';

const fastifyErrors: Record<string, [ErrorCode, string]> = {
  FST_ERR_CTP_BODY_TOO_LARGE: ['DRV_ERR_PAYLOAD_TOO_LARGE', 'request body is too large'],
  FST_ERR_CTP_INVALID_MEDIA_TYPE: ['DRV_ERR_BAD_REQUEST', 'unsupported Content-Type: send application/json'],
  FST_ERR_CTP_EMPTY_JSON_BODY: ['DRV_ERR_BAD_REQUEST', 'empty JSON body: send a JSON object'],
  FST_ERR_CTP_INVALID_JSON_BODY: ['DRV_ERR_BAD_REQUEST', 'malformed JSON body'],
};

export interface ErrorBodyShape { code: ErrorCode; message: string }

/** Any error as a DroverError: Fastify's own errors get their matching code. */
export function toDroverError(error: unknown): DroverError {
  if (isDroverError(error)) return error;
  const fe = error as Partial<FastifyError> & { validation?: unknown };
  if (fe.validation !== undefined) {
    return new DroverError('DRV_ERR_BAD_REQUEST', `invalid request: ${fe.message ?? 'does not match the schema'}`);
  }
  const known = fe.code === undefined ? undefined : fastifyErrors[fe.code];
  if (known) return new DroverError(known[0], known[1]);
  if (error instanceof SyntaxError) return new DroverError('DRV_ERR_BAD_REQUEST', 'malformed JSON body');
  const status = typeof fe.statusCode === 'number' ? fe.statusCode : 500;
  if (status === 413) return new DroverError('DRV_ERR_PAYLOAD_TOO_LARGE', 'request body is too large');
  if (status >= 400 && status < 500) return new DroverError('DRV_ERR_BAD_REQUEST', `bad request: ${fe.message ?? 'rejected'}`);
  return new DroverError('DRV_ERR_INTERNAL', error instanceof Error ? error.message : String(error), { cause: error });
}

export function errorBody(error: DroverError): ErrorBodyShape {
  return { code: error.expose ? error.code : 'DRV_ERR_INTERNAL', message: publicMessage(error) };
}

export async function sendError(request: FastifyRequest, reply: FastifyReply, error: unknown): Promise<void> {
  const drover = toDroverError(error);
  const status = answerStatus(drover);
  if (status >= 500) request.log.error({ err: error, code: drover.code }, 'request failed');
  else request.log.info({ code: drover.code, status }, 'request refused');
  if (drover.retryAfterSeconds !== undefined) void reply.header('retry-after', String(drover.retryAfterSeconds));
  if (status === 401) void reply.header('www-authenticate', 'Bearer realm="drover"');
  await reply.status(status).type('application/json; charset=utf-8').send(errorBody(drover));
}

export function installErrorHandling(app: FastifyInstance): void {
  app.setErrorHandler(async (error, request, reply) => sendError(request, reply, error));
  app.setNotFoundHandler(async (request, reply) => sendError(request, reply,
    new DroverError('DRV_ERR_NOT_FOUND', `no route ${request.method} ${(request.url.split('?')[0] ?? '').slice(0, 200)}`)));
}
