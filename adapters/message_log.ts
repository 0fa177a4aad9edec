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
 * written once per batch, after the batch's socket write (never on the critical path). The file
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
  /** Hears write failures (the log never fails a session). */
  logger?: Logger;
}

const SOH = 1;
const BAR = 124;
const NL = 10;
const ENCODER = new TextEncoder();

/**
 * Opens file message logs, one per session.
 *
 * @example
 * ```ts ignore
 * const engine = new FixEngine({ messageLogFactory: new FileMessageLogFactory({ directory }) });
 * ```
 */
export class FileMessageLogFactory implements MessageLogFactory {
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
  async open(id: SessionId): Promise<MessageLog> {
    const dir = `${this.#o.directory}/${id.key}`;
    await Deno.mkdir(dir, { recursive: true });
    return new FileMessageLog(
      dir,
      this.#o.maxBytes ?? 100 * 2 ** 20,
      this.#o.logger ?? SILENT_LOGGER,
    );
  }
}

/** One session's `messages.log`. */
class FileMessageLog implements MessageLog {
  readonly #dir: string;
  readonly #maxBytes: number;
  readonly #log: Logger;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #file: Deno.FsFile | undefined;
  #size = 0;
  #day = "";
  #writing: Promise<void> = Promise.resolve();
  #closed = false;
  #stampMs = -1;
  #stamp = new Uint8Array(0);

  constructor(dir: string, maxBytes: number, log: Logger) {
    this.#dir = dir;
    this.#maxBytes = maxBytes;
    this.#log = log;
  }

  append(direction: "in" | "out", atMs: number, bytes: Uint8Array): void {
    if (this.#closed) return;
    if (atMs !== this.#stampMs) {
      this.#stampMs = atMs;
      this.#stamp = ENCODER.encode(new Date(atMs).toISOString());
    }
    const stamp = this.#stamp;
    const line = new Uint8Array(stamp.length + 5 + bytes.length + 1);
    line.set(stamp, 0);
    let p = stamp.length;
    line[p++] = 32;
    if (direction === "in") {
      line[p++] = 73; // I
      line[p++] = 78; // N
      line[p++] = 32;
    } else {
      line[p++] = 79; // O
      line[p++] = 85; // U
      line[p++] = 84; // T
    }
    line[p++] = 32;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i];
      line[p++] = b === SOH ? BAR : b === NL ? 32 : b;
    }
    line[p] = NL;
    this.#pending.push(line);
    this.#pendingBytes += line.length;
  }

  flush(): Promise<void> {
    if (this.#pending.length === 0) return this.#writing;
    const lines = this.#pending;
    const bytes = this.#pendingBytes;
    const day = utcDay(this.#stampMs);
    this.#pending = [];
    this.#pendingBytes = 0;
    this.#writing = this.#writing.then(() => this.#write(lines, bytes, day)).catch((e) => {
      this.#log.warn("message log write failed", { dir: this.#dir, error: `${e}` });
    });
    return this.#writing;
  }

  async #write(lines: Uint8Array[], bytes: number, day: string): Promise<void> {
    if (!this.#file) {
      this.#file = await Deno.open(`${this.#dir}/messages.log`, { create: true, append: true });
      const info = await this.#file.stat();
      this.#size = info.size;
      // A file left by an earlier run holds the day it was last written.
      this.#day = info.size > 0 && info.mtime ? utcDay(info.mtime.getTime()) : day;
    }
    if (this.#size > 0 && (day !== this.#day || this.#size + bytes > this.#maxBytes)) {
      await this.#rotate(this.#day);
    }
    this.#day = day;
    const all = new Uint8Array(bytes);
    let off = 0;
    for (const l of lines) {
      all.set(l, off);
      off += l.length;
    }
    for (let w = 0; w < all.length;) w += await this.#file!.write(all.subarray(w));
    this.#size += bytes;
  }

  /** Moves `messages.log` aside under the day it holds (and a counter when taken). */
  async #rotate(day: string): Promise<void> {
    this.#file?.close();
    this.#file = undefined;
    let name = `messages.${day}.log`;
    for (let n = 1; await exists(`${this.#dir}/${name}`); n++) name = `messages.${day}-${n}.log`;
    await Deno.rename(`${this.#dir}/messages.log`, `${this.#dir}/${name}`);
    this.#file = await Deno.open(`${this.#dir}/messages.log`, { create: true, append: true });
    this.#size = 0;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.flush();
    this.#closed = true;
    await this.#writing;
    this.#file?.close();
    this.#file = undefined;
  }
}

/** `YYYYMMDD` of an instant, UTC. */
function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10).replaceAll("-", "");
}

async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch {
    return false;
  }
}
