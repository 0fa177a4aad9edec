// The records of the file store's `outgoing.log`: raw FIX messages back to back, and the
// target records that carry the next target number in the same write as the messages. Shared by
// the store, the check that an old store folder holds only one session's messages, and (through
// the store's exports) tools that read the log as a raw FIX stream.
import { putDecimal } from "../src/message/_decimal.ts";

/**
 * The length of a target record in `outgoing.log`: `#T`, the next target number, spaces, a
 * newline (24 bytes). A target record ends a batch of stored messages when the next target
 * number moved since it was last written, so a round trip's two facts (the message sent, the
 * number received) take one `write`. It starts with `#`, never with `8=`: FIX log tools that
 * look for `8=FIX` step over it.
 */
export const TARGET_RECORD = 24;

/** Writes a target record for `target` into `out` (TARGET_RECORD bytes), without allocating. */
export function formatTarget(target: number, out: Uint8Array): Uint8Array {
  const p = putDecimal(out, putAscii(out, 0, "#T "), target);
  out.fill(32, p, TARGET_RECORD - 1);
  out[TARGET_RECORD - 1] = 10;
  return out;
}

/** The next target number of the target record at `p` (its TARGET_RECORD bytes are in `buf`), or 0. */
export function parseTarget(buf: Uint8Array, p: number): number {
  if (buf[p + 1] !== 84 || buf[p + 2] !== 32 || buf[p + TARGET_RECORD - 1] !== 10) return 0;
  let i = p + 3, v = 0;
  while (i < p + TARGET_RECORD - 1 && buf[i] >= 48 && buf[i] <= 57) v = v * 10 + buf[i++] - 48;
  while (i < p + TARGET_RECORD - 1 && buf[i] === 32) i++;
  return i === p + TARGET_RECORD - 1 ? v : 0;
}

/**
 * The next target number the target record starting at `at` carries, or 0 when no whole target
 * record starts there: for tools that read `outgoing.log` as a raw FIX stream.
 *
 * @param bytes Bytes of `outgoing.log`.
 * @param at Where a record may start.
 * @returns The number, or 0.
 * @example
 * ```ts
 * import { targetRecordAt } from "@fixwire/engine/file-store";
 * const log = new TextEncoder().encode("#T 42                  \n");
 * targetRecordAt(log, 0); // 42
 * ```
 */
export function targetRecordAt(bytes: Uint8Array, at: number): number {
  return bytes[at] === 35 && at + TARGET_RECORD <= bytes.length ? parseTarget(bytes, at) : 0;
}

/**
 * The framing of the record at `p` in `buf[0..n)`: where its body and trailer start, `"torn"`
 * when it runs past `n`, or a problem text.
 */
export function parseFrame(
  buf: Uint8Array,
  p: number,
  n: number,
): { soh: number; trailer: number } | "torn" | string {
  if (p + 2 > n) return "torn";
  if (buf[p] !== 56 || buf[p + 1] !== 61) return "record does not start with 8=";
  let q = p + 2;
  while (q < n && buf[q] !== 1) q++;
  if (q + 3 > n) return "torn";
  if (buf[q + 1] !== 57 || buf[q + 2] !== 61) return "BodyLength(9) missing";
  let r = q + 3, len = 0;
  while (r < n && buf[r] !== 1) {
    const d = buf[r] - 48;
    if (d < 0 || d > 9) return "BodyLength(9) is not a number";
    len = len * 10 + d;
    r++;
  }
  if (r >= n) return "torn";
  return { soh: r, trailer: r + 1 + len };
}

/** Whether `10=ddd|` is at `t`. */
export function isTrailer(buf: Uint8Array, t: number): boolean {
  return buf[t] === 49 && buf[t + 1] === 48 && buf[t + 2] === 61 && buf[t + 6] === 1;
}

/** Writes the ASCII text `t` at `p`; returns where it ends. */
export function putAscii(out: Uint8Array, p: number, t: string): number {
  for (let i = 0; i < t.length; i++) out[p++] = t.charCodeAt(i);
  return p;
}

/**
 * The messages of a log held in memory, its target records left out: up to a torn last write
 * (a record cut short by the end), or undefined at bytes that are no record (damage).
 */
export function logMessages(bytes: Uint8Array): Uint8Array[] | undefined {
  const out: Uint8Array[] = [];
  const n = bytes.length;
  let p = 0;
  while (p < n) {
    if (bytes[p] === 35) {
      if (p + TARGET_RECORD > n) break;
      if (targetRecordAt(bytes, p) === 0) return undefined;
      p += TARGET_RECORD;
      continue;
    }
    const f = parseFrame(bytes, p, n);
    if (f === "torn" || (typeof f === "object" && f.trailer + 7 > n)) break;
    if (typeof f !== "object" || !isTrailer(bytes, f.trailer)) return undefined;
    out.push(bytes.subarray(p, f.trailer + 7));
    p = f.trailer + 7;
  }
  return out;
}
