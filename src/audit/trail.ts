/**
 * `AuditTrail`: one record per request, events handed to the sinks without waiting.
 *
 * A request's record is opened when it arrives (its `auditID`, sent downstream as
 * `Audit-ID`, and its receive time), learns who and what as the request goes along,
 * and emits at most one `ResponseStarted` (long-running requests only: watches and
 * upgrades, as kube-apiserver does) and exactly one `ResponseComplete`. The policy is
 * evaluated once, when the facts are known (a request refused before authentication
 * is evaluated as `system:anonymous`). Sinks take a serialised line and return at
 * once; they buffer, and drop (counting it) rather than slow a request.
 */
import type { IncomingMessage } from 'node:http';
import {
  anonymousUser, clusterAnnotation, microTime, newAuditId, type AuditEvent, type AuditLevel, type AuditStage, type AuditUser, type ObjectReference,
} from './event.ts';
import { evaluatePolicy, type AuditPolicy, type PolicyDecision } from './policy.ts';
import { parseRequestInfo, type RequestInfo } from './request-info.ts';
import { redactUri } from './redact.ts';
import { sourceAddresses } from '../http/index.ts';

/** Where events go. `write` must not block and must not throw. */
export interface AuditSink {
  write(line: string, event: AuditEvent): void;
  close(): Promise<void>;
}

/** Who the caller is, as much as the request got to know (the proxy's and the API's user). */
export interface AuditCaller {
  id: string;
  username: string;
  principalIds: readonly string[];
  groups: readonly string[];
}

/** An allowed `--as`, as it went downstream. */
export interface AuditImpersonation { user: string; uid?: string; groups: readonly string[]; extras: Readonly<Record<string, readonly string[]>> }

export interface AuditTrailOptions {
  policy: AuditPolicy;
  sinks: readonly AuditSink[];
  /** For tests; Date.now otherwise. */
  now?: () => number;
}

/** The `user` block of an event: the Drover user id as username, as the cluster sees it through impersonation. */
export function auditUser(caller: AuditCaller | undefined, attempted?: string): AuditUser {
  if (!caller) return attempted === undefined ? anonymousUser : { ...anonymousUser, extra: { username: [attempted] } };
  return {
    username: caller.id,
    groups: [...caller.groups, 'system:authenticated'],
    extra: { principalid: [...caller.principalIds], username: [caller.username] },
  };
}

function objectRefOf(info: RequestInfo): ObjectReference | undefined {
  if (!info.isResourceRequest) return undefined;
  const ref: ObjectReference = {};
  for (const key of ['resource', 'namespace', 'name', 'apiGroup', 'apiVersion', 'subresource'] as const) {
    const value = info[key];
    if (value !== undefined && value !== '') ref[key] = value;
  }
  return ref;
}

export class AuditTrail {
  readonly policy: AuditPolicy;
  private readonly sinks: readonly AuditSink[];
  private readonly now: () => number;

  constructor(options: AuditTrailOptions) {
    this.policy = options.policy;
    this.sinks = options.sinks;
    this.now = options.now ?? Date.now;
  }

  /** Opens the record of one request as it arrives. */
  begin(req: IncomingMessage): RequestAudit {
    return new RequestAudit(this, req, this.now());
  }

  /** @internal: serialises once and hands the line to every sink. */
  emit(event: AuditEvent): void {
    const line = JSON.stringify(event);
    for (const sink of this.sinks) sink.write(line, event);
  }

  /** @internal */
  time(): number {
    return this.now();
  }

  async close(): Promise<void> {
    await Promise.all(this.sinks.map((s) => s.close()));
  }
}

export class RequestAudit {
  readonly auditID = newAuditId();
  private caller: AuditCaller | undefined;
  /** The username a failed login tried. */
  private attemptedUsername: string | undefined;
  private impersonated: AuditImpersonation | undefined;
  private clusterId: string | undefined;
  /** The Kubernetes request target (path and query) as the cluster sees it; the URI itself when there is none. */
  private target: string;
  private decision: PolicyDecision | undefined;
  private info: RequestInfo | undefined;
  private started = false;
  private completed = false;
  private requestObject: unknown;
  private readonly annotations: Record<string, string> = {};
  /** Whether `annotations` holds anything (cheaper than counting its keys at every emit). */
  private annotated = false;
  private responseObject: unknown;
  private readonly method: string;
  private readonly uri: string;
  private readonly sourceIPs: string[];
  private readonly userAgent: string | undefined;

  constructor(private readonly trail: AuditTrail, req: IncomingMessage, private readonly receivedAt: number) {
    this.method = req.method ?? 'GET';
    this.uri = redactUri(req.url ?? '/');
    this.target = this.uri;
    this.sourceIPs = sourceAddresses(req);
    this.userAgent = req.headers['user-agent'];
  }

  /** What the request turned out to be about; call before `level()` and the emits. Later facts refine earlier ones. */
  identify(facts: { caller?: AuditCaller | undefined; clusterId?: string | undefined; target?: string | undefined; impersonated?: AuditImpersonation | undefined }): this {
    if (facts.caller) this.caller = facts.caller;
    if (facts.clusterId !== undefined) this.clusterId = facts.clusterId;
    if (facts.target !== undefined) this.target = facts.target;
    if (facts.impersonated) this.impersonated = facts.impersonated;
    return this;
  }

  /** A login that failed: the username it tried (never more), recorded beside `system:anonymous`. */
  attempted(username: string): void {
    this.attemptedUsername = username.slice(0, 256);
  }

  /** An annotation of the event (`drover.dev/recording`: why a session was not recorded). */
  annotate(key: string, value: string): void {
    this.annotations[key] = value;
    this.annotated = true;
  }

  /** The request as kube-apiserver's RequestInfo reads it. */
  requestInfo(): RequestInfo {
    return this.info ??= parseRequestInfo(this.method, this.target);
  }

  /** The policy's decision; fixed at the first call, so call it once the caller is known. */
  private decide(): PolicyDecision {
    const user = auditUser(this.caller);
    return this.decision ??= evaluatePolicy(this.trail.policy, {
      user: { username: user.username, groups: user.groups ?? [] }, info: this.requestInfo(), ...(this.clusterId ? { clusterId: this.clusterId } : {}),
    });
  }

  level(): AuditLevel {
    return this.decide().level;
  }

  omitManagedFields(): boolean {
    return this.decide().omitManagedFields;
  }

  /** Bodies, already redacted, recorded only at the levels that keep them. */
  setRequestObject(value: unknown): void {
    if (value !== undefined) this.requestObject = value;
  }

  setResponseObject(value: unknown): void {
    if (value !== undefined) this.responseObject = value;
  }

  /** The response head went out; recorded for long-running requests (watch, exec, attach, port-forward). */
  responseStarted(code: number, longRunning: boolean): void {
    if (this.started || this.completed) return;
    this.started = true;
    if (longRunning) this.emit('ResponseStarted', code);
  }

  /** The exchange is over; idempotent. */
  complete(code: number, message?: string): void {
    if (this.completed) return;
    this.completed = true;
    this.emit('ResponseComplete', code, message);
  }

  private emit(stage: AuditStage, code: number, message?: string): void {
    const decision = this.decide();
    if (decision.level === 'None' || decision.omitStages.has(stage)) return;
    const info = this.requestInfo();
    const objectRef = objectRefOf(info);
    // A create names its object in the body only; kube-apiserver fills the name from it, and so do we when we have it.
    const bodyName = (this.requestObject as { metadata?: { name?: unknown } } | undefined)?.metadata?.name;
    if (objectRef && objectRef.name === undefined && decision.level !== 'Metadata' && typeof bodyName === 'string') objectRef.name = bodyName;
    // Assigned field by field in the order kube-apiserver writes them, cheaper than spreading optional parts
    // (hence the cast: the required time stamps come after the optional fields).
    const event: AuditEvent = {
      kind: 'Event', apiVersion: 'audit.k8s.io/v1', level: decision.level, auditID: this.auditID, stage,
      requestURI: this.uri, verb: info.verb, user: auditUser(this.caller, this.attemptedUsername),
    } as AuditEvent;
    if (this.impersonated) event.impersonatedUser = impersonatedUser(this.impersonated);
    event.sourceIPs = this.sourceIPs;
    if (this.userAgent) event.userAgent = this.userAgent;
    if (objectRef) event.objectRef = objectRef;
    const responseStatus: NonNullable<AuditEvent['responseStatus']> = { metadata: {}, code };
    if (code >= 400) responseStatus.status = 'Failure';
    if (message) responseStatus.message = message;
    event.responseStatus = responseStatus;
    if (decision.level !== 'Metadata' && this.requestObject !== undefined) event.requestObject = this.requestObject;
    if (decision.level === 'RequestResponse' && stage === 'ResponseComplete' && this.responseObject !== undefined) event.responseObject = this.responseObject;
    event.requestReceivedTimestamp = microTime(this.receivedAt);
    event.stageTimestamp = microTime(this.trail.time());
    if (this.clusterId || this.annotated) {
      const annotations = { ...this.annotations };
      if (this.clusterId) annotations[clusterAnnotation] = this.clusterId;
      event.annotations = annotations;
    }
    this.trail.emit(event);
  }
}

function impersonatedUser(i: AuditImpersonation): AuditUser {
  return {
    username: i.user, ...(i.uid ? { uid: i.uid } : {}), ...(i.groups.length > 0 ? { groups: [...i.groups] } : {}),
    ...(Object.keys(i.extras).length > 0 ? { extra: Object.fromEntries(Object.entries(i.extras).map(([k, v]) => [k, [...v]])) } : {}),
  };
}
