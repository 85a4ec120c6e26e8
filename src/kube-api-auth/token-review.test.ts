import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseTokenReview, tokenReviewResponse } from './token-review.ts';

describe('TokenReview parsing', () => {
  it('accepts v1 and v1beta1 reviews and answers in the version asked', () => {
    for (const apiVersion of ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const) {
      const parsed = parseTokenReview(JSON.stringify({ apiVersion, kind: 'TokenReview', spec: { token: 't' } }));
      assert.deepEqual(parsed, { ok: true, apiVersion, token: 't' });
      assert.deepEqual(tokenReviewResponse(apiVersion, { kind: 'refused', reason: 'r' }), { apiVersion, kind: 'TokenReview', status: { authenticated: false } });
    }
  });

  const bad: Array<[string, string]> = [
    ['not JSON', '{'], ['an array', '[]'], ['null', 'null'], ['a number', '7'],
    ['an unknown version', JSON.stringify({ apiVersion: 'authentication.k8s.io/v2', kind: 'TokenReview', spec: { token: 't' } })],
    ['another kind', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'Pod', spec: { token: 't' } })],
    ['no spec', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview' })],
    ['an empty token', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: '' } })],
    ['a token that is not a string', JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'TokenReview', spec: { token: ['t'] } })],
    ['a prototype-pollution attempt', '{"__proto__":{"apiVersion":"authentication.k8s.io/v1"},"kind":"TokenReview","spec":{"token":"t"}}'],
  ];
  for (const [what, body] of bad) {
    it(`refuses ${what}`, () => assert.equal(parseTokenReview(body).ok, false));
  }
});
