/**
 * A real HAProxy (Debian's package) in front of server replicas: TCP mode, TLS passed
 * through untouched (clients see the replicas' own certificate and CA), round robin
 * per connection, a health check of /readyz over TLS every 500 ms (a dead or stopping
 * replica is out within about a second), and a refused connect retried on another
 * replica. Stopped with the test process.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:net';
import { freePort } from './ports.ts';
import { waitFor } from './wait.ts';
import { signalGroup } from './processes.ts';

export interface LoadBalancer {
  port: number;
  /** `https://127.0.0.1:<port>`. */
  url: string;
  log: () => string;
  stop: () => Promise<void>;
}

const binary = '/usr/sbin/haproxy';

function config(port: number, backends: number[]): string {
  return [
    'global', '  maxconn 4000',
    'defaults', '  mode tcp', '  timeout connect 2s', '  timeout client 1h', '  timeout server 1h', '  retries 3', '  option redispatch',
    'frontend drover', `  bind 127.0.0.1:${port}`, '  default_backend replicas',
    // Health by /readyz over TLS, as docs/ha.md tells operators: a replica told to stop
    // says 503 there while it still serves (--shutdown-delay), and is out before it closes.
    'backend replicas', '  balance roundrobin', '  option httpchk GET /readyz', '  http-check expect status 200',
    ...backends.map((p, i) => `  server r${i + 1} 127.0.0.1:${p} check check-ssl verify none inter 500 fall 2 rise 1`),
    '',
  ].join('\n');
}

/** Starts HAProxy on `port` (default: a free one) balancing over the replicas listening on `backends` (loopback ports). */
export async function startHaproxy(backends: number[], chosenPort?: number): Promise<LoadBalancer> {
  if (!existsSync(binary)) throw new Error('HAProxy is not installed: run scripts/setup.sh (Debian package haproxy)');
  const dir = mkdtempSync(join(tmpdir(), 'drover-haproxy-'));
  const port = chosenPort ?? await freePort();
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config(port, backends));
  // -db: stay in the foreground, so the process is ours to stop.
  const child = spawn(binary, ['-db', '-f', file], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let log = '';
  let exited: string | undefined;
  for (const s of [child.stdout, child.stderr]) s.on('data', (c: Buffer) => { log = (log + c.toString()).slice(-8000); });
  child.on('exit', (code, signal) => { exited = `haproxy exited (${code ?? signal})`; });
  const pid = child.pid ?? 0;
  const kill = (): void => { signalGroup(pid, 'SIGKILL'); };
  process.on('exit', kill);
  await waitFor('HAProxy to listen', 15_000, () => exited, () => new Promise<boolean>((resolve) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(true); });
    socket.on('error', () => resolve(false));
  }), () => log);
  return {
    port, url: `https://127.0.0.1:${port}`, log: () => log,
    stop: async () => {
      process.off('exit', kill);
      if (exited === undefined) {
        const gone = new Promise((r) => child.once('exit', r));
        signalGroup(pid, 'SIGTERM');
        await gone;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
