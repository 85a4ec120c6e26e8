/**
 * The server's TLS material. First start: an ECDSA P-256 CA (10 years) and a
 * serving certificate it signs (2 years; SANs localhost, 127.0.0.1 and the
 * public URL's host), written to the data dir with keys at mode 0600. Later
 * starts reuse them, reissuing only the serving certificate when the public host
 * is missing from it. An operator's `--tls-cert-file/--tls-key-file` replace all
 * of this; /cacerts then serves `--tls-ca-file`, or the certificate file itself.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { coversHost, createCa, issueCertificate } from '../certificates/index.ts';
import { InvalidArgumentError } from '../errors/index.ts';

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
    const ca = await createCa(`drover-ca@${Math.floor(Date.now() / 1000)}`, 3650);
    writeFileSync(path('ca.key'), ca.keyPem, { mode: 0o600 });
    writeFileSync(path('ca.crt'), ca.certPem, { mode: 0o644 });
    created = true;
  }
  const ca = { certPem: readFileSync(path('ca.crt'), 'utf8'), keyPem: readFileSync(path('ca.key'), 'utf8') };
  if (created || !existsSync(path('server.crt')) || !existsSync(path('server.key')) || !coversHost(readFileSync(path('server.crt'), 'utf8'), options.publicHost)) {
    const serving = await issueCertificate(ca, {
      commonName: 'drover', usage: 'server', validDays: 730, hosts: ['localhost', '127.0.0.1', ...(options.publicHost ? [options.publicHost] : [])],
    });
    writeFileSync(path('server.key'), serving.keyPem, { mode: 0o600 });
    writeFileSync(path('server.crt'), serving.certPem, { mode: 0o644 });
  }
  return { certPem: readFileSync(path('server.crt'), 'utf8'), keyPem: readFileSync(path('server.key'), 'utf8'), caPem: ca.certPem, created };
}
