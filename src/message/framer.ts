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
/** The largest block a busy framer takes (see `FixFramer.push`). */
const BUSY_BLOCK = 64 * 1024;
/** A block filled within this many milliseconds makes the next one twice as big. */
const BUSY_FILL_MS = 100;
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
   * LENGTH tag to DATA tag pairs, what `nextMessage` decodes with unless told otherwise (default:
   * every pair of every FIX version). Framing needs none: the framer trusts BodyLength(9), as
   * QuickFIX does, and never looks inside values, so a data value holding `10=000<SOH>8=FIX` is
   * never mistaken for a message boundary.
   */
  dataFields?: ReadonlyMap<number, number>;
}

/**
 * Splits a byte stream into whole FIX messages. Feed TCP chunks with `push`, then call `next`
 * until it returns `undefined`. Garbled input yields one {@linkcode FixParseError} per garbled
 * run (its `reason`, `tag` and stream `offset` say what and where) and the framer resynchronises
 * on the next `8=FIX`, keeping the messages that follow. A run lasts until the framer delimits a
 * frame again (a message, or one whose BodyLength or CheckSum is wrong): a `8=FIX` inside it
 * that makes no frame (its first two fields are wrong, or no CheckSum comes where its
 * BodyLength ends nor before the next `8=FIX`) adds no error, so garbage full of fake
 * BeginStrings is one error, not one per `8=FIX.4.`. As in QuickFIX, a message whose
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
  #dataFields: ReadonlyMap<number, number>;
  /**
   * A garbled run was reported and no frame has been delimited since: more garbage, and
   * BeginStrings that make no frame, belong to that run (no error each).
   */
  #inGarbage = false;
  #waitStart = -1; // stream offset of a message whose CheckSum is being waited for
  #waitScanned = 0; // stream offset up to which it was scanned for CheckSum and 8=FIX
  #waitHasSum = false; // that frame has a CheckSum(10) field: it waits for the field's end
  // `#checkSumEnd` waiting for a CheckSum field's end: the stream offsets of its `from`, of the
  // field (-1: none found yet), where the search for one resumes, and where the field's SOH is.
  #sumFrom = -1;
  #sumField = -1;
  #sumSearched = 0;
  #sumScanned = 0;
  /** The error `#locate` found (when it returns -2). */
  #fault: FixParseError | undefined;
  /** BeginString(8) and BodyLength(9) of the frame `#locate` found, checked and summed. */
  #head: FrameHead = { beginEnd: 0, bodyStart: 0, sum: 0 };
  /** The block, start and end of the frame `nextMessage` took last. */
  #lastBuf: Uint8Array = EMPTY_BYTES;
  #lastStart = 0;
  #lastEnd = 0;
  /** The size of the next block, and when the current one was made (see `push`). */
  #blockSize = BLOCK;
  #blockAtMs = Number.NEGATIVE_INFINITY;

  /**
   * Creates an instance.
   *
   * @param options The maximum message size, and the data fields `nextMessage` decodes with.
   */
  constructor(options: FramerOptions = {}) {
    this.#max = options.maxMessageSize ?? 1 << 20;
    this.#dataFields = options.dataFields ?? DEFAULT_DATA_FIELDS;
  }

  /** Bytes received and not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /**
   * Adds received bytes. The chunk is copied, so the caller may reuse it.
   *
   * Bytes go into blocks of 4 KiB. Given the time, a framer that fills a block within 100 ms
   * takes one twice as big next, up to 64 KiB, and one filled slower takes 4 KiB again: a busy
   * connection makes a new buffer every few hundred messages instead of every twenty (each
   * buffer lengthens the young GC after it), an idle one keeps 4 KiB. A frame is a view of its
   * block, which stays in memory as long as a message decoded from it is referenced.
   *
   * @param chunk Bytes from the connection.
   * @param nowMs The time now, in milliseconds (any clock); without it, blocks stay 4 KiB.
   */
  push(chunk: Uint8Array, nowMs?: number): void {
    const n = chunk.length;
    if (n === 0) return;
    if (this.#end + n > this.#buf.length) {
      const pending = this.#end - this.#start;
      let size = BLOCK;
      if (nowMs !== undefined) {
        // Both sizes computed, one chosen: a branch first taken after V8 optimized this method
        // (a quiet read after many busy ones, or the reverse) deoptimized it and had it
        // compiled again.
        const doubled = Math.min(this.#blockSize * 2, BUSY_BLOCK);
        size = this.#blockSize = nowMs - this.#blockAtMs <= BUSY_FILL_MS ? doubled : BLOCK;
        this.#blockAtMs = nowMs;
      }
      const next = new Uint8Array(Math.max(size, (pending + n) * 2));
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
    this.#inGarbage = false;
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
   * Skips to the next `8=FIX` after `from`; keeps a possible partial match at the end. The
   * garbage skipped belongs to the garbled run being reported (see `#inGarbage`).
   */
  #resync(from: number): void {
    const buf = this.#buf;
    const end = this.#end;
    const next = this.#findBegin(from);
    if (next >= 0) {
      this.#start = next;
      return;
    }
    // No complete "8=FIX" found: keep the last 4 bytes if they could start one.
    let keep = Math.max(from, end - 4);
    while (keep < end && buf[keep] !== 56) keep++;
    this.#start = keep;
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
    const trailer = this.#locate();
    if (trailer < 0) return trailer === -1 ? undefined : this.#takeFault();
    const buf = this.#buf;
    const start = this.#start;
    const fault = this.#checkTrailer(trailer, byteSum(buf, this.#words, start, trailer));
    if (fault !== undefined) return fault;
    // A view made directly on the buffer (`#buf` starts at its offset 0): cheaper than subarray.
    return new Uint8Array(buf.buffer, start, trailer + 7 - start);
  }

  /**
   * Returns the next whole message decoded, a parse error for garbled input, or `undefined`
   * when more bytes are needed: what `next` and {@linkcode decodeMessage} give together, with
   * the same checks and errors, in one pass over the bytes (the CheckSum is summed as the
   * fields are read, and still checked before the message is returned). A frame that fails
   * to decode gives the error `decodeMessage` would throw, its offset within the frame.
   *
   * @param dataFields LENGTH tag to DATA tag pairs (default: the framer's `dataFields` option).
   * @returns The message, an error, or `undefined`. The frame's bytes are
   * {@linkcode FixFramer.lastFrame}.
   * @example
   * ```ts
   * import { encodeMessage, FixFramer, FixMessage } from "@fixwire/engine";
   * const framer = new FixFramer();
   * framer.push(encodeMessage(new FixMessage("0").set(49, "A").set(56, "B")));
   * const m = framer.nextMessage(); // a FixMessage
   * ```
   */
  nextMessage(
    dataFields: ReadonlyMap<number, number> = this.#dataFields,
  ): FixMessage | FixParseError | undefined {
    const trailer = this.#locate();
    if (trailer < 0) return trailer === -1 ? undefined : this.#takeFault();
    const buf = this.#buf;
    const start = this.#start;
    const end = trailer + 7;
    this.#lastBuf = buf;
    this.#lastStart = start;
    this.#lastEnd = end;
    // The message reads its values in the framer's block (never overwritten): no view per frame.
    const decoded = decodeRange(buf, start, end, dataFields, this.#head);
    // The decoder summed every byte it read, the CheckSum field's too: without them, the sum
    // CheckSum(10) covers. A frame it could not decode is summed on its own.
    const sum = scanSum >= 0
      ? scanSum - (49 + 48 + 61 + SOH) - buf[trailer + 3] - buf[trailer + 4] - buf[trailer + 5]
      : byteSum(buf, this.#words, start, trailer);
    return this.#checkTrailer(trailer, sum) ?? decoded;
  }

  /**
   * The bytes of the frame {@linkcode FixFramer.nextMessage} took last (its message, or its
   * decoding or CheckSum error), from `8=` to the SOH after the checksum: a new view on the
   * framer's block at each call, valid for good.
   *
   * @example
   * ```ts
   * import { encodeMessage, FixFramer, FixMessage } from "@fixwire/engine";
   * const framer = new FixFramer();
   * framer.push(encodeMessage(new FixMessage("0")));
   * framer.nextMessage();
   * framer.lastFrame.length; // framer.lastFrameLength
   * ```
   */
  get lastFrame(): Uint8Array {
    const buf = this.#lastBuf;
    return new Uint8Array(buf.buffer, this.#lastStart, this.#lastEnd - this.#lastStart);
  }

  /** The length of {@linkcode FixFramer.lastFrame}, without making a view. */
  get lastFrameLength(): number {
    return this.#lastEnd - this.#lastStart;
  }

  #takeFault(): FixParseError {
    const fault = this.#fault!;
    this.#fault = undefined;
    return fault;
  }

  /**
   * After `#locate`: takes the frame ending at `trailer + 7` and checks its CheckSum against
   * `sum` (the byte sum of the frame up to the CheckSum field) and its MsgType position.
   */
  #checkTrailer(trailer: number, sum: number): FixParseError | undefined {
    const buf = this.#buf;
    const bodyStart = this.#head.bodyStart;
    const d1 = buf[trailer + 3] - 48, d2 = buf[trailer + 4] - 48, d3 = buf[trailer + 5] - 48;
    this.#start = trailer + 7;
    if (
      d1 < 0 || d1 > 9 || d2 < 0 || d2 > 9 || d3 < 0 || d3 > 9 ||
      d1 * 100 + d2 * 10 + d3 !== (sum & 255)
    ) {
      return this.#error("CheckSum(10) does not match", trailer, 10);
    }
    if (buf[bodyStart] !== 51 || buf[bodyStart + 1] !== 53 || buf[bodyStart + 2] !== 61) {
      // BeginString, BodyLength and MsgType must be the first three fields: garbled.
      return this.#error("MsgType(35) is not the third field", bodyStart, 35);
    }
    return undefined;
  }

  /**
   * Finds the next frame whose BodyLength(9) lands on a CheckSum(10) field: the index of that
   * field (the frame starts at `#start`; `#head` says where its first two fields end, and
   * their byte sum), -1 when more bytes are needed, or -2 with the error in `#fault`.
   */
  #locate(): number {
    const buf = this.#buf;
    const end = this.#end;
    // A fake BeginString inside a reported garbled run is skipped without an error: on to the
    // next `8=FIX` (a loop, not a recursion: megabytes of `8=FIX.4.` are thousands of them).
    for (;;) {
      const start = this.#start;
      if (start === end) return -1;
      // "8=FIX"
      if (
        end - start < 5 || buf[start] !== 56 || buf[start + 1] !== 61 ||
        buf[start + 2] !== 70 || buf[start + 3] !== 73 || buf[start + 4] !== 88
      ) {
        const prefixAvail = Math.min(5, end - start);
        let i = 0;
        while (i < prefixAvail && buf[start + i] === BEGIN[i]) i++;
        // A partial "8=FIX" at the end: more bytes are needed.
        if (i === prefixAvail) return -1;
        this.#resync(start + 1);
        if (this.#inGarbage) continue;
        return this.#startGarbage("message does not start with 8=FIX", start, 8);
      }
      let p = start + 5;
      // The byte sum of "8=FIX..." and "9=...", both with their SOH: the decoder takes them as
      // read.
      let sum = 56 + 61 + 70 + 73 + 88 + SOH + 57 + 61 + SOH;
      while (p < end && buf[p] !== SOH) {
        if (p - start > MAX_BEGIN_STRING) break;
        sum += buf[p];
        p++;
      }
      if (p < end && buf[p] !== SOH) {
        this.#resync(start + 1);
        if (this.#inGarbage) continue;
        return this.#startGarbage("BeginString is too long", start, 8);
      }
      if (p >= end) return -1;
      // "9=<digits>|"
      if (p + 3 > end) return -1;
      if (buf[p + 1] !== 57 || buf[p + 2] !== 61) {
        this.#resync(start + 1);
        if (this.#inGarbage) continue;
        return this.#startGarbage("BodyLength(9) is not the second field", p + 1, 9);
      }
      let q = p + 3;
      let bodyLength = 0;
      let badDigit = -1;
      while (q < end && buf[q] !== SOH) {
        const d = buf[q] - 48;
        if (d < 0 || d > 9 || q - p > 12) {
          badDigit = q;
          break;
        }
        bodyLength = bodyLength * 10 + d;
        sum += d + 48;
        q++;
      }
      if (badDigit >= 0) {
        this.#resync(start + 1);
        if (this.#inGarbage) continue;
        return this.#startGarbage("BodyLength(9) is not a number", badDigit, 9);
      }
      if (q >= end) return -1;
      if (q === p + 3) {
        this.#resync(start + 1);
        if (this.#inGarbage) continue;
        return this.#startGarbage("BodyLength(9) is empty", q, 9);
      }
      const bodyStart = q + 1;
      const total = bodyStart - start + bodyLength + 7;
      if (total > this.#max) {
        this.#resync(start + 1);
        if (this.#inGarbage) continue;
        return this.#startGarbage(
          `message exceeds the maximum size of ${this.#max} bytes`,
          start,
          9,
        );
      }
      const trailer = bodyStart + bodyLength;
      // BodyLength(9) is trusted, as QuickFIX trusts it: the CheckSum is looked for only once
      // the declared length has arrived.
      if (end < trailer + 7) return -1;
      if (
        buf[trailer - 1] !== SOH || buf[trailer] !== 49 || buf[trailer + 1] !== 48 ||
        buf[trailer + 2] !== 61 || buf[trailer + 6] !== SOH
      ) {
        // No CheckSum(10) anywhere in the frame: it is missing. Until the next message begins,
        // a CheckSum may still arrive, which makes it a BodyLength(9) problem instead.
        // While waiting, each call scans only what arrived since the last one (linear time
        // however the bytes are chunked); the patterns looked for are at most 8 bytes long.
        // A frame is at most #max bytes long: a CheckSum(10) that would end it further on is not
        // this message's. Looking no further than that keeps the outcome the same however the
        // bytes were chunked (a framer holding more than #max bytes of the run gives up on it).
        const at = this.#base + start;
        const limit = start + this.#max;
        const waiting = this.#waitStart === at;
        const resume = waiting ? this.#waitScanned - this.#base - 8 : 0;
        const next = this.#findBegin(Math.max(start + 1, resume));
        const to = Math.min(next < 0 ? end : next, limit);
        if (
          !(waiting && this.#waitHasSum) &&
          !this.#hasCheckSum(Math.max(bodyStart - 1, resume), to)
        ) {
          if (next < 0 && end - start <= this.#max) return this.#wait(at, false);
          this.#resync(start + 1);
          if (this.#inGarbage) continue;
          return this.#startGarbage("CheckSum(10) is missing", trailer, 10);
        }
        // BodyLength(9) is wrong. As in QuickFIX, the message runs to the first CheckSum(10)
        // field at or after its declared end: with a BodyLength too long that is the next
        // message's, and both go as one garbled run (the peer resends the second on request).
        const stop = this.#checkSumEnd(Math.max(trailer - 1, bodyStart - 1));
        if (stop < 0 || stop > limit) {
          // Waiting for the CheckSum field's end.
          if (stop < 0 && end - start <= this.#max) return this.#wait(at, true);
          this.#resync(start + 1);
          if (this.#inGarbage) continue;
          this.#inGarbage = true;
        } else {
          // A frame delimited, garbled as it is: the run ends with it.
          this.#start = stop;
          this.#inGarbage = false;
        }
        return this.#fail("BodyLength(9) does not match the message", p + 1, 9);
      }
      // A frame delimited (its CheckSum and MsgType are checked next): any garbled run ends.
      this.#inGarbage = false;
      const head = this.#head;
      head.beginEnd = p;
      head.bodyStart = bodyStart;
      head.sum = sum;
      return trailer;
    }
  }

  /**
   * `#locate`'s answer while the frame at stream offset `at` waits for its CheckSum (-1): the
   * next call scans only what arrives. `hasSum`: a CheckSum field was found, not its end.
   */
  #wait(at: number, hasSum: boolean): number {
    this.#waitStart = at;
    this.#waitScanned = this.#base + this.#end;
    this.#waitHasSum = hasSum;
    return -1;
  }

  /** `#locate`'s answer for an error: -2, with the error in `#fault`. */
  #fail(reason: string, at: number, tag?: number): number {
    this.#fault = this.#error(reason, at, tag);
    return -2;
  }

  /** Bytes that make no frame, outside a garbled run: the error that starts one. */
  #startGarbage(reason: string, at: number, tag?: number): number {
    this.#inGarbage = true;
    return this.#fail(reason, at, tag);
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
   * when none has arrived whole. While -1, where the search got to is kept (stream offsets):
   * the next call for the same `from` goes on from there, so bytes dripped in are each scanned
   * once. Rescanning from `from` made a megabyte in 512-byte chunks cost about a second.
   */
  #checkSumEnd(from: number): number {
    const buf = this.#buf;
    const end = this.#end;
    const base = this.#base;
    const same = this.#sumFrom === base + from;
    let field = same ? this.#sumField : -1;
    let i = same ? this.#sumSearched - base : from;
    if (field < 0) {
      for (; i + 3 < end; i++) {
        if (buf[i] === SOH && buf[i + 1] === 49 && buf[i + 2] === 48 && buf[i + 3] === 61) {
          field = base + i;
          break;
        }
      }
    }
    if (field >= 0) {
      let j = field - base + 4;
      if (same && this.#sumField === field) j = Math.max(j, this.#sumScanned - base);
      for (; j < end; j++) {
        if (buf[j] === SOH) {
          this.#sumFrom = -1;
          return j + 1;
        }
      }
    }
    this.#sumFrom = base + from;
    this.#sumField = field;
    this.#sumSearched = base + i;
    this.#sumScanned = base + end;
    return -1;
  }
}

/**
 * Int32 entries of an index slab: 48 KiB, the indexes of about 230 messages of 18 fields. The
 * decoder writes each message's tag, value start and value end per field straight into the
 * current slab, and the message keeps the slab and where its entries start: no array per
 * message. A slab is off the JavaScript heap (a young GC neither copies nor sweeps it) and is
 * released once no message indexed in it is referenced (as the framer's blocks are).
 */
const INDEX_SLAB = 12 * 1024;
/** The slab the next message's index goes into, and where its free part starts. */
let indexSlab = new Int32Array(INDEX_SLAB);
let indexSlabAt = 0;

/**
 * A message's entries `[from, to)` no longer fit the current slab: a new one, with them copied
 * to its start (at least twice their size, so that a huge message is not moved often).
 */
function nextSlab(from: number, to: number): Int32Array {
  const next = new Int32Array(Math.max(INDEX_SLAB, 2 * (to - from) + 96));
  next.set(indexSlab.subarray(from, to));
  indexSlab = next;
  indexSlabAt = 0;
  return next;
}
/**
 * Per data-field map: a byte per tag below 65536, 1 where the tag is a LENGTH field, and the
 * smallest LENGTH tag (a tag below it needs no look-up).
 */
const LENGTH_TAGS = new WeakMap<ReadonlyMap<number, number>, [Uint8Array, number]>();

let lastFields: ReadonlyMap<number, number> | undefined;
let lastBits: Uint8Array = new Uint8Array(0);
/** The smallest LENGTH tag of `lastFields`. */
let lastMinLength = 0;

function lengthTagsOf(dataFields: ReadonlyMap<number, number>): Uint8Array {
  if (dataFields === lastFields) return lastBits;
  let known = LENGTH_TAGS.get(dataFields);
  if (known === undefined) {
    const bits = new Uint8Array(65536);
    let min = Infinity;
    for (const tag of dataFields.keys()) {
      if (tag < 65536) bits[tag] = 1;
      if (tag < min) min = tag;
    }
    known = [bits, min];
    LENGTH_TAGS.set(dataFields, known);
  }
  lastFields = dataFields;
  lastBits = known[0];
  lastMinLength = known[1];
  return lastBits;
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
  const decoded = decodeRange(frame, 0, frame.length, dataFields);
  if (decoded instanceof FixParseError) throw decoded;
  return decoded;
}

/** Where a frame's first two fields end, as the framer found them, and their byte sum. */
interface FrameHead {
  /** The SOH after BeginString(8)'s value. */
  beginEnd: number;
  /** Where the third field starts, after BodyLength(9)'s SOH. */
  bodyStart: number;
  /** The byte sum of the two fields, SOH included. */
  sum: number;
}

/**
 * The byte sum of the frame the last {@linkcode decodeRange} decoded, its CheckSum field
 * included, or -1 when it was not summed (a frame it could not decode).
 */
let scanSum = 0;

/**
 * Decodes the frame `buf[from, to)` into a message over `buf`: its value offsets are offsets
 * in `buf`, an error's offset is relative to `from`. Every byte read is added to
 * {@linkcode scanSum}, so that the framer checks the CheckSum without a pass of its own.
 */
function decodeRange(
  buf: Uint8Array,
  from: number,
  to: number,
  dataFields: ReadonlyMap<number, number>,
  head?: FrameHead,
): FixMessage | FixParseError {
  const lengthTags = lengthTagsOf(dataFields);
  const minLengthTag = lastMinLength;
  scanSum = -1;
  // Tag, value start and value end per field, from `base` in the index slab (see nextSlab).
  let index: Int32Array = indexSlab;
  let base = indexSlabAt;
  let k = base;
  // A field starting at or before the last SOH ends at an SOH: up to there the scans need no
  // end check (a frame from the framer ends with SOH). What follows it is reported as it is.
  let last = to - 1;
  while (last >= from && buf[last] !== SOH) last--;
  let p = from;
  let sum = 0;
  if (head !== undefined && lengthTags[8] === 0 && lengthTags[9] === 0) {
    // The framer checked "8=FIX...<SOH>9=<digits><SOH>" and summed it: the fields the loop
    // would make of it, without reading it again (neither is a LENGTH field: no data follows).
    if (k + 6 > index.length) {
      index = nextSlab(base, k);
      k -= base;
      base = 0;
    }
    index[k] = 8;
    index[k + 1] = from + 2;
    index[k + 2] = head.beginEnd;
    index[k + 3] = 9;
    index[k + 4] = head.beginEnd + 3;
    index[k + 5] = head.bodyStart - 1;
    k += 6;
    p = head.bodyStart;
    sum = head.sum;
  }
  let dataTag = -1;
  let dataLen = 0;
  // The first invalid tag number: the rest is decoded, then reported with the message.
  let badAt = -1;
  let badTag: number | undefined;
  while (p <= last) {
    const tagStart = p;
    const c0 = buf[p], c1 = buf[p + 1];
    let tag = c0 - 48;
    const d1 = c1 - 48;
    // Most tags have two digits: "NN=" is read at once (p + 2 <= last, as p + 1 is not the
    // last SOH when it is a digit). Anything else takes the loop.
    if ((tag - 1) >>> 0 < 9 && d1 >>> 0 < 10 && buf[p + 2] === 61) {
      tag = tag * 10 + d1;
      sum += c0 + c1 + 61;
      p += 2;
    } else {
      tag = 0;
      let c = c0;
      let nonDigit = -1;
      while (c !== 61) {
        const d = c - 48;
        if (d < 0 || d > 9) {
          if (nonDigit < 0) nonDigit = p;
          if (c === SOH) return noEquals(nonDigit - from, p - from, p - from);
        } else tag = tag * 10 + d;
        sum += c;
        c = buf[++p];
      }
      // More than 9 digits is no tag either (and would lose precision as a number).
      if (nonDigit >= 0 || p === tagStart || tag === 0 || p - tagStart > 9) {
        // Not a tag number: the field is skipped and the message reported once decoded.
        if (badAt < 0) {
          badAt = nonDigit >= 0 ? nonDigit - from : tagStart - from;
          badTag = nonDigit < 0 && p > tagStart && tag === 0 ? 0 : undefined;
        }
        while ((c = buf[p]) !== SOH) {
          sum += c;
          p++;
        }
        sum += SOH;
        p++;
        continue;
      }
      sum += 61;
    }
    p++;
    const vStart = p;
    if (tag === dataTag) {
      p += dataLen;
      if (p >= to || buf[p] !== SOH) {
        return new FixParseError("data field length does not match", {
          offset: vStart - from,
          tag,
        });
      }
      for (let i = vStart; i < p; i++) sum += buf[i];
      dataTag = -1;
    } else {
      // Two bytes a step (a byte that is not SOH is not the last SOH: the next one is there).
      for (;;) {
        const a = buf[p];
        if (a === SOH) break;
        const b = buf[p + 1];
        if (b === SOH) {
          sum += a;
          p++;
          break;
        }
        sum += a + b;
        p += 2;
      }
    }
    sum += SOH;
    if (k + 3 > index.length) {
      index = nextSlab(base, k);
      k -= base;
      base = 0;
    }
    index[k] = tag;
    index[k + 1] = vStart;
    index[k + 2] = p;
    k += 3;
    const linked = tag < minLengthTag || (tag < 65536 && lengthTags[tag] === 0)
      ? undefined
      : dataFields.get(tag);
    if (linked !== undefined) {
      let len = 0;
      let ok = p > vStart && p - vStart < 10;
      for (let i = vStart; i < p && ok; i++) {
        const d = buf[i] - 48;
        if (d < 0 || d > 9) ok = false;
        else len = len * 10 + d;
      }
      if (!ok) {
        return new FixParseError("length field is not a number", { offset: vStart - from, tag });
      }
      dataTag = linked;
      dataLen = len;
    }
    p++;
  }
  if (p < to) return unterminated(buf, from, to, p, dataTag);
  scanSum = sum;
  // The entries are the message's now: the next one goes after them.
  indexSlabAt = k;
  const message = FixMessage.fromFieldIndex(buf, index, base, (k - base) / 3);
  if (badAt >= 0) {
    return new FixParseError(badTag === 0 ? "tag number 0 is invalid" : "tag is not a number", {
      offset: badAt,
      tag: badTag,
      decoded: message,
    });
  }
  return message;
}

/**
 * The error of a field at `p` with no SOH after it: no `=`, or a value (a data value too) that
 * runs to the end of the frame `buf[from, to)` (offsets relative to `from`).
 */
function unterminated(
  buf: Uint8Array,
  from: number,
  to: number,
  p: number,
  dataTag: number,
): FixParseError {
  const tagStart = p;
  let tag = 0;
  let nonDigit = -1;
  for (; p < to && buf[p] !== 61; p++) {
    const d = buf[p] - 48;
    if (d < 0 || d > 9) {
      if (nonDigit < 0) nonDigit = p;
    } else tag = tag * 10 + d;
  }
  if (p >= to) return noEquals(nonDigit - from, to - from, tagStart - from);
  if (nonDigit >= 0 || p === tagStart || tag === 0 || p - tagStart > 9) {
    return new FixParseError("field is not terminated by SOH", { offset: tagStart - from });
  }
  if (tag === dataTag) {
    return new FixParseError("data field length does not match", { offset: p + 1 - from, tag });
  }
  return new FixParseError("field is not terminated by SOH", { offset: p + 1 - from, tag });
}

/** A field without `=` before `end`: a non-digit (`nonDigit >= 0`) before it is reported first. */
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
