/**
 * Recorded exec and attach sessions (admins): the list, and a small asciicast v2 player
 * that writes the session's output into a <pre> at its recorded pace (escape sequences
 * dropped: colours and cursor moves are not drawn).
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { get, q } from '../api.ts';
import { ErrorText, Show, Table, ago, useAction, useLoad } from '../components.tsx';
import type { RecordingHeader, SessionListAnswer } from '../../../src/audit/index.ts';

type CastEvent = [number, string, string];
// eslint-disable-next-line no-control-regex -- terminal escape sequences are control characters by definition
const escapes = /\u001b\[[0-9;?]*[ -/]*[@-~]|\u001b\][^\u0007\u001b]*(\u0007|\u001b\\)|\u001b[@-_]/g;
const plain = (text: string): string => text.replace(escapes, '').replace(/\r\n/g, '\n').replace(/\r/g, '');

function Player(props: { header: RecordingHeader; events: CastEvent[] }) {
  const [shown, setShown] = useState(0);
  const timers = useRef<number[]>([]);
  const play = (): void => {
    for (const t of timers.current) clearTimeout(t);
    setShown(0);
    // Long pauses are shortened to 2 s, as asciinema's idle limit does.
    let at = 0;
    let last = 0;
    timers.current = props.events.map(([time], i) => {
      at += Math.min(time - last, 2);
      last = time;
      return window.setTimeout(() => setShown(i + 1), at * 1000);
    });
  };
  useEffect(() => {
    play();
    return () => { for (const t of timers.current) clearTimeout(t); };
  }, [props.events]);
  const upTo = props.events.slice(0, shown);
  const output = plain(upTo.filter(([, code]) => code === 'o').map(([, , d]) => d).join(''));
  return (
    <div class="card" aria-label={`Recording of ${props.header.title}`}>
      <p><strong>{props.header.title}</strong> <span class="muted small">{props.header.drover.startedAt}</span>
        {' '}<button type="button" class="secondary small" onClick={play}>Replay</button></p>
      <div class="codeblock"><pre data-testid="session-output">{output}</pre></div>
    </div>
  );
}

export function SessionsSection() {
  const sessions = useLoad(() => get<SessionListAnswer>('/v1/audit/sessions'), []);
  const [playing, setPlaying] = useState<{ header: RecordingHeader; events: CastEvent[] } | undefined>(undefined);
  const action = useAction();
  const open = (header: RecordingHeader): void => action.run(async () => {
    const { cast } = await get<{ cast: string }>(`/v1/audit/sessions/${q(header.drover.auditID)}`);
    const events = cast.trimEnd().split('\n').slice(1).map((line) => JSON.parse(line) as CastEvent);
    setPlaying({ header, events });
  });
  return (
    <>
      <h2>Exec and attach sessions</h2>
      <ErrorText error={action.error} />
      {playing && <Player header={playing.header} events={playing.events} />}
      <Show load={sessions} empty={(l) => l.items.length === 0} emptyText="No recorded sessions.">
        {(list) => (
          <Table label="Recorded sessions" head={['Started', 'User', 'Cluster', 'Pod', 'Command', '']}>
            {list.items.map((h) => (
              <tr key={h.drover.auditID} data-session={h.drover.auditID}>
                <td title={h.drover.startedAt}>{ago(h.drover.startedAt)}</td><td>{h.drover.username}</td><td>{h.drover.clusterId}</td>
                <td>{h.drover.kind} {h.drover.namespace}/{h.drover.pod}{h.drover.container ? `/${h.drover.container}` : ''}</td>
                <td>{(h.drover.command ?? []).join(' ')}</td>
                <td><button type="button" class="secondary small" disabled={action.busy} onClick={() => open(h)}>Play</button></td>
              </tr>
            ))}
          </Table>
        )}
      </Show>
    </>
  );
}
