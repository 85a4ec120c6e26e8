/**
 * Control planes for test files. `sharedControlPlane()` returns the one that
 * test/run.ts started for the whole run (DROVER_TESTENV_DIR), so its startup is
 * paid once; run alone (`node --import tsx --test file.test.ts`), a file starts a
 * private one that dies with the process. Tests sharing a control plane use unique
 * names (namespaces, users) and never assume they are alone.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  killControlPlaneSync, readControlPlane, startControlPlane, stopControlPlane, type ControlPlaneState,
} from './control-plane.ts';

export type { ControlPlaneState } from './control-plane.ts';
export { kubectl, kubectlOk } from './kubectl.ts';
export { kubeRequest, type KubeTarget } from './kube-http.ts';
export { freePort } from './ports.ts';
export { eventually } from './wait.ts';
export { startTestNode, type TestNode, type TestNodeOptions } from './node.ts';
export { atTerminal, type TerminalRun } from './terminal.ts';

let shared: Promise<ControlPlaneState> | undefined;

export function sharedControlPlane(): Promise<ControlPlaneState> {
  const dir = process.env.DROVER_TESTENV_DIR;
  shared ??= dir ? readControlPlane(dir) : startPrivateControlPlane().then((p) => p.state);
  return shared;
}

export interface PrivateControlPlane { state: ControlPlaneState; stop: () => Promise<void> }

/** A control plane of this process's own (for flags the shared one lacks), removed at exit. */
export async function startPrivateControlPlane(options: { tokenWebhook?: string; auditLog?: boolean } = {}): Promise<PrivateControlPlane> {
  const dir = mkdtempSync(join(tmpdir(), 'drover-testenv-'));
  const quiet = (): void => undefined;
  const state = await startControlPlane({ dir, progress: process.env.DROVER_TESTENV_VERBOSE ? undefined : quiet, ...options });
  const onExit = (): void => {
    killControlPlaneSync(state);
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', onExit);
  return {
    state,
    stop: async () => {
      process.off('exit', onExit);
      await stopControlPlane(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
