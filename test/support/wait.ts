/**
 * Poll until `fn` yields a value (anything but undefined), or fail after
 * `timeoutMs` naming what was awaited. For state that real processes reach
 * asynchronously (call records, callbacks, health); never a fixed sleep.
 */
export async function waitFor<T>(fn: () => T | undefined | Promise<T | undefined>, timeoutMs: number, what = 'condition', intervalMs = 50): Promise<T> {
  const started = Date.now();
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/** Poll until `cond` holds; resolves with the ms it took, or fails after `timeoutMs` naming what was awaited. */
export async function waitUntil(cond: () => boolean | Promise<boolean>, timeoutMs: number, what = 'condition', intervalMs = 20): Promise<number> {
  const started = Date.now();
  while (!(await cond())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
  return Date.now() - started;
}
