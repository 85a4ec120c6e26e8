/**
 * certificates/: ECDSA P-256 certificate authorities and the leaves they sign.
 * Knows nothing of where keys are kept: callers store them (the data dir for the
 * server's CA, the database, encrypted, for the replicas' peer CA).
 */
export { createAuthority, issueCertificate, coversHost, type KeyPair, type LeafSpec } from './authority.ts';
