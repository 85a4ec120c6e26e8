/**
 * The one line a person types into the browser's kubectl console, turned into an
 * argv for execFile, or refused. It is not a shell: words split on spaces, quotes
 * group words, and every character a shell would act on (`;` `|` `&` `<` `>` `$`
 * backquote, newlines, backslashes) is refused outside single quotes rather than
 * passed on, so nobody believes a pipe ran. Then the argv must be kubectl (or helm)
 * with a subcommand from an allowlist and no flag that would choose another
 * server, credential or kubeconfig, read or write a file on the server, or start a
 * local listener or editor there.
 */
import { DroverError } from '../errors/index.ts';

export type Program = 'kubectl' | 'helm';

export interface ParsedCommand { program: Program; args: string[] }

const maxLineLength = 4096;

/** Splits a line into words: 'single' and "double" quotes group, nothing else is special. */
export function splitWords(line: string): string[] {
  if (line.length > maxLineLength) refuse(`the command is longer than ${maxLineLength} characters`);
  const words: string[] = [];
  let word: string | undefined;
  let quote: '"' | '\'' | undefined;
  for (const ch of line) {
    if (quote !== undefined) {
      if (ch === quote) quote = undefined;
      else if (quote === '"' && /[$`\\]/.test(ch)) refuse(`"${ch}" inside double quotes: use single quotes for literal text`);
      else word = (word ?? '') + ch;
      continue;
    }
    if (ch === '"' || ch === '\'') { quote = ch; word ??= ''; continue; }
    if (ch === ' ' || ch === '\t') { if (word !== undefined) words.push(word); word = undefined; continue; }
    if (/[;|&<>$`\\\n\r(){}*?~!#]/.test(ch)) refuse(`"${ch === '\n' ? '\\n' : ch}" is shell syntax; this console runs one kubectl or helm command, without a shell`);
    if (ch.charCodeAt(0) < 0x20) refuse('control characters are not allowed');
    word = (word ?? '') + ch;
  }
  if (quote !== undefined) refuse(`the ${quote === '"' ? 'double' : 'single'} quote is not closed`);
  if (word !== undefined) words.push(word);
  return words;
}

/** Subcommands that only talk to the cluster (through the proxy, as the user). */
const kubectlCommands = new Set([
  'get', 'describe', 'logs', 'top', 'explain', 'api-resources', 'api-versions', 'version', 'auth', 'events', 'rollout',
  'scale', 'delete', 'label', 'annotate', 'create', 'run', 'expose', 'set', 'patch', 'cordon', 'uncordon', 'drain',
  'taint', 'exec', 'wait', 'autoscale', 'cluster-info', 'certificate',
]);
const helmCommands = new Set(['list', 'ls', 'status', 'history', 'get', 'uninstall', 'rollback', 'version', 'env']);

/**
 * Flags refused, with every spelling (`--flag`, `--flag=value`): they choose another server,
 * identity or kubeconfig, read or write the server's files (`-f`, `--from-file`, `-o *-file`,
 * logs and profiles), or name a cache or plugin directory on the server.
 */
const refusedFlags = [
  '--kubeconfig', '--token', '--server', '-s', '--username', '--password', '--client-certificate', '--client-key',
  '--certificate-authority', '--insecure-skip-tls-verify', '--tls-server-name', '--cluster', '--context', '--user',
  '--kube-apiserver', '--kube-token', '--kube-context', '--kube-ca-file', '--kube-insecure-skip-tls-verify', '--kube-tls-server-name', '--kube-as-user', '--kube-as-group',
  '--cache-dir', '--log-file', '--log-dir', '--profile', '--profile-output', '-f', '--filename', '-k', '--kustomize',
  '--from-file', '--from-env-file', '--env-file', '--repository-config', '--repository-cache', '--registry-config',
  '--kuberc', '--plugin-dir', '--values', '--set-file', '--post-renderer', '--template', '--edit', '--local',
];

function flagName(arg: string): string | undefined {
  if (!arg.startsWith('-')) return undefined;
  const eq = arg.indexOf('=');
  return eq < 0 ? arg : arg.slice(0, eq);
}

/** `-o jsonpath-file=…`, `--output=go-template-file=…`: output formats that read a file on the server. */
function readsOutputFile(args: string[], i: number): boolean {
  const arg = args[i] ?? '';
  const value = arg === '-o' || arg === '--output' ? args[i + 1] : /^(-o|--output)=?(.*)$/.exec(arg)?.[2];
  return value !== undefined && /-file\b/.test(value);
}

export function parseCommandLine(line: string, programs: ReadonlySet<Program>): ParsedCommand {
  const words = splitWords(line.trim());
  const [first, ...args] = words;
  if (first === undefined) refuse('type a kubectl command, such as "kubectl get pods"');
  if (first !== 'kubectl' && first !== 'helm') refuse(`only kubectl${programs.has('helm') ? ' and helm' : ''} run here, not ${JSON.stringify(first.slice(0, 64))}`);
  if (!programs.has(first)) refuse(`${first} is not installed on this server`);
  const subcommand = args.find((a) => !a.startsWith('-'));
  const allowed = first === 'kubectl' ? kubectlCommands : helmCommands;
  if (subcommand === undefined || !allowed.has(subcommand)) {
    refuse(`"${first} ${(subcommand ?? '').slice(0, 64)}" is not available in the browser console (it would use the server's files, ports or an editor); it offers: ${[...allowed].sort().join(', ')}`);
  }
  // After `--` the words are the container's command (`kubectl exec POD -- tail -f log`), not kubectl's flags.
  const end = args.indexOf('--');
  for (let i = 0; i < (end < 0 ? args.length : end); i++) {
    const name = flagName(args[i] ?? '');
    if (name === undefined) continue;
    // A short flag with its value attached (`-fpod.yaml`, `-s https://…`) counts as that flag.
    const refused = refusedFlags.find((f) => name === f || name.startsWith(`${f}-`) || (/^-[a-z]$/.test(f) && name.startsWith(f) && !name.startsWith('--')));
    if (refused !== undefined) refuse(`the flag ${refused} is not available in the browser console: it would choose another server, identity or file`);
    if (readsOutputFile(args, i)) refuse('output formats that read a template file on the server are not available here');
  }
  if (first === 'kubectl' && subcommand === 'exec' && args.some((a) => /^-(-stdin|-tty|[a-z]*[it][a-z]*)$/.test(a))) {
    refuse('this console is not interactive: run "kubectl exec POD -- COMMAND" without -i/-t, or open a terminal from the pod\'s page');
  }
  return { program: first, args };
}

function refuse(message: string): never {
  throw new DroverError('DRV_ERR_UNPROCESSABLE', message);
}
