/**
 * The file store, fixwire's default: one folder per session holding
 *
 * - `outgoing.log`: every stored outgoing message, raw FIX back to back, appended in one write
 *   per batch. When the next target number moved since it was last written, the batch ends
 *   with a target record, `#T <number>` padded to 24 bytes with a newline: a round trip's two
 *   facts (the answer sent, the number received) then take one `write`, and no state line.
 *   Records start with `#`, never `8=`, so FIX log tools that look for `8=FIX` (fixwire's
 *   `decode` among them) step over them ({@linkcode targetRecordAt} reads one); a version of
 *   fixwire before them refuses such a log as damaged;
 * - `outgoing.idx`: the log's sparse index, fixed-width text lines `<MsgSeqNum> <byte offset>`,
 *   one per checkpoint: the first message, then one every 4096 messages or 1 MiB of log,
 *   whichever comes first. It is all the store keeps per message, in memory too: 10 million
 *   stored messages of 170 bytes make 2,442 entries (under 64 KiB), and storing a message makes
 *   no map or object entry;
 * - `state.txt`: fixed-width lines with the next sender and target numbers, the creation time,
 *   the correctly-terminated marker and the length `outgoing.log` had when the line was
 *   written. A flush that changed what no message carries appends one line (no seek: one
 *   `write`), the last complete line is the state, and the file is compacted to one line on
 *   open, on close and every 65,536 lines (5 MiB), by writing a new file and renaming it over
 *   the old one. On open, a target record at or after the line's log length is newer than the
 *   line, and the last such gives the next target number. (A batch holding a checkpoint's
 *   message, see below, ends with a target record while one is newer than the line, so opening,
 *   which reads the log from its last checkpoint, always finds the newest.);
 * - `incoming.log` and `incoming.idx` (when the session logs incoming messages): inbound
 *   messages, raw, read back with `readIncoming()`, and the same kind of sparse index;
 * - `owner.lock`: held with an exclusive OS file lock (`Deno.FsFile.tryLockSync`) while the store
 *   is open, so two processes never own one session. The OS drops the lock when its process ends,
 *   however it ends (`kill -9` included), so a crash leaves nothing to clean up; a second process
 *   is refused with {@linkcode StoreLockedError}. While open the file names the owner's process
 *   id (emptied on close). The file itself stays: deleting a lock file lets two processes lock
 *   two different files of the same name.
 *
 * A reset keeps the old `outgoing.log` as `outgoing.<creationTime>.log` ({@linkcode
 * readArchivedLogs} reads them); a reset that fails is undone, or else closes the store.
 * MsgSeqNum ascends within one sequence (the session moves its sender number back only by a
 * reset), and the store relies on it: `appendOutgoing` refuses a number that does not.
 *
 * Memory and reads: opening loads no message. A resend (`readOutgoing(from, to)`) starts at the
 * checkpoint before `from` and streams the range from disk in 256 KiB reads; what a store holds
 * in memory is its unflushed batch and the sparse index, however long the log grows.
 *
 * Durability (`sync`):
 * - `"none"` (default): each flush hands the batch to the OS in one `write`. Survives a crash
 *   or `kill -9` of the process; a power cut may lose the last batches.
 * - `"batch"`: `fdatasync` after each batch. Survives a power cut; costs one sync per batch.
 * - `"message"`: one write and one `fdatasync` per message. Slowest; the strictest.
 *
 * In `"batch"` and `"message"` modes the writes and syncs are asynchronous (`FsFile.write` and
 * `FsFile.syncData`, run on Deno's blocking thread pool), so a session waiting for its disk does
 * not stall the event loop and the other sessions of the process. Group commit holds: flushes
 * called while a write is in progress share the next one. The folders are synced too when files
 * are created (open) or renamed (reset), so a power cut cannot lose a new file's directory
 * entry. Where a platform cannot sync a directory, that is logged once as a warning.
 *
 * Recovery on open reads the index and the log from its last checkpoint on (at most about
 * 1 MiB, whatever the log's length): a torn last record (a crash mid-write) is cut off and
 * logged; it is never served in a resend. Bad bytes followed by a complete record (damage in the
 * middle, which no crash produces) are reported as {@linkcode StoreCorruptError} instead of being
 * silently dropped or reset. Damage before the last checkpoint is found when a resend reads it
 * (the resend fails with {@linkcode StoreCorruptError}) or by {@linkcode readFileStore}, which
 * reads the whole log and tells torn and damaged apart the same way. The next sender number is
 * one past the last complete record. The index is only a guide: an entry found not to match the
 * log (its last one is checked on open, the others when a resend starts at them) is dropped and
 * logged, and a missing or stale `outgoing.idx` (a log written before it existed) is rebuilt by
 * one streaming pass over the log.
 *
 * @example
 * ```ts
 * import { FileSeqStoreFactory } from "@fixwire/engine/file-store";
 * import { SessionId } from "@fixwire/engine";
 * const dir = await Deno.makeTempDir();
 * const store = await new FileSeqStoreFactory({ directory: dir })
 *   .open(new SessionId("A", "B"), { nowMs: Date.now() });
 * await store.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { StoreLockedError } from "../src/errors.ts";
import { putDecimal } from "../src/message/_decimal.ts";
import {
  formatTarget,
  isTrailer,
  parseFrame,
  parseTarget,
  putAscii,
  TARGET_RECORD,
} from "./_log_format.ts";
import { type Logger, SILENT_LOGGER } from "../src/logger.ts";
import { fileStoreFolder } from "./_store_key.ts";

export { StoreLockedError };
import type { SessionId } from "../src/session_id.ts";
import type {
  SeqState,
  SeqStore,
  SeqStoreFactory,
  SeqStoreOpenOptions,
  StoredMessage,
} from "../src/store.ts";

export { TARGET_RECORD as TARGET_RECORD_BYTES, targetRecordAt } from "./_log_format.ts";

/** Durability level of the file store. */
export type FileSyncMode = "none" | "batch" | "message";

/** Options of {@linkcode FileSeqStoreFactory}. */
export interface FileStoreOptions {
  /** Root folder; one sub-folder per session (default `./fixwire-store`). */
  directory?: string;
  /** Durability (default `"none"`). */
  sync?: FileSyncMode;
  /** Where recoveries are logged. */
  logger?: Logger;
}

/**
 * The persisted data is damaged in a way that cannot be repaired safely.
 *
 * @example
 * ```ts
 * import { StoreCorruptError } from "@fixwire/engine/file-store";
 * const e = new StoreCorruptError("/data/A-B/outgoing.log", 120, "bad CheckSum");
 * ```
 */
export class StoreCorruptError extends Error {
  /** The damaged file. */
  readonly path: string;
  /** Byte offset of the damage. */
  readonly offset: number;

  /**
   * Creates the error.
   *
   * @param path The file.
   * @param offset The byte offset.
   * @param problem What is wrong.
   * @param action What could not be done (default `"open store"`; a resend says `"read store"`).
   */
  constructor(path: string, offset: number, problem: string, action = "open store") {
    super(`Cannot ${action}: file "${path}" is corrupt at byte ${offset}: ${problem}`);
    this.name = "StoreCorruptError";
    this.path = path;
    this.offset = offset;
  }
}

/** What a {@linkcode FileSeqStore} holds and has read: for tests and monitoring. */
export interface FileStoreStats {
  /**
   * Checkpoints in the outgoing log's sparse index: one per 4096 stored messages or 1 MiB of
   * log, whichever comes first. The only memory the store spends per stored message.
   */
  readonly indexEntries: number;
  /** Bytes of the message logs read while opening (the part after the last checkpoint). */
  readonly bytesReadOnOpen: number;
  /** Bytes of the message logs read since opening, opening included (resends, inbound log). */
  readonly bytesRead: number;
}

const STATE_LINE = 80;
/** The `owner.lock` paths of the stores open in this process (an OS lock is per process). */
const lockedHere = new Set<string>();

/** A checkpoint after this many messages... */
const CHECKPOINT_MESSAGES = 4096;
/** ...or this many bytes of log since the last one, whichever comes first. */
const CHECKPOINT_BYTES = 1 << 20;
/** Bytes per read when streaming a log. */
const READ_CHUNK = 256 * 1024;
/** A recovery reading more than this (an index rebuilt) reads off the event loop. */
const SYNC_SCAN_BYTES = 4 * 1024 * 1024;
/** Bytes enough for a record's `8=...|9=...|`; a longer start is not a record. */
const HEADER_MAX = 64;
/** One line of an index file: `<key, 15 wide> <offset, 15 wide>\n`; the first is a header. */
const INDEX_LINE = 32;
/** The smallest batch buffer, made on the first append (an idle session holds none). */
const BATCH_BYTES = 16 * 1024;
/** A batch buffer up to this size is kept for the next batch. */
const SPARE_BYTES = 1024 * 1024;
/** A landed batch's list of message ends is kept for the next batch up to this many entries. */
const SPARE_ENDS = 4096;
/** The ends of no batch: shared, never written. */
const NO_ENDS: number[] = Object.freeze([]) as unknown as number[];
const RESOLVED: Promise<void> = Promise.resolve();
const EMPTY = new Uint8Array();
const noop = () => {};

interface LogRecord {
  /** MsgSeqNum(34) (0 in a log read without the strict checks, and in a target record). */
  seq: number;
  start: number;
  end: number;
  /** A target record's next target number; 0 for a message. */
  target: number;
}

/** Read counters shared by a store's readers. */
interface ReadStats {
  bytesRead: number;
}

/** MsgSeqNum(34) of the body between `soh` (BodyLength's SOH) and `trailer`, or -1. */
function findSeq(buf: Uint8Array, soh: number, trailer: number): number {
  for (let i = soh; i < trailer - 4; i++) {
    if (buf[i] === 1 && buf[i + 1] === 51 && buf[i + 2] === 52 && buf[i + 3] === 61) {
      let v = 0, k = i + 4;
      while (k < trailer && buf[k] >= 48 && buf[k] <= 57) v = v * 10 + buf[k++] - 48;
      return v > 0 ? v : -1;
    }
  }
  return -1;
}

/** Whether the CheckSum(10) in the trailer at `trailer` matches the bytes from `p`. */
function checksumMatches(buf: Uint8Array, p: number, trailer: number): boolean {
  let sum = 0;
  for (let i = p; i < trailer; i++) sum += buf[i];
  const cks = (buf[trailer + 3] - 48) * 100 + (buf[trailer + 4] - 48) * 10 +
    (buf[trailer + 5] - 48);
  return (sum & 255) === cks;
}

/**
 * The MsgSeqNum(34) of one whole message about to be stored, or what is wrong with its framing.
 * CheckSum(10) is left to the encoder (checked when the log is read back).
 */
function messageSeq(bytes: Uint8Array): number | string {
  const f = parseFrame(bytes, 0, bytes.length);
  if (typeof f !== "object") return f === "torn" ? "it is cut short" : f;
  if (f.trailer + 7 !== bytes.length || !isTrailer(bytes, f.trailer)) {
    return "BodyLength(9) does not match its length";
  }
  const seq = findSeq(bytes, f.soh, f.trailer);
  return seq > 0 ? seq : "MsgSeqNum(34) missing";
}

/**
 * A request of a parsing step: bytes `from .. to` of the log in the reader's window. The step
 * gets back whether they are there (false: the file ends before `to`).
 */
interface Need {
  from: number;
  to: number;
}

/** Parsing steps: they ask for bytes and yield complete records, then return a result. */
type Steps<T> = Generator<Need | LogRecord, T, boolean>;

/**
 * A window over a log file, read in chunks with its own file handle (so readers never move
 * each other's position or a writer's), holding at most one chunk or the largest record read.
 * The parsing steps below are pure: they ask the window for bytes, and a driver reads them,
 * synchronously (bounded reads on open) or not (resends, long scans).
 */
class LogReader {
  readonly #file: Deno.FsFile;
  readonly #stats: ReadStats;
  /** The window: bytes `at .. at + len` of the file. */
  buf = new Uint8Array(READ_CHUNK);
  at = 0;
  len = 0;
  /** Bytes of the file that may be read. */
  limit: number;
  #pos = 0;

  constructor(file: Deno.FsFile, limit: number, stats: ReadStats) {
    this.#file = file;
    this.limit = limit;
    this.#stats = stats;
  }

  has(from: number, to: number): boolean {
    return from >= this.at && to <= this.at + this.len;
  }

  /** Moves the window to start at `from` keeping what it has; returns the bytes it should hold. */
  #slide(from: number, to: number): number {
    const want = Math.min(this.limit, Math.max(to, from + READ_CHUNK)) - from;
    const keep = from >= this.at && from < this.at + this.len ? this.at + this.len - from : 0;
    if (want > this.buf.length || (this.buf.length > 4 * READ_CHUNK && want <= READ_CHUNK)) {
      const next = new Uint8Array(Math.max(want, READ_CHUNK));
      if (keep > 0) next.set(this.buf.subarray(from - this.at, from - this.at + keep));
      this.buf = next;
    } else if (keep > 0) {
      this.buf.copyWithin(0, from - this.at, from - this.at + keep);
    }
    this.at = from;
    this.len = keep;
    return want;
  }

  #filled(n: number | null): boolean {
    if (n === null) return false;
    this.len += n;
    this.#pos += n;
    this.#stats.bytesRead += n;
    return true;
  }

  #settle(to: number): boolean {
    if (this.at + this.len >= to) return true;
    this.limit = this.at + this.len; // the file was cut meanwhile
    return false;
  }

  /** Makes bytes `from .. to` (`to <= limit`) readable in `buf`, reading ahead a chunk. */
  ensureSync(from: number, to: number): boolean {
    if (this.has(from, to)) return true;
    const want = this.#slide(from, to);
    if (this.#pos !== from + this.len) {
      this.#pos = this.#file.seekSync(from + this.len, Deno.SeekMode.Start);
    }
    while (this.len < want && this.#filled(this.#file.readSync(this.buf.subarray(this.len, want))));
    return this.#settle(to);
  }

  /** `ensureSync`, reading off the event loop. */
  async ensure(from: number, to: number): Promise<boolean> {
    if (this.has(from, to)) return true;
    const want = this.#slide(from, to);
    if (this.#pos !== from + this.len) {
      this.#pos = await this.#file.seek(from + this.len, Deno.SeekMode.Start);
    }
    while (
      this.len < want && this.#filled(await this.#file.read(this.buf.subarray(this.len, want)))
    );
    return this.#settle(to);
  }

  /** Runs steps with synchronous reads, handing each record to `each`. */
  run<T>(steps: Steps<T>, each?: (rec: LogRecord) => void): T {
    let s = steps.next(true);
    while (!s.done) {
      const v = s.value;
      if ("from" in v) s = steps.next(this.ensureSync(v.from, v.to));
      else {
        each?.(v);
        s = steps.next(true);
      }
    }
    return s.value;
  }

  /**
   * Runs steps that yield no record: synchronously while the window holds what they ask for,
   * then (a promise) reading off the event loop.
   */
  drive<T>(steps: Generator<Need, T, boolean>): T | Promise<T> {
    const s = steps.next(true);
    return s.done ? s.value : this.#driveFrom(steps, s.value);
  }

  async #driveFrom<T>(steps: Generator<Need, T, boolean>, need: Need): Promise<T> {
    let s = steps.next(await this.ensure(need.from, need.to));
    while (!s.done) s = steps.next(await this.ensure(s.value.from, s.value.to));
    return s.value;
  }

  /** Runs steps, reading off the event loop, handing each record to `each`. */
  async runAsync<T>(steps: Steps<T>, each?: (rec: LogRecord) => void): Promise<T> {
    let s = steps.next(true);
    while (!s.done) {
      const v = s.value;
      if ("from" in v) s = steps.next(await this.ensure(v.from, v.to));
      else {
        each?.(v);
        s = steps.next(true);
      }
    }
    return s.value;
  }

  /** Runs steps, reading off the event loop, yielding each record (in the window meanwhile). */
  async *records(steps: Steps<unknown>): AsyncGenerator<LogRecord> {
    let s = steps.next(true);
    while (!s.done) {
      const v = s.value;
      if ("from" in v) s = steps.next(await this.ensure(v.from, v.to));
      else {
        yield v;
        s = steps.next(true);
      }
    }
  }

  /** A copy of bytes `from .. to` (in the window). */
  copy(from: number, to: number): Uint8Array {
    return this.buf.slice(from - this.at, to - this.at);
  }

  close(): void {
    this.#file.close();
  }
}

/**
 * Reads the record at `p`: returns it, `"torn"` when it runs past the readable end, or a
 * problem text. `strict` (the outgoing log) also requires MsgSeqNum(34) and checks CheckSum(10)
 * (unless `checksum` is false: a record a resend only steps over); the inbound log keeps what
 * the counterparty sent, so only the framing is checked there. The
 * whole record is in the window after it. The trailer of a record longer than a chunk is checked
 * before the rest is read, so a damaged BodyLength(9) claiming a huge record costs a small read.
 */
function* recordSteps(
  r: LogReader,
  p: number,
  strict: boolean,
  checksum = strict,
): Generator<Need, LogRecord | "torn" | string, boolean> {
  const headEnd = Math.min(r.limit, p + HEADER_MAX);
  if (!r.has(p, headEnd) && !(yield { from: p, to: headEnd })) return "torn";
  if (strict && r.buf[p - r.at] === 35) {
    const end = p + TARGET_RECORD;
    if (end > r.limit) return "torn";
    if (!r.has(p, end) && !(yield { from: p, to: end })) return "torn";
    const target = parseTarget(r.buf, p - r.at);
    return target > 0 ? { seq: 0, start: p, end, target } : "target record is unreadable";
  }
  const f = parseFrame(r.buf, p - r.at, headEnd - r.at);
  if (f === "torn") return headEnd < r.limit ? "record header is too long" : "torn";
  if (typeof f === "string") return f;
  const soh = f.soh + r.at, trailer = f.trailer + r.at, end = trailer + 7;
  if (end > r.limit) return "torn";
  if (end - p > READ_CHUNK) {
    // A big record: its trailer is checked before the whole of it is read.
    if (!r.has(trailer, end) && !(yield { from: trailer, to: end })) return "torn";
    if (!isTrailer(r.buf, trailer - r.at)) return "BodyLength(9) does not match";
  }
  if (!r.has(p, end) && !(yield { from: p, to: end })) return "torn";
  if (!isTrailer(r.buf, trailer - r.at)) return "BodyLength(9) does not match";
  if (!strict) return { seq: 0, start: p, end, target: 0 };
  if (checksum && !checksumMatches(r.buf, p - r.at, trailer - r.at)) {
    return "CheckSum(10) does not match";
  }
  const seq = findSeq(r.buf, soh - r.at, trailer - r.at);
  return seq > 0 ? { seq, start: p, end, target: 0 } : "MsgSeqNum(34) missing";
}

/** Whether a complete, valid record starts anywhere after `from`. */
function* laterRecordSteps(
  r: LogReader,
  from: number,
  strict: boolean,
): Generator<Need, boolean, boolean> {
  let q = from + 1;
  while (q + 1 < r.limit) {
    const to = Math.min(r.limit, q + READ_CHUNK);
    if (!r.has(q, to) && !(yield { from: q, to })) continue;
    let i = q - r.at;
    const n = r.len - 1;
    while (i < n && !(r.buf[i] === 56 && r.buf[i + 1] === 61)) i++;
    if (i >= n) {
      q = r.at + n; // the last byte may start "8=" with the next chunk
      continue;
    }
    const at = r.at + i;
    if (typeof (yield* recordSteps(r, at, strict)) === "object") return true;
    q = at + 1;
  }
  return false;
}

/**
 * Walks a log's records from `start`, yielding each (its bytes are in the reader's window until
 * the next step). Bad bytes with no complete record after them are a torn last write (a crash
 * mid-write, or a power cut before the data reached the disk): the walk ends before them and
 * returns where. Bad bytes followed by a complete record are damage in the middle of the log:
 * no crash produces that.
 *
 * @throws {StoreCorruptError} On damage in the middle of the log.
 */
function* walkSteps(r: LogReader, start: number, strict: boolean, path: string): Steps<number> {
  let p = start;
  while (p < r.limit) {
    const rec = yield* recordSteps(r, p, strict);
    if (typeof rec === "object") {
      yield rec;
      p = rec.end;
      continue;
    }
    if (yield* laterRecordSteps(r, p, strict)) {
      throw new StoreCorruptError(path, p, rec === "torn" ? "record is cut short" : rec);
    }
    break;
  }
  return p;
}

/** A reader over a whole file, or undefined when there is none. */
async function openReader(path: string, stats: ReadStats): Promise<LogReader | undefined> {
  let file: Deno.FsFile;
  try {
    file = await Deno.open(path, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
  try {
    return new LogReader(file, (await file.stat()).size, stats);
  } catch (e) {
    file.close();
    throw e;
  }
}

/**
 * Streams a whole log file (none: empty), off the event loop, calling `each` per complete
 * record with the reader holding its bytes.
 *
 * @returns Where the good part ends and the file's size (bytes after `end` are a torn write).
 * @throws {StoreCorruptError} On damage in the middle of the log.
 */
async function scanFile(
  path: string,
  strict: boolean,
  each: (rec: LogRecord, r: LogReader) => void,
): Promise<{ end: number; size: number }> {
  const r = await openReader(path, { bytesRead: 0 });
  if (!r) return { end: 0, size: 0 };
  try {
    const size = r.limit;
    const end = await r.runAsync(walkSteps(r, 0, strict, path), (rec) => each(rec, r));
    return { end, size };
  } finally {
    r.close();
  }
}

/**
 * A log's sparse index in memory: one (key, offset) per checkpoint, in two growing typed arrays
 * (no object or map entry per message). Keys and offsets ascend.
 */
class SparseIndex {
  keys = new Float64Array(16);
  offsets = new Float64Array(16);
  count = 0;
  /** Entries already in the index file. */
  persisted = 0;

  push(key: number, offset: number): void {
    if (this.count === this.keys.length) {
      const keys = new Float64Array(this.count * 2);
      const offsets = new Float64Array(this.count * 2);
      keys.set(this.keys);
      offsets.set(this.offsets);
      this.keys = keys;
      this.offsets = offsets;
    }
    this.keys[this.count] = key;
    this.offsets[this.count] = offset;
    this.count++;
  }

  /** The last entry whose key is at most `key`, or -1. */
  floor(key: number): number {
    let lo = 0, hi = this.count - 1, found = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >>> 1;
      if (this.keys[mid] <= key) {
        found = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  }

  truncate(count: number): void {
    this.count = count;
    if (this.persisted > count) this.persisted = count;
  }

  remove(i: number): void {
    this.keys.copyWithin(i, i + 1, this.count);
    this.offsets.copyWithin(i, i + 1, this.count);
    this.count--;
    if (this.persisted > i) this.persisted--;
  }

  clear(): void {
    this.keys = new Float64Array(16);
    this.offsets = new Float64Array(16);
    this.count = 0;
    this.persisted = 0;
  }
}

/** The first line of an index file: the format and the log generation it indexes. */
function indexHeader(generation: string): Uint8Array {
  const out = new Uint8Array(INDEX_LINE).fill(32);
  putAscii(out, 0, `fixwire-idx 1 ${generation}`.slice(0, INDEX_LINE - 1));
  out[INDEX_LINE - 1] = 10;
  return out;
}

/** Index lines for entries `from .. to`. */
function indexLines(index: SparseIndex, from: number, to: number): Uint8Array {
  const out = new Uint8Array((to - from) * INDEX_LINE);
  for (let i = from, p = 0; i < to; i++, p += INDEX_LINE) {
    putAscii(out, p, String(index.keys[i]).padStart(15, " "));
    out[p + 15] = 32;
    putAscii(out, p + 16, String(index.offsets[i]).padStart(15, " "));
    out[p + 31] = 10;
  }
  return out;
}

/** One index line's number in `text[from, from + 15)`, or -1. */
function indexNumber(bytes: Uint8Array, from: number): number {
  let v = 0, digits = 0;
  for (let i = from; i < from + 15; i++) {
    const c = bytes[i];
    if (c === 32 && digits === 0) continue;
    if (c < 48 || c > 57) return -1;
    v = v * 10 + c - 48;
    digits++;
  }
  return digits > 0 ? v : -1;
}

/**
 * Reads an index file into `index`: the entries of a matching header, up to the first line that
 * is unreadable, does not ascend, or points past `logSize`.
 *
 * @returns Whether the file was whole: every line read, nothing after them.
 */
function loadIndex(
  path: string,
  generation: string,
  logSize: number,
  index: SparseIndex,
): boolean {
  let bytes: Uint8Array;
  try {
    bytes = Deno.readFileSync(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  const header = indexHeader(generation);
  if (bytes.length < INDEX_LINE || header.some((b, i) => bytes[i] !== b)) return false;
  const lines = Math.floor(bytes.length / INDEX_LINE) - 1;
  for (let i = 0; i < lines; i++) {
    const p = (i + 1) * INDEX_LINE;
    const key = indexNumber(bytes, p);
    const offset = indexNumber(bytes, p + 16);
    const n = index.count;
    if (
      key < 0 || offset < 0 || bytes[p + 15] !== 32 || bytes[p + 31] !== 10 ||
      offset >= logSize || (n === 0 && offset !== 0) ||
      (n > 0 && (key <= index.keys[n - 1] || offset <= index.offsets[n - 1]))
    ) {
      index.persisted = index.count;
      return false;
    }
    index.push(key, offset);
  }
  index.persisted = index.count;
  return bytes.length === (lines + 1) * INDEX_LINE;
}

function writeAllSync(file: Deno.FsFile, bytes: Uint8Array): void {
  // Almost always one write: a view of the rest only after a partial one.
  let off = file.writeSync(bytes);
  while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
}

async function writeAll(file: Deno.FsFile, bytes: Uint8Array): Promise<void> {
  let off = 0;
  while (off < bytes.length) off += await file.write(bytes.subarray(off));
}

/**
 * Runs `steps` in order; when one returns a promise, the next ones run once it resolves. So a
 * sequence whose steps are all synchronous (sync "none") completes before this returns.
 */
function chain(
  steps: (() => Promise<void> | undefined | void)[],
  from = 0,
): Promise<void> | undefined {
  for (let i = from; i < steps.length; i++) {
    const p = steps[i]();
    if (p) return p.then(() => chain(steps, i + 1));
  }
  return undefined;
}

/** Where `rel` starts a record in a batch buffer whose records end at `ends`. */
function recordIn(
  buf: Uint8Array,
  ends: number[],
  rel: number,
  base: number,
): { bytes: Uint8Array; end: number } | undefined {
  let lo = 0, hi = ends.length - 1;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (ends[mid] > rel) hi = mid;
    else lo = mid + 1;
  }
  const start = lo === 0 ? 0 : ends[lo - 1];
  if (start !== rel || lo >= ends.length) return undefined;
  return { bytes: buf.subarray(start, ends[lo]), end: base + ends[lo] };
}

/**
 * One append-only message log and its sparse index: the bytes on disk (`size`), the batch being
 * written (`flying`), and the batch being filled (`pending`). Offsets are logical: a message
 * keeps its offset from `append` until the log is reset, whichever of the three holds it.
 */
class AppendLog {
  readonly path: string;
  readonly indexPath: string;
  /** The outgoing log: CheckSum(10) checked, keys are MsgSeqNum(34). Else keys count records. */
  readonly strict: boolean;
  file!: Deno.FsFile;
  indexFile: Deno.FsFile | undefined;
  /** What the index file's header names: the sequence's creation time (outgoing). */
  generation = "";
  /** Bytes written to the file. */
  size = 0;
  readonly index: SparseIndex = new SparseIndex();
  lastKey = 0;
  #segCount = 0;
  #segBytes = 0;
  pending: Uint8Array = EMPTY;
  pendingLen = 0;
  pendingEnds: number[] = [];
  flying: Uint8Array | undefined;
  flyingLen = 0;
  flyingEnds: number[] = NO_ENDS;
  #spare: Uint8Array | undefined;
  /** The ends list of the last batch landed, emptied, for the next batch taken. */
  #spareEnds: number[] | undefined;
  /**
   * A checkpoint's message is in the pending batch and no target record after it. While a
   * target record is newer than the state line, such a batch ends with one, so that the newest
   * is never before the last checkpoint (where reading on open starts).
   */
  checkpointDue = false;
  /** The next target number of the last target record read on open (0: none)... */
  lastTarget = 0;
  /** ...and where it starts. */
  lastTargetAt = -1;

  constructor(path: string, indexPath: string, strict: boolean) {
    this.path = path;
    this.indexPath = indexPath;
    this.strict = strict;
  }

  /** The logical end: everything appended. */
  get end(): number {
    return this.size + this.flyingLen + this.pendingLen;
  }

  /** Counts a record into the current checkpoint segment, starting a new one when due. */
  #account(key: number, offset: number, length: number): void {
    if (
      this.index.count === 0 || this.#segCount >= CHECKPOINT_MESSAGES ||
      this.#segBytes >= CHECKPOINT_BYTES
    ) {
      this.index.push(key, offset);
      this.#segCount = 0;
      this.#segBytes = 0;
    }
    this.#segCount++;
    this.#segBytes += length;
    this.lastKey = key;
  }

  append(key: number, bytes: Uint8Array): void {
    const at = this.#put(bytes);
    const checkpoints = this.index.count;
    this.#account(key, this.size + this.flyingLen + at, bytes.length);
    if (this.index.count !== checkpoints) this.checkpointDue = true;
  }

  /** Appends a target record (TARGET_RECORD bytes) to the pending batch: no key, no checkpoint. */
  appendTarget(record: Uint8Array): void {
    this.#put(record);
    this.checkpointDue = false;
  }

  /** Copies `bytes` to the end of the pending batch as one record; returns where it starts. */
  #put(bytes: Uint8Array): number {
    const at = this.pendingLen;
    const need = at + bytes.length;
    if (need > this.pending.length) {
      const next = new Uint8Array(Math.max(need, this.pending.length * 2, BATCH_BYTES));
      next.set(this.pending.subarray(0, at));
      this.pending = next;
    }
    this.pending.set(bytes, at);
    this.pendingLen = need;
    this.pendingEnds.push(need);
    return at;
  }

  /** Makes the pending batch the flying one (there is none flying). */
  take(): void {
    this.flying = this.pending;
    this.flyingLen = this.pendingLen;
    this.flyingEnds = this.pendingEnds;
    this.pending = this.#spare ?? EMPTY;
    this.#spare = undefined;
    this.pendingLen = 0;
    this.pendingEnds = this.#spareEnds ?? [];
    this.#spareEnds = undefined;
  }

  /** The flying batch is in the file. */
  landed(): void {
    this.size += this.flyingLen;
    if (this.flying && this.flying.length <= SPARE_BYTES) this.#spare = this.flying;
    this.flying = undefined;
    this.flyingLen = 0;
    // Its ends list serves the next batch: emptied by pop, which keeps its room (a new list
    // per commit grew to room for 17 at its first push: 180 bytes per message one at a time).
    const ends = this.flyingEnds;
    if (ends !== NO_ENDS && ends.length <= SPARE_ENDS) {
      while (ends.length > 0) ends.pop();
      this.#spareEnds = ends;
    }
    this.flyingEnds = NO_ENDS;
  }

  /** The flying batch was not written: it goes back in front of what was appended since. */
  putBack(): void {
    const flying = this.flying;
    if (!flying) return;
    const total = this.flyingLen + this.pendingLen;
    let buf = flying;
    if (buf.length < total) {
      buf = new Uint8Array(total);
      buf.set(flying.subarray(0, this.flyingLen));
    }
    buf.set(this.pending.subarray(0, this.pendingLen), this.flyingLen);
    const shift = this.flyingLen;
    this.pendingEnds = [...this.flyingEnds, ...this.pendingEnds.map((e) => e + shift)];
    this.pending = buf;
    this.pendingLen = total;
    this.flying = undefined;
    this.flyingLen = 0;
    this.flyingEnds = NO_ENDS;
  }

  /** The record at logical offset `p` of the batches in memory, if one starts there. */
  memoryRecord(p: number): { bytes: Uint8Array; end: number } | undefined {
    let base = this.size;
    if (this.flying && p < base + this.flyingLen) {
      return recordIn(this.flying, this.flyingEnds, p - base, base);
    }
    base += this.flyingLen;
    if (p < base + this.pendingLen) return recordIn(this.pending, this.pendingEnds, p - base, base);
    return undefined;
  }

  /** Drops checkpoint `i`, which does not match the log, from memory and the index file. */
  dropCheckpoint(i: number, logger: Logger): void {
    logger.warn("store index entry does not match the log; dropped", {
      file: this.indexPath,
      key: this.index.keys[i],
      offset: this.index.offsets[i],
    });
    this.index.remove(i);
    this.rewriteIndex(logger);
  }

  /** A new, empty sequence (after a reset) of creation time `generation`. */
  clear(generation: string): void {
    this.generation = generation;
    this.size = 0;
    this.index.clear();
    this.lastKey = 0;
    this.#segCount = 0;
    this.#segBytes = 0;
    this.checkpointDue = false;
  }

  /**
   * Opens the log and recovers it: loads the index, checks its last checkpoint against the log,
   * reads the log from there on (cutting off a torn last write), and rewrites the index file if
   * it was missing, stale or behind. The reads are synchronous when they are short (the part
   * after the last checkpoint: about 1 MiB at most), so opening in sync `"none"` settles in
   * microtasks, as it always did; a long scan (an index rebuilt) and the syncs of the `"batch"`
   * and `"message"` modes run off the event loop.
   *
   * @throws {StoreCorruptError} On damage in the middle of the part read.
   */
  open(
    generation: string,
    o: { sync: boolean; logger: Logger; stats: ReadStats },
  ): Promise<void> | undefined {
    this.generation = generation;
    this.file = Deno.openSync(this.path, { read: true, append: true, create: true });
    const size = this.file.statSync().size;
    const whole = loadIndex(this.indexPath, generation, size, this.index);
    const loaded = this.index.count;
    const r = new LogReader(Deno.openSync(this.path, { read: true }), size, o.stats);
    const each = (rec: LogRecord) => {
      if (rec.target > 0) {
        this.lastTarget = rec.target;
        this.lastTargetAt = rec.start;
        return;
      }
      const key = this.strict ? rec.seq : this.lastKey + 1;
      if (key <= this.lastKey) {
        throw new StoreCorruptError(
          this.path,
          rec.start,
          `MsgSeqNum(34) ${key} is not above ${this.lastKey}, the one before`,
        );
      }
      this.#account(key, rec.start, rec.end - rec.start);
    };
    const rest = (end: number) => this.#recovered(end, size, whole && loaded, generation, o);
    let steps: Steps<number>;
    try {
      // The last checkpoint must be a record of this log, with its key; else it is dropped.
      while (this.index.count > 0) {
        const i = this.index.count - 1;
        const rec = r.run(recordSteps(r, this.index.offsets[i], this.strict));
        if (typeof rec === "object" && (!this.strict || rec.seq === this.index.keys[i])) break;
        this.index.truncate(i);
      }
      const n = this.index.count;
      const start = n > 0 ? this.index.offsets[n - 1] : 0;
      this.lastKey = n > 0 ? this.index.keys[n - 1] - 1 : 0;
      steps = walkSteps(r, start, this.strict, this.path);
      if (size - start <= SYNC_SCAN_BYTES) {
        const end = r.run(steps, each);
        r.close();
        return rest(end);
      }
    } catch (e) {
      r.close();
      throw e;
    }
    return r.runAsync(steps, each).finally(() => r.close()).then(rest);
  }

  /**
   * Ends recovery: cuts off a torn last write, and opens the index file, rewritten unless it
   * was whole and is still complete (`loaded`: its entry count then).
   */
  #recovered(
    end: number,
    size: number,
    loaded: number | false,
    _generation: string,
    o: { sync: boolean; logger: Logger },
  ): Promise<void> | undefined {
    this.size = end;
    if (loaded === this.index.count) {
      this.indexFile = Deno.openSync(this.indexPath, { append: true });
    } else {
      this.rewriteIndex();
    }
    if (end === size) return undefined;
    o.logger.warn("store recovered from a torn last write", {
      file: this.path,
      offset: end,
      droppedBytes: size - end,
    });
    this.file.truncateSync(end);
    return o.sync ? this.file.sync() : undefined;
  }

  /** Writes the index file anew from memory. It is derived data: a failure is only logged. */
  rewriteIndex(logger?: Logger): void {
    try {
      this.indexFile?.close();
    } catch {
      // Closed already.
    }
    this.indexFile = undefined;
    try {
      const f = Deno.openSync(this.indexPath, { write: true, create: true, truncate: true });
      this.indexFile = f;
      writeAllSync(f, indexHeader(this.generation));
      writeAllSync(f, indexLines(this.index, 0, this.index.count));
      this.index.persisted = this.index.count;
    } catch (e) {
      this.#indexFailed(e, logger);
    }
  }

  /**
   * Appends to the index file the checkpoints of bytes now in the log. Called after every
   * write, it returns at once when no checkpoint waits (one in 4,096 messages): the work is a
   * method of its own, as V8 optimizes a function after calls worth thousands of times its
   * bytecode, counting only what runs before its return (see `otherNumberText` in
   * fix_message.ts).
   */
  persistIndex(logger: Logger): void {
    if (this.index.persisted < this.index.count) this.#appendIndex(logger);
  }

  #appendIndex(logger: Logger): void {
    const index = this.index;
    let to = index.persisted;
    while (to < index.count && index.offsets[to] < this.size) to++;
    if (to === index.persisted || !this.indexFile) return;
    try {
      writeAllSync(this.indexFile, indexLines(index, index.persisted, to));
      index.persisted = to;
    } catch (e) {
      this.#indexFailed(e, logger);
    }
  }

  #indexFailed(e: unknown, logger: Logger | undefined): void {
    // The next open finds the file short or stale and rebuilds it from the log.
    try {
      this.indexFile?.close();
    } catch {
      // Closed already.
    }
    this.indexFile = undefined;
    logger?.warn("store index not written; it is rebuilt on the next open", {
      file: this.indexPath,
      error: `${e}`,
    });
  }

  close(): void {
    for (const f of [this.file, this.indexFile]) {
      try {
        f?.close();
      } catch {
        // Closed already.
      }
    }
    this.indexFile = undefined;
  }
}

/**
 * Writes the fixed-width state line into `out` (STATE_LINE bytes), without allocating. `logEnd`
 * is `outgoing.log`'s length once the commit writing the line has written its messages: a
 * target record from there on is newer than the line.
 */
function formatState(s: SeqState, out: Uint8Array, logEnd: number): Uint8Array {
  // Digits written in place: no string per number (see src/message/_decimal.ts).
  let p = putAscii(out, 0, "S ");
  p = putDecimal(out, p, s.nextSenderSeqNum);
  p = putAscii(out, p, " T ");
  p = putDecimal(out, p, s.nextTargetSeqNum);
  p = putAscii(out, p, " C ");
  p = putDecimal(out, p, s.creationTimeMs);
  p = putAscii(out, p, s.correctlyTerminated ? " E 1" : " E 0");
  p = putDecimal(out, putAscii(out, p, " L "), logEnd);
  out.fill(32, p, STATE_LINE - 1);
  out[STATE_LINE - 1] = 10;
  return out;
}

/**
 * Lines `state.txt` may hold before it is compacted to one (5 MiB of 80-byte lines). A
 * compaction (a new file, a rename) costs about 200 µs, against 1 µs for a line: with a line per
 * message received, 1,024 put one in every 500 round trips into the latency's p99.9.
 */
const STATE_COMPACT_LINES = 65536;

/**
 * The state in `state.txt`: its last complete line, and the length of `outgoing.log` it was
 * written at (0 for a line of a version that wrote no target records). A torn line after it (a
 * crash mid-append) is ignored; an unreadable last complete line is damage.
 */
function parseState(text: string, path: string): { state: SeqState; logEnd: number } {
  const end = text.lastIndexOf("\n");
  const start = end < 0 ? 0 : text.lastIndexOf("\n", end - 1) + 1;
  const line = end < 0 ? text : text.slice(start, end);
  const m = /^S (\d+) T (\d+) C (-?\d+) E ([01])(?: L (\d+))?/.exec(line);
  if (!m) throw new StoreCorruptError(path, start, "state line is unreadable");
  return {
    state: {
      nextSenderSeqNum: Number(m[1]),
      nextTargetSeqNum: Number(m[2]),
      creationTimeMs: Number(m[3]),
      correctlyTerminated: m[4] === "1",
    },
    logEnd: Number(m[5] ?? 0),
  };
}

/** The state a line gives, with the next target number of a newer target record of the log. */
function withTarget(
  found: { state: SeqState; logEnd: number },
  lastTarget: number,
  lastTargetAt: number,
): SeqState {
  if (lastTarget > 0 && lastTargetAt >= found.logEnd) found.state.nextTargetSeqNum = lastTarget;
  return found.state;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * The name a reset gives the log it archives: `outgoing.<creationTime>.log`, with `-<n>` after
 * the time when that name is taken (`n` from 1; 0 for none). {@linkcode ARCHIVE_NAME} reads it.
 */
function archiveName(creationTimeMs: number, n: number): string {
  return `outgoing.${creationTimeMs}${n > 0 ? `-${n}` : ""}.log`;
}

/** An archived log's name: creation time, and the `-<n>` suffix if any. */
const ARCHIVE_NAME = /^outgoing\.(-?\d+)(?:-(\d+))?\.log$/;

/** An error's message, for a message of our own. */
function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

function parentOf(path: string): string {
  const trimmed = path.replace(/[\\/]+$/, "");
  const at = Math.max(trimmed.lastIndexOf("/"), trimmed.lastIndexOf("\\"));
  if (at < 0) return ".";
  return at === 0 ? trimmed.slice(0, 1) : trimmed.slice(0, at);
}

/** The process id written in an `owner.lock`, if it can be read (Windows locks reads out). */
function readPid(file: Deno.FsFile): number | undefined {
  try {
    file.seekSync(0, Deno.SeekMode.Start);
    const buf = new Uint8Array(24);
    const n = file.readSync(buf) ?? 0;
    const text = new TextDecoder().decode(buf.subarray(0, n)).trim();
    return /^\d+$/.test(text) ? Number(text) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * One session's file store. Open it with {@linkcode FileSeqStoreFactory}.
 */
export class FileSeqStore implements SeqStore {
  readonly #dir: string;
  readonly #sync: FileSyncMode;
  readonly #stateLine = new Uint8Array(STATE_LINE);
  readonly #log: Logger;
  readonly #logIncoming: boolean;
  #state!: SeqState;
  #out!: AppendLog;
  #in: AppendLog | undefined;
  #stateFile!: Deno.FsFile;
  #stateLines = 0;
  /** The state changed other than by the next target number (which `#targetDirty` tracks). */
  #stateDirty = false;
  /** The next sender number changed other than by storing a message. */
  #senderDirty = false;
  /** The next target number changed since a state line or target record last held it. */
  #targetDirty = false;
  /** A target record is newer than the last state line (`state.txt` is brought up on close). */
  #lineBehind = false;
  readonly #targetRecord = new Uint8Array(TARGET_RECORD);
  #closed = false;
  #closing: Promise<void> | undefined;
  /** Why the store was closed by a failure, not by `close()`; every later use throws it. */
  #failure: Error | undefined;
  readonly #lockPath: string;
  #lockFile: Deno.FsFile | undefined;
  #dirSyncWarned = false;
  /** Counts resets: a read of an older sequence stops. */
  #generation = 0;
  /** A reset called and not finished: writes are refused, reads wait for it. */
  #resetting: Promise<void> | undefined;
  /** The last task of the I/O queue while one runs (never in sync "none": its I/O is synchronous). */
  #tail: Promise<void> | undefined;
  /** Tasks running (one at a time; 0 once a task finished synchronously). */
  #depth = 0;
  /** A commit queued behind a running task, shared by every flush until it starts. */
  #queued: Promise<void> | undefined;
  #queuedAll = false;
  readonly #stats = { bytesRead: 0, bytesReadOnOpen: 0 };

  /**
   * Takes the session folder's lock. {@linkcode FileSeqStore.open} does the rest.
   *
   * @param dir The session's folder.
   * @param options Sync mode, logger, inbound log.
   */
  private constructor(
    dir: string,
    options: { sync: FileSyncMode; logger: Logger; logIncoming: boolean },
  ) {
    this.#dir = dir;
    this.#sync = options.sync;
    this.#log = options.logger;
    this.#logIncoming = options.logIncoming;
    Deno.mkdirSync(dir, { recursive: true });
    this.#lockPath = `${dir}/owner.lock`;
    this.#lock();
  }

  /**
   * Opens (recovering) the store in `dir`. Use the factory.
   *
   * @param dir The session's folder.
   * @param options Sync mode, logger, creation time, inbound log.
   * @returns The open store.
   * @throws {StoreCorruptError} When a log is damaged beyond a torn tail.
   * @throws {StoreLockedError} When another process owns the session.
   * @example
   * ```ts ignore
   * const store = await FileSeqStore.open("./fixwire-store/A-B", {
   *   sync: "batch",
   *   logger: SILENT_LOGGER,
   *   nowMs: Date.now(),
   *   logIncoming: false,
   * });
   * ```
   */
  static open(
    dir: string,
    options: { sync: FileSyncMode; logger: Logger; nowMs: number; logIncoming: boolean },
  ): Promise<FileSeqStore> {
    let store: FileSeqStore | undefined;
    try {
      store = new FileSeqStore(dir, options);
      const opening = store.#init(options.nowMs);
      if (!opening) return Promise.resolve(store);
      const opened = store;
      return opening.then(() => opened, (e) => {
        opened.#abandon();
        throw e;
      });
    } catch (e) {
      if (store) store.#abandon();
      return Promise.reject(e);
    }
  }

  /** Undoes a failed open: closes what it opened and releases the lock. */
  #abandon(): void {
    this.#out?.close();
    this.#in?.close();
    try {
      this.#stateFile?.close();
    } catch {
      // Closed already.
    }
    this.#unlock();
  }

  /**
   * Reads the state, recovers the logs, compacts `state.txt`. Synchronous in sync "none" unless
   * an index must be rebuilt from a long log (a promise then).
   */
  #init(nowMs: number): Promise<void> | undefined {
    const dir = this.#dir;
    const synced = this.#sync !== "none";
    const recover = { sync: synced, logger: this.#log, stats: this.#stats };
    let found: { state: SeqState; logEnd: number };
    return chain([
      () => synced ? this.#syncDir(parentOf(dir)) : undefined,
      () => {
        const statePath = `${dir}/state.txt`;
        try {
          found = parseState(Deno.readTextFileSync(statePath), statePath);
        } catch (e) {
          if (!(e instanceof Deno.errors.NotFound)) throw e;
          found = {
            state: {
              nextSenderSeqNum: 1,
              nextTargetSeqNum: 1,
              creationTimeMs: nowMs,
              correctlyTerminated: false,
            },
            logEnd: 0,
          };
        }
        this.#out = new AppendLog(`${dir}/outgoing.log`, `${dir}/outgoing.idx`, true);
        return this.#out.open(String(found.state.creationTimeMs), recover);
      },
      () => {
        const out = this.#out;
        const state = withTarget(found, out.lastTarget, out.lastTargetAt);
        if (out.lastKey + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = out.lastKey + 1;
        this.#state = state;
        const compacted = this.#compactState(formatState(state, this.#stateLine, out.size));
        if (!(compacted instanceof Promise)) {
          this.#stateFile = compacted;
          return undefined;
        }
        return compacted.then((f) => {
          this.#stateFile = f;
        });
      },
      () => {
        if (!this.#logIncoming) return undefined;
        this.#in = new AppendLog(`${dir}/incoming.log`, `${dir}/incoming.idx`, false);
        return this.#in.open("in", recover);
      },
      () => {
        this.#stats.bytesReadOnOpen = this.#stats.bytesRead;
        // The files may be new: make their directory entries durable too.
        return synced ? this.#syncDir(dir) : undefined;
      },
    ]);
  }

  /**
   * Takes the OS lock on `owner.lock` without waiting, and writes this process id in it. The
   * lock is not a file's existence: the OS drops it when the process ends, so there is no
   * liveness guess and no check-then-write takeover.
   *
   * @throws {StoreLockedError} When another process holds the lock.
   */
  #lock(): void {
    const path = this.#lockPath;
    // An OS lock is per open file, so this process opening twice is caught here first, with
    // its own message.
    if (lockedHere.has(path)) {
      throw new Error(`Cannot open store: "${this.#dir}" is already open in this process`);
    }
    // Not truncated on open: the owner's process id stays readable for the error.
    const file = Deno.openSync(path, { read: true, write: true, create: true });
    try {
      if (!file.tryLockSync(true)) {
        const ownerPid = readPid(file);
        // The same folder under another spelling of its path, in this process.
        if (ownerPid === Deno.pid) {
          throw new Error(`Cannot open store: "${this.#dir}" is already open in this process`);
        }
        throw new StoreLockedError(this.#dir, { ownerPid });
      }
      // A clean close empties the file: a process id left in it is an owner that ended
      // without closing (a crash, `kill -9`). Its lock went with it.
      const stalePid = readPid(file);
      if (stalePid !== undefined) {
        this.#log.warn("taking over a stale store lock", { dir: this.#dir, stalePid });
      }
      file.truncateSync(0);
      file.seekSync(0, Deno.SeekMode.Start);
      writeAllSync(file, new TextEncoder().encode(`${Deno.pid}\n`));
    } catch (e) {
      file.close();
      throw e;
    }
    this.#lockFile = file;
    lockedHere.add(path);
  }

  /** Empties `owner.lock` and releases the OS lock (closing the file does). Idempotent. */
  #unlock(): void {
    const file = this.#lockFile;
    if (!file) return;
    this.#lockFile = undefined;
    lockedHere.delete(this.#lockPath);
    try {
      file.truncateSync(0);
    } catch {
      // Only informative: the next owner would log a stale lock.
    }
    file.close();
  }

  /**
   * Makes a directory's entries (files created or renamed in it) durable, off the event loop.
   * Where the platform cannot sync a directory (Windows cannot open one), logs a warning once
   * and goes on.
   */
  async #syncDir(path: string): Promise<void> {
    let dir: Deno.FsFile | undefined;
    try {
      dir = await Deno.open(path, { read: true });
      await dir.sync();
    } catch (e) {
      if (!this.#dirSyncWarned) {
        this.#dirSyncWarned = true;
        this.#log.warn("cannot sync a directory on this platform; a power cut may lose new files", {
          dir: path,
          error: `${e}`,
        });
      }
    } finally {
      dir?.close();
    }
  }

  /** The current state. */
  get state(): Readonly<SeqState> {
    return this.#state;
  }

  /** What the store holds in memory and has read from disk. */
  get stats(): FileStoreStats {
    return {
      indexEntries: this.#out.index.count,
      bytesReadOnOpen: this.#stats.bytesReadOnOpen,
      bytesRead: this.#stats.bytesRead,
    };
  }

  #assertOpen(): void {
    if (this.#failure) throw this.#failed();
    if (this.#closed) throw new Error(`Cannot use store: "${this.#dir}" is closed`);
  }

  /** Open, and no reset running: a write now would belong to neither sequence for sure. */
  #assertWritable(): void {
    this.#assertOpen();
    if (this.#resetting) {
      throw new Error(`Cannot use store: "${this.#dir}" is being reset; await reset() first`);
    }
  }

  /** A fresh error (its own stack) for a use of a store closed by a failure. */
  #failed(): Error {
    return new Error(this.#failure!.message, { cause: this.#failure!.cause });
  }

  /**
   * Buffers one outgoing message until `flush`. Only the bytes are kept: no index entry is made
   * for it (a checkpoint every 4096 messages or 1 MiB).
   *
   * @param seqNum MsgSeqNum: above the last stored number of this sequence.
   * @param bytes The message: one whole FIX message whose MsgSeqNum(34) is `seqNum`.
   * @throws {RangeError} When `seqNum` is not above the last stored one, or `bytes` is not one
   *   whole FIX message with that MsgSeqNum(34).
   * @throws {Error} When the store is closed, or a reset is running.
   */
  appendOutgoing(seqNum: number, bytes: Uint8Array): void {
    this.#assertWritable();
    const log = this.#out;
    if (seqNum <= log.lastKey) {
      throw new RangeError(
        `Cannot store message: MsgSeqNum ${seqNum} is not above ${log.lastKey}, the last stored in this sequence`,
      );
    }
    const seq = messageSeq(bytes);
    if (seq !== seqNum) {
      throw new RangeError(
        typeof seq === "string"
          ? `Cannot store message ${seqNum}: ${seq}`
          : `Cannot store message ${seqNum}: its MsgSeqNum(34) is ${seq}`,
      );
    }
    log.append(seqNum, bytes);
    // No state line for this: the log, written first, holds the number (on open the next
    // sender number is one past the last stored message), so a flush of stored messages alone
    // is one write.
    this.#state.nextSenderSeqNum = seqNum + 1;
  }

  /**
   * Buffers an inbound message for `incoming.log` when enabled.
   *
   * @param bytes The raw message.
   */
  appendIncoming(bytes: Uint8Array): void {
    if (this.#failure) throw this.#failed();
    const log = this.#in;
    if (log && !this.#closed) log.append(log.lastKey + 1, bytes);
  }

  /**
   * Sets the next sender number.
   *
   * @param seqNum The number.
   */
  setNextSenderSeqNum(seqNum: number): void {
    this.#assertWritable();
    this.#state.nextSenderSeqNum = seqNum;
    this.#stateDirty = true;
    this.#senderDirty = true;
  }

  /**
   * Sets the next target number.
   *
   * @param seqNum The number.
   */
  setNextTargetSeqNum(seqNum: number): void {
    this.#assertWritable();
    this.#state.nextTargetSeqNum = seqNum;
    this.#targetDirty = true;
  }

  /**
   * Sets the correctly-terminated marker.
   *
   * @param value The marker.
   */
  setCorrectlyTerminated(value: boolean): void {
    this.#assertWritable();
    this.#state.correctlyTerminated = value;
    this.#stateDirty = true;
  }

  // -------------------------------------------------------------------------------------------
  // The I/O queue. In sync "none" every task is synchronous (a write hands bytes to the OS), as
  // before; in "batch" and "message" a task awaits the disk off the event loop, and the next one
  // starts when it is done.

  /** Runs `task` after the running one, or now. */
  #enqueue(task: () => Promise<void>): Promise<void> {
    if (this.#tail === undefined) {
      const run = task();
      return this.#depth === 0 ? run : this.#track(run);
    }
    return this.#track(this.#tail.then(task, task));
  }

  #track(run: Promise<void>): Promise<void> {
    const tail: Promise<void> = run.then(noop, noop).then(() => {
      if (this.#tail === tail) this.#tail = undefined;
    });
    this.#tail = tail;
    return run;
  }

  /** Commits now, or joins the commit queued behind the running task (group commit). */
  #commit(all: boolean): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failed());
    if (this.#closed) return RESOLVED;
    if (this.#queued) {
      this.#queuedAll ||= all;
      return this.#queued;
    }
    if (this.#tail === undefined) {
      return this.#enqueue(() => this.#task(() => this.#commitWork(all)));
    }
    this.#queuedAll = all;
    const queued = this.#enqueue(() => {
      if (this.#queued === queued) this.#queued = undefined;
      return this.#task(() => this.#commitWork(this.#queuedAll));
    });
    this.#queued = queued;
    return queued;
  }

  /**
   * Runs the work of one task, counting it as running until it settles: `#enqueue` sees
   * whether it finished synchronously.
   */
  #task(work: () => Promise<void> | undefined): Promise<void> {
    let p: Promise<void> | undefined;
    this.#depth++;
    try {
      if (this.#failure) throw this.#failed();
      p = work();
    } catch (e) {
      this.#depth--;
      return Promise.reject(e);
    }
    if (!p) {
      this.#depth--;
      return RESOLVED;
    }
    return p.finally(() => {
      this.#depth--;
    });
  }

  /**
   * Writes the messages (one write, or one per message with `sync: "message"`), then the state
   * line (all of it, or only when the sender number moved other than by storing a message), then
   * (`all`) the inbound messages. The messages and the state line are those buffered when the
   * commit starts, so the state line never runs ahead of the log. A next target number that
   * moved goes with the messages, as a target record ending their write, whenever there are
   * messages (and not one write per message): no state line for it then. Synchronous in sync
   * "none".
   */
  #commitWork(all: boolean): Promise<void> | undefined {
    const out = this.#out;
    let recorded = false;
    if (
      out.pendingLen > 0 && this.#sync !== "message" &&
      (this.#targetDirty || (out.checkpointDue && this.#lineBehind))
    ) {
      out.appendTarget(formatTarget(this.#state.nextTargetSeqNum, this.#targetRecord));
      this.#targetDirty = false;
      recorded = true;
    }
    const dirty = all ? this.#stateDirty || this.#targetDirty : this.#senderDirty;
    const wasSenderDirty = this.#senderDirty;
    let line: Uint8Array | undefined;
    if (dirty) {
      line = formatState(this.#state, this.#stateLine, out.end);
      this.#stateDirty = false;
      this.#senderDirty = false;
      this.#targetDirty = false;
      this.#lineBehind = false;
    } else if (recorded) {
      this.#lineBehind = true;
    }
    // In sync "none" every step is done here, in order, without a closure per commit.
    let p: Promise<void> | undefined;
    try {
      p = this.#writeLog(this.#out);
      if (line) {
        const stateLine = line;
        p = p ? p.then(() => this.#writeState(stateLine)) : this.#writeState(stateLine);
      }
    } catch (e) {
      this.#commitFailed(e, line !== undefined, wasSenderDirty);
    }
    if (p === undefined) return all && this.#in ? this.#writeLog(this.#in) : undefined;
    return p.then(
      () => all && this.#in ? this.#writeLog(this.#in) : undefined,
      (e) => this.#commitFailed(e, line !== undefined, wasSenderDirty),
    );
  }

  /**
   * A commit's messages or state line failed: the state line is written by the next one. A
   * target record goes back with its batch (see `AppendLog.putBack`) and is written with it.
   */
  #commitFailed(e: unknown, hadLine: boolean, wasSenderDirty: boolean): never {
    if (hadLine) {
      this.#stateDirty = true;
      this.#senderDirty ||= wasSenderDirty;
      // The line on disk may be older than the last target record.
      this.#lineBehind = true;
    }
    throw e;
  }

  /** Writes a log's pending batch (synchronously in sync "none"). */
  #writeLog(log: AppendLog): Promise<void> | undefined {
    if (log.pendingLen === 0) return undefined;
    log.take();
    if (this.#sync === "none") {
      try {
        writeAllSync(log.file, log.flying!.subarray(0, log.flyingLen));
      } catch (e) {
        try {
          log.file.truncateSync(log.size);
        } catch (cut) {
          this.#failWrite(log, e, cut);
        }
        log.putBack();
        throw e;
      }
      log.landed();
      log.persistIndex(this.#log);
      return undefined;
    }
    return this.#writeLogAsync(log);
  }

  async #writeLogAsync(log: AppendLog): Promise<void> {
    const buf = log.flying!;
    try {
      if (this.#sync === "message") {
        let from = 0;
        for (const end of log.flyingEnds) {
          await writeAll(log.file, buf.subarray(from, end));
          await log.file.syncData();
          from = end;
        }
      } else {
        await writeAll(log.file, buf.subarray(0, log.flyingLen));
        await log.file.syncData();
      }
    } catch (e) {
      // A partial write is cut off, so a retry appends at the same offset.
      try {
        await log.file.truncate(log.size);
      } catch (cut) {
        this.#failWrite(log, e, cut);
      }
      log.putBack();
      throw e;
    }
    log.landed();
    log.persistIndex(this.#log);
  }

  #failWrite(log: AppendLog, e: unknown, cut: unknown): void {
    this.#fail(
      `a write to ${log.path} failed (${message(e)}) and could not be cut back (${message(cut)})`,
      { cause: e },
    );
  }

  /** Appends the state line (one `write`, synced when the store syncs), or compacts the file. */
  #writeState(line: Uint8Array): Promise<void> | undefined {
    if (this.#stateLines >= STATE_COMPACT_LINES) return this.#recompactState(line);
    if (this.#sync === "none") {
      writeAllSync(this.#stateFile, line);
      this.#stateLines++;
      return undefined;
    }
    return (async () => {
      await writeAll(this.#stateFile, line);
      await this.#stateFile.syncData();
      this.#stateLines++;
    })();
  }

  /**
   * Replaces the open `state.txt` by a compacted one holding `line`. The old file is closed first
   * (a file cannot be renamed over while open everywhere); if compacting fails, it is reopened
   * so the store stays usable, and the error is thrown.
   */
  #recompactState(line: Uint8Array): Promise<void> | undefined {
    this.#stateFile.close();
    const reopen = (e: unknown): never => {
      try {
        this.#stateFile = Deno.openSync(`${this.#dir}/state.txt`, { read: true, append: true });
      } catch (again) {
        const why = `state.txt could not be compacted (${message(e)}) nor reopened`;
        this.#fail(`${why} (${message(again)})`, { cause: e });
      }
      throw e;
    };
    try {
      const f = this.#compactState(line);
      if (f instanceof Promise) {
        return f.then((file) => {
          this.#stateFile = file;
        }, reopen);
      }
      this.#stateFile = f;
    } catch (e) {
      reopen(e);
    }
    return undefined;
  }

  /**
   * Writes `state.txt` anew with `line` as its only line: a temporary file, synced when the store
   * syncs, renamed over the old one (a crash leaves the old or the new file, never a mix).
   * Returns the new file, open for appending (asynchronously when the store syncs).
   */
  #compactState(line: Uint8Array): Deno.FsFile | Promise<Deno.FsFile> {
    const path = `${this.#dir}/state.txt`;
    const tmp = `${path}.tmp`;
    if (this.#sync !== "none") {
      return (async () => {
        const f = await Deno.open(tmp, { write: true, create: true, truncate: true });
        try {
          await writeAll(f, line);
          await f.syncData();
        } finally {
          f.close();
        }
        Deno.renameSync(tmp, path);
        await this.#syncDir(this.#dir);
        this.#stateLines = 1;
        return Deno.openSync(path, { read: true, append: true });
      })();
    }
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      writeAllSync(f, line);
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, path);
    this.#stateLines = 1;
    return Deno.openSync(path, { read: true, append: true });
  }

  /**
   * Writes the batch: messages in one write (or one per message with `sync: "message"`), then
   * the state line, then the inbound messages; syncs as configured, off the event loop. A flush
   * called while another is writing shares the next write with every flush called meanwhile.
   *
   * @returns Resolves when written (and synced).
   */
  flush(): Promise<void> {
    return this.#commit(true);
  }

  /**
   * Writes the stored messages, and the state line only when the next sender number is not
   * one past the last of them (a session message took a number): what must be durable before
   * sending. The rest waits for `flush()`.
   *
   * @returns Resolves when written (and synced).
   */
  flushOutgoing(): Promise<void> {
    return this.#commit(false);
  }

  /**
   * Commits at once when nothing is in flight and the sync mode is "none" (the writes are
   * synchronous then): `flushOutgoing()` or `flush()` without a promise.
   *
   * @param outgoingOnly Only what sending depends on, as `flushOutgoing()`.
   * @returns True once written; false when the commit must wait (a task in flight, fsync).
   * @throws {Error} When the store failed earlier, or when the write fails (as a failed
   *   `flush()` would reject).
   */
  flushSync(outgoingOnly: boolean): boolean {
    if (this.#failure) throw this.#failed();
    if (this.#closed) return true;
    if (
      this.#sync !== "none" || this.#tail !== undefined || this.#queued !== undefined ||
      this.#depth > 0 || this.#resetting !== undefined
    ) return false;
    this.#depth++;
    let p: Promise<void> | undefined;
    try {
      p = this.#commitWork(!outgoingOnly);
    } finally {
      this.#depth--;
    }
    if (p === undefined) return true;
    // It went asynchronous after all (compacting the state file): a task the next commit waits for.
    this.#depth++;
    // Its failure reaches the caller through the commit it makes next.
    this.#track(p.finally(() => {
      this.#depth--;
    })).catch(noop);
    return false;
  }

  /**
   * Reads stored messages in a range: from the checkpoint before `from`, streaming the log in
   * chunks (then the batches not written yet), so memory stays bounded whatever the range. A
   * read started before a reset or `close()` stops there.
   *
   * @param from First number.
   * @param to Last number.
   * @returns The messages, ascending.
   * @throws {StoreCorruptError} When the part of the log read is damaged.
   */
  async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
    if (this.#failure) throw this.#failed();
    if (this.#resetting) await this.#resetting.catch(noop);
    if (this.#failure) throw this.#failed();
    if (this.#closed) return;
    const log = this.#out;
    const gen = this.#generation;
    const stop = log.end;
    const at = log.index.floor(from);
    let p = at >= 0 ? log.index.offsets[at] : 0;
    let expect = at >= 0 ? log.index.keys[at] : -1;
    let last = 0;
    let reader: LogReader | undefined;
    const current = () => !this.#closed && this.#generation === gen;
    try {
      while (p < stop && current()) {
        let seq: number, end: number, bytes: Uint8Array = EMPTY;
        if (p < log.size) {
          reader ??= await openReader(log.path, this.#stats);
          if (!reader || !current()) return;
          reader.limit = log.size;
          // CheckSum(10) is checked on the records served, not on those stepped over.
          let rec = reader.drive(recordSteps(reader, p, true, false));
          if (rec instanceof Promise) {
            rec = await rec;
            if (!current()) return;
          }
          if (typeof rec !== "object") {
            const problem = rec === "torn" ? "record is cut short" : rec;
            throw new StoreCorruptError(log.path, p, problem, "read store");
          }
          if (rec.target > 0) {
            p = rec.end;
            continue;
          }
          if (rec.seq >= from && rec.seq <= to) {
            if (!checksumMatches(reader.buf, rec.start - reader.at, rec.end - 7 - reader.at)) {
              throw new StoreCorruptError(log.path, p, "CheckSum(10) does not match", "read store");
            }
            bytes = reader.copy(rec.start, rec.end);
          }
          seq = rec.seq;
          end = rec.end;
        } else {
          const m = log.memoryRecord(p);
          if (!m) return;
          if (m.bytes[0] === 35) {
            // A target record (a batch put back after a failed write holds one).
            p = m.end;
            continue;
          }
          seq = messageSeq(m.bytes) as number;
          end = m.end;
          if (seq >= from && seq <= to) bytes = m.bytes.slice();
        }
        if (expect >= 0 && seq !== expect) {
          // The index is derived data: the read starts again from the checkpoint before.
          log.dropCheckpoint(at, this.#log);
          reader?.close();
          reader = undefined;
          yield* this.readOutgoing(from, to);
          return;
        }
        expect = -1;
        p = end;
        if (seq > to) return;
        if (seq >= from && seq > last) {
          last = seq;
          yield { seqNum: seq, bytes };
        }
      }
    } finally {
      reader?.close();
    }
  }

  /**
   * Reads `incoming.log` in chunks (and the unflushed inbound messages). When this run does not
   * log incoming messages, the file is read as earlier runs left it: a torn last write is
   * skipped.
   *
   * @returns The inbound messages, in arrival order.
   * @throws {StoreCorruptError} When the log is damaged in the middle.
   */
  async *readIncoming(): AsyncIterable<Uint8Array> {
    if (this.#failure) throw this.#failed();
    const log = this.#in;
    const path = `${this.#dir}/incoming.log`;
    if (log === undefined) {
      const r = await openReader(path, this.#stats);
      if (!r) return;
      try {
        for await (const rec of r.records(walkSteps(r, 0, false, path))) {
          yield r.copy(rec.start, rec.end);
        }
      } finally {
        r.close();
      }
      return;
    }
    const stop = log.end;
    let p = 0;
    let reader: LogReader | undefined;
    try {
      while (p < stop) {
        if (p < log.size) {
          reader ??= await openReader(path, this.#stats);
          if (!reader) return;
          reader.limit = log.size;
          let rec = reader.drive(recordSteps(reader, p, false));
          if (rec instanceof Promise) rec = await rec;
          if (typeof rec !== "object") {
            const problem = rec === "torn" ? "record is cut short" : rec;
            throw new StoreCorruptError(path, p, problem, "read store");
          }
          p = rec.end;
          yield reader.copy(rec.start, rec.end);
        } else {
          const m = log.memoryRecord(p);
          if (!m) return;
          p = m.end;
          yield m.bytes.slice();
        }
      }
    } finally {
      reader?.close();
    }
  }

  /**
   * Starts a new sequence: the old log is kept as `outgoing.<creationTime>.log` (with `-1`,
   * `-2`... added when that name is taken), numbers go to 1 and the creation time is set. The
   * inbound log is kept. What was stored before the call goes to the old log. Until the
   * returned promise settles, writes (`append*` but inbound, `set*`) are refused and reads wait.
   *
   * A failure (a read-only folder, a full disk) is undone: the old log goes back in place and
   * the store goes on with its old sequence. Only when that is impossible too (the folder was
   * removed) is the store closed, and every later use throws, naming the failed reset.
   *
   * @param creationTimeMs The new creation time.
   * @returns Resolves when the new sequence is written.
   * @throws {Error} When the store is closed, or the reset failed: the store then keeps its old
   *   sequence, or (when that could not be restored) is closed.
   */
  reset(creationTimeMs: number): Promise<void> {
    try {
      this.#assertOpen();
    } catch (e) {
      return Promise.reject(e);
    }
    // A later flush must not join a commit queued before the reset.
    this.#queued = undefined;
    const run = this.#enqueue(() =>
      this.#task(() => chain([() => this.#commitWork(true), () => this.#resetWork(creationTimeMs)]))
    );
    if (this.#tail !== undefined) {
      this.#resetting = run;
      const done = () => {
        if (this.#resetting === run) this.#resetting = undefined;
      };
      run.then(done, done);
    }
    return run;
  }

  /** Archives the log and writes the new sequence's state. Synchronous in sync "none". */
  #resetWork(creationTimeMs: number): Promise<void> | undefined {
    const out = this.#out;
    const logPath = out.path;
    const old = { state: this.#state, size: out.size };
    let archive: string | undefined;
    const failed = (e: unknown): never => {
      this.#undoReset(logPath, archive, old, e);
      if (this.#failure) throw this.#failed();
      throw new Error(
        `Cannot reset store: "${this.#dir}" keeps its old sequence (${message(e)})`,
        { cause: e },
      );
    };
    const done = () => {
      out.clear(String(creationTimeMs));
      this.#generation++;
      // Written after the state: a crash before leaves an index of the old creation time,
      // which the next open does not trust.
      out.rewriteIndex(this.#log);
    };
    let p: Promise<void> | undefined;
    // The log is closed before it is renamed: an open file cannot be renamed on every platform.
    out.file.close();
    try {
      if (out.size > 0) {
        let name = `${this.#dir}/${archiveName(this.#state.creationTimeMs, 0)}`;
        for (let n = 1; exists(name); n++) {
          name = `${this.#dir}/${archiveName(this.#state.creationTimeMs, n)}`;
        }
        Deno.renameSync(logPath, name);
        archive = name;
      }
      out.file = Deno.openSync(logPath, { read: true, append: true, create: true });
      p = chain([
        // The rename and the new log are directory changes: sync them before the new state.
        () => this.#sync !== "none" ? this.#syncDir(this.#dir) : undefined,
        () => {
          this.#state = {
            nextSenderSeqNum: 1,
            nextTargetSeqNum: 1,
            creationTimeMs,
            correctlyTerminated: false,
          };
          this.#stateDirty = false;
          this.#senderDirty = false;
          this.#targetDirty = false;
          this.#lineBehind = false;
          // The new log is empty: any target record in it is newer than this line.
          return this.#writeState(formatState(this.#state, this.#stateLine, 0));
        },
      ]);
    } catch (e) {
      failed(e);
    }
    if (p) return p.then(done, failed);
    done();
    return undefined;
  }

  /**
   * Puts the old sequence back after a failed reset: the archived log back in place, reopened,
   * the old state in memory and marked for writing (a new state line may have reached the
   * file). When that fails too, the store is closed for good (see `#fail`).
   */
  #undoReset(
    logPath: string,
    archive: string | undefined,
    old: { state: SeqState; size: number },
    error: unknown,
  ): void {
    const out = this.#out;
    if (this.#failure) {
      // Closed meanwhile (state.txt was lost): at least leave the old log in place on disk.
      try {
        if (archive !== undefined) Deno.renameSync(archive, logPath);
      } catch {
        // The archive keeps the messages; the failure is reported.
      }
      return;
    }
    try {
      try {
        out.file.close();
      } catch {
        // Closed already: the failure came before the new log was open.
      }
      // Over the new, empty log if there is one.
      if (archive !== undefined) Deno.renameSync(archive, logPath);
      out.file = Deno.openSync(logPath, { read: true, append: true });
      // The index points into the old log: it must be that file, whole.
      const size = out.file.statSync().size;
      if (size !== old.size) {
        out.file.close();
        throw new Error(`outgoing.log is ${size} bytes, not ${old.size}`);
      }
    } catch (undo) {
      this.#fail(`a reset failed (${message(error)}) and could not be undone (${message(undo)})`, {
        cause: error,
      });
      return;
    }
    this.#state = old.state;
    this.#stateDirty = true;
    this.#senderDirty = true;
    // The old log's last target record may be newer than the line on disk.
    this.#lineBehind = true;
    this.#log.warn("store reset failed and was undone", { dir: this.#dir, error: `${error}` });
  }

  /**
   * Closes the store for good after a failure that leaves it unusable: the files are closed,
   * the lock released (so the session can be opened again once the cause is fixed), and every
   * later use throws an error saying `why`.
   */
  #fail(why: string, options: ErrorOptions): void {
    const reason = new Error(`Cannot use store: "${this.#dir}" was closed because ${why}`, options);
    this.#failure = reason;
    this.#closed = true;
    this.#out.close();
    this.#in?.close();
    try {
      this.#stateFile.close();
    } catch {
      // Closed already.
    }
    this.#unlock();
    this.#log.error("store closed after a failure", { dir: this.#dir, error: `${reason}` });
  }

  /**
   * Flushes (after any write in progress), closes the files and releases the lock. Idempotent.
   *
   * @returns Resolves when closed; rejects when the last flush failed (the store is closed
   *   anyway).
   */
  close(): Promise<void> {
    if (this.#closing) return this.#closing;
    if (this.#closed) return RESOLVED;
    this.#closed = true;
    this.#closing = this.#closeNow();
    return this.#closing;
  }

  async #closeNow(): Promise<void> {
    try {
      if (this.#tail) await this.#tail;
      if (this.#failure) return;
      const c = this.#commitWork(true);
      if (c) await c;
    } finally {
      if (!this.#failure) {
        this.#out.close();
        this.#in?.close();
        this.#stateFile.close();
        // Left at rest as one line when possible; the appended lines already hold the state,
        // so a failure here (the folder removed, the disk full) is only logged.
        if (this.#stateLines > 1 || this.#lineBehind) {
          try {
            const f = this.#compactState(formatState(this.#state, this.#stateLine, this.#out.end));
            (f instanceof Promise ? await f : f).close();
          } catch (e) {
            this.#log.warn("state.txt not compacted on close", { dir: this.#dir, error: `${e}` });
          }
        }
        this.#unlock();
      }
    }
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Opens file stores under one root folder.
 *
 * @example
 * ```ts
 * import { FileSeqStoreFactory } from "@fixwire/engine/file-store";
 * const factory = new FileSeqStoreFactory({ directory: "./fixwire-store", sync: "batch" });
 * ```
 */
export class FileSeqStoreFactory implements SeqStoreFactory {
  /**
   * Descriptors an open store keeps: the message log, its index and a reader, the state file,
   * the owner lock and the inbound log.
   */
  readonly descriptorsPerSession = 6;
  readonly #dir: string;
  readonly #sync: FileSyncMode;
  readonly #log: Logger;

  /**
   * Creates the factory.
   *
   * @param options Folder, durability and logger.
   */
  constructor(options: FileStoreOptions = {}) {
    this.#dir = options.directory ?? "./fixwire-store";
    this.#sync = options.sync ?? "none";
    this.#log = options.logger ?? SILENT_LOGGER;
  }

  /**
   * Opens a session's store, recovering from a torn last write. Its folder is named by
   * `id.key`; a folder a CompID with `-`, `:` ... had under the old, non-injective key is
   * renamed to it when it is provably this session's (logged), and otherwise left alone.
   *
   * @param id The session.
   * @param options Creation time and inbound log switch.
   * @returns The store.
   * @throws {StoreCorruptError} When the log is damaged beyond a torn tail.
   * @throws {StoreLockedError} When another process owns the session.
   * @throws {Error} When this process has the session open already, or when another session's
   *   folder answers for this one's name on a case-insensitive file system.
   */
  open(id: SessionId, options: SeqStoreOpenOptions): Promise<FileSeqStore> {
    try {
      return FileSeqStore.open(fileStoreFolder(this.#dir, id, this.#log), {
        sync: this.#sync,
        logger: this.#log,
        nowMs: options.nowMs,
        logIncoming: options.logIncoming ?? false,
      });
    } catch (e) {
      return Promise.reject(e);
    }
  }
}

/** What {@linkcode readFileStore} found in a store folder. */
export interface FileStoreContents {
  /**
   * The state (its next sender number at least one past the last stored message, as on open),
   * or `undefined` when there is no `state.txt`.
   */
  state: SeqState | undefined;
  /** The complete stored outgoing messages (those from `from` to `to`), in log order. */
  messages: StoredMessage[];
  /** How many complete messages the log holds, in the range or not. */
  count: number;
  /** Bytes of a torn last write after the last complete message (0 when none). */
  tornBytes: number;
}

/** An outgoing log that a reset archived, as {@linkcode readArchivedLogs} found it. */
export interface ArchivedLog {
  /** The file name in the session's folder, such as `outgoing.1764000000000.log`. */
  file: string;
  /** The creation time of the sequence the log holds (the time in its name). */
  creationTimeMs: number;
  /** Its complete messages (those from `from` to `to`), in log order. */
  messages: StoredMessage[];
  /** How many complete messages the log holds, in the range or not. */
  count: number;
  /** Bytes of a torn last write after the last complete message (0 when none). */
  tornBytes: number;
}

function warnTorn(logger: Logger | undefined, file: string, end: number, size: number): void {
  if (size > end) {
    (logger ?? SILENT_LOGGER).warn("store has a torn last write", {
      file,
      offset: end,
      droppedBytes: size - end,
    });
  }
}

/**
 * Reads a store folder without opening it for writing and without taking its lock, so it works
 * on a session that is running: the state and the stored outgoing messages. For operator tools.
 * The log is streamed in chunks, checked whole (it tells damage apart the way opening the store
 * does: a torn last write is left out, reported in `tornBytes` and logged; damage in the middle
 * of the log throws), and only the messages from `from` to `to` are kept: give a range for a
 * long log.
 *
 * @param dir The session's folder.
 * @param options Where a torn last write is logged; the MsgSeqNum range to keep (default all).
 * @returns The state, the raw messages of the range, and the log's message count.
 * @throws {StoreCorruptError} When `outgoing.log` is damaged in the middle, or `state.txt` is
 *   unreadable.
 * @example
 * ```ts ignore
 * import { readFileStore } from "@fixwire/engine/file-store";
 * const { state, messages } = await readFileStore("./fixwire-store/TEST1-TEST2");
 * const some = await readFileStore("./fixwire-store/TEST1-TEST2", { from: 500, to: 600 });
 * ```
 */
export async function readFileStore(
  dir: string,
  options: { logger?: Logger; from?: number; to?: number } = {},
): Promise<FileStoreContents> {
  let found: { state: SeqState; logEnd: number } | undefined;
  try {
    found = parseState(await Deno.readTextFile(`${dir}/state.txt`), `${dir}/state.txt`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const path = `${dir}/outgoing.log`;
  const from = options.from ?? -Infinity, to = options.to ?? Infinity;
  const messages: StoredMessage[] = [];
  let count = 0, last = 0, lastTarget = 0, lastTargetAt = -1;
  const { end, size } = await scanFile(path, true, (rec, r) => {
    if (rec.target > 0) {
      lastTarget = rec.target;
      lastTargetAt = rec.start;
      return;
    }
    count++;
    if (rec.seq > last) last = rec.seq;
    if (rec.seq >= from && rec.seq <= to) {
      messages.push({ seqNum: rec.seq, bytes: r.copy(rec.start, rec.end) });
    }
  });
  warnTorn(options.logger, path, end, size);
  // As on open: the next target number of a newer target record, and the next sender number
  // at least one past the last stored message.
  const state = found && withTarget(found, lastTarget, lastTargetAt);
  if (state && last + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = last + 1;
  return { state, messages, count, tornBytes: size - end };
}

/**
 * Reads the outgoing logs that resets archived in a store folder (see
 * {@linkcode FileSeqStore.reset}), oldest sequence first. Like {@linkcode readFileStore}, it
 * takes no lock, so it works on a running session, and streams each log, keeping the messages
 * from `from` to `to`; a torn last write is left out, reported in `tornBytes` and logged; damage
 * in the middle of a log throws.
 *
 * @param dir The session's folder.
 * @param options Where a torn last write is logged; the MsgSeqNum range to keep (default all).
 * @returns The archived logs, by creation time (then by the `-<n>` suffix a reset adds when one
 *   creation time was archived twice).
 * @throws {StoreCorruptError} When an archived log is damaged in the middle.
 * @throws {Deno.errors.NotFound} When the folder does not exist.
 * @example
 * ```ts ignore
 * import { readArchivedLogs } from "@fixwire/engine/file-store";
 * const [oldest] = await readArchivedLogs("./fixwire-store/TEST1-TEST2");
 * // oldest?.file: "outgoing.1764000000000.log"; oldest?.messages: its stored messages
 * ```
 */
export async function readArchivedLogs(
  dir: string,
  options: { logger?: Logger; from?: number; to?: number } = {},
): Promise<ArchivedLog[]> {
  const from = options.from ?? -Infinity, to = options.to ?? Infinity;
  const found: { file: string; creationTimeMs: number; n: number }[] = [];
  for await (const e of Deno.readDir(dir)) {
    const m = ARCHIVE_NAME.exec(e.name);
    if (e.isFile && m) {
      found.push({ file: e.name, creationTimeMs: Number(m[1]), n: Number(m[2] ?? 0) });
    }
  }
  found.sort((a, b) => a.creationTimeMs - b.creationTimeMs || a.n - b.n);
  const out: ArchivedLog[] = [];
  for (const { file, creationTimeMs } of found) {
    const path = `${dir}/${file}`;
    const messages: StoredMessage[] = [];
    let count = 0;
    const { end, size } = await scanFile(path, true, (rec, r) => {
      if (rec.target > 0) return;
      count++;
      if (rec.seq >= from && rec.seq <= to) {
        messages.push({ seqNum: rec.seq, bytes: r.copy(rec.start, rec.end) });
      }
    });
    warnTorn(options.logger, path, end, size);
    out.push({ file, creationTimeMs, messages, count, tornBytes: size - end });
  }
  return out;
}
