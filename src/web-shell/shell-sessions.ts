/**
 * Browser kubectl sessions. A session is a fresh cluster-scoped token (kind
 * `kubeconfig`, short-lived), an empty directory that is the session's HOME and
 * holds the kubeconfig naming it, and a deadline. Each command runs with execFile
 * (no shell) as the absolute path of kubectl or helm, in that directory, with an
 * environment of HOME, KUBECONFIG and an empty PATH (so kubectl finds no plugin),
 * bounded in time and output. Ending a session, or its deadline, revokes the token
 * and removes the directory. Sessions per user are bounded.
 */
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DroverError } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { parseCommandLine, type Program } from './command-line.ts';

export interface ShellLimits {
  /** A session's whole life (ms), also its token's lifetime. */
  sessionMs: number;
  /** One command's run time (ms); then it is killed. */
  commandMs: number;
  /** Bytes of output kept per command (stdout and stderr together). */
  outputBytes: number;
  sessionsPerUser: number;
}

export const defaultShellLimits: ShellLimits = { sessionMs: 15 * 60_000, commandMs: 30_000, outputBytes: 256 * 1024, sessionsPerUser: 2 };

export interface ShellTokens {
  issue(input: { userId: string; kind: 'kubeconfig'; authProvider: string; clusterId: string; ttlSeconds: number; description: string }): Promise<{ token: { id: string }; value: string }>;
  revoke(id: string): Promise<void>;
}

export interface ShellSessionsOptions {
  tokens: ShellTokens;
  /** Writes the kubeconfig for a cluster and token (the proxy's renderer). */
  kubeconfig: (clusterId: string, clusterName: string, token: string) => string;
  /** Absolute paths of the binaries that exist on this server. */
  binaries: Partial<Record<Program, string>>;
  /**
   * This replica's id: a session's id is `<replica id>.<uuid>`, so a later call for it
   * that lands on another replica is relayed here, where the session lives (docs/ha.md).
   */
  replicaId?: string;
  limits?: ShellLimits;
  logger: Logger;
}

interface Session { id: string; userId: string; clusterId: string; tokenId: string; dir: string; timer: NodeJS.Timeout; busy: boolean }

export interface CommandResult { exitCode: number; output: string; truncated: boolean; timedOut: boolean }

export class ShellSessions {
  private readonly sessions = new Map<string, Session>();
  private readonly limits: ShellLimits;

  constructor(private readonly options: ShellSessionsOptions) {
    this.limits = options.limits ?? defaultShellLimits;
  }

  programs(): Set<Program> {
    return new Set(Object.keys(this.options.binaries) as Program[]);
  }

  async open(user: { id: string; provider: string }, cluster: { id: string; name: string }): Promise<{ id: string; expiresAt: string; programs: Program[] }> {
    const mine = [...this.sessions.values()].filter((s) => s.userId === user.id).length;
    if (mine >= this.limits.sessionsPerUser) {
      throw new DroverError('DRV_ERR_TOO_MANY_REQUESTS', `you have ${mine} kubectl consoles open (the most allowed); close one, or wait until one ends`);
    }
    const issued = await this.options.tokens.issue({
      userId: user.id, kind: 'kubeconfig', authProvider: user.provider, clusterId: cluster.id,
      ttlSeconds: Math.ceil(this.limits.sessionMs / 1000), description: 'browser kubectl console (revoked when it closes)',
    });
    const dir = await mkdtemp(join(tmpdir(), 'drover-shell-'));
    await writeFile(join(dir, 'config'), this.options.kubeconfig(cluster.id, cluster.name, issued.value), { mode: 0o600 });
    const id = this.options.replicaId === undefined ? randomUUID() : `${this.options.replicaId}.${randomUUID()}`;
    const timer = setTimeout(() => { void this.close(id); }, this.limits.sessionMs);
    timer.unref();
    this.sessions.set(id, { id, userId: user.id, clusterId: cluster.id, tokenId: issued.token.id, dir, timer, busy: false });
    return { id, expiresAt: new Date(Date.now() + this.limits.sessionMs).toISOString(), programs: [...this.programs()] };
  }

  /** The caller's own open session on this cluster, or 404 (another user's id answers the same). */
  private own(id: string, userId: string, clusterId: string): Session {
    const session = this.sessions.get(id);
    if (!session || session.userId !== userId || session.clusterId !== clusterId) {
      throw new DroverError('DRV_ERR_NOT_FOUND', 'no such kubectl console (it may have ended): open a new one');
    }
    return session;
  }

  async run(id: string, user: { id: string }, clusterId: string, line: string): Promise<CommandResult> {
    const session = this.own(id, user.id, clusterId);
    const command = parseCommandLine(line, this.programs());
    const binary = this.options.binaries[command.program];
    if (binary === undefined) throw new DroverError('DRV_ERR_UNPROCESSABLE', `${command.program} is not installed on this server`);
    if (session.busy) throw new DroverError('DRV_ERR_CONFLICT', 'a command is still running in this console; wait for it to finish');
    session.busy = true;
    try {
      return await this.exec(binary, command.args, session.dir);
    } finally {
      session.busy = false;
    }
  }

  private exec(binary: string, args: string[], dir: string): Promise<CommandResult> {
    const env = { HOME: dir, KUBECONFIG: join(dir, 'config'), PATH: '', HELM_CONFIG_HOME: dir, HELM_CACHE_HOME: dir, HELM_DATA_HOME: dir, KUBECACHEDIR: join(dir, 'cache') };
    return new Promise((resolve) => {
      execFile(binary, args, { cwd: dir, env, timeout: this.limits.commandMs, killSignal: 'SIGKILL', maxBuffer: this.limits.outputBytes, windowsHide: true, shell: false },
        (error, stdout, stderr) => {
          const output = `${stdout}${stderr}`;
          const truncated = (error as { code?: unknown } | null)?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER';
          const timedOut = error !== null && (error as { killed?: boolean }).killed === true && !truncated;
          const code = (error as { code?: unknown } | null)?.code;
          resolve({ exitCode: error === null ? 0 : typeof code === 'number' ? code : 1, output: output.slice(0, this.limits.outputBytes), truncated, timedOut });
        });
    });
  }

  /** Ends a session: revokes its token and removes its directory. Idempotent. */
  async close(id: string): Promise<void> {
    const session = this.sessions.get(id);
    if (!session) return;
    this.sessions.delete(id);
    clearTimeout(session.timer);
    await this.options.tokens.revoke(session.tokenId).catch((error: unknown) => this.options.logger.error({ err: error, sessionId: id }, 'could not revoke a kubectl console token'));
    await rm(session.dir, { recursive: true, force: true });
  }

  async closeOwn(id: string, user: { id: string }, clusterId: string): Promise<void> {
    this.own(id, user.id, clusterId);
    await this.close(id);
  }

  async closeAll(): Promise<void> {
    await Promise.all([...this.sessions.keys()].map((id) => this.close(id)));
  }
}
