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
