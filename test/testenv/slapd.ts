/**
 * A real OpenLDAP server (Debian's /usr/sbin/slapd) for the provider tests: a
 * temporary cn=config directory made with slapadd (mdb backend, memberof and
 * refint overlays), ldap:// (with StartTLS) and ldaps:// on free loopback ports,
 * TLS from a throwaway CA, a small schema for the Active-Directory-shaped data
 * (sAMAccountName, userAccountControl, objectClass user/group), and seed data
 * with users and nested groups:
 *
 *   OpenLDAP (ou=people / ou=groups): alice, frank ∈ ops ⊂ platform ⊂ engineering;
 *   bob ∈ platform; carol in no group; loop-a ⊂ loop-b ⊂ loop-a (a cycle).
 *   AD-shaped (ou=ad): dave (sAMAccountName) ∈ ad-ops ⊂ ad-eng; erin disabled (userAccountControl 514).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Attribute, Change, Client } from 'ldapts';
import { loadOrCreateTls } from '../../src/server/tls.ts';
import { freePorts } from './ports.ts';
import { waitFor } from './wait.ts';

export const suffix = 'dc=example,dc=org';
export const rootDn = `cn=admin,${suffix}`;
export const rootPassword = 'root-secret';
export const serviceDn = `cn=drover,ou=services,${suffix}`;
export const servicePassword = 'service-secret';
export const userPassword = (name: string): string => `${name}-password`;
export const peopleDn = `ou=people,${suffix}`;
export const groupsDn = `ou=groups,${suffix}`;
export const adUsersDn = `ou=users,ou=ad,${suffix}`;
export const adGroupsDn = `ou=groups,ou=ad,${suffix}`;
export const userDn = (uid: string): string => `uid=${uid},${peopleDn}`;
export const groupDn = (cn: string): string => `cn=${cn},${groupsDn}`;
export const adUserDn = (cn: string): string => `cn=${cn},${adUsersDn}`;
export const adGroupDn = (cn: string): string => `cn=${cn},${adGroupsDn}`;

export interface Slapd {
  /** ldap://127.0.0.1:PORT (StartTLS available). */
  url: string;
  /** ldaps://127.0.0.1:PORT. */
  ldapsUrl: string;
  caPem: string;
  dir: string;
  /** Adds or removes `member: memberDn` on a group (runtime changes for the refresh tests). */
  addMember(groupDn: string, memberDn: string): Promise<void>;
  removeMember(groupDn: string, memberDn: string): Promise<void>;
  /** Replaces one attribute's values on an entry (as the root DN). */
  replace(dn: string, attribute: string, values: string[]): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again on the same ports and data (after stop()). */
  start(): Promise<void>;
}

const adSchema = `dn: cn=adshape,cn=schema,cn=config
objectClass: olcSchemaConfig
cn: adshape
olcAttributeTypes: ( 1.2.840.113556.1.4.221 NAME 'sAMAccountName' EQUALITY caseIgnoreMatch SUBSTR caseIgnoreSubstringsMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.15 SINGLE-VALUE )
olcAttributeTypes: ( 1.2.840.113556.1.4.8 NAME 'userAccountControl' EQUALITY integerMatch SYNTAX 1.3.6.1.4.1.1466.115.121.1.27 SINGLE-VALUE )
olcObjectClasses: ( 1.2.840.113556.1.5.9 NAME 'user' SUP inetOrgPerson STRUCTURAL MAY ( sAMAccountName $ userAccountControl ) )
olcObjectClasses: ( 1.2.840.113556.1.5.8 NAME 'group' SUP top STRUCTURAL MUST cn MAY ( member $ sAMAccountName $ description ) )
`;

function config(dir: string): string {
  return `dn: cn=config
objectClass: olcGlobal
cn: config
olcPidFile: ${dir}/slapd.pid
olcTLSCACertificateFile: ${dir}/tls/ca.crt
olcTLSCertificateFile: ${dir}/tls/server.crt
olcTLSCertificateKeyFile: ${dir}/tls/server.key

dn: cn=module{0},cn=config
objectClass: olcModuleList
cn: module{0}
olcModulePath: /usr/lib/ldap
olcModuleLoad: back_mdb
olcModuleLoad: memberof
olcModuleLoad: refint

dn: cn=schema,cn=config
objectClass: olcSchemaConfig
cn: schema

include: file:///etc/ldap/schema/core.ldif
include: file:///etc/ldap/schema/cosine.ldif
include: file:///etc/ldap/schema/inetorgperson.ldif

${adSchema}
dn: olcDatabase={-1}frontend,cn=config
objectClass: olcDatabaseConfig
objectClass: olcFrontendConfig
olcDatabase: {-1}frontend
olcSizeLimit: 500

dn: olcDatabase={0}config,cn=config
objectClass: olcDatabaseConfig
olcDatabase: {0}config
olcAccess: {0}to * by * none

dn: olcDatabase={1}mdb,cn=config
objectClass: olcDatabaseConfig
objectClass: olcMdbConfig
olcDatabase: {1}mdb
olcSuffix: ${suffix}
olcRootDN: ${rootDn}
olcRootPW: ${rootPassword}
olcDbDirectory: ${dir}/data
olcDbMaxSize: 67108864
olcDbIndex: objectClass eq
olcDbIndex: member eq
olcDbIndex: uid eq,sub
olcDbIndex: cn eq,sub
olcAccess: {0}to attrs=userPassword by self =xw by anonymous auth by * none
olcAccess: {1}to * by users read by * none

dn: olcOverlay={0}memberof,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcMemberOf
olcOverlay: {0}memberof
olcMemberOfRefInt: TRUE
olcMemberOfGroupOC: groupOfNames
olcMemberOfMemberAD: member
olcMemberOfMemberOfAD: memberOf

dn: olcOverlay={1}refint,olcDatabase={1}mdb,cn=config
objectClass: olcOverlayConfig
objectClass: olcRefintConfig
olcOverlay: {1}refint
olcRefintAttribute: member
`;
}

const person = (uid: string, cn: string): string => `dn: ${userDn(uid)}
objectClass: inetOrgPerson
uid: ${uid}
cn: ${cn}
sn: ${cn.split(' ').pop() ?? cn}
userPassword: ${userPassword(uid)}
`;
const group = (dn: string, cn: string, members: string[], objectClass = 'groupOfNames'): string =>
  `dn: ${dn}\nobjectClass: ${objectClass}\ncn: ${cn}\n${members.map((m) => `member: ${m}`).join('\n')}\n`;
const adUser = (cn: string, sam: string, uac: number): string => `dn: ${adUserDn(cn)}
objectClass: user
cn: ${cn}
sn: ${cn}
displayName: ${cn}
sAMAccountName: ${sam}
userAccountControl: ${uac}
userPassword: ${userPassword(sam)}
`;
const ou = (dn: string, name: string): string => `dn: ${dn}\nobjectClass: organizationalUnit\nou: ${name}\n`;

function seed(): string {
  return [
    `dn: ${suffix}\nobjectClass: dcObject\nobjectClass: organization\ndc: example\no: Example\n`,
    ou(`ou=services,${suffix}`, 'services'), ou(peopleDn, 'people'), ou(groupsDn, 'groups'),
    ou(`ou=ad,${suffix}`, 'ad'), ou(adUsersDn, 'users'), ou(adGroupsDn, 'groups'),
    `dn: ${serviceDn}\nobjectClass: organizationalRole\nobjectClass: simpleSecurityObject\ncn: drover\nuserPassword: ${servicePassword}\n`,
    person('alice', 'Alice Liddell'), person('bob', 'Bob Builder'), person('carol', 'Carol Danvers'), person('frank', 'Frank Ops'),
    // A real person whose name is a literal star: an escaped search finds only them.
    person('star', 'Literal Star'),
    group(groupDn('ops'), 'ops', [userDn('alice'), userDn('frank')]),
    group(groupDn('platform'), 'platform', [groupDn('ops'), userDn('bob')]),
    group(groupDn('engineering'), 'engineering', [groupDn('platform')]),
    group(groupDn('loop-a'), 'loop-a', [groupDn('loop-b'), userDn('carol')]),
    group(groupDn('loop-b'), 'loop-b', [groupDn('loop-a')]),
    adUser('Dave Doe', 'dave', 512), adUser('Erin Ex', 'erin', 514),
    group(adGroupDn('ad-ops'), 'ad-ops', [adUserDn('Dave Doe'), adUserDn('Erin Ex')], 'group'),
    group(adGroupDn('ad-eng'), 'ad-eng', [adGroupDn('ad-ops')], 'group'),
  ].join('\n');
}

function run(cmd: string, args: string[], input?: string): void {
  const result = spawnSync(cmd, args, { input, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.status}): ${result.stderr}${result.stdout}`);
}

export async function startSlapd(): Promise<Slapd> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-slapd-'));
  for (const sub of ['slapd.d', 'data', 'tls']) mkdirSync(join(dir, sub), { recursive: true });
  const tls = await loadOrCreateTls({ dataDir: join(dir, 'tls'), publicHost: '127.0.0.1' });
  writeFileSync(join(dir, 'config.ldif'), config(dir));
  writeFileSync(join(dir, 'seed.ldif'), seed());
  run('/usr/sbin/slapadd', ['-n', '0', '-F', join(dir, 'slapd.d'), '-l', join(dir, 'config.ldif')]);
  run('/usr/sbin/slapadd', ['-F', join(dir, 'slapd.d'), '-b', suffix, '-l', join(dir, 'seed.ldif')]);
  let url = '';
  let ldapsUrl = '';
  const choosePorts = async (): Promise<void> => {
    const ports = await freePorts('127.0.0.1', ['ldap', 'ldaps']);
    url = `ldap://127.0.0.1:${ports.ldap}`;
    ldapsUrl = `ldaps://127.0.0.1:${ports.ldaps}`;
  };
  await choosePorts();
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    // -d 0: stay in the foreground (the test owns the process), log nothing.
    const proc = spawn('/usr/sbin/slapd', ['-d', '0', '-F', join(dir, 'slapd.d'), '-h', `${url}/ ${ldapsUrl}/`], { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let exited: string | undefined;
    proc.on('exit', (code, signal) => { exited = `slapd exited (${code ?? signal})`; });
    for (const s of [proc.stdout, proc.stderr]) s.on('data', (c: Buffer) => { output += c.toString(); });
    await waitFor('slapd to accept a bind', 15_000, () => exited, async () => {
      const client = new Client({ url, connectTimeout: 500, timeout: 1000 });
      try {
        await client.bind(rootDn, rootPassword);
        return true;
      } catch {
        return false;
      } finally {
        await client.unbind().catch(() => undefined);
      }
    }, () => output.slice(-2000));
  };

  const stop = async (): Promise<void> => {
    const proc = child;
    child = undefined;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    const exited = new Promise((r) => proc.once('exit', r));
    proc.kill('SIGKILL');
    await exited;
  };

  const modify = async (dn: string, change: Change): Promise<void> => {
    const client = new Client({ url, timeout: 5000 });
    try {
      await client.bind(rootDn, rootPassword);
      await client.modify(dn, change);
    } finally {
      await client.unbind().catch(() => undefined);
    }
  };

  // The ports were free a moment ago (ports.ts): a test running beside this one may have
  // bound one since, and slapd exits. It is not started yet anywhere, so take new ports.
  for (let attempt = 1; ; attempt++) {
    try {
      await start();
      break;
    } catch (error) {
      if (attempt === 3 || child?.exitCode === null) throw error;
      await choosePorts();
    }
  }
  const onExit = (): void => {
    child?.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', onExit);
  return {
    url, ldapsUrl, caPem: tls.caPem, dir, start,
    addMember: (g, m) => modify(g, new Change({ operation: 'add', modification: new Attribute({ type: 'member', values: [m] }) })),
    removeMember: (g, m) => modify(g, new Change({ operation: 'delete', modification: new Attribute({ type: 'member', values: [m] }) })),
    replace: (dn, attribute, values) => modify(dn, new Change({ operation: 'replace', modification: new Attribute({ type: attribute, values }) })),
    stop,
  };
}
