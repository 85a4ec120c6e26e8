/** `drover doctor --cluster C --user NAME`: checks a user's impersonation resources on a cluster (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { printText, withOutputFlags, type OutputFlags } from '../output.ts';
import { DroverError } from '../../errors/index.ts';
import type { DoctorReport } from '../../api-types/index.ts';

export function doctorCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('doctor'))
    .description('check a user\'s impersonation account on a cluster and say what is wrong')
    .requiredOption('--cluster <cluster>', 'cluster id or name')
    .requiredOption('--user <name>', 'user name or id')
    .action(async (opts: { cluster: string; user: string } & OutputFlags) => {
      const report = await withClient(deps, (client) => client.request<DoctorReport>('GET',
        `/v1/clusters/${encodeURIComponent(opts.cluster)}/doctor?user=${encodeURIComponent(opts.user)}`));
      printText(deps, opts, report, report.findings.filter((f) => !f.ok).map((f) => f.check),
        report.findings.map((f) => `${f.ok ? 'ok     ' : 'PROBLEM'}  ${f.check}: ${f.detail}\n`).join(''));
      const problems = report.findings.filter((f) => !f.ok).length;
      if (problems > 0) {
        throw new DroverError('DRV_ERR_CONFLICT', `${problems} problem(s) with ${report.username}'s impersonation account on ${report.clusterId}`);
      }
    });
}
