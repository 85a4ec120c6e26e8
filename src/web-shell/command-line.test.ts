import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, splitWords } from './command-line.ts';

const both = new Set(['kubectl', 'helm'] as const);
const kubectlOnly = new Set(['kubectl'] as const);

describe('parseCommandLine (an attacker types into the browser console)', () => {
  it('turns a kubectl line into argv, quotes grouping words', () => {
    assert.deepEqual(parseCommandLine('kubectl get pods -n team', both), { program: 'kubectl', args: ['get', 'pods', '-n', 'team'] });
    assert.deepEqual(parseCommandLine(`kubectl get pods -o 'jsonpath={.items[*].metadata.name}'`, both).args, ['get', 'pods', '-o', 'jsonpath={.items[*].metadata.name}']);
    assert.deepEqual(parseCommandLine('kubectl label pod p "team=a b"', both).args, ['label', 'pod', 'p', 'team=a b']);
    assert.deepEqual(parseCommandLine('helm list -A', both), { program: 'helm', args: ['list', '-A'] });
    assert.deepEqual(parseCommandLine('kubectl exec web -- tail -f /var/log/x', both).args, ['exec', 'web', '--', 'tail', '-f', '/var/log/x']);
  });

  const refused: Array<[string, string, RegExp]> = [
    ['command separator', 'kubectl get pods; cat /etc/passwd', /shell syntax/],
    ['pipe', 'kubectl get pods | sh', /shell syntax/],
    ['background and chain', 'kubectl get pods && id', /shell syntax/],
    ['command substitution', 'kubectl get pods $(id)', /shell syntax/],
    ['substitution inside double quotes', 'kubectl get pods "$(id)"', /inside double quotes/],
    ['backquotes', 'kubectl get pods `id`', /shell syntax/],
    ['redirection', 'kubectl get pods > /tmp/x', /shell syntax/],
    ['input redirection', 'kubectl apply < /etc/passwd', /shell syntax/],
    ['a newline', 'kubectl get pods\nid', /shell syntax/],
    ['an escape', 'kubectl get pods \\; id', /shell syntax/],
    ['home expansion', 'kubectl get pods ~root', /shell syntax/],
    ['another program', 'sh -c id', /only kubectl/],
    ['a path to a program', '/bin/sh', /only kubectl/],
    ['a kubectl elsewhere', '../../usr/bin/kubectl get pods', /only kubectl/],
    ['helm where it is not installed', 'helm list', /not installed/],
    ['another kubeconfig', 'kubectl get pods --kubeconfig=/etc/kubernetes/admin.conf', /--kubeconfig/],
    ['another kubeconfig, separate value', 'kubectl get pods --kubeconfig /etc/kubernetes/admin.conf', /--kubeconfig/],
    ['another token', 'kubectl get pods --token=abc', /--token/],
    ['another server', 'kubectl get pods --server=https://10.0.0.1:6443', /--server/],
    ['another server, short flag', 'kubectl get pods -s https://10.0.0.1:6443', /-s/],
    ['another server, short flag joined', 'kubectl get pods -shttps://10.0.0.1:6443', /-s/],
    ['a client certificate', 'kubectl get pods --client-key=/etc/drover/server.key', /--client-key/],
    ['skipping TLS checks', 'kubectl get pods --insecure-skip-tls-verify', /insecure/],
    ['another context', 'kubectl get pods --context=other', /--context/],
    ['a file on the server', 'kubectl create -f /etc/passwd', /-f|not available/],
    ['a file on the server via apply', 'kubectl apply -f /etc/passwd', /not available/],
    ['a file joined to -f', 'kubectl delete -f/etc/passwd', /-f/],
    ['a secret from a server file', 'kubectl create secret generic x --from-file=/etc/drover/server.key', /--from-file/],
    ['a template file', 'kubectl get pods -o go-template-file=/etc/passwd', /template file/],
    ['a template file, joined', 'kubectl get pods --output=jsonpath-file=/etc/passwd', /template file/],
    ['a log file on the server', 'kubectl get pods --log-file=/tmp/owned', /--log-file/],
    ['plugins', 'kubectl plugin list', /not available/],
    ['an unknown subcommand (a plugin lookup)', 'kubectl foo', /not available/],
    ['copying server files', 'kubectl cp /etc/passwd ns/pod:/tmp', /not available/],
    ['a local listener', 'kubectl proxy --port=8001', /not available/],
    ['port-forward on the server', 'kubectl port-forward pod/web 8080:80', /not available/],
    ['an editor on the server', 'kubectl edit deployment web', /not available/],
    ['the kubeconfig', 'kubectl config view --raw', /not available/],
    ['kustomize reads server dirs', 'kubectl kustomize /etc', /not available/],
    ['an interactive exec', 'kubectl exec -it web -- sh', /not interactive/],
    ['helm values from the server', 'helm get values x --values /etc/passwd', /--values/],
    ['an unclosed quote', 'kubectl get "pods', /not closed/],
    ['nothing', '   ', /type a kubectl command/],
  ];
  for (const [what, line, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => parseCommandLine(line, line.startsWith('helm list') ? kubectlOnly : both), (error: Error & { code?: string }) => {
        assert.equal(error.code, 'DRV_ERR_UNPROCESSABLE');
        assert.match(error.message, message);
        return true;
      });
    });
  }

  it('keeps words literal inside single quotes (nothing there is special)', () => {
    assert.deepEqual(splitWords(`kubectl annotate pod p 'note=a;b|c $(d)'`), ['kubectl', 'annotate', 'pod', 'p', 'note=a;b|c $(d)']);
  });
});
