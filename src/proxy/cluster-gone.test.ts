import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { GoneReason } from '../clusters/index.ts';
import { dropWhenGone } from './cluster-gone.ts';

function setup() {
  let emit: (clusterId: string, reason: GoneReason) => void = () => undefined;
  const dropped = { pools: [] as string[], accounts: [] as string[] };
  const off = dropWhenGone({ onGone: (listener) => { emit = listener; return () => { emit = () => undefined; }; } }, {
    pools: { forget: (id) => { dropped.pools.push(id); } },
    accounts: { forget: (id) => { dropped.accounts.push(id); return Promise.resolve(); } },
  });
  return { emit: (id: string, reason: GoneReason) => emit(id, reason), dropped, off };
}

describe('what the proxy lets go when a cluster goes', () => {
  it('keeps the connection pool of a cluster that is only Unavailable, so open watches and execs outlive the hiccup', () => {
    const { emit, dropped } = setup();
    emit('c-1', 'unavailable');
    assert.deepEqual(dropped.pools, []);
    assert.deepEqual(dropped.accounts, ['c-1']);
  });

  it('drops the pool and the account caches of a deleted cluster and of one whose kube-apiserver was replaced', () => {
    const { emit, dropped } = setup();
    emit('c-1', 'deleted');
    emit('c-2', 'replaced');
    assert.deepEqual(dropped.pools, ['c-1', 'c-2']);
    assert.deepEqual(dropped.accounts, ['c-1', 'c-2']);
  });

  it('stops listening when the proxy closes', () => {
    const { emit, dropped, off } = setup();
    off();
    emit('c-1', 'deleted');
    assert.deepEqual(dropped.pools, []);
  });
});
