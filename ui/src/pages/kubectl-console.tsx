/**
 * The browser's kubectl console on the cluster page: one command line at a time,
 * run by the server's own kubectl against this cluster as the user, with a fresh
 * token that is revoked when the console closes (src/web-shell/). Not a shell:
 * the server refuses pipes, files and anything but kubectl (and helm).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, post, q, request } from '../api.ts';
import { ErrorText, value } from '../components.tsx';

interface Opened { id: string; expiresAt: string; programs: string[] }
interface Ran { exitCode: number; output: string; truncated: boolean; timedOut: boolean }

/** The line the console adds after a command's own output: why it stopped, or that RBAC said no, in words. */
function outcome(r: Ran): string {
  if (r.timedOut) return '\n# stopped: the command ran too long';
  if (r.truncated) return '\n# output cut: too long';
  if (r.exitCode === 0) return '';
  // kubectl prints "Error from server (Forbidden): …" for every RBAC refusal.
  if (/^Error from server \(Forbidden\)/m.test(r.output)) return `\n# not allowed: your role in this cluster does not let you do this (exit code ${r.exitCode}); ask a cluster or project owner`;
  return `\n# exit code ${r.exitCode}`;
}

export function KubectlConsole(props: { clusterId: string }) {
  const [session, setSession] = useState<Opened | undefined>(undefined);
  const [transcript, setTranscript] = useState('');
  const [line, setLine] = useState('kubectl get pods -A');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const out = useRef<HTMLPreElement>(null);
  const base = `/v1/clusters/${q(props.clusterId)}/shell`;

  // Leaving the page (or the site: keepalive outlives the page) closes the console, so its token is revoked
  // at once rather than at its deadline.
  useEffect(() => {
    if (!session) return undefined;
    const end = (): void => { void request('DELETE', `${base}/${q(session.id)}`, { keepalive: true }).catch(() => undefined); };
    window.addEventListener('pagehide', end);
    return () => { window.removeEventListener('pagehide', end); end(); };
  }, [session?.id]);
  useEffect(() => { const el = out.current; if (el) el.scrollTop = el.scrollHeight; }, [transcript]);

  const open = (): void => {
    setError(undefined);
    post<Opened>(base).then((s) => { setSession(s); setTranscript(`# ${s.programs.join(' and ')} against this cluster, as you. One command at a time; no shell.\n`); })
      .catch((e: unknown) => setError(describeError(e)));
  };
  // The effect above sends the DELETE as the session goes.
  const close = (): void => setSession(undefined);
  const run = (e: Event): void => {
    e.preventDefault();
    if (!session || line.trim() === '') return;
    setBusy(true);
    setError(undefined);
    const command = line.trim();
    post<Ran>(`${base}/${q(session.id)}/run`, { command })
      .then((r) => {
        setTranscript((t) => `${t}$ ${command}\n${r.output}${outcome(r)}\n`);
        setLine('');
      })
      .catch((err: unknown) => setTranscript((t) => `${t}$ ${command}\n# refused: ${describeError(err)}\n`))
      .finally(() => setBusy(false));
  };
  return (
    <div class="card">
      <h2>kubectl</h2>
      {!session ? (
        <>
          <p>Run kubectl against this cluster from the browser, as yourself. Each console gets its own short-lived token, revoked when you close it.</p>
          <button type="button" onClick={open}>Open a kubectl console</button>
        </>
      ) : (
        <>
          <pre class="logs console" ref={out} tabIndex={0} aria-label="kubectl output">{transcript}</pre>
          <form class="inline" onSubmit={run} aria-label="kubectl command">
            <label>Command<input class="command" value={line} onInput={(e) => setLine(value(e))} spellcheck={false} autoComplete="off" /></label>
            <button type="submit" disabled={busy}>Run</button>
            <button type="button" class="secondary" onClick={close}>Close the console</button>
          </form>
        </>
      )}
      <ErrorText error={error} />
    </div>
  );
}
