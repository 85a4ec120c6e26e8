/** Throwaway certificates for unit tests. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A new self-signed CA certificate (PEM), as a kube-apiserver's CA bundle would carry. */
export function selfSignedCaPem(): string {
  const dir = mkdtempSync(join(tmpdir(), 'kube-ca-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', join(dir, 'ca.key'), '-out', join(dir, 'ca.crt'), '-subj', '/CN=kube-ca', '-days', '1'], { stdio: 'ignore' });
    return readFileSync(join(dir, 'ca.crt'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
