#!/usr/bin/env node
// First, before the rest of the program is even loaded (static imports would all be
// loaded and parsed before this module's first line runs): see young-generation.ts.
import './young-generation.ts';

const { realDeps } = await import('./deps.ts');
const { runCli } = await import('./run.ts');
const code = await runCli(process.argv.slice(2), realDeps());
// Exit here rather than when the event loop runs dry: at that exit Node waits for every
// write still pending, and a TLS write that Node never completes (after a failed one, see
// src/tunnel/README.md, "Dials on connections of their own") made an agent spin at 100 %
// CPU forever inside Environment::CleanupHandles. What was printed is flushed first.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise((resolve) => stream.write('', resolve))));
process.exit(code);
