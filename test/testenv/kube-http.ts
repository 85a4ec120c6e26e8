/** Minimal HTTPS calls to a test kube-apiserver, trusting only its own CA. */
import { request } from 'node:https';

export interface KubeTarget { url: string; caPem: string; token: string }
export interface KubeResponse { status: number; body: string }

export function kubeRequest(
  target: KubeTarget,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string | string[]> = {},
): Promise<KubeResponse> {
  return new Promise((resolvePromise, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const req = request(new URL(path, target.url), {
      method,
      ca: target.caPem,
      headers: {
        authorization: `Bearer ${target.token}`,
        accept: 'application/json',
        ...(payload ? { 'content-type': 'application/json' } : {}),
        ...headers,
      },
      timeout: 30_000,
    }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolvePromise({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end(payload);
  });
}

export const kubeGet = (target: KubeTarget, path: string): Promise<KubeResponse> => kubeRequest(target, 'GET', path);
