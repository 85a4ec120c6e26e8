/**
 * The HTTP face of kube-api-auth: `POST /v1/authenticate` (TokenReview) and
 * `GET /healthcheck`. Plain HTTP on loopback, as kube-apiserver calls it on its own
 * node. Bodies over 64 KiB (also 400, as the issue asks), non-JSON or non-TokenReview bodies get 400; a handler
 * error gets 500; nothing a caller sends can crash the process.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Logger } from 'pino';
import { silentLogger } from '../logging/index.ts';
import type { TokenReviewAuthenticator } from './token-authenticator.ts';
import { parseTokenReview, tokenReviewResponse } from './token-review.ts';

export const maxReviewBodyBytes = 64 * 1024;
export const authenticatePath = '/v1/authenticate';

export interface WebhookServerOptions {
  authenticator: Pick<TokenReviewAuthenticator, 'review'>;
  logger?: Logger;
  /** Whether the record caches are usable (for /healthcheck). */
  ready?: () => boolean;
}

export class WebhookServer {
  private readonly server: Server;
  private readonly options: WebhookServerOptions;
  private readonly logger: Logger;

  constructor(options: WebhookServerOptions) {
    this.options = options;
    this.logger = options.logger ?? silentLogger();
    this.server = createServer((req, res) => this.handle(req, res));
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 120_000;
  }

  async listen(host: string, port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, host, () => { this.server.off('error', reject); resolve(); });
    });
    return (this.server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    if (!this.server.listening) return;
    const closed = new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.server.closeIdleConnections();
    const force = setTimeout(() => this.server.closeAllConnections(), 5_000);
    force.unref();
    await closed;
    clearTimeout(force);
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const path = (req.url ?? '').split('?')[0];
    if (path === '/healthcheck' && req.method === 'GET') {
      const ready = this.options.ready?.() ?? true;
      res.writeHead(ready ? 200 : 503).end();
      return;
    }
    if (path !== authenticatePath) { res.writeHead(404).end(); return; }
    if (req.method !== 'POST') { res.writeHead(405, { allow: 'POST' }).end(); return; }
    const declared = Number(req.headers['content-length'] ?? '0');
    if (declared > maxReviewBodyBytes) { this.reject(req, res, 400, 'body too large'); return; }
    const chunks: Buffer[] = [];
    let size = 0;
    let done = false;
    req.on('data', (chunk: Buffer) => {
      if (done) return;
      size += chunk.length;
      if (size > maxReviewBodyBytes) { done = true; this.reject(req, res, 400, 'body too large'); return; }
      chunks.push(chunk);
    });
    req.on('error', () => { done = true; res.destroy(); });
    req.on('end', () => {
      if (done) return;
      done = true;
      try {
        this.answer(Buffer.concat(chunks).toString('utf8'), res);
      } catch (error) {
        this.logger.error({ err: error }, 'token review failed');
        if (!res.headersSent) res.writeHead(500).end();
      }
    });
  }

  private answer(body: string, res: ServerResponse): void {
    const parsed = parseTokenReview(body);
    if (!parsed.ok) {
      this.logger.info({ reason: parsed.reason }, 'token review request refused');
      send(res, 400, { message: parsed.reason });
      return;
    }
    const outcome = this.options.authenticator.review(parsed.token);
    if (outcome.kind === 'authenticated') this.logger.debug({ tokenId: outcome.tokenId, userId: outcome.user.username }, 'token review authenticated');
    else this.logger.info({ tokenId: outcome.tokenId, reason: outcome.reason }, 'token review unauthenticated');
    send(res, 200, tokenReviewResponse(parsed.apiVersion, outcome));
  }

  private reject(req: IncomingMessage, res: ServerResponse, status: number, reason: string): void {
    this.logger.info({ reason }, 'token review request refused');
    send(res, status, { message: reason }, true);
    req.resume();
  }
}

function send(res: ServerResponse, status: number, body: object, close = false): void {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...(close ? { connection: 'close' } : {}) });
  res.end(text);
}
