import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { droverVersion } from '../../version/index.ts';
import { parseOutputFormat, printJson } from '../output.ts';

export function versionCommand(deps: CliDeps): Command {
  return new Command('version')
    .description('print the Drover version')
    .option('-o, --output <format>', 'json or table')
    .action((opts: { output?: string }) => {
      const info = { version: droverVersion, node: process.version, platform: `${process.platform}/${process.arch}` };
      if (parseOutputFormat(opts.output) === 'json') printJson(deps, info);
      else deps.stdout.write(`drover ${info.version} (node ${info.node}, ${info.platform})\n`);
    });
}
