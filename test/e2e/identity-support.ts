/**
 * For the identity end-to-end suites: a real `drover server` process on a free
 * loopback port, its whole stderr captured (to check logs for secrets), plus
 * HTTPS requests that trust exactly its CA.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { freePort } from '../testenv/ports.ts';
import { waitFor } from '../testenv/wait.ts';

const root = join(import.meta.dirname, '..', '..');

export interface ServerProcess {
  url: string;
  port: number;
  dataDir: string;
  caPem: () => string;
  /** Everything the process wrote to stdout and stderr so far (across restarts). */
  output: () => string;
  /** Graceful stop (SIGTERM) and wait for exit. */
  stop: () => Promise<number | null>;
  /** SIGKILL and wait for exit. */
  kill9: () => Promise<void>;
  child: () => ChildProcess;
}

export interface SpawnOptions { dataDir: string; db?: string; port?: number; env?: NodeJS.ProcessEnv; /** More `drover server` flags. */ args?: string[] }

let transcript = '';

export async function spawnServer(options: SpawnOptions): Promise<ServerProcess> {
  const port = options.port ?? await freePort();
  // One process unless a test is about workers: on PostgreSQL the default is one per core,
  // which would make which process serves a request (and holds a tunnel) differ by machine.
  const workers = options.args?.some((a) => a === '--workers' || a.startsWith('--workers=')) ? [] : ['--workers', '1'];
  const args = ['--import', 'tsx', 'src/cli/main.ts', 'server', '--data-dir', options.dataDir, '--listen', `127.0.0.1:${port}`, ...(options.db ? ['--db', options.db] : []), ...workers, ...(options.args ?? [])];
  const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, ...options.env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  let exited: string | undefined;
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code, signal) => { exited = `server exited (${code ?? signal})`; resolve(code); }));
  for (const stream of [child.stdout, child.stderr]) stream.on('data', (c: Buffer) => { output += c.toString(); transcript += c.toString(); });
  const url = `https://127.0.0.1:${port}`;
  const insecure = new Agent({ connect: { rejectUnauthorized: false } });
  try {
    await waitFor('drover server /healthz', 60_000, () => exited, async () => {
      const res = await request(`${url}/healthz`, { dispatcher: insecure });
      await res.body.text();
      return res.statusCode === 200;
    }, () => output.slice(-3000));
  } finally {
    await insecure.close();
  }
  return {
    url, port, dataDir: options.dataDir,
    caPem: () => readFileSync(join(options.dataDir, 'ca.crt'), 'utf8'),
    output: () => output,
    async stop() {
      if (exited === undefined) child.kill('SIGTERM');
      return exit;
    },
    async kill9() {
      if (exited === undefined) child.kill('SIGKILL');
      await exit;
    },
    child: () => child,
  };
}

/** All output of every server this test process started. */
export function allServerOutput(): string { return transcript; }

export interface HttpAnswer { status: number; headers: Record<string, string | string[] | undefined>; text: string; json: () => unknown }

/** One HTTPS request trusting the server's CA; `body` strings are sent as they are. */
export async function call(server: ServerProcess, method: string, path: string, options: { token?: string; headers?: Record<string, string>; body?: unknown } = {}): Promise<HttpAnswer> {
  const agent = new Agent({ connect: { ca: server.caPem() } });
  try {
    const body = options.body === undefined ? undefined : typeof options.body === 'string' || Buffer.isBuffer(options.body) ? options.body : JSON.stringify(options.body);
    const res = await request(`${server.url}${path}`, {
      method: method as 'GET',
      dispatcher: agent,
      headers: {
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...(options.token ? { authorization: `Bearer ${options.token}` } : {}),
        ...options.headers,
      },
      ...(body === undefined ? {} : { body }),
    });
    const text = await res.body.text();
    return { status: res.statusCode, headers: res.headers, text, json: () => JSON.parse(text) as unknown };
  } finally {
    await agent.close();
  }
}
