/**
 * A user's impersonation resources on a real kube-apiserver (security case T5):
 * SubjectAccessReviews prove the account may impersonate exactly its user, groups
 * and extras and nobody else; the controller-manager fills the token Secret; the
 * token plus Drover's impersonation headers authenticate as the user, while any
 * other identity is refused; deleting the ClusterRole garbage-collects the rest.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, kubectl, kubectlOk, kubeRequest, sharedControlPlane, type ControlPlaneState, type KubeTarget } from '../testenv/index.ts';
import { adminKubeconfig } from '../testenv/kubeconfig-files.ts';
import { type AccessObject } from '../../src/downstream/index.ts';
import { IMPERSONATION_NAMESPACE, checkImpersonationRole, impersonationHeaders, impersonationServiceAccountUser, renderImpersonationResources, type UserIdentity } from '../../src/impersonation/index.ts';

const sfx = randomBytes(4).toString('hex');
const user: UserIdentity = {
  id: `u-${sfx}`, username: `alice-${sfx}`,
  principalIds: [`local://u-${sfx}`, `github_user://${sfx}`],
  groups: [`github_team://${sfx}`, `openldap_group://cn=ops-${sfx},dc=example,dc=org`],
};
const name = `cattle-impersonation-${user.id}`;

interface Attributes { verb: string; resource: string; group?: string; subresource?: string; name?: string; namespace?: string }
type SarCase = [what: string, attributes: Attributes, allowed: boolean];

const impersonate = (resource: string, nameValue: string | undefined, extra: Partial<Attributes> = {}): Attributes =>
  ({ verb: 'impersonate', resource, ...(nameValue === undefined ? {} : { name: nameValue }), ...extra });
const extra = (key: string, value: string | undefined): Attributes => impersonate('userextras', value, { group: 'authentication.k8s.io', subresource: key });

const sarCases: SarCase[] = [
  ['its own user', impersonate('users', user.id), true],
  ...user.groups.map((g): SarCase => [`its group ${g}`, impersonate('groups', g), true]),
  ['system:authenticated', impersonate('groups', 'system:authenticated'), true],
  ['system:cattle:authenticated', impersonate('groups', 'system:cattle:authenticated'), true],
  ...user.principalIds.map((p): SarCase => [`its principal id ${p}`, extra('principalid', p), true]),
  ['its username', extra('username', user.username), true],
  ['another user', impersonate('users', 'u-someone-else'), false],
  ['the admin user', impersonate('users', 'admin'), false],
  ['any user (no name)', impersonate('users', undefined), false],
  ['its user id in another letter case', impersonate('users', user.id.toUpperCase()), false],
  ['system:masters', impersonate('groups', 'system:masters'), false],
  ['another group', impersonate('groups', 'github_team://other'), false],
  ['any group (no name)', impersonate('groups', undefined), false],
  ['another principal id', extra('principalid', 'local://u-admin'), false],
  ['another username', extra('username', 'admin'), false],
  ['any username (no name)', extra('username', undefined), false],
  ['another extra key (scopes)', extra('scopes', 'anything'), false],
  ['the requesttokenid extra', extra('requesttokenid', 'token-x'), false],
  ['a uid', impersonate('uids', 'some-uid', { group: 'authentication.k8s.io' }), false],
  ['a service account', impersonate('serviceaccounts', 'default', { namespace: 'kube-system' }), false],
  ['its own service account', impersonate('serviceaccounts', name, { namespace: IMPERSONATION_NAMESPACE }), false],
  ['not impersonating: reading secrets', { verb: 'get', resource: 'secrets', namespace: 'kube-system' }, false],
  ['not impersonating: listing pods', { verb: 'list', resource: 'pods' }, false],
];

describe('impersonation resources on a real kube-apiserver', () => {
  let cp: ControlPlaneState;
  let kc: { kubeconfig: string };
  let admin: KubeTarget;
  let token = '';

  const apply = async (objects: AccessObject[]): Promise<void> => {
    await kubectlOk(['apply', '-f', '-'], { ...kc, input: JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objects }) });
  };
  const uidOf = async (kind: string, namespace?: string): Promise<string> =>
    (await kubectlOk(['get', kind, name, ...(namespace ? ['-n', namespace] : []), '-o', 'jsonpath={.metadata.uid}'], kc)).trim();

  before(async () => {
    cp = await sharedControlPlane();
    kc = { kubeconfig: cp.kubeconfigPath };
    admin = { url: cp.url, caPem: cp.caPem, token: cp.adminToken };
    // The apply order the module documents: each owner exists before its dependents name its uid.
    const bare = renderImpersonationResources(user);
    await apply([bare.namespace, bare.clusterRole]);
    const clusterRoleUid = await uidOf('clusterrole');
    await apply([renderImpersonationResources(user, { clusterRoleUid }).serviceAccount]);
    const serviceAccountUid = await uidOf('serviceaccount', IMPERSONATION_NAMESPACE);
    const full = renderImpersonationResources(user, { clusterRoleUid, serviceAccountUid });
    await apply([full.tokenSecret, full.clusterRoleBinding]);
    token = await eventually('the token controller to fill the Secret', async () => {
      const r = await kubeRequest(admin, 'GET', `/api/v1/namespaces/${IMPERSONATION_NAMESPACE}/secrets/${full.tokenSecret.metadata.name}`);
      const data = (JSON.parse(r.body) as { data?: { token?: string } }).data;
      return data?.token ? Buffer.from(data.token, 'base64').toString() : undefined;
    });
  });

  after(async () => {
    await kubectl(['delete', 'clusterrole', name, '--ignore-not-found'], kc);
  });

  for (const [what, attributes, allowed] of sarCases) {
    it(`a SubjectAccessReview says the account ${allowed ? 'may' : 'may not'} impersonate ${what}`, async () => {
      const review = {
        apiVersion: 'authorization.k8s.io/v1', kind: 'SubjectAccessReview',
        spec: {
          user: impersonationServiceAccountUser(user.id),
          groups: ['system:serviceaccounts', `system:serviceaccounts:${IMPERSONATION_NAMESPACE}`, 'system:authenticated'],
          resourceAttributes: attributes,
        },
      };
      const r = await kubeRequest(admin, 'POST', '/apis/authorization.k8s.io/v1/subjectaccessreviews', review);
      assert.equal(r.status, 201, r.body);
      assert.equal((JSON.parse(r.body) as { status: { allowed?: boolean } }).status.allowed ?? false, allowed);
    });
  }

  it('the role as applied is what checkImpersonationRole accepts without a write', async () => {
    const role = JSON.parse(await kubectlOk(['get', 'clusterrole', name, '-o', 'json'], kc)) as { rules: [] };
    assert.equal(checkImpersonationRole(role.rules, user).upToDate, true);
  });

  it('the account token with Drover\'s impersonation headers authenticates as the user, with its groups and extras', async () => {
    const r = await kubeRequest({ ...admin, token }, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews',
      { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, impersonationHeaders(user));
    assert.equal(r.status, 201, r.body);
    const info = (JSON.parse(r.body) as { status: { userInfo: { username: string; groups: string[]; extra: Record<string, string[]> } } }).status.userInfo;
    assert.equal(info.username, user.id);
    for (const g of [...user.groups, 'system:authenticated', 'system:cattle:authenticated']) assert.ok(info.groups.includes(g), g);
    assert.deepEqual(info.extra.principalid?.sort(), [...user.principalIds].sort());
    assert.deepEqual(info.extra.username, [user.username]);
  });

  it('kubectl auth whoami with the token and --as the user answers the user; --as anybody else is forbidden', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'imp-')), 'config');
    writeFileSync(file, adminKubeconfig({ url: cp.url, caPem: cp.caPem, token, name: 'imp' }), { mode: 0o600 });
    const who = await kubectlOk(['auth', 'whoami', '--as', user.id, '-o', 'json'], { kubeconfig: file });
    assert.equal((JSON.parse(who) as { status: { userInfo: { username: string } } }).status.userInfo.username, user.id);
    // kubectl whoami hides the 403's reason, so the refusals are read from an ordinary request.
    const refusals: [string[], RegExp][] = [
      [['--as', 'u-someone-else'], /cannot impersonate resource "users"/],
      [['--as', 'admin'], /cannot impersonate resource "users"/],
      [['--as', user.id, '--as-group', 'system:masters'], /cannot impersonate resource "groups"/],
      [['--as', 'system:serviceaccount:kube-system:default'], /cannot impersonate resource "serviceaccounts"/],
      [['--as', user.id, '--as-uid', '42'], /cannot impersonate resource "uids"/],
    ];
    for (const [args, reason] of refusals) {
      const r = await kubectl(['get', 'configmaps', '-n', 'default', ...args], { kubeconfig: file });
      assert.notEqual(r.code, 0, args.join(' '));
      assert.match(r.stderr, reason, args.join(' '));
    }
    const bare = await kubectl(['get', 'pods', '-A'], { kubeconfig: file });
    assert.match(bare.stderr, /forbidden/, 'without impersonation the account itself can do nothing');
  });

  it('forged extras with the stolen token are refused: another principal id, another username', async () => {
    const forged: Record<string, string[]>[] = [
      { ...impersonationHeaders(user), 'Impersonate-Extra-principalid': ['local://u-admin'] },
      { ...impersonationHeaders(user), 'Impersonate-Extra-username': ['admin'] },
      { ...impersonationHeaders(user), 'Impersonate-Extra-scopes': ['x'] },
      { ...impersonationHeaders(user), 'Impersonate-Uid': ['1234'] },
    ];
    for (const headers of forged) {
      const r = await kubeRequest({ ...admin, token }, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, headers);
      assert.equal(r.status, 403, JSON.stringify(headers));
    }
  });

  it('re-applying the same resources creates no second token Secret', async () => {
    const clusterRoleUid = await uidOf('clusterrole');
    const serviceAccountUid = await uidOf('serviceaccount', IMPERSONATION_NAMESPACE);
    const again = renderImpersonationResources(user, { clusterRoleUid, serviceAccountUid });
    await apply([again.namespace, again.clusterRole, again.serviceAccount, again.tokenSecret, again.clusterRoleBinding]);
    const secrets = await kubectlOk(['get', 'secrets', '-n', IMPERSONATION_NAMESPACE, '-l', `drover.io/user=${user.id}`, '-o', 'name'], kc);
    assert.deepEqual(secrets.trim().split('\n'), [`secret/${again.tokenSecret.metadata.name}`]);
  });

  it('deleting the ClusterRole lets Kubernetes garbage-collect the account, its binding and its token Secret', async () => {
    await kubectlOk(['delete', 'clusterrole', name], kc);
    await eventually('garbage collection', async () => {
      const left = await kubectlOk(['get', 'serviceaccounts,secrets', '-n', IMPERSONATION_NAMESPACE, '-l', `drover.io/user=${user.id}`, '-o', 'name'], kc);
      const crb = await kubectl(['get', 'clusterrolebinding', name], kc);
      return left.trim() === '' && crb.code !== 0 ? true : undefined;
    });
    // Refused at once (403: the role is gone), then no longer authenticated once the apiserver's caches drop the account.
    await eventually('the token to stop authenticating', async () => {
      const r = await kubeRequest({ ...admin, token }, 'POST', '/apis/authentication.k8s.io/v1/selfsubjectreviews',
        { apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }, impersonationHeaders(user));
      assert.ok(r.status === 401 || r.status === 403, `status ${r.status}`);
      return r.status === 401 ? true : undefined;
    });
  });
});
