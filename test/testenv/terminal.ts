/**
 * A shell command run in a pseudo-terminal (script(1)), answering each question once it
 * is on screen, as a person would: for CLI prompts that only ask on a terminal.
 */
import { spawn } from 'node:child_process';

export interface TerminalRun { code: number | null; output: string }

/** Runs `command` with bash in a pseudo-terminal; each `[question, answer]` is typed once its question shows. */
export function atTerminal(command: string, options: { cwd: string; env: NodeJS.ProcessEnv; dialogue: Array<[RegExp, string]>; timeoutMs?: number }): Promise<TerminalRun> {
  return new Promise((resolve) => {
    const child = spawn('/usr/bin/script', ['-qec', command, '/dev/null'], { cwd: options.cwd, env: { ...options.env, SHELL: '/bin/bash' } });
    let output = '';
    let next = 0;
    let answeredAt = 0;
    const onOutput = (chunk: Buffer): void => {
      output += chunk.toString();
      const step = options.dialogue[next];
      if (step && step[0].test(output.slice(answeredAt))) {
        next++;
        answeredAt = output.length;
        child.stdin.write(`${step[1]}\r`);
      }
    };
    child.stdout.on('data', onOutput);
    child.stderr.on('data', onOutput);
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 90_000);
    child.on('close', (code) => { clearTimeout(timer); resolve({ code, output }); });
  });
}
