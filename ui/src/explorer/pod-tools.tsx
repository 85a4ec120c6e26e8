/**
 * A pod's logs, followed as `kubectl logs -f` follows them (a streamed GET of the
 * `log` subresource through the proxy), with a choice of container and of the
 * previous instance; and a terminal into a container (pod-terminal.tsx, loaded
 * only when one is opened).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { describeError, request } from '../api.ts';
import { Show, useLoad, value } from '../components.tsx';
import { canI, clusterBase, readLines } from './kube.ts';
import type { KubeObject } from './resource-page.tsx';
import { lazyComponent } from '../lazy.tsx';

const PodTerminal = lazyComponent(async () => (await import('./pod-terminal.tsx')).PodTerminal, 'terminal');

/** Lines kept on screen; older ones scroll away, as in a terminal. */
const maxLines = 2000;

function containersOf(pod: KubeObject): string[] {
  const spec = pod.spec as { containers?: Array<{ name: string }>; initContainers?: Array<{ name: string }> } | undefined;
  return [...(spec?.containers ?? []), ...(spec?.initContainers ?? [])].map((c) => c.name);
}

export function PodTools(props: { clusterId: string; pod: KubeObject }) {
  const { metadata } = props.pod;
  const namespace = metadata.namespace ?? '';
  const may = useLoad(async () => {
    const [logs, exec] = await Promise.all([
      canI(props.clusterId, { verb: 'get', group: '', resource: 'pods', subresource: 'log', namespace, name: metadata.name }),
      canI(props.clusterId, { verb: 'create', group: '', resource: 'pods', subresource: 'exec', namespace, name: metadata.name }),
    ]);
    return { logs, exec };
  }, [metadata.uid]);
  return (
    <>
      <div class="card">
        <h3>Logs</h3>
        <Show load={may} empty={(m) => !m.logs} emptyText="You may not read this pod's logs.">
          {() => <Logs clusterId={props.clusterId} pod={props.pod} />}
        </Show>
      </div>
      <div class="card">
        <h3>Terminal</h3>
        <Show load={may} empty={(m) => !m.exec} emptyText="You may not open a terminal in this pod.">
          {() => <TerminalLauncher clusterId={props.clusterId} pod={props.pod} />}
        </Show>
      </div>
    </>
  );
}

function TerminalLauncher(props: { clusterId: string; pod: KubeObject }) {
  const containers = containersOf(props.pod);
  const [container, setContainer] = useState(containers[0] ?? '');
  const [command, setCommand] = useState('sh');
  const [open, setOpen] = useState<{ container: string; command: string[] } | undefined>(undefined);
  if (open) {
    return <PodTerminal clusterId={props.clusterId} namespace={props.pod.metadata.namespace ?? ''} pod={props.pod.metadata.name}
      container={open.container} command={open.command} onClosed={() => setOpen(undefined)} />;
  }
  const start = (e: Event): void => {
    e.preventDefault();
    setOpen({ container, command: command.trim().split(/\s+/) });
  };
  return (
    <form class="inline" onSubmit={start} aria-label="Open a terminal">
      {containers.length > 1 && (
        <label>Container<select value={container} onChange={(e) => setContainer(value(e))}>{containers.map((c) => <option key={c} value={c}>{c}</option>)}</select></label>
      )}
      <label>Command<input required value={command} onInput={(e) => setCommand(value(e))} /></label>
      <button type="submit">Open a terminal</button>
    </form>
  );
}

function Logs(props: { clusterId: string; pod: KubeObject }) {
  const containers = containersOf(props.pod);
  const [container, setContainer] = useState(containers[0] ?? '');
  const [previous, setPrevious] = useState(false);
  const [lines, setLines] = useState<string[]>([]);
  const [state, setState] = useState('');
  const box = useRef<HTMLPreElement>(null);
  const { name, namespace = '' } = props.pod.metadata;
  useEffect(() => {
    const abort = new AbortController();
    const query = new URLSearchParams({ container, tailLines: '500', ...(previous ? { previous: 'true' } : { follow: 'true' }) });
    const path = `${clusterBase(props.clusterId)}/api/v1/namespaces/${encodeURIComponent(namespace)}/pods/${encodeURIComponent(name)}/log?${query.toString()}`;
    setLines([]);
    setState(previous ? 'Loading the previous instance…' : 'Following…');
    let pending: string[] = [];
    let timer: ReturnType<typeof setTimeout> | undefined;
    // Batch lines per frame-ish tick: a busy container must not re-render the page per line.
    const flush = (): void => { timer = undefined; const add = pending; pending = []; setLines((old) => [...old, ...add].slice(-maxLines)); };
    request('GET', path, { headers: { accept: '*/*' }, signal: abort.signal })
      .then((res) => readLines(res, abort.signal, (line) => { pending.push(line); timer ??= setTimeout(flush, 100); }))
      .then(() => { if (!abort.signal.aborted) setState(previous ? 'End of the previous instance\'s log.' : 'The log stream ended (the container stopped).'); })
      .catch((e: unknown) => { if (!abort.signal.aborted) setState(`Could not read the log: ${describeError(e)}`); });
    return () => { abort.abort(); if (timer !== undefined) clearTimeout(timer); };
  }, [props.clusterId, namespace, name, container, previous]);
  useEffect(() => { const el = box.current; if (el) el.scrollTop = el.scrollHeight; }, [lines]);
  return (
    <>
      <div class="list-tools">
        {containers.length > 1 && (
          <label>Container<select value={container} onChange={(e) => setContainer(value(e))}>{containers.map((c) => <option key={c} value={c}>{c}</option>)}</select></label>
        )}
        <label class="check"><input type="checkbox" checked={previous} onChange={(e) => setPrevious((e.currentTarget).checked)} /> Previous instance</label>
        <span class="muted" role="status">{state}</span>
      </div>
      <pre class="logs" ref={box} tabIndex={0} aria-label={`Logs of ${container}`}>{lines.join('\n')}</pre>
    </>
  );
}
