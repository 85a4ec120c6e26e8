/**
 * `--ca-checksum`: fetch the server's CA from `<serverUrl>/cacerts` WITHOUT
 * verification (we do not trust it yet), and accept it only if the SHA-256 of the
 * exact bytes equals the checksum the operator supplied. The returned PEM is then
 * the agent's only trust anchor; there is no fallback to the system store (T15).
 */
import { createHash, X509Certificate } from 'node:crypto';
import https from 'node:https';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';

const maxCaBytes = 64 * 1024;

export async function fetchPinnedCa(serverUrl: string, sha256Checksum: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const checksum = sha256Checksum.trim().toLowerCase();
  if (!/^[0-9a-f]{64}$/.test(checksum)) throw new InvalidArgumentError('--ca-checksum', 'a hex SHA-256 (64 characters)', sha256Checksum);
  const url = new URL(serverUrl);
  if (url.protocol !== 'https:' && url.protocol !== 'wss:') throw new InvalidArgumentError('--server', 'an https:// URL when a CA checksum is given', serverUrl);
  url.protocol = 'https:';
  url.pathname = `${url.pathname.replace(/\/+$/, '')}/cacerts`;
  const bytes = await getUnverified(url, options.timeoutMs ?? 10_000);
  const actual = createHash('sha256').update(bytes).digest('hex');
  if (actual !== checksum) {
    throw new DroverError('DRV_ERR_CA_CHECKSUM_MISMATCH', `the server's CA (sha256 ${actual}) does not match --ca-checksum ${checksum}; refusing to connect`);
  }
  const pem = bytes.toString('utf8');
  try {
    new X509Certificate(pem);
  } catch (error) {
    throw new DroverError('DRV_ERR_CA_CHECKSUM_MISMATCH', `${url.toString()} matched the checksum but is not a PEM certificate`, { cause: error });
  }
  return pem;
}

function getUnverified(url: URL, timeoutMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    // Verification is off on purpose: the checksum below is what establishes trust.
    const req = https.get(url, { rejectUnauthorized: false, timeout: timeoutMs }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new DroverError('DRV_ERR_BAD_GATEWAY', `GET ${url.toString()} answered ${res.statusCode}; is the server URL right?`));
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => {
        size += chunk.length;
        if (size > maxCaBytes) req.destroy(new DroverError('DRV_ERR_BAD_GATEWAY', `${url.toString()} is larger than ${maxCaBytes} bytes`));
        else chunks.push(chunk);
      });
      res.on('end', () => resolve(Buffer.concat(chunks)));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new DroverError('DRV_ERR_GATEWAY_TIMEOUT', `GET ${url.toString()} timed out after ${timeoutMs} ms`)));
    req.on('error', (error) => reject(error instanceof DroverError ? error : new DroverError('DRV_ERR_BAD_GATEWAY', `could not fetch ${url.toString()}: ${error.message}`, { cause: error })));
  });
}
