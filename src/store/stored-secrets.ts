/**
 * The one owner of the `secrets` table: named credentials Drover must use again (a
 * cluster's registration token and agent credential, a provider's secret settings),
 * encrypted by the SecretBox with their name as associated data, so a value copied under
 * another name does not decrypt. Callers pass their transaction when a secret changes
 * together with other rows.
 */
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';
import type { SecretBox } from './secret-box.ts';

/** Stores `value` under `name`, replacing what was there. */
export async function putSecret(db: Kysely<Database>, box: SecretBox, name: string, value: string, at: string): Promise<void> {
  const ciphertext = box.encrypt(value, name);
  await db.insertInto('secrets').values({ name, ciphertext, updated_at: at })
    .onConflict((oc) => oc.column('name').doUpdateSet({ ciphertext, updated_at: at }))
    .execute();
}

/** The value stored under `name`; undefined when there is none. A value that does not decrypt throws. */
export async function readSecret(db: Kysely<Database>, box: SecretBox, name: string): Promise<string | undefined> {
  const row = await db.selectFrom('secrets').select('ciphertext').where('name', '=', name).executeTakeFirst();
  return row && box.decrypt(row.ciphertext, name);
}

export async function deleteSecrets(db: Kysely<Database>, names: readonly string[]): Promise<void> {
  if (names.length > 0) await db.deleteFrom('secrets').where('name', 'in', names).execute();
}
