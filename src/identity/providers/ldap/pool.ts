/**
 * A small pool of connections bound as the service account. Why pool: every
 * login and every background refresh makes several searches (the user, then one
 * per nesting level of groups); a fresh connection for each would pay a TCP and
 * TLS handshake plus a bind every time, and a burst of logins would open as many
 * connections to the directory. The pool keeps at most `size` bound connections
 * and queues the rest. A connection that failed in any way other than an
 * ordinary "no such entry" answer is dropped, never reused. User binds (password
 * checks) never use the pool: a bind changes a connection's identity. An idle
 * connection the server closed is dropped, never silently reopened unbound.
 */
import { NoSuchObjectError, type Client } from 'ldapts';

export class BoundPool {
  private readonly connect: () => Promise<Client>;
  private readonly size: number;
  private readonly idle: Client[] = [];
  private open = 0;
  private readonly waiters: Array<() => void> = [];
  private closed = false;
  private readonly alive: (client: Client) => boolean;

  constructor(connect: () => Promise<Client>, size: number, alive: (client: Client) => boolean = (c) => c.isConnected) {
    this.connect = connect;
    this.size = size;
    this.alive = alive;
  }

  async use<T>(fn: (client: Client) => Promise<T>): Promise<T> {
    const client = await this.acquire();
    let healthy = true;
    try {
      return await fn(client);
    } catch (error) {
      healthy = error instanceof NoSuchObjectError;
      throw error;
    } finally {
      this.release(client, healthy);
    }
  }

  private async acquire(): Promise<Client> {
    for (;;) {
      if (this.closed) throw new Error('LDAP connection pool is closed');
      const idle = this.idle.pop();
      // A connection the server closed would be reopened by ldapts transparently but
      // unbound (and without StartTLS): never use one; drop it and dial afresh.
      if (idle && this.alive(idle)) return idle;
      if (idle) {
        this.open--;
        idle.unbind().catch(() => undefined);
        continue;
      }
      if (this.open < this.size) {
        this.open++;
        try {
          return await this.connect();
        } catch (error) {
          this.open--;
          this.wake();
          throw error;
        }
      }
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  private release(client: Client, healthy: boolean): void {
    if (healthy && !this.closed && this.alive(client)) this.idle.push(client);
    else {
      this.open--;
      client.unbind().catch(() => undefined);
    }
    this.wake();
  }

  private wake(): void {
    this.waiters.shift()?.();
  }

  get stats(): { open: number; idle: number; waiting: number } {
    return { open: this.open, idle: this.idle.length, waiting: this.waiters.length };
  }

  async close(): Promise<void> {
    this.closed = true;
    const idle = this.idle.splice(0);
    this.open -= idle.length;
    await Promise.all(idle.map((c) => c.unbind().catch(() => undefined)));
    for (const w of this.waiters.splice(0)) w();
  }
}
