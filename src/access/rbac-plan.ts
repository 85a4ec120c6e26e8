/**
 * The reconciler's diff: desired RBAC (from `renderClusterRbac`) against what a
 * watch cache observed downstream, as the writes that would make them equal.
 * Level-based: the same inputs give the same plan, and when nothing changed the
 * plan is empty, so a restart causes no writes.
 *
 * Only objects labelled as Drover's RBAC are ever updated or deleted. An object
 * Drover did not create that has the name of a desired object is left alone and
 * reported as a conflict (fail closed: never take over someone else's binding).
 * A binding whose roleRef changed is deleted and created again, because
 * Kubernetes refuses to change a roleRef in place.
 */
import type { ClusterRole, ClusterRoleBinding, RbacSubject, RoleBinding, RoleRef } from '../downstream/index.ts';
import { isOwnedByDrover } from '../downstream/index.ts';
import { sameRules } from './policy-rules.ts';
import type { DesiredRbac } from './rbac-render.ts';
import { uniqueSubjects } from './subject-shards.ts';
import type { PolicyRule } from './types.ts';

type RbacObject = ClusterRole | ClusterRoleBinding | RoleBinding;

/** What a watch cache holds for an RBAC object; the server's extra fields are ignored. */
export interface ObservedRbacObject {
  kind: 'ClusterRole' | 'ClusterRoleBinding' | 'RoleBinding';
  metadata: { name: string; namespace?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  rules?: PolicyRule[] | null;
  roleRef?: RoleRef;
  subjects?: RbacSubject[] | null;
}

export interface ObjectRef { kind: ObservedRbacObject['kind']; name: string; namespace?: string }

export interface RbacPlan {
  create: RbacObject[];
  /** Full desired objects to write over existing ones (PUT, or server-side apply). */
  update: RbacObject[];
  delete: ObjectRef[];
  /** Desired objects whose name is taken by an object Drover does not own; left untouched. */
  conflicts: ObjectRef[];
}

const keyOf = (o: { kind: string; metadata: { name: string; namespace?: string } }): string => `${o.kind}/${o.metadata.namespace ?? ''}/${o.metadata.name}`;
const refOf = (o: ObservedRbacObject | RbacObject): ObjectRef =>
  (o.metadata.namespace === undefined ? { kind: o.kind, name: o.metadata.name } : { kind: o.kind, name: o.metadata.name, namespace: o.metadata.namespace });

/** Subjects as a canonical string: fixed key order (servers reorder keys) and the apiGroup Kubernetes defaults. */
const sameSubjects = (a: readonly RbacSubject[], b: readonly RbacSubject[]): boolean => {
  const norm = (list: readonly RbacSubject[]): string => JSON.stringify(uniqueSubjects(list).map((s) =>
    [s.kind, s.name, s.namespace ?? '', s.kind === 'ServiceAccount' ? '' : 'rbac.authorization.k8s.io']));
  return norm(a) === norm(b);
};

const labelsHold = (want: Record<string, string> | undefined, have: Record<string, string> | undefined): boolean =>
  Object.entries(want ?? {}).every(([k, v]) => have?.[k] === v);

function differs(desired: RbacObject, observed: ObservedRbacObject): 'same' | 'update' | 'replace' {
  const metaHolds = labelsHold(desired.metadata.labels, observed.metadata.labels) && labelsHold(desired.metadata.annotations, observed.metadata.annotations);
  if (desired.kind === 'ClusterRole') return sameRules(desired.rules, observed.rules ?? []) && metaHolds ? 'same' : 'update';
  if (observed.roleRef?.name !== desired.roleRef.name || observed.roleRef.kind !== desired.roleRef.kind) return 'replace';
  return sameSubjects(desired.subjects, observed.subjects ?? []) && metaHolds ? 'same' : 'update';
}

/** The writes that turn `observed` (every RBAC object the caches hold) into `desired`. */
export function planRbac(desired: DesiredRbac, observed: readonly ObservedRbacObject[]): RbacPlan {
  const plan: RbacPlan = { create: [], update: [], delete: [], conflicts: [] };
  const seen = new Map(observed.map((o) => [keyOf(o), o]));
  const wanted = new Set<string>();
  for (const d of [...desired.clusterRoles, ...desired.clusterRoleBindings, ...desired.roleBindings]) {
    wanted.add(keyOf(d));
    const o = seen.get(keyOf(d));
    if (!o) { plan.create.push(d); continue; }
    if (!isOwnedByDrover(o.metadata.labels, 'rbac')) { plan.conflicts.push(refOf(d)); continue; }
    const change = differs(d, o);
    if (change === 'update') plan.update.push(d);
    if (change === 'replace') { plan.delete.push(refOf(o)); plan.create.push(d); }
  }
  for (const o of observed) {
    if (!wanted.has(keyOf(o)) && isOwnedByDrover(o.metadata.labels, 'rbac')) plan.delete.push(refOf(o));
  }
  return plan;
}
