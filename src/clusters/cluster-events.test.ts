import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../logging/index.ts';
import { ClusterControllers, type GoneReason } from './cluster-controller.ts';
import type { ClusterService } from './cluster-service.ts';

const controllers = (): ClusterControllers => new ClusterControllers({
  service: {} as ClusterService,
  tunnel: { on: () => () => undefined, dial: () => Promise.reject(new Error('no tunnel')), sessionFor: () => undefined, sessionsOf: () => [] },
  logger: silentLogger(),
});

describe('cluster live/gone events', () => {
  it('tells every subscriber that a deleted cluster is gone, even when one of them throws', async () => {
    const all = controllers();
    const seen: Array<[string, GoneReason]> = [];
    all.onGone(() => { throw new Error('a broken feature'); });
    const off = all.onGone((id, reason) => seen.push([id, reason]));
    await all.forget('c-gone');
    assert.deepEqual(seen, [['c-gone', 'deleted']]);
    off();
    await all.forget('c-other');
    assert.deepEqual(seen, [['c-gone', 'deleted']]);
  });
});
