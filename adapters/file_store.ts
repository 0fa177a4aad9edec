/**
 * The file store, fixwire's default: one folder per session holding
 *
 * - `outgoing.log`: every stored outgoing message, raw FIX back to back (ordinary FIX log tools
 *   read it), appended in one write per batch;
 * - `state.txt`: fixed-width lines with the next sender and target numbers, the creation time
 *   and the correctly-terminated marker. A flush appends one line (no seek: one `write`), the
 *   last complete line is the state, and the file is compacted to one line on open, on close
 *   and every 1024 lines (80 KiB), by writing a new file and renaming it over the old one;
 * - `incoming.log` (when the session logs incoming messages): inbound messages, raw, read back
 *   with `readIncoming()`;
 * - `owner.lock`: held with an exclusive OS file lock (`Deno.FsFile.tryLockSync`) while the store
 *   is open, so two processes never own one session. The OS drops the lock when its process ends,
 *   however it ends (`kill -9` included), so a crash leaves nothing to clean up; a second process
 *   is refused with {@linkcode StoreLockedError}. While open the file names the owner's process
 *   id (emptied on close). The file itself stays: deleting a lock file lets two processes lock
 *   two different files of the same name.
 *
 * A reset keeps the old `outgoing.log` as `outgoing.<creationTime>.log` ({@linkcode
 * readArchivedLogs} reads them); a reset that fails is undone, or else closes the store.
 *
 * Durability (`sync`):
 * - `"none"` (default): each flush hands the batch to the OS in one `write`. Survives a crash
 *   or `kill -9` of the process; a power cut may lose the last batches.
 * - `"batch"`: `fdatasync` after each batch. Survives a power cut; costs one sync per batch.
 * - `"message"`: one write and one `fdatasync` per message. Slowest; the strictest.
 *
 * In `"batch"` and `"message"` modes the folders are synced too when files are created (open)
 * or renamed (reset), so a power cut cannot lose a new file's directory entry. Where a platform
 * cannot sync a directory, that is logged once as a warning.
 *
 * On open the logs are scanned: a torn last record (a crash mid-write) is cut off and logged; it
 * is never served in a resend. Bad bytes followed by a complete record (damage in the middle,
 * which no crash produces) are reported as {@linkcode StoreCorruptError} instead of being
 * silently dropped or reset; {@linkcode readFileStore} tells the two apart the same way. The next
 * sender number is one past the last complete record.
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
   */
  constructor(path: string, offset: number, problem: string) {
    super(`Cannot open store: file "${path}" is corrupt at byte ${offset}: ${problem}`);
    this.name = "StoreCorruptError";
    this.path = path;
    this.offset = offset;
  }
}

const STATE_LINE = 80;
/** The `owner.lock` paths of the stores open in this process (an OS lock is per process). */
const lockedHere = new Set<string>();

interface Record {
  seq: number;
  start: number;
  end: number;
}

/**
 * Parses one record at `p`: returns it, `"torn"` when it runs past the end, or a problem text.
 * `strict` (the outgoing log) also checks CheckSum(10) and requires MsgSeqNum(34); the inbound
 * log keeps what the counterparty sent, so only the framing is checked there.
 */
function parseRecord(buf: Uint8Array, p: number, strict: boolean): Record | "torn" | string {
  const n = buf.length;
  const need = (k: number) => p + k <= n;
  if (!need(2)) return "torn";
  if (buf[p] !== 56 || buf[p + 1] !== 61) return "record does not start with 8=";
  let q = p + 2;
  while (q < n && buf[q] !== 1) q++;
  if (q >= n) return "torn";
  if (!need(q - p + 3)) return "torn";
  if (buf[q + 1] !== 57 || buf[q + 2] !== 61) return "BodyLength(9) missing";
  let r = q + 3, len = 0;
  while (r < n && buf[r] !== 1) {
    const d = buf[r] - 48;
    if (d < 0 || d > 9) return "BodyLength(9) is not a number";
    len = len * 10 + d;
    r++;
  }
  if (r >= n) return "torn";
  const trailer = r + 1 + len;
  if (trailer + 7 > n) return "torn";
  if (
    buf[trailer] !== 49 || buf[trailer + 1] !== 48 || buf[trailer + 2] !== 61 ||
    buf[trailer + 6] !== 1
  ) {
    return "BodyLength(9) does not match";
  }
  if (!strict) return { seq: 0, start: p, end: trailer + 7 };
  let sum = 0;
  for (let i = p; i < trailer; i++) sum += buf[i];
  const cks = (buf[trailer + 3] - 48) * 100 + (buf[trailer + 4] - 48) * 10 +
    (buf[trailer + 5] - 48);
  if ((sum & 255) !== cks) return "CheckSum(10) does not match";
  // MsgSeqNum(34)
  let seq = -1;
  for (let i = r; i < trailer - 4; i++) {
    if (buf[i] === 1 && buf[i + 1] === 51 && buf[i + 2] === 52 && buf[i + 3] === 61) {
      let v = 0, k = i + 4;
      while (k < trailer && buf[k] >= 48 && buf[k] <= 57) v = v * 10 + buf[k++] - 48;
      seq = v;
      break;
    }
  }
  if (seq <= 0) return "MsgSeqNum(34) missing";
  return { seq, start: p, end: trailer + 7 };
}

/** Whether a complete, valid record starts anywhere after `from`. */
function hasLaterRecord(buf: Uint8Array, from: number, strict: boolean): boolean {
  for (let i = from + 1; i + 1 < buf.length; i++) {
    if (buf[i] === 56 && buf[i + 1] === 61 && typeof parseRecord(buf, i, strict) === "object") {
      return true;
    }
  }
  return false;
}

/** A scanned log: its complete records and where the good part ends. */
interface ScannedLog {
  records: Record[];
  /** Length of the good part; bytes after it are a torn last write. */
  end: number;
}

/**
 * Scans a log. Bad bytes with no complete record after them are a torn last write (a crash
 * mid-write, or a power cut before the data reached the disk): `end` stops before them. Bad bytes
 * followed by a complete record are damage in the middle of the log: no crash produces that.
 *
 * @throws {StoreCorruptError} On damage in the middle of the log.
 */
function scanLog(buf: Uint8Array, path: string, strict: boolean): ScannedLog {
  const records: Record[] = [];
  let p = 0;
  while (p < buf.length) {
    const r = parseRecord(buf, p, strict);
    if (typeof r === "object") {
      records.push(r);
      p = r.end;
      continue;
    }
    if (hasLaterRecord(buf, p, strict)) {
      throw new StoreCorruptError(path, p, r === "torn" ? "record is cut short" : r);
    }
    break;
  }
  return { records, end: p };
}

function putAscii(out: Uint8Array, p: number, t: string): number {
  for (let i = 0; i < t.length; i++) out[p++] = t.charCodeAt(i);
  return p;
}

/** Writes the fixed-width state line into `out` (STATE_LINE bytes), without allocating. */
function formatState(s: SeqState, out: Uint8Array): Uint8Array {
  let p = putAscii(out, 0, "S ");
  p = putAscii(out, p, String(s.nextSenderSeqNum));
  p = putAscii(out, p, " T ");
  p = putAscii(out, p, String(s.nextTargetSeqNum));
  p = putAscii(out, p, " C ");
  p = putAscii(out, p, String(s.creationTimeMs));
  p = putAscii(out, p, s.correctlyTerminated ? " E 1" : " E 0");
  out.fill(32, p, STATE_LINE - 1);
  out[STATE_LINE - 1] = 10;
  return out;
}

/** Lines `state.txt` may hold before it is compacted to one. */
const STATE_COMPACT_LINES = 1024;

/**
 * The state in `state.txt`: its last complete line. A torn line after it (a crash mid-append)
 * is ignored; an unreadable last complete line is damage.
 */
function parseState(text: string, path: string): SeqState {
  const end = text.lastIndexOf("\n");
  const start = end < 0 ? 0 : text.lastIndexOf("\n", end - 1) + 1;
  const line = end < 0 ? text : text.slice(start, end);
  const m = /^S (\d+) T (\d+) C (-?\d+) E ([01])/.exec(line);
  if (!m) throw new StoreCorruptError(path, start, "state line is unreadable");
  return {
    nextSenderSeqNum: Number(m[1]),
    nextTargetSeqNum: Number(m[2]),
    creationTimeMs: Number(m[3]),
    correctlyTerminated: m[4] === "1",
  };
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
  #state: SeqState;
  #out: Deno.FsFile;
  #stateFile: Deno.FsFile;
  #stateLines = 0;
  #in: Deno.FsFile | undefined;
  #size: number;
  #index = new Map<number, [number, number]>();
  #pending = new Uint8Array(64 * 1024);
  #pendingLen = 0;
  #pendingEnds: number[] = [];
  #inPending: Uint8Array[] = [];
  #stateDirty = false;
  /** The next sender number changed other than by storing a message. */
  #senderDirty = false;
  #closed = false;
  /** Why the store was closed by a failure, not by `close()`; every later use throws it. */
  #failure: Error | undefined;
  #lockPath: string;
  #lockFile: Deno.FsFile | undefined;
  #dirSyncWarned = false;

  /**
   * Opens (recovering) the store in `dir`. Use the factory.
   *
   * @param dir The session's folder.
   * @param options Sync mode, logger, creation time, inbound log.
   */
  constructor(
    dir: string,
    options: { sync: FileSyncMode; logger: Logger; nowMs: number; logIncoming: boolean },
  ) {
    this.#dir = dir;
    this.#sync = options.sync;
    this.#log = options.logger;
    this.#logIncoming = options.logIncoming;
    Deno.mkdirSync(dir, { recursive: true });
    if (this.#sync !== "none") this.#syncDir(parentOf(dir));
    this.#lockPath = `${dir}/owner.lock`;
    this.#lock();
    const opened: Deno.FsFile[] = [];
    const open = (path: string, o: Deno.OpenOptions) => {
      const f = Deno.openSync(path, o);
      opened.push(f);
      return f;
    };
    try {
      const statePath = `${dir}/state.txt`;
      let state: SeqState;
      try {
        state = parseState(Deno.readTextFileSync(statePath), statePath);
      } catch (e) {
        if (!(e instanceof Deno.errors.NotFound)) throw e;
        state = {
          nextSenderSeqNum: 1,
          nextTargetSeqNum: 1,
          creationTimeMs: options.nowMs,
          correctlyTerminated: false,
        };
      }
      const logPath = `${dir}/outgoing.log`;
      this.#out = open(logPath, { read: true, append: true, create: true });
      const log = this.#recover(this.#out, logPath, true);
      this.#size = log.end;
      for (const r of log.records) this.#index.set(r.seq, [r.start, r.end]);
      let last = 0;
      for (const k of this.#index.keys()) if (k > last) last = k;
      if (last + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = last + 1;
      this.#state = state;
      this.#stateFile = this.#compactState();
      opened.push(this.#stateFile);
      if (this.#logIncoming) {
        const inPath = `${dir}/incoming.log`;
        this.#in = open(inPath, { read: true, append: true, create: true });
        this.#recover(this.#in, inPath, false);
      }
      // The files may be new: make their directory entries durable too.
      if (this.#sync !== "none") this.#syncDir(dir);
    } catch (e) {
      for (const f of opened) f.close();
      this.#unlock();
      throw e;
    }
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
      this.#writeAll(file, new TextEncoder().encode(`${Deno.pid}\n`));
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
   * Scans a log and cuts off a torn last write (logged).
   *
   * @throws {StoreCorruptError} On damage in the middle of the log.
   */
  #recover(file: Deno.FsFile, path: string, strict: boolean): ScannedLog {
    const buf = Deno.readFileSync(path);
    const log = scanLog(buf, path, strict);
    if (log.end < buf.length) {
      this.#log.warn("store recovered from a torn last write", {
        file: path,
        offset: log.end,
        droppedBytes: buf.length - log.end,
      });
      file.truncateSync(log.end);
      if (this.#sync !== "none") file.syncSync();
    }
    return log;
  }

  /**
   * Makes a directory's entries (files created or renamed in it) durable. Where the platform
   * cannot sync a directory (Windows cannot open one), logs a warning once and goes on.
   */
  #syncDir(path: string): void {
    let dir: Deno.FsFile | undefined;
    try {
      dir = Deno.openSync(path, { read: true });
      dir.syncSync();
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

  #assertOpen(): void {
    if (this.#failure) throw this.#failed();
    if (this.#closed) throw new Error(`Cannot use store: "${this.#dir}" is closed`);
  }

  /** A fresh error (its own stack) for a use of a store closed by a failure. */
  #failed(): Error {
    return new Error(this.#failure!.message, { cause: this.#failure!.cause });
  }

  /**
   * Buffers one outgoing message until `flush`.
   *
   * @param seqNum MsgSeqNum.
   * @param bytes The message.
   */
  appendOutgoing(seqNum: number, bytes: Uint8Array): void {
    this.#assertOpen();
    const need = this.#pendingLen + bytes.length;
    if (need > this.#pending.length) {
      const next = new Uint8Array(Math.max(need, this.#pending.length * 2));
      next.set(this.#pending.subarray(0, this.#pendingLen));
      this.#pending = next;
    }
    this.#pending.set(bytes, this.#pendingLen);
    const start = this.#size + this.#pendingLen;
    this.#pendingLen = need;
    this.#pendingEnds.push(need);
    this.#index.set(seqNum, [start, start + bytes.length]);
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
    if (this.#in && !this.#closed) this.#inPending.push(bytes.slice());
  }

  /**
   * Sets the next sender number.
   *
   * @param seqNum The number.
   */
  setNextSenderSeqNum(seqNum: number): void {
    this.#assertOpen();
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
    this.#assertOpen();
    this.#state.nextTargetSeqNum = seqNum;
    this.#stateDirty = true;
  }

  /**
   * Sets the correctly-terminated marker.
   *
   * @param value The marker.
   */
  setCorrectlyTerminated(value: boolean): void {
    this.#assertOpen();
    this.#state.correctlyTerminated = value;
    this.#stateDirty = true;
  }

  #writeAll(file: Deno.FsFile, bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += file.writeSync(bytes.subarray(off));
  }

  /** Appends the state line (one `write`), compacting the file when it has grown long. */
  #writeState(): void {
    if (this.#stateLines >= STATE_COMPACT_LINES) {
      this.#recompactState();
    } else {
      this.#writeAll(this.#stateFile, formatState(this.#state, this.#stateLine));
      this.#stateLines++;
    }
    this.#stateDirty = false;
    this.#senderDirty = false;
  }

  /**
   * Replaces the open `state.txt` by a compacted one. The old file is closed first (a file
   * cannot be renamed over while open everywhere); if compacting fails, it is reopened so the
   * store stays usable, and the error is thrown.
   */
  #recompactState(): void {
    this.#stateFile.close();
    try {
      this.#stateFile = this.#compactState();
    } catch (e) {
      try {
        this.#stateFile = Deno.openSync(`${this.#dir}/state.txt`, { read: true, append: true });
      } catch (reopen) {
        const why = `state.txt could not be compacted (${message(e)}) nor reopened`;
        this.#fail(`${why} (${message(reopen)})`, { cause: e });
      }
      throw e;
    }
  }

  /**
   * Writes `state.txt` anew with the current state as its only line: a temporary file, synced
   * when the store syncs, renamed over the old one (a crash leaves the old or the new file,
   * never a mix). Returns the new file, open for appending.
   */
  #compactState(): Deno.FsFile {
    const path = `${this.#dir}/state.txt`;
    const tmp = `${path}.tmp`;
    const f = Deno.openSync(tmp, { write: true, create: true, truncate: true });
    try {
      this.#writeAll(f, formatState(this.#state, this.#stateLine));
      if (this.#sync !== "none") f.syncDataSync();
    } finally {
      f.close();
    }
    Deno.renameSync(tmp, path);
    if (this.#sync !== "none") this.#syncDir(this.#dir);
    this.#stateLines = 1;
    return Deno.openSync(path, { read: true, append: true });
  }

  /**
   * Writes the batch: messages in one write (or one per message with `sync: "message"`), then
   * the state line; syncs as configured.
   *
   * @returns Resolves when written.
   */
  flush(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failed());
    if (this.#closed) return Promise.resolve();
    try {
      this.#flushSync();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /**
   * Writes the stored messages, and the state line only when the next sender number is not
   * one past the last of them (a session message took a number): what must be durable before
   * sending. The rest waits for `flush()`.
   *
   * @returns Resolves when written.
   */
  flushOutgoing(): Promise<void> {
    if (this.#failure) return Promise.reject(this.#failed());
    if (this.#closed) return Promise.resolve();
    try {
      this.#writeMessages();
      if (this.#senderDirty) this.#writeStateSynced();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #flushSync(): void {
    this.#writeMessages();
    if (this.#stateDirty) this.#writeStateSynced();
    if (this.#in && this.#inPending.length > 0) {
      const all = new Uint8Array(this.#inPending.reduce((n, b) => n + b.length, 0));
      let at = 0;
      for (const b of this.#inPending) {
        all.set(b, at);
        at += b.length;
      }
      this.#writeAll(this.#in, all);
      if (this.#sync !== "none") this.#in.syncDataSync();
      this.#inPending.length = 0;
    }
  }

  #writeStateSynced(): void {
    this.#writeState();
    if (this.#sync !== "none") this.#stateFile.syncDataSync();
  }

  #writeMessages(): void {
    if (this.#pendingLen > 0) {
      if (this.#sync === "message") {
        let from = 0;
        for (const end of this.#pendingEnds) {
          this.#writeAll(this.#out, this.#pending.subarray(from, end));
          this.#out.syncDataSync();
          from = end;
        }
      } else {
        this.#writeAll(this.#out, this.#pending.subarray(0, this.#pendingLen));
        if (this.#sync === "batch") this.#out.syncDataSync();
      }
      this.#size += this.#pendingLen;
      this.#pendingLen = 0;
      this.#pendingEnds.length = 0;
    }
  }

  /**
   * Reads stored messages in a range, from the file (and the unflushed batch).
   *
   * @param from First number.
   * @param to Last number.
   * @returns The messages, ascending.
   */
  async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
    if (this.#failure) throw this.#failed();
    const keys: number[] = [];
    for (const k of this.#index.keys()) if (k >= from && k <= to) keys.push(k);
    keys.sort((a, b) => a - b);
    for (const k of keys) {
      const at = this.#index.get(k);
      if (!at || this.#closed) continue;
      const [start, end] = at;
      let bytes: Uint8Array;
      if (start >= this.#size) {
        bytes = this.#pending.slice(start - this.#size, end - this.#size);
      } else {
        bytes = new Uint8Array(end - start);
        this.#out.seekSync(start, Deno.SeekMode.Start);
        let got = 0;
        while (got < bytes.length) {
          const n = this.#out.readSync(bytes.subarray(got));
          if (n === null) break;
          got += n;
        }
        if (got < bytes.length) continue;
      }
      yield { seqNum: k, bytes };
      await Promise.resolve();
    }
  }

  /**
   * Reads `incoming.log` (and the unflushed inbound messages). A torn last write is skipped.
   *
   * @returns The inbound messages, in arrival order.
   * @throws {StoreCorruptError} When the log is damaged in the middle.
   */
  async *readIncoming(): AsyncIterable<Uint8Array> {
    if (this.#failure) throw this.#failed();
    const pending = [...this.#inPending];
    const path = `${this.#dir}/incoming.log`;
    const buf = await readFileOrEmpty(path);
    for (const r of scanLog(buf, path, false).records) yield buf.subarray(r.start, r.end);
    for (const b of pending) yield b;
  }

  /**
   * Starts a new sequence: the old log is kept as `outgoing.<creationTime>.log` (with `-1`,
   * `-2`... added when that name is taken), numbers go to 1 and the creation time is set. The
   * inbound log is kept.
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
      this.#flushSync();
      this.#resetSync(creationTimeMs);
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #resetSync(creationTimeMs: number): void {
    const logPath = `${this.#dir}/outgoing.log`;
    const old = { state: this.#state, size: this.#size };
    let archive: string | undefined;
    // The log is closed before it is renamed: an open file cannot be renamed on every platform.
    this.#out.close();
    try {
      if (this.#size > 0) {
        let name = `${this.#dir}/${archiveName(this.#state.creationTimeMs, 0)}`;
        for (let n = 1; exists(name); n++) {
          name = `${this.#dir}/${archiveName(this.#state.creationTimeMs, n)}`;
        }
        Deno.renameSync(logPath, name);
        archive = name;
      }
      this.#out = Deno.openSync(logPath, { read: true, append: true, create: true });
      // The rename and the new log are directory changes: sync them before the new state.
      if (this.#sync !== "none") this.#syncDir(this.#dir);
      this.#state = {
        nextSenderSeqNum: 1,
        nextTargetSeqNum: 1,
        creationTimeMs,
        correctlyTerminated: false,
      };
      this.#writeState();
      if (this.#sync !== "none") this.#stateFile.syncDataSync();
    } catch (e) {
      this.#undoReset(logPath, archive, old, e);
      if (this.#failure) throw this.#failed();
      throw new Error(
        `Cannot reset store: "${this.#dir}" keeps its old sequence (${message(e)})`,
        { cause: e },
      );
    }
    this.#size = 0;
    this.#index.clear();
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
        this.#out.close();
      } catch {
        // Closed already: the failure came before the new log was open.
      }
      // Over the new, empty log if there is one.
      if (archive !== undefined) Deno.renameSync(archive, logPath);
      this.#out = Deno.openSync(logPath, { read: true, append: true });
      // The index points into the old log: it must be that file, whole.
      const size = this.#out.statSync().size;
      if (size !== old.size) {
        this.#out.close();
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
    for (const f of [this.#out, this.#stateFile, this.#in]) {
      try {
        f?.close();
      } catch {
        // Closed already.
      }
    }
    this.#unlock();
    this.#log.error("store closed after a failure", { dir: this.#dir, error: `${reason}` });
  }

  /** Flushes, closes the files and releases the lock. Idempotent. */
  close(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    try {
      this.#flushSync();
    } finally {
      this.#closed = true;
      this.#out.close();
      this.#stateFile.close();
      this.#in?.close();
      // Left at rest as one line when possible; the appended lines already hold the state, so
      // a failure here (the folder removed, the disk full) is only logged.
      if (this.#stateLines > 1) {
        try {
          this.#compactState().close();
        } catch (e) {
          this.#log.warn("state.txt not compacted on close", { dir: this.#dir, error: `${e}` });
        }
      }
      this.#unlock();
    }
    return Promise.resolve();
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
  open(id: SessionId, options: SeqStoreOpenOptions): Promise<SeqStore> {
    try {
      return Promise.resolve(
        new FileSeqStore(fileStoreFolder(this.#dir, id, this.#log), {
          sync: this.#sync,
          logger: this.#log,
          nowMs: options.nowMs,
          logIncoming: options.logIncoming ?? false,
        }),
      );
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
  /** The complete stored outgoing messages, in log order. */
  messages: StoredMessage[];
  /** Bytes of a torn last write after the last complete message (0 when none). */
  tornBytes: number;
}

/** An outgoing log that a reset archived, as {@linkcode readArchivedLogs} found it. */
export interface ArchivedLog {
  /** The file name in the session's folder, such as `outgoing.1764000000000.log`. */
  file: string;
  /** The creation time of the sequence the log holds (the time in its name). */
  creationTimeMs: number;
  /** Its complete messages, in log order. */
  messages: StoredMessage[];
  /** Bytes of a torn last write after the last complete message (0 when none). */
  tornBytes: number;
}

/** A file's bytes, or none when it does not exist. */
async function readFileOrEmpty(path: string): Promise<Uint8Array> {
  try {
    return await Deno.readFile(path);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return new Uint8Array();
    throw e;
  }
}

/**
 * Reads a store folder without opening it for writing and without taking its lock, so it works
 * on a session that is running: the state and every stored outgoing message. For operator tools.
 * It tells damage apart the way opening the store does: a torn last write is left out, reported
 * in `tornBytes` and logged; damage in the middle of the log throws.
 *
 * @param dir The session's folder.
 * @param options Where a torn last write is logged.
 * @returns The state and the raw messages.
 * @throws {StoreCorruptError} When `outgoing.log` is damaged in the middle, or `state.txt` is
 *   unreadable.
 * @example
 * ```ts ignore
 * import { readFileStore } from "@fixwire/engine/file-store";
 * const { state, messages } = await readFileStore("./fixwire-store/TEST1-TEST2");
 * ```
 */
export async function readFileStore(
  dir: string,
  options: { logger?: Logger } = {},
): Promise<FileStoreContents> {
  let state: SeqState | undefined;
  try {
    state = parseState(await Deno.readTextFile(`${dir}/state.txt`), `${dir}/state.txt`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const path = `${dir}/outgoing.log`;
  const buf = await readFileOrEmpty(path);
  const log = scanLog(buf, path, true);
  const tornBytes = buf.length - log.end;
  if (tornBytes > 0) {
    (options.logger ?? SILENT_LOGGER).warn("store has a torn last write", {
      file: path,
      offset: log.end,
      droppedBytes: tornBytes,
    });
  }
  const messages = log.records.map((r) => ({ seqNum: r.seq, bytes: buf.subarray(r.start, r.end) }));
  // As on open: the next sender number is at least one past the last stored message.
  let last = 0;
  for (const m of messages) if (m.seqNum > last) last = m.seqNum;
  if (state && last + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = last + 1;
  return { state, messages, tornBytes };
}

/**
 * Reads the outgoing logs that resets archived in a store folder (see
 * {@linkcode FileSeqStore.reset}), oldest sequence first. Like {@linkcode readFileStore}, it
 * takes no lock, so it works on a running session; a torn last write is left out, reported in
 * `tornBytes` and logged; damage in the middle of a log throws.
 *
 * @param dir The session's folder.
 * @param options Where a torn last write is logged.
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
  options: { logger?: Logger } = {},
): Promise<ArchivedLog[]> {
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
    const buf = await Deno.readFile(path);
    const log = scanLog(buf, path, true);
    const tornBytes = buf.length - log.end;
    if (tornBytes > 0) {
      (options.logger ?? SILENT_LOGGER).warn("store has a torn last write", {
        file: path,
        offset: log.end,
        droppedBytes: tornBytes,
      });
    }
    const messages = log.records.map((r) => ({
      seqNum: r.seq,
      bytes: buf.subarray(r.start, r.end),
    }));
    out.push({ file, creationTimeMs, messages, tornBytes });
  }
  return out;
}
