/**
 * tokens/: the Drover token format (`token-<id>:<secret>`), how a secret is
 * generated, hashed and compared in constant time, and how a token is read from
 * an Authorization header. Shared by the server's authenticator, kube-api-auth and the CLI.
 */
export { formatToken, generateToken, hashTokenSecret, parseToken, randomId, randomString, tokenFromAuthorization, tokenIdPrefix, tokenVerifier, verifyTokenSecret, type NewToken, type TokenParts } from './token.ts';
