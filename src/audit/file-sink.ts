/**
 * `--audit-log PATH`: one JSON event per line, appended, rotated as kube-apiserver's
 * lumberjack rotates: when the file would exceed `--audit-log-maxsize` MB it is renamed
 * to `NAME-<UTC time>.EXT` and a new one started; backups beyond
 * `--audit-log-maxbackup` or older than `--audit-log-maxage` days are deleted (0: keep).
 * `--audit-log -` writes to stdout instead (no rotation). Files are created 0600: an
 * audit log says who does what, and is nobody else's to read.
 */
import { mkdirSync } from 'node:fs';
import { open, readdir, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, extname, join } from 'node:path';
import type { Writable } from 'node:stream';
import { BufferedSink } from './buffered-sink.ts';

export interface FileSinkOptions {
  path: string;
  /** Rotate before the file passes this many bytes; 0: never. */
  maxBytes: number;
  /** Backups kept; 0: all. */
  maxBackups: number;
  /** Backups older than this are deleted (ms); 0: none for age. */
  maxAgeMs: number;
  maxBuffered: number;
  onDrop: (count: number) => void;
  onError: (error: unknown) => void;
  now?: () => number;
}

/** `audit-2026-12-07T00-30-00.000.log`: sorts by time, as lumberjack names its backups. */
function backupName(path: string, now: number): string {
  const ext = extname(path);
  const stem = basename(path, ext);
  return join(dirname(path), `${stem}-${new Date(now).toISOString().replace(/:/g, '-').replace(/Z$/, '')}${ext}`);
}

class RotatingFile {
  private handle: FileHandle | undefined;
  private size = 0;

  constructor(private readonly options: FileSinkOptions) {
    mkdirSync(dirname(options.path), { recursive: true, mode: 0o700 });
  }

  private async ensureOpen(): Promise<FileHandle> {
    if (this.handle) return this.handle;
    this.handle = await open(this.options.path, 'a', 0o600);
    this.size = (await this.handle.stat()).size;
    return this.handle;
  }

  async append(text: string): Promise<void> {
    const bytes = Buffer.from(text);
    let handle = await this.ensureOpen();
    if (this.options.maxBytes > 0 && this.size > 0 && this.size + bytes.length > this.options.maxBytes) {
      await this.rotate();
      handle = await this.ensureOpen();
    }
    await handle.write(bytes);
    this.size += bytes.length;
  }

  private async rotate(): Promise<void> {
    const now = (this.options.now ?? Date.now)();
    await this.handle?.close();
    this.handle = undefined;
    await rename(this.options.path, backupName(this.options.path, now));
    await this.prune(now);
  }

  private async prune(now: number): Promise<void> {
    const { path, maxBackups, maxAgeMs } = this.options;
    const ext = extname(path);
    const prefix = `${basename(path, ext)}-`;
    const dir = dirname(path);
    const backups = (await readdir(dir)).filter((f) => f.startsWith(prefix) && f.endsWith(ext) && /\d{4}-\d{2}-\d{2}T/.test(f)).sort().reverse();
    for (const [i, file] of backups.entries()) {
      const full = join(dir, file);
      const tooMany = maxBackups > 0 && i >= maxBackups;
      const tooOld = maxAgeMs > 0 && now - (await stat(full)).mtimeMs > maxAgeMs;
      if (tooMany || tooOld) await unlink(full);
    }
  }

  async close(): Promise<void> {
    await this.handle?.close();
    this.handle = undefined;
  }
}

export function fileSink(options: FileSinkOptions): BufferedSink<string> {
  const file = new RotatingFile(options);
  return new BufferedSink<string>({
    map: (line) => line, maxBuffered: options.maxBuffered, maxBatch: 1000, onDrop: options.onDrop, onError: options.onError,
    flush: (lines) => file.append(`${lines.join('\n')}\n`),
    release: () => file.close(),
  });
}

/** `--audit-log -`: the same lines on a stream (stdout), waiting for it to drain between batches. */
export function streamSink(stream: Writable, options: Pick<FileSinkOptions, 'maxBuffered' | 'onDrop' | 'onError'>): BufferedSink<string> {
  return new BufferedSink<string>({
    map: (line) => line, maxBuffered: options.maxBuffered, maxBatch: 1000, onDrop: options.onDrop, onError: options.onError,
    flush: (lines) => new Promise<void>((resolve) => {
      if (stream.write(`${lines.join('\n')}\n`)) resolve();
      else stream.once('drain', resolve);
    }),
  });
}
