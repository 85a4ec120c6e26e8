import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { commandLineForAudit, parseCommandLine, splitWords } from './command-line.ts';

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
    // Flags are allowed by list, not refused by list: each of these read or wrote a server
    // file, or picked another identity, when a denylist missed it.
    ['the server CA key as a TLS secret', 'kubectl create secret tls x --cert=/var/lib/drover/ca.crt --key=/var/lib/drover/ca.key --dry-run=client -o yaml', /--cert/],
    ['a patch read from a server file', 'kubectl patch deploy web --patch-file=/etc/drover/server.key', /--patch-file/],
    ['a dump written to the server', 'kubectl cluster-info dump --output-directory=/tmp/dump', /--output-directory/],
    ['a refused flag spelled with underscores', 'kubectl get ns --cache_dir=/tmp/x', /--cache-dir/],
    ['skipping TLS checks, underscores', 'kubectl get ns --insecure_skip_tls_verify=true', /--insecure-skip-tls-verify/],
    ['a CA file, underscores', 'kubectl get ns --certificate_authority=/var/lib/drover/encryption.key', /--certificate-authority/],
    ['a client certificate, underscores', 'kubectl get ns --client_certificate=/var/lib/drover/server.crt', /--client-certificate/],
    ['another kubeconfig user', 'kubectl get pods --user=cluster-admin', /--user/],
    ['a file flag behind a switch', 'kubectl get pods -Af/etc/passwd', /-f/],
    ['a file flag behind logs\' -p switch', 'kubectl logs web -pf/etc/passwd', /-f/],
    ['a template from a server file', 'kubectl get pods -o go-template --template=/etc/passwd', /--template/],
    ['a profile written on the server', 'kubectl get pods --profile=cpu --profile-output=/tmp/x', /--profile/],
    ['a kuberc file', 'kubectl get pods --kuberc=/etc/passwd', /--kuberc/],
    ['a flag kubectl may add one day', 'kubectl get pods --some-new-file-flag=/etc/passwd', /--some-new-file-flag/],
    ['helm to another apiserver', 'helm status release --kube-apiserver=https://10.0.0.1:6443', /--kube-apiserver/],
    ['helm\'s registry config', 'helm status release --registry-config=/etc/passwd', /--registry-config/],
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

  const accepted = [
    'kubectl logs web -p --tail=10 -c app',
    'kubectl logs web --follow --since=5m',
    'kubectl get pods -A -w',
    'kubectl get pods -Aw',
    'kubectl get pods -nteam -oyaml',
    'kubectl get pods --all_namespaces --show-labels -L app',
    'kubectl create rolebinding rb --clusterrole=view --user=alice -n team',
    'kubectl set subject rolebinding rb --user=bob --group=devs',
    `kubectl patch deploy web -p '{"spec":{"replicas":2}}' --type=merge`,
    'kubectl create secret generic s --from-literal=password=x --dry-run=client -o yaml',
    'kubectl exec web -c app -- ls -lt /tmp',
    'kubectl cluster-info dump --namespaces=default -o yaml',
    'kubectl version --client -o json',
    'kubectl auth can-i --list -n team',
    'kubectl wait --for=condition=Ready pod/web --timeout=30s',
    'kubectl drain node-1 --ignore-daemonsets --delete-emptydir-data',
    'kubectl run tmp --image=busybox --restart=Never --rm --attach -- echo hi',
    'helm list -A -o json',
    'helm history release -n team --max 5',
  ];
  for (const line of accepted) {
    it(`accepts ${line}`, () => {
      assert.deepEqual(parseCommandLine(line, both).args, splitWords(line).slice(1));
    });
  }

  it('keeps words literal inside single quotes (nothing there is special)', () => {
    assert.deepEqual(splitWords(`kubectl annotate pod p 'note=a;b|c $(d)'`), ['kubectl', 'annotate', 'pod', 'p', 'note=a;b|c $(d)']);
  });
});

describe('commandLineForAudit (a console line as the audit trail keeps it)', () => {
  const cases: Array<[string, string, string]> = [
    ['literal values of a secret', 'kubectl create secret generic db -n team --from-literal=password=S3cr3t --dry-run=client -o name',
      'kubectl create secret generic db -n team --from-literal=REDACTED --dry-run=client -o name'],
    ['a registry password, separate value', 'kubectl create secret docker-registry r --docker-password S3cr3t --docker-server=reg.example',
      'kubectl create secret docker-registry r --docker-password REDACTED --docker-server=REDACTED'],
    ['a patch', `kubectl patch secret s -p '{"data":{"k":"S3cr3t"}}' --type=merge`, 'kubectl patch secret s -p REDACTED --type=merge'],
    ['a patch joined to -p', `kubectl patch secret s -p'{"data":{"k":"S3cr3t"}}'`, 'kubectl patch secret s -pREDACTED'],
    ['an environment value', 'kubectl set env deploy/web DB_PASSWORD=S3cr3t -e TOKEN=S3cr3t', 'kubectl set env deploy/web DB_PASSWORD=REDACTED -e REDACTED'],
    ['an exec\'s command', 'kubectl exec web -c app -- sh -c \'echo S3cr3t\'', 'kubectl exec web -c app -- REDACTED'],
    ['what was asked, kept', 'kubectl get pods -A -w -l app=web --field-selector=status.phase=Running -o wide',
      'kubectl get pods -A -w -l app=web --field-selector=status.phase=Running -o wide'],
    ['a line the console refused to read', 'kubectl get "pods', 'REDACTED (not a command line the console could read)'],
  ];
  for (const [what, line, expected] of cases) {
    it(`keeps ${what} as it should`, () => {
      assert.equal(commandLineForAudit(line), expected);
      assert.doesNotMatch(commandLineForAudit(line), /S3cr3t/);
    });
  }

  it('keeps nothing of a body that is not a command line', () => {
    assert.equal(commandLineForAudit(42), 'REDACTED (not a command line the console could read)');
  });
});
