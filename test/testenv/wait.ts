/**
 * Polls `check` until it returns true. Fails fast when `exited` reports that the
 * process being waited on died, and on timeout; both errors carry `diagnostics`
 * (usually the tail of the process log) so a failure explains itself.
 */
export async function waitFor(
  what: string,
  timeoutMs: number,
  exited: () => string | undefined,
  check: () => Promise<boolean>,
  diagnostics: () => Promise<string> | string = () => '',
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const died = exited();
    if (died) throw new Error(`waiting for ${what}: ${died}\n${await diagnostics()}`);
    if (await check().catch(() => false)) return;
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs / 1000}s waiting for ${what}\n${await diagnostics()}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * For tests: polls `fn` until it returns something other than undefined. A throw
 * counts as "not yet" (a server may be restarting); the last error is reported if
 * time runs out.
 */
export async function eventually<T>(
  what: string,
  fn: () => Promise<T | undefined> | T | undefined,
  timeoutMs = 30_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await fn();
      if (value !== undefined) return value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last instanceof Error ? `: ${last.message}` : ''}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
