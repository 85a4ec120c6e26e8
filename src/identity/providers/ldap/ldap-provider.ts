/**
 * One LDAP provider, two flavours (OpenLDAP and Active Directory). Login: the
 * service account finds exactly one user by the login attribute (value escaped
 * per RFC 4515), then a separate connection binds as that user's DN with the
 * password: the directory checks the password, Drover never compares one. An
 * empty password is refused before any bind (an empty simple bind is an
 * unauthenticated bind that many servers accept). Groups: direct membership by
 * `member=<dn>`, nested groups by AD's in-chain matching rule where the server
 * has it, else by walking `member` upwards level by level, with a depth limit
 * and cycle protection. AD accounts with userAccountControl bit 2 (disabled)
 * count as gone.
 */
import { Client, InvalidCredentialsError, NoSuchObjectError, type Entry } from 'ldapts';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { DroverError } from '../../../errors/index.ts';
import type { Logger } from '../../../logging/index.ts';
import type { PasswordProvider, Principal, RefreshResult, VerifiedIdentity } from '../types.ts';
import type { LdapSettings } from './config.ts';
import { dnKey, isWithin, normalizeDn, parseDn } from './dn.ts';
import { contains, equals, escapeFilterValue } from './filter.ts';
import { BoundPool } from './pool.ts';

/** Active Directory's LDAP_MATCHING_RULE_IN_CHAIN: transitive membership in one search. */
export const inChainRule = '1.2.840.113556.1.4.1941';
/** rootDSE supportedCapabilities value of Active Directory (LDAP_CAP_ACTIVE_DIRECTORY_OID). */
const adCapability = '1.2.840.113556.1.4.800';
const accountDisabled = 0x2;
const wrongLogin = (): DroverError => new DroverError('DRV_ERR_UNAUTHENTICATED', 'invalid username or password');

function values(entry: Entry, attribute: string): string[] {
  const key = Object.keys(entry).find((k) => k.toLowerCase() === attribute.toLowerCase());
  if (key === undefined) return [];
  const v = entry[key];
  if (v === undefined) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x) => (Buffer.isBuffer(x) ? x.toString('utf8') : x));
}

const first = (entry: Entry, attribute: string): string | undefined => values(entry, attribute)[0];

export class LdapProvider implements PasswordProvider {
  readonly name: 'openldap' | 'activedirectory';
  readonly style = 'password' as const;
  private readonly settings: LdapSettings;
  private readonly logger: Logger;
  private readonly pool: BoundPool;
  private nestedMode: Promise<'in-chain' | 'walk' | 'none'> | undefined;
  /**
   * Clients whose TLS socket closed. ldapts watches only the plain socket for
   * "close", so after StartTLS a connection the server dropped still looks
   * connected; the pool must not hand it out.
   */
  private readonly tlsClosed = new WeakSet<Client>();

  constructor(settings: LdapSettings, logger: Logger) {
    this.settings = settings;
    this.name = settings.flavour;
    this.logger = logger;
    this.pool = new BoundPool(() => this.connect(settings.bindDn, settings.bindPassword, true), settings.poolSize,
      (client) => client.isConnected && !this.tlsClosed.has(client));
  }

  private tlsOptions(): ConnectionOptions {
    const host = new URL(this.settings.url).hostname;
    return { minVersion: 'TLSv1.2', ...(this.settings.caPem ? { ca: this.settings.caPem } : {}), servername: /^[\d.]+$|:/.test(host) ? undefined : host };
  }

  private async connect(dn: string, password: string, service: boolean): Promise<Client> {
    const holder: { client?: Client } = {};
    const client = new Client({
      url: this.settings.url, timeout: this.settings.operationTimeoutMs, connectTimeout: this.settings.connectTimeoutMs,
      ...(this.settings.secure ? { tlsOptions: this.tlsOptions() } : {}), strictDN: true,
      createSecureConnection: ((...args: Parameters<typeof tlsConnect>) => {
        const socket = (tlsConnect as (...a: Parameters<typeof tlsConnect>) => TLSSocket)(...args);
        socket.once('close', () => { if (holder.client) this.tlsClosed.add(holder.client); });
        return socket;
      }) as typeof tlsConnect,
    });
    holder.client = client;
    try {
      if (this.settings.startTls) await client.startTLS(this.tlsOptions());
      await client.bind(dn, password);
      return client;
    } catch (error) {
      await client.unbind().catch(() => undefined);
      if (error instanceof InvalidCredentialsError && service) {
        throw new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `${this.name}: the directory refused the service account bind; check bindDn and bindPassword`, { cause: error });
      }
      throw error;
    }
  }

  /** Any failure to talk to the directory becomes a 502 that names the server, never the credentials. */
  private unavailable(error: unknown): DroverError {
    if (error instanceof DroverError) return error;
    const reason = error instanceof Error ? error.message.replace(/\s+/g, ' ').slice(0, 200) : String(error);
    return new DroverError('DRV_ERR_PROVIDER_UNAVAILABLE', `${this.name}: could not query the directory at ${this.settings.url} (${reason}); check the provider settings and that the server is reachable`, { cause: error });
  }

  private async find(base: string, filter: string, attributes: string[], options: { scope?: 'base' | 'sub'; sizeLimit?: number } = {}): Promise<Entry[]> {
    try {
      return await this.pool.use(async (client) => (await client.search(base, {
        scope: options.scope ?? 'sub', filter, attributes, sizeLimit: options.sizeLimit ?? 0,
        timeLimit: Math.ceil(this.settings.operationTimeoutMs / 1000),
      })).searchEntries);
    } catch (error) {
      if (error instanceof NoSuchObjectError) return [];
      throw this.unavailable(error);
    }
  }

  private async findFresh(base: string, filter: string): Promise<Entry[]> {
    let client: Client | undefined;
    try {
      client = await this.connect(this.settings.bindDn, this.settings.bindPassword, true);
      return (await client.search(base, { scope: 'base', filter, attributes: this.userAttributes() })).searchEntries;
    } catch (error) {
      if (error instanceof NoSuchObjectError) return [];
      throw this.unavailable(error);
    } finally {
      await client?.unbind().catch(() => undefined);
    }
  }

  private userAttributes(): string[] {
    const s = this.settings;
    return [s.loginAttribute, s.displayNameAttribute, 'cn', ...(s.flavour === 'activedirectory' ? ['userAccountControl'] : [])];
  }

  private isDisabled(entry: Entry): boolean {
    if (this.settings.flavour !== 'activedirectory') return false;
    const uac = Number(first(entry, 'userAccountControl') ?? '0');
    return Number.isFinite(uac) && (uac & accountDisabled) !== 0;
  }

  private userPrincipal(entry: Entry): Principal {
    const login = first(entry, this.settings.loginAttribute);
    return {
      id: `${this.name}_user://${normalizeDn(entry.dn)}`, kind: 'user', provider: this.name,
      displayName: first(entry, this.settings.displayNameAttribute) ?? first(entry, 'cn') ?? login ?? entry.dn,
      ...(login === undefined ? {} : { loginName: login }),
    };
  }

  private groupPrincipal(entry: Entry): Principal {
    return {
      id: `${this.name}_group://${normalizeDn(entry.dn)}`, kind: 'group', provider: this.name,
      displayName: first(entry, this.settings.groupNameAttribute) ?? entry.dn,
    };
  }

  async authenticate(username: string, password: string): Promise<VerifiedIdentity> {
    // Refused before any bind: an empty password is an unauthenticated bind, which "succeeds".
    if (password === '' || username.trim() === '' || username.length > 256 || password.length > 1024) throw wrongLogin();
    const s = this.settings;
    const filter = `(&${s.userFilter}${equals(s.loginAttribute, username)})`;
    const found = await this.find(s.userBaseDn, filter, this.userAttributes(), { sizeLimit: 2 });
    // Zero or several matches: the same answer as a wrong password.
    const entry = found.length === 1 ? found[0] : undefined;
    if (!entry || this.isDisabled(entry)) throw wrongLogin();
    let client: Client | undefined;
    try {
      client = await this.connect(entry.dn, password, false);
    } catch (error) {
      if (error instanceof InvalidCredentialsError) throw wrongLogin();
      throw this.unavailable(error);
    } finally {
      await client?.unbind().catch(() => undefined);
    }
    return { user: this.userPrincipal(entry), groups: await this.groupsOf(entry.dn) };
  }

  async refresh(userPrincipalId: string): Promise<RefreshResult> {
    const prefix = `${this.name}_user://`;
    if (!userPrincipalId.startsWith(prefix)) throw new DroverError('DRV_ERR_INTERNAL', `${this.name} cannot refresh ${userPrincipalId.slice(0, 40)}`);
    const dn = userPrincipalId.slice(prefix.length);
    parseDn(dn);
    if (!isWithin(dn, this.settings.userBaseDn)) return { state: 'gone', reason: 'no longer under the configured user base DN' };
    const filter = this.settings.userFilter || '(objectClass=*)';
    let entry = (await this.find(dn, filter, this.userAttributes(), { scope: 'base' }))[0];
    // "Gone" revokes tokens: confirm it on a freshly bound connection, so a pooled
    // connection that lost its bind (and sees nothing) cannot log everyone out.
    if (!entry) entry = (await this.findFresh(dn, filter))[0];
    if (!entry) return { state: 'gone', reason: 'no such user in the directory' };
    if (this.isDisabled(entry)) return { state: 'gone', reason: 'account disabled in Active Directory' };
    return { state: 'found', identity: { user: this.userPrincipal(entry), groups: await this.groupsOf(entry.dn) } };
  }

  /** The directory is asked through the service account, exactly as a background refresh asks it. */
  confirmUser(userPrincipalId: string): Promise<RefreshResult> {
    return this.refresh(userPrincipalId);
  }

  private nested(): Promise<'in-chain' | 'walk' | 'none'> {
    const mode = this.settings.nestedGroups;
    if (mode !== 'auto') return Promise.resolve(mode);
    this.nestedMode ??= this.find('', '(objectClass=*)', ['supportedCapabilities'], { scope: 'base' })
      .then((root) => (root[0] && values(root[0], 'supportedCapabilities').includes(adCapability) ? 'in-chain' as const : 'walk' as const))
      .catch((error: unknown) => { this.nestedMode = undefined; throw error; });
    return this.nestedMode;
  }

  /** Every group the DN is in, nested groups resolved. */
  async groupsOf(dn: string): Promise<Principal[]> {
    const s = this.settings;
    const mode = await this.nested();
    const attrs = [s.groupNameAttribute];
    const ofClass = equals('objectClass', s.groupObjectClass);
    if (mode === 'in-chain') {
      const entries = await this.find(s.groupBaseDn, `(&${ofClass}(${s.groupMemberAttribute}:${inChainRule}:=${escapeFilterValue(dn)}))`, attrs);
      return this.unique(entries);
    }
    const seen = new Map<string, Entry>();
    let level = [dn];
    for (let depth = 0; level.length > 0 && depth <= (mode === 'none' ? 0 : s.maxNestingDepth); depth++) {
      const members = level.map((m) => equals(s.groupMemberAttribute, m)).join('');
      const entries = await this.find(s.groupBaseDn, `(&${ofClass}(|${members}))`, attrs);
      level = [];
      for (const entry of entries) {
        const key = dnKey(entry.dn);
        if (seen.has(key)) continue; // cycle or diamond
        seen.set(key, entry);
        level.push(entry.dn);
      }
      if (depth === s.maxNestingDepth && level.length > 0) this.logger.warn({ depth }, 'group nesting deeper than maxNestingDepth; deeper groups ignored');
    }
    return this.unique([...seen.values()]);
  }

  private unique(entries: Entry[]): Principal[] {
    const byId = new Map<string, Principal>();
    for (const e of entries) {
      const p = this.groupPrincipal(e);
      byId.set(p.id, p);
    }
    return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  /** Users by login name or display name, and groups by name; the query is escaped, so `*` matches only a literal star. */
  async search(query: string, limit: number): Promise<Principal[]> {
    const s = this.settings;
    const q = query.trim();
    if (q === '' || limit <= 0) return [];
    const users = await this.find(s.userBaseDn, `(&${s.userFilter}(|${contains(s.loginAttribute, q)}${contains(s.displayNameAttribute, q)}))`,
      this.userAttributes(), { sizeLimit: limit });
    const groups = await this.find(s.groupBaseDn, `(&${equals('objectClass', s.groupObjectClass)}${contains(s.groupNameAttribute, q)})`,
      [s.groupNameAttribute], { sizeLimit: limit });
    return [...users.filter((e) => !this.isDisabled(e)).map((e) => this.userPrincipal(e)), ...groups.map((e) => this.groupPrincipal(e))].slice(0, limit);
  }

  async close(): Promise<void> {
    await this.pool.close();
  }

  get poolStats(): { open: number; idle: number; waiting: number } { return this.pool.stats; }
}
