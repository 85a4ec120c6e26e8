import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { AgentSession } from './agent-session.ts';
import { SessionRegistry } from './session-registry.ts';

/** Only what the registry reads of a session. */
const session = (kind: 'cluster' | 'node', nodeName?: string, clusterId = 'c-1'): AgentSession =>
  ({ closed: false, info: { id: nodeName ?? kind, identity: { kind, clusterId, ...(nodeName ? { nodeName } : {}) } } }) as unknown as AgentSession;

describe('SessionRegistry', () => {
  it('passes over a drained node while another node\'s session is open, and comes back to it when the drain ends', () => {
    const registry = new SessionRegistry();
    const [n1, n2, n3] = [session('node', 'n1'), session('node', 'n2'), session('node', 'n3')];
    for (const s of [n1, n2, n3]) registry.add(s);
    assert.equal(registry.pick('c-1'), n1, 'the longest-connected node agent');
    registry.drain('c-1', 'n1');
    assert.equal(registry.pick('c-1'), n2);
    registry.drain('c-1', 'n2');
    assert.equal(registry.pick('c-1'), n1, 'one drained node per cluster: the next drain lifts the one before');
    registry.drain('c-1', undefined);
    assert.equal(registry.pick('c-1'), n1);
  });

  it('keeps serving through the drained node when it is the only one (a 1-node cluster), and drains only its own cluster', () => {
    const registry = new SessionRegistry();
    const [only, other] = [session('node', 'n1'), session('node', 'n1', 'c-2')];
    registry.add(only);
    registry.add(other);
    registry.drain('c-1', 'n1');
    assert.equal(registry.pick('c-1'), only);
    registry.add(session('node', 'n2', 'c-2'));
    assert.equal(registry.pick('c-2'), other, 'a node of the same name in another cluster is not drained');
  });

  it('does not let a drain pass over a cluster agent\'s session, nor pick a closed one', () => {
    const registry = new SessionRegistry();
    const [n1, agent] = [session('node', 'n1'), session('cluster')];
    registry.add(n1);
    registry.add(agent);
    registry.drain('c-1', 'n1');
    assert.equal(registry.pick('c-1'), agent);
    (agent as { closed: boolean }).closed = true;
    assert.equal(registry.pick('c-1'), n1, 'the drained node is better than none');
  });
});
