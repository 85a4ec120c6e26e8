/**
 * `drover settings get|set kubeconfig`: the kubeconfig token settings (default and
 * maximum lifetime, token or `drover token` exec plugin). Anyone logged in reads
 * them; admins change them. `set` changes only the flags given: it reads the
 * current value and sends the whole setting back.
 */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { printItems, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { DURATION_HINT, durationOption, formatDuration } from '../../durations/index.ts';
import { namingFlags } from '../flag-errors.ts';
import type { KubeconfigSettingsView } from '../../api-types/index.ts';


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

/** A setting prints as one row per field; `-o name` prints the fields' names. */
const fieldView: ItemView<[string, string]> = {
  columns: [{ header: 'setting', cell: ([field]) => field }, { header: 'value', cell: ([, value]) => value }],
  name: ([field]) => field,
};

function printSettings(deps: CliDeps, flags: OutputFlags, view: KubeconfigSettingsView): void {
  printItems(deps, flags, view, [
    ['token-ttl', describeSeconds(view.defaultTtlSeconds)],
    ['max-token-ttl', describeSeconds(view.maxTtlSeconds)],
    ['generate-token', String(view.generateToken)],
    ['source', view.source === 'stored' ? `saved by an admin${view.updatedAt ? ` at ${view.updatedAt}` : ''}` : 'server environment (DROVER_KUBECONFIG_*)'],
  ], fieldView);
}

export function settingsCommand(deps: CliDeps): Command {
  const settings = new Command('settings').description('server settings: kubeconfig token lifetime and generation');
  settings.addCommand(withOutputFlags(new Command('get'))
    .description('show a setting (kubeconfig)')
    .argument('<setting>', 'kubeconfig')
    .action(async (name: string, opts: OutputFlags) => {
      const view = await withClient(deps, (client) => client.request<KubeconfigSettingsView>('GET', `/v1/settings/${settingName(name)}`));
      printSettings(deps, opts, view);
    }));
  settings.addCommand(withOutputFlags(new Command('set'))
    .description('change a setting (admins); flags not given keep their value')
    .argument('<setting>', 'kubeconfig')
    .option('--token-ttl <duration>', `lifetime of the token in a new kubeconfig, ${DURATION_HINT} (at most --max-token-ttl)`)
    .option('--max-token-ttl <duration>', 'the longest lifetime a user may ask for with "drover kubeconfig --ttl"')
    .option('--generate-token <true|false>', 'false: kubeconfigs run "drover token" (exec plugin) instead of holding a token')
    .action(async (name: string, opts: { tokenTtl?: string; maxTokenTtl?: string; generateToken?: string } & OutputFlags) => {
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
      printSettings(deps, opts, view);
    }));
  return settings;
}
