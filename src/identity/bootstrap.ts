/**
 * First start: the `admin` user, with DROVER_BOOTSTRAP_PASSWORD or a random password
 * shown once. A shown password lands in logs and terminals, so it must be changed at
 * first login; a given one is the operator's choice and is kept.
 */
import { isDroverError } from '../errors/index.ts';
import { generatePassword } from './passwords.ts';
import type { User } from './types.ts';
import type { UserService } from './user-service.ts';

export interface BootstrapResult {
  user: User;
  /** Set only when Drover chose the password; the caller shows it once. */
  generatedPassword?: string;
}

/** Creates `admin` when the store has no users; undefined when there was nothing to do. `given`: DROVER_BOOTSTRAP_PASSWORD. */
export async function bootstrapAdmin(users: UserService, given: string | undefined): Promise<BootstrapResult | undefined> {
  if ((await users.count()) > 0) return undefined;
  const chosen = given !== undefined && given !== '';
  const password = chosen ? given : generatePassword();
  try {
    const user = await users.create({ username: 'admin', displayName: 'Default Admin', password, globalRole: 'admin', mustChangePassword: !chosen });
    return chosen ? { user } : { user, generatedPassword: password };
  } catch (error) {
    // Another replica on the same PostgreSQL bootstrapped first: nothing left to do.
    if (isDroverError(error) && error.code === 'DRV_ERR_CONFLICT') return undefined;
    throw error;
  }
}
