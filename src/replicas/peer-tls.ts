/**
 * The replicas' own mutual-TLS identity. A dedicated peer CA, made by the first
 * replica and kept in the database with its key encrypted by the SecretBox
 * (`secrets` row `replica-peer-ca`): only a process holding both the database and
 * the encryption key (a replica) can read it, and it signs nothing but replica
 * certificates, so no user, agent or other certificate can chain to it. Each
 * replica issues itself a fresh certificate at every start (CN `drover-replica:<id>`,
 * serverAuth + clientAuth, SAN `peerServerName`).
 *
 * Both ends check each other: the listener asks every client for a certificate from
 * the peer CA (none is fine: ordinary clients send none) and `isReplicaPeer` says
 * whether this connection proved one; a relaying replica dials with SNI
 * `peerServerName`, gets the listener's peer certificate, and verifies it against
 * the peer CA and that name, so a relayed caller's token only ever reaches a replica.
 */
import type { ConnectionOptions, PeerCertificate, TLSSocket } from 'node:tls';
import type { Kysely } from 'kysely';
import { createCa, issueCertificate, type KeyPair } from '../certificates/index.ts';
import type { Database, SecretBox } from '../store/index.ts';

/** The TLS server name a replica asks for when it dials a peer; never a real host. */
export const peerServerName = 'drover-replica.peer.invalid';
const commonNamePrefix = 'drover-replica:';
const secretName = 'replica-peer-ca';
const clientAuthOid = '1.3.6.1.5.5.7.3.2';

/** This replica's peer certificate and the peer CA that both ends verify against. */
export interface PeerCredentials extends KeyPair {
  caPem: string;
}

async function peerAuthority(db: Kysely<Database>, secrets: SecretBox): Promise<KeyPair> {
  const read = async (): Promise<KeyPair | undefined> => {
    const row = await db.selectFrom('secrets').select('ciphertext').where('name', '=', secretName).executeTakeFirst();
    return row && JSON.parse(secrets.decrypt(row.ciphertext, secretName)) as KeyPair;
  };
  const known = await read();
  if (known) return known;
  // Replicas starting together race here: the first insert wins, everyone uses what is stored.
  const made = await createCa(`drover-replica-ca@${Math.floor(Date.now() / 1000)}`, 3650);
  await db.insertInto('secrets').values({ name: secretName, ciphertext: secrets.encrypt(JSON.stringify(made), secretName), updated_at: new Date().toISOString() })
    .onConflict((oc) => oc.column('name').doNothing()).execute();
  const stored = await read();
  if (!stored) throw new Error('the replica peer CA was not stored; check that the database accepts writes');
  return stored;
}

/** Loads (or, on the first replica, creates) the peer CA and issues this replica's certificate. */
export async function loadPeerCredentials(db: Kysely<Database>, secrets: SecretBox, replicaId: string): Promise<PeerCredentials> {
  const ca = await peerAuthority(db, secrets);
  const leaf = await issueCertificate(ca, { commonName: `${commonNamePrefix}${replicaId}`, usage: 'peer', hosts: [peerServerName], validDays: 365 });
  return { ...leaf, caPem: ca.certPem };
}

function replicaIdIn(cert: Partial<PeerCertificate>): string | undefined {
  const cn = cert.subject?.CN;
  return typeof cn === 'string' && cn.startsWith(commonNamePrefix) ? cn.slice(commonNamePrefix.length) : undefined;
}

/**
 * TLS options for dialing replica `replicaId`: our peer certificate, trust in the peer CA
 * only, the peer server name, and the replica id the certificate must name. The CA, the
 * name and the id are what is checked, not the address dialed (a pod IP): an address
 * outlives the process that advertised it. A replica restarted on the same address is a
 * new replica with a new id and none of the old one's sessions; a relay that took it for
 * the old one would land where the cluster is not served.
 */
export function peerClientTls(peer: PeerCredentials, replicaId: string): ConnectionOptions {
  return {
    cert: peer.certPem, key: peer.keyPem, ca: peer.caPem, servername: peerServerName,
    checkServerIdentity: (_host, cert) => {
      const id = replicaIdIn(cert);
      if (id === undefined) return new Error('the peer did not present a Drover replica certificate');
      return id === replicaId ? undefined : new Error(`the address answers as replica ${id}, not ${replicaId} (restarted since its last heartbeat)`);
    },
  };
}

/**
 * The replica id each verified connection's certificate names, read once per connection:
 * `getPeerCertificate()` builds a new object from the certificate on every call, and a
 * relayed connection carries many requests.
 */
const provedIds = new WeakMap<object, string | undefined>();

/** The replica id this connection proved with a peer certificate, or undefined for any other client. */
export function replicaPeerOf(socket: unknown): string | undefined {
  const tls = socket as Partial<TLSSocket>;
  // `authorized`: the chain verified against the peer CA, the only CA the listener trusts for clients.
  // Checked on every call, so only a connection verified now is ever taken for a replica.
  if (tls.authorized !== true || typeof tls.getPeerCertificate !== 'function') return undefined;
  if (provedIds.has(tls)) return provedIds.get(tls);
  const cert = tls.getPeerCertificate();
  const id = (cert.ext_key_usage ?? []).includes(clientAuthOid) ? replicaIdIn(cert) : undefined;
  provedIds.set(tls, id);
  return id;
}
