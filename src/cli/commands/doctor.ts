/** `drover doctor --cluster C --user NAME`: checks a user's impersonation resources on a cluster (admins). */
import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { withClient } from '../client/index.ts';
import { parseOutputFormat, printJson } from '../output.ts';
import { DroverError } from '../../errors/index.ts';

interface DoctorReport { clusterId: string; userId: string; username: string; ok: boolean; findings: Array<{ check: string; ok: boolean; detail: string }> }

export function doctorCommand(deps: CliDeps): Command {
  return new Command('doctor')
    .description('check a user\'s impersonation account on a cluster and say what is wrong')
    .requiredOption('--cluster <cluster>', 'cluster id or name')
    .requiredOption('--user <name>', 'user name or id')
    .option('-o, --output <format>', 'json or table')
    .action(async (opts: { cluster: string; user: string; output?: string }) => {
      const format = parseOutputFormat(opts.output);
      const report = await withClient(deps, (client) => client.request<DoctorReport>('GET',
        `/v1/clusters/${encodeURIComponent(opts.cluster)}/doctor?user=${encodeURIComponent(opts.user)}`));
      if (format === 'json') printJson(deps, report);
      else {
        for (const f of report.findings) deps.stdout.write(`${f.ok ? 'ok     ' : 'PROBLEM'}  ${f.check}: ${f.detail}\n`);
      }
      const problems = report.findings.filter((f) => !f.ok).length;
      if (problems > 0) {
        throw new DroverError('DRV_ERR_CONFLICT', `${problems} problem(s) with ${report.username}'s impersonation account on ${report.clusterId}`);
      }
    });
}
