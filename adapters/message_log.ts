/**
 * The file message log: `messages.log` in each session's store folder, one line per message
 * received or sent, as operators read them (QuickFIX's FileLog):
 *
 * ```text
 * 2026-12-06T09:30:00.123Z IN  8=FIX.4.4|9=65|35=A|34=1|49=TEST2|...|10=123|
 * 2026-12-06T09:30:00.124Z OUT 8=FIX.4.4|9=65|35=A|34=1|49=TEST1|...|10=201|
 * ```
 *
 * `|` stands for SOH; credentials are masked before they get here. Lines are buffered and
 * written after a socket write (never on the critical path), in chunks of 32 KiB or once a second
 * of traffic has gone by, and when the session is finalized. The file
 * is rotated at the first line of a new UTC day (to `messages.YYYYMMDD.log`) and when it grows
 * past `maxBytes` (to `messages.YYYYMMDD-N.log`).
 *
 * @example
 * ```ts
 * import { FileMessageLogFactory } from "@fixwire/engine/message-log";
 * import { SessionId } from "@fixwire/engine";
 * const dir = await Deno.makeTempDir();
 * const log = await new FileMessageLogFactory({ directory: dir }).open(new SessionId("A", "B"));
 * log.append("out", Date.now(), new TextEncoder().encode("8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"));
 * await log.close();
 * await Deno.remove(dir, { recursive: true });
 * ```
 *
 * @module
 */

import { type Logger, SILENT_LOGGER } from "../src/logger.ts";
import type { MessageLog, MessageLogFactory } from "../src/message_log.ts";
import type { SessionId } from "../src/session_id.ts";

/** Options of {@linkcode FileMessageLogFactory}. */
export interface FileMessageLogOptions {
  /** The stores' root folder (`LogDirectory`); each session logs in its own folder there. */
  directory: string;
  /** Size at which the file is rotated, bytes (default 100 MiB). */
  maxBytes?: number;
  /** Pending bytes at which lines are written (default 32 KiB; see the module doc). */
  flushBytes?: number;
  /** Hears write failures (the log never fails a session). */
  logger?: Logger;
}

const SOH = 1;
const BAR = 124;
const NL = 10;
const ENCODER = new TextEncoder();
const RESOLVED: Promise<void> = Promise.resolve();
const IN = ENCODER.encode(" IN  ");
const OUT = ENCODER.encode(" OUT ");
/** Lines are written once this much is pending... */
const CHUNK_BYTES = 32 * 1024;
/** ...or once the oldest pending line is this old (by the time of the newest), ms. */
const MAX_DELAY_MS = 1000;

/**
 * Opens file message logs, one per session.
 *
 * @example
 * ```ts ignore
 * const engine = new FixEngine({ messageLogFactory: new FileMessageLogFactory({ directory }) });
 * ```
 */
export class FileMessageLogFactory implements MessageLogFactory {
  /** Descriptors an open log keeps: its `messages.log`. */
  readonly descriptorsPerSession = 1;
  readonly #o: FileMessageLogOptions;

  /**
   * Creates a factory.
   *
   * @param options The folder, the rotation size and the logger.
   */
  constructor(options: FileMessageLogOptions) {
    this.#o = options;
  }

  /**
   * Opens a session's `messages.log` (appending).
   *
   * @param id The session.
   * @returns The log.
   */
  open(id: SessionId): Promise<MessageLog> {
    const dir = `${this.#o.directory}/${id.key}`;
    // Synchronous (the store made the folder already): opening a session takes no extra turn.
    Deno.mkdirSync(dir, { recursive: true });
    return Promise.resolve(
      new FileMessageLog(dir, {
        maxBytes: this.#o.maxBytes ?? 100 * 2 ** 20,
        flushBytes: this.#o.flushBytes ?? CHUNK_BYTES,
        log: this.#o.logger ?? SILENT_LOGGER,
      }),
    );
  }
}

/** One session's `messages.log`. */
class FileMessageLog implements MessageLog {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #log: Logger;
  #buf = new Uint8Array(4096);
  #pendingBytes = 0;
  #file: Deno.FsFile | undefined;
  #size = 0;
  #day = "";
  #writtenAtMs = Number.NEGATIVE_INFINITY;
  #closed = false;
  #stampMs = -1;
  #stamp = new Uint8Array(0);

  readonly #flushBytes: number;

  constructor(dir: string, o: { maxBytes: number; flushBytes: number; log: Logger }) {
    this.#dir = dir;
    this.#maxBytes = o.maxBytes;
    this.#flushBytes = o.flushBytes;
    this.#log = o.log;
  }

  append(direction: "in" | "out", atMs: number, bytes: Uint8Array): void {
    if (this.#closed) return;
    if (atMs !== this.#stampMs) {
      this.#stampMs = atMs;
      this.#stamp = ENCODER.encode(new Date(atMs).toISOString());
    }
    const stamp = this.#stamp;
    const need = this.#pendingBytes + stamp.length + 5 + bytes.length + 1;
    if (need > this.#buf.length) {
      const next = new Uint8Array(Math.max(need, this.#buf.length * 2));
      next.set(this.#buf.subarray(0, this.#pendingBytes));
      this.#buf = next;
    }
    // One growing buffer: no allocation per line; SOH shown as "|" in a tight copy loop.
    const line = this.#buf;
    let p = this.#pendingBytes;
    line.set(stamp, p);
    p += stamp.length;
    line.set(direction === "in" ? IN : OUT, p);
    p += 5;
    for (let i = 0, n = bytes.length; i < n; i++) {
      const b = bytes[i];
      line[p++] = b > NL ? b : b === SOH ? BAR : 32;
    }
    line[p++] = NL;
    this.#pendingBytes = p;
  }

  flush(): Promise<void> {
    // Written in chunks of 32 KiB, or once a second of traffic has gone by: one synchronous
    // write to the page cache now and then costs far less than an awaited write per batch.
    if (this.#pendingBytes === 0) return RESOLVED;
    const day = utcDay(this.#stampMs);
    if (
      !this.#closed && this.#pendingBytes < this.#flushBytes &&
      this.#stampMs - this.#writtenAtMs < MAX_DELAY_MS && day === this.#day
    ) {
      return RESOLVED;
    }
    const bytes = this.#buf.subarray(0, this.#pendingBytes);
    this.#pendingBytes = 0;
    this.#writtenAtMs = this.#stampMs;
    try {
      this.#write(bytes, day);
    } catch (e) {
      this.#log.warn("message log write failed", { dir: this.#dir, error: `${e}` });
    }
    return RESOLVED;
  }

  #write(all: Uint8Array, day: string): void {
    if (!this.#file) {
      this.#file = Deno.openSync(`${this.#dir}/messages.log`, { create: true, append: true });
      const info = this.#file.statSync();
      this.#size = info.size;
      // A file left by an earlier run holds the day it was last written.
      this.#day = info.size > 0 && info.mtime ? utcDay(info.mtime.getTime()) : day;
    }
    if (this.#size > 0 && (day !== this.#day || this.#size + all.length > this.#maxBytes)) {
      this.#rotate(this.#day);
    }
    this.#day = day;
    for (let w = 0; w < all.length;) w += this.#file!.writeSync(all.subarray(w));
    this.#size += all.length;
  }

  /** Moves `messages.log` aside under the day it holds (and a counter when taken). */
  #rotate(day: string): void {
    this.#file?.close();
    this.#file = undefined;
    let name = `messages.${day}.log`;
    for (let n = 1; exists(`${this.#dir}/${name}`); n++) name = `messages.${day}-${n}.log`;
    Deno.renameSync(`${this.#dir}/messages.log`, `${this.#dir}/${name}`);
    this.#file = Deno.openSync(`${this.#dir}/messages.log`, { create: true, append: true });
    this.#size = 0;
  }

  close(): Promise<void> {
    if (this.#closed) return RESOLVED;
    this.#closed = true;
    this.flush();
    this.#file?.close();
    this.#file = undefined;
    return RESOLVED;
  }
}

/** `YYYYMMDD` of an instant, UTC. */
function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}
