/**
 * audit/: who did what on which cluster, as `audit.k8s.io/v1` events (see README.md).
 */
export { parseRequestInfo, queryFlag, type RequestInfo } from './request-info.ts';
export { microTime, newAuditId, clusterAnnotation, type AuditEvent, type AuditLevel, type AuditStage, type AuditUser, type ObjectReference } from './event.ts';
export { checkPolicy, loadPolicy, evaluatePolicy, defaultPolicy, type AuditPolicy, type PolicyRule } from './policy.ts';
export { redactKubeBody, redactApiBody, redactUri, lastAppliedAnnotation } from './redact.ts';
export { AuditTrail, RequestAudit, auditUser, type AuditSink, type AuditCaller, type AuditImpersonation, type AuditTrailOptions } from './trail.ts';
export { auditExchange, isLongRunning, type ExchangeAudit } from './exchange.ts';
export { installApiAudit } from './api-hook.ts';
export { BufferedSink } from './buffered-sink.ts';
export { fileSink, streamSink } from './file-sink.ts';
export { auditConfigFromFlags, auditDefaults, type AuditConfig, type AuditFlags } from './options.ts';
export { createAuditTrail, maxBufferedEvents, type AuditFeatureOptions } from './feature.ts';
export { webhookSink, webhookTargetFromKubeconfig, type WebhookTarget, type WebhookSinkOptions } from './webhook-sink.ts';
export { storeSink, searchAuditEvents, type AuditQuery } from './store-sink.ts';
export { auditApi, AuditList, AuditListQuery, type AuditListAnswer, type SessionListAnswer, type AuditApiOptions } from './audit-api.ts';
export { SessionRecorder, execSessionInfo, recordingModes, type RecordingMode, type RecordingHeader, type SessionInfo, type SessionRecording } from './session-recorder.ts';
