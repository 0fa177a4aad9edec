/**
 * The file store, fixwire's default: one folder per session holding
 *
 * - `outgoing.log`: every stored outgoing message, raw FIX back to back (ordinary FIX log tools
 *   read it), appended in one write per batch;
 * - `state.txt`: one fixed-width line with the next sender and target numbers, the creation
 *   time and the correctly-terminated marker, rewritten in place;
 * - `incoming.log` (when enabled): inbound messages, raw;
 * - `owner.lock`: the owning process id, so two processes never own one session.
 *
 * Durability (`sync`):
 * - `"none"` (default): each flush hands the batch to the OS in one `write`. Survives a crash
 *   or `kill -9` of the process; a power cut may lose the last batches.
 * - `"batch"`: `fdatasync` after each batch. Survives a power cut; costs one sync per batch.
 * - `"message"`: one write and one `fdatasync` per message. Slowest; the strictest.
 *
 * On open the log is scanned: a torn last record (a crash mid-write) is cut off and logged; it is
 * never served in a resend. Damage anywhere else is reported as {@linkcode StoreCorruptError}
 * instead of being silently reset. The next sender number is one past the last complete record.
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

import { type Logger, SILENT_LOGGER } from "../src/logger.ts";
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
const enc = new TextEncoder();
const lockedHere = new Set<string>();

interface Record {
  seq: number;
  start: number;
  end: number;
}

/** Parses one record at `p`: returns it, `"torn"` when incomplete, or a problem text. */
function parseRecord(buf: Uint8Array, p: number): Record | "torn" | string {
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

function hasLaterMessage(buf: Uint8Array, from: number): boolean {
  for (let i = from + 1; i + 4 < buf.length; i++) {
    if (
      buf[i] === 56 && buf[i + 1] === 61 && buf[i + 2] === 70 && buf[i + 3] === 73 &&
      buf[i + 4] === 88
    ) {
      return true;
    }
  }
  return false;
}

function formatState(s: SeqState): Uint8Array {
  const line = `S ${s.nextSenderSeqNum} T ${s.nextTargetSeqNum} C ${s.creationTimeMs} E ${
    s.correctlyTerminated ? 1 : 0
  }`;
  return enc.encode(line.padEnd(STATE_LINE - 1, " ") + "\n");
}

function parseState(text: string, path: string): SeqState {
  const m = /^S (\d+) T (\d+) C (-?\d+) E ([01])/.exec(text);
  if (!m) throw new StoreCorruptError(path, 0, "state line is unreadable");
  return {
    nextSenderSeqNum: Number(m[1]),
    nextTargetSeqNum: Number(m[2]),
    creationTimeMs: Number(m[3]),
    correctlyTerminated: m[4] === "1",
  };
}

function pidAlive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    return false;
  }
}

/**
 * One session's file store. Open it with {@linkcode FileSeqStoreFactory}.
 */
export class FileSeqStore implements SeqStore {
  readonly #dir: string;
  readonly #sync: FileSyncMode;
  readonly #log: Logger;
  readonly #logIncoming: boolean;
  #state: SeqState;
  #out: Deno.FsFile;
  #stateFile: Deno.FsFile;
  #in: Deno.FsFile | undefined;
  #size: number;
  #index = new Map<number, [number, number]>();
  #pending = new Uint8Array(64 * 1024);
  #pendingLen = 0;
  #pendingEnds: number[] = [];
  #inPending: Uint8Array[] = [];
  #stateDirty = false;
  #closed = false;
  #lockPath: string;

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
    this.#lockPath = `${dir}/owner.lock`;
    this.#lock();
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
      this.#out = Deno.openSync(logPath, { read: true, append: true, create: true });
      this.#size = this.#recover(logPath);
      let last = 0;
      for (const k of this.#index.keys()) if (k > last) last = k;
      if (last + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = last + 1;
      this.#state = state;
      this.#stateFile = Deno.openSync(statePath, { read: true, write: true, create: true });
      this.#writeState();
      if (this.#logIncoming) {
        this.#in = Deno.openSync(`${dir}/incoming.log`, { append: true, create: true });
      }
    } catch (e) {
      this.#unlock();
      throw e;
    }
  }

  #lock(): void {
    const path = this.#lockPath;
    if (lockedHere.has(path)) {
      throw new Error(`Cannot open store: "${this.#dir}" is already open in this process`);
    }
    try {
      Deno.writeTextFileSync(path, String(Deno.pid), { createNew: true });
    } catch (e) {
      if (!(e instanceof Deno.errors.AlreadyExists)) throw e;
      const pid = Number(Deno.readTextFileSync(path).trim());
      if (pid > 0 && pid !== Deno.pid && pidAlive(pid)) {
        throw new Error(`Cannot open store: "${this.#dir}" is owned by process ${pid}`);
      }
      this.#log.warn("taking over a stale store lock", { dir: this.#dir, stalePid: pid });
      Deno.writeTextFileSync(path, String(Deno.pid));
    }
    lockedHere.add(path);
  }

  #unlock(): void {
    lockedHere.delete(this.#lockPath);
    try {
      Deno.removeSync(this.#lockPath);
    } catch {
      // Already gone.
    }
  }

  #recover(path: string): number {
    const buf = Deno.readFileSync(path);
    let p = 0;
    while (p < buf.length) {
      const r = parseRecord(buf, p);
      if (typeof r === "object") {
        this.#index.set(r.seq, [r.start, r.end]);
        p = r.end;
        continue;
      }
      if (r === "torn" || !hasLaterMessage(buf, p)) {
        this.#log.warn("store recovered from a torn last write", {
          file: path,
          offset: p,
          droppedBytes: buf.length - p,
        });
        Deno.truncateSync(path, p);
        return p;
      }
      throw new StoreCorruptError(path, p, r);
    }
    return p;
  }

  /** The current state. */
  get state(): Readonly<SeqState> {
    return this.#state;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`Cannot use store: "${this.#dir}" is closed`);
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
    this.#state.nextSenderSeqNum = seqNum + 1;
    this.#stateDirty = true;
  }

  /**
   * Buffers an inbound message for `incoming.log` when enabled.
   *
   * @param bytes The raw message.
   */
  appendIncoming(bytes: Uint8Array): void {
    if (this.#in) this.#inPending.push(bytes.slice());
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

  #writeState(): void {
    this.#stateFile.seekSync(0, Deno.SeekMode.Start);
    this.#writeAll(this.#stateFile, formatState(this.#state));
    this.#stateDirty = false;
  }

  /**
   * Writes the batch: messages in one write (or one per message with `sync: "message"`), then
   * the state line; syncs as configured.
   *
   * @returns Resolves when written.
   */
  flush(): Promise<void> {
    if (this.#closed) return Promise.resolve();
    try {
      this.#flushSync();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  #flushSync(): void {
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
    if (this.#stateDirty) {
      this.#writeState();
      if (this.#sync !== "none") this.#stateFile.syncDataSync();
    }
    if (this.#in && this.#inPending.length > 0) {
      for (const b of this.#inPending) this.#writeAll(this.#in, b);
      this.#inPending.length = 0;
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
   * Starts a new sequence: the old log is kept as `outgoing.<creationTime>.log`, numbers go to
   * 1 and the creation time is set.
   *
   * @param creationTimeMs The new creation time.
   */
  reset(creationTimeMs: number): Promise<void> {
    this.#assertOpen();
    this.#flushSync();
    const logPath = `${this.#dir}/outgoing.log`;
    this.#out.close();
    if (this.#size > 0) {
      Deno.renameSync(logPath, `${this.#dir}/outgoing.${this.#state.creationTimeMs}.log`);
    }
    this.#out = Deno.openSync(logPath, { read: true, append: true, create: true, truncate: false });
    this.#size = 0;
    this.#index.clear();
    this.#state = {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs,
      correctlyTerminated: false,
    };
    this.#writeState();
    if (this.#sync !== "none") this.#stateFile.syncDataSync();
    return Promise.resolve();
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
   * Opens a session's store, recovering from a torn last write.
   *
   * @param id The session.
   * @param options Creation time and inbound log switch.
   * @returns The store.
   * @throws {StoreCorruptError} When the log is damaged beyond a torn tail.
   * @throws {Error} When another process owns the session.
   */
  open(id: SessionId, options: SeqStoreOpenOptions): Promise<SeqStore> {
    try {
      return Promise.resolve(
        new FileSeqStore(`${this.#dir}/${id.key}`, {
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

/**
 * Reads a store folder without opening it for writing: the state and every stored message.
 * For operator tools.
 *
 * @param dir The session's folder.
 * @returns The state and the raw messages.
 * @example
 * ```ts ignore
 * import { readFileStore } from "@fixwire/engine/file-store";
 * const { state, messages } = await readFileStore("./fixwire-store/TEST1-TEST2");
 * ```
 */
export async function readFileStore(
  dir: string,
): Promise<{ state: SeqState | undefined; messages: StoredMessage[]; tornBytes: number }> {
  let state: SeqState | undefined;
  try {
    state = parseState(await Deno.readTextFile(`${dir}/state.txt`), `${dir}/state.txt`);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  const buf = await Deno.readFile(`${dir}/outgoing.log`).catch(() => new Uint8Array());
  const messages: StoredMessage[] = [];
  let p = 0;
  while (p < buf.length) {
    const r = parseRecord(buf, p);
    if (typeof r !== "object") break;
    messages.push({ seqNum: r.seq, bytes: buf.subarray(r.start, r.end) });
    p = r.end;
  }
  return { state, messages, tornBytes: buf.length - p };
}
