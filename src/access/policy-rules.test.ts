import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { normalizeRule, normalizeRules, sameRules } from './policy-rules.ts';

describe('policy rule canonical form', () => {
  it('sorts and de-duplicates every list, lower-cases verbs and resources, and drops empty lists', () => {
    assert.deepEqual(normalizeRule({ verbs: ['LIST', 'get', 'get'], apiGroups: ['apps', ''], resources: ['Pods', 'configmaps'], resourceNames: [] }), {
      verbs: ['get', 'list'], apiGroups: ['', 'apps'], resources: ['configmaps', 'pods'],
    });
  });

  it('keeps resourceNames and URLs as written (they are case-sensitive names)', () => {
    assert.deepEqual(normalizeRule({ verbs: ['get'], nonResourceURLs: ['/Healthz'] }).nonResourceURLs, ['/Healthz']);
    assert.deepEqual(normalizeRule({ verbs: ['get'], apiGroups: [''], resources: ['secrets'], resourceNames: ['Db'] }).resourceNames, ['Db']);
  });

  it('treats rule lists as sets: order and duplicates do not matter, content does', () => {
    const a = [{ verbs: ['get'], apiGroups: [''], resources: ['pods'] }, { verbs: ['list'], apiGroups: [''], resources: ['pods'] }];
    assert.ok(sameRules(a, [...a].reverse()));
    assert.ok(sameRules(a, [...a, a[0] ?? { verbs: [] }]));
    assert.ok(!sameRules(a, a.slice(1)));
    assert.ok(!sameRules(a, [{ verbs: ['get'], apiGroups: [''], resources: ['pods'], resourceNames: ['x'] }, a[1] ?? { verbs: [] }]));
    assert.ok(sameRules(undefined, []));
    assert.equal(normalizeRules([...a, ...a]).length, 2);
  });
});
