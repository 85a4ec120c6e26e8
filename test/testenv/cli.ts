/**
 * npm run testenv -- up DIR [--token-webhook URL]   start a control plane, write DIR/admin.kubeconfig
 * npm run testenv -- down DIR                       stop it and remove its state (logs stay)
 * npm run testenv -- build                          build the control-plane binaries if missing
 * npm run testenv -- binaries [VERSION]              print the --kubernetes-binaries directory (building if needed)
 */
import { parseArgs } from 'node:util';
import { startControlPlane, stopControlPlane } from './control-plane.ts';
import { kubeBinaries, provisioningBinaries } from './binaries.ts';

const usage = 'usage: npm run testenv -- up DIR [--token-webhook URL] | down DIR | build | binaries [VERSION]';

async function main(argv: string[]): Promise<void> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { 'token-webhook': { type: 'string' }, help: { type: 'boolean', short: 'h' } },
  });
  const [verb, dir] = positionals;
  const progress = (line: string): void => { process.stderr.write(`${line}\n`); };
  if (values.help) { process.stdout.write(`${usage}\n`); return; }
  switch (verb) {
    case 'up': {
      if (!dir) throw new Error(usage);
      const webhook = values['token-webhook'];
      const state = await startControlPlane({ dir, progress, ...(webhook ? { tokenWebhook: webhook } : {}) });
      process.stdout.write(`${JSON.stringify({ url: state.url, kubeconfig: state.kubeconfigPath, startupMs: state.startupMs })}\n`);
      return;
    }
    case 'down':
      if (!dir) throw new Error(usage);
      await stopControlPlane(dir);
      return;
    case 'build': {
      const bins = await kubeBinaries(progress);
      process.stdout.write(`${JSON.stringify(bins)}\n`);
      return;
    }
    case 'binaries':
      // `dir` is the optional VERSION here.
      process.stdout.write(`${await provisioningBinaries(progress, dir)}\n`);
      return;
    case undefined:
    default:
      throw new Error(usage);
  }
}

main(process.argv.slice(2)).catch((error: unknown) => {
  process.stderr.write(`testenv: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
