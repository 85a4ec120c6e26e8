/**
 * What a Kubernetes API request is about, parsed exactly as kube-apiserver's RequestInfo
 * (k8s.io/apiserver/pkg/endpoints/request/requestinfo.go, NewRequestInfo): so an event's
 * `verb` and `objectRef` read the same in Drover's log and in the cluster's, and a policy
 * rule written for kube-apiserver matches the same requests here.
 */

export interface RequestInfo {
  isResourceRequest: boolean;
  /** `get`, `list`, `watch`, `create`, `update`, `patch`, `delete`, `deletecollection`, `proxy`; lower-case method otherwise. */
  verb: string;
  /** The path without the query. */
  path: string;
  apiPrefix?: string;
  apiGroup?: string;
  apiVersion?: string;
  namespace?: string;
  resource?: string;
  subresource?: string;
  name?: string;
}

const apiPrefixes = new Set(['api', 'apis']);
const grouplessPrefixes = new Set(['api']);
/** Verbs written into the path (`/api/v1/watch/pods`, `/api/v1/proxy/...`): deprecated, still served. */
const specialVerbs = new Set(['proxy', 'watch']);
const specialVerbsNoSubresources = new Set(['proxy']);
const namespaceSubresources = new Set(['status', 'finalize']);
const verbOfMethod: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function decodeSegment(segment: string): string {
  // Most segments have nothing to decode; decodeURIComponent and its try block cost more than the look.
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    return segment;
  }
}

/** A bool query parameter (`watch=`, `follow=`) as kube-apiserver's query decoding reads it: present and anything but "0" and "false". */
export function queryFlag(query: URLSearchParams, name: string): boolean {
  const value = query.get(name);
  return value !== null && value !== '0' && value.toLowerCase() !== 'false';
}

/** The name a `fieldSelector=metadata.name=NAME` list asks for (RequiresExactMatch), when it is a valid path segment. */
function selectedName(query: URLSearchParams): string | undefined {
  for (const term of (query.get('fieldSelector') ?? '').split(',')) {
    const match = /^\s*metadata\.name\s*==?\s*(.*?)\s*$/.exec(term);
    const name = match?.[1];
    if (name !== undefined && name !== '' && name !== '.' && name !== '..' && !/[/%]/.test(name)) return name;
  }
  return undefined;
}

/** `path` without the slashes at both ends. */
function trimSlashes(path: string): string {
  let start = 0;
  let end = path.length;
  while (start < end && path.charCodeAt(start) === 0x2f) start++;
  while (end > start && path.charCodeAt(end - 1) === 0x2f) end--;
  return path.slice(start, end);
}

/** `method` and the request target (path and query) as the cluster sees it. */
export function parseRequestInfo(method: string, target: string): RequestInfo {
  const queryAt = target.indexOf('?');
  const path = queryAt < 0 ? target : target.slice(0, queryAt);
  const info: RequestInfo = { isResourceRequest: false, path, verb: method.toLowerCase() };
  // splitPath: trimmed of slashes at both ends, then split (an empty segment inside stays).
  const trimmed = trimSlashes(path);
  let parts = trimmed === '' ? [] : trimmed.split('/').map(decodeSegment);
  if (parts.length < 3 || !apiPrefixes.has(parts[0] ?? '')) return info;
  const apiPrefix = parts[0] ?? '';
  parts = parts.slice(1);
  let apiGroup = '';
  if (!grouplessPrefixes.has(apiPrefix)) {
    if (parts.length < 3) return info;
    apiGroup = parts[0] ?? '';
    parts = parts.slice(1);
  }
  const resourceInfo: RequestInfo = { ...info, isResourceRequest: true, apiPrefix, apiGroup, apiVersion: parts[0] ?? '' };
  parts = parts.slice(1);
  if (specialVerbs.has(parts[0] ?? '')) {
    // kube-apiserver refuses `/api/v1/watch` alone; it is still a resource request, verb unknown.
    if (parts.length < 2) return { ...resourceInfo, verb: parts[0] ?? '' };
    resourceInfo.verb = parts[0] ?? '';
    parts = parts.slice(1);
  } else {
    resourceInfo.verb = verbOfMethod[method.toUpperCase()] ?? '';
  }
  if (parts[0] === 'namespaces') {
    if (parts.length > 1) {
      resourceInfo.namespace = parts[1];
      // `/namespaces/NS/pods/...` is about pods; `/namespaces/NS/status` about the namespace.
      if (parts.length > 2 && !namespaceSubresources.has(parts[2] ?? '')) parts = parts.slice(2);
    }
  }
  const [resource, name, subresource] = parts;
  if (resource !== undefined) resourceInfo.resource = resource;
  if (name !== undefined) resourceInfo.name = name;
  if (subresource !== undefined && !specialVerbsNoSubresources.has(resourceInfo.verb)) resourceInfo.subresource = subresource;
  if (resourceInfo.name === undefined && resourceInfo.verb === 'get') {
    // Only a collection read looks at the query.
    const query = new URLSearchParams(queryAt < 0 ? '' : target.slice(queryAt + 1));
    resourceInfo.verb = queryFlag(query, 'watch') ? 'watch' : 'list';
    const selected = selectedName(query);
    if (selected !== undefined) resourceInfo.name = selected;
  }
  if (resourceInfo.name === undefined && resourceInfo.verb === 'delete') resourceInfo.verb = 'deletecollection';
  return resourceInfo;
}
