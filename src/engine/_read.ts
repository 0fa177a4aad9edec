/**
 * Private: reading a connection one chunk at a time with a sink object, over
 * `Connection.readInto` where the connection offers it, else over its async iterator.
 *
 * @module
 */
import type { ChunkSink, Connection } from "../transport.ts";

/**
 * A connection's reader: the sink its reads report to. A subclass is one object per
 * connection and its methods are the callbacks (an accepted connection used to keep a closure
 * per callback, a derived promise and an iterator result per read: thousands of connections in
 * a logon storm, copied by every young GC until they grow old).
 */
export abstract class ChunkReader implements ChunkSink {
  /** The connection read. */
  readonly conn: Connection;
  /** The iteration, for a connection without `readInto`. */
  #it: AsyncIterator<Uint8Array> | undefined;

  /**
   * Creates an instance; nothing is read until `readNext`.
   *
   * @param conn The connection.
   */
  constructor(conn: Connection) {
    this.conn = conn;
  }

  /**
   * Bytes arrived (valid until the next read).
   *
   * @param chunk The bytes.
   */
  abstract onChunk(chunk: Uint8Array): void;

  /**
   * Reading ended (see {@linkcode ChunkSink.onEnd}).
   *
   * @param error What failed, if a read failed.
   */
  abstract onEnd(error?: unknown): void;

  /** Reads the next chunk: `onChunk` or `onEnd` is called later, never during this call. */
  readNext(): void {
    const conn = this.conn;
    if (conn.readInto) {
      conn.readInto(this);
      return;
    }
    let next: Promise<IteratorResult<Uint8Array>>;
    try {
      this.#it ??= conn[Symbol.asyncIterator]();
      next = this.#it.next();
    } catch (e) {
      queueMicrotask(() => this.onEnd(e));
      return;
    }
    next.then((r) => {
      if (r.done) return this.onEnd();
      try {
        this.onChunk(r.value);
      } catch (e) {
        // As DenoConnection.readInto does: a failing sink ends the reading, never unhandled.
        conn.close(`reading failed: ${e instanceof Error ? e.message : e}`);
        this.onEnd(e);
      }
    }, (e) => this.onEnd(e));
  }

  /**
   * Leaves before the end: closes the iteration as `for await` does when left early (no read
   * is in progress then). Over `readInto` there is nothing to close.
   *
   * @returns What closing the iteration returned, if anything.
   */
  stop(): Promise<unknown> | undefined {
    return this.#it?.return?.();
  }
}
