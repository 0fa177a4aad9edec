/**
 * Integers as text without V8's number-to-string cache. `String(n)` keeps the string it makes
 * in that cache (a table in the old generation, up to 16,384 entries): a new sequence number
 * per message fills it with young strings, which every young-generation GC then copies (about
 * 200 KB each time), and V8 grows the young generation because so much survives, which
 * lengthens every pause. The strings made here die with their message.
 *
 * @module
 */

/** "0" to "99" and "00" to "99", made once (old strings: no young GC copies them). */
const SMALL: string[] = Array.from({ length: 100 }, (_, i) => String(i));
const PAIRS: string[] = Array.from({ length: 100 }, (_, i) => String(i).padStart(2, "0"));
const digits: number[] = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const fromCharCode = String.fromCharCode;

/**
 * The decimal text of `n`: made without the number-to-string cache for a safe integer from 0
 * on, `String(n)` for anything else.
 *
 * @param n The number.
 * @returns Its text, as `String(n)` gives it.
 */
export function decimalText(n: number): string {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) return String(n);
  // Up to eight digits (every sequence number in practice) from pairs of digits: as fast as
  // String(n) with its cache.
  if (n < 100) return SMALL[n];
  if (n < 10_000) {
    const a = (n / 100) | 0;
    return SMALL[a] + PAIRS[n - a * 100];
  }
  if (n < 1_000_000) {
    const a = (n / 10_000) | 0;
    const r = n - a * 10_000;
    const b = (r / 100) | 0;
    return SMALL[a] + PAIRS[b] + PAIRS[r - b * 100];
  }
  if (n < 100_000_000) {
    const a = (n / 1_000_000) | 0;
    let r = n - a * 1_000_000;
    const b = (r / 10_000) | 0;
    r -= b * 10_000;
    const c = (r / 100) | 0;
    return SMALL[a] + PAIRS[b] + PAIRS[c] + PAIRS[r - c * 100];
  }
  let s = "";
  for (let i = toDigits(n) - 1; i >= 0; i--) s += fromCharCode(digits[i]);
  return s;
}

/** Puts the character codes of a safe integer's digits in `digits`, last first; their count. */
function toDigits(n: number): number {
  let len = 0;
  do {
    const q = Math.floor(n / 10);
    digits[len++] = 48 + (n - q * 10);
    n = q;
  } while (n > 0);
  return len;
}

/**
 * Writes the decimal text of `n` into `out` at `p`, ASCII: the digits of a safe integer from 0
 * on without a string, `String(n)` for anything else.
 *
 * @param out The bytes.
 * @param p Where to write.
 * @param n The number.
 * @returns The position after the digits.
 */
export function putDecimal(out: Uint8Array, p: number, n: number): number {
  if (!(n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n)) {
    const t = String(n);
    for (let i = 0; i < t.length; i++) out[p++] = t.charCodeAt(i);
    return p;
  }
  for (let i = toDigits(n) - 1; i >= 0; i--) out[p++] = digits[i];
  return p;
}
