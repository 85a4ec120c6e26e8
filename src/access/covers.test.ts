import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { breakdownRule, covers } from './covers.ts';
import type { PolicyRule } from './types.ts';

const r = (apiGroups: string[], resources: string[], verbs: string[], resourceNames?: string[]): PolicyRule =>
  (resourceNames ? { apiGroups, resources, verbs, resourceNames } : { apiGroups, resources, verbs });
const url = (nonResourceURLs: string[], verbs: string[]): PolicyRule => ({ nonResourceURLs, verbs });

interface Case { name: string; owner: PolicyRule[]; requested: PolicyRule[]; covered: boolean; missing?: PolicyRule[] }

// Modelled on upstream's validation tests and on ways a grant request could try to slip past.
const cases: Case[] = [
  { name: 'an exact rule covers itself', owner: [r([''], ['pods'], ['get'])], requested: [r([''], ['pods'], ['get'])], covered: true },
  { name: 'nothing is covered by no rules', owner: [], requested: [r([''], ['pods'], ['get'])], covered: false },
  { name: 'an empty request is always covered', owner: [], requested: [], covered: true },
  { name: 'verb * covers any verb, including escalate and bind', owner: [r(['rbac.authorization.k8s.io'], ['roles'], ['*'])], requested: [r(['rbac.authorization.k8s.io'], ['roles'], ['escalate', 'bind', 'get'])], covered: true },
  { name: 'a named verb does not cover verb *', owner: [r([''], ['pods'], ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'])], requested: [r([''], ['pods'], ['*'])], covered: false },
  { name: 'resource * covers any resource and subresource', owner: [r([''], ['*'], ['get'])], requested: [r([''], ['pods', 'pods/exec', 'secrets'], ['get'])], covered: true },
  { name: 'a named resource does not cover resource *', owner: [r([''], ['pods', 'secrets'], ['get'])], requested: [r([''], ['*'], ['get'])], covered: false },
  { name: 'apiGroup * covers any group', owner: [r(['*'], ['deployments'], ['get'])], requested: [r(['apps', 'extensions'], ['deployments'], ['get'])], covered: true },
  { name: 'the core group does not cover another group', owner: [r([''], ['deployments'], ['get'])], requested: [r(['apps'], ['deployments'], ['get'])], covered: false },
  { name: 'a named group does not cover apiGroup *', owner: [r(['apps'], ['deployments'], ['get'])], requested: [r(['*'], ['deployments'], ['get'])], covered: false },
  { name: 'pods does not cover the pods/exec subresource', owner: [r([''], ['pods'], ['create', 'get'])], requested: [r([''], ['pods/exec'], ['create'])], covered: false },
  { name: 'pods/exec does not cover pods', owner: [r([''], ['pods/exec'], ['get'])], requested: [r([''], ['pods'], ['get'])], covered: false },
  { name: '*/scale covers every resource\'s scale subresource', owner: [r(['apps'], ['*/scale'], ['update'])], requested: [r(['apps'], ['deployments/scale', 'statefulsets/scale'], ['update'])], covered: true },
  { name: '*/scale does not cover the parent resource', owner: [r(['apps'], ['*/scale'], ['update'])], requested: [r(['apps'], ['deployments'], ['update'])], covered: false },
  { name: '*/scale does not cover another subresource', owner: [r([''], ['*/scale'], ['create'])], requested: [r([''], ['pods/exec'], ['create'])], covered: false },
  { name: 'pods/* is not a wildcard for subresources', owner: [r([''], ['pods/*'], ['create'])], requested: [r([''], ['pods/exec'], ['create'])], covered: false },
  { name: 'an owner rule without names covers a named request', owner: [r([''], ['secrets'], ['get'])], requested: [r([''], ['secrets'], ['get'], ['db-password'])], covered: true },
  { name: 'a named owner rule does not cover a request for all names (empty resourceNames)', owner: [r([''], ['secrets'], ['get'], ['a'])], requested: [r([''], ['secrets'], ['get'])], covered: false },
  { name: 'a named owner rule does not cover an explicitly empty resourceNames list', owner: [r([''], ['secrets'], ['get'], ['a'])], requested: [r([''], ['secrets'], ['get'], [])], covered: false },
  { name: 'a named owner rule covers a subset of its names', owner: [r([''], ['secrets'], ['get'], ['a', 'b'])], requested: [r([''], ['secrets'], ['get'], ['b'])], covered: true },
  { name: 'a named owner rule does not cover a name outside its list', owner: [r([''], ['secrets'], ['get'], ['a'])], requested: [r([''], ['secrets'], ['get'], ['a', 'c'])], covered: false, missing: [r([''], ['secrets'], ['get'], ['c'])] },
  { name: 'resourceName * is a literal name, not a wildcard', owner: [r([''], ['secrets'], ['get'], ['*'])], requested: [r([''], ['secrets'], ['get'], ['a'])], covered: false },
  { name: 'verbs are case-sensitive, as in the authorizer', owner: [r([''], ['pods'], ['get'])], requested: [r([''], ['pods'], ['GET'])], covered: false },
  { name: 'resources are case-sensitive', owner: [r([''], ['pods'], ['get'])], requested: [r([''], ['Pods'], ['get'])], covered: false },
  { name: 'a request is covered by the union of several owner rules', owner: [r([''], ['pods'], ['get']), r([''], ['pods'], ['list'])], requested: [r([''], ['pods'], ['get', 'list'])], covered: true },
  { name: 'nonResourceURLs are covered exactly', owner: [url(['/healthz'], ['get'])], requested: [url(['/healthz'], ['get'])], covered: true },
  { name: 'a trailing * covers URLs with that prefix', owner: [url(['/logs/*'], ['get'])], requested: [url(['/logs/kube.log', '/logs/'], ['get'])], covered: true },
  { name: 'a trailing * does not cover the URL without its slash', owner: [url(['/logs/*'], ['get'])], requested: [url(['/logs'], ['get'])], covered: false },
  { name: 'URL * covers every URL', owner: [url(['*'], ['*'])], requested: [url(['/metrics', '/debug/pprof/profile'], ['get'])], covered: true },
  { name: 'a URL without * does not cover a longer URL', owner: [url(['/api'], ['get'])], requested: [url(['/apis'], ['get'])], covered: false },
  { name: 'resource rules never cover nonResourceURLs', owner: [r(['*'], ['*'], ['*'])], requested: [url(['/metrics'], ['get'])], covered: false },
  { name: 'nonResourceURL rules never cover resources', owner: [url(['*'], ['*'])], requested: [r([''], ['pods'], ['get'])], covered: false },
  { name: 'a URL owner rule with the wrong verb does not cover', owner: [url(['/metrics'], ['get'])], requested: [url(['/metrics'], ['post'])], covered: false },
  { name: 'a wildcard owner covers a mixed request', owner: [r(['*'], ['*'], ['*']), url(['*'], ['*'])], requested: [r(['rbac.authorization.k8s.io'], ['clusterroles'], ['escalate', 'bind']), url(['/metrics'], ['get'])], covered: true },
];

describe('covers (a port of Kubernetes rbac validation Covers)', () => {
  for (const c of cases) {
    it(c.name, () => {
      const result = covers(c.owner, c.requested);
      assert.equal(result.covered, c.covered);
      assert.equal(result.missing.length === 0, c.covered);
      if (c.missing) assert.deepEqual(result.missing, c.missing);
    });
  }

  it('reports each uncovered atom once, broken down to one verb, resource and name', () => {
    const result = covers([r([''], ['pods'], ['get'])], [r([''], ['pods', 'secrets'], ['get', 'list'])]);
    assert.deepEqual(result.missing, [
      r([''], ['pods'], ['list']), r([''], ['secrets'], ['get']), r([''], ['secrets'], ['list']),
    ]);
  });
});

describe('breakdownRule', () => {
  it('splits a rule into one atom per group, resource, verb and name', () => {
    assert.equal(breakdownRule(r(['', 'apps'], ['a', 'b'], ['get', 'list'], ['x', 'y', 'z'])).length, 2 * 2 * 2 * 3);
  });

  it('splits nonResourceURLs into one atom per URL and verb', () => {
    assert.deepEqual(breakdownRule(url(['/a', '/b'], ['get'])), [url(['/a'], ['get']), url(['/b'], ['get'])]);
  });
});
