/**
 * certificates/: ECDSA P-256 certificate authorities and the leaf certificates they
 * sign, for the server's own TLS (server/tls.ts) and each provisioned cluster's CA
 * (provisioning/). One implementation, so both get the same key type, serials and
 * extensions.
 */
export { createCa, issueCertificate, coversHost, type KeyPair, type CertRequest } from './certificates.ts';
