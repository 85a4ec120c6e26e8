/** Role templates, projects and members (routes in src/access/access-api.ts). */
import { Type, type Static } from 'typebox';

/** A Kubernetes PolicyRule, bounded; also what a custom role template is created with. */
export const PolicyRule = Type.Object({
  verbs: Type.Array(Type.String({ maxLength: 64 }), { maxItems: 64 }),
  apiGroups: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 64 })),
  resources: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 128 })),
  resourceNames: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 256 })),
  nonResourceURLs: Type.Optional(Type.Array(Type.String({ maxLength: 512 }), { maxItems: 64 })),
}, { additionalProperties: false });
export type PolicyRule = Static<typeof PolicyRule>;

export const RoleTemplate = Type.Object({
  name: Type.String(),
  displayName: Type.String(),
  description: Type.String(),
  context: Type.Union([Type.Literal('cluster'), Type.Literal('project')]),
  rules: Type.Array(PolicyRule),
  inherits: Type.Array(Type.String()),
  builtin: Type.Boolean(),
  locked: Type.Boolean(),
});
export type RoleTemplate = Static<typeof RoleTemplate>;

/** A role template with its inheritance flattened. */
export const ResolvedRoleTemplate = Type.Object({ template: RoleTemplate, rules: Type.Array(PolicyRule), includes: Type.Array(Type.String()) });
export type ResolvedRoleTemplate = Static<typeof ResolvedRoleTemplate>;

export const Project = Type.Object({ id: Type.String(), clusterId: Type.String(), name: Type.String(), createdAt: Type.String() });
export type Project = Static<typeof Project>;

export const Member = Type.Object({
  id: Type.String(),
  clusterId: Type.String(),
  projectId: Type.Optional(Type.String()),
  projectName: Type.Optional(Type.String()),
  roleTemplate: Type.String(),
  subjectKind: Type.Union([Type.Literal('user'), Type.Literal('group')]),
  subject: Type.String({ description: 'user id or group principal id' }),
  username: Type.Optional(Type.String()),
});
export type Member = Static<typeof Member>;

export const RemovedMembers = Type.Object({ removed: Type.Array(Member) });
export type RemovedMembers = Static<typeof RemovedMembers>;

/** A namespace and the project it was placed in. */
export const PlacedNamespace = Type.Object({ namespace: Type.String(), projectId: Type.String() });
export type PlacedNamespace = Static<typeof PlacedNamespace>;

/** A namespace the caller can see (the explorer's navigation), with its project. */
export const VisibleNamespace = Type.Object({ name: Type.String(), projectId: Type.Optional(Type.String()) });
export type VisibleNamespace = Static<typeof VisibleNamespace>;
