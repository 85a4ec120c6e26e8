#!/usr/bin/env node
import { realDeps } from './deps.ts';
import { runCli } from './run.ts';

process.exitCode = await runCli(process.argv.slice(2), realDeps());
