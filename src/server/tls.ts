/**
 * The server's TLS material. First start: an ECDSA P-256 CA (10 years) and a
 * serving certificate it signs (2 years; SANs localhost, 127.0.0.1 and the
 * public URL's host), written to the data dir with keys at mode 0600. Later
 * starts reuse them, reissuing only the serving certificate when the public host
 * is missing from it. An operator's `--tls-cert-file/--tls-key-file` replace all
 * of this; /cacerts then serves `--tls-ca-file`, or the certificate file itself.
 */
import { createPrivateKey, randomBytes, webcrypto } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
// @peculiar/x509 resolves its ASN.1 schemas through tsyringe, which needs the Reflect metadata polyfill loaded first.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { InvalidArgumentError } from '../errors/index.ts';

x509.cryptoProvider.set(webcrypto as unknown as Parameters<typeof x509.cryptoProvider.set>[0]);

const algorithm = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const day = 24 * 3600 * 1000;

export interface TlsMaterial {
  certPem: string;
  keyPem: string;
  /** What /cacerts serves and clients pin by sha256. */
  caPem: string;
}

export interface TlsOptions {
  dataDir: string;
  publicHost: string;
  certFile?: string;
  keyFile?: string;
  caFile?: string;
}

function serial(): string {
  // Positive 128-bit serial.
  const bytes = randomBytes(16);
  bytes[0] = (bytes[0] ?? 0) & 0x7f;
  return bytes.toString('hex');
}

async function keyPem(key: webcrypto.CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', key), 'PRIVATE KEY');
}

async function createCa(): Promise<{ certPem: string; keyPem: string }> {
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: `CN=drover-ca@${Math.floor(now / 1000)}`,
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
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

function sans(publicHost: string): Array<{ type: 'dns' | 'ip'; value: string }> {
  const names = new Map<string, 'dns' | 'ip'>([['localhost', 'dns'], ['127.0.0.1', 'ip']]);
  if (publicHost) names.set(publicHost, isIP(publicHost) ? 'ip' : 'dns');
  return [...names].map(([value, type]) => ({ type, value }));
}

async function issueServing(ca: { certPem: string; keyPem: string }, publicHost: string): Promise<{ certPem: string; keyPem: string }> {
  const caCert = new x509.X509Certificate(ca.certPem);
  const caDer = createPrivateKey(ca.keyPem).export({ type: 'pkcs8', format: 'der' });
  const caKey = await webcrypto.subtle.importKey('pkcs8', caDer, algorithm, false, ['sign']);
  const keys = await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify']);
  const now = Date.now();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=drover',
    issuer: caCert.subject,
    notBefore: new Date(now - day),
    notAfter: new Date(now + 730 * day),
    signingAlgorithm: algorithm,
    publicKey: keys.publicKey,
    signingKey: caKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(sans(publicHost)),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

function coversHost(certPem: string, host: string): boolean {
  const san = new x509.X509Certificate(certPem).getExtension(x509.SubjectAlternativeNameExtension);
  return san?.names.items.some((n) => n.value === host) ?? false;
}

function readOperatorFiles(options: TlsOptions): TlsMaterial {
  if (!options.certFile || !options.keyFile) throw new InvalidArgumentError('--tls-cert-file/--tls-key-file', 'both files, or neither');
  const certPem = readFileSync(options.certFile, 'utf8');
  return { certPem, keyPem: readFileSync(options.keyFile, 'utf8'), caPem: options.caFile ? readFileSync(options.caFile, 'utf8') : certPem };
}

/** Loads or creates the CA and serving certificate in the data dir. */
export async function loadOrCreateTls(options: TlsOptions): Promise<TlsMaterial & { created: boolean }> {
  if (options.certFile || options.keyFile) return { ...readOperatorFiles(options), created: false };
  const path = (name: string): string => join(options.dataDir, name);
  let created = false;
  if (!existsSync(path('ca.crt')) || !existsSync(path('ca.key'))) {
    const ca = await createCa();
    writeFileSync(path('ca.key'), ca.keyPem, { mode: 0o600 });
    writeFileSync(path('ca.crt'), ca.certPem, { mode: 0o644 });
    created = true;
  }
  const ca = { certPem: readFileSync(path('ca.crt'), 'utf8'), keyPem: readFileSync(path('ca.key'), 'utf8') };
  if (created || !existsSync(path('server.crt')) || !existsSync(path('server.key')) || !coversHost(readFileSync(path('server.crt'), 'utf8'), options.publicHost)) {
    const serving = await issueServing(ca, options.publicHost);
    writeFileSync(path('server.key'), serving.keyPem, { mode: 0o600 });
    writeFileSync(path('server.crt'), serving.certPem, { mode: 0o644 });
  }
  return { certPem: readFileSync(path('server.crt'), 'utf8'), keyPem: readFileSync(path('server.key'), 'utf8'), caPem: ca.certPem, created };
}
