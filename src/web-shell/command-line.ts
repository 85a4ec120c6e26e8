/**
 * The one line a person types into the browser's kubectl console, turned into an
 * argv for execFile, or refused. It is not a shell: words split on spaces, quotes
 * group words, and every character a shell would act on (`;` `|` `&` `<` `>` `$`
 * backquote, newlines, backslashes) is refused outside single quotes rather than
 * passed on, so nobody believes a pipe ran. Then the argv must be kubectl (or helm)
 * with a subcommand from an allowlist and only flags from an allowlist: none that
 * would choose another server, credential or kubeconfig, read or write a file on the
 * server, or start a local listener or editor there.
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
 * The only flags a console command may carry: ones that shape what is asked of the
 * cluster or how the answer is printed. An allowlist, not a denylist: kubectl and helm
 * gain flags with every release, and a flag that reads a server file (`create secret tls
 * --cert`, `patch --patch-file`, `cluster-info dump --output-directory`) or picks another
 * server or identity must never pass because nobody listed it. Names are compared as
 * kubectl reads them (`--cache_dir` is `--cache-dir`).
 */
const kubectlFlags = new Set([
  // What to ask for and how to print it (most subcommands).
  'namespace', 'all-namespaces', 'selector', 'field-selector', 'output', 'show-labels', 'label-columns', 'sort-by',
  'watch', 'watch-only', 'output-watch-events', 'chunk-size', 'ignore-not-found', 'no-headers', 'show-kind',
  'show-managed-fields', 'allow-missing-template-keys', 'server-print', 'raw', 'subresource', 'all', 'help', 'client',
  'dry-run', 'field-manager',
  'validate', 'save-config', 'overwrite', 'resource-version', 'timeout', 'wait', 'force', 'grace-period', 'now', 'cascade',
  // The request itself (never its destination or credential).
  'request-timeout', 'v', 'vmodule', 'warnings-as-errors', 'match-server-version', 'disable-compression',
  'as', 'as-group', 'as-uid',
  // logs, exec, describe, top, explain, api-resources, auth, events, wait.
  'container', 'follow', 'previous', 'tail', 'since', 'since-time', 'timestamps', 'all-containers', 'prefix',
  'limit-bytes', 'max-log-requests', 'pod-running-timeout', 'ignore-errors', 'all-pods', 'quiet', 'show-events',
  'containers', 'use-protocol-buffers', 'sum', 'recursive', 'api-version', 'api-group', 'namespaced', 'verbs',
  'cached', 'categories', 'list', 'for', 'types',
  // rollout, scale, autoscale, drain, taint, certificate, cluster-info dump.
  'revision', 'to-revision', 'replicas', 'current-replicas', 'min', 'max', 'cpu-percent', 'cpu', 'memory', 'name',
  'ignore-daemonsets', 'delete-emptydir-data', 'disable-eviction', 'pod-selector', 'skip-wait-for-delete-timeout',
  'namespaces',
  // create, run, expose, set, patch: every value is given on the line, none is read from a file.
  'image', 'port', 'from-literal', 'type', 'docker-server', 'docker-username', 'docker-password', 'docker-email',
  'append-hash', 'verb', 'resource', 'resource-name', 'non-resource-url', 'aggregation-rule', 'role', 'clusterrole',
  'serviceaccount', 'group', 'from', 'schedule', 'restart', 'hard', 'scopes', 'value', 'global-default', 'description',
  'preemption-policy', 'tcp', 'node-port', 'external-name', 'clusterip', 'rule', 'class', 'default-backend',
  'annotation', 'min-available', 'max-unavailable', 'duration', 'audience', 'bound-object-kind', 'bound-object-name',
  'bound-object-uid', 'env', 'labels', 'command', 'overrides', 'image-pull-policy', 'annotations', 'expose',
  'privileged', 'attach', 'rm', 'target-port', 'protocol', 'external-ip', 'load-balancer-ip', 'cluster-ip',
  'session-affinity', 'override-type', 'keys', 'resolve', 'limits', 'requests', 'patch',
]);
/**
 * kubectl's `--user` picks the kubeconfig's user, except where a subcommand declares its own
 * (`create rolebinding --user=alice`, `set subject … --user=alice`): only there does it pass.
 */
const subjectCommands = [['create', 'rolebinding'], ['create', 'clusterrolebinding'], ['set', 'subject']];
const helmFlags = new Set([
  'namespace', 'all-namespaces', 'output', 'revision', 'max', 'filter', 'all', 'date', 'reverse', 'short', 'deployed',
  'failed', 'pending', 'superseded', 'uninstalled', 'uninstalling', 'offset', 'time-format', 'no-headers',
  'keep-history', 'wait', 'timeout', 'dry-run', 'no-hooks', 'cleanup-on-fail', 'force', 'recreate-pods', 'history-max',
  'cascade', 'description', 'show-resources', 'debug', 'help', 'selector',
]);
/**
 * Short flags: the letter, and whether it takes a value (the rest of the word is then that
 * value, `-nteam`) or is a switch (the letters after it are more flags, each checked:
 * `-Aw`). Read as the subcommand reads it: `-p` is `--previous` (a switch) under `logs`,
 * `--patch` (a value) under `patch`.
 */
type ShortFlag = 'value' | 'switch';
const kubectlShort = new Map<string, ShortFlag>([['n', 'value'], ['l', 'value'], ['o', 'value'], ['c', 'value'], ['L', 'value'], ['e', 'value'], ['v', 'value'], ['p', 'value'], ['A', 'switch'], ['w', 'switch'], ['q', 'switch'], ['h', 'switch']]);
const kubectlLogsShort = new Map<string, ShortFlag>([...kubectlShort, ['p', 'switch']]);
const helmShort = new Map<string, ShortFlag>([['n', 'value'], ['o', 'value'], ['m', 'value'], ['l', 'value'], ['A', 'switch'], ['a', 'switch'], ['d', 'switch'], ['r', 'switch'], ['q', 'switch'], ['h', 'switch']]);

/** `-o jsonpath-file=…`, `--output=go-template-file=…`: output formats that read a file on the server. */
function readsOutputFile(args: string[], i: number): boolean {
  const arg = args[i] ?? '';
  const value = arg === '-o' || arg === '--output' ? args[i + 1] : /^(-o|--output)=?(.*)$/.exec(arg)?.[2];
  return value !== undefined && /-file\b/.test(value);
}

/** Refuses a word whose flags (`--name`, or each letter of `-abc` up to a value), read as the program reads them, are not all allowed. */
function checkFlagWord(word: string, program: Program, positionals: string[]): void {
  const notHere = (flag: string): never => refuse(`the flag ${flag} is not available in the browser console, which passes only flags that shape the request `
    + 'or its output (never another server, identity, file or directory on the server); run your own kubectl with the cluster\'s kubeconfig for it');
  if (word.startsWith('--')) {
    const name = word.slice(2).split('=', 1)[0]?.replaceAll('_', '-') ?? '';
    const allowed = program === 'kubectl'
      ? kubectlFlags.has(name) || (name === 'user' && subjectCommands.some((command) => command.every((w, i) => positionals[i] === w)))
      : helmFlags.has(name);
    if (!allowed) notHere(`--${name.slice(0, 64)}`);
    return;
  }
  const shorts = program === 'helm' ? helmShort : positionals[0] === 'logs' ? kubectlLogsShort : kubectlShort;
  for (let i = 1; i < word.length; i++) {
    const letter = word[i] ?? '';
    if (letter === '=' && i > 1) return;
    const kind = shorts.get(letter);
    if (kind === undefined) notHere(`-${letter}`);
    if (kind === 'value') return;
  }
}

export function parseCommandLine(line: string, programs: ReadonlySet<Program>): ParsedCommand {
  const [first, ...args] = splitWords(line.trim());
  if (first === undefined) refuse('type a kubectl command, such as "kubectl get pods"');
  if (first !== 'kubectl' && first !== 'helm') refuse(`only kubectl${programs.has('helm') ? ' and helm' : ''} run here, not ${JSON.stringify(first.slice(0, 64))}`);
  if (!programs.has(first)) refuse(`${first} is not installed on this server`);
  const subcommand = args.find((a) => !a.startsWith('-'));
  const allowed = first === 'kubectl' ? kubectlCommands : helmCommands;
  if (subcommand === undefined || !allowed.has(subcommand)) {
    refuse(`"${first} ${(subcommand ?? '').slice(0, 64)}" is not available in the browser console (it would use the server's files, ports or an editor); it offers: ${[...allowed].sort().join(', ')}`);
  }
  // After `--` the words are the container's command (`kubectl exec POD -- ls -lt`), not kubectl's flags.
  const end = args.indexOf('--');
  const ownWords = end < 0 ? args : args.slice(0, end);
  if (first === 'kubectl' && subcommand === 'exec' && ownWords.some((a) => /^-(-stdin|-tty|[a-z]*[it][a-z]*)$/.test(a))) {
    refuse('this console is not interactive: run "kubectl exec POD -- COMMAND" without -i/-t, or open a terminal from the pod\'s page');
  }
  const positionals = ownWords.filter((w) => !w.startsWith('-'));
  for (const [i, word] of ownWords.entries()) {
    if (!word.startsWith('-') || word === '-') continue;
    checkFlagWord(word, first, positionals);
    if (readsOutputFile(ownWords, i)) refuse('output formats that read a template file on the server are not available here');
  }
  return { program: first, args };
}

/** Flags whose values say what was asked without carrying data: kept in the audit trail's copy of a line. */
const plainValueFlags = new Set([
  'namespace', 'selector', 'field-selector', 'output', 'container', 'label-columns', 'sort-by', 'tail', 'since',
  'since-time', 'timeout', 'request-timeout', 'replicas', 'current-replicas', 'revision', 'to-revision', 'type', 'image',
  'port', 'target-port', 'name', 'restart', 'schedule', 'role', 'clusterrole', 'serviceaccount', 'user', 'group', 'as',
  'as-group', 'as-uid', 'for', 'types', 'dry-run', 'grace-period', 'cascade', 'subresource', 'api-group', 'verbs',
  'min', 'max', 'cpu-percent', 'v', 'chunk-size', 'raw', 'protocol', 'filter', 'time-format', 'offset',
]);
const plainValueShorts = new Set(['n', 'l', 'o', 'c', 'L', 'v', 'm']);
const redacted = 'REDACTED';

/**
 * A console line as the audit trail keeps it: what was run, on which objects, without what
 * it carried. Values of flags outside `plainValueFlags` (`--from-literal`, `--docker-password`,
 * `-p` patches, `--env`, `--overrides`), the value part of every `KEY=VALUE` word
 * (`set env … PASSWORD=…`) and everything after `--` (an exec's command) become `REDACTED`.
 * A flag's next word counts as its value unless it is a flag itself, so a switch may hide the
 * name after it: over-redaction, never a leak.
 */
export function commandLineForAudit(line: unknown): string {
  let words: string[];
  try {
    if (typeof line !== 'string') throw new TypeError('not a string');
    words = splitWords(line.trim());
  } catch {
    return `${redacted} (not a command line the console could read)`;
  }
  const kept: string[] = [];
  /** What the next word is when it is not a flag: the value of a flag before it, kept or not. */
  let next: 'plain value' | 'value' | undefined;
  for (const word of words) {
    if (word === '--') {
      kept.push('--', redacted);
      break;
    }
    const isFlag = word.startsWith('-') && word.length > 1;
    const value = isFlag ? undefined : next;
    next = undefined;
    if (value === 'plain value') kept.push(word);
    else if (value === 'value') kept.push(redacted);
    else if (!isFlag) kept.push(word.includes('=') ? `${word.slice(0, word.indexOf('='))}=${redacted}` : word);
    else if (word.startsWith('--')) {
      const eq = word.indexOf('=');
      const plain = plainValueFlags.has((eq < 0 ? word.slice(2) : word.slice(2, eq)).replaceAll('_', '-'));
      kept.push(plain || eq < 0 ? word : `${word.slice(0, eq)}=${redacted}`);
      if (eq < 0) next = plain ? 'plain value' : 'value';
    } else {
      const letter = word[1] ?? '';
      const switches = [...word.slice(1)].every((l) => kubectlShort.get(l) === 'switch' || helmShort.get(l) === 'switch');
      const plain = plainValueShorts.has(letter) || switches;
      kept.push(plain || word.length === 2 ? word : `-${letter}${redacted}`);
      if (word.length === 2 && !switches) next = plain ? 'plain value' : 'value';
    }
  }
  return kept.map((w) => (/[\s'"]/.test(w) ? `'${w.replaceAll('\'', '')}'` : w)).join(' ');
}

function refuse(message: string): never {
  throw new DroverError('DRV_ERR_UNPROCESSABLE', message);
}
