/** Child processes the harness owns: build scripts it runs, and process groups it stops. */
import { spawn } from 'node:child_process';

/**
 * Runs a bash script, forwarding its stderr lines as progress, and resolves with
 * the last line of its stdout (the build scripts print their result there).
 */
export function runScript(script: string, args: string[], progress: (line: string) => void, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn('bash', [script, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env });
    let out = '';
    child.stdout.on('data', (chunk: Buffer) => { out += chunk.toString(); });
    child.stderr.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString().split('\n')) if (line.trim()) progress(line);
    });
    child.on('error', reject);
    // 'close', not 'exit': only then has all of stdout been read.
    child.on('close', (code) => {
      const last = out.trim().split('\n').pop();
      if (code === 0 && last) resolvePromise(last);
      else reject(new Error(`${script} failed (exit ${code}); run it by hand to see why`));
    });
  });
}

/** Signals a whole process group; false when it no longer exists. */
export function signalGroup(pid: number, signal: NodeJS.Signals | 0): boolean {
  try {
    process.kill(-pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** SIGTERM to a process group, SIGKILL if it is still there after `timeoutMs`. */
export async function stopGroup(pid: number, timeoutMs = 10_000): Promise<void> {
  if (!signalGroup(pid, 'SIGTERM')) return;
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!signalGroup(pid, 0)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  signalGroup(pid, 'SIGKILL');
}
