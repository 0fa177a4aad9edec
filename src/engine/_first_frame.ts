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
import type { TimerScheduler } from "./scheduler.ts";

/**
 * Hears how a first read ended: the frame, or `undefined` when the connection closed first
 * (the peer, LogonTimeFrame, the engine stopping), or the error of a failed read.
 */
export type FirstFrameDone = (
  reader: FirstFrameReader,
  frame: Uint8Array | undefined,
  error?: unknown,
) => void;

/**
 * Reads chunks until a whole frame is buffered, closing the connection at LogonTimeFrame.
 *
 * One object with three callbacks per connection rather than async functions: thousands of
 * connections of a logon storm wait here for their peers' Logons, and every young GC meanwhile
 * copies what each one keeps. Suspended async frames and their promises were about 1.3 KB of
 * the 5 KB an accepted connection kept before its Logon (the runtime's own pending read and
 * connection are about 2.7 KB).
 */
export class FirstFrameReader {
  /** The connection read. */
  readonly conn: Connection;
  /** Holds the bytes read; the session's framer gets what follows the frame. */
  readonly framer: FixFramer = new FixFramer();
  readonly #log: Logger;
  readonly #done: FirstFrameDone;
  readonly #timer: TimerHandle;
  #it: AsyncIterator<Uint8Array> | undefined;
  #finished = false;

  /**
   * Starts reading at once.
   *
   * @param conn The accepted connection.
   * @param scheduler Fires the LogonTimeFrame timer.
   * @param dueAtMs When the connection is closed unless a frame came.
   * @param log Where garbled bytes and the timeout are told.
   * @param done Hears the outcome, once (shared by every reader: no closure per connection).
   */
  constructor(
    conn: Connection,
    scheduler: TimerScheduler,
    dueAtMs: number,
    log: Logger,
    done: FirstFrameDone,
  ) {
    this.conn = conn;
    this.#log = log;
    this.#done = done;
    this.#timer = scheduler.setTimer(dueAtMs, this.#onTimeout);
    this.#read();
  }

  #read(): void {
    let next: Promise<IteratorResult<Uint8Array>>;
    try {
      this.#it ??= this.conn[Symbol.asyncIterator]();
      next = this.#it.next();
    } catch (e) {
      this.#finish(undefined, e);
      return;
    }
    next.then(this.#onChunk, this.#onError);
  }

  readonly #onChunk = (r: IteratorResult<Uint8Array>): void => {
    if (r.done) return this.#finish(undefined);
    const framer = this.framer;
    framer.push(r.value);
    while (true) {
      const f = framer.next();
      if (f instanceof Uint8Array) return this.#finish(f);
      if (!(f instanceof FixParseError)) break;
      this.#log.warn("garbled bytes before Logon", { error: f.message });
    }
    this.#read();
  };

  readonly #onError = (e: unknown): void => this.#finish(undefined, e);

  readonly #onTimeout = (): void => {
    this.#log.warn("no Logon within LogonTimeFrame; closing", { remote: this.conn.remoteAddr });
    this.conn.close("Logon timeout");
  };

  #finish(frame: Uint8Array | undefined, error?: unknown): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#timer.cancel();
    this.#done(this, frame, error);
  }
}
