/**
 * The streaming FIX framer: a pure push parser shared by every transport, and the decoder that
 * turns one frame into a {@linkcode FixMessage} in a single pass over its bytes.
 *
 * @module
 */

import { byteSum } from "./checksum.ts";
import { DEFAULT_DATA_FIELDS } from "./data_fields.ts";
import { FixParseError } from "./errors.ts";
import { FixMessage } from "./fix_message.ts";

const SOH = 1;
/** The smallest buffer the framer allocates (it grows with what arrives). */
const BLOCK = 4 * 1024;
const MAX_BEGIN_STRING = 16;
const BEGIN = [56, 61, 70, 73, 88]; // "8=FIX"
/** What an empty framer holds: shared (nothing is ever written to a zero-length array). */
const EMPTY_BYTES = new Uint8Array(0);
const EMPTY_WORDS = new Uint32Array(0);

/**
 * Options of {@linkcode FixFramer}.
 *
 * @example
 * ```ts
 * import { FixFramer, loadDictionary } from "@fixwire/engine";
 * const dict = await loadDictionary("FIX.4.4");
 * const framer = new FixFramer({ maxMessageSize: 64 * 1024, dataFields: dict.dataFields() });
 * ```
 */
export interface FramerOptions {
  /** Largest accepted message in bytes (default 1 MiB). */
  maxMessageSize?: number;
  /**
   * LENGTH tag to DATA tag pairs. Accepted for compatibility and not needed: the framer trusts
   * BodyLength(9), as QuickFIX does, and never looks inside values, so a data value holding
   * `10=000<SOH>8=FIX` is never mistaken for a message boundary.
   */
  dataFields?: ReadonlyMap<number, number>;
}

/**
 * Splits a byte stream into whole FIX messages. Feed TCP chunks with `push`, then call `next`
 * until it returns `undefined`. Garbled input yields one {@linkcode FixParseError} per garbled
 * run (its `reason`, `tag` and stream `offset` say what and where) and the framer resynchronises
 * on the next `8=FIX`, keeping the messages that follow. As in QuickFIX, a message whose
 * BodyLength(9) is too long runs to the first CheckSum(10) after its declared end: the message
 * that follows goes with it (the session recovers it with a ResendRequest). A message whose
 * third field is not MsgType(35) is garbled too.
 *
 * Frames are views into the framer's internal blocks, which are never overwritten: a frame stays
 * valid as long as it is referenced, with no copy per message.
 *
 * @example
 * ```ts
 * import { encodeMessage, FixFramer, FixMessage } from "@fixwire/engine";
 * const framer = new FixFramer();
 * framer.push(encodeMessage(new FixMessage("0").set(49, "A").set(56, "B")));
 * const frame = framer.next(); // a Uint8Array holding the whole message
 * ```
 */
export class FixFramer {
  #buf: Uint8Array = EMPTY_BYTES;
  /** `#buf` seen as 32-bit words, for the checksum (same memory). */
  #words: Uint32Array = EMPTY_WORDS;
  #start = 0;
  #end = 0;
  #base = 0; // stream offset of #buf[0]
  #max: number;
  #skipping = false; // garbage was reported and no `8=FIX` has been seen since
  #waitStart = -1; // stream offset of a message whose CheckSum is being waited for
  #waitScanned = 0; // stream offset up to which it was scanned for CheckSum and 8=FIX

  /**
   * Creates an instance.
   *
   * @param options The maximum message size.
   */
  constructor(options: FramerOptions = {}) {
    this.#max = options.maxMessageSize ?? 1 << 20;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds received bytes. The chunk is copied, so the caller may reuse it.
   *
   * @param chunk Bytes from the connection.
   */
  push(chunk: Uint8Array): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.#end + n > this.#buf.length) {
      const pending = this.#end - this.#start;
      const next = new Uint8Array(Math.max(BLOCK, (pending + n) * 2));
      next.set(this.#buf.subarray(this.#start, this.#end));
      this.#base += this.#start;
      this.#buf = next;
      this.#words = new Uint32Array(next.buffer, 0, next.length >> 2);
      this.#start = 0;
      this.#end = pending;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += n;
  }

  /**
   * Takes the bytes buffered and not yet framed, leaving the framer empty (to hand a
   * connection's remaining input to another framer).
   *
   * @returns A copy of the buffered bytes.
   */
  takeBuffered(): Uint8Array {
    const rest = this.#buf.slice(this.#start, this.#end);
    this.clear();
    return rest;
  }

  /** Discards everything buffered (after a disconnect). */
  clear(): void {
    this.#skipping = false;
    this.#base += this.#end;
    this.#buf = EMPTY_BYTES;
    this.#words = EMPTY_WORDS;
    this.#start = 0;
    this.#end = 0;
  }

  #error(reason: string, at: number, tag?: number): FixParseError {
    return new FixParseError(reason, { offset: this.#base + at, tag });
  }

  /**
   * Skips to the next `8=FIX` after `from`; keeps a possible partial match at the end. Until
   * one is found, further garbage is skipped without another error: one error per garbled run.
   */
  #resync(from: number): void {
    const buf = this.#buf;
    const end = this.#end;
    const next = this.#findBegin(from);
    if (next >= 0) {
      this.#start = next;
      this.#skipping = false;
      return;
    }
    // No complete "8=FIX" found: keep the last 4 bytes if they could start one.
    let keep = Math.max(from, end - 4);
    while (keep < end && buf[keep] !== 56) keep++;
    this.#start = keep;
    this.#skipping = true;
  }

  /** The index of the next complete `8=FIX` at or after `from`, or -1. */
  #findBegin(from: number): number {
    const buf = this.#buf;
    const end = this.#end;
    for (let i = from; i + 4 < end; i++) {
      if (
        buf[i] === 56 && buf[i + 1] === 61 && buf[i + 2] === 70 && buf[i + 3] === 73 &&
        buf[i + 4] === 88
      ) return i;
    }
    return -1;
  }

  /**
   * Returns the next whole message, a parse error for garbled input, or `undefined` when more
   * bytes are needed.
   *
   * @returns A frame (from `8=` to the SOH after the checksum), an error, or `undefined`.
   */
  next(): Uint8Array | FixParseError | undefined {
    const buf = this.#buf;
    const start = this.#start;
    const end = this.#end;
    if (start === end) return undefined;
    // "8=FIX"
    if (
      end - start < 5 || buf[start] !== 56 || buf[start + 1] !== 61 || buf[start + 2] !== 70 ||
      buf[start + 3] !== 73 || buf[start + 4] !== 88
    ) {
      const prefixAvail = Math.min(5, end - start);
      for (let i = 0; i < prefixAvail; i++) {
        if (buf[start + i] !== BEGIN[i]) {
          const reported = this.#skipping;
          this.#resync(start + 1);
          if (reported) return this.next();
          return this.#error("message does not start with 8=FIX", start, 8);
        }
      }
      return undefined;
    }
    this.#skipping = false;
    let p = start + 5;
    while (p < end && buf[p] !== SOH) {
      if (p - start > MAX_BEGIN_STRING) {
        this.#resync(start + 1);
        return this.#error("BeginString is too long", start, 8);
      }
      p++;
    }
    if (p >= end) return undefined;
    // "9=<digits>|"
    if (p + 3 > end) return undefined;
    if (buf[p + 1] !== 57 || buf[p + 2] !== 61) {
      this.#resync(start + 1);
      return this.#error("BodyLength(9) is not the second field", p + 1, 9);
    }
    let q = p + 3;
    let bodyLength = 0;
    while (q < end && buf[q] !== SOH) {
      const d = buf[q] - 48;
      if (d < 0 || d > 9 || q - p > 12) {
        this.#resync(start + 1);
        return this.#error("BodyLength(9) is not a number", q, 9);
      }
      bodyLength = bodyLength * 10 + d;
      q++;
    }
    if (q >= end) return undefined;
    if (q === p + 3) {
      this.#resync(start + 1);
      return this.#error("BodyLength(9) is empty", q, 9);
    }
    const bodyStart = q + 1;
    const total = bodyStart - start + bodyLength + 7;
    if (total > this.#max) {
      this.#resync(start + 1);
      return this.#error(`message exceeds the maximum size of ${this.#max} bytes`, start, 9);
    }
    const trailer = bodyStart + bodyLength;
    // BodyLength(9) is trusted, as QuickFIX trusts it: the CheckSum is looked for only once
    // the declared length has arrived.
    if (end < trailer + 7) return undefined;
    if (
      buf[trailer - 1] !== SOH || buf[trailer] !== 49 || buf[trailer + 1] !== 48 ||
      buf[trailer + 2] !== 61 || buf[trailer + 6] !== SOH
    ) {
      // No CheckSum(10) anywhere in the frame: it is missing. Until the next message begins,
      // a CheckSum may still arrive, which makes it a BodyLength(9) problem instead.
      // While waiting, each call scans only what arrived since the last one (linear time
      // however the bytes are chunked); the patterns looked for are at most 8 bytes long.
      const at = this.#base + start;
      const resume = this.#waitStart === at ? this.#waitScanned - this.#base - 8 : 0;
      const next = this.#findBegin(Math.max(start + 1, resume));
      if (!this.#hasCheckSum(Math.max(bodyStart - 1, resume), next < 0 ? end : next)) {
        if (next < 0 && end - start <= this.#max) {
          this.#waitStart = at;
          this.#waitScanned = this.#base + end;
          return undefined;
        }
        this.#resync(start + 1);
        return this.#error("CheckSum(10) is missing", trailer, 10);
      }
      // BodyLength(9) is wrong. As in QuickFIX, the message runs to the first CheckSum(10)
      // field at or after its declared end: with a BodyLength too long that is the next
      // message's, and both go as one garbled run (the peer resends the second on request).
      const stop = this.#checkSumEnd(Math.max(trailer - 1, bodyStart - 1));
      if (stop < 0) {
        if (end - start <= this.#max) return undefined;
        this.#resync(start + 1);
      } else {
        this.#start = stop;
        this.#skipping = false;
      }
      return this.#error("BodyLength(9) does not match the message", p + 1, 9);
    }
    const d1 = buf[trailer + 3] - 48, d2 = buf[trailer + 4] - 48, d3 = buf[trailer + 5] - 48;
    const sum = byteSum(buf, this.#words, start, trailer) & 255;
    this.#start = trailer + 7;
    if (
      d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9 ||
      d1 * 100 + d2 * 10 + d3 !== sum
    ) {
      return this.#error("CheckSum(10) does not match", trailer, 10);
    }
    if (buf[bodyStart] !== 51 || buf[bodyStart + 1] !== 53 || buf[bodyStart + 2] !== 61) {
      // BeginString, BodyLength and MsgType must be the first three fields: garbled.
      return this.#error("MsgType(35) is not the third field", bodyStart, 35);
    }
    // A view made directly on the buffer (`#buf` starts at its offset 0): cheaper than subarray.
    return new Uint8Array(buf.buffer, start, trailer + 7 - start);
  }

  /** True when `<SOH>10=` appears in `buf[from, to)`: the frame has a CheckSum somewhere. */
  #hasCheckSum(from: number, to: number): boolean {
    const buf = this.#buf;
    for (let i = from; i + 3 < to; i++) {
      if (buf[i] === SOH && buf[i + 1] === 49 && buf[i + 2] === 48 && buf[i + 3] === 61) {
        return true;
      }
    }
    return false;
  }

  /**
   * The end (after its SOH) of the first CheckSum(10) field starting at `from` or later, or -1
   * when none has arrived whole.
   */
  #checkSumEnd(from: number): number {
    const buf = this.#buf;
    const end = this.#end;
    for (let i = from; i + 3 < end; i++) {
      if (buf[i] === SOH && buf[i + 1] === 49 && buf[i + 2] === 48 && buf[i + 3] === 61) {
        for (let j = i + 4; j < end; j++) if (buf[j] === SOH) return j + 1;
        return -1;
      }
    }
    return -1;
  }
}

/** Entries of the largest decode whose scratch arrays are kept for the next one. */
const SCRATCH_KEPT = 3 * 1024;

/** A scratch array: filled with small integers, so it stays a packed array of them. */
function newScratch(): number[] {
  const a: number[] = [];
  for (let i = 0; i < 96; i++) a.push(0);
  return a;
}

/** Tag, value start and value end per field: copied out once, at its final size, per message. */
let fieldScratch = newScratch();
/** Per data-field map: a byte per tag below 65536, 1 where the tag is a LENGTH field. */
const LENGTH_TAGS = new WeakMap<ReadonlyMap<number, number>, Uint8Array>();

let lastFields: ReadonlyMap<number, number> | undefined;
let lastBits: Uint8Array = new Uint8Array(0);

function lengthTagsOf(dataFields: ReadonlyMap<number, number>): Uint8Array {
  if (dataFields === lastFields) return lastBits;
  let bits = LENGTH_TAGS.get(dataFields);
  if (bits === undefined) {
    bits = new Uint8Array(65536);
    for (const tag of dataFields.keys()) if (tag < 65536) bits[tag] = 1;
    LENGTH_TAGS.set(dataFields, bits);
  }
  lastFields = dataFields;
  lastBits = bits;
  return bits;
}

/**
 * Decodes one frame (as returned by {@linkcode FixFramer.next}), recording tag numbers and
 * value offsets; values become strings only when read. Length-prefixed data fields (RawData,
 * XmlData, EncodedText...) may contain SOH.
 *
 * @param frame The whole message bytes. The message keeps a reference to them.
 * @param dataFields LENGTH tag to DATA tag pairs (default: every pair of every FIX version).
 * @returns The message.
 * @throws {FixParseError} When a tag is not a number, a `=` is missing or a data field's
 * length is wrong. When the only fault is an invalid tag number (`0`, negative, not a number),
 * the error's `decoded` holds the message without that field.
 * @example
 * ```ts
 * import { decodeMessage, encodeMessage, FixMessage } from "@fixwire/engine";
 * const bytes = encodeMessage(new FixMessage("0").set(49, "A").set(56, "B"));
 * decodeMessage(bytes).get(49); // "A"
 * ```
 */
export function decodeMessage(
  frame: Uint8Array,
  dataFields: ReadonlyMap<number, number> = DEFAULT_DATA_FIELDS,
): FixMessage {
  const lengthTags = lengthTagsOf(dataFields);
  // The scratch array grown by a huge message is not kept alive for good.
  if (fieldScratch.length > SCRATCH_KEPT) fieldScratch = newScratch();
  // Tag, value start and value end per field, gathered in a buffer kept between calls and
  // copied out once at its final size: the message's one index array.
  const index = fieldScratch;
  let k = 0;
  const n = frame.length;
  // A field starting at or before the last SOH ends at an SOH: up to there the scans need no
  // end check (a frame from the framer ends with SOH). What follows it is reported as it is.
  let last = n - 1;
  while (last >= 0 && frame[last] !== SOH) last--;
  let p = 0;
  let dataTag = -1;
  let dataLen = 0;
  // The first invalid tag number: the rest is decoded, then reported with the message.
  let badAt = -1;
  let badTag: number | undefined;
  while (p < n) {
    if (p > last) throw unterminated(frame, p, dataTag);
    const tagStart = p;
    let tag = frame[p] - 48;
    const d1 = frame[p + 1] - 48;
    // Most tags have two digits: "NN=" is read at once (p + 2 <= last, as p + 1 is not the
    // last SOH when it is a digit). Anything else takes the loop.
    if (tag > 0 && tag <= 9 && d1 >= 0 && d1 <= 9 && frame[p + 2] === 61) {
      tag = tag * 10 + d1;
      p += 2;
    } else {
      tag = 0;
      let c = frame[p];
      let nonDigit = -1;
      while (c !== 61) {
        const d = c - 48;
        if (d < 0 || d > 9) {
          if (nonDigit < 0) nonDigit = p;
          if (c === SOH) throw noEquals(nonDigit, p, p);
        } else tag = tag * 10 + d;
        c = frame[++p];
      }
      // More than 9 digits is no tag either (and would lose precision as a number).
      if (nonDigit >= 0 || p === tagStart || tag === 0 || p - tagStart > 9) {
        // Not a tag number: the field is skipped and the message reported once decoded.
        if (badAt < 0) {
          badAt = nonDigit >= 0 ? nonDigit : tagStart;
          badTag = nonDigit < 0 && p > tagStart && tag === 0 ? 0 : undefined;
        }
        while (frame[p] !== SOH) p++;
        p++;
        continue;
      }
    }
    p++;
    const vStart = p;
    if (tag === dataTag) {
      p += dataLen;
      if (p >= n || frame[p] !== SOH) {
        throw new FixParseError("data field length does not match", { offset: vStart, tag });
      }
      dataTag = -1;
    } else {
      while (frame[p] !== SOH) p++;
    }
    index[k] = tag;
    index[k + 1] = vStart;
    index[k + 2] = p;
    k += 3;
    const linked = tag < 65536 && lengthTags[tag] === 0 ? undefined : dataFields.get(tag);
    if (linked !== undefined) {
      let len = 0;
      let ok = p > vStart && p - vStart < 10;
      for (let i = vStart; i < p && ok; i++) {
        const d = frame[i] - 48;
        if (d < 0 || d > 9) ok = false;
        else len = len * 10 + d;
      }
      if (!ok) {
        throw new FixParseError("length field is not a number", { offset: vStart, tag });
      }
      dataTag = linked;
      dataLen = len;
    }
    p++;
  }
  const message = FixMessage.fromFieldIndex(frame, index.slice(0, k));
  if (badAt >= 0) {
    throw new FixParseError(badTag === 0 ? "tag number 0 is invalid" : "tag is not a number", {
      offset: badAt,
      tag: badTag,
      decoded: message,
    });
  }
  return message;
}

/**
 * The error of a field at `p` with no SOH after it: no `=`, or a value (a data value too) that
 * runs to the end of the frame.
 */
function unterminated(frame: Uint8Array, p: number, dataTag: number): FixParseError {
  const n = frame.length;
  const tagStart = p;
  let tag = 0;
  let nonDigit = -1;
  for (; p < n && frame[p] !== 61; p++) {
    const d = frame[p] - 48;
    if (d < 0 || d > 9) {
      if (nonDigit < 0) nonDigit = p;
    } else tag = tag * 10 + d;
  }
  if (p >= n) return noEquals(nonDigit, n, tagStart);
  if (nonDigit >= 0 || p === tagStart || tag === 0 || p - tagStart > 9) {
    return new FixParseError("field is not terminated by SOH", { offset: tagStart });
  }
  if (tag === dataTag) {
    return new FixParseError("data field length does not match", { offset: p + 1, tag });
  }
  return new FixParseError("field is not terminated by SOH", { offset: p + 1, tag });
}

/** A field without `=` before `end`: a non-digit before it is reported first. */
function noEquals(nonDigit: number, end: number, offset: number): FixParseError {
  return nonDigit >= 0 && nonDigit < end
    ? new FixParseError("tag is not a number", { offset: nonDigit })
    : new FixParseError("field has no '='", { offset });
}

/**
 * Decodes a frame without throwing: returns the error instead.
 *
 * @param frame The message bytes.
 * @param dataFields LENGTH tag to DATA tag pairs.
 * @returns The message or the parse error.
 * @example
 * ```ts
 * import { tryDecodeMessage } from "@fixwire/engine";
 * const result = tryDecodeMessage(new TextEncoder().encode("8=FIX.4.4\x01x=1\x01"));
 * result instanceof Error; // true
 * ```
 */
export function tryDecodeMessage(
  frame: Uint8Array,
  dataFields: ReadonlyMap<number, number> = DEFAULT_DATA_FIELDS,
): FixMessage | FixParseError {
  try {
    return decodeMessage(frame, dataFields);
  } catch (e) {
    if (e instanceof FixParseError) return e;
    return new FixParseError(String(e), { offset: 0 });
  }
}
