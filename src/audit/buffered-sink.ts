/**
 * The shape every sink shares: a bounded in-memory queue in front of a slow writer.
 * `write` only appends to the queue (or, when it is full, drops the event and counts
 * it), so a request never waits on a disk, a webhook or the database. One flush runs
 * at a time and takes everything queued, so a burst becomes one write.
 */
import type { AuditEvent } from './event.ts';
import type { AuditSink } from './trail.ts';

export interface BufferedSinkOptions<T> {
  /** What is queued for one event (a line, a row). */
  map: (line: string, event: AuditEvent) => T;
  /** Writes one batch; may throw, which the sink reports through `onError` (the batch is then lost or retried by the target). */
  flush: (batch: T[]) => Promise<void>;
  /** The most items held; beyond it events are dropped and counted. */
  maxBuffered: number;
  /** The most items per flush. */
  maxBatch?: number;
  /** Wait this long after the first queued item before flushing, to gather a batch (ms; 0: flush at once). */
  batchDelayMs?: number;
  onDrop: (count: number) => void;
  onError: (error: unknown) => void;
  /** Runs once after the last flush on close. */
  release?: () => Promise<void>;
}

export class BufferedSink<T> implements AuditSink {
  private queue: T[] = [];
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(private readonly options: BufferedSinkOptions<T>) {}

  write(line: string, event: AuditEvent): void {
    if (this.closed || this.queue.length >= this.options.maxBuffered) {
      this.options.onDrop(1);
      return;
    }
    this.queue.push(this.options.map(line, event));
    this.schedule();
  }

  /** Items waiting (tests, metrics). */
  get pending(): number {
    return this.queue.length;
  }

  private schedule(): void {
    if (this.flushing || this.timer) return;
    const delay = this.options.batchDelayMs ?? 0;
    if (delay === 0) {
      this.timer = setImmediate(() => { this.timer = undefined; this.run(); }) as unknown as NodeJS.Timeout;
    } else {
      this.timer = setTimeout(() => { this.timer = undefined; this.run(); }, delay);
      this.timer.unref();
    }
  }

  private run(): void {
    if (this.flushing || this.queue.length === 0) return;
    const batch = this.queue.splice(0, this.options.maxBatch ?? this.queue.length);
    this.flushing = this.options.flush(batch).catch((error: unknown) => this.options.onError(error)).finally(() => {
      this.flushing = undefined;
      if (this.queue.length > 0) this.schedule();
    });
  }

  /** Flushes what is queued now (tests; close). */
  async drain(): Promise<void> {
    while (this.flushing || this.queue.length > 0) {
      if (this.timer) {
        clearTimeout(this.timer);
        clearImmediate(this.timer as unknown as NodeJS.Immediate);
        this.timer = undefined;
      }
      if (!this.flushing) this.run();
      await this.flushing;
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.drain();
    await this.options.release?.();
  }
}
