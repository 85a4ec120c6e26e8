/**
 * For the GitHub and OIDC end-to-end suites: `drover login --provider github|oidc`
 * as a real CLI process, with the test playing the browser (the CLI prints the
 * login URL; `playBrowser` follows it through the provider and back to Drover).
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { playBrowser, type BrowserStep } from '../testenv/oidc-issuer.ts';
import type { ServerProcess } from './identity-support.ts';

const root = join(import.meta.dirname, '..', '..');

export interface CliBrowserLogin { code: number | null; stdout: string; stderr: string; browser: BrowserStep[] }

/** Runs `drover login URL --provider P` (or `argv`) with its own config file and completes the browser part with `fields`. */
export async function cliBrowserLogin(server: ServerProcess, options: {
  provider: 'github' | 'oidc'; configPath: string; cas: string[]; fields: (action: string, page: string) => Record<string, string> | undefined;
  /** Another browser command than `drover login` (e.g. `providers test oidc`, run with `configPath`'s login). */
  argv?: string[];
  /** Nobody opens the login URL (to see the CLI give up). */
  noBrowser?: boolean;
  timeoutMs?: number;
  /** More environment for the CLI (e.g. KUBERNETES_EXEC_INFO, as kubectl sets it for `drover token`). */
  env?: NodeJS.ProcessEnv;
  /** Where the browser's requests really go (see playBrowser). */
  route?: (url: URL) => URL;
}): Promise<CliBrowserLogin> {
  const argv = options.argv ?? ['login', server.url, '--provider', options.provider, '--ca-file', join(server.dataDir, 'ca.crt')];
  const child = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...argv], { cwd: root, env: { ...process.env, ...options.env, DROVER_CONFIG: options.configPath, DROVER_LOGIN_POLL_MS: '200', DROVER_LOGIN_TIMEOUT_MS: String(options.timeoutMs ?? 60_000) }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
  const loginUrl = new Promise<string | undefined>((resolve) => {
    child.stderr.on('data', (c: Buffer) => {
      stderr += c.toString();
      const match = /(https:\/\/\S+\/v1\/auth\/\S+\/login\?\S+)/.exec(stderr);
      if (match?.[1]) resolve(match[1]);
    });
    child.on('exit', () => resolve(undefined));
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await loginUrl;
  // The code a terminal login prints beside its URL (`drover providers test` prints none).
  const userCode = /one-time code there: ([A-Z]{4}-[A-Z]{4})/.exec(stderr)?.[1];
  const browser = url === undefined || options.noBrowser ? [] : await playBrowser(url, {
    cas: [server.caPem(), ...options.cas], fields: options.fields, ...(options.route ? { route: options.route } : {}), ...(userCode ? { userCode } : {}),
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  const code = await exited;
  clearTimeout(timer);
  return { code, stdout, stderr, browser };
}
