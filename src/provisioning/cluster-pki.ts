/**
 * Each provisioned cluster's own certificate authority. The server creates it at
 * `clusters create --custom`, keeps it encrypted (SecretBox) and signs every
 * certificate a node needs itself: the CA key never leaves the server, and a node
 * gets only the certificates of its own roles, for its own address.
 *
 * ECDSA P-256 throughout (etcd, kube-apiserver, the controller-manager, the
 * scheduler and the kubelet all take it); the CA lasts 10 years, leaf certificates
 * one year (an upgrade or a re-plan issues new ones).
 */
import { createPublicKey, generateKeyPairSync } from 'node:crypto';
import { createCa, issueCertificate as issue, type CertRequest, type KeyPair } from '../certificates/index.ts';

export type { KeyPair } from '../certificates/index.ts';

/** What the server keeps per cluster: the CA and the service-account signing key every control plane shares. */
export interface ClusterPki {
  ca: KeyPair;
  serviceAccountKeyPem: string;
}

export async function createClusterPki(clusterName: string): Promise<ClusterPki> {
  const serviceAccount = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    ca: await createCa(`drover-cluster-ca-${clusterName}@${Math.floor(Date.now() / 1000)}`, 3650),
    serviceAccountKeyPem: serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

/** A node certificate signed by the cluster CA, valid one year. */
export function issueCertificate(ca: KeyPair, request: Omit<CertRequest, 'validDays'>): Promise<KeyPair> {
  return issue(ca, { ...request, validDays: 365 });
}

/** The public half of the service-account key: kube-apiserver's --service-account-key-file reads only public keys (or certificates). */
export function publicKeyPem(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}
