/**
 * Checks a user identity before any of it becomes an object name, an RBAC
 * resourceName or an HTTP header value. Kubernetes does not decode impersonation
 * header values (only `Impersonate-Extra-` keys are percent-decoded), so a value
 * must travel byte for byte: printable ASCII, no leading or trailing blanks (HTTP
 * would trim them, and the apiserver would then authorize another name). Anything
 * else is refused rather than altered.
 */
import { DroverError } from '../errors/index.ts';
import { assertObjectId } from '../downstream/index.ts';

/** The identity the proxy forwards as: what the impersonation headers carry and the impersonation role allows. */
export interface UserIdentity {
  /** Drover user id (`u-...`): the Kubernetes user name downstream. */
  id: string;
  /** The login name, sent as the `username` extra. */
  username: string;
  /** Every principal URI of the user (`local://u-abc`, `github_user://1`), sent as `principalid` extras. */
  principalIds: string[];
  /** Group principals (and any other group names); `system:authenticated` and `system:cattle:authenticated` are added. */
  groups: string[];
}

/** Groups every authenticated Drover user carries, as the reference design adds them. */
export const AUTHENTICATED_GROUPS = ['system:authenticated', 'system:cattle:authenticated'] as const;

const HEADER_SAFE = /^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/;

/** Refuses a value that cannot be sent unchanged as an HTTP header value. */
export function assertHeaderSafe(what: string, value: string): void {
  if (typeof value !== 'string' || !HEADER_SAFE.test(value)) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', `${what} ${JSON.stringify(value)} cannot be impersonated: only printable ASCII without leading or trailing blanks travels unchanged in a header`);
  }
}

/**
 * The identity with groups completed and every list sorted and de-duplicated;
 * throws if any part is unusable. Groups named `system:...` are dropped, except the
 * two authenticated groups, which are always added.
 */
export function canonicalIdentity(identity: UserIdentity): UserIdentity {
  assertObjectId('user', identity.id);
  assertHeaderSafe('username', identity.username);
  // Kubernetes' own `system:` groups (system:masters, system:nodes, ...) are never Drover's to grant: dropped.
  const own = identity.groups.filter((g) => !g.startsWith('system:'));
  const groups = [...new Set([...own, ...AUTHENTICATED_GROUPS])].sort();
  const principalIds = [...new Set(identity.principalIds)].sort();
  for (const g of groups) assertHeaderSafe('group', g);
  for (const p of principalIds) assertHeaderSafe('principal id', p);
  return { id: identity.id, username: identity.username, principalIds, groups };
}
