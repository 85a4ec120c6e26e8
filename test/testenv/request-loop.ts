/**
 * A kubectl request loop for tests and benches that change a cluster under load (a
 * provisioned cluster's upgrade): one `kubectl get` at a time through the given
 * kubeconfig until stopped, each answer recorded with when it was sent and when it
 * ended. The longest failure window is the time from the end of the last success
 * before a run of failures to the end of the first success after it, so it is how
 * long a user would have seen the cluster down, at the loop's granularity.
 */
import { kubectl } from './kubectl.ts';

export interface LoopResult {
  requests: number;
  failures: number;
  /** The longest failure window in ms (0 when nothing failed). */
  longestFailureMs: number;
  /** What the first failures said (kubectl's stderr, shortened), to tell a 503 from a refused connection. */
  errors: string[];
}

export function startRequestLoop(kubeconfig: string, args = ['get', 'namespaces', '-o', 'name', '--request-timeout=5s']): { stop: () => Promise<LoopResult> } {
  let running = true;
  const answers: Array<{ ok: boolean; end: number }> = [];
  const errors: string[] = [];
  const loop = (async () => {
    while (running) {
      const r = await kubectl(args, { kubeconfig, timeoutMs: 15_000 });
      answers.push({ ok: r.code === 0, end: Date.now() });
      if (r.code !== 0 && errors.length < 5) errors.push(r.stderr.trim().slice(0, 200));
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  })();
  return {
    stop: async () => {
      running = false;
      await loop;
      let longest = 0;
      let lastOk: number | undefined;
      let failing = false;
      for (const a of answers) {
        if (!a.ok) { failing = true; continue; }
        if (failing && lastOk !== undefined) longest = Math.max(longest, a.end - lastOk);
        failing = false;
        lastOk = a.end;
      }
      // Still failing at the end: the window runs to the last answer.
      const last = answers[answers.length - 1];
      if (failing && lastOk !== undefined && last) longest = Math.max(longest, last.end - lastOk);
      return { requests: answers.length, failures: answers.filter((a) => !a.ok).length, longestFailureMs: longest, errors };
    },
  };
}
