/**
 * `drover settings get|set kubeconfig`: the kubeconfig token settings (default and
 * maximum lifetime, token or `drover token` exec plugin). Anyone logged in reads
 * them; admins change them. `set` changes only the flags given: it reads the
 * current value and sends the whole setting back.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { parseOutputFormat, printJson, printTable } from '../output.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { DURATION_HINT, durationOption, formatDuration } from '../../durations/index.ts';
import { namingFlags } from '../flag-errors.ts';

interface KubeconfigSettingsView {
  defaultTtlSeconds: number;
  maxTtlSeconds: number;
  generateToken: boolean;
  source: 'stored' | 'environment';
  updatedAt?: string;
}

const SETTINGS = ['kubeconfig'] as const;

function settingName(name: string): 'kubeconfig' {
  if (name !== 'kubeconfig') throw new InvalidArgumentError('setting', `one of ${SETTINGS.join(', ')}`, name);
  return name;
}


function generateFlag(raw: string | undefined): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw !== 'true' && raw !== 'false') throw new InvalidArgumentError('--generate-token', 'true or false', raw);
  return raw === 'true';
}

/** `2592000` → `2592000 (30d)`, `5400` → `5400 (1h30m)`. */
export function describeSeconds(total: number): string {
  return `${total} (${formatDuration(total)})`;
}

function printSettings(deps: CliDeps, view: KubeconfigSettingsView): void {
  printTable(deps, ['setting', 'value'], [
    ['token-ttl', describeSeconds(view.defaultTtlSeconds)],
    ['max-token-ttl', describeSeconds(view.maxTtlSeconds)],
    ['generate-token', String(view.generateToken)],
    ['source', view.source === 'stored' ? `saved by an admin${view.updatedAt ? ` at ${view.updatedAt}` : ''}` : 'server environment (DROVER_KUBECONFIG_*)'],
  ]);
}

export function settingsCommand(deps: CliDeps): Command {
  const settings = new Command('settings').description('server settings: kubeconfig token lifetime and generation');
  settings.addCommand(new Command('get')
    .description('show a setting (kubeconfig)')
    .argument('<setting>', 'kubeconfig')
    .option('-o, --output <format>', 'json or table')
    .action(async (name: string, opts: { output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const view = await withClient(deps, (client) => client.request<KubeconfigSettingsView>('GET', `/v1/settings/${settingName(name)}`));
      if (format === 'json') printJson(deps, view);
      else printSettings(deps, view);
    }));
  settings.addCommand(new Command('set')
    .description('change a setting (admins); flags not given keep their value')
    .argument('<setting>', 'kubeconfig')
    .option('--token-ttl <duration>', `lifetime of the token in a new kubeconfig, ${DURATION_HINT} (at most --max-token-ttl)`)
    .option('--max-token-ttl <duration>', 'the longest lifetime a user may ask for with "drover kubeconfig --ttl"')
    .option('--generate-token <true|false>', 'false: kubeconfigs run "drover token" (exec plugin) instead of holding a token')
    .option('-o, --output <format>', 'json or table')
    .action(async (name: string, opts: { tokenTtl?: string; maxTokenTtl?: string; generateToken?: string; output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const setting = settingName(name);
      const defaultTtlSeconds = opts.tokenTtl === undefined ? undefined : durationOption('--token-ttl', opts.tokenTtl);
      const maxTtlSeconds = opts.maxTokenTtl === undefined ? undefined : durationOption('--max-token-ttl', opts.maxTokenTtl);
      const generateToken = generateFlag(opts.generateToken);
      if (defaultTtlSeconds === undefined && maxTtlSeconds === undefined && generateToken === undefined) {
        throw new InvalidArgumentError('set kubeconfig', 'at least one of --token-ttl, --max-token-ttl or --generate-token');
      }
      const view = await namingFlags({ defaultTtlSeconds: '--token-ttl', maxTtlSeconds: '--max-token-ttl', generateToken: '--generate-token' }, withClient(deps, async (client) => {
        const current = await client.request<KubeconfigSettingsView>('GET', `/v1/settings/${setting}`);
        return client.request<KubeconfigSettingsView>('PUT', `/v1/settings/${setting}`, {
          defaultTtlSeconds: defaultTtlSeconds ?? current.defaultTtlSeconds,
          maxTtlSeconds: maxTtlSeconds ?? current.maxTtlSeconds,
          generateToken: generateToken ?? current.generateToken,
        });
      }));
      if (format === 'json') printJson(deps, view);
      else printSettings(deps, view);
    }));
  return settings;
}
