import { Command } from 'commander';
import type { CliDeps } from '../deps.ts';
import { droverVersion } from '../../version/index.ts';
import { printText, withOutputFlags, type OutputFlags } from '../output.ts';

export function versionCommand(deps: CliDeps): Command {
  return withOutputFlags(new Command('version'))
    .description('print the Drover version')
    .action((opts: OutputFlags) => {
      const info = { version: droverVersion, node: process.version, platform: `${process.platform}/${process.arch}` };
      printText(deps, opts, info, [info.version], `drover ${info.version} (node ${info.node}, ${info.platform})\n`);
    });
}
