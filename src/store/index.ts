/**
 * store/: the one typed query layer (Kysely) over SQLite (embedded default,
 * `<data-dir>/drover.db`, WAL + synchronous=FULL) or PostgreSQL (`--db postgres://…`,
 * for several replicas), with ordered migrations in `migrations/`. A thread that
 * writes beside the store (the audit trail's writer) opens its own connection to
 * `Store.file`, set up with `sqlitePragmas` as the store's own.
 *
 * Trusts: the database and the encryption key. Refuses: an unknown `--db` scheme,
 * a failed migration (the server does not start on a half-migrated schema).
 * Fails closed: a secret that does not decrypt with the current key is an error,
 * never an empty value. Token secrets never reach this layer in clear: callers
 * store only `src/tokens/token.ts` hashes.
 */
export { openStore, isUniqueViolation, describeDbUrl, type Store, type StoreKind, type OpenStoreOptions } from './open-store.ts';
export { openSqliteConnection, sqlitePragmas } from './sqlite-connection.ts';
export { createSecretBox, loadEncryptionKey, parseKey, type SecretBox } from './secret-box.ts';
export { deleteSecrets, putSecret, readSecret } from './stored-secrets.ts';
export type { Database, UsersTable, TokensTable, SecretsTable, ClustersTable, AuthProvidersTable, UserPrincipalsTable, ProviderCredentialsTable, SettingsTable, ReplicasTable, ClusterTunnelsTable, ProvisionedNodesTable, AuditEventsTable, LoginFlowsTable, LoginFailuresTable } from './schema.ts';
export { migrations, type Migration } from './migrations/index.ts';
