/**
 * Labels and names of the downstream objects Drover owns. Every object carries
 * `app.kubernetes.io/managed-by: drover` plus `drover.io/component`, so a
 * reconciler lists exactly what it owns with one selector and never touches
 * objects it did not create. Ids that become names or label values are checked
 * here, so a crafted id cannot reach an object name.
 */
import { DroverError } from '../errors/index.ts';

export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY_VALUE = 'drover';
export const COMPONENT_LABEL = 'drover.io/component';
/** What an RBAC object is for: `role-template`, `cluster-binding`, `project-binding`, `project-namespaces`, `global-admin`. */
export const PURPOSE_LABEL = 'drover.io/purpose';
export const ROLE_TEMPLATE_LABEL = 'drover.io/role-template';
export const PROJECT_LABEL = 'drover.io/project';
export const USER_LABEL = 'drover.io/user';

export type Component = 'rbac' | 'impersonation';

/** Label selector for everything of one component Drover owns on a cluster. */
export const ownedSelector = (component: Component): string => `${MANAGED_BY_LABEL}=${MANAGED_BY_VALUE},${COMPONENT_LABEL}=${component}`;

export function ownedLabels(component: Component, extra: Record<string, string> = {}): Record<string, string> {
  return { [MANAGED_BY_LABEL]: MANAGED_BY_VALUE, [COMPONENT_LABEL]: component, ...extra };
}

/** Whether an object's labels say Drover owns it (for `component`, when given). */
export function isOwnedByDrover(labels: Readonly<Record<string, string>> | undefined, component?: Component): boolean {
  if (labels?.[MANAGED_BY_LABEL] !== MANAGED_BY_VALUE) return false;
  return component === undefined || labels[COMPONENT_LABEL] === component;
}

const ID = /^[a-z0-9]([-a-z0-9]{0,38}[a-z0-9])?$/;

/** Whether an id (user, project) can be part of an object name and a label value. */
export const isObjectId = (id: unknown): boolean => typeof id === 'string' && ID.test(id);

/** Refuses an id (user, project) that cannot be part of an object name and a label value. */
export function assertObjectId(kind: string, id: string): void {
  if (!isObjectId(id)) {
    throw new DroverError('DRV_ERR_INVALID_ARGUMENT', `${kind} id ${JSON.stringify(id)} must be 1-40 characters of a-z, 0-9 and "-"`);
  }
}
