#!/usr/bin/env node
// First, before the rest of the program is even loaded (static imports would all be
// loaded and parsed before this module's first line runs): see young-generation.ts.
import './young-generation.ts';

const { realDeps } = await import('./deps.ts');
const { runCli } = await import('./run.ts');
process.exitCode = await runCli(process.argv.slice(2), realDeps());
