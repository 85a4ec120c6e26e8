import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DroverError } from '../errors/index.ts';
import { RoleTemplateCatalog } from './role-template-catalog.ts';
import type { RoleTemplate } from './types.ts';

const custom = (name: string, inherits: string[] = [], extra: Partial<RoleTemplate> = {}): RoleTemplate => ({
  name, displayName: name, description: '', context: 'project', rules: [{ apiGroups: [''], resources: ['configmaps'], verbs: ['get'] }],
  inherits, builtin: false, locked: false, ...extra,
});

const throwsCode = (fn: () => unknown, code: string, message?: RegExp): void => {
  assert.throws(fn, (e: unknown) => e instanceof DroverError && e.code === code && (!message || message.test(e.message)));
};

describe('RoleTemplateCatalog', () => {
  it('accepts every built-in template', () => {
    const catalog = RoleTemplateCatalog.withBuiltins();
    for (const name of ['cluster-owner', 'cluster-member', 'project-owner', 'project-member', 'read-only', 'view-nodes', 'manage-nodes',
      'view-namespaces', 'manage-namespaces', 'view-workloads', 'manage-workloads', 'view-secrets', 'manage-secrets', 'view-rbac', 'manage-rbac']) {
      assert.ok(catalog.get(name), name);
    }
  });

  it('flattens inheritance into one canonical rule list that lists every included template', () => {
    const catalog = RoleTemplateCatalog.withBuiltins();
    const owner = catalog.resolve('project-owner');
    for (const name of ['project-member', 'read-only', 'view-workloads', 'manage-rbac', 'view-rbac']) assert.ok(owner.includes.includes(name), name);
    assert.equal(owner.includes[0], 'project-owner');
    assert.equal(new Set(owner.includes).size, owner.includes.length, 'a diamond is included once');
    assert.ok(owner.rules.some((r) => r.resources?.includes('secrets') && r.verbs.includes('get')));
  });

  it('refuses a template that inherits itself', () => {
    throwsCode(() => RoleTemplateCatalog.from([custom('a', ['a'])]), 'DRV_ERR_UNPROCESSABLE', /cycle: a -> a/);
  });

  it('refuses an inheritance cycle through several templates and names the path', () => {
    throwsCode(() => RoleTemplateCatalog.from([custom('a', ['b']), custom('b', ['c']), custom('c', ['a'])]), 'DRV_ERR_UNPROCESSABLE', /cycle: a -> b -> c -> a/);
  });

  it('accepts a diamond (two paths to one template) that is not a cycle', () => {
    const catalog = RoleTemplateCatalog.from([custom('top', ['l', 'r']), custom('l', ['base']), custom('r', ['base']), custom('base')]);
    assert.deepEqual(catalog.resolve('top').includes, ['top', 'l', 'base', 'r']);
  });

  it('refuses inheriting a template that does not exist', () => {
    throwsCode(() => RoleTemplateCatalog.from([custom('a', ['ghost'])]), 'DRV_ERR_UNPROCESSABLE', /inherits "ghost"/);
  });

  it('refuses a project template inheriting a cluster template (cluster rights would leak into namespaces)', () => {
    throwsCode(() => RoleTemplateCatalog.withBuiltins([custom('sneaky', ['cluster-owner'])]), 'DRV_ERR_UNPROCESSABLE', /cannot inherit cluster/);
  });

  it('refuses names that cannot become object names or label values', () => {
    for (const name of ['', 'Upper', 'has space', 'a/b', 'x'.repeat(51), '-lead', 'trail-', 'dot.ted']) {
      throwsCode(() => RoleTemplateCatalog.from([custom(name)]), 'DRV_ERR_UNPROCESSABLE');
    }
  });

  it('refuses invalid rules: no verbs, resources mixed with URLs, names on URLs, URLs in project templates, a misplaced *', () => {
    const bad: RoleTemplate['rules'][] = [
      [{ apiGroups: [''], resources: ['pods'], verbs: [] }],
      [{ apiGroups: [''], resources: ['pods'], nonResourceURLs: ['/x'], verbs: ['get'] }],
      [{ apiGroups: [''], verbs: ['get'] }],
      [{ resources: ['pods'], verbs: ['get'] }],
      [{ nonResourceURLs: ['/x'], resourceNames: ['a'], verbs: ['get'] }],
      [{ nonResourceURLs: ['/a*/b'], verbs: ['get'] }],
      [{ apiGroups: [''], resources: ['pods/exec/x'], verbs: ['get'] }],
    ];
    for (const rules of bad) throwsCode(() => RoleTemplateCatalog.from([custom('t', [], { context: 'cluster', rules })]), 'DRV_ERR_UNPROCESSABLE');
    throwsCode(() => RoleTemplateCatalog.from([custom('t', [], { rules: [{ nonResourceURLs: ['/metrics'], verbs: ['get'] }] })]), 'DRV_ERR_UNPROCESSABLE', /only to cluster/);
  });

  it('refuses a duplicate name, replacing a built-in, and deleting a built-in or an inherited template', () => {
    throwsCode(() => RoleTemplateCatalog.from([custom('a'), custom('a')]), 'DRV_ERR_CONFLICT');
    const catalog = RoleTemplateCatalog.withBuiltins([custom('base'), custom('heir', ['base'])]);
    throwsCode(() => catalog.with(custom('read-only')), 'DRV_ERR_CONFLICT', /built in/);
    throwsCode(() => catalog.without('read-only'), 'DRV_ERR_CONFLICT', /built in/);
    throwsCode(() => catalog.without('base'), 'DRV_ERR_CONFLICT', /inherited by heir/);
    assert.equal(catalog.without('heir').get('heir'), undefined);
    assert.ok(catalog.get('heir'), 'the original catalog is unchanged');
  });

  it('with() re-validates the whole catalog, so an edit cannot introduce a cycle', () => {
    const catalog = RoleTemplateCatalog.from([custom('a', ['b']), custom('b')]);
    throwsCode(() => catalog.with(custom('b', ['a'])), 'DRV_ERR_UNPROCESSABLE', /cycle/);
  });

  it('refuses new bindings to a locked template, an unknown one, or one of the other context', () => {
    const catalog = RoleTemplateCatalog.withBuiltins([custom('frozen', [], { locked: true })]);
    throwsCode(() => catalog.assertBindable('frozen', 'project'), 'DRV_ERR_ROLE_TEMPLATE_LOCKED');
    throwsCode(() => catalog.assertBindable('nope', 'project'), 'DRV_ERR_NOT_FOUND');
    throwsCode(() => catalog.assertBindable('cluster-owner', 'project'), 'DRV_ERR_UNPROCESSABLE');
    throwsCode(() => catalog.assertBindable('project-owner', 'cluster'), 'DRV_ERR_UNPROCESSABLE');
    assert.ok(catalog.assertBindable('project-owner', 'project').rules.length > 0);
  });

  it('hands out copies, so a caller cannot change the catalog', () => {
    const catalog = RoleTemplateCatalog.withBuiltins();
    const t = catalog.get('read-only');
    t?.rules.push({ apiGroups: [''], resources: ['secrets'], verbs: ['get'] });
    assert.ok(!catalog.resolve('read-only').rules.some((r) => r.resources?.includes('secrets')));
  });
});
