/**
 * What never reaches an audit sink, at any level (several published CVEs in this field,
 * CVE-2023-22649 among them, are secrets written into audit logs):
 *   - Secret `data` and `stringData`: removed from any object of kind Secret, from every
 *     item of a SecretList, and from any body of a request about `secrets` (a patch or
 *     a create has no kind to go by); a JSON patch of a Secret keeps no `value`;
 *   - the `kubectl.kubernetes.io/last-applied-configuration` annotation, which holds the
 *     whole applied object (a Secret's data included), wherever it is, patches included;
 *   - `metadata.managedFields` when the policy says omitManagedFields.
 * Credentials in Drover's own API (passwords, tokens, kubeconfigs) are kept out by
 * `v1-hook.ts`, which records no /v1 response body and removes credential fields from
 * request bodies; headers are never recorded at all. Bodies that are not JSON are
 * not recorded (`undefined`).
 */

export const lastAppliedAnnotation = 'kubectl.kubernetes.io/last-applied-configuration';
const secretKinds = new Set(['Secret', 'SecretList']);
const maxDepth = 64;

interface Walk { secret: boolean; omitManagedFields: boolean }

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function redactPatchOp(op: Record<string, unknown>, walk: Walk): Record<string, unknown> {
  const path = typeof op.path === 'string' ? op.path : '';
  const from = typeof op.from === 'string' ? op.from : '';
  const touchesSecret = walk.secret && /^\/(data|stringData)(\/|$)/.test(path);
  if (touchesSecret || path.includes('last-applied-configuration') || from.includes('last-applied-configuration') || (walk.secret && /^\/(data|stringData)(\/|$)/.test(from))) {
    const { value: _dropped, ...rest } = op;
    return rest;
  }
  return op;
}

function redactValue(value: unknown, walk: Walk, depth: number): unknown {
  if (depth > maxDepth) return '[too deep]';
  if (Array.isArray(value)) return value.map((item) => redactValue(item, walk, depth + 1));
  if (!isRecord(value)) return value;
  if (typeof value.op === 'string' && typeof value.path === 'string') return redactPatchOp(value, walk);
  const inner: Walk = secretKinds.has(value.kind as string) ? { ...walk, secret: true } : walk;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) {
    if (inner.secret && (key === 'data' || key === 'stringData')) continue;
    if (key === lastAppliedAnnotation) continue;
    if (key === 'managedFields' && inner.omitManagedFields) continue;
    out[key] = redactValue(child, inner, depth + 1);
  }
  return out;
}

/**
 * A Kubernetes request or response body, parsed and redacted; undefined when it is not
 * JSON (protobuf, YAML that is not JSON), which is then not recorded.
 */
export function redactKubeBody(body: Buffer | string, options: { aboutSecrets: boolean; omitManagedFields: boolean }): unknown {
  let parsed: unknown;
  try {
    parsed = JSON.parse(typeof body === 'string' ? body : body.toString('utf8'));
  } catch {
    return undefined;
  }
  return redactValue(parsed, { secret: options.aboutSecrets, omitManagedFields: options.omitManagedFields }, 0);
}

/** Field names in Drover's own request bodies that hold credentials; removed at any depth. */
const credentialField = /pass(word)?|secret|token|credential|private|key$|^code$|kubeconfig/i;

/** A Drover API (/v1) request body without any credential field. */
export function redactApiBody(body: unknown, depth = 0): unknown {
  if (depth > maxDepth) return '[too deep]';
  if (Array.isArray(body)) return body.map((item) => redactApiBody(item, depth + 1));
  if (!isRecord(body)) return body;
  const out: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(body)) {
    if (credentialField.test(key)) continue;
    out[key] = redactApiBody(child, depth + 1);
  }
  return out;
}

const credentialParam = /pass(word)?|secret|token|credential|^code$|^state$|verifier/i;

/** A request URI with the values of credential-like query parameters replaced (OAuth `code` and `state`, tokens). */
export function redactUri(uri: string): string {
  const at = uri.indexOf('?');
  if (at < 0) return uri;
  const query = new URLSearchParams(uri.slice(at + 1));
  let changed = false;
  for (const key of [...query.keys()]) {
    if (credentialParam.test(key)) {
      query.set(key, 'REDACTED');
      changed = true;
    }
  }
  return changed ? `${uri.slice(0, at)}?${query.toString()}` : uri;
}
