/** `drover audit list`: recent audit events from the server's store (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { DURATION_HINT, durationOption } from '../../durations/index.ts';
import { namingFlags } from '../flag-errors.ts';
import { DroverError } from '../../errors/index.ts';
import { printItems, withOutputFlags, type ItemView, type OutputFlags } from '../output.ts';
import type { AuditEvent, AuditListAnswer, RecordingHeader, SessionListAnswer } from '../../audit/index.ts';

/** What the event was about: `pods/exec web -n team`, or the path of a non-resource request. */
function target(e: AuditEvent): string {
  const ref = e.objectRef;
  if (!ref?.resource) return e.requestURI.split('?', 1)[0] ?? '';
  const resource = `${ref.resource}${ref.subresource ? `/${ref.subresource}` : ''}${ref.apiGroup ? `.${ref.apiGroup}` : ''}`;
  return [resource, ref.name, ref.namespace ? `-n ${ref.namespace}` : ''].filter((part) => part).join(' ');
}

const eventView: ItemView<AuditEvent> = {
  columns: [
    { header: 'time', cell: (e) => e.requestReceivedTimestamp.replace(/\.\d+Z$/, 'Z') },
    { header: 'user', cell: (e) => e.user.extra?.username?.[0] ?? e.user.username },
    { header: 'cluster', cell: (e) => e.annotations?.['drover.dev/cluster-id'] ?? '' },
    { header: 'verb', cell: (e) => e.verb },
    { header: 'target', cell: target },
    { header: 'code', cell: (e) => String(e.responseStatus?.code ?? '') },
    { header: 'as', cell: (e) => e.impersonatedUser?.username ?? '', wide: true },
    { header: 'source', cell: (e) => (e.sourceIPs ?? []).join(','), wide: true },
    { header: 'audit id', cell: (e) => e.auditID, wide: true },
  ],
  name: (e) => e.auditID,
};

const sessionView: ItemView<RecordingHeader> = {
  columns: [
    { header: 'started', cell: (h) => h.drover.startedAt.replace(/\.\d+Z$/, 'Z') },
    { header: 'user', cell: (h) => h.drover.username },
    { header: 'cluster', cell: (h) => h.drover.clusterId },
    { header: 'kind', cell: (h) => h.drover.kind },
    { header: 'pod', cell: (h) => `${h.drover.namespace}/${h.drover.pod}${h.drover.container ? `/${h.drover.container}` : ''}` },
    { header: 'command', cell: (h) => (h.drover.command ?? []).join(' '), wide: true },
    { header: 'audit id', cell: (h) => h.drover.auditID },
  ],
  name: (h) => h.drover.auditID,
};

export function auditCommand(deps: CliDeps): Command {
  const audit = new Command('audit').description('who did what on which cluster (admins)');
  audit.addCommand(withOutputFlags(new Command('list'))
    .description('recent audit events, newest first (-o json gives audit.k8s.io/v1 Events)')
    .option('--user <name>', 'only this user (username or id)')
    .option('--cluster <name>', 'only this cluster (name or id)')
    .option('--verb <verb>', 'only this verb (get, list, watch, create, update, patch, delete, post, ...)')
    .option('--since <duration>', `only events this recent: ${DURATION_HINT}`)
    .option('--limit <n>', 'at most this many events (1-1000)', '100')
    .action(async (opts: { user?: string; cluster?: string; verb?: string; since?: string; limit: string } & OutputFlags) => {
      if (opts.since !== undefined) durationOption('--since', opts.since, { min: 1 });
      const query = new URLSearchParams({ limit: opts.limit });
      for (const key of ['user', 'cluster', 'verb', 'since'] as const) if (opts[key] !== undefined) query.set(key, opts[key]);
      const answer = await namingFlags({ limit: '--limit', user: '--user', cluster: '--cluster', verb: '--verb', since: '--since' },
        withClient(deps, (client) => client.request<AuditListAnswer>('GET', `/v1/audit?${query.toString()}`)));
      printItems(deps, opts, answer.items, answer.items, eventView);
    }));
  audit.addCommand(withOutputFlags(new Command('sessions'))
    .description('recorded kubectl exec and attach sessions, newest first; "drover audit sessions get ID" prints one as asciicast v2')
    .argument('[get]', 'print one recording')
    .argument('[id]', 'its audit id')
    .action(async (verb: string | undefined, id: string | undefined, opts: OutputFlags) => {
      if (verb !== undefined && (verb !== 'get' || id === undefined)) throw new DroverError('DRV_ERR_INVALID_ARGUMENT', 'usage: drover audit sessions [get ID]');
      if (id !== undefined) {
        deps.stdout.write((await withClient(deps, (client) => client.request<{ cast: string }>('GET', `/v1/audit/sessions/${encodeURIComponent(id)}`))).cast);
        return;
      }
      const answer = await withClient(deps, (client) => client.request<SessionListAnswer>('GET', '/v1/audit/sessions'));
      printItems(deps, opts, answer.items, answer.items, sessionView);
    }));
  return audit;
}
