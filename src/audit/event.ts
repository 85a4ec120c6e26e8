/**
 * The audit event, as kube-apiserver writes it (`audit.k8s.io/v1` `Event`), so Falco,
 * Elastic and Loki pipelines that read a cluster's audit log read Drover's unchanged.
 */
import { randomUUID } from 'node:crypto';

export type AuditLevel = 'None' | 'Metadata' | 'Request' | 'RequestResponse';
export const auditLevels: readonly AuditLevel[] = ['None', 'Metadata', 'Request', 'RequestResponse'];
export type AuditStage = 'RequestReceived' | 'ResponseStarted' | 'ResponseComplete' | 'Panic';
export const auditStages: readonly AuditStage[] = ['RequestReceived', 'ResponseStarted', 'ResponseComplete', 'Panic'];

/** `annotations` key naming the Drover cluster a proxied request went to. */
export const clusterAnnotation = 'drover.dev/cluster-id';

export interface AuditUser {
  username: string;
  uid?: string;
  groups?: string[];
  extra?: Record<string, string[]>;
}

export interface ObjectReference {
  resource?: string;
  namespace?: string;
  name?: string;
  apiGroup?: string;
  apiVersion?: string;
  subresource?: string;
}

export interface AuditEvent {
  kind: 'Event';
  apiVersion: 'audit.k8s.io/v1';
  level: Exclude<AuditLevel, 'None'>;
  auditID: string;
  stage: AuditStage;
  requestURI: string;
  verb: string;
  user: AuditUser;
  impersonatedUser?: AuditUser;
  sourceIPs?: string[];
  userAgent?: string;
  objectRef?: ObjectReference;
  responseStatus?: { metadata: Record<string, never>; code: number; status?: 'Success' | 'Failure'; message?: string };
  requestObject?: unknown;
  responseObject?: unknown;
  /** MicroTime: RFC 3339 with microseconds, as kube-apiserver writes it. */
  requestReceivedTimestamp: string;
  stageTimestamp: string;
  annotations?: Record<string, string>;
}

/** The ISO text of the last whole second asked for: every event takes two stamps, mostly in the same second. */
let stampedSecond = Number.NaN;
let secondPrefix = '';

/** kube-apiserver's MicroTime format: `2026-12-07T00:30:00.123456Z` (from a millisecond time, so the last three digits are 0). */
export function microTime(ms: number): string {
  const whole = Math.trunc(ms);
  const second = Math.floor(whole / 1000);
  if (second !== stampedSecond) {
    // `2026-12-07T00:30:00.`: formatting a Date is the costly part, so once a second.
    secondPrefix = new Date(second * 1000).toISOString().slice(0, -4);
    stampedSecond = second;
  }
  const millis = whole - second * 1000;
  return `${secondPrefix}${millis < 10 ? '00' : millis < 100 ? '0' : ''}${millis}000Z`;
}

export const newAuditId = (): string => randomUUID();

/** The user nobody authenticated as (a failed login, a refused token), as kube-apiserver names it. */
export const anonymousUser: AuditUser = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
