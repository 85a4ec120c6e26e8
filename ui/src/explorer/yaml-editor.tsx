/**
 * The YAML view and editor (its own chunk: it brings the YAML library). Editing
 * goes in two steps, as `kubectl apply --server-side --dry-run=server` then
 * `kubectl apply --server-side`: the server's dry run shows what would change as a
 * diff, then the same server-side apply is sent for real under the field manager
 * `drover-ui`. A field another manager owns is a conflict: the answer is shown as the
 * server words it, with the option to force (take the fields over), as `--force-conflicts`.
 */
import { useState } from 'preact/hooks';
import { parse, stringify } from 'yaml';
import { ApiError, describeError, request } from '../api.ts';
import { ErrorText, value } from '../components.tsx';
import { lineDiff, type DiffLine } from './diff.ts';
import { objectPath, type Kind } from './kube.ts';
import type { KubeObject } from './resource-page.tsx';

export const fieldManager = 'drover-ui';
const hidden = '(hidden: reveal it above)';

/** What a person edits: no status, no server-kept metadata (server-side apply refuses managedFields). */
function editable(object: KubeObject): Record<string, unknown> {
  const { status: _status, ...rest } = object;
  const { managedFields: _m, resourceVersion: _r, uid: _u, creationTimestamp: _c, generation: _g, ...metadata } = object.metadata as KubeObject['metadata'] & Record<string, unknown>;
  return { ...rest, metadata };
}

/** A Secret's values replaced by a notice until they are revealed. */
function masked(object: KubeObject): KubeObject {
  const mask = (values: Record<string, unknown>): Record<string, string> => Object.fromEntries(Object.keys(values).map((k) => [k, hidden]));
  const stringData = object.stringData as Record<string, unknown> | undefined;
  return { ...object, ...(object.data === undefined ? {} : { data: mask(object.data) }), ...(stringData === undefined ? {} : { stringData: mask(stringData) }) };
}

export function YamlPanel(props: { clusterId: string; kind: Kind; object: KubeObject; editable: boolean; secretHidden: boolean; onApplied: () => void }) {
  const { object } = props;
  const [draft, setDraft] = useState<string | undefined>(undefined);
  const [diff, setDiff] = useState<DiffLine[] | undefined>(undefined);
  const [error, setError] = useState<string | undefined>(undefined);
  const [conflict, setConflict] = useState(false);
  // Set once the user chose to take over fields another manager owns: the dry run and the apply both force.
  const [force, setForce] = useState(false);
  const [busy, setBusy] = useState(false);
  const [notice, setNotice] = useState<string | undefined>(undefined);
  const shown = props.secretHidden ? masked(object) : object;
  const { managedFields: _m, ...metadata } = shown.metadata as KubeObject['metadata'] & Record<string, unknown>;
  const view = stringify({ ...shown, metadata });

  const apply = async (text: string, options: { dryRun?: boolean; force?: boolean }): Promise<KubeObject> => {
    parse(text); // a YAML syntax error is reported here, in the library's words, before anything is sent
    const query = new URLSearchParams({ fieldManager, ...(options.dryRun ? { dryRun: 'All' } : {}), ...(options.force ? { force: 'true' } : {}) });
    const path = `${objectPath(props.clusterId, props.kind, object.metadata.name, object.metadata.namespace)}?${query.toString()}`;
    return await (await request('PATCH', path, { headers: { 'content-type': 'application/apply-patch+yaml' }, body: text })).json() as KubeObject;
  };
  const run = (step: () => Promise<void>): void => {
    setBusy(true);
    setError(undefined);
    setNotice(undefined);
    step().catch((e: unknown) => {
      setConflict(e instanceof ApiError && e.status === 409);
      setError(describeError(e));
    }).finally(() => setBusy(false));
  };
  const review = (forcing: boolean): void => run(async () => {
    setForce(forcing);
    const result = await apply(draft ?? '', { dryRun: true, force: forcing });
    setConflict(false);
    setDiff(lineDiff(stringify(editable(object)), stringify(editable(result))));
  });
  const send = (): void => run(async () => {
    await apply(draft ?? '', { force });
    setDraft(undefined);
    setDiff(undefined);
    setForce(false);
    setNotice(`Applied with server-side apply as "${fieldManager}".`);
    props.onApplied();
  });

  return (
    <div class="card">
      <h3>YAML</h3>
      {draft === undefined ? (
        <>
          <pre class="yaml" tabIndex={0} aria-label="YAML">{view}</pre>
          {!props.editable
            ? <p class="muted">You may not edit this {props.kind.kind}: your role lets you read it, not change it.</p>
            : props.secretHidden
            ? <p class="muted">Reveal the values to edit this Secret.</p>
            : <button type="button" onClick={() => { setDraft(stringify(editable(object))); setDiff(undefined); }}>Edit YAML</button>}
        </>
      ) : (
        <>
          <label>Edit, then review the server's dry run before applying
            <textarea class="yaml" rows={Math.min(30, draft.split('\n').length + 2)} spellcheck={false} value={draft}
              onInput={(e) => { setDraft(value(e)); setDiff(undefined); setConflict(false); setForce(false); }} />
          </label>
          <div class="actions">
            <button type="button" onClick={() => review(false)} disabled={busy}>Review changes</button>
            {conflict && <button type="button" class="danger" onClick={() => review(true)} disabled={busy}>Take over the conflicting fields</button>}
            {diff !== undefined && <button type="button" onClick={send} disabled={busy}>{force ? 'Apply, forcing' : 'Apply'}</button>}
            <button type="button" class="secondary" onClick={() => { setDraft(undefined); setDiff(undefined); setError(undefined); setConflict(false); setForce(false); }}>Cancel</button>
          </div>
          {diff !== undefined && (diff.length === 0
            ? <p class="muted" role="status">The server's dry run changes nothing.</p>
            : <pre class="diff" tabIndex={0} aria-label="Changes">{diff.map((l, i) => <span key={i} class={l.op === '+' ? 'add' : l.op === '-' ? 'del' : ''}>{`${l.op} ${l.text}\n`}</span>)}</pre>)}
        </>
      )}
      {conflict && <p class="muted">Another field manager owns a field you changed. Take it over (as kubectl apply --force-conflicts does), or change it back.</p>}
      <ErrorText error={error} />
      {notice !== undefined && <p class="notice" role="status">{notice}</p>}
    </div>
  );
}
