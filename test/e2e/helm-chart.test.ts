/**
 * deploy/helm/drover: rendered by the real `helm template` (helm built from its Go
 * module by test/helm/build.sh and cached beside the control-plane binaries), then
 * checked by the test control plane's kube-apiserver with
 * `kubectl apply --dry-run=server`: every object is valid for the API server as it
 * would be applied, admission included, without being created.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import { kubectl, kubectlOk, sharedControlPlane, type ControlPlaneState } from '../testenv/index.ts';
import { runScript } from '../testenv/processes.ts';

const root = join(import.meta.dirname, '..', '..');
const chart = join(root, 'deploy', 'helm', 'drover');

function helm(bin: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(bin, args, { maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      resolve({ code: error ? (typeof error.code === 'number' ? error.code : 1) : 0, stdout, stderr });
    });
  });
}

interface Rendered { kind: string; metadata: { name: string }; spec: Record<string, unknown> }

describe('the Helm chart', () => {
  let bin: string;
  let cp: ControlPlaneState;
  const ns = `helm-${randomBytes(3).toString('hex')}`;
  const values = ['--set', 'publicUrl=https://drover.example.com', '--set', 'replicas=3', '--set', 'agentImage=registry.example.com/ops/drover:0.1.0'];

  before(async () => {
    bin = await runScript(join(root, 'test', 'helm', 'build.sh'), [], (line) => process.stderr.write(`${line}\n`));
    cp = await sharedControlPlane();
    await kubectlOk(['create', 'namespace', ns], { kubeconfig: cp.kubeconfigPath });
  });

  after(async () => {
    if (cp) await kubectl(['delete', 'namespace', ns, '--wait=false'], { kubeconfig: cp.kubeconfigPath });
  });

  it('passes helm lint', async () => {
    const lint = await helm(bin, ['lint', chart, ...values]);
    assert.equal(lint.code, 0, lint.stdout + lint.stderr);
  });

  it('renders a Deployment of N replicas, a Service and a PodDisruptionBudget that kube-apiserver accepts (dry run)', async () => {
    const rendered = await helm(bin, ['template', 'drover', chart, '--namespace', ns, ...values]);
    assert.equal(rendered.code, 0, rendered.stderr);
    const objects = parseAllDocuments(rendered.stdout).map((d) => d.toJS() as Rendered | null).filter((o): o is Rendered => o !== null);
    assert.deepEqual(objects.map((o) => o.kind).sort(), ['Deployment', 'PodDisruptionBudget', 'Service']);
    const deployment = objects.find((o) => o.kind === 'Deployment');
    assert.equal(deployment?.spec.replicas, 3);
    const text = rendered.stdout;
    for (const wanted of ['path: /readyz', 'name: drover-database', 'name: drover-encryption', 'secretName: drover-tls', '--db=$(DROVER_DB_URL)',
      '--agent-image=registry.example.com/ops/drover:0.1.0', 'readOnlyRootFilesystem: true', '--workers=1', '--shutdown-delay=5s']) {
      assert.ok(text.includes(wanted), `the rendered chart has ${wanted}`);
    }
    const applied = await kubectl(['apply', '--dry-run=server', '--namespace', ns, '-f', '-'], { kubeconfig: cp.kubeconfigPath, input: text });
    assert.equal(applied.code, 0, applied.stderr);
    for (const o of objects) assert.match(applied.stdout, new RegExp(`${o.metadata.name} created \\(server dry run\\)`));
  });

  it('refuses to render without a public URL, or with one that is not https', async () => {
    const missing = await helm(bin, ['template', 'drover', chart]);
    assert.notEqual(missing.code, 0);
    assert.match(missing.stderr, /publicUrl is required/);
    const plain = await helm(bin, ['template', 'drover', chart, '--set', 'publicUrl=http://drover.example.com']);
    assert.notEqual(plain.code, 0);
    assert.match(plain.stderr, /must start with https/);
  });
});
