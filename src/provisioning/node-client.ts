/**
 * The node agent's HTTPS client to the server's node routes: the server's CA
 * (pinned by --ca-checksum) is the only trust anchor, and every request carries
 * the registration token, node name and node id.
 */
import { createHash } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { rename } from 'node:fs/promises';
import https from 'node:https';
import type { IncomingMessage } from 'node:http';
import { pipeline } from 'node:stream/promises';
import { Transform } from 'node:stream';
import { agentHeaders } from '../agent-protocol/index.ts';
import { DroverError } from '../errors/index.ts';
import { nodeApiPrefix, nodeIdHeader } from './provisioning-api.ts';

export interface NodeClientOptions {
  serverUrl: string;
  caPem: string;
  token: string;
  nodeName: string;
  nodeId: string;
}

export class NodeClient {
  constructor(private readonly options: NodeClientOptions) {}

  async json<T>(method: 'GET' | 'POST', path: string, body?: unknown): Promise<T | undefined> {
    const res = await this.request(method, path, body === undefined ? undefined : Buffer.from(JSON.stringify(body)));
    const text = await readAll(res);
    if ((res.statusCode ?? 0) >= 300) throw serverError(method, path, res.statusCode ?? 0, text);
    return text ? JSON.parse(text) as T : undefined;
  }

  /** Downloads to `file` (through a `.partial` beside it, created with `mode`) and refuses bytes whose SHA-256 is not `sha256`. */
  async download(path: string, file: string, sha256: string, mode = 0o755): Promise<void> {
    const res = await this.request('GET', path);
    if (res.statusCode !== 200) throw serverError('GET', path, res.statusCode ?? 0, await readAll(res));
    const hash = createHash('sha256');
    const partial = `${file}.partial`;
    await pipeline(res, new Transform({ transform(chunk: Buffer, _enc, done) { hash.update(chunk); done(null, chunk); } }), createWriteStream(partial, { mode }));
    const actual = hash.digest('hex');
    if (actual !== sha256) {
      throw new DroverError('DRV_ERR_BAD_GATEWAY', `the download of ${path} has SHA-256 ${actual}, not ${sha256} as planned: refusing it; `
        + 'if the server\'s --kubernetes-binaries directory changed meanwhile, the node retries with the new plan');
    }
    await rename(partial, file);
  }

  private request(method: string, path: string, body?: Buffer): Promise<IncomingMessage> {
    const url = new URL(`${this.options.serverUrl.replace(/\/+$/, '')}${nodeApiPrefix}${path}`);
    return new Promise((resolve, reject) => {
      const req = https.request(url, {
        method, ca: this.options.caPem, timeout: 60_000,
        headers: {
          [agentHeaders.token]: this.options.token, [agentHeaders.node]: this.options.nodeName, [nodeIdHeader]: this.options.nodeId,
          ...(body ? { 'content-type': 'application/json', 'content-length': String(body.length) } : {}),
        },
      }, resolve);
      req.on('timeout', () => req.destroy(new DroverError('DRV_ERR_GATEWAY_TIMEOUT', `${method} ${url.pathname} got no answer within 60 s`)));
      req.on('error', (error) => reject(error instanceof DroverError ? error : new DroverError('DRV_ERR_BAD_GATEWAY', `${method} ${url.toString()} failed: ${error.message}`, { cause: error })));
      req.end(body);
    });
  }
}

async function readAll(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of res) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

/** The server's own error code and message, so the node's operator reads what the server said. */
function serverError(method: string, path: string, status: number, text: string): DroverError {
  let body: { code?: string; message?: string } = {};
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    body = { message: text.slice(0, 500) };
  }
  const code = status === 401 ? 'DRV_ERR_UNAUTHENTICATED' : status === 403 ? 'DRV_ERR_FORBIDDEN' : status === 409 ? 'DRV_ERR_CONFLICT' : status === 400 ? 'DRV_ERR_INVALID_ARGUMENT' : 'DRV_ERR_BAD_GATEWAY';
  return new DroverError(code, `the server refused ${method} ${path} (${status}): ${body.message ?? 'no reason given'}`);
}
