/**
 * Recording of interactive `kubectl exec` and `attach` sessions through the proxy, as
 * asciicast v2 files (one JSON header line, then `[seconds, "o"|"r"|"m", data]` lines),
 * the format asciinema and most terminal players read. Who, when, cluster, pod and
 * container are in the header (`drover`) and its title; the file is named by the
 * request's auditID, so a session's events and its recording find each other.
 *
 * The recording reads copies of the bytes as they pass (a 'data' listener on sockets
 * already piped to each other) and writes through a file stream: the session is never
 * delayed. Typed input is not recorded (Teleport's choice too): a password typed into a
 * prompt with echo off would be; the terminal's echo of ordinary typing is in the output.
 * Both transports are decoded: WebSocket (`v5.channel.k8s.io` and older channel
 * protocols, kubectl's default; channel-frames.ts) and SPDY/3.1 (spdy-frames.ts).
 * A recording stops growing at `maxBytes` (a `kubectl cp` through exec would
 * otherwise store the whole archive) and says so in a marker event.
 *
 * Strict mode: when the file cannot be created, the exec is refused (503); otherwise it
 * goes through and the audit record carries a `drover.dev/recording` annotation saying
 * why nothing was recorded.
 *
 * Recordings not written to for longer than the retention (`--exec-recording-retention`)
 * are deleted hourly: judged by the file's modification time, so a session still open
 * keeps its file however long it runs.
 */
import { createWriteStream, mkdirSync, type WriteStream } from 'node:fs';
import { open, readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import { DroverError } from '../errors/index.ts';
import { ChannelFrameReader, type ChannelSink } from './channel-frames.ts';
import { SpdyFrameReader, SpdySession } from './spdy-frames.ts';
import { parseRequestInfo } from './request-info.ts';

export type RecordingMode = 'off' | 'best-effort' | 'strict';
export const recordingModes: readonly RecordingMode[] = ['off', 'best-effort', 'strict'];

export interface SessionInfo {
  auditID: string;
  /** Drover user id and login name. */
  userId: string;
  username: string;
  clusterId: string;
  namespace: string;
  pod: string;
  container?: string;
  /** `exec` or `attach`. */
  kind: string;
  command?: string[];
  tty: boolean;
}

/** The asciicast v2 header Drover writes; `drover` holds who, when and where. */
export interface RecordingHeader {
  version: 2;
  width: number;
  height: number;
  timestamp: number;
  title: string;
  drover: SessionInfo & { startedAt: string };
}

/** One open recording: the proxy hands it the two sockets once upgraded. */
export interface SessionRecording {
  attach(caller: Duplex, upstream: Duplex, protocol: string | undefined): void;
  /** The session is over (or never started): the file is finished. */
  close(): void;
}

const idPattern = /^[0-9a-f-]{36}$/;
const wsProtocols = new Set(['channel.k8s.io', 'v4.channel.k8s.io', 'v5.channel.k8s.io']);

export class SessionRecorder {
  readonly mode: RecordingMode;
  private readonly dir: string;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly retentionMs: number;

  constructor(options: { dir: string; mode: RecordingMode; maxBytes?: number; now?: () => number; /** 0: kept. */ retentionMs?: number }) {
    this.dir = options.dir;
    this.mode = options.mode;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.retentionMs = options.retentionMs ?? 0;
  }

  /** Prunes now and every hour until the returned stop is called; errors go to `onError`. */
  startPruning(onError: (error: unknown) => void): () => void {
    if (this.retentionMs <= 0) return () => {};
    const run = (): void => { this.prune().catch(onError); };
    const timer = setInterval(run, 3600_000);
    timer.unref();
    run();
    return () => { clearInterval(timer); };
  }

  /** Deletes the recordings last written before the retention; returns how many. */
  async prune(): Promise<number> {
    if (this.retentionMs <= 0) return 0;
    const cutoff = this.now() - this.retentionMs;
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => f.endsWith('.cast'));
    } catch {
      return 0;
    }
    let deleted = 0;
    for (const f of files) {
      const path = join(this.dir, f);
      // A file gone meanwhile (another prune, an operator) is no error.
      const modified = await stat(path).then((s) => s.mtimeMs, () => undefined);
      if (modified !== undefined && modified < cutoff) deleted += await unlink(path).then(() => 1, () => 0);
    }
    return deleted;
  }

  /**
   * Opens the recording of one session. Strict mode throws DRV_ERR_SERVER_UNAVAILABLE
   * when it cannot be written; best effort returns the reason instead.
   */
  async start(info: SessionInfo): Promise<SessionRecording | { failed: string }> {
    const path = join(this.dir, `${info.auditID}.cast`);
    let file: WriteStream;
    try {
      mkdirSync(this.dir, { recursive: true, mode: 0o700 });
      // Created here, exclusively and 0600, so a failure is known before the session starts.
      await (await open(path, 'wx', 0o600)).close();
      file = createWriteStream(path, { flags: 'a' });
    } catch (error) {
      const reason = `the session recording could not be written (${(error as Error).message})`;
      if (this.mode === 'strict') {
        throw new DroverError('DRV_ERR_SERVER_UNAVAILABLE', `${reason}; this server records every exec and attach (--exec-recording strict): ask an admin to check the data dir's disk`);
      }
      return { failed: reason };
    }
    const started = this.now();
    const header: RecordingHeader = {
      version: 2, width: 80, height: 24, timestamp: Math.floor(started / 1000),
      title: `${info.username} ${info.kind} ${info.namespace}/${info.pod}${info.container ? `/${info.container}` : ''} on ${info.clusterId}`,
      drover: { ...info, startedAt: new Date(started).toISOString() },
    };
    file.write(`${JSON.stringify(header)}\n`);
    let written = 0;
    let stopped = false;
    const event = (code: string, data: string): void => {
      if (stopped) return;
      const line = `${JSON.stringify([(this.now() - started) / 1000, code, data])}\n`;
      written += line.length;
      if (written > this.maxBytes) {
        stopped = true;
        file.write(`${JSON.stringify([(this.now() - started) / 1000, 'm', 'recording stopped: size limit reached'])}\n`);
        return;
      }
      file.write(line);
    };
    file.on('error', () => { stopped = true; });
    return {
      close: () => { file.end(); },
      attach: (caller, upstream, protocol) => {
        const spdy = protocol?.toUpperCase().startsWith('SPDY/') === true;
        if (!spdy && (!protocol || !wsProtocols.has(protocol))) {
          event('m', `${protocol ?? 'unknown'} session: content not recorded`);
          return;
        }
        const onCluster: ChannelSink = (channel, data) => {
          if (channel === 1 || channel === 2) event('o', data.toString('utf8'));
        };
        // Typed input (channel 0) is not recorded: a password typed with echo off would be.
        // What the terminal echoes back is in the output.
        const onCaller: ChannelSink = (channel, data) => {
          if (channel !== 4) return;
          try {
            const size = JSON.parse(data.toString('utf8')) as { Width?: number; Height?: number };
            if (size.Width && size.Height) event('r', `${size.Width}x${size.Height}`);
          } catch { /* a malformed resize is the cluster's to refuse */ }
        };
        const session = new SpdySession();
        const fromCluster = spdy ? new SpdyFrameReader(session, false, onCluster) : new ChannelFrameReader(onCluster);
        const fromCaller = spdy ? new SpdyFrameReader(session, true, onCaller) : new ChannelFrameReader(onCaller);
        upstream.on('data', (chunk: Buffer) => fromCluster.push(chunk));
        caller.on('data', (chunk: Buffer) => fromCaller.push(chunk));
      },
    };
  }

  /** Recordings, newest first: their headers. */
  async list(): Promise<RecordingHeader[]> {
    let files: string[];
    try {
      files = (await readdir(this.dir)).filter((f) => f.endsWith('.cast'));
    } catch {
      return [];
    }
    const headers = await Promise.all(files.map(async (f) => {
      const handle = await open(join(this.dir, f), 'r');
      try {
        const { buffer, bytesRead } = await handle.read(Buffer.alloc(8192), 0, 8192, 0);
        return JSON.parse(buffer.subarray(0, bytesRead).toString('utf8').split('\n', 1)[0] ?? '') as RecordingHeader;
      } catch {
        return undefined;
      } finally {
        await handle.close();
      }
    }));
    return headers.filter((h): h is RecordingHeader => h !== undefined).sort((a, b) => b.drover.startedAt.localeCompare(a.drover.startedAt));
  }

  /** One recording's asciicast text. */
  async read(auditID: string): Promise<string> {
    if (!idPattern.test(auditID)) throw new DroverError('DRV_ERR_NOT_FOUND', `no session recording "${auditID.slice(0, 64)}"; see drover audit sessions`);
    try {
      return await readFile(join(this.dir, `${auditID}.cast`), 'utf8');
    } catch {
      throw new DroverError('DRV_ERR_NOT_FOUND', `no session recording "${auditID}"; see drover audit sessions`);
    }
  }
}

/** The session an upgrade request opens, when it is a pod's exec or attach; undefined otherwise. */
export function execSessionInfo(input: {
  method: string; target: string; auditID: string; clusterId: string; user: { id: string; username: string };
}): SessionInfo | undefined {
  const info = parseRequestInfo(input.method, input.target);
  if (info.resource !== 'pods' || (info.subresource !== 'exec' && info.subresource !== 'attach') || !info.name) return undefined;
  const query = new URLSearchParams(input.target.split('?')[1] ?? '');
  const container = query.get('container');
  const command = query.getAll('command');
  return {
    auditID: input.auditID, userId: input.user.id, username: input.user.username, clusterId: input.clusterId,
    namespace: info.namespace ?? '', pod: info.name, kind: info.subresource, tty: query.get('tty') === 'true' || query.get('tty') === '1',
    ...(container ? { container } : {}), ...(command.length > 0 ? { command } : {}),
  };
}
