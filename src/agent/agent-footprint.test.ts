import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

// Every full GC of the agent marks all it has loaded, so the code `drover agent` imports
// is part of its cost per request (src/tunnel/README.md, "The agent under a LIST").
describe('drover agent footprint', () => {
  it('loads no server code: only the folders the agent and its tunnel need', () => {
    const command = pathToFileURL(join(import.meta.dirname, '..', 'cli', 'commands', 'agent.ts')).href;
    const script = `
      import { registerHooks } from 'node:module';
      const seen = new Set();
      registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
      await import(${JSON.stringify(command)});
      const folders = [...seen].map((u) => /\\/src\\/([^/]+)\\//.exec(u)?.[1]).filter(Boolean);
      console.log(JSON.stringify([...new Set(folders)].sort()));`;
    const out = execFileSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { encoding: 'utf8' });
    const folders = JSON.parse(out.trim().split('\n').pop() ?? '[]') as string[];
    assert.ok(folders.includes('tunnel'), `the import hook saw no tunnel/ module: ${out}`);
    const server = folders.filter((f) => ['clusters', 'provisioning', 'store', 'server', 'proxy', 'identity', 'audit'].includes(f));
    assert.deepEqual(server, [], `drover agent loads server folders (${server.join(', ')}): import them lazily where only one mode needs them`);
  });
});
