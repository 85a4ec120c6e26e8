import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { checkPolicy, evaluatePolicy, ruleMatches, type PolicyRule } from './policy.ts';
import { parseRequestInfo } from './request-info.ts';

const alice = { username: 'u-alice', groups: ['system:authenticated', 'github_team://ops'] };
const attrs = (method: string, url: string, clusterId?: string, user = alice) => ({ user, info: parseRequestInfo(method, url), ...(clusterId ? { clusterId } : {}) });

const cases: Array<{ name: string; rule: Omit<PolicyRule, 'level'>; method: string; url: string; cluster?: string; want: boolean }> = [
  { name: 'an empty rule matches everything', rule: {}, method: 'GET', url: '/api/v1/pods', want: true },
  { name: 'users: the Drover user id', rule: { users: ['u-alice'] }, method: 'GET', url: '/api/v1/pods', want: true },
  { name: 'users: another user', rule: { users: ['u-bob'] }, method: 'GET', url: '/api/v1/pods', want: false },
  { name: 'userGroups: any one group', rule: { userGroups: ['github_team://ops'] }, method: 'GET', url: '/api/v1/pods', want: true },
  { name: 'userGroups: none of them', rule: { userGroups: ['system:masters'] }, method: 'GET', url: '/api/v1/pods', want: false },
  { name: 'verbs: watch by query', rule: { verbs: ['watch'] }, method: 'GET', url: '/api/v1/pods?watch=1', want: true },
  { name: 'verbs: a list is no get', rule: { verbs: ['get'] }, method: 'GET', url: '/api/v1/pods', want: false },
  { name: 'resources: core group', rule: { resources: [{ group: '', resources: ['secrets'] }] }, method: 'GET', url: '/api/v1/namespaces/a/secrets/s', want: true },
  { name: 'resources: another group does not match', rule: { resources: [{ group: 'apps', resources: ['secrets'] }] }, method: 'GET', url: '/api/v1/namespaces/a/secrets/s', want: false },
  { name: 'resources: group without resources matches the whole group', rule: { resources: [{ group: 'apps' }] }, method: 'GET', url: '/apis/apps/v1/deployments', want: true },
  { name: 'resources: pods does not match pods/exec', rule: { resources: [{ resources: ['pods'] }] }, method: 'POST', url: '/api/v1/namespaces/a/pods/p/exec', want: false },
  { name: 'resources: pods/exec', rule: { resources: [{ resources: ['pods/exec'] }] }, method: 'POST', url: '/api/v1/namespaces/a/pods/p/exec', want: true },
  { name: 'resources: a star before a subresource', rule: { resources: [{ resources: ['*/exec'] }] }, method: 'POST', url: '/api/v1/namespaces/a/pods/p/exec', want: true },
  { name: 'resources: pods/*', rule: { resources: [{ resources: ['pods/*'] }] }, method: 'GET', url: '/api/v1/namespaces/a/pods/p/log', want: true },
  { name: 'resources: *', rule: { resources: [{ resources: ['*'] }] }, method: 'GET', url: '/api/v1/namespaces/a/pods/p/log', want: true },
  { name: 'resourceNames', rule: { resources: [{ resources: ['configmaps'], resourceNames: ['cfg'] }] }, method: 'GET', url: '/api/v1/namespaces/a/configmaps/cfg', want: true },
  { name: 'resourceNames: another name', rule: { resources: [{ resources: ['configmaps'], resourceNames: ['cfg'] }] }, method: 'GET', url: '/api/v1/namespaces/a/configmaps/other', want: false },
  { name: 'a CRD group', rule: { resources: [{ group: 'example.com', resources: ['widgets'] }] }, method: 'DELETE', url: '/apis/example.com/v1/namespaces/t/widgets/w', want: true },
  { name: 'namespaces', rule: { namespaces: ['kube-system'] }, method: 'GET', url: '/api/v1/namespaces/kube-system/pods', want: true },
  { name: 'namespaces: cluster scope is the empty string', rule: { namespaces: [''] }, method: 'GET', url: '/api/v1/nodes', want: true },
  { name: 'namespaces never match a non-resource request', rule: { namespaces: [''] }, method: 'GET', url: '/version', want: false },
  { name: 'nonResourceURLs: exact', rule: { nonResourceURLs: ['/version'] }, method: 'GET', url: '/version', want: true },
  { name: 'nonResourceURLs: prefix with a star', rule: { nonResourceURLs: ['/v1/*'] }, method: 'POST', url: '/v1/tokens', want: true },
  { name: 'nonResourceURLs never match a resource request', rule: { nonResourceURLs: ['/api/*'] }, method: 'GET', url: '/api/v1/pods', want: false },
  { name: 'clusters: the cluster of the request', rule: { clusters: ['c-one'] }, method: 'GET', url: '/api/v1/pods', cluster: 'c-one', want: true },
  { name: 'clusters: another cluster', rule: { clusters: ['c-one'] }, method: 'GET', url: '/api/v1/pods', cluster: 'c-two', want: false },
  { name: 'clusters: a /v1 call has none', rule: { clusters: ['c-one'] }, method: 'POST', url: '/v1/login', want: false },
];

describe('audit policy rules match as kube-apiserver\'s do', () => {
  for (const c of cases) {
    it(c.name, () => assert.equal(ruleMatches({ level: 'Metadata', ...c.rule }, attrs(c.method, c.url, c.cluster)), c.want));
  }

  it('the first matching rule decides; no match is None; stages are merged', () => {
    const policy = checkPolicy({
      apiVersion: 'audit.k8s.io/v1', kind: 'Policy', omitStages: ['RequestReceived'],
      rules: [
        { level: 'None', users: ['u-robot'] },
        { level: 'RequestResponse', resources: [{ group: '', resources: ['configmaps'] }], omitStages: ['ResponseStarted'] },
        { level: 'Metadata', nonResourceURLs: ['/v1/*'] },
      ],
    });
    const robot = { username: 'u-robot', groups: [] };
    assert.equal(evaluatePolicy(policy, attrs('GET', '/api/v1/configmaps', undefined, robot)).level, 'None');
    const decision = evaluatePolicy(policy, attrs('GET', '/api/v1/configmaps'));
    assert.equal(decision.level, 'RequestResponse');
    assert.deepEqual([...decision.omitStages].sort(), ['RequestReceived', 'ResponseStarted']);
    assert.equal(evaluatePolicy(policy, attrs('POST', '/v1/login')).level, 'Metadata');
    assert.equal(evaluatePolicy(policy, attrs('GET', '/api/v1/pods')).level, 'None');
  });

  it('a rule shared by two policies takes each policy\'s own stages', () => {
    const rule = { level: 'Metadata' as const };
    const quiet = { rules: [rule], omitStages: ['ResponseStarted' as const] };
    const loud = { rules: [rule] };
    const request = attrs('GET', '/api/v1/pods');
    assert.deepEqual([...evaluatePolicy(quiet, request).omitStages], ['ResponseStarted']);
    assert.deepEqual([...evaluatePolicy(loud, request).omitStages], []);
    assert.equal(evaluatePolicy(quiet, request), evaluatePolicy(quiet, attrs('GET', '/api/v1/configmaps')), 'one decision per rule, not per request');
  });

  it('refuses a policy it would misread, naming the place', () => {
    const base = { apiVersion: 'audit.k8s.io/v1', kind: 'Policy' };
    assert.throws(() => checkPolicy({ ...base, apiVersion: 'audit.k8s.io/v1beta1', rules: [{ level: 'None' }] }), /apiVersion: expected audit.k8s.io\/v1/);
    assert.throws(() => checkPolicy({ ...base, rules: [{ level: 'Everything' }] }), /rules\[0\]\.level/);
    assert.throws(() => checkPolicy({ ...base, rules: [{ level: 'None', user: ['x'] }] }), /rules\[0\]\.user: expected one of/);
    assert.throws(() => checkPolicy({ ...base, rules: [{ level: 'None', omitStages: ['Later'] }] }), /omitStages/);
    assert.throws(() => checkPolicy({ ...base, rules: [{ level: 'None', nonResourceURLs: ['/x'], namespaces: ['a'] }] }), /not both/);
    assert.throws(() => checkPolicy({ ...base, rules: [] }), /at least one rule/);
  });
});
