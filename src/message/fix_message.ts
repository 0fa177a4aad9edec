/**
 * The FIX message model: ordered fields with typed accessors and nested repeating groups.
 *
 * A decoded message keeps the bytes it came from and turns a value into a string only when it
 * is read, so the session layer reads MsgSeqNum, MsgType and the CompIDs without building
 * strings for the body.
 *
 * @module
 */

import { decimalText } from "./_decimal.ts";
import { formatMessage } from "./printer.ts";
import {
  formatUtcDateOnly,
  formatUtcTimestamp,
  isMonthYear,
  parseDateOnly,
  type ParsedTimestamp,
  parseUtcTimestamp,
  parseUtcTimestampBytes,
  type TimestampPrecision,
} from "./timestamps.ts";

/** The layout of a repeating group: what starts an entry and which tags belong to it. */
export interface GroupSpec {
  /** The first tag of every entry. */
  readonly delimiterTag: number;
  /** The tags of an entry (the delimiter included), in order. */
  readonly memberTags: readonly number[];
  /** Layouts of groups nested in an entry, by their NumInGroup tag. */
  readonly nested?: ReadonlyMap<number, GroupSpec>;
}

/** Anything that knows group layouts per message type, such as a `Dictionary`. */
export interface GroupLayoutSource {
  /**
   * Finds the layout of a group.
   *
   * @param msgType The MsgType(35) the group is in.
   * @param countTag The group's NumInGroup tag.
   * @returns The layout, or `undefined` when unknown.
   */
  groupLayout(msgType: string, countTag: number): GroupSpec | undefined;
}

/** A field value accepted by setters: strings as is, numbers as decimal text, booleans as Y/N. */
export type FieldValue = string | number | boolean;

const SINGLE_CHARS: string[] = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));
const UTF8 = new TextDecoder();

/**
 * Converts a number to FIX decimal text, never in exponent notation. A whole number from 0 on
 * is made without V8's number-to-string cache, which `String(n)` and template literals fill:
 * there, each new number (a sequence number, an order ID) keeps its string alive and every
 * young-generation GC copies it. Build a numbered ID with it (`"E-" + numberToFixText(n)`),
 * or set the number itself (`set(17, n)`).
 *
 * @param n The number.
 * @returns Its text.
 * @throws {RangeError} When `n` is not finite.
 * @example
 * ```ts
 * import { numberToFixText } from "@fixwire/engine";
 * numberToFixText(1e21); // "1000000000000000000000"
 * numberToFixText(42); // "42"
 * ```
 */
export function numberToFixText(n: number): string {
  // Without V8's number-to-string cache (see _decimal.ts): a new sequence number or ID per
  // message would otherwise keep a young string alive in it until overwritten.
  if (n >= 0 && n <= Number.MAX_SAFE_INTEGER && Math.floor(n) === n) return decimalText(n);
  return otherNumberText(n);
}

/**
 * `numberToFixText` of anything but a whole number from 0 on. Kept out of it: V8 optimizes a
 * function after calls worth some thousand times its bytecode's length, and a call that
 * returns early counts only the bytecode before its return, so rare paths kept in a function
 * called per message delay its optimization into the steady state (a millisecond's compile
 * then, on the core the round trip needs).
 */
function otherNumberText(n: number): string {
  if (!Number.isFinite(n)) throw new RangeError(`Cannot write number: "${n}" is not finite`);
  const s = String(n);
  if (s.indexOf("e") < 0) return s;
  if (Number.isInteger(n)) return BigInt(n).toString();
  return n.toFixed(20).replace(/0+$/, "").replace(/\.$/, "");
}

function toText(value: FieldValue): string {
  if (typeof value === "string") return value;
  if (typeof value === "boolean") return value ? "Y" : "N";
  return numberToFixText(value);
}

/** The longest value `decodeBytes` builds from one of CODE_ARRAYS. */
const CODE_ARRAYS_MAX = 64;
/**
 * One array of numbers per length up to CODE_ARRAYS_MAX, reused by every value of that length
 * (`String.fromCharCode` copies them): packed small integers, the fastest kind to `apply`.
 */
const CODE_ARRAYS: number[][] = Array.from(
  { length: CODE_ARRAYS_MAX + 1 },
  (_, n) => Array.from({ length: n }, () => 0),
);

/**
 * Bytes to text. ASCII values up to 8 bytes (most FIX values: CompIDs, enums, prices,
 * quantities) are built in one `String.fromCharCode` call, which makes a flat string at once,
 * from bytes each read once; anything with a byte of 128 or more is UTF-8.
 */
function decodeBytes(raw: Uint8Array, start: number, end: number): string {
  const s = start;
  switch (end - start) {
    case 0:
      return "";
    case 1: {
      const a = raw[s];
      if (a < 128) return SINGLE_CHARS[a];
      break;
    }
    case 2: {
      const a = raw[s], b = raw[s + 1];
      if ((a | b) < 128) return String.fromCharCode(a, b);
      break;
    }
    case 3: {
      const a = raw[s], b = raw[s + 1], c = raw[s + 2];
      if ((a | b | c) < 128) return String.fromCharCode(a, b, c);
      break;
    }
    case 4: {
      const a = raw[s], b = raw[s + 1], c = raw[s + 2], d = raw[s + 3];
      if ((a | b | c | d) < 128) return String.fromCharCode(a, b, c, d);
      break;
    }
    case 5: {
      const a = raw[s], b = raw[s + 1], c = raw[s + 2], d = raw[s + 3], e = raw[s + 4];
      if ((a | b | c | d | e) < 128) return String.fromCharCode(a, b, c, d, e);
      break;
    }
    case 6: {
      const a = raw[s], b = raw[s + 1], c = raw[s + 2], d = raw[s + 3], e = raw[s + 4];
      const f = raw[s + 5];
      if ((a | b | c | d | e | f) < 128) return String.fromCharCode(a, b, c, d, e, f);
      break;
    }
    case 7: {
      const a = raw[s], b = raw[s + 1], c = raw[s + 2], d = raw[s + 3], e = raw[s + 4];
      const f = raw[s + 5], g = raw[s + 6];
      if ((a | b | c | d | e | f | g) < 128) return String.fromCharCode(a, b, c, d, e, f, g);
      break;
    }
    case 8: {
      const a = raw[s], b = raw[s + 1], c = raw[s + 2], d = raw[s + 3], e = raw[s + 4];
      const f = raw[s + 5], g = raw[s + 6], h = raw[s + 7];
      if ((a | b | c | d | e | f | g | h) < 128) {
        return String.fromCharCode(a, b, c, d, e, f, g, h);
      }
      break;
    }
    default: {
      const n = end - start;
      if (n <= CODE_ARRAYS_MAX) {
        // Up to 64 bytes (IDs, timestamps, most text): copied into an array kept for that
        // length, which `apply` reads fast: 19 ns for 12 bytes and 31 for 21, against 55 and 70
        // through a subarray, timed on their own (`bench/codec_bench.ts`, the long-ID group:
        // 1.10 -> 1.69 M messages/s).
        const codes = CODE_ARRAYS[n];
        let high = 0;
        for (let i = 0; i < n; i++) high |= codes[i] = raw[s + i];
        if (high < 128) return String.fromCharCode.apply(null, codes);
        break;
      }
      let high = 0;
      for (let i = start; i < end; i++) high |= raw[i];
      // ASCII is UTF-8 too: a long value is decoded without spreading it as call arguments
      // (which overflows the stack past about 100,000 bytes).
      if (high < 128 && n <= 4096) {
        return String.fromCharCode.apply(null, raw.subarray(start, end) as unknown as number[]);
      }
    }
  }
  return UTF8.decode(raw.subarray(start, end));
}

function isDecimal(s: string): boolean {
  let i = 0;
  const n = s.length;
  if (n === 0) return false;
  if (s.charCodeAt(0) === 45) i = 1;
  let digitsSeen = 0, dot = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c === 46) {
      if (dot) return false;
      dot = true;
    } else if (c >= 48 && c <= 57) digitsSeen++;
    else return false;
  }
  return digitsSeen > 0;
}

function fieldTypeError(tag: number, kind: string, value: string): TypeError {
  return new TypeError(`Cannot read tag ${tag} as ${kind}: value "${value}" is invalid`);
}

// Set by FieldMap's static block: `messageOfFields` hands a new message its arrays,
// `newGroupEntry` and `appendGroup` add a group's entries at once.
let adoptFields: (m: FieldMap, tags: number[], values: string[]) => void;
let ownedEntry: (owner: FieldMap) => FieldMap;
let addGroup: (m: FieldMap, countTag: number, entries: FieldMap[]) => boolean;

/** The fields of a map that has none of its own yet: never written (frozen to make sure). */
const NO_TAGS: number[] = Object.freeze([]) as unknown as number[];
const NO_VALS: (string | undefined)[] = Object.freeze([]) as unknown as (string | undefined)[];

/**
 * An ordered list of fields, possibly with nested repeating groups. `FixMessage` and every
 * group entry are field maps.
 *
 * @example
 * ```ts
 * import { FieldMap } from "@fixwire/engine";
 * const entry = new FieldMap().set(448, "BROKER").set(447, "D").set(452, 1);
 * entry.get(448); // "BROKER"
 * ```
 */
export class FieldMap {
  static {
    adoptFields = (m, tags, values) => {
      m.#tags = tags;
      m.#vals = values;
    };
    ownedEntry = (owner) => {
      const entry = new FieldMap();
      entry.#owner = owner;
      return entry;
    };
    addGroup = (m, countTag, entries) => {
      if (m.#indexOf(countTag) >= 0) return false;
      for (const e of entries) {
        if (!(e instanceof FieldMap) || e.#owner !== m) {
          throw new TypeError(
            `Cannot add group ${countTag}: its entries must come from newGroupEntry for this map`,
          );
        }
      }
      m.#edit();
      const i = m.#tags.length;
      m.#tags.push(countTag);
      m.#vals.push(String(entries.length));
      m.#starts?.push(-1);
      m.#ends?.push(-1);
      (m.#groups ??= new Array(i)).push(entries);
      m.#invalidate();
      return true;
    };
  }

  // A new map shares the empty NO_TAGS and NO_VALS (no allocation for a decoded message, which
  // has its own index); `#edit` gives it arrays of its own before anything is written.
  #tags: number[] = NO_TAGS;
  /**
   * Values read or set so far, one slot per field (its length is the number of fields), except
   * in a decoded map not edited yet: NO_VALS until a value longer than 8 bytes is read.
   */
  #vals: (string | undefined)[] = NO_VALS;
  /**
   * A decoded map not edited yet: tag, value start and value end per field, `#nx` fields from
   * `#ix` in the decoder's index slab (no array per message), never written (a clone shares it).
   * `#tags`, `#starts` and `#ends` are built from it by the first edit (`#edit`); until then
   * they are unused.
   */
  #index: Int32Array | undefined;
  /** Where this map's entries start in `#index`, and how many fields it has there. */
  #ix = 0;
  #nx = 0;
  #starts: number[] | undefined;
  #ends: number[] | undefined;
  #raw: Uint8Array | undefined;
  #groups: (FieldMap[] | undefined)[] | undefined;
  #flat: [number[], string[]] | undefined;
  #owner: FieldMap | undefined;

  /**
   * Internal: adopt decoded fields. Used by the decoder.
   *
   * @param raw The message bytes.
   * @param tags Tags in wire order.
   * @param starts Value start offsets.
   * @param ends Value end offsets.
   * @returns This map.
   */
  protected adopt(raw: Uint8Array, tags: number[], starts: number[], ends: number[]): this {
    this.#raw = raw;
    this.#tags = tags;
    this.#starts = starts;
    this.#ends = ends;
    this.#vals = new Array(tags.length);
    return this;
  }

  /**
   * Internal: adopt decoded fields as one index. Used by the decoder.
   *
   * @param raw The message bytes.
   * @param index Tag, value start and value end of each field in wire order.
   * @param from Where the map's entries start in `index`.
   * @param count How many fields it has there.
   * @returns This map.
   */
  protected adoptIndex(
    raw: Uint8Array,
    index: Int32Array,
    from = 0,
    count = index.length / 3,
  ): this {
    this.#raw = raw;
    this.#index = index;
    this.#ix = from;
    this.#nx = count;
    // Its values' slots are made when a value longer than 8 bytes is first read (see
    // #valueAtIndex): a message whose short values alone are read makes none.
    this.#vals = NO_VALS;
    return this;
  }

  /** Before an edit: a new map gets arrays of its own, a decoded one its per-field arrays. */
  #edit(): void {
    if (this.#tags !== NO_TAGS) return;
    const x = this.#index;
    if (x === undefined) {
      this.#tags = [];
      if (this.#vals === NO_VALS) this.#vals = [];
      return;
    }
    const n = this.#nx;
    if (this.#vals === NO_VALS) this.#vals = new Array(n);
    const tags: number[] = new Array(n), starts: number[] = new Array(n);
    const ends: number[] = new Array(n);
    for (let i = 0, k = this.#ix; i < n; i++, k += 3) {
      tags[i] = x[k];
      starts[i] = x[k + 1];
      ends[i] = x[k + 2];
    }
    this.#tags = tags;
    this.#starts = starts;
    this.#ends = ends;
    this.#index = undefined;
  }

  /**
   * The text of field `i` read or set so far, if any. NO_VALS is not read from: a frozen array
   * beside the others would make every read of `#vals` polymorphic (about 10% of decoding).
   */
  #textAt(i: number): string | undefined {
    const vals = this.#vals;
    return vals === NO_VALS ? undefined : vals[i];
  }

  #valueAtIndex(i: number): string {
    let v = this.#textAt(i);
    if (v === undefined) {
      const x = this.#index;
      if (x === undefined) {
        v = decodeBytes(this.#raw!, this.#starts![i], this.#ends![i]);
      } else {
        const b = this.#ix + 3 * i;
        const start = x[b + 1], end = x[b + 2];
        v = decodeBytes(this.#raw!, start, end);
        // A value of up to 8 bytes is made again at each read (one call, about 10 ns) rather
        // than kept: most messages are read once, and their slots array was an allocation per
        // message (decoding and reading an order: 3% faster, 5% with validation).
        if (end - start <= 8) return v;
        if (this.#vals === NO_VALS) this.#vals = new Array(this.#nx);
      }
      this.#vals[i] = v;
    }
    return v;
  }

  /** A group's count field changed: its text now, no longer the raw bytes. */
  #setCount(i: number, n: number): void {
    this.#edit();
    this.#vals[i] = String(n);
    if (this.#starts) this.#starts[i] = -1;
  }

  #indexOf(tag: number): number {
    const x = this.#index;
    if (x !== undefined) {
      const end = this.#ix + 3 * this.#nx;
      for (let i = 0, k = this.#ix; k < end; i++, k += 3) if (x[k] === tag) return i;
      return -1;
    }
    const tags = this.#tags;
    for (let i = 0; i < tags.length; i++) if (tags[i] === tag) return i;
    return -1;
  }

  /** Number of fields directly in this map (group entries not counted). */
  get size(): number {
    return this.#index !== undefined ? this.#nx : this.#vals.length;
  }

  /**
   * The tag of the field at index `i` of this map (groups not expanded).
   *
   * @param i The index.
   * @returns The tag.
   */
  ownTagAt(i: number): number {
    const x = this.#index;
    return x !== undefined ? x[this.#ix + 3 * i] : this.#tags[i];
  }

  /**
   * The value of the field at index `i` of this map (groups not expanded).
   *
   * @param i The index.
   * @returns The value.
   */
  ownValueAt(i: number): string {
    return this.#valueAtIndex(i);
  }

  /**
   * The group entries attached to the field at index `i`, if it is a structured group.
   *
   * @param i The index.
   * @returns The entries, or `undefined`.
   */
  ownGroupAt(i: number): readonly FieldMap[] | undefined {
    return this.#groups?.[i];
  }

  /**
   * Whether the tag is present.
   *
   * @param tag The tag.
   * @returns True when present.
   */
  has(tag: number): boolean {
    return this.#indexOf(tag) >= 0;
  }

  /**
   * Reads a value as text.
   *
   * @param tag The tag.
   * @returns The first value of that tag, or `undefined`.
   */
  get(tag: number): string | undefined {
    const i = this.#indexOf(tag);
    return i < 0 ? undefined : this.#valueAtIndex(i);
  }

  /**
   * Whether the first value of a tag is `value`. A received value not read yet is compared on
   * its bytes, without making its string (a session checks BeginString and the CompIDs of every
   * message this way).
   *
   * @param tag The tag.
   * @param value The text to compare with.
   * @returns True when the tag is present and its first value is `value`.
   * @example
   * ```ts
   * import { FixMessage } from "@fixwire/engine";
   * new FixMessage("0").set(49, "BROKER").hasValue(49, "BROKER"); // true
   * ```
   */
  hasValue(tag: number, value: string): boolean {
    const i = this.#indexOf(tag);
    if (i < 0) return false;
    const x = this.#index;
    if (x === undefined || this.#textAt(i) !== undefined) {
      return this.#valueAtIndex(i) === value;
    }
    const b = this.#ix + 3 * i;
    const start = x[b + 1];
    const n = value.length;
    for (let k = 0; k < n; k++) {
      // Beyond ASCII, characters and bytes are not one to one: compared as text.
      if (value.charCodeAt(k) >= 0x80) return this.#valueAtIndex(i) === value;
    }
    if (x[b + 2] - start !== n) return false;
    const raw = this.#raw!;
    for (let k = 0; k < n; k++) if (raw[start + k] !== value.charCodeAt(k)) return false;
    return true;
  }

  /**
   * Reads every value of a tag that appears more than once.
   *
   * @param tag The tag.
   * @returns The values in order.
   */
  getAll(tag: number): string[] {
    const out: string[] = [];
    const x = this.#index;
    if (x !== undefined) {
      const end = this.#ix + 3 * this.#nx;
      for (let i = 0, k = this.#ix; k < end; i++, k += 3) {
        if (x[k] === tag) out.push(this.#valueAtIndex(i));
      }
      return out;
    }
    const tags = this.#tags;
    for (let i = 0; i < tags.length; i++) {
      if (tags[i] === tag) out.push(this.#valueAtIndex(i));
    }
    return out;
  }

  /**
   * Sets a value, replacing the first occurrence or appending. The NumInGroup tag of a
   * structured group (one built with `addGroupEntry` or read with `getGroups`) always equals
   * its number of entries: setting it to that number is a no-op, any other value is refused.
   *
   * @param tag The tag (a positive integer).
   * @param value The value.
   * @returns This map, for chaining.
   * @throws {RangeError} When the tag is not a positive integer, or is the NumInGroup tag of a
   * structured group and the value differs from its number of entries.
   */
  set(tag: number, value: FieldValue): this {
    this.#edit();
    const i = this.#indexOf(tag);
    if (i >= 0) {
      const text = toText(value);
      const entries = this.#groups?.[i];
      if (entries !== undefined && text !== String(entries.length)) {
        throw new RangeError(
          `Cannot set tag ${tag} to "${text}": it counts a group of ${entries.length} entries; use addGroupEntry or removeGroupEntry`,
        );
      }
      this.#vals[i] = text;
      if (this.#starts) this.#starts[i] = -1;
      this.#invalidate();
      return this;
    }
    return this.add(tag, value);
  }

  /**
   * Appends a field even if the tag is present.
   *
   * @param tag The tag (a positive integer).
   * @param value The value.
   * @returns This map.
   * @throws {RangeError} When the tag is not a positive integer.
   */
  add(tag: number, value: FieldValue): this {
    if (!Number.isInteger(tag) || tag <= 0) {
      throw new RangeError(`Cannot set field: tag "${tag}" is not a positive integer`);
    }
    this.#edit();
    this.#tags.push(tag);
    this.#vals.push(toText(value));
    // -1: not raw bytes (set by the application).
    this.#starts?.push(-1);
    this.#ends?.push(-1);
    this.#groups?.push(undefined);
    this.#invalidate();
    return this;
  }

  /**
   * Removes every occurrence of a tag (and its group entries).
   *
   * @param tag The tag.
   * @returns True when something was removed.
   */
  remove(tag: number): boolean {
    this.#edit();
    let removed = false;
    for (let i = this.#tags.length - 1; i >= 0; i--) {
      if (this.#tags[i] !== tag) continue;
      this.#tags.splice(i, 1);
      this.#vals.splice(i, 1);
      this.#starts?.splice(i, 1);
      this.#ends?.splice(i, 1);
      this.#groups?.splice(i, 1);
      removed = true;
    }
    if (removed) this.#invalidate();
    return removed;
  }

  /**
   * Reads an integer.
   *
   * @param tag The tag.
   * @returns The value, or `undefined` when absent.
   * @throws {TypeError} When the value is not an integer.
   */
  getInt(tag: number): number | undefined {
    const i = this.#indexOf(tag);
    if (i < 0) return undefined;
    const v = this.#intAtIndex(i);
    if (Number.isNaN(v)) throw fieldTypeError(tag, "int", this.#valueAtIndex(i));
    return v;
  }

  #intAtIndex(i: number): number {
    const s = this.#textAt(i);
    if (s !== undefined) {
      if (s.length === 0 || s.length > 16) return Number.NaN;
      let v = 0, k = 0, neg = false;
      if (s.charCodeAt(0) === 45) {
        neg = true;
        k = 1;
        if (s.length === 1) return Number.NaN;
      }
      for (; k < s.length; k++) {
        const c = s.charCodeAt(k) - 48;
        if (c < 0 || c > 9) return Number.NaN;
        v = v * 10 + c;
      }
      return neg ? -v : v;
    }
    const raw = this.#raw!;
    const x = this.#index;
    let p = x !== undefined ? x[this.#ix + 3 * i + 1] : this.#starts![i];
    const end = x !== undefined ? x[this.#ix + 3 * i + 2] : this.#ends![i];
    if (p === end || end - p > 16) return Number.NaN;
    let neg = false;
    if (raw[p] === 45) {
      neg = true;
      p++;
      if (p === end) return Number.NaN;
    }
    let v = 0;
    for (; p < end; p++) {
      const c = raw[p] - 48;
      if (c < 0 || c > 9) return Number.NaN;
      v = v * 10 + c;
    }
    return neg ? -v : v;
  }

  /**
   * Reads an integer without throwing: `NaN` when malformed, `fallback` when absent. For hot
   * paths such as the session layer.
   *
   * @param tag The tag.
   * @param fallback Returned when the tag is absent.
   * @returns The value, `NaN` or `fallback`.
   */
  intOr(tag: number, fallback: number): number {
    const i = this.#indexOf(tag);
    return i < 0 ? fallback : this.#intAtIndex(i);
  }

  /**
   * Reads a UTCTimestamp as epoch milliseconds without throwing: `NaN` when malformed,
   * `fallback` when absent. Decoded values are parsed from their bytes, building no string.
   * For hot paths such as the session layer's SendingTime check.
   *
   * @param tag The tag.
   * @param fallback Returned when the tag is absent.
   * @returns Epoch milliseconds (sub-millisecond digits truncated), `NaN` or `fallback`.
   * @example
   * ```ts
   * import { FixMessage } from "@fixwire/engine";
   * new FixMessage("0").set(52, "19700101-00:00:01.500").timestampMsOr(52, -1); // 1500
   * ```
   */
  timestampMsOr(tag: number, fallback: number): number {
    const i = this.#indexOf(tag);
    if (i < 0) return fallback;
    const x = this.#index;
    if (x !== undefined) {
      const b = this.#ix + 3 * i;
      return parseUtcTimestampBytes(this.#raw!, x[b + 1], x[b + 2]);
    }
    return this.#timestampMsAt(i);
  }

  /** `timestampMsOr` of a message not decoded in one pass (kept out: see `otherNumberText`). */
  #timestampMsAt(i: number): number {
    const starts = this.#starts;
    if (this.#raw !== undefined && starts !== undefined && starts[i] >= 0) {
      return parseUtcTimestampBytes(this.#raw, starts[i], this.#ends![i]);
    }
    return parseUtcTimestamp(this.#valueAtIndex(i))?.epochMs ?? Number.NaN;
  }

  /**
   * Sets an integer.
   *
   * @param tag The tag.
   * @param value An integer.
   * @returns This map.
   * @throws {RangeError} When the value is not a safe integer.
   */
  setInt(tag: number, value: number): this {
    if (!Number.isSafeInteger(value)) {
      throw new RangeError(`Cannot set tag ${tag}: "${value}" is not an integer`);
    }
    return this.set(tag, String(value));
  }

  /**
   * Reads a float (Price, Qty, Amt...) as a JavaScript number. Use `getDecimal` to keep the
   * exact text.
   *
   * @param tag The tag.
   * @returns The value, or `undefined` when absent.
   * @throws {TypeError} When the value is not a decimal.
   */
  getFloat(tag: number): number | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    if (!isDecimal(s)) throw fieldTypeError(tag, "float", s);
    return Number(s);
  }

  /**
   * Reads a decimal exactly as sent.
   *
   * @param tag The tag.
   * @returns The decimal text, or `undefined` when absent.
   * @throws {TypeError} When the value is not a decimal.
   */
  getDecimal(tag: number): string | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    if (!isDecimal(s)) throw fieldTypeError(tag, "decimal", s);
    return s;
  }

  /**
   * Sets a decimal from exact text (kept as is) or a number (written without exponent).
   *
   * @param tag The tag.
   * @param value Decimal text such as `"101.250"`, or a number.
   * @returns This map.
   * @throws {TypeError} When the text is not a decimal.
   */
  setDecimal(tag: number, value: string | number): this {
    const s = typeof value === "number" ? numberToFixText(value) : value;
    if (!isDecimal(s)) throw new TypeError(`Cannot set tag ${tag}: "${s}" is not a decimal`);
    return this.set(tag, s);
  }

  /**
   * Reads a char.
   *
   * @param tag The tag.
   * @returns The character, or `undefined` when absent.
   * @throws {TypeError} When the value is not one character.
   */
  getChar(tag: number): string | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    if (s.length !== 1) throw fieldTypeError(tag, "char", s);
    return s;
  }

  /**
   * Reads a boolean (`Y` or `N`).
   *
   * @param tag The tag.
   * @returns The value, or `undefined` when absent.
   * @throws {TypeError} When the value is neither Y nor N.
   */
  getBoolean(tag: number): boolean | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    if (s === "Y") return true;
    if (s === "N") return false;
    throw fieldTypeError(tag, "boolean", s);
  }

  /**
   * Reads a UTCTimestamp.
   *
   * @param tag The tag.
   * @returns Epoch ms and sub-millisecond nanoseconds, or `undefined` when absent.
   * @throws {TypeError} When the value is not a UTCTimestamp.
   */
  getUtcTimestamp(tag: number): ParsedTimestamp | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    const t = parseUtcTimestamp(s);
    if (t === undefined) throw fieldTypeError(tag, "UTCTimestamp", s);
    return t;
  }

  /**
   * Sets a UTCTimestamp.
   *
   * @param tag The tag.
   * @param epochMs Epoch milliseconds.
   * @param precision `s`, `ms` (default), `us` or `ns`.
   * @param subMsNanos Nanoseconds beyond the millisecond, for `us` and `ns`.
   * @returns This map.
   */
  setUtcTimestamp(
    tag: number,
    epochMs: number,
    precision: TimestampPrecision = "ms",
    subMsNanos = 0,
  ): this {
    return this.set(tag, formatUtcTimestamp(epochMs, precision, subMsNanos));
  }

  /**
   * Reads a UTCDateOnly as epoch ms at midnight UTC.
   *
   * @param tag The tag.
   * @returns Epoch ms, or `undefined` when absent.
   * @throws {TypeError} When the value is not `YYYYMMDD`.
   */
  getUtcDateOnly(tag: number): number | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    const d = parseDateOnly(s);
    if (d === undefined) throw fieldTypeError(tag, "UTCDateOnly", s);
    return d;
  }

  /**
   * Sets a UTCDateOnly from epoch ms.
   *
   * @param tag The tag.
   * @param epochMs Any time within the day.
   * @returns This map.
   */
  setUtcDateOnly(tag: number, epochMs: number): this {
    return this.set(tag, formatUtcDateOnly(epochMs));
  }

  /**
   * Reads a LocalMktDate (`YYYYMMDD` in the market's time zone, kept as text).
   *
   * @param tag The tag.
   * @returns The date text, or `undefined` when absent.
   * @throws {TypeError} When the value is not a valid `YYYYMMDD`.
   */
  getLocalMktDate(tag: number): string | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    if (parseDateOnly(s) === undefined) throw fieldTypeError(tag, "LocalMktDate", s);
    return s;
  }

  /**
   * Sets a LocalMktDate.
   *
   * @param tag The tag.
   * @param date `YYYYMMDD`.
   * @returns This map.
   * @throws {TypeError} When the date is invalid.
   */
  setLocalMktDate(tag: number, date: string): this {
    if (parseDateOnly(date) === undefined) {
      throw new TypeError(`Cannot set tag ${tag}: "${date}" is not a YYYYMMDD date`);
    }
    return this.set(tag, date);
  }

  /**
   * Reads a MonthYear (`YYYYMM`, `YYYYMMDD` or `YYYYMMwN`).
   *
   * @param tag The tag.
   * @returns The text, or `undefined` when absent.
   * @throws {TypeError} When the value is not a MonthYear.
   */
  getMonthYear(tag: number): string | undefined {
    const s = this.get(tag);
    if (s === undefined) return undefined;
    if (!isMonthYear(s)) throw fieldTypeError(tag, "MonthYear", s);
    return s;
  }

  /**
   * Sets a MonthYear.
   *
   * @param tag The tag.
   * @param value `YYYYMM`, `YYYYMMDD` or `YYYYMMwN`.
   * @returns This map.
   * @throws {TypeError} When the value is invalid.
   */
  setMonthYear(tag: number, value: string): this {
    if (!isMonthYear(value)) {
      throw new TypeError(`Cannot set tag ${tag}: "${value}" is not a MonthYear`);
    }
    return this.set(tag, value);
  }

  /**
   * Reads a multiple-value field (space separated).
   *
   * @param tag The tag.
   * @returns The values; empty when absent.
   */
  getMultipleValues(tag: number): string[] {
    const s = this.get(tag);
    return s === undefined || s.length === 0 ? [] : s.split(" ");
  }

  /**
   * Sets a multiple-value field.
   *
   * @param tag The tag.
   * @param values The values; none may contain a space.
   * @returns This map.
   * @throws {TypeError} When a value is empty or contains a space.
   */
  setMultipleValues(tag: number, values: readonly string[]): this {
    for (const v of values) {
      if (v.length === 0 || v.includes(" ")) {
        throw new TypeError(`Cannot set tag ${tag}: value "${v}" is empty or has a space`);
      }
    }
    return this.set(tag, values.join(" "));
  }

  /**
   * Reads the entries of a repeating group. On a decoded message the group's fields are
   * gathered into entries on first access, using `layout`.
   *
   * @param countTag The NumInGroup tag, e.g. `Tag.NoPartyIDs`.
   * @param layout The group's layout (for example from `dictionary.groupLayout`). Needed only
   * for groups that were decoded and not yet read.
   * @returns The entries; empty when the group is absent.
   * @throws {TypeError} When the group must be structured and no layout is given.
   */
  getGroups(countTag: number, layout?: GroupSpec): readonly FieldMap[] {
    const i = this.#indexOf(countTag);
    if (i < 0) return [];
    const existing = this.#groups?.[i];
    if (existing) return existing;
    if (!layout) {
      if (i + 1 >= this.size) return [];
      throw new TypeError(`Cannot read group ${countTag}: pass its layout (from the dictionary)`);
    }
    return this.#structure(i, layout);
  }

  #structure(i: number, layout: GroupSpec): FieldMap[] {
    this.#edit();
    const members = allMembers(layout);
    const entries: FieldMap[] = [];
    let k = i + 1;
    const tags = this.#tags;
    while (k < tags.length && tags[k] === layout.delimiterTag) {
      const entry = new FieldMap();
      entry.#edit();
      entry.#owner = this;
      entry.#raw = this.#raw;
      if (this.#starts) {
        entry.#starts = [];
        entry.#ends = [];
      }
      do {
        entry.#tags.push(tags[k]);
        entry.#vals.push(this.#vals[k]);
        if (this.#starts) {
          entry.#starts!.push(this.#starts[k]);
          entry.#ends!.push(this.#ends![k]);
        }
        k++;
      } while (k < tags.length && tags[k] !== layout.delimiterTag && members.has(tags[k]));
      entries.push(entry);
    }
    const n = k - (i + 1);
    if (n > 0) {
      tags.splice(i + 1, n);
      this.#vals.splice(i + 1, n);
      this.#starts?.splice(i + 1, n);
      this.#ends?.splice(i + 1, n);
      this.#groups?.splice(i + 1, n);
    }
    this.#groups ??= new Array(tags.length);
    this.#groups[i] = entries;
    this.#invalidate();
    return entries;
  }

  /**
   * Appends a new entry to a repeating group, creating the NumInGroup field when absent and
   * keeping its count equal to the number of entries.
   *
   * @param countTag The NumInGroup tag.
   * @param layout The layout, needed when the group came from a decoded message.
   * @returns The new, empty entry: set its delimiter field first.
   */
  addGroupEntry(countTag: number, layout?: GroupSpec): FieldMap {
    this.#edit();
    let i = this.#indexOf(countTag);
    if (i < 0) {
      this.add(countTag, "0");
      i = this.#tags.length - 1;
    }
    let entries = this.#groups?.[i];
    if (!entries) {
      if (!layout && i + 1 < this.#tags.length && this.#valueAtIndex(i) !== "0") {
        throw new TypeError(
          `Cannot add to group ${countTag}: pass its layout (from the dictionary)`,
        );
      }
      entries = this.#structure(i, layout ?? { delimiterTag: -1, memberTags: [] });
    }
    const entry = new FieldMap();
    entry.#owner = this;
    entries.push(entry);
    this.#setCount(i, entries.length);
    this.#invalidate();
    return entry;
  }

  /**
   * Removes one entry from a repeating group and updates the count (removing the NumInGroup
   * field when no entry is left).
   *
   * @param countTag The NumInGroup tag.
   * @param index The entry's index.
   * @returns True when an entry was removed.
   */
  removeGroupEntry(countTag: number, index: number): boolean {
    this.#edit();
    const i = this.#indexOf(countTag);
    const entries = i < 0 ? undefined : this.#groups?.[i];
    if (!entries || index < 0 || index >= entries.length) return false;
    entries.splice(index, 1);
    if (entries.length === 0) this.remove(countTag);
    else this.#setCount(i, entries.length);
    this.#invalidate();
    return true;
  }

  #flatten(): [number[], string[]] {
    this.#edit();
    if (!this.#groups) {
      const vals: string[] = new Array(this.#tags.length);
      for (let i = 0; i < vals.length; i++) vals[i] = this.#valueAtIndex(i);
      return [this.#tags, vals];
    }
    const tags: number[] = [], vals: string[] = [];
    const walk = (m: FieldMap) => {
      for (let i = 0; i < m.#tags.length; i++) {
        tags.push(m.#tags[i]);
        vals.push(m.#valueAtIndex(i));
        const g = m.#groups?.[i];
        if (g) { for (const e of g) walk(e); }
      }
    };
    walk(this);
    return [tags, vals];
  }

  #flatView(): [number[], string[]] {
    return this.#flat ??= this.#flatten();
  }

  #invalidate(): void {
    // deno-lint-ignore no-this-alias
    let m: FieldMap | undefined = this;
    while (m !== undefined) {
      m.#flat = undefined;
      m = m.#owner;
    }
  }

  /** Number of fields with groups expanded, as on the wire. */
  get fieldCount(): number {
    if (this.#groups) return this.#flatView()[0].length;
    return this.#index !== undefined ? this.#nx : this.#vals.length;
  }

  /**
   * The tag at a wire-order index (groups expanded).
   *
   * @param index 0-based.
   * @returns The tag.
   */
  tagAt(index: number): number {
    return this.#groups ? this.#flatView()[0][index] : this.ownTagAt(index);
  }

  /**
   * The value at a wire-order index (groups expanded).
   *
   * @param index 0-based.
   * @returns The value.
   */
  valueAt(index: number): string {
    return this.#groups ? this.#flatView()[1][index] : this.#valueAtIndex(index);
  }

  /**
   * The undecoded bytes of the value at a wire-order index, for checks that need no string
   * (the validator's). Writes the value's start and end offsets into `span`, offsets in the
   * bytes returned: the frame given to `decodeMessage`, or the framer's block for a message from
   * `FixFramer.nextMessage`.
   *
   * @param index 0-based.
   * @param span Receives `[start, end)` of the value.
   * @returns The bytes holding the value, or `undefined` when the value is not (or no longer) raw
   * bytes: set by the application, already read as a string, or inside structured groups.
   */
  valueBytesAt(index: number, span: Int32Array): Uint8Array | undefined {
    const raw = this.#raw;
    const x = this.#index;
    if (x !== undefined) {
      span[0] = x[this.#ix + 3 * index + 1];
      span[1] = x[this.#ix + 3 * index + 2];
      return raw;
    }
    // Raw bytes stay the value's truth after it was read as text (binary data read as UTF-8
    // would not survive); only a value the application set has none.
    if (raw === undefined || this.#groups !== undefined || !(this.#starts![index] >= 0)) {
      return undefined;
    }
    span[0] = this.#starts![index];
    span[1] = this.#ends![index];
    return raw;
  }

  /**
   * Iterates `[tag, value]` pairs in wire order (groups expanded).
   *
   * @returns The iterator.
   */
  *[Symbol.iterator](): IterableIterator<[number, string]> {
    const n = this.fieldCount;
    for (let i = 0; i < n; i++) yield [this.tagAt(i), this.valueAt(i)];
  }

  /**
   * Copies fields (and group entries) into another map.
   *
   * @param target The map to append to.
   * @returns The target.
   */
  protected copyInto<T extends FieldMap>(target: T): T {
    const x = this.#index;
    if (
      x !== undefined && target.#tags === NO_TAGS && target.#index === undefined &&
      target.#raw === undefined
    ) {
      // A decoded map not edited yet, into a new one: the copy shares the bytes and the index
      // (never written: the first edit replaces it) and gets its own copy of the values read
      // so far (a decoded map has no groups).
      target.#raw = this.#raw;
      target.#index = x;
      target.#ix = this.#ix;
      target.#nx = this.#nx;
      target.#vals = this.#vals === NO_VALS ? NO_VALS : this.#vals.slice();
      return target;
    }
    this.#edit();
    target.#edit();
    // A fresh copy shares the decoded bytes, so data values keep their exact bytes.
    const shared = this.#raw !== undefined && target.#tags.length === 0 &&
      target.#raw === undefined;
    if (shared) {
      target.#raw = this.#raw;
      target.#starts = [];
      target.#ends = [];
    }
    for (let i = 0; i < this.#tags.length; i++) {
      if (shared && this.#starts![i] >= 0) {
        target.#tags.push(this.#tags[i]);
        target.#vals.push(this.#vals[i]);
        target.#starts!.push(this.#starts![i]);
        target.#ends!.push(this.#ends![i]);
        target.#groups?.push(undefined);
        target.#invalidate();
      } else target.add(this.#tags[i], this.#valueAtIndex(i));
      const g = this.#groups?.[i];
      if (g) {
        target.#groups ??= new Array(target.#tags.length);
        target.#groups[target.#tags.length - 1] = g.map((e) => {
          const copy = e.copyInto(new FieldMap());
          copy.#owner = target;
          return copy;
        });
      }
    }
    return target;
  }
}

function allMembers(layout: GroupSpec): Set<number> {
  const set = new Set<number>(layout.memberTags);
  set.add(layout.delimiterTag);
  if (layout.nested) {
    for (const [count, spec] of layout.nested) {
      set.add(count);
      for (const t of allMembers(spec)) set.add(t);
    }
  }
  return set;
}

/**
 * A FIX message: header, body and trailer fields in order. The encoder writes BeginString(8),
 * BodyLength(9) and MsgType(35) first, other header fields next, the body, and CheckSum(10)
 * last, whatever order they were set in.
 *
 * @example
 * ```ts
 * import { FixMessage, MsgType, Tag } from "@fixwire/engine";
 * const order = new FixMessage(MsgType.NewOrderSingle)
 *   .set(Tag.ClOrdID, "ord-1")
 *   .set(Tag.Side, "1")
 *   .setDecimal(Tag.OrderQty, "100")
 *   .set(Tag.OrdType, "2")
 *   .setDecimal(Tag.Price, "101.25");
 * order.msgType; // "D"
 * ```
 */
export class FixMessage extends FieldMap {
  /**
   * Creates an instance.
   * @param msgType MsgType(35), set as the first field when given.
   */
  constructor(msgType?: string) {
    super();
    if (msgType !== undefined) this.set(35, msgType);
  }

  /**
   * The message as operators read it: `35=D|49=TEST1|...` with `|` for SOH and credentials
   * masked. For tag names, use `formatMessage(message, { names: dictionary })`.
   *
   * @returns The text.
   * @example
   * ```ts
   * import { FixMessage } from "@fixwire/engine";
   * String(new FixMessage("A").set(553, "bob").set(554, "pw").set(108, 30)); // "35=A|553=***|554=***|108=30|"
   * ```
   */
  override toString(): string {
    return formatMessage(this);
  }

  /**
   * Internal: builds a message over decoded fields. Use `decodeMessage`.
   *
   * @param raw The frame.
   * @param tags Tags.
   * @param starts Value starts.
   * @param ends Value ends.
   * @returns The message.
   */
  static fromDecoded(
    raw: Uint8Array,
    tags: number[],
    starts: number[],
    ends: number[],
  ): FixMessage {
    return new FixMessage().adopt(raw, tags, starts, ends);
  }

  /**
   * Internal: builds a message over a decoded field index. Use `decodeMessage`.
   *
   * @param raw The frame.
   * @param index Tag, value start and value end of each field in wire order.
   * @param from Where the message's entries start in `index` (default 0).
   * @param count How many fields it has (default all of `index`).
   * @returns The message.
   */
  static fromFieldIndex(
    raw: Uint8Array,
    index: Int32Array,
    from = 0,
    count: number = index.length / 3,
  ): FixMessage {
    return new FixMessage().adoptIndex(raw, index, from, count);
  }

  /**
   * Builds a message from `[tag, value]` pairs in the given order.
   *
   * @param pairs The fields.
   * @returns The message.
   * @example
   * ```ts
   * import { FixMessage } from "@fixwire/engine";
   * const hb = FixMessage.fromPairs([[35, "0"], [112, "T1"]]);
   * ```
   */
  static fromPairs(pairs: Iterable<readonly [number, FieldValue]>): FixMessage {
    const m = new FixMessage();
    for (const [t, v] of pairs) m.add(t, v);
    return m;
  }

  /** MsgType(35), or an empty string when absent. */
  get msgType(): string {
    return this.get(35) ?? "";
  }

  /** MsgSeqNum(34), or `NaN` when absent or malformed. */
  get seqNum(): number {
    return this.intOr(34, Number.NaN);
  }

  /**
   * A deep copy: editing either leaves the other as it is. The copy of a received message
   * shares the bytes it was decoded from (never written to), so that its data fields keep their
   * exact bytes; a received message kept, or its copy, keeps the block the connection read it
   * into alive.
   *
   * @returns The copy.
   */
  clone(): FixMessage {
    return this.copyInto(new FixMessage());
  }
}

/**
 * A message over these fields: the tags copied (the array can be used again), the values taken
 * as the message's own (the array must not be used after). What the generated typed builders
 * use to make a message of single fields at once.
 *
 * @param tags The tags, positive integers, each once, MsgType(35) first.
 * @param values The values, as text, one per tag.
 * @returns The message.
 * @throws {RangeError} When a tag is not a positive integer, is there twice, MsgType(35) is not
 *   first, or the lengths differ.
 * @throws {TypeError} When a value is not text.
 * @example
 * ```ts
 * import { messageOfFields } from "@fixwire/engine";
 * messageOfFields([35, 11, 54], ["D", "ord-1", "1"]).get(11); // "ord-1"
 * ```
 */
export function messageOfFields(tags: readonly number[], values: string[]): FixMessage {
  const n = tags.length;
  if (n !== values.length) {
    throw new RangeError(`Cannot make message: ${n} tags for ${values.length} values`);
  }
  if (n === 0 || tags[0] !== 35) {
    throw new RangeError(
      `Cannot make message: its first tag must be MsgType(35), not ${n === 0 ? "none" : tags[0]}`,
    );
  }
  // Checked as they are copied: one pass. A tag is seen twice when its mark is this call's.
  const mark = nextFieldsMark();
  const own = new Array<number>(n);
  for (let i = 0; i < n; i++) {
    const tag = tags[i];
    if (!Number.isInteger(tag) || tag <= 0) {
      throw new RangeError(`Cannot set field: tag "${tag}" is not a positive integer`);
    }
    if (typeof values[i] !== "string") {
      throw new TypeError(`Cannot set tag ${tag}: its value is not text`);
    }
    if (tag < SEEN_TAGS) {
      if (seenTags[tag] === mark) {
        throw new RangeError(`Cannot make message: tag ${tag} is there twice`);
      }
      seenTags[tag] = mark;
    } else if (tags.indexOf(tag) !== i) {
      throw new RangeError(`Cannot make message: tag ${tag} is there twice`);
    }
    own[i] = tag;
  }
  const m = new FixMessage();
  adoptFields(m, own, values);
  return m;
}

/** Tags below this are checked for repeats by mark, the rare others by a search. */
const SEEN_TAGS = 1 << 14;
/** Per tag, the mark of the last `messageOfFields` call that saw it. */
const seenTags = new Uint32Array(SEEN_TAGS);
let fieldsMark = 0;

/** A mark no tag has yet (the table is cleared when the marks wrap). */
function nextFieldsMark(): number {
  if (++fieldsMark === 0xffffffff) {
    seenTags.fill(0);
    fieldsMark = 1;
  }
  return fieldsMark;
}

/**
 * A new, empty group entry of `owner`, not yet in it: fill it, then add it with the group's
 * other entries by {@linkcode appendGroup}.
 *
 * @param owner The message or entry the group goes into.
 * @returns The entry.
 * @example
 * ```ts
 * import { appendGroup, FixMessage, newGroupEntry } from "@fixwire/engine";
 * const m = new FixMessage("D").set(11, "ord-1");
 * const broker = newGroupEntry(m).set(448, "BROKER").set(452, 1);
 * appendGroup(m, 453, [broker]); // true
 * m.get(453); // "1"
 * ```
 */
export function newGroupEntry(owner: FieldMap): FieldMap {
  return ownedEntry(owner);
}

/**
 * Appends a repeating group at once, when `m` does not hold its NumInGroup tag yet: the
 * NumInGroup field, set to the number of entries, then the entries, as `addGroupEntry` would
 * one by one. What the generated typed builders use: filling the entries first costs less.
 *
 * @param m The message or entry.
 * @param countTag The NumInGroup tag.
 * @param entries The entries, at least one, each made by {@linkcode newGroupEntry} for `m` and
 * in no group yet.
 * @returns False, with nothing added, when `m` holds the NumInGroup tag already (add to that
 * group with `addGroupEntry`).
 * @throws {RangeError} When the tag is not a positive integer or there is no entry.
 * @throws {TypeError} When an entry was not made for `m`.
 * @example
 * ```ts
 * import { appendGroup, FixMessage, newGroupEntry } from "@fixwire/engine";
 * const m = new FixMessage("D");
 * appendGroup(m, 453, [newGroupEntry(m).set(448, "A"), newGroupEntry(m).set(448, "B")]);
 * m.getGroups(453).length; // 2
 * ```
 */
export function appendGroup(m: FieldMap, countTag: number, entries: FieldMap[]): boolean {
  if (!Number.isInteger(countTag) || countTag <= 0) {
    throw new RangeError(`Cannot add group: tag "${countTag}" is not a positive integer`);
  }
  if (entries.length === 0) throw new RangeError(`Cannot add group ${countTag}: no entry`);
  return addGroup(m, countTag, entries);
}
