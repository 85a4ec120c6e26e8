/**
 * The agent's upgrades other than the WebSocket (protocols.ts): a request on the
 * connect URL with `Upgrade: drover-tunnel-h2/1` (the direct transport) or
 * `drover-tunnel-data/1` (a dial's own connection) and the agent's credentials. The
 * outcome is the upgraded TLS socket; or a refusal, `understood` when it came from a
 * Drover server that speaks this protocol (a refused session offer is then final: a
 * 401 stays a 401 over a WebSocket) and not otherwise (an older server, or a proxy that
 * passes only WebSocket upgrades: the agent falls back to the WebSocket transport).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';
import { protocolsHeader } from './protocols.ts';

export type OfferOutcome =
  | { type: 'upgraded'; socket: Socket }
  | { type: 'refused'; status: number; message: string; understood: boolean };

export interface OfferOptions {
  /** The Upgrade token offered: `directProtocol` or `dataProtocol`. */
  protocol: string;
  headers: Record<string, string>;
  ca?: string;
  timeoutMs: number;
}

const maxRefusalBytes = 2000;

/** Sends the offer; `abort` drops it (the outcome then rejects). */
export function offerUpgrade(url: URL, options: OfferOptions): { outcome: Promise<OfferOutcome>; abort: () => void } {
  const client = url.protocol === 'http:' ? http : https;
  const req = client.request(url, {
    headers: { ...options.headers, Connection: 'Upgrade', Upgrade: options.protocol },
    timeout: options.timeoutMs,
    ...(options.ca === undefined ? {} : { ca: options.ca }),
    agent: false,
  });
  const outcome = new Promise<OfferOutcome>((resolve, reject) => {
    req.on('upgrade', (res, socket: Socket, head: Buffer) => {
      socket.setTimeout(0);
      if (String(res.headers.upgrade ?? '').toLowerCase() !== options.protocol) {
        socket.destroy();
        return reject(new Error(`the server switched to ${JSON.stringify(res.headers.upgrade)} instead of ${options.protocol}`));
      }
      socket.setNoDelay(true);
      // Bytes that came with the 101 (the server's first HTTP/2 frames) are the protocol's.
      if (head.length > 0) socket.unshift(head);
      resolve({ type: 'upgraded', socket });
    });
    req.on('response', (res) => {
      const spoken = String(res.headers[protocolsHeader] ?? '').split(',').map((p) => p.trim().toLowerCase());
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (chunk: Buffer) => { if (size < maxRefusalBytes) { chunks.push(chunk); size += chunk.length; } });
      res.on('error', reject);
      res.on('end', () => resolve({
        type: 'refused',
        status: res.statusCode ?? 0,
        message: Buffer.concat(chunks).toString('utf8').trim().slice(0, maxRefusalBytes),
        understood: spoken.includes(options.protocol),
      }));
    });
    req.on('timeout', () => req.destroy(new Error(`no answer to the tunnel upgrade in ${options.timeoutMs} ms`)));
    req.on('error', reject);
  });
  req.end();
  return { outcome, abort: () => req.destroy(new Error('tunnel upgrade aborted')) };
}
