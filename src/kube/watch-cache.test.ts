import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import pino from 'pino';
import { Writable } from 'node:stream';
import { DroverError } from '../errors/index.ts';
import { WatchCache, type WatchSource } from './watch-cache.ts';
import type { KubeList, KubeObject } from './types.ts';

/** A logger that keeps every line it writes, parsed. */
function recordingLogger(): { logger: pino.Logger; lines: Record<string, unknown>[] } {
  const lines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk: Buffer, _e, done) { lines.push(JSON.parse(chunk.toString()) as Record<string, unknown>); done(); } });
  return { logger: pino({ level: 'debug' }, sink), lines };
}

const unreachable = (): Promise<never> => Promise.reject(new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'cluster c-1 has no connected agent'));

describe('WatchCache reconnects', () => {
  it('backs off further on every failed resume while the cluster is unreachable, instead of retrying at the initial delay', async () => {
    const { logger, lines } = recordingLogger();
    // One list works, then every watch fails at once, as when the agent is gone.
    const source: WatchSource = {
      list: <T>() => Promise.resolve({ metadata: { resourceVersion: '7' }, items: [] } as unknown as KubeList<T>),
      watch: unreachable,
    };
    const cache = new WatchCache<KubeObject>({ source, path: '/api/v1/nodes', logger, backoff: { initialMs: 1, maxMs: 8 } }).start();
    const retries = (): Record<string, unknown>[] => lines.filter((l) => l.msg === 'watch cache lost its watch; retrying');
    while (retries().length < 6) await new Promise((r) => setTimeout(r, 5));
    await cache.close();
    assert.deepEqual(retries().slice(0, 6).map((l) => l.failures), [1, 2, 3, 4, 5, 6]);
    const ceilings = retries().slice(0, 6).map((l) => l.delayMs as number);
    // Each wait is within [ceiling/2, ceiling] for a ceiling of 1, 2, 4, 8, 8, 8 ms.
    [1, 2, 4, 8, 8, 8].forEach((ceiling, i) => assert.ok((ceilings[i] ?? -1) >= Math.floor(ceiling / 2) && (ceilings[i] ?? 99) <= ceiling, `wait ${i}: ${ceilings[i]}`));
  });

  it('starts over from the initial delay once the API has answered again', async () => {
    const { logger, lines } = recordingLogger();
    let watches = 0;
    const source: WatchSource = {
      list: <T>() => Promise.resolve({ metadata: { resourceVersion: '7' }, items: [] } as unknown as KubeList<T>),
      // Three failures, then a watch that delivers a bookmark and is cut, then failures again.
      watch: async (_path, _options, onEvent) => {
        watches += 1;
        if (watches === 4) {
          await onEvent({ type: 'BOOKMARK', object: { metadata: { resourceVersion: '8' } } } as never);
          throw new Error('connection reset');
        }
        return unreachable();
      },
    };
    const cache = new WatchCache<KubeObject>({ source, path: '/api/v1/nodes', logger, backoff: { initialMs: 1, maxMs: 8 } }).start();
    const retries = (): Record<string, unknown>[] => lines.filter((l) => l.msg === 'watch cache lost its watch; retrying');
    while (retries().length < 6) await new Promise((r) => setTimeout(r, 5));
    await cache.close();
    assert.deepEqual(retries().slice(0, 6).map((l) => l.failures), [1, 2, 3, 1, 2, 3]);
  });
});
