import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { impersonationHeaderValue, scrubCallerHeaders } from './caller-headers.ts';
import { DroverError } from '../errors/index.ts';

const raw = (...pairs: Array<[string, string]>): string[] => pairs.flat();
const forwardedNames = (headers: string[]): string[] => scrubCallerHeaders(headers).forward.map(([n]) => n);

describe('scrubCallerHeaders', () => {
  const identityCases: Array<[string, Array<[string, string]>]> = [
    ['Authorization in any casing', [['Authorization', 'Bearer a'], ['AUTHORIZATION', 'Bearer b'], ['authorization', 'Basic c']]],
    ['cookies', [['Cookie', 'R_SESS=x'], ['cOoKiE', 'drover_session=y']]],
    ['Proxy-Authorization', [['Proxy-Authorization', 'Basic x']]],
    ['front-proxy identity headers', [['X-Remote-User', 'admin'], ['x-remote-group', 'system:masters'], ['X-Remote-Extra-Scopes', 'x']]],
    ['forwarding headers that feed audit logs', [['X-Forwarded-For', '1.2.3.4'], ['Forwarded', 'for=1.2.3.4'], ['X-Real-IP', '1.2.3.4'], ['X-Forwarded-Host', 'evil']]],
    ['a caller\'s Audit-ID, which would make the cluster\'s log name a request of its choosing', [['Audit-ID', 'chosen'], ['audit-id', 'again']]],
  ];
  for (const [what, headers] of identityCases) {
    it(`removes ${what}`, () => {
      assert.deepEqual(forwardedNames(raw(...headers, ['Accept', 'application/json'])), ['accept']);
    });
  }

  it('removes every Impersonate-* header in any casing, duplicated, and reports them separately', () => {
    const result = scrubCallerHeaders(raw(
      ['Impersonate-User', 'admin'], ['IMPERSONATE-GROUP', 'system:masters'], ['impersonate-group', 'ops'],
      ['Impersonate-Extra-Scopes', 'a'], ['impersonate-extra-scopes', 'b'], ['Impersonate-Uid', '42'], ['Accept', '*/*'],
    ));
    assert.deepEqual(result.forward, [['accept', '*/*']]);
    assert.deepEqual(result.impersonation, { user: 'admin', uid: '42', groups: ['system:masters', 'ops'], extras: { scopes: ['a', 'b'] } });
  });

  it('drops headers the caller lists in Connection, and Connection itself', () => {
    const names = forwardedNames(raw(
      ['Connection', 'keep-alive, X-Audit-Id, Impersonate-User'], ['Proxy-Connection', 'Accept-Language'],
      ['X-Audit-Id', 'x'], ['Accept-Language', 'en'], ['Keep-Alive', 'timeout=5'], ['Accept', '*/*'],
    ));
    assert.deepEqual(names, ['accept']);
  });

  it('never forwards hop-by-hop headers or Host', () => {
    const names = forwardedNames(raw(
      ['Host', 'drover.example'], ['TE', 'trailers'], ['Trailer', 'x'], ['Transfer-Encoding', 'chunked'],
      ['Upgrade', 'SPDY/3.1'], ['HTTP2-Settings', 'AAA'], ['Expect', '100-continue'], ['Keep-Alive', 'timeout=5'],
      ['Proxy-Connection', ''], ['User-Agent', 'kubectl/v1.32'],
    ));
    assert.deepEqual(names, ['user-agent']);
  });

  it('never forwards a subprotocol that carries a credential (the UI\'s CSRF token, a bearer token), in any casing', () => {
    const { forward } = scrubCallerHeaders(['Sec-WebSocket-Protocol', 'v5.channel.k8s.io, csrf.drover.io.abc, Base64url.Bearer.Authorization.k8s.io.dG9rZW4, v4.channel.k8s.io']);
    assert.deepEqual(forward, [['sec-websocket-protocol', 'v5.channel.k8s.io, v4.channel.k8s.io']]);
    assert.deepEqual(scrubCallerHeaders(['sec-websocket-protocol', 'csrf.drover.io.abc']).forward, []);
  });

  it('keeps ordinary headers, their order and repeats', () => {
    const result = scrubCallerHeaders(raw(['Accept', 'a'], ['Content-Type', 'application/json'], ['Accept', 'b'], ['Content-Length', '2']));
    assert.deepEqual(result.forward, [['accept', 'a'], ['content-type', 'application/json'], ['accept', 'b'], ['content-length', '2']]);
    assert.equal(result.impersonation, undefined);
    assert.equal(result.upgrade, undefined);
  });

  it('recognises an upgrade only when Connection asks for it', () => {
    assert.equal(scrubCallerHeaders(raw(['Connection', 'Upgrade'], ['Upgrade', 'SPDY/3.1'])).upgrade, 'SPDY/3.1');
    assert.equal(scrubCallerHeaders(raw(['connection', 'keep-alive, upgrade'], ['upgrade', 'websocket'])).upgrade, 'websocket');
    assert.equal(scrubCallerHeaders(raw(['Upgrade', 'websocket'])).upgrade, undefined);
    // The WebSocket handshake headers survive: they are not hop-by-hop unless listed.
    assert.deepEqual(forwardedNames(raw(['Connection', 'Upgrade'], ['Upgrade', 'websocket'], ['Sec-WebSocket-Key', 'k'], ['Sec-WebSocket-Protocol', 'v5.channel.k8s.io'])),
      ['sec-websocket-key', 'sec-websocket-protocol']);
  });

  it('decodes extra keys as kube-apiserver does', () => {
    const result = scrubCallerHeaders(raw(['Impersonate-User', 'u'], ['Impersonate-Extra-Principal%49d', 'local://u']));
    assert.deepEqual(result.impersonation?.extras, { principalid: ['local://u'] });
  });

  const badImpersonation: Array<[string, Array<[string, string]>]> = [
    ['groups without a user', [['Impersonate-Group', 'system:masters']]],
    ['a uid without a user', [['Impersonate-Uid', '1']]],
    ['two users', [['Impersonate-User', 'a'], ['impersonate-user', 'b']]],
    ['an empty user', [['Impersonate-User', '']]],
    ['two uids', [['Impersonate-User', 'a'], ['Impersonate-Uid', '1'], ['Impersonate-Uid', '2']]],
    ['an extra key with a slash', [['Impersonate-User', 'a'], ['Impersonate-Extra-a%2Fb', 'x']]],
    ['an empty extra key', [['Impersonate-User', 'a'], ['Impersonate-Extra-', 'x']]],
    ['broken percent-encoding', [['Impersonate-User', 'a'], ['Impersonate-Extra-%zz', 'x']]],
    ['an unknown impersonation header', [['Impersonate-User', 'a'], ['Impersonate-Everyone', 'x']]],
  ];
  for (const [what, headers] of badImpersonation) {
    it(`refuses impersonation with ${what}`, () => {
      assert.throws(() => scrubCallerHeaders(raw(...headers)), (e: unknown) => e instanceof DroverError && e.status === 400);
    });
  }

  it('reads Connection tokens with spaces, any casing and empty items, and trims the Upgrade protocol', () => {
    const result = scrubCallerHeaders(raw(['CONNECTION', ' ,UPGRADE , x-Secret ,,'], ['Upgrade', '  websocket  '], ['X-SECRET', 's'], ['Accept', '*/*']));
    assert.equal(result.upgrade, 'websocket');
    assert.deepEqual(result.forward, [['accept', '*/*']]);
  });

  it('sees no upgrade when Connection asks for one but no protocol is named', () => {
    assert.equal('upgrade' in scrubCallerHeaders(raw(['Connection', 'Upgrade'])), false);
    assert.equal('upgrade' in scrubCallerHeaders(raw(['Connection', 'Upgrade'], ['Upgrade', ' '])), false);
  });

  it('returns exactly what kube-apiserver would read: no uid key without a uid, extras grouped by key', () => {
    const result = scrubCallerHeaders(raw(['Impersonate-User', 'bob'], ['Impersonate-Uid', ''], ['Impersonate-Extra-A', '1'], ['Impersonate-Extra-b', '2'], ['impersonate-extra-a', '3']));
    assert.deepEqual(result.impersonation, { user: 'bob', groups: [], extras: { a: ['1', '3'], b: ['2'] } });
    assert.equal('uid' in (result.impersonation ?? {}), false);
  });

  it('reads impersonation values as kube-apiserver does (UTF-8), and writes the same bytes back out', () => {
    // Node hands header bytes over as latin1: "évil" sent as UTF-8 arrives as "Ã©vil". Checked under that
    // name, the SubjectAccessReview would judge another user than the one the cluster impersonates.
    const latin1 = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');
    const result = scrubCallerHeaders(raw(['Impersonate-User', latin1('évil')], ['Impersonate-Group', latin1('équipe')], ['Impersonate-Extra-Team', latin1('ünï')]));
    assert.deepEqual(result.impersonation, { user: 'évil', groups: ['équipe'], extras: { team: ['ünï'] } });
    assert.equal(impersonationHeaderValue('évil'), latin1('évil'));
    assert.deepEqual(Buffer.from(impersonationHeaderValue('évil'), 'latin1'), Buffer.from('évil', 'utf8'));
  });

  for (const [what, value] of [['bytes that are not UTF-8', '\u00e9vil'], ['a control character', 'bob\u0001'], ['DEL', 'bob\u007f']] as const) {
    it(`refuses an impersonation value with ${what}`, () => {
      assert.throws(() => scrubCallerHeaders(raw(['Impersonate-User', 'a'], ['Impersonate-Group', value])), (e: Error & { code?: string }) => {
        assert.equal(e.code, 'DRV_ERR_BAD_REQUEST');
        assert.match(e.message, /impersonate-group header is not UTF-8 text/);
        return true;
      });
    });
  }

  it('says which rule an impersonation broke', () => {
    const message = (...headers: Array<[string, string]>): string => {
      try {
        scrubCallerHeaders(raw(...headers));
      } catch (e) {
        return (e as Error).message;
      }
      return 'accepted';
    };
    assert.equal(message(['Impersonate-Group', 'g']), 'impersonation needs exactly one non-empty Impersonate-User header');
    assert.equal(message(['Impersonate-User', 'a'], ['Impersonate-Uid', '1'], ['Impersonate-Uid', '2']), 'at most one Impersonate-Uid header is allowed');
    assert.equal(message(['Impersonate-User', 'a'], [`Impersonate-${'X'.repeat(100)}`, 'x']), `unknown impersonation header "impersonate-${'x'.repeat(52)}"`);
    assert.equal(message(['Impersonate-User', 'a'], ['Impersonate-Extra-%zz', 'x']), 'an Impersonate-Extra-* header name is not valid percent-encoding');
    assert.equal(message(['Impersonate-User', 'a'], ['Impersonate-Extra-', 'x']), 'Impersonate-Extra-* keys must be non-empty and contain no "/"');
  });

  it('tolerates an odd-length rawHeaders array without forwarding the dangling name', () => {
    assert.deepEqual(scrubCallerHeaders(['Accept', 'a', 'Authorization']).forward, [['accept', 'a']]);
    assert.deepEqual(scrubCallerHeaders(['Accept', 'a', 'X-Dangling']).forward, [['accept', 'a']]);
  });
});
