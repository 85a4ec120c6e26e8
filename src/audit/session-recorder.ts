/**
 * Recording of interactive `kubectl exec` and `attach` sessions through the proxy, as
 * asciicast v2 (one JSON header line, then `[seconds, "o"|"r"|"m", data]` lines), the
 * format asciinema and most terminal players read. Who, when, cluster, pod and
 * container are in the header (`drover`) and its title; a recording is named by the
 * request's auditID, so a session's events and its recording find each other.
 *
 * Recordings are kept in the database (`session_recordings`, `session_recording_chunks`,
 * migration 0015), not in the data dir of the replica that served the session, so every
 * replica lists and replays every recording and one outlives its replica (docs/ha.md).
 * The header row is written before the upgrade is forwarded; event lines are appended
 * in chunks (at 64 KiB, or 1 s after the first line waiting, and at the end), so a
 * session costs a few writes a second at most.
 *
 * The recording reads copies of the bytes as they pass (a 'data' listener on sockets
 * already piped to each other) and the database writes happen off that path: the
 * session is never delayed. Typed input is not recorded (Teleport's choice too): a
 * password typed into a prompt with echo off would be; the terminal's echo of ordinary
 * typing is in the output. Both transports are decoded: WebSocket (`v5.channel.k8s.io`
 * and older channel protocols, kubectl's default; channel-frames.ts) and SPDY/3.1
 * (spdy-frames.ts). A recording stops growing at `maxBytes` (a `kubectl cp` through
 * exec would otherwise store the whole archive) and says so in a marker event.
 *
 * Strict mode: when the header row cannot be written, the exec is refused (503);
 * otherwise it goes through and the audit record carries a `drover.dev/recording`
 * annotation saying why nothing was recorded.
 *
 * Recordings not written to for longer than the retention (`--exec-recording-retention`)
 * are deleted hourly, by every replica (one DELETE; whoever runs first deletes): judged
 * by the last write, so a session still open keeps its recording however long it runs.
 */
import { readdir, readFile, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import type { Duplex } from 'node:stream';
import type { Kysely } from 'kysely';
import type { Database } from '../store/index.ts';
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
  /** The session is over (or never started): the rest of the recording is written. */
  close(): void;
}

export interface SessionRecorderOptions {
  db: Kysely<Database>;
  mode: RecordingMode;
  /** Where an older server kept recordings as `<auditID>.cast` files (`<data-dir>/recordings`), moved in by `adoptFiles`. */
  dir?: string;
  maxBytes?: number;
  now?: () => number;
  /** 0: kept. */
  retentionMs?: number;
  /** Event lines wait at most this long before they are written (default 1 s). */
  flushMs?: number;
}

const idPattern = /^[0-9a-f-]{36}$/;
const wsProtocols = new Set(['channel.k8s.io', 'v4.channel.k8s.io', 'v5.channel.k8s.io']);
/** Event lines are written once this many characters wait. */
const flushChars = 64 * 1024;

export class SessionRecorder {
  readonly mode: RecordingMode;
  private readonly db: Kysely<Database>;
  private readonly maxBytes: number;
  private readonly now: () => number;
  private readonly retentionMs: number;
  private readonly flushMs: number;
  /** Recordings still open: their waiting lines are written before the server closes the store. */
  private readonly open = new Set<ChunkWriter>();

  constructor(private readonly options: SessionRecorderOptions) {
    this.db = options.db;
    this.mode = options.mode;
    this.maxBytes = options.maxBytes ?? 64 * 1024 * 1024;
    this.now = options.now ?? Date.now;
    this.retentionMs = options.retentionMs ?? 0;
    this.flushMs = options.flushMs ?? 1000;
  }

  /**
   * Moves an older server's recording files into the database, then prunes now and every
   * hour until the returned stop is called; errors go to `onError`.
   */
  startPruning(onError: (error: unknown) => void): () => void {
    const adopted = this.adoptFiles().catch(onError);
    if (this.retentionMs <= 0) return () => {};
    const run = (): void => { this.prune().catch(onError); };
    const timer = setInterval(run, 3600_000);
    timer.unref();
    void adopted.then(run);
    return () => { clearInterval(timer); };
  }

  /** Deletes the recordings last written before the retention; returns how many. */
  async prune(): Promise<number> {
    if (this.retentionMs <= 0) return 0;
    const cutoff = this.now() - this.retentionMs;
    return this.db.transaction().execute(async (tx) => {
      const old = tx.selectFrom('session_recordings').select('audit_id').where('written_at', '<', cutoff);
      await tx.deleteFrom('session_recording_chunks').where('audit_id', 'in', old).execute();
      const gone = await tx.deleteFrom('session_recordings').where('written_at', '<', cutoff).executeTakeFirst();
      return Number(gone.numDeletedRows);
    });
  }

  /**
   * Opens the recording of one session. Strict mode throws DRV_ERR_SERVER_UNAVAILABLE
   * when it cannot be written; best effort returns the reason instead.
   */
  async start(info: SessionInfo): Promise<SessionRecording | { failed: string }> {
    const started = this.now();
    const header: RecordingHeader = {
      version: 2, width: 80, height: 24, timestamp: Math.floor(started / 1000),
      title: `${info.username} ${info.kind} ${info.namespace}/${info.pod}${info.container ? `/${info.container}` : ''} on ${info.clusterId}`,
      drover: { ...info, startedAt: new Date(started).toISOString() },
    };
    try {
      // Written here (a second session with the same id is refused), so a failure is known before the session starts.
      await this.db.insertInto('session_recordings').values({ audit_id: info.auditID, started_at: header.drover.startedAt, header: JSON.stringify(header), written_at: started }).execute();
    } catch (error) {
      const reason = `the session recording could not be written (${(error as Error).message})`;
      if (this.mode === 'strict') {
        throw new DroverError('DRV_ERR_SERVER_UNAVAILABLE', `${reason}; this server records every exec and attach (--exec-recording strict): ask an admin to check the database`);
      }
      return { failed: reason };
    }
    const lines = new ChunkWriter(this.db, info.auditID, this.now, this.flushMs);
    this.open.add(lines);
    let written = 0;
    let stopped = false;
    const event = (code: string, data: string): void => {
      if (stopped) return;
      const line = `${JSON.stringify([(this.now() - started) / 1000, code, data])}\n`;
      written += line.length;
      if (written > this.maxBytes) {
        stopped = true;
        lines.add(`${JSON.stringify([(this.now() - started) / 1000, 'm', 'recording stopped: size limit reached'])}\n`);
        return;
      }
      lines.add(line);
    };
    return {
      close: () => { void lines.end().then(() => this.open.delete(lines)); },
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

  /** Writes what every open recording holds in memory (the server stops: its store closes next). */
  async flushAll(): Promise<void> {
    await Promise.all([...this.open].map((lines) => lines.end()));
    this.open.clear();
  }

  /** Recordings, newest first: their headers. */
  async list(): Promise<RecordingHeader[]> {
    const rows = await this.db.selectFrom('session_recordings').select('header').orderBy('started_at', 'desc').execute();
    return rows.map((r) => JSON.parse(r.header) as RecordingHeader);
  }

  /** One recording's asciicast text. */
  async read(auditID: string): Promise<string> {
    const missing = (): DroverError => new DroverError('DRV_ERR_NOT_FOUND', `no session recording "${auditID.slice(0, 64)}"; see drover audit sessions`);
    if (!idPattern.test(auditID)) throw missing();
    const row = await this.db.selectFrom('session_recordings').select('header').where('audit_id', '=', auditID).executeTakeFirst();
    if (!row) throw missing();
    const chunks = await this.db.selectFrom('session_recording_chunks').select('data').where('audit_id', '=', auditID).orderBy('seq').execute();
    return `${row.header}\n${chunks.map((c) => c.data).join('')}`;
  }

  /**
   * Moves the recordings an older server kept as files in this replica's data dir into
   * the database (keeping their last-write time), then deletes the files; returns how many.
   */
  async adoptFiles(): Promise<number> {
    const dir = this.options.dir;
    const files = dir ? (await readdir(dir).catch(() => [] as string[])).filter((f) => idPattern.test(f.slice(0, -5)) && f.endsWith('.cast')) : [];
    let adopted = 0;
    for (const f of files) {
      const path = join(dir ?? '', f);
      const [text, modified] = await Promise.all([readFile(path, 'utf8'), stat(path)]);
      const newline = text.indexOf('\n');
      const header = JSON.parse(newline < 0 ? text : text.slice(0, newline)) as RecordingHeader;
      const auditID = f.slice(0, -5);
      await this.db.transaction().execute(async (tx) => {
        await tx.insertInto('session_recordings').values({ audit_id: auditID, started_at: header.drover.startedAt, header: JSON.stringify(header), written_at: Math.floor(modified.mtimeMs) })
          .onConflict((c) => c.column('audit_id').doNothing()).execute();
        if (newline >= 0 && newline + 1 < text.length) {
          await tx.insertInto('session_recording_chunks').values({ audit_id: auditID, seq: 0, data: text.slice(newline + 1) }).onConflict((c) => c.columns(['audit_id', 'seq']).doNothing()).execute();
        }
      });
      await unlink(path);
      adopted++;
    }
    return adopted;
  }
}

/**
 * Appends a recording's event lines to the database: collected in memory, written as one
 * chunk row when 64 KiB wait or `flushMs` after the first line, one write at a time (so
 * rows keep their order). A failed write ends the recording, as a full disk did.
 */
class ChunkWriter {
  private pending = '';
  private seq = 0;
  private timer: NodeJS.Timeout | undefined;
  private writing: Promise<void> = Promise.resolve();
  private failed = false;

  constructor(private readonly db: Kysely<Database>, private readonly auditID: string, private readonly now: () => number, private readonly flushMs: number) {}

  add(line: string): void {
    if (this.failed) return;
    this.pending += line;
    if (this.pending.length >= flushChars) this.flush();
    else this.timer ??= setTimeout(() => { this.flush(); }, this.flushMs);
  }

  /** Writes what waits; resolves once every write so far is done. */
  end(): Promise<void> {
    this.flush();
    return this.writing;
  }

  private flush(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    if (this.pending === '' || this.failed) return;
    const data = this.pending;
    const seq = this.seq++;
    this.pending = '';
    this.writing = this.writing.then(async () => {
      await this.db.insertInto('session_recording_chunks').values({ audit_id: this.auditID, seq, data }).execute();
      await this.db.updateTable('session_recordings').set({ written_at: this.now() }).where('audit_id', '=', this.auditID).execute();
    }).catch(() => { this.failed = true; });
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
