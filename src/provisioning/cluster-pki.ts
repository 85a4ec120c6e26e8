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
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 24 * 3600 * 1000;

export interface KeyPair { certPem: string; keyPem: string }

/** What the server keeps per cluster: the CA and the service-account signing key every control plane shares. */
export interface ClusterPki {
  ca: KeyPair;
  serviceAccountKeyPem: string;
}

export interface CertRequest {
  commonName: string;
  organization?: string;
  /** DNS names and IP addresses (told apart by their form). */
  hosts?: string[];
  usage: 'server' | 'client' | 'peer';
}

function serial(): string {
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function exportKey(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

export async function createClusterPki(clusterName: string): Promise<ClusterPki> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=drover-cluster-ca-${clusterName}@${Math.floor(now / 1000)}`,
    notBefore: new Date(now - day),
    notAfter: new Date(now + 3650 * day),
    signingAlgorithm: algorithm,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  const serviceAccount = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  return {
    ca: { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) },
    serviceAccountKeyPem: serviceAccount.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
  };
}

const usages: Record<CertRequest['usage'], x509.ExtendedKeyUsage[]> = {
  server: [x509.ExtendedKeyUsage.serverAuth],
  client: [x509.ExtendedKeyUsage.clientAuth],
  // etcd peers dial each other and serve each other with the same certificate.
  peer: [x509.ExtendedKeyUsage.serverAuth, x509.ExtendedKeyUsage.clientAuth],
};

/** A leaf certificate signed by the cluster CA. */
export async function issueCertificate(ca: KeyPair, request: CertRequest): Promise<KeyPair> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caDer = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caDer, algorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const subject = [`CN=${request.commonName}`, ...(request.organization ? [`O=${request.organization}`] : [])].join(', ');
  const hosts = [...new Set(request.hosts ?? [])];
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subject,
    notBefore: new Date(now - day),
    notAfter: new Date(now + 365 * day),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension(usages[request.usage]),
      ...(hosts.length > 0 ? [new x509.SubjectAlternativeNameExtension(hosts.map((h) => ({ type: isIP(h) ? 'ip' as const : 'dns' as const, value: h })))] : []),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await exportKey(keys.privateKey) };
}

/** The public half of the service-account key: kube-apiserver's --service-account-key-file reads only public keys (or certificates). */
export function publicKeyPem(privateKeyPem: string): string {
  return createPublicKey(privateKeyPem).export({ type: 'spki', format: 'pem' }).toString();
}

