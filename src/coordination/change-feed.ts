/**
 * The change feed's contract. Every write that changes state some process holds in
 * memory publishes one event naming the table and the key it changed; every replica
 * hears the events of the others and drops or re-reads exactly that piece of its
 * memory. Events are hints ("re-read this"), never data, so a lost or repeated event
 * costs a re-read at most, and a periodic full re-read (`onResync`) bounds how long a
 * lost one can matter.
 */

/** The tables whose rows some replica keeps in memory. */
export type ChangeTable =
  | 'users' // key: user id (admin set, token cache entries of the user, open streams)
  | 'tokens' // key: token id (token cache, open streams)
  | 'bindings' // key: cluster id (projects, cluster and project role bindings: the membership index)
  | 'role_templates' // key: template name (the catalog)
  | 'settings' // key: setting name (kubeconfig settings)
  | 'auth_providers' // key: provider name (live provider instances)
  | 'clusters' // key: cluster id (deleted clusters, an accepted kube-apiserver)
  | 'registration_tokens'; // key: cluster id (a rotation: agent sessions opened with the old token end)

export interface ChangeEvent { table: ChangeTable; key: string }

/** What writers get: publish after (or inside) the transaction that committed the change. */
export interface ChangePublisher {
  /** Fire and forget: a failure is logged, and the periodic re-read covers the loss. */
  publish(event: ChangeEvent): void;
}

/** Why every view is being re-read: the periodic safety net, or a (re)connected listener that may have missed events. */
export type ResyncReason = 'periodic' | 'connected';

export interface ChangeFeed extends ChangePublisher {
  /** Calls `handler` with the key of every event another replica published on `table`. */
  on(table: ChangeTable, handler: (key: string) => Promise<void> | void): void;
  /** Calls `handler` for every full re-read. */
  onResync(handler: (reason: ResyncReason) => Promise<void> | void): void;
  /** Starts listening (returns at once; connecting and reconnecting happen in the background). */
  start(): void;
  /** Stops listening; idempotent. */
  close(): Promise<void>;
}

/**
 * One process on SQLite: every write is made by this process, which updates its own
 * memory as it writes, so there is nothing to tell anyone. The same interface keeps
 * the code paths the same on both engines.
 */
export class LocalChangeFeed implements ChangeFeed {
  publish(): void { /* nobody else to tell */ }
  on(): void { /* no other replica publishes */ }
  onResync(): void { /* memory is never stale: no re-read needed */ }
  start(): void { /* nothing to listen to */ }
  close(): Promise<void> { return Promise.resolve(); }
}
