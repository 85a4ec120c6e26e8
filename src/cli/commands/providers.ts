/**
 * `drover providers list | configure NAME -f FILE | test NAME [--username U --password-stdin] | enable NAME | disable NAME`
 * (`test github|oidc` prints a login link and waits for the browser test login)
 * and `drover principals search QUERY` (find the principal id to use with `members add --group`).
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import type { CliDeps } from '../deps.ts';
import { readStdinSecret, withClient, type DroverClient } from '../client/index.ts';
import { waitForBrowser } from './login-browser.ts';
import { InvalidArgumentError } from '../../errors/index.ts';
import { printItems, printText, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { LoginLink, Principal, ProviderTestAnswer, ProviderView } from '../../api-types/index.ts';

/** Whether the configuration under test (the pending one if any) passed, and when. */
const testState = (view: ProviderView | undefined): { tested: boolean; testedAt?: string } | undefined => view?.pending ?? view;

const path = (name: string, action = ''): string => `/v1/providers/${encodeURIComponent(name)}${action ? `/${action}` : ''}`;

const yesNo = (value: boolean): string => value ? 'yes' : 'no';
const providerView: ItemView<ProviderView> = {
  columns: [
    { header: 'name', cell: (p) => p.name }, { header: 'style', cell: (p) => p.style },
    { header: 'configured', cell: (p) => yesNo(p.configured) }, { header: 'tested', cell: (p) => yesNo(p.tested) },
    { header: 'enabled', cell: (p) => yesNo(p.enabled) },
    { header: 'pending', cell: (p) => p.pending ? (p.pending.tested ? 'tested' : 'untested') : '-' },
    { header: 'access', cell: (p) => p.accessMode === 'restricted' ? `restricted (${p.allowedPrincipals.length})` : p.accessMode },
  ],
  name: (p) => p.name,
};
const principalView: ItemView<Principal> = {
  columns: [{ header: 'id', cell: (p) => p.id }, { header: 'kind', cell: (p) => p.kind }, { header: 'name', cell: (p) => p.loginName ?? p.displayName }],
  name: (p) => p.id,
};

/** The settings file: `{config: {...}, accessMode?, allowedPrincipals?}`, or just the config object. YAML or JSON. */
function readSettings(file: string): Record<string, unknown> {
  let parsed: unknown;
  try {
    parsed = parseYaml(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new InvalidArgumentError('-f', `a readable YAML or JSON file (${error instanceof Error ? error.message : String(error)})`, file);
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new InvalidArgumentError('-f', 'a YAML or JSON object', file);
  const object = parsed as Record<string, unknown>;
  return 'config' in object ? object : { config: object };
}

/**
 * A test login for a redirect provider: asks for a login link, prints it, and
 * polls the provider until a test login newer than the one before succeeded with
 * its current settings (the browser page shows the provider's error otherwise).
 */
async function browserTest(client: DroverClient, name: string, deps: CliDeps): Promise<ProviderView> {
  const current = async (): Promise<ProviderView | undefined> =>
    (await client.request<ProviderView[]>('GET', '/v1/providers')).find((p) => p.name === name);
  const before = testState(await current())?.testedAt;
  const link = await client.request<LoginLink>('POST', `/v1/auth/${encodeURIComponent(name)}/test-login`);
  return waitForBrowser(deps, `test ${name} (log in as any ${name} user)`, link, async () => {
    const view = await current();
    const state = testState(view);
    return state?.tested === true && state.testedAt !== undefined && state.testedAt !== before ? view : undefined;
  }, (seconds) => `no successful test login through ${name} within ${seconds} s; the browser page shows what failed; fix the settings ("drover providers configure ${name} -f FILE") and run "drover providers test ${name}" again`);
}

export function providersCommand(deps: CliDeps): Command {
  const providers = new Command('providers').description('external identity providers (admins): configure, test, enable, disable');
  providers.addCommand(withOutputFlags(new Command('list')).description('every provider and its state').action(async (opts: OutputFlags) => {
    const list = await withClient(deps, (client) => client.request<ProviderView[]>('GET', '/v1/providers'));
    printItems(deps, opts, list, list, providerView);
  }));

  providers.addCommand(withOutputFlags(new Command('configure')).description('store a provider\'s settings from a YAML/JSON file; it must pass "providers test" before "providers enable"')
    .argument('<name>', 'openldap, activedirectory, github or oidc')
    .requiredOption('-f, --file <file>', 'settings: {config: {...}, accessMode?: unrestricted|restricted, allowedPrincipals?: [...]}')
    .action(async (name: string, opts: { file: string } & OutputFlags) => {
      const view = await withClient(deps, (client) => client.request<ProviderView>('PUT', path(name), readSettings(opts.file)));
      const next = `drover providers test ${name}${view.style === 'password' ? ' --username U --password-stdin' : ''}`;
      printText(deps, opts, view, [view.name], view.pending
        ? `${name} is enabled: the new settings are pending and serve nothing yet (the current ones keep serving). Next: ${next}, then drover providers enable ${name}\n`
        : `Configured ${name}. Next: ${next}\n`);
    }));

  providers.addCommand(withOutputFlags(new Command('test'))
    .description('log in once with the stored settings (password providers: --username and a password; github, oidc: in a browser); success allows enabling it')
    .argument('<name>', 'openldap, activedirectory, github or oidc')
    .option('--username <name>', 'password providers: a directory user to test with')
    .option('--password <password>', 'password (prefer --password-stdin)')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (name: string, opts: { username?: string; password?: string; passwordStdin?: boolean } & OutputFlags) => {
      const style = opts.username === undefined
        ? (await withClient(deps, (client) => client.request<ProviderView[]>('GET', '/v1/providers'))).find((p) => p.name === name)?.style
        : 'password';
      if (style === 'redirect') {
        const view = await withClient(deps, (client) => browserTest(client, name, deps));
        printText(deps, opts, view, [name], `Test login through ${name} succeeded.\nEnable it with: drover providers enable ${name}\n`);
        return;
      }
      if (opts.username === undefined) throw new InvalidArgumentError('--username', `a directory user to test ${name} with (and --password-stdin)`);
      if (opts.password !== undefined && opts.passwordStdin) throw new InvalidArgumentError('--password/--password-stdin', 'one of them, not both');
      const password = opts.passwordStdin ? await readStdinSecret(deps) : opts.password;
      if (password === undefined || password === '') throw new InvalidArgumentError('--password or --password-stdin', 'a password');
      const username = opts.username;
      const answer = await withClient(deps, (client) => client.request<ProviderTestAnswer>(
        'POST', path(name, 'test'), { username, password }));
      printText(deps, opts, answer, [answer.user.id], [
        `Test login through ${name} succeeded as ${answer.user.id}\n`,
        ...answer.groups.map((g) => `  group ${g.id}\n`),
        `Enable it with: drover providers enable ${name}\n`,
      ].join(''));
    }));

  for (const action of ['enable', 'disable'] as const) {
    providers.addCommand(withOutputFlags(new Command(action))
      .description(action === 'enable' ? 'enable a provider whose current settings passed a test login (or promote its tested pending settings)' : 'disable a provider: its users are logged out (tokens revoked)')
      .argument('<name>', 'provider name')
      .action(async (name: string, opts: OutputFlags) => {
        const view = await withClient(deps, (client) => client.request<ProviderView>('POST', path(name, action)));
        printText(deps, opts, view, [view.name], `${name} ${action}d.\n`);
      }));
  }
  return providers;
}

export function principalsCommand(deps: CliDeps): Command {
  const principals = new Command('principals').description('find users and groups (local and every enabled provider) by name');
  principals.addCommand(withOutputFlags(new Command('search')).description('users and groups whose name contains QUERY; use the id with "members add --group"')
    .argument('<query>', 'part of a name')
    .option('--limit <n>', 'at most this many (1-100)', '20')
    .action(async (query: string, opts: { limit: string } & OutputFlags) => {
      if (!/^\d{1,3}$/.test(opts.limit)) throw new InvalidArgumentError('--limit', 'a number from 1 to 100', opts.limit);
      const params = new URLSearchParams({ q: query, limit: opts.limit });
      const list = await withClient(deps, (client) => client.request<Principal[]>('GET', `/v1/principals?${params.toString()}`));
      printItems(deps, opts, list, list, principalView);
    }));
  return principals;
}
