/**
 * Masking secrets in raw messages: passwords never reach a log, a store or an event.
 *
 * @module
 */

/**
 * Tags whose values are secrets: Username(553), Password(554), NewPassword(925) and the
 * encrypted and new password fields of FIX.5.0 (1400-1404).
 */
export const SECRET_TAGS: ReadonlySet<number> = new Set([
  553,
  554,
  925,
  1400,
  1401,
  1402,
  1403,
  1404,
]);

const STAR = 42;
const SOH = 1;
const EQUALS = 61;

/**
 * Returns a copy of a raw message whose secret values are replaced by `*` (same length, so the
 * framing still reads; the checksum no longer matches, which marks the copy as edited).
 *
 * @param frame The message, from `8=` to the checksum's SOH.
 * @param tags The secret tags (default {@linkcode SECRET_TAGS}); add a session's own
 *   `UsernameTag`/`PasswordTag`.
 * @returns The masked copy, or `frame` itself when it holds no secret.
 * @example
 * ```ts ignore
 * const masked = maskFrame(logonBytes);
 * ```
 */
export function maskFrame(
  frame: Uint8Array,
  tags: ReadonlySet<number> = SECRET_TAGS,
): Uint8Array {
  let out: Uint8Array | undefined;
  let i = 0;
  const n = frame.length;
  while (i < n) {
    let tag = 0;
    let j = i;
    while (j < n && frame[j] >= 48 && frame[j] <= 57) tag = tag * 10 + frame[j++] - 48;
    let end = j;
    while (end < n && frame[end] !== SOH) end++;
    if (j < n && frame[j] === EQUALS && j > i && tags.has(tag)) {
      out ??= frame.slice();
      out.fill(STAR, j + 1, end);
    }
    i = end + 1;
  }
  return out ?? frame;
}
