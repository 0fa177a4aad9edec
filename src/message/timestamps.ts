/**
 * FIX time formats: UTCTimestamp, UTCDateOnly, UTCTimeOnly. Pure functions on epoch
 * milliseconds; no clock is read here.
 *
 * @module
 */

/** Sub-second precision of a UTCTimestamp. */
export type TimestampPrecision = "s" | "ms" | "us" | "ns";

function pad2(n: number): string {
  return n < 10 ? "0" + n : "" + n;
}

/** Three digits of 0..999 (a millisecond, a microsecond's part), with no branch. */
function threeDigits(n: number): string {
  const h = (n / 100) | 0;
  const t = ((n - h * 100) / 10) | 0;
  return String.fromCharCode(48 + h, 48 + t, 48 + n - h * 100 - t * 10);
}

let cachedSecond = Number.NaN;
let cachedPrefix = "";
let prefixCalls = 0;

/** `YYYYMMDD-HH:MM:SS` of the second starting at `second` * 1000 epoch milliseconds. */
function secondPrefix(second: number): string {
  const d = new Date(second * 1000);
  return `${d.getUTCFullYear()}${pad2(d.getUTCMonth() + 1)}${pad2(d.getUTCDate())}-${
    pad2(d.getUTCHours())
  }:${pad2(d.getUTCMinutes())}:${pad2(d.getUTCSeconds())}`;
}

/**
 * Formats epoch milliseconds as a FIX UTCTimestamp `YYYYMMDD-HH:MM:SS[.sss[sss[sss]]]`.
 * The date-and-second prefix is cached, so formatting many stamps within a second is cheap.
 *
 * @param epochMs Epoch milliseconds.
 * @param precision Digits after the seconds; `us` and `ns` extend with `subMsNanos`.
 * @param subMsNanos Nanoseconds beyond the millisecond (0..999999), for `us`/`ns`.
 * @returns The timestamp text.
 * @throws {RangeError} When `epochMs` is not a finite time.
 * @example
 * ```ts
 * import { formatUtcTimestamp } from "@fixwire/engine";
 * formatUtcTimestamp(0, "ms"); // "19700101-00:00:00.000"
 * ```
 */
export function formatUtcTimestamp(
  epochMs: number,
  precision: TimestampPrecision = "ms",
  subMsNanos = 0,
): string {
  if (!Number.isFinite(epochMs)) throw new RangeError(`Cannot format timestamp: "${epochMs}"`);
  const ms = Math.floor(epochMs);
  const second = Math.floor(ms / 1000);
  // Made again every 64th call too, not only when the second changes: a session formats its
  // SendingTime once a millisecond, and a path first taken after V8 optimized the function
  // (the next second) deoptimized it and had it compiled again a second or two later, in the
  // steady state. Taken from the start, the path is in the optimized code.
  if (second !== cachedSecond || (++prefixCalls & 63) === 0) {
    cachedPrefix = secondPrefix(second);
    cachedSecond = second;
  }
  if (precision === "s") return cachedPrefix;
  const milli = threeDigits(ms - second * 1000);
  if (precision === "ms") return `${cachedPrefix}.${milli}`;
  const sub = Math.max(0, Math.min(999_999, Math.floor(subMsNanos)));
  if (precision === "us") return `${cachedPrefix}.${milli}${threeDigits(Math.floor(sub / 1000))}`;
  return `${cachedPrefix}.${milli}${String(sub).padStart(6, "0")}`;
}

/** A parsed UTCTimestamp. */
export interface ParsedTimestamp {
  /** Epoch milliseconds (sub-millisecond digits truncated). */
  epochMs: number;
  /** Nanoseconds beyond the millisecond, 0..999999. */
  subMsNanos: number;
}

function digits(s: string, from: number, count: number): number {
  let v = 0;
  for (let i = from; i < from + count; i++) {
    const c = s.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses a FIX UTCTimestamp (`YYYYMMDD-HH:MM:SS` with optional 3, 6 or 9 fraction digits, or
 * any fraction length up to 9).
 *
 * @param text The timestamp.
 * @returns The time, or `undefined` when the text is not a valid UTCTimestamp.
 * @example
 * ```ts
 * import { parseUtcTimestamp } from "@fixwire/engine";
 * parseUtcTimestamp("19700101-00:00:01.500")?.epochMs; // 1500
 * ```
 */
export function parseUtcTimestamp(text: string): ParsedTimestamp | undefined {
  if (
    text.length < 17 || text.charCodeAt(8) !== 45 || text.charCodeAt(11) !== 58 ||
    text.charCodeAt(14) !== 58
  ) return undefined;
  const y = digits(text, 0, 4), mo = digits(text, 4, 2), d = digits(text, 6, 2);
  const h = digits(text, 9, 2), mi = digits(text, 12, 2), s = digits(text, 15, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) {
    return undefined;
  }
  if (s < 0 || s > 60) return undefined;
  let fracMs = 0, subMsNanos = 0;
  if (text.length > 17) {
    if (text.charCodeAt(17) !== 46) return undefined;
    const n = text.length - 18;
    if (n < 1 || n > 9) return undefined;
    const f = digits(text, 18, n);
    if (f < 0) return undefined;
    const nanos = f * NANOS_PER_UNIT[n];
    fracMs = Math.floor(nanos / 1_000_000);
    subMsNanos = nanos - fracMs * 1_000_000;
  }
  const base = civilMs(y, mo, d, h, mi, s);
  if (Number.isNaN(base)) return undefined;
  return { epochMs: base + fracMs, subMsNanos };
}

/** Days in each month of a common year. */
const MONTH_DAYS = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Nanoseconds in one unit of a fraction of `k` digits (index `k`, 1 to 9): `10 ** (9 - k)`, from
 * a table. A variable exponent goes to the C library's `pow`, whose code pages a SendingTime
 * check per message then touches (see bench/round_trip_pages.ts).
 */
const NANOS_PER_UNIT = [0, 1e8, 1e7, 1e6, 1e5, 1e4, 1e3, 100, 10, 1];

/**
 * Epoch milliseconds of a UTC date and time whose fields are in range (month 1-12, day 1-31,
 * second 0-60, a leap second counting as the next second), or `NaN` when the day does not
 * exist in that month. Pure arithmetic (days from the civil date), no `Date`.
 */
function civilMs(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const leap = (y % 4 === 0 && y % 100 !== 0) || y % 400 === 0;
  if (d > (mo === 2 && leap ? 29 : MONTH_DAYS[mo - 1])) return Number.NaN;
  // Howard Hinnant's days_from_civil.
  const yy = mo <= 2 ? y - 1 : y;
  const era = Math.floor(yy / 400);
  const yoe = yy - era * 400;
  const doy = Math.floor((153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5) + d - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  const days = era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60_000 + s * 1000;
}

/** `count` ASCII digits of `b` from `at` as a number, or -1. */
function digitsAt(b: Uint8Array, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = b[i] - 48;
    if (!(c >= 0 && c <= 9)) return -1;
    v = v * 10 + c;
  }
  return v;
}

/**
 * Parses a UTCTimestamp from bytes `[start, end)` to epoch milliseconds (sub-millisecond
 * digits truncated), with the same rules as {@linkcode parseUtcTimestamp}, building no string.
 *
 * @param b The bytes.
 * @param start The first byte of the value.
 * @param end One past its last byte.
 * @returns Epoch milliseconds, or `NaN` when the bytes are not a valid UTCTimestamp.
 */
export function parseUtcTimestampBytes(b: Uint8Array, start: number, end: number): number {
  const n = end - start;
  if (n < 17 || b[start + 8] !== 45 || b[start + 11] !== 58 || b[start + 14] !== 58) {
    return Number.NaN;
  }
  const y = digitsAt(b, start, 4), mo = digitsAt(b, start + 4, 2), d = digitsAt(b, start + 6, 2);
  const h = digitsAt(b, start + 9, 2), mi = digitsAt(b, start + 12, 2);
  const s = digitsAt(b, start + 15, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59) {
    return Number.NaN;
  }
  if (s < 0 || s > 60) return Number.NaN;
  let fracMs = 0;
  if (n > 17) {
    if (b[start + 17] !== 46) return Number.NaN;
    const k = n - 18;
    if (k < 1 || k > 9) return Number.NaN;
    const f = digitsAt(b, start + 18, k);
    if (f < 0) return Number.NaN;
    fracMs = Math.floor(f * NANOS_PER_UNIT[k] / 1_000_000);
  }
  return civilMs(y, mo, d, h, mi, s) + fracMs;
}

/**
 * Formats epoch milliseconds as a FIX UTCDateOnly `YYYYMMDD`.
 *
 * @param epochMs Epoch milliseconds.
 * @returns The date text.
 * @example
 * ```ts
 * import { formatUtcDateOnly } from "@fixwire/engine";
 * formatUtcDateOnly(0); // "19700101"
 * ```
 */
export function formatUtcDateOnly(epochMs: number): string {
  return formatUtcTimestamp(epochMs, "s").slice(0, 8);
}

/**
 * Parses a `YYYYMMDD` date (UTCDateOnly or LocalMktDate) to epoch ms at midnight UTC.
 *
 * @param text The date.
 * @returns Epoch ms, or `undefined` when invalid.
 * @example
 * ```ts
 * import { parseDateOnly } from "@fixwire/engine";
 * parseDateOnly("19700102"); // 86400000
 * ```
 */
export function parseDateOnly(text: string): number | undefined {
  if (text.length !== 8) return undefined;
  const y = digits(text, 0, 4), mo = digits(text, 4, 2), d = digits(text, 6, 2);
  if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31) return undefined;
  const ms = Date.UTC(y, mo - 1, d);
  return new Date(ms).getUTCDate() === d ? ms : undefined;
}

/**
 * Checks a FIX MonthYear: `YYYYMM`, `YYYYMMDD` or `YYYYMMwN` (week 1 to 5).
 *
 * @param text The value.
 * @returns True when valid.
 * @example
 * ```ts
 * import { isMonthYear } from "@fixwire/engine";
 * isMonthYear("202612w2"); // true
 * ```
 */
export function isMonthYear(text: string): boolean {
  if (text.length !== 6 && text.length !== 8) return false;
  const y = digits(text, 0, 4), mo = digits(text, 4, 2);
  if (y < 0 || mo < 1 || mo > 12) return false;
  if (text.length === 6) return true;
  if (text.charCodeAt(6) === 119) { // 'w'
    const w = digits(text, 7, 1);
    return w >= 1 && w <= 5;
  }
  const d = digits(text, 6, 2);
  return d >= 1 && d <= 31;
}
