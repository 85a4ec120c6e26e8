/**
 * A real PostgreSQL server (Debian's packages) for store and end-to-end tests,
 * one per test process, started on first use and stopped at exit. PostgreSQL
 * refuses to run as root, so initdb and the server run as the `postgres` OS user
 * via runuser when we are root. Trust auth on loopback only; the socket lives
 * in the temp dir. Each caller gets its own database from `createPostgresDatabase()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';

export interface PostgresServer { port: number; dir: string; adminUrl: string }

let shared: Promise<PostgresServer> | undefined;

function binDir(): string {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) throw new Error('PostgreSQL is not installed: run scripts/setup.sh (Debian package postgresql)');
  const versions = readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))).sort((a, b) => Number(b) - Number(a));
  if (versions[0] === undefined) throw new Error(`no PostgreSQL server binaries under ${root}`);
  return join(root, versions[0], 'bin');
}

function asPostgres(command: string, args: string[]): { file: string; args: string[] } {
  if (process.getuid?.() !== 0) return { file: command, args };
  return { file: 'runuser', args: ['-u', 'postgres', '--', command, ...args] };
}

async function start(): Promise<PostgresServer> {
  const bin = binDir();
  const dir = mkdtempSync(join(tmpdir(), 'drover-pg-'));
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres']).toString().trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres']).toString().trim());
    chownSync(dir, uid, gid);
  }
  const data = join(dir, 'data');
  const init = asPostgres(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '-A', 'trust', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  execFileSync(init.file, init.args, { stdio: 'pipe' });
  const port = await freePort();
  const run = asPostgres(join(bin, 'postgres'), [
    '-D', data, '-p', String(port), '-k', dir, '-c', 'listen_addresses=127.0.0.1', '-c', 'fsync=off',
    '-c', 'full_page_writes=off', '-c', 'max_connections=200', '-c', `log_directory=${dir}`, '-c', 'logging_collector=off',
  ]);
  let child: ChildProcess | undefined = spawn(run.file, run.args, { detached: true, stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  let exited: string | undefined;
  child.stderr?.on('data', (c: Buffer) => { log = (log + c.toString()).slice(-4000); });
  child.on('exit', (code, signal) => { exited = `postgres exited (${code ?? signal})`; });
  child.unref();
  (child.stderr as { unref?: () => void } | null)?.unref?.();
  const pid = child.pid;
  process.on('exit', () => {
    // SIGINT = PostgreSQL's fast shutdown; the whole group so runuser's child goes too.
    if (pid !== undefined && exited === undefined) { try { process.kill(-pid, 'SIGINT'); } catch { /* already gone */ } }
    try { rmSync(dir, { recursive: true, force: true }); } catch { /* best effort */ }
  });
  child = undefined;
  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  await waitFor('PostgreSQL to accept connections', 30_000, () => exited, async () => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    await client.end();
    return true;
  }, () => log || (existsSync(join(dir, 'log')) ? readFileSync(join(dir, 'log'), 'utf8') : ''));
  return { port, dir, adminUrl };
}

/** The process's shared PostgreSQL server, started on first call. */
export function sharedPostgres(): Promise<PostgresServer> {
  shared ??= start();
  return shared;
}

/** A fresh, empty database on the shared server; returns its URL. */
export async function createPostgresDatabase(prefix = 'drover'): Promise<string> {
  const server = await sharedPostgres();
  const name = `${prefix}_${randomBytes(6).toString('hex')}`;
  const client = new pg.Client({ connectionString: server.adminUrl });
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${name}`);
  } finally {
    await client.end();
  }
  return `postgres://postgres@127.0.0.1:${server.port}/${name}`;
}
