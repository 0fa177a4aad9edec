/**
 * Private: reads an incoming connection's first FIX frame (its Logon) before the connection is
 * routed to an acceptor.
 *
 * @module
 */
import type { TimerHandle } from "../clock.ts";
import type { Logger } from "../logger.ts";
import { FixParseError } from "../message/errors.ts";
import { FixFramer } from "../message/framer.ts";
import type { Connection } from "../transport.ts";
import { ChunkReader } from "./_read.ts";
import type { TimerScheduler } from "./scheduler.ts";

/**
 * The largest first message read before its session is known (the engine's MaxMessageSize when
 * smaller): a Logon is a few hundred bytes, and each connection that has not logged on may hold
 * this much. With the 1 MiB of MaxMessageSize's default, 300 such connections held 351 MiB.
 */
export const FIRST_FRAME_MAX = 64 * 1024;

/** Why a connection closed by {@linkcode FirstFrameReader.evict} was. */
const EVICTED = "too many connections waiting for a Logon";

/**
 * Hears how a first read ended: the frame, or `undefined` when the connection closed first
 * (the peer, LogonTimeFrame, the engine stopping, garbled bytes: see `refused`), or the error
 * of a failed read.
 */
export type FirstFrameDone = (
  reader: FirstFrameReader,
  frame: Uint8Array | undefined,
  error?: unknown,
) => void;

/**
 * Reads chunks until a whole frame is buffered, closing the connection at LogonTimeFrame.
 *
 * One object (and its timer's callback) per connection rather than async functions: thousands
 * of connections of a logon storm wait here for their peers' Logons, and every young GC
 * meanwhile copies what each one keeps. Suspended async frames and their promises were about
 * 1.3 KB of the 5 KB an accepted connection kept before its Logon (the runtime's own pending
 * read and connection are about 2.7 KB).
 */
export class FirstFrameReader extends ChunkReader {
  /** Holds the bytes read; the session's framer gets what follows the frame. */
  readonly framer: FixFramer;
  readonly #log: Logger;
  readonly #done: FirstFrameDone;
  readonly #timer: TimerHandle;
  #finished = false;
  /**
   * Why the connection was closed before its first message by the reader (garbled bytes,
   * LogonTimeFrame: told by the reader) or by the engine (`evict`: told by the engine).
   */
  refused: string | undefined;

  /**
   * Starts reading at once.
   *
   * @param conn The accepted connection.
   * @param scheduler Fires the LogonTimeFrame timer.
   * @param dueAtMs When the connection is closed unless a frame came.
   * @param log Where garbled bytes and the timeout are told.
   * @param done Hears the outcome, once (shared by every reader: no closure per connection).
   * @param maxMessageSize The largest first message: a longer one closes the connection as
   * garbled, so that a peer that has not logged on holds no more than this in memory.
   */
  constructor(
    conn: Connection,
    scheduler: TimerScheduler,
    dueAtMs: number,
    log: Logger,
    done: FirstFrameDone,
    maxMessageSize = FIRST_FRAME_MAX,
  ) {
    super(conn);
    this.framer = new FixFramer({ maxMessageSize });
    this.#log = log;
    this.#done = done;
    this.#timer = scheduler.setTimer(dueAtMs, this.#onTimeout);
    this.readNext();
  }

  /**
   * Frames what arrived; reads on until a whole frame is buffered. Bytes that are not a FIX
   * message close the connection.
   *
   * @param chunk The bytes read.
   */
  onChunk(chunk: Uint8Array): void {
    if (this.#finished) return;
    const framer = this.framer;
    framer.push(chunk);
    const f = framer.next();
    if (f instanceof Uint8Array) return this.#finish(f);
    if (f instanceof FixParseError) {
      // As QuickFIX does: a connection whose first bytes are not a FIX message is closed at
      // once, with one line. Skipping the garbage instead let a peer that had not logged on make
      // a warn line per 8 bytes it sent (`8=FIX.4.` repeated) until LogonTimeFrame.
      this.refused = "garbled bytes before Logon";
      this.#log.warn("garbled bytes before Logon; closing", {
        remote: this.conn.remoteAddr,
        error: f.message,
      });
      this.conn.close(this.refused);
      return this.#finish(undefined);
    }
    this.readNext();
  }

  /**
   * The connection ended (or its read failed) before a whole frame.
   *
   * @param error What failed, if a read failed.
   */
  onEnd(error?: unknown): void {
    this.#finish(undefined, error);
  }

  /**
   * Closes the connection to make room for a newer one (the engine's limit on connections
   * waiting for their first message, which tells it); `refused` says so.
   */
  evict(): void {
    if (this.#finished) return;
    this.refused = EVICTED;
    this.conn.close(EVICTED);
  }

  readonly #onTimeout = (): void => {
    // Told here, once: the engine does not tell the end of a refused connection again.
    this.refused = "Logon timeout";
    this.#log.warn("no Logon within LogonTimeFrame; closing", { remote: this.conn.remoteAddr });
    this.conn.close(this.refused);
  };

  #finish(frame: Uint8Array | undefined, error?: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#timer.cancel();
    this.#done(this, frame, error);
  }
}
