/** One string for everything a user's impersonation headers and ClusterRole are made of. */
import type { UserIdentity } from './identity.ts';

/** Id, username, groups and principal ids, separated by characters none of them may hold. */
export function identityKey(user: UserIdentity): string {
  return `${user.id}\u0000${user.username}\u0000${user.groups.join('\u0001')}\u0000${user.principalIds.join('\u0001')}`;
}
