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

/** kube-apiserver's MicroTime format: `2026-12-07T00:30:00.123456Z`. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export const newAuditId = (): string => randomUUID();

/** The user nobody authenticated as (a failed login, a refused token), as kube-apiserver names it. */
export const anonymousUser: AuditUser = { username: 'system:anonymous', groups: ['system:unauthenticated'] };
