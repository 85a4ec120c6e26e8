/** `drover kube-api-auth`: the TokenReview webhook for the authorized cluster endpoint (see src/kube-api-auth/). */
import { readFileSync, writeFileSync } from 'node:fs';
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { KubeApiAuth, webhookConfig, kubeApiserverFlags, type AceSetting } from '../../kube-api-auth/index.ts';
import { endpointFromKubeconfig, inClusterEndpoint } from '../../kube/index.ts';
import { roleLogger } from './role-logger.ts';
import { InvalidArgumentError } from '../../errors/index.ts';

export function kubeApiAuthCommand(deps: CliDeps): Command {
  return new Command('kube-api-auth')
    .description('answer kube-apiserver\'s TokenReview webhook with Drover tokens synced into this cluster')
    .option('--listen <host:port>', 'where to serve POST /v1/authenticate', '127.0.0.1:6440')
    .option('--kubeconfig <file>', 'read the cluster with this kubeconfig (default: the pod\'s service account)')
    .option('--write-webhook-config <file>', 'write the kube-apiserver webhook config file for --listen, print the flags, and exit')
    .action(async (opts: { listen: string; kubeconfig?: string; writeWebhookConfig?: string }) => {
      if (opts.writeWebhookConfig) {
        writeFileSync(opts.writeWebhookConfig, webhookConfig(`http://${opts.listen}/v1/authenticate`), { mode: 0o600 });
        deps.stdout.write(`${kubeApiserverFlags(opts.writeWebhookConfig).join('\n')}\n`);
        return;
      }
      const endpoint = opts.kubeconfig ? endpointFromKubeconfig(opts.kubeconfig) : inClusterEndpoint({ env: deps.env });
      const logger = roleLogger('kube-api-auth', deps.env);
      const service = new KubeApiAuth({ endpoint, listen: opts.listen, logger });
      await service.start();
      await new Promise<void>((resolve) => {
        const stop = (): void => { void service.close().then(resolve); };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
      });
    });
}

export interface AceFlags { aceFqdn?: string; aceCaFile?: string; aceNodes?: boolean; aceOff?: boolean }

/** Adds the ACE flags to `drover clusters update`. */
export function withAceFlags(command: Command): Command {
  return command
    .option('--ace-fqdn <host:port>', 'authorized cluster endpoint: kube-apiserver (or its load balancer) at this address')
    .option('--ace-ca-file <file>', 'with --ace-fqdn: the CA that signed that address\'s certificate')
    .option('--ace-nodes', 'authorized cluster endpoint: one kubeconfig context per control-plane node')
    .option('--ace-off', 'turn the authorized cluster endpoint off');
}

/** The setting the flags ask for, or undefined when none was given. */
export function aceSettingFromFlags(opts: AceFlags): AceSetting | undefined {
  const chosen = [opts.aceFqdn !== undefined, opts.aceNodes === true, opts.aceOff === true].filter(Boolean).length;
  if (chosen > 1) throw new InvalidArgumentError('--ace-fqdn/--ace-nodes/--ace-off', 'only one of them');
  if (opts.aceCaFile !== undefined && opts.aceFqdn === undefined) throw new InvalidArgumentError('--ace-ca-file', 'to go with --ace-fqdn');
  if (opts.aceOff) return { mode: 'off' };
  if (opts.aceNodes) return { mode: 'nodes' };
  if (opts.aceFqdn === undefined) return undefined;
  let caPem: string | undefined;
  if (opts.aceCaFile !== undefined) {
    try {
      caPem = readFileSync(opts.aceCaFile, 'utf8');
    } catch (error) {
      throw new InvalidArgumentError('--ace-ca-file', 'a readable PEM file', `${opts.aceCaFile}: ${(error as Error).message}`);
    }
  }
  return { mode: 'fqdn', fqdn: opts.aceFqdn, ...(caPem ? { caPem } : {}) };
}
