/**
 * /v1/roles, /v1/clusters/:id/projects and /v1/clusters/:id/members. Anyone
 * signed in reads role templates; admins create and delete custom ones. Members of
 * a cluster see its projects and members; admins and whoever may manage members
 * there (cluster-owner, project-owner for their project) add and remove them,
 * and only with templates whose rules they hold themselves (escalation guard).
 * A cluster the caller cannot see answers 404, so names do not leak.
 */
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import type { FastifyRequest } from 'fastify';
import { Type } from 'typebox';
import { authenticateWith, caller, requireAdmin, authErrors, ErrorBody } from '../http/index.ts';
import type { ClusterControllers, ClusterService } from '../clusters/index.ts';
import type { AuthenticatedUser, Identity, UsersByPrincipal } from '../identity/index.ts';
import { isKubeApiError, resourcePath, resources, type Namespace } from '../kube/index.ts';
import { DroverError } from '../errors/index.ts';
import type { AccessService } from './access-service.ts';
import { covers } from './covers.ts';
import { assertCanGrant, canManageMembers } from './escalation-guard.ts';
import { PROJECT_ANNOTATION } from './rbac-reconciler.ts';
import type { BindingSubject, ClusterRoleTemplateBinding, ProjectRoleTemplateBinding } from './types.ts';
import { Member, PlacedNamespace, PolicyRule, Project, RemovedMembers, ResolvedRoleTemplate, RoleTemplate, VisibleNamespace } from '../api-types/index.ts';

const CreateRoleTemplate = Type.Object({
  name: Type.String({ minLength: 1, maxLength: 50 }),
  displayName: Type.Optional(Type.String({ maxLength: 256 })),
  description: Type.Optional(Type.String({ maxLength: 1024 })),
  context: Type.Union([Type.Literal('cluster'), Type.Literal('project')]),
  rules: Type.Array(PolicyRule, { maxItems: 256 }),
  inherits: Type.Optional(Type.Array(Type.String({ maxLength: 50 }), { maxItems: 32 })),
  locked: Type.Optional(Type.Boolean()),
}, { additionalProperties: false });

const ClusterParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }) });
const NameParams = Type.Object({ name: Type.String({ minLength: 1, maxLength: 64 }) });
const ProjectParams = Type.Object({ id: Type.String({ minLength: 1, maxLength: 128 }), project: Type.String({ minLength: 1, maxLength: 128 }) });
/** A namespace name as Kubernetes takes it (a DNS label). */
const NamespaceName = Type.String({ minLength: 1, maxLength: 63, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' });
const createNamespaceRule = { apiGroups: [''], resources: ['namespaces'], verbs: ['create'] };
const listNamespacesRule = { apiGroups: [''], resources: ['namespaces'], verbs: ['list'] };
const userField = Type.String({
  minLength: 1, maxLength: 512,
  description: 'username, user id, or a provider user principal (a value containing "://", e.g. openldap_user://<dn>, github_user://<id>): a directory user who never logged in is confirmed with their provider and created',
});
const AddMember = Type.Object({
  project: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  user: Type.Optional(userField),
  group: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  role: Type.String({ minLength: 1, maxLength: 50 }),
}, { additionalProperties: false });
const RemoveMember = Type.Object({
  project: Type.Optional(Type.String({ minLength: 1, maxLength: 128 })),
  user: Type.Optional(Type.String({ minLength: 1, maxLength: 512, description: 'username, user id, or a provider user principal' })),
  group: Type.Optional(Type.String({ minLength: 1, maxLength: 512 })),
  role: Type.Optional(Type.String({ minLength: 1, maxLength: 50 })),
}, { additionalProperties: false });

export interface AccessApiOptions {
  access: AccessService;
  clusters: ClusterService;
  controllers: ClusterControllers;
  identity: Identity;
  /** Adding a member by provider user principal; without it such a value answers 422. */
  principals?: UsersByPrincipal;
}

/** The two plugins: role templates, and a cluster's projects and members. */
export function accessApi(options: AccessApiOptions): FastifyPluginAsyncTypebox[] {
  return [roleRoutes(options), projectRoutes(options), memberRoutes(options)];
}

function roleRoutes(options: AccessApiOptions): FastifyPluginAsyncTypebox {
  const { access, identity } = options;
  return (app) => {
    app.addHook('preHandler', authenticateWith(identity.authenticator));
    const roles = { tags: ['access'], security: [{ bearer: [] }] };
    app.get('/v1/roles', { schema: { ...roles, summary: 'List role templates', response: { 200: Type.Array(RoleTemplate), ...authErrors } } }, async () =>
      (await access.catalog()).list().sort((a, b) => a.context.localeCompare(b.context) || a.name.localeCompare(b.name)));

    app.get('/v1/roles/:name', { schema: { ...roles, summary: 'Get a role template with its inheritance flattened', params: NameParams, response: { 200: ResolvedRoleTemplate, ...authErrors } } }, async (request) => {
      const catalog = await access.catalog();
      if (!catalog.get(request.params.name)) throw new DroverError('DRV_ERR_NOT_FOUND', `no role template "${request.params.name}"; see "drover roles list"`);
      const resolved = catalog.resolve(request.params.name);
      return { template: resolved.template, rules: resolved.rules, includes: resolved.includes };
    });

    app.post('/v1/roles', { schema: { ...roles, summary: 'Create a custom role template (admins)', body: CreateRoleTemplate, response: { 201: RoleTemplate, ...authErrors, 409: ErrorBody, 422: ErrorBody } } }, async (request, reply) => {
      requireAdmin(request);
      const b = request.body;
      const created = await access.createRoleTemplate({
        name: b.name, displayName: b.displayName ?? b.name, description: b.description ?? '', context: b.context,
        rules: b.rules, inherits: b.inherits ?? [], locked: b.locked ?? false,
      });
      return reply.status(201).send(created);
    });

    app.delete('/v1/roles/:name', { schema: { ...roles, summary: 'Delete a custom role template no binding uses (admins)', params: NameParams, response: { 200: RoleTemplate, ...authErrors, 409: ErrorBody } } }, async (request) => {
      requireAdmin(request);
      return access.deleteRoleTemplate(request.params.name);
    });

    return Promise.resolve();
  };
}

/**
 * `user` is a username, a user id, or (containing "://") a principal: `local://<id>`
 * names a local user; a provider user principal is resolved through its
 * `user_principals` binding, and when adding (`create`) a user its provider
 * confirms is created, so a directory user can be added before their first login.
 */
async function memberSubject(
  deps: { identity: Identity; principals: UsersByPrincipal | undefined }, user: string | undefined, group: string | undefined, create: boolean,
): Promise<BindingSubject> {
  const { identity, principals } = deps;
  if ((user === undefined) === (group === undefined)) throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'give exactly one of --user NAME and --group PRINCIPAL');
  if (user === undefined) return { kind: 'group', principalId: group ?? '' };
  if (!user.includes('://')) return { kind: 'user', userId: (await identity.users.get(user)).id };
  if (user.startsWith('local://')) return { kind: 'user', userId: (await identity.users.get(user.slice('local://'.length))).id };
  if (!principals) throw new DroverError('DRV_ERR_UNPROCESSABLE', 'this server cannot add users by provider principal');
  if (create) return { kind: 'user', userId: (await principals.ensureUserForPrincipal(user)).id };
  const found = await principals.findUserByPrincipal(user);
  if (!found) throw new DroverError('DRV_ERR_NOT_FOUND', 'no user has this principal; see "drover members list"');
  return { kind: 'user', userId: found.id };
}

/** The checks every cluster-scoped route starts with. */
function clusterGuards(options: AccessApiOptions): {
  visibleCluster: (request: FastifyRequest, idOrName: string) => Promise<{ id: string; me: AuthenticatedUser }>;
  requireManager: (me: AuthenticatedUser, clusterId: string, projectId?: string) => Promise<void>;
} {
  const { access, clusters } = options;
  /** The cluster if the caller may see it; 404 otherwise. */
  const visibleCluster = async (request: FastifyRequest, idOrName: string): Promise<{ id: string; me: AuthenticatedUser }> => {
    const me = caller(request);
    const cluster = await clusters.get(idOrName);
    if (!(await access.canAccessCluster(me, cluster.id))) throw new DroverError('DRV_ERR_NOT_FOUND', 'no such cluster');
    return { id: cluster.id, me };
  };

  const requireManager = async (me: AuthenticatedUser, clusterId: string, projectId?: string): Promise<void> => {
    const scope = projectId === undefined ? { clusterId } : { clusterId, projectId };
    const rules = await access.rulesOf(me, scope);
    if (!canManageMembers(rules, 'cluster') && !(projectId !== undefined && canManageMembers(rules, 'project'))) {
      throw new DroverError('DRV_ERR_FORBIDDEN', `you may not manage members of this ${projectId === undefined ? 'cluster' : 'project'}; ask its owner or an admin`);
    }
  };
  return { visibleCluster, requireManager };
}

/** The project id a `field.cattle.io/projectId` annotation (`<cluster>:<project>`) names in this cluster. */
function projectOf(annotation: string | undefined, clusterId: string): string | undefined {
  const prefix = `${clusterId}:`;
  return annotation?.startsWith(prefix) ? annotation.slice(prefix.length) : undefined;
}

/** Projects where the caller holds a binding, directly or through a group: exactly those whose namespaces-view role they get. */
async function projectsBoundTo(access: AccessService, me: AuthenticatedUser, clusterId: string): Promise<Set<string>> {
  const groups = new Set(me.groups);
  const bound = new Set<string>();
  for (const b of await access.projectBindings(clusterId)) {
    if (b.subject.kind === 'user' ? b.subject.userId === me.id : groups.has(b.subject.principalId)) bound.add(b.projectId);
  }
  return bound;
}

/** Projects and their namespaces: list, create, move a namespace in, create one in. */
function projectRoutes(options: AccessApiOptions): FastifyPluginAsyncTypebox {
  const { access, controllers, identity } = options;
  const { visibleCluster, requireManager } = clusterGuards(options);
  return (app) => {
    app.addHook('preHandler', authenticateWith(identity.authenticator));
    const members = { tags: ['access'], security: [{ bearer: [] }] };

    app.get('/v1/clusters/:id/projects', { schema: { ...members, summary: 'List a cluster\'s projects', params: ClusterParams, response: { 200: Type.Array(Project), ...authErrors } } }, async (request) => {
      const { id } = await visibleCluster(request, request.params.id);
      return access.listProjects(id);
    });

    // The explorer's navigation. A project member may get their project's namespaces by name but cannot list
    // namespaces (RBAC has no "list these names"), so Drover, which knows the projects, tells them the names;
    // whoever may list namespaces cluster-wide gets every one. Each name is then read through the proxy as the user.
    // live: dials the cluster; a replica without its session relays the call (src/http/live-routes.ts).
    app.get('/v1/clusters/:id/namespaces', { config: { live: 'session' }, schema: { ...members, summary: 'The namespaces the caller can see, with their project', params: ClusterParams, response: { 200: Type.Array(VisibleNamespace), ...authErrors, 503: ErrorBody } } }, async (request) => {
      const { id, me } = await visibleCluster(request, request.params.id);
      const live = controllers.live(id);
      if (!live) throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'the cluster is not connected; try again when it is Active');
      const everything = covers(await access.rulesOf(me, { clusterId: id }), [listNamespacesRule]).covered;
      const mine = everything ? undefined : await projectsBoundTo(access, me, id);
      const list = await live.client.list<Namespace>(resourcePath(resources.namespaces));
      const visible: VisibleNamespace[] = [];
      for (const ns of list.items) {
        const name = ns.metadata.name;
        if (name === undefined) continue;
        const projectId = projectOf(ns.metadata.annotations?.[PROJECT_ANNOTATION], id);
        if (mine && (projectId === undefined || !mine.has(projectId))) continue;
        visible.push({ name, ...(projectId === undefined ? {} : { projectId }) });
      }
      return visible.sort((a, b) => a.name.localeCompare(b.name));
    });

    app.post('/v1/clusters/:id/projects', {
      schema: { ...members, summary: 'Create a project (admins and cluster owners)', params: ClusterParams, body: Type.Object({ name: Type.String({ minLength: 1, maxLength: 63 }) }, { additionalProperties: false }), response: { 201: Project, ...authErrors, 409: ErrorBody } },
    }, async (request, reply) => {
      const { id, me } = await visibleCluster(request, request.params.id);
      await requireManager(me, id);
      return reply.status(201).send(await access.createProject(id, request.body.name));
    });

    app.post('/v1/clusters/:id/projects/:project/namespaces', {
      config: { live: 'session' },
      schema: { ...members, summary: 'Move a namespace into a project (sets its field.cattle.io/projectId annotation)', params: ProjectParams,
        body: Type.Object({ namespace: NamespaceName }, { additionalProperties: false }),
        response: { 200: PlacedNamespace, ...authErrors, 503: ErrorBody } },
    }, async (request) => {
      const { id, me } = await visibleCluster(request, request.params.id);
      await requireManager(me, id);
      const project = await access.getProject(id, request.params.project);
      const live = controllers.live(id);
      if (!live) throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'the cluster is not connected; try again when it is Active');
      const path = resourcePath({ ...resources.namespaces, name: request.body.namespace });
      try {
        await live.client.patch(path, { metadata: { annotations: { [PROJECT_ANNOTATION]: `${id}:${project.id}` } } }, { type: 'merge' });
      } catch (error) {
        if (isKubeApiError(error) && error.status === 404) throw new DroverError('DRV_ERR_NOT_FOUND', `no namespace "${request.body.namespace}" in the cluster`);
        throw error;
      }
      return { namespace: request.body.namespace, projectId: project.id };
    });

    app.post('/v1/clusters/:id/namespaces', {
      config: { live: 'session' },
      schema: { ...members, summary: 'Create a namespace in a project (project owners, cluster owners, admins, or whoever may create namespaces in the cluster)', params: ClusterParams,
        body: Type.Object({ name: NamespaceName, project: Type.String({ minLength: 1, maxLength: 128 }) }, { additionalProperties: false }),
        response: { 201: PlacedNamespace, ...authErrors, 409: ErrorBody, 503: ErrorBody } },
    }, async (request, reply) => {
      const { id, me } = await visibleCluster(request, request.params.id);
      const project = await access.getProject(id, request.body.project);
      // Project owners may grow their own project; anyone who may create namespaces in the cluster may too.
      const rules = await access.rulesOf(me, { clusterId: id, projectId: project.id });
      if (!canManageMembers(rules, 'cluster') && !canManageMembers(rules, 'project') && !covers(rules, [createNamespaceRule]).covered) {
        throw new DroverError('DRV_ERR_FORBIDDEN', `you may not create namespaces in project ${project.name}; ask its owner, a cluster owner or an admin`);
      }
      const live = controllers.live(id);
      if (!live) throw new DroverError('DRV_ERR_CLUSTER_UNAVAILABLE', 'the cluster is not connected; try again when it is Active');
      const name = request.body.name;
      try {
        // Create only: an existing namespace is never taken over this way (it may belong to another project, or to none).
        await live.client.create(resourcePath(resources.namespaces), {
          apiVersion: 'v1', kind: 'Namespace', metadata: { name, annotations: { [PROJECT_ANNOTATION]: `${id}:${project.id}` } },
        }, { fieldManager: 'drover' });
      } catch (error) {
        if (isKubeApiError(error) && error.status === 409) {
          throw new DroverError('DRV_ERR_CONFLICT', `namespace "${name}" already exists; a cluster owner can move it with "drover projects add-namespace"`);
        }
        throw error;
      }
      return reply.status(201).send({ namespace: name, projectId: project.id });
    });
    return Promise.resolve();
  };
}

function memberRoutes(options: AccessApiOptions): FastifyPluginAsyncTypebox {
  const { access, identity, principals } = options;

  const { visibleCluster, requireManager } = clusterGuards(options);

  const subjectOf = (user: string | undefined, group: string | undefined, create: boolean): Promise<BindingSubject> =>
    memberSubject({ identity, principals }, user, group, create);

  const view = async (b: ClusterRoleTemplateBinding | ProjectRoleTemplateBinding): Promise<Member> => {
    const base: Member = {
      id: b.id, clusterId: b.clusterId, roleTemplate: b.roleTemplate, subjectKind: b.subject.kind,
      subject: b.subject.kind === 'user' ? b.subject.userId : b.subject.principalId,
    };
    if ('projectId' in b) {
      base.projectId = b.projectId;
      const project = await access.getProject(b.clusterId, b.projectId).catch(() => undefined);
      if (project) base.projectName = project.name;
    }
    if (b.subject.kind === 'user') {
      const user = await identity.users.get(b.subject.userId).catch(() => undefined);
      if (user) base.username = user.username;
    }
    return base;
  };

  return (app) => {
    app.addHook('preHandler', authenticateWith(identity.authenticator));
    const members = { tags: ['access'], security: [{ bearer: [] }] };

    app.get('/v1/clusters/:id/members', {
      schema: { ...members, summary: 'List the members of a cluster (all bindings) or of one project', params: ClusterParams,
        querystring: Type.Object({ project: Type.Optional(Type.String({ maxLength: 128 })) }, { additionalProperties: false }), response: { 200: Type.Array(Member), ...authErrors } },
    }, async (request) => {
      const { id } = await visibleCluster(request, request.params.id);
      const projectId = request.query.project === undefined ? undefined : (await access.getProject(id, request.query.project)).id;
      const list = projectId === undefined
        ? [...await access.clusterBindings(id), ...await access.projectBindings(id)]
        : await access.projectBindings(id, projectId);
      return Promise.all(list.map(view));
    });

    app.post('/v1/clusters/:id/members', {
      schema: { ...members, summary: 'Grant a role template on a cluster or project to a user (by name, id or provider user principal) or group', params: ClusterParams, body: AddMember, response: { 201: Member, ...authErrors, 409: ErrorBody, 422: ErrorBody, 502: ErrorBody } },
    }, async (request, reply) => {
      const { id, me } = await visibleCluster(request, request.params.id);
      const b = request.body;
      const projectId = b.project === undefined ? undefined : (await access.getProject(id, b.project)).id;
      await requireManager(me, id, projectId);
      const catalog = await access.catalog();
      assertCanGrant(catalog, await access.rulesOf(me, projectId === undefined ? { clusterId: id } : { clusterId: id, projectId }), b.role, projectId === undefined ? 'cluster' : 'project');
      const subject = await subjectOf(b.user, b.group, true);
      const binding = await access.addBinding({ clusterId: id, ...(projectId === undefined ? {} : { projectId }), roleTemplate: b.role, subject });
      return reply.status(201).send(await view(binding));
    });

    app.delete('/v1/clusters/:id/members', {
      schema: { ...members, summary: 'Remove a member\'s bindings (one role, or all of them) on a cluster or project', params: ClusterParams, querystring: RemoveMember,
        response: { 200: RemovedMembers, ...authErrors } },
    }, async (request) => {
      const { id, me } = await visibleCluster(request, request.params.id);
      const q = request.query;
      const projectId = q.project === undefined ? undefined : (await access.getProject(id, q.project)).id;
      await requireManager(me, id, projectId);
      const subject = await subjectOf(q.user, q.group, false);
      const key = JSON.stringify(subject);
      const candidates = projectId === undefined ? await access.clusterBindings(id) : await access.projectBindings(id, projectId);
      const matching = candidates.filter((c) => JSON.stringify(c.subject) === key && (q.role === undefined || c.roleTemplate === q.role));
      if (matching.length === 0) throw new DroverError('DRV_ERR_NOT_FOUND', 'no such member binding; see "drover members list"');
      // Removing is granting in reverse: only what the caller could grant (an owner cannot be removed by a member).
      const rules = await access.rulesOf(me, projectId === undefined ? { clusterId: id } : { clusterId: id, projectId });
      const catalog = await access.catalog();
      for (const m of matching) {
        if (catalog.get(m.roleTemplate) && !covers(rules, catalog.resolve(m.roleTemplate).rules).covered) {
          throw new DroverError('DRV_ERR_PRIVILEGE_ESCALATION', `cannot remove role template "${m.roleTemplate}": it holds rights you do not hold`);
        }
      }
      const removed = await Promise.all(matching.map(view));
      await access.removeBindings(id, matching.map((m) => m.id));
      return { removed };
    });
    return Promise.resolve();
  };
}
