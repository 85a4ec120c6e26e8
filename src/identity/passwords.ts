/**
 * Local passwords: argon2id (OWASP's 19 MiB, t=2, p=1 profile), minimum 12
 * characters. `verifyPasswordOrDummy` spends the same argon2 work when the user
 * does not exist, so response time does not reveal which usernames are real.
 */
import { hash, verify } from '@node-rs/argon2';
import { DroverError } from '../errors/index.ts';
import { randomString } from '../tokens/index.ts';

export const minPasswordLength = 12;
const maxPasswordLength = 256;
const options = { memoryCost: 19456, timeCost: 2, parallelism: 1 } as const;
let dummyHash: Promise<string> | undefined;

export function checkPasswordPolicy(password: string): void {
  if (password.length < minPasswordLength) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', `password is too short: use at least ${minPasswordLength} characters`);
  }
  if (password.length > maxPasswordLength) {
    throw new DroverError('DRV_ERR_UNPROCESSABLE', `password is too long: use at most ${maxPasswordLength} characters`);
  }
}

/**
 * A password Drover chooses (bootstrap admin, a user created without one, a reset):
 * 24 characters without look-alikes (about 140 bits). Whoever gets it must change it
 * at first login, since it was shown to someone else first.
 */
export function generatePassword(): string {
  return randomString('ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789', 24);
}

/** argon2id PHC string (the default algorithm of @node-rs/argon2 is argon2id). */
export function hashPassword(password: string): Promise<string> {
  return hash(password, options);
}

/** True if `password` matches `stored`; with no stored hash, burns the same time and returns false. */
export async function verifyPasswordOrDummy(stored: string | null | undefined, password: string): Promise<boolean> {
  if (password.length > maxPasswordLength) return false;
  if (stored == null) {
    dummyHash ??= hash('drover-dummy-password-for-timing', options);
    await verify(await dummyHash, password).catch(() => false);
    return false;
  }
  return verify(stored, password).catch(() => false);
}
