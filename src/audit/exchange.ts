/**
 * Auditing one proxied exchange without delaying it: the request body is copied as it
 * passes (a Transform on the way to the cluster, never a second reader), the response
 * body as the relay writes it, and only at the levels that keep them. Bodies are kept
 * up to `maxBodyBytes`; a longer one is not recorded at all (a cut JSON document says
 * nothing). Long-running requests (watch, proxy, and the attach, exec, log, portforward
 * and proxy subresources, kube-apiserver's own list) get a ResponseStarted event and no
 * response body.
 */
import type { IncomingMessage } from 'node:http';
import { Transform, type Readable } from 'node:stream';
import { redactKubeBody } from './redact.ts';
import type { RequestAudit } from './trail.ts';
import type { RequestInfo } from './request-info.ts';

export const maxBodyBytes = 1024 * 1024;
const longRunningVerbs = new Set(['watch', 'proxy']);
const longRunningSubresources = new Set(['attach', 'exec', 'proxy', 'log', 'portforward']);

export function isLongRunning(info: RequestInfo, upgrade: boolean): boolean {
  return upgrade || longRunningVerbs.has(info.verb) || longRunningSubresources.has(info.subresource ?? '');
}

/** Collects chunks up to the bound; `text()` is undefined when it was passed. */
class BodyCopy {
  private chunks: Buffer[] = [];
  private size = 0;
  private over = false;

  add(chunk: Buffer): void {
    if (this.over) return;
    this.size += chunk.length;
    if (this.size > maxBodyBytes) {
      this.over = true;
      this.chunks = [];
      return;
    }
    this.chunks.push(chunk);
  }

  text(): Buffer | undefined {
    return this.over || this.size === 0 ? undefined : Buffer.concat(this.chunks);
  }
}

/** What the proxy's forward step hands the relay: where the body goes through, and what it is told. */
export interface ExchangeAudit {
  /** The request body to send: the caller's stream, or a copying pass-through of it. */
  body(req: IncomingMessage): Readable;
  onResponseStart(status: number, headers: Record<string, string | string[] | undefined>): void;
  onResponseData?: (chunk: Buffer) => void;
  /** The exchange is over with this status: attaches the response body (RequestResponse) and emits ResponseComplete. */
  finish(code: number): void;
}

export function auditExchange(record: RequestAudit, options: { upgrade: boolean }): ExchangeAudit {
  const info = record.requestInfo();
  const level = record.level();
  const longRunning = isLongRunning(info, options.upgrade);
  const redactOptions = { aboutSecrets: info.resource === 'secrets', omitManagedFields: record.omitManagedFields() };
  const keepsRequest = level === 'Request' || level === 'RequestResponse';
  const keepsResponse = level === 'RequestResponse' && !longRunning;
  let response: BodyCopy | undefined;
  return {
    body: (req) => {
      if (!keepsRequest) return req;
      const copy = new BodyCopy();
      const tee = new Transform({
        transform(chunk: Buffer, _encoding, done) { copy.add(chunk); done(null, chunk); },
        flush(done) {
          const body = copy.text();
          if (body) record.setRequestObject(redactKubeBody(body, redactOptions));
          done();
        },
      });
      // A caller that fails mid-body fails the copy too, so the cluster sees the request end.
      req.once('error', (error) => tee.destroy(error));
      return req.pipe(tee);
    },
    onResponseStart: (status, headers) => {
      if (keepsResponse && /json/i.test(String(headers['content-type'] ?? ''))) response = new BodyCopy();
      record.responseStarted(status, longRunning);
    },
    ...(keepsResponse ? {
      onResponseData: (chunk: Buffer) => {
        response?.add(chunk);
      },
    } : {}),
    finish: (code) => {
      const body = response?.text();
      if (body) record.setResponseObject(redactKubeBody(body, redactOptions));
      record.complete(code);
    },
  };
}

