/**
 * A terminal into a container: `exec` over the Kubernetes WebSocket protocol
 * `v5.channel.k8s.io` through the authentication proxy, shown with xterm.js (its
 * own chunk, loaded only when a terminal is opened). Each binary message starts with
 * its channel: 0 stdin, 1 stdout, 2 stderr, 3 the final status, 4 resize
 * (`{"Width","Height"}`), 255 close (v5: the next byte names the channel closed).
 * The session cookie authenticates the upgrade; the CSRF token rides as a
 * subprotocol the proxy never forwards. Closing sends stdin's close, then a normal close.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { Terminal } from '@xterm/xterm';
import '@xterm/xterm/css/xterm.css';
import { csrfSubprotocols } from '../api.ts';
import { clusterBase } from './kube.ts';
import { routeStyleElementsToCssom } from './csp-styles.ts';

const channel = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;
const fontSize = 13;
const rows = 20;

/** Channel 3's last word: a Kubernetes Status, `Success` when the command exited 0. */
interface ExecStatus { status?: string; message?: string }

function endedText(status: ExecStatus | undefined): string {
  if (status === undefined) return 'The connection closed: open a new terminal to go on.';
  if (status.status === 'Success') return 'The shell exited; the session is closed.';
  return `The session ended: ${status.message ?? 'the command failed'}.`;
}

export function PodTerminal(props: { clusterId: string; namespace: string; pod: string; container: string; command: string[]; onClosed: () => void }) {
  const host = useRef<HTMLDivElement>(null);
  const [state, setState] = useState('Connecting…');
  useEffect(() => {
    const element = host.current;
    if (!element) return undefined;
    routeStyleElementsToCssom(document);
    const term = new Terminal({ fontSize, rows, cols: 80, cursorBlink: true, scrollback: 2000 });
    term.open(element);
    const params = new URLSearchParams({ container: props.container, stdin: 'true', stdout: 'true', tty: 'true' });
    for (const word of props.command) params.append('command', word);
    const path = `${clusterBase(props.clusterId)}/api/v1/namespaces/${encodeURIComponent(props.namespace)}/pods/${encodeURIComponent(props.pod)}/exec?${params.toString()}`;
    const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss:' : 'ws:'}//${location.host}${path}`, ['v5.channel.k8s.io', ...csrfSubprotocols()]);
    ws.binaryType = 'arraybuffer';
    const encoder = new TextEncoder();
    const send = (ch: number, data: Uint8Array): void => {
      if (ws.readyState !== WebSocket.OPEN) return;
      const frame = new Uint8Array(data.length + 1);
      frame[0] = ch;
      frame.set(data, 1);
      ws.send(frame);
    };
    const sendSize = (): void => send(channel.resize, encoder.encode(JSON.stringify({ Width: term.cols, Height: term.rows })));
    // Columns follow the box's width (a phone gets a narrow terminal, never a page that scrolls sideways).
    const fit = (): void => {
      const cols = Math.max(20, Math.floor((element.clientWidth - 16) / (fontSize * 0.6)));
      if (cols !== term.cols) term.resize(cols, rows);
    };
    const observer = new ResizeObserver(fit);
    observer.observe(element);
    fit();
    let ended: ExecStatus | undefined;
    ws.onopen = () => { setState(`Connected to ${props.container}`); sendSize(); term.focus(); };
    ws.onmessage = (event: MessageEvent<ArrayBuffer>) => {
      const bytes = new Uint8Array(event.data);
      const data = bytes.subarray(1);
      if (bytes[0] === channel.stdout || bytes[0] === channel.stderr) term.write(data);
      else if (bytes[0] === channel.status) ended = JSON.parse(new TextDecoder().decode(data)) as ExecStatus;
    };
    ws.onerror = () => setState('Could not open the terminal: the container may have no such command, or you may not exec into it');
    // What is left on screen stays readable; typing goes nowhere once the command has ended, so the cursor goes too (DECTCEM off).
    ws.onclose = () => { term.options.disableStdin = true; term.write('\x1b[?25l'); setState(endedText(ended)); };
    const input = term.onData((text) => send(channel.stdin, encoder.encode(text)));
    const resized = term.onResize(sendSize);
    return () => {
      send(channel.close, Uint8Array.of(channel.stdin));
      ws.close(1000);
      observer.disconnect();
      input.dispose();
      resized.dispose();
      term.dispose();
    };
  }, [props.clusterId, props.namespace, props.pod, props.container, props.command.join(' ')]);
  return (
    <div>
      <div class="terminal" ref={host} role="region" aria-label={`Terminal in ${props.container}`} />
      <div class="actions">
        <span class="muted" role="status">{state}</span>
        <button type="button" class="secondary" onClick={props.onClosed}>Close the terminal</button>
      </div>
    </div>
  );
}
