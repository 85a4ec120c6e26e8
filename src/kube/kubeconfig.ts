/**
 * Kubeconfig and in-cluster loaders. A kubeconfig is trusted as far as the file is:
 * we read the server, CA, token (or token file) and client certificate it names, and
 * refuse what we do not implement (exec plugins, auth providers, basic auth) instead
 * of silently connecting without credentials.
 */
import { readFileSync, statSync } from 'node:fs';
import { dirname, isAbsolute, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { InvalidArgumentError } from '../errors/index.ts';
import type { KubeEndpoint } from './endpoint.ts';

interface NamedCluster { name?: string; cluster?: Record<string, unknown> }
interface NamedUser { name?: string; user?: Record<string, unknown> }
interface NamedContext { name?: string; context?: { cluster?: string; user?: string; namespace?: string } }
interface KubeconfigDoc {
  clusters?: NamedCluster[];
  users?: NamedUser[];
  contexts?: NamedContext[];
  'current-context'?: string;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' && v !== '' ? v : undefined);
const b64 = (v: string): string => Buffer.from(v, 'base64').toString('utf8');

function readDoc(pathOrObject: string | object): { doc: KubeconfigDoc; baseDir: string | undefined } {
  if (typeof pathOrObject !== 'string') return { doc: pathOrObject, baseDir: undefined };
  let text: string;
  try {
    text = readFileSync(pathOrObject, 'utf8');
  } catch (error) {
    throw new InvalidArgumentError('kubeconfig', `a readable file (${(error as Error).message})`, pathOrObject);
  }
  const doc = parseYaml(text) as unknown; // YAML is a superset of JSON: both kubeconfig spellings parse.
  if (!doc || typeof doc !== 'object') throw new InvalidArgumentError('kubeconfig', 'a YAML or JSON kubeconfig document', pathOrObject);
  return { doc, baseDir: dirname(pathOrObject) };
}

function fileIn(baseDir: string | undefined, file: string): string {
  return isAbsolute(file) || baseDir === undefined ? file : join(baseDir, file);
}

/** A token read from a file on each request (at most once a minute), as client-go does. */
export function fileTokenSource(path: string, maxAgeMs = 60_000): () => string {
  let cached: { token: string; readAt: number; mtimeMs: number } | undefined;
  return () => {
    const now = Date.now();
    if (cached && now - cached.readAt < maxAgeMs && statSync(path).mtimeMs === cached.mtimeMs) return cached.token;
    const token = readFileSync(path, 'utf8').trim();
    cached = { token, readAt: now, mtimeMs: statSync(path).mtimeMs };
    return token;
  };
}

function pickContext(doc: KubeconfigDoc, context: string | undefined): { cluster: Record<string, unknown>; user: Record<string, unknown> } {
  const name = context ?? doc['current-context'];
  if (!name) throw new InvalidArgumentError('kubeconfig context', 'a context name (the kubeconfig has no current-context)');
  const ctx = doc.contexts?.find((c) => c.name === name)?.context;
  if (!ctx) throw new InvalidArgumentError('kubeconfig context', 'a context the kubeconfig defines', name);
  const cluster = doc.clusters?.find((c) => c.name === ctx.cluster)?.cluster;
  if (!cluster) throw new InvalidArgumentError('kubeconfig cluster', `a cluster named by context "${name}"`, ctx.cluster);
  const user = ctx.user === undefined ? {} : doc.users?.find((u) => u.name === ctx.user)?.user;
  if (!user) throw new InvalidArgumentError('kubeconfig user', `a user named by context "${name}"`, ctx.user);
  return { cluster, user };
}

function pem(inline: unknown, file: unknown, baseDir: string | undefined): string | undefined {
  const data = str(inline);
  if (data) return b64(data);
  const path = str(file);
  return path ? readFileSync(fileIn(baseDir, path), 'utf8') : undefined;
}

/** Reads a kubeconfig (a path to YAML/JSON, or the parsed object) into an endpoint. */
export function endpointFromKubeconfig(pathOrObject: string | object, context?: string): KubeEndpoint {
  const { doc, baseDir } = readDoc(pathOrObject);
  const { cluster, user } = pickContext(doc, context);
  const server = str(cluster.server);
  if (!server) throw new InvalidArgumentError('kubeconfig cluster.server', 'a server URL');
  for (const unsupported of ['exec', 'auth-provider', 'username', 'password']) {
    if (user[unsupported] !== undefined) {
      throw new InvalidArgumentError(`kubeconfig user.${unsupported}`, 'a token, token file or client certificate (Drover does not run exec plugins or auth providers)');
    }
  }
  const endpoint: KubeEndpoint = { server };
  const caPem = pem(cluster['certificate-authority-data'], cluster['certificate-authority'], baseDir);
  if (caPem) endpoint.caPem = caPem;
  if (cluster['insecure-skip-tls-verify'] === true) endpoint.insecureSkipTlsVerify = true;
  const token = str(user.token);
  const tokenFile = str(user.tokenFile) ?? str(user['token-file']);
  if (token) endpoint.token = token;
  else if (tokenFile) endpoint.token = fileTokenSource(fileIn(baseDir, tokenFile));
  const certPem = pem(user['client-certificate-data'], user['client-certificate'], baseDir);
  const keyPem = pem(user['client-key-data'], user['client-key'], baseDir);
  if (certPem !== undefined || keyPem !== undefined) {
    if (!certPem || !keyPem) throw new InvalidArgumentError('kubeconfig user', 'both a client certificate and its key');
    endpoint.clientCert = { certPem, keyPem };
  }
  return endpoint;
}

export const serviceAccountDir = '/var/run/secrets/kubernetes.io/serviceaccount';

/**
 * The endpoint of the cluster this process runs in: KUBERNETES_SERVICE_HOST/PORT and
 * the mounted service-account files. The token is re-read as the kubelet rotates it.
 */
export function inClusterEndpoint(options: { env: NodeJS.ProcessEnv; dir?: string }): KubeEndpoint {
  const { env } = options;
  const dir = options.dir ?? serviceAccountDir;
  const host = env.KUBERNETES_SERVICE_HOST;
  const port = env.KUBERNETES_SERVICE_PORT;
  if (!host || !port) {
    throw new InvalidArgumentError('KUBERNETES_SERVICE_HOST/KUBERNETES_SERVICE_PORT', 'to be set (not running in a Kubernetes pod? pass --kubeconfig)');
  }
  let caPem: string;
  try {
    caPem = readFileSync(join(dir, 'ca.crt'), 'utf8');
    readFileSync(join(dir, 'token'), 'utf8');
  } catch (error) {
    throw new InvalidArgumentError(`${dir}`, `the mounted service-account token and ca.crt (${(error as Error).message})`);
  }
  const hostPart = host.includes(':') ? `[${host}]` : host;
  return { server: `https://${hostPart}:${port}`, caPem, token: fileTokenSource(join(dir, 'token')) };
}
