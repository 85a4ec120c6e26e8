/**
 * The TokenReview wire format: kube-apiserver POSTs
 * `{apiVersion: authentication.k8s.io/v1|v1beta1, kind: TokenReview, spec: {token}}`
 * and reads back `status` in the same version. Anything else is a bad request.
 */
import type { ReviewOutcome } from './token-authenticator.ts';

export const tokenReviewVersions = ['authentication.k8s.io/v1', 'authentication.k8s.io/v1beta1'] as const;
export type TokenReviewVersion = (typeof tokenReviewVersions)[number];

export type ParsedReview = { ok: true; apiVersion: TokenReviewVersion; token: string } | { ok: false; reason: string };

/** Validates a request body; never throws. */
export function parseTokenReview(body: string): ParsedReview {
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch {
    return { ok: false, reason: 'body is not JSON' };
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return { ok: false, reason: 'body is not an object' };
  const review = value as { apiVersion?: unknown; kind?: unknown; spec?: unknown };
  const apiVersion = tokenReviewVersions.find((v) => v === review.apiVersion);
  if (apiVersion === undefined) return { ok: false, reason: 'unsupported apiVersion' };
  if (review.kind !== 'TokenReview') return { ok: false, reason: 'kind is not TokenReview' };
  const spec = review.spec as { token?: unknown } | undefined;
  if (typeof spec !== 'object' || spec === null || typeof spec.token !== 'string' || spec.token === '') return { ok: false, reason: 'spec.token missing' };
  return { ok: true, apiVersion, token: spec.token };
}

/** The answer, in the version asked. Refusals say nothing about why (the reason goes to the log). */
export function tokenReviewResponse(apiVersion: TokenReviewVersion, outcome: ReviewOutcome): object {
  const status = outcome.kind === 'authenticated'
    ? { authenticated: true, user: { username: outcome.user.username, uid: outcome.user.uid, groups: outcome.user.groups } }
    : { authenticated: false };
  return { apiVersion, kind: 'TokenReview', status };
}
