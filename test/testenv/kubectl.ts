/** Runs the machine's kubectl exactly as a user would, with a given kubeconfig. */
import { execFile } from 'node:child_process';

export interface KubectlResult { code: number; stdout: string; stderr: string }

export function kubectl(
  args: string[],
  options: { kubeconfig: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<KubectlResult> {
  return new Promise((resolvePromise) => {
    const child = execFile('kubectl', args, {
      env: { ...process.env, ...options.env, KUBECONFIG: options.kubeconfig },
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024,
    }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolvePromise({ code, stdout, stderr });
    });
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** kubectl that must succeed; the error carries kubectl's own stderr. */
export async function kubectlOk(
  args: string[],
  options: { kubeconfig: string; input?: string; env?: NodeJS.ProcessEnv; timeoutMs?: number },
): Promise<string> {
  const result = await kubectl(args, options);
  if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr.trim()}`);
  return result.stdout;
}
