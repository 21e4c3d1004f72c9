export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/**
 * Polls `check` every `intervalMs` until it returns true, for tests and the bench alike. Whatever else it
 * returns (false, or a string saying how far it got) or throws means "not yet"; the last of these is in
 * the error when `timeoutMs` runs out, so a timeout says where things stood.
 */
export async function waitFor(
  what: string,
  timeoutMs: number,
  check: () => boolean | string | Promise<boolean | string>,
  intervalMs = 100,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  for (;;) {
    try {
      const result = await check();
      if (result === true) return;
      if (typeof result === 'string') last = result;
    } catch (err) {
      last = `error: ${err instanceof Error ? err.message : String(err)}`;
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? ` (last: ${last})` : ''}`);
    await sleep(intervalMs);
  }
}
