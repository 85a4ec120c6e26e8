/**
 * The loop the owner-replica jobs share (the snapshot schedule, upgrades): every
 * replica calls `pass` every `everyMs`, one pass at a time (a slow pass delays the
 * next instead of overlapping it), and `stop` waits for the pass under way.
 */
export abstract class SerialTicker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> = Promise.resolve();
  /** Set by `stop`: a pass under way leaves its remaining clusters alone. */
  protected stopped = false;

  constructor(private readonly everyMs: number) {}

  /** One look at every cluster; errors are the pass's to log (a rejection would stop the loop). */
  abstract pass(): Promise<void>;

  start(): this {
    this.timer = setInterval(() => {
      this.running = this.running.then(() => this.pass());
    }, this.everyMs);
    this.timer.unref();
    return this;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    await this.running;
  }
}
