/** Small shared pieces: links, loading/error/empty states, copy buttons, a data-loading hook. */
import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useState } from 'preact/hooks';
import { describeError, get } from './api.ts';
import { navigate } from './router.ts';

export function Link(props: { href: string; children: ComponentChildren; class?: string }) {
  const onClick = (e: MouseEvent): void => {
    if (e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    e.preventDefault();
    navigate(props.href);
  };
  return <a href={props.href} class={props.class} onClick={onClick}>{props.children}</a>;
}

export interface Loaded<T> { data: T | undefined; error: string | undefined; loading: boolean; reload: () => void }

/** Loads data for a page; `pollMs` refreshes it while the page is open. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[], pollMs?: number): Loaded<T> {
  const [data, setData] = useState<T | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [loading, setLoading] = useState(true);
  const [tick, setTick] = useState(0);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  useEffect(() => {
    let live = true;
    load().then((value) => { if (live) { setData(value); setError(undefined); } })
      .catch((e: unknown) => { if (live) setError(describeError(e)); })
      .finally(() => { if (live) setLoading(false); });
    const timer = pollMs === undefined ? undefined : setTimeout(() => setTick((t) => t + 1), pollMs);
    return () => { live = false; if (timer !== undefined) clearTimeout(timer); };
  }, [...deps, tick]);
  return { data, error, loading, reload };
}

/** Renders the loading, error and empty states of a load, or its content. */
export function Show<T>(props: { load: Loaded<T>; empty?: (data: T) => boolean; emptyText?: string; children: (data: T) => ComponentChildren }) {
  const { data, error, loading } = props.load;
  if (data === undefined && loading) return <p class="muted" role="status">Loading…</p>;
  if (data === undefined) return <ErrorText error={error ?? 'nothing to show'} />;
  return (
    <>
      {error !== undefined && <ErrorText error={`Could not refresh: ${error}`} />}
      {props.empty?.(data) ? <p class="empty">{props.emptyText ?? 'Nothing here yet.'}</p> : props.children(data)}
    </>
  );
}

export function ErrorText(props: { error: string | undefined }) {
  if (props.error === undefined) return null;
  return <p class="error" role="alert">{props.error}</p>;
}

export function Notice(props: { text: string | undefined }) {
  if (props.text === undefined) return null;
  return <p class="notice" role="status">{props.text}</p>;
}

export function CopyButton(props: { text: string | (() => Promise<string>); label?: string }) {
  const [state, setState] = useState<string | undefined>(undefined);
  const copy = async (): Promise<void> => {
    try {
      const text = typeof props.text === 'string' ? props.text : await props.text();
      await navigator.clipboard.writeText(text);
      setState('Copied');
    } catch (e) {
      setState(`Could not copy: ${describeError(e)}; select the text and copy it instead`);
    }
    setTimeout(() => setState(undefined), 4000);
  };
  return (
    <span class="copy">
      <button type="button" class="secondary" onClick={() => void copy()}>{props.label ?? 'Copy'}</button>
      {state !== undefined && <span class="muted" role="status"> {state}</span>}
    </span>
  );
}

/** Saves `text` as a file the browser downloads. */
function downloadText(file: string, text: string): void {
  const url = URL.createObjectURL(new Blob([text], { type: 'application/yaml' }));
  const a = document.createElement('a');
  a.href = url;
  a.download = file;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** Download and copy buttons for a kubeconfig the API answers at `path` (one cluster's, or `/v1/kubeconfig` for all). */
export function KubeconfigButtons(props: { path: string; file: string; label?: string }) {
  const action = useAction();
  const fetchText = async (): Promise<string> => (await get<{ kubeconfig: string }>(props.path)).kubeconfig;
  const download = (): void => action.run(async () => downloadText(props.file, await fetchText()));
  return (
    <>
      <div class="actions">
        <button type="button" onClick={download} disabled={action.busy}>{props.label ?? 'Download KubeConfig'}</button>
        <CopyButton text={fetchText} label="Copy KubeConfig to clipboard" />
      </div>
      <ErrorText error={action.error} />
    </>
  );
}

export function Code(props: { text: string; label: string }) {
  return (
    <div class="codeblock">
      <pre aria-label={props.label} tabIndex={0}>{props.text}</pre>
      <CopyButton text={props.text} label={`Copy ${props.label}`} />
    </div>
  );
}

export function StateBadge(props: { state: string }) {
  const label = props.state.charAt(0).toUpperCase() + props.state.slice(1);
  return <span class={`badge badge-${props.state}`}>{label}</span>;
}

export function ago(iso: string | undefined): string {
  if (iso === undefined || iso === '') return '—';
  const seconds = Math.round((Date.now() - Date.parse(iso)) / 1000);
  if (Number.isNaN(seconds)) return iso;
  if (seconds < 0) return `in ${until(iso)}`;
  if (seconds < 60) return `${seconds}s ago`;
  if (seconds < 3600) return `${Math.floor(seconds / 60)}m ago`;
  if (seconds < 86400) return `${Math.floor(seconds / 3600)}h ago`;
  return `${Math.floor(seconds / 86400)}d ago`;
}

export function until(iso: string | undefined): string {
  if (iso === undefined) return 'never';
  const seconds = Math.round((Date.parse(iso) - Date.now()) / 1000);
  if (seconds <= 0) return 'expired';
  if (seconds < 3600) return `${Math.ceil(seconds / 60)} min`;
  if (seconds < 86400) return `${Math.round(seconds / 3600)} h`;
  return `${Math.round(seconds / 86400)} days`;
}

export function Table(props: { head: string[]; children: ComponentChildren; label: string }) {
  return (
    <div class="table-wrap" role="region" aria-label={props.label} tabIndex={0}>
      <table>
        <thead><tr>{props.head.map((h) => <th scope="col" key={h}>{h}</th>)}</tr></thead>
        <tbody>{props.children}</tbody>
      </table>
    </div>
  );
}

/** Runs an action from a button: disables while running, shows the error in words. */
export function useAction(): { busy: boolean; error: string | undefined; run: (action: () => Promise<void>) => void; setError: (e: string | undefined) => void } {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | undefined>(undefined);
  const run = (action: () => Promise<void>): void => {
    setBusy(true);
    setError(undefined);
    action().catch((e: unknown) => setError(describeError(e))).finally(() => setBusy(false));
  };
  return { busy, error, run, setError };
}

export function value(e: Event): string {
  return (e.currentTarget as HTMLInputElement | HTMLSelectElement | HTMLTextAreaElement).value;
}
