/**
 * errors/: `DroverError` with its stable `DRV_ERR_*` code, HTTP status and `expose`,
 * the one registry of codes (docs/errors.md lists them, a test checks both ways), and
 * `InvalidArgumentError` for options checked at construction. Every folder throws
 * these; http/ answers them.
 */
export { answerStatus, DroverError, errorCodes, InvalidArgumentError, isDroverError, publicMessage, type ErrorCode } from './errors.ts';
