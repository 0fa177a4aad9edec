/**
 * Byte-level FIX encoding into a reused buffer. BodyLength(9) and CheckSum(10) are computed over
 * the bytes written, so non-ASCII text (EncodedText) is counted right.
 *
 * @module
 */

import { DEFAULT_DATA_FIELDS } from "./data_fields.ts";
import type { FieldMap, FixMessage } from "./fix_message.ts";

const SOH = 1;
const TEXT = new TextEncoder();

/** The DATA tags of each data-field map, built once per map. */
const DATA_TAGS_OF = new WeakMap<ReadonlyMap<number, number>, ReadonlySet<number>>();
function dataTagsOf(dataFields: ReadonlyMap<number, number>): ReadonlySet<number> {
  let set = DATA_TAGS_OF.get(dataFields);
  if (set === undefined) {
    set = new Set(dataFields.values());
    DATA_TAGS_OF.set(dataFields, set);
  }
  return set;
}

/**
 * Options of {@linkcode FixEncoder} and {@linkcode encodeMessage}.
 *
 * @example
 * ```ts
 * import { encodeMessage, FixMessage, parseDictionaryXml } from "@fixwire/engine";
 * const venue = parseDictionaryXml(
 *   "<fix type='FIX' major='4' minor='4'><header/><trailer/><messages/><fields>" +
 *     "<field number='5020' name='BlobLen' type='LENGTH'/>" +
 *     "<field number='5021' name='Blob' type='DATA'/></fields></fix>",
 *   "venue.xml",
 * );
 * const msg = new FixMessage("U2").set(5020, 3).set(5021, "a\x01b");
 * const bytes = encodeMessage(msg, "FIX.4.4", { dataFields: venue.dataFields() });
 * ```
 */
export interface EncoderOptions {
  /**
   * LENGTH tag to DATA tag pairs: values of the DATA tags may contain SOH (default
   * {@linkcode DEFAULT_DATA_FIELDS}). Pass `dictionary.dataFields()` for a dictionary with
   * custom data fields.
   */
  dataFields?: ReadonlyMap<number, number>;
}

/** Header tags, union of every version (FIX.4.0 to FIXT.1.1), excluding 8, 9 and 35. */
const HEADER_TAGS = [
  34,
  43,
  49,
  50,
  52,
  56,
  57,
  90,
  91,
  97,
  115,
  116,
  122,
  128,
  129,
  142,
  143,
  144,
  145,
  212,
  213,
  347,
  369,
  370,
  627,
  628,
  629,
  630,
  1128,
  1129,
  1156,
];
const TRAILER_TAGS = [93, 89];
const KIND = new Uint8Array(2048); // 0 body, 1 header, 2 trailer, 3 skipped (8, 9, 35, 10)
for (const t of HEADER_TAGS) KIND[t] = 1;
for (const t of TRAILER_TAGS) KIND[t] = 2;
KIND[8] = 3;
KIND[9] = 3;
KIND[10] = 3;
KIND[35] = 3;

function kindOf(tag: number): number {
  return tag < 2048 ? KIND[tag] : 0;
}

/**
 * Whether a tag belongs to the standard header of any FIX version.
 *
 * @param tag The tag.
 * @returns True for header tags, including 8, 9 and 35.
 * @example
 * ```ts
 * import { isHeaderTag } from "@fixwire/engine";
 * isHeaderTag(34); // true
 * ```
 */
export function isHeaderTag(tag: number): boolean {
  const k = kindOf(tag);
  return k === 1 || tag === 8 || tag === 9 || tag === 35;
}

/** Receives a decoded value's offsets from `FieldMap.valueBytesAt`. */
const SPAN = new Int32Array(2);

const PREFIX_CACHE: (Uint8Array | undefined)[] = [];
function tagPrefix(tag: number): Uint8Array {
  let p = tag < 10000 ? PREFIX_CACHE[tag] : undefined;
  if (p === undefined) {
    p = TEXT.encode(`${tag}=`);
    if (tag < 10000) PREFIX_CACHE[tag] = p;
  }
  return p;
}

/** The body fields' indexes of the message `append` is writing (never two at once). */
let later = new Int32Array(64);

function sohError(tag: number): TypeError {
  return new TypeError(`Cannot encode tag ${tag}: the value contains SOH`);
}

/** The largest buffer an encoder keeps as its spare (see `FixEncoder.recycle`). */
const SPARE_MAX_BYTES = 1024 * 1024;
/** The buffer of an encoder not written to yet (shared, never written). */
const NO_BYTES = new Uint8Array(0);

/**
 * Encodes messages back to back into one growing, reused buffer: the batch a session persists
 * and writes with one call.
 *
 * @example
 * ```ts
 * import { FixEncoder, FixMessage } from "@fixwire/engine";
 * const enc = new FixEncoder("FIX.4.4");
 * const msg = new FixMessage("0").set(49, "A").set(56, "B").set(34, 1)
 *   .set(52, "20261124-10:00:00.000");
 * const start = enc.append(msg);
 * const bytes = enc.view(start, enc.length); // 8=FIX.4.4|9=...|35=0|...|10=...|
 * ```
 */
export class FixEncoder {
  #buf: Uint8Array;
  /** The size of the buffer made by the first write. */
  readonly #initialSize: number;
  #len = 0;
  /** A buffer given back by `recycle`, used after the next `lend`. */
  #spare: Uint8Array | undefined;
  /** The view of a buffer lent and not yet recycled, reused when it comes back. */
  #lent: Uint8Array | undefined;
  #beginString: string;
  #dataTags: ReadonlySet<number>;
  /** The byte sum of the message being appended, so far (CheckSum(10)). */
  #sum = 0;

  /**
   * Creates an instance.
   *
   * @param beginString BeginString(8) used when a message has none.
   * @param initialSize Initial buffer size in bytes.
   * @param options The data-field pairs whose values may contain SOH.
   */
  constructor(beginString: string, initialSize = 64 * 1024, options: EncoderOptions = {}) {
    this.#beginString = beginString;
    // The buffer is made by the first write: an idle session's encoder costs no buffer.
    this.#initialSize = Math.max(16, initialSize);
    this.#buf = NO_BYTES;
    this.#dataTags = dataTagsOf(options.dataFields ?? DEFAULT_DATA_FIELDS);
  }

  /** Bytes written since the last `reset`/`take`. */
  get length(): number {
    return this.#len;
  }

  /**
   * A view of encoded bytes, valid until the next `append`, `reset` or `take` (after `lend`,
   * until the bytes are recycled).
   *
   * @param start First byte.
   * @param end End (exclusive).
   * @returns The view.
   */
  view(start: number, end: number): Uint8Array {
    return this.#buf.subarray(start, end);
  }

  /** Forgets everything written; the buffer is reused. */
  reset(): void {
    this.#len = 0;
  }

  /**
   * Returns a copy of everything written and resets.
   *
   * @returns The bytes.
   */
  take(): Uint8Array {
    const out = this.#buf.slice(0, this.#len);
    this.#len = 0;
    return out;
  }

  /**
   * Hands over everything written without a copy, and resets: the encoder goes on in another
   * buffer (one given back by {@linkcode FixEncoder.recycle}, else a new one at the next
   * write). A buffer grown past the initial size, with none given back, is kept and a copy
   * handed over instead. A session hands each batch to the socket this way and gives the
   * buffer back once it is written: no new buffer per batch (a new `ArrayBuffer` per message
   * lengthens every young-generation GC pause).
   *
   * @returns The bytes, in a buffer the encoder no longer writes to until it is recycled.
   * @example
   * ```ts
   * import { FixEncoder, FixMessage } from "@fixwire/engine";
   * const enc = new FixEncoder("FIX.4.4");
   * enc.append(new FixMessage("0").set(34, 1).set(52, "20261124-10:00:00.000"));
   * const bytes = enc.lend();
   * // ... once written:
   * enc.recycle(bytes);
   * ```
   */
  lend(): Uint8Array {
    // A grown buffer with none given back to go on in (a peer that does not read): a copy, as
    // `take`, rather than growing a new one from the initial size batch after batch.
    if (this.#spare === undefined && this.#buf.length > this.#initialSize) return this.take();
    const out = this.#buf.subarray(0, this.#len);
    this.#len = 0;
    if (this.#lent === undefined && this.#buf !== NO_BYTES) this.#lent = this.#buf;
    const spare = this.#spare;
    this.#buf = spare ?? NO_BYTES;
    this.#spare = undefined;
    return out;
  }

  /**
   * Gives back bytes {@linkcode FixEncoder.lend} handed over, once nothing reads them any
   * more: their buffer becomes the encoder's spare. One is kept, the largest given back up to
   * 1 MiB (a busy session's batches outgrow the initial size: it does not grow a buffer anew
   * for each); the others are left to the GC.
   *
   * @param bytes Bytes from `lend`.
   */
  recycle(bytes: Uint8Array): void {
    const b = bytes.buffer;
    const size = b.byteLength;
    if (size < this.#initialSize || size > SPARE_MAX_BYTES || b === this.#buf.buffer) return;
    const spare = this.#spare;
    if (spare !== undefined && (spare.buffer === b || spare.length >= size)) return;
    const lent = this.#lent;
    if (lent !== undefined && lent.buffer === b) {
      // The view made for it before: no new object.
      this.#spare = lent;
      this.#lent = undefined;
    } else {
      this.#spare = new Uint8Array(b as ArrayBuffer);
    }
  }

  /**
   * Appends bytes encoded already (whole messages, from another encoder), unchanged.
   *
   * @param bytes The bytes.
   * @returns The offset where they start; they end at `length`.
   * @example
   * ```ts
   * import { FixEncoder, FixMessage } from "@fixwire/engine";
   * const held = new FixEncoder("FIX.4.4");
   * held.append(new FixMessage("0").set(34, 2).set(52, "20261124-10:00:00.000"));
   * const out = new FixEncoder("FIX.4.4");
   * out.appendBytes(held.view(0, held.length));
   * ```
   */
  appendBytes(bytes: Uint8Array): number {
    this.#ensure(bytes.length);
    const start = this.#len;
    this.#buf.set(bytes, start);
    this.#len += bytes.length;
    return start;
  }

  #ensure(extra: number): void {
    const need = this.#len + extra;
    if (need <= this.#buf.length) return;
    const spare = this.#spare;
    if (this.#len === 0 && spare !== undefined && need <= spare.length) {
      // Lent and given back: written again instead of a new buffer.
      this.#buf = spare;
      this.#spare = undefined;
      return;
    }
    let size = Math.max(this.#initialSize, this.#buf.length * 2);
    while (size < need) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /**
   * Writes a value's characters after `ensure`d room and adds them to `#sum`; UTF-8 from the
   * first non-ASCII one.
   */
  #writeValue(tag: number, s: string): void {
    const n = s.length;
    const buf = this.#buf;
    let p = this.#len, sum = 0;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      // One test passes the usual characters (2-127); SOH, NUL and non-ASCII look further.
      if (((c - 2) >>> 0) > 125) {
        if (c >= 128) {
          this.#len = p;
          this.#sum += sum;
          this.#writeUtf8(tag, s.slice(i));
          return;
        }
        if (c === SOH && !this.#dataTags.has(tag)) throw sohError(tag);
      }
      buf[p++] = c;
      sum += c;
    }
    this.#len = p;
    this.#sum += sum;
  }

  /** Writes text as UTF-8 with room of its own, adding its bytes to `#sum`. */
  #writeUtf8(tag: number, s: string): void {
    this.#ensure(s.length * 3 + 1);
    const buf = this.#buf, from = this.#len;
    const end = from + TEXT.encodeInto(s, buf.subarray(from)).written;
    let sum = 0;
    for (let k = from; k < end; k++) {
      const b = buf[k];
      if (b === SOH && !this.#dataTags.has(tag)) throw sohError(tag);
      sum += b;
    }
    this.#len = end;
    this.#sum += sum;
  }

  #writeField(map: FieldMap, i: number): void {
    const tag = map.ownTagAt(i);
    const prefix = tagPrefix(tag);
    const raw = map.valueBytesAt(i, SPAN);
    const value = raw === undefined ? map.ownValueAt(i) : "";
    const vs = SPAN[0], ve = SPAN[1];
    // Room for the prefix, the value as ASCII and the SOH (UTF-8 makes room for itself and the
    // SOH).
    this.#ensure(prefix.length + (raw === undefined ? value.length : ve - vs) + 1);
    const buf = this.#buf;
    let p = this.#len, sum = SOH;
    for (let k = 0; k < prefix.length; k++) {
      const b = prefix[k];
      buf[p++] = b;
      sum += b;
    }
    if (raw !== undefined) {
      for (let k = vs; k < ve; k++) {
        const b = raw[k];
        buf[p++] = b;
        sum += b;
      }
      this.#len = p;
    } else {
      this.#len = p;
      this.#writeValue(tag, value);
    }
    this.#sum += sum;
    this.#buf[this.#len++] = SOH;
    const entries = map.ownGroupAt(i);
    if (entries) {
      for (const e of entries) {
        for (let k = 0; k < e.size; k++) this.#writeField(e, k);
      }
    }
  }

  /**
   * Encodes one message at the end of the buffer: 8, 9, 35, the other header fields, the body,
   * the trailer and CheckSum(10). Fields 9 and 10 of the message are ignored and recomputed.
   *
   * @param msg The message; it must have MsgType(35).
   * @param beginString BeginString(8) when the message has none; defaults to the encoder's.
   * @returns The offset where the message starts; it ends at `length`.
   * @throws {TypeError} When MsgType is missing or a non-data value contains SOH.
   */
  append(msg: FixMessage, beginString?: string): number {
    const msgType = msg.get(35);
    if (msgType === undefined || msgType.length === 0) {
      throw new TypeError("Cannot encode message: MsgType(35) is missing");
    }
    const begin = msg.get(8) ?? beginString ?? this.#beginString;
    const start = this.#len;
    // Room for "8=<begin>|9=ddd|": a three-digit BodyLength, the usual one, needs no move. Then
    // "35=<type>|" (a non-ASCII type makes room for itself).
    const reserve = begin.length + 9;
    this.#ensure(reserve + 4 + msgType.length);
    this.#len += reserve;
    const bodyStart = this.#len;
    const buf0 = this.#buf;
    buf0[this.#len++] = 51; // 3
    buf0[this.#len++] = 53; // 5
    buf0[this.#len++] = 61; // =
    // CheckSum(10)'s sum, added to as the bytes are written (no second pass over them).
    this.#sum = 51 + 53 + 61 + SOH;
    this.#writeValue(35, msgType);
    this.#buf[this.#len++] = SOH;
    // The header's fields as they come, the body's after them in their order (noted in the same
    // pass), then the trailer's (rare: a signature).
    const n = msg.size;
    if (later.length < n) later = new Int32Array(Math.max(n, later.length * 2));
    const body = later;
    let nBody = 0, nTrailer = 0;
    for (let i = 0; i < n; i++) {
      const kind = kindOf(msg.ownTagAt(i));
      if (kind === 1) this.#writeField(msg, i);
      else if (kind === 0) body[nBody++] = i;
      else if (kind === 2) nTrailer++;
    }
    for (let j = 0; j < nBody; j++) this.#writeField(msg, body[j]);
    if (nTrailer > 0) {
      for (let i = 0; i < n; i++) if (kindOf(msg.ownTagAt(i)) === 2) this.#writeField(msg, i);
    }
    const bodyLength = this.#len - bodyStart;
    const digits = bodyLength < 10
      ? 1
      : bodyLength < 100
      ? 2
      : bodyLength < 1000
      ? 3
      : bodyLength < 10000
      ? 4
      : String(bodyLength).length;
    const headLength = begin.length + 6 + digits;
    if (headLength > reserve) {
      // A longer BodyLength: move the body right to make room.
      const extra = headLength - reserve;
      this.#ensure(extra);
      this.#buf.copyWithin(bodyStart + extra, bodyStart, this.#len);
      this.#len += extra;
    }
    const headStart = bodyStart + Math.max(0, headLength - reserve) - headLength;
    const buf = this.#buf;
    let h = headStart;
    let sum = this.#sum + 56 + 61 + SOH + 57 + 61 + SOH;
    buf[h++] = 56; // 8
    buf[h++] = 61; // =
    for (let i = 0; i < begin.length; i++) {
      const c = begin.charCodeAt(i);
      buf[h++] = c;
      sum += c;
    }
    buf[h++] = SOH;
    buf[h++] = 57; // 9
    buf[h++] = 61; // =
    for (let d = digits - 1, v = bodyLength; d >= 0; d--, v = Math.floor(v / 10)) {
      const c = 48 + v % 10;
      buf[h + d] = c;
      sum += c;
    }
    h += digits;
    buf[h] = SOH;
    if (headStart !== start) {
      buf.copyWithin(start, headStart, this.#len);
      this.#len -= headStart - start;
    }
    const end = this.#len;
    sum &= 255;
    this.#ensure(7);
    const b = this.#buf;
    b[end] = 49; // 1
    b[end + 1] = 48; // 0
    b[end + 2] = 61; // =
    b[end + 3] = 48 + Math.floor(sum / 100);
    b[end + 4] = 48 + Math.floor(sum / 10) % 10;
    b[end + 5] = 48 + sum % 10;
    b[end + 6] = SOH;
    this.#len = end + 7;
    return start;
  }
}

const SHARED = new FixEncoder("FIX.4.4", 4096);

/**
 * Encodes one message into a fresh byte array.
 *
 * @param msg The message.
 * @param beginString BeginString(8) when the message has none (default `FIX.4.4`).
 * @param options The data-field pairs whose values may contain SOH.
 * @returns The encoded bytes.
 * @throws {TypeError} When MsgType is missing or a non-data value contains SOH.
 * @example
 * ```ts
 * import { encodeMessage, FixMessage } from "@fixwire/engine";
 * const bytes = encodeMessage(new FixMessage("0").set(49, "A").set(56, "B"), "FIX.4.2");
 * ```
 */
export function encodeMessage(
  msg: FixMessage,
  beginString = "FIX.4.4",
  options: EncoderOptions = {},
): Uint8Array {
  const enc = options.dataFields === undefined || options.dataFields === DEFAULT_DATA_FIELDS
    ? SHARED
    : new FixEncoder(beginString, 4096, options);
  enc.reset();
  enc.append(msg, beginString);
  return enc.take();
}
