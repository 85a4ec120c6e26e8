/**
 * The schemas every route family shares, whichever folder serves it: the error body
 * (`{code, message}`, answered by errors.ts) and the error responses an
 * authenticated route can give, for the OpenAPI document.
 */
import { Type } from 'typebox';

export const ErrorBody = Type.Object({
  code: Type.String({ description: 'stable DRV_ERR_* code, see docs/errors.md' }),
  message: Type.String(),
});

/** Error responses every authenticated route can give, for the OpenAPI document. */
export const authErrors = {
  400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 429: ErrorBody, 500: ErrorBody,
} as const;
