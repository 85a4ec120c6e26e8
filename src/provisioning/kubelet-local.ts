/**
 * What only the node knows about its real kubelet, applied by the node agent when it
 * starts it. The plan is the server's and names paths relative to the data dir (the
 * agent runs every process there), but the kubelet hands paths on to the container
 * runtime (pod volume dirs, `/etc/hosts`, log files), which resolves them in its own
 * working directory: they must be absolute. And where the runtime's socket is
 * (`drover agent --mode node --container-runtime-endpoint`) is the node's setting,
 * not the server's: the plan's endpoint is only the usual containerd socket.
 *
 * A loopback node address, which the kubelet refuses, is refused here, before it starts.
 *
 * The test node (drover-test-kubelet) takes `--flag value` pairs and none of these
 * flags, so its arguments pass through unchanged.
 */
import { resolve } from 'node:path';
import { DroverError, InvalidArgumentError } from '../errors/index.ts';
import type { PlannedProcess } from './plan.ts';

export interface KubeletLocalSettings {
  dataDir: string;
  containerRuntimeEndpoint?: string | undefined;
}

/** The kubelet's flags that name a data-dir path (resolved against the data dir). */
const pathFlags = ['--root-dir', '--config', '--kubeconfig'];
const endpointFlag = '--container-runtime-endpoint';

/** The arguments the node runs `process` with: the plan's, made local for the kubelet. */
export function localArgs(process: PlannedProcess, local: KubeletLocalSettings): string[] {
  if (process.name !== 'kubelet') return process.args;
  return process.args.map((arg) => {
    const [flag = '', value] = splitFlag(arg);
    if (value === undefined) return arg;
    if (pathFlags.includes(flag)) return `${flag}=${inDataDir(local.dataDir, value)}`;
    if (flag === endpointFlag && local.containerRuntimeEndpoint) return `${flag}=${local.containerRuntimeEndpoint}`;
    // The kubelet would run but never register its Node, logging "nodeIP can't be loopback address": say so up front.
    if (flag === '--node-ip' && isLoopback(value)) {
      throw new InvalidArgumentError('--address', 'this machine\'s address on its network for a worker: the kubelet refuses a loopback node IP', value);
    }
    return arg;
  });
}

function isLoopback(ip: string): boolean {
  return ip.startsWith('127.') || ip === '::1';
}

function splitFlag(arg: string): [string, string | undefined] {
  const at = arg.indexOf('=');
  return at < 0 ? [arg, undefined] : [arg.slice(0, at), arg.slice(at + 1)];
}

/** A plan path under the data dir, absolute; one that would leave it (`../`, or absolute elsewhere) is refused. */
export function inDataDir(dataDir: string, path: string): string {
  const full = resolve(dataDir, path);
  if (!full.startsWith(`${dataDir}/`)) {
    throw new DroverError('DRV_ERR_BAD_GATEWAY', `the plan names a path outside the data dir: ${path.slice(0, 100)}; the server's plan is wrong or not the server's — check the --server and --ca-checksum this node agent trusts`);
  }
  return full;
}
