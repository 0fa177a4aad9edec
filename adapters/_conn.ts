// Private: a Connection over a Deno.Conn, shared by the TCP and TLS adapters.
import { ConnectionError } from "../src/errors.ts";
import { type ChunkSink, type Connection, PEER_CLOSED } from "../src/transport.ts";

/** Reads start small (idle sessions stay light) and grow while reads fill the buffer. */
const READ_SIZE_MIN = 4 * 1024;
const READ_SIZE_MAX = 64 * 1024;

/** Shared by every connection before its first write. */
const NO_WRITE: Promise<void> = Promise.resolve();

function addr(a: Deno.Addr): string {
  return a.transport === "tcp" || a.transport === "udp" ? `${a.hostname}:${a.port}` : String(a);
}

/** Wraps a Deno connection: one reusable read buffer, serialized writes, idempotent close. */
export class DenoConnection implements Connection {
  #conn: Deno.Conn;
  #done = false;
  #reason = "closed";
  /** Made when first asked for (a session asks once its connection ends). */
  #closed: Promise<string> | undefined;
  #resolveClosed: ((reason: string) => void) | undefined;
  /** The last write queued (read only while another one is pending). */
  #writing: Promise<void> = NO_WRITE;
  /** Writes started and not yet settled. */
  #pending = 0;
  /** The write in progress and how much of it is written (see `#writeFrom`). */
  #wBytes: Uint8Array | undefined;
  #wOff = 0;
  /** The read buffer, made at the first read and shared by every read after. */
  #buf: Uint8Array | undefined;
  /** Hears the read in progress. */
  #sink: ChunkSink | undefined;

  constructor(conn: Deno.Conn) {
    this.#conn = conn;
  }

  // The addresses are formatted when asked for (logs, routing): not kept by every connection.
  /** The local address, `host:port`. */
  get localAddr(): string {
    return addr(this.#conn.localAddr);
  }
  /** The remote address, `host:port`. */
  get remoteAddr(): string {
    return addr(this.#conn.remoteAddr);
  }
  /** The remote host. */
  get remoteHost(): string {
    const ra = this.#conn.remoteAddr;
    return ra.transport === "tcp" ? ra.hostname : addr(ra);
  }

  /** Resolves with the reason once the connection is closed; never rejects. */
  get closed(): Promise<string> {
    return this.#closed ??= this.#done
      ? Promise.resolve(this.#reason)
      : new Promise((r) => this.#resolveClosed = r);
  }

  /**
   * Reads chunks. A yielded chunk is valid until the next read: the buffer is reused (the FIX
   * framer copies what it keeps). Reads go through {@linkcode DenoConnection.readInto}, so every
   * iteration and `readInto` share one buffer and go on where the last left off.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return new ChunkIterator(this);
  }

  /**
   * Reads the next chunk into the connection's buffer and hands it to `sink`: one runtime read
   * and one promise reaction per chunk, with callbacks made once per connection.
   *
   * @param sink Hears the chunk (valid until the next read) or the end.
   */
  readInto(sink: ChunkSink): void {
    this.#sink = sink;
    if (this.#done) {
      queueMicrotask(() => sink.onEnd());
      return;
    }
    let read: Promise<number | null>;
    try {
      read = this.#conn.read(this.#buf ??= new Uint8Array(READ_SIZE_MIN));
    } catch (e) {
      queueMicrotask(() => this.#onReadError(e));
      return;
    }
    read.then(this.#onRead, this.#onReadError);
  }

  readonly #onRead = (n: number | null): void => {
    const sink = this.#sink!;
    if (n === null) {
      this.close(PEER_CLOSED);
      sink.onEnd();
      return;
    }
    const buf = this.#buf!;
    // The read filled the buffer: a busy connection reads in bigger chunks from now on (the
    // chunk handed over stays a view of this one, which is not read into again).
    if (n === buf.length && buf.length < READ_SIZE_MAX) this.#buf = new Uint8Array(buf.length * 2);
    try {
      sink.onChunk(buf.subarray(0, n));
    } catch (e) {
      this.close(`reading failed: ${e instanceof Error ? e.message : e}`);
      sink.onEnd(e);
    }
  };

  readonly #onReadError = (e: unknown): void => {
    // Closed while the read waited (by us: its reason stays), or the read failed.
    this.close(this.#done ? this.#reason : `read failed: ${e instanceof Error ? e.message : e}`);
    this.#sink!.onEnd();
  };

  write(bytes: Uint8Array): Promise<void> {
    if (this.#done) {
      return Promise.reject(this.#closedError());
    }
    // Writes go out in order: one at a time, each after the one before it settled.
    const prev = this.#pending > 0 ? this.#writing : undefined;
    this.#pending++;
    const next = prev === undefined
      ? this.#writeFrom(bytes, 0)
      : prev.then(() => this.#writeFrom(bytes, 0), () => this.#writeFrom(bytes, 0));
    this.#writing = next;
    return next;
  }

  /** Writes `bytes` from `off` on (a partial write goes on); settles the write's count. */
  #writeFrom(bytes: Uint8Array, off: number): Promise<void> {
    if (this.#done) {
      this.#writeDone();
      return Promise.reject(this.#closedError());
    }
    let p: Promise<number>;
    try {
      p = this.#conn.write(off === 0 ? bytes : bytes.subarray(off));
    } catch (e) {
      return Promise.reject(this.#writeFailed(e));
    }
    // One promise per write, no async frame and no closure: writes run one at a time, so the
    // one in progress is in fields.
    this.#wBytes = bytes;
    this.#wOff = off;
    return p.then(this.#onWrote, this.#onWriteFailed);
  }

  readonly #onWrote = (n: number): Promise<void> | undefined => {
    const bytes = this.#wBytes!;
    const off = this.#wOff + n;
    if (off < bytes.length) return this.#writeFrom(bytes, off);
    this.#wBytes = undefined;
    this.#writeDone();
    return undefined;
  };

  readonly #onWriteFailed = (e: unknown): never => {
    this.#wBytes = undefined;
    throw this.#writeFailed(e);
  };

  /** A write settled; once none is pending, the chain of settled writes is not kept (thousands of idle connections). */
  #writeDone(): void {
    if (--this.#pending === 0) this.#writing = NO_WRITE;
  }

  #closedError(): ConnectionError {
    return new ConnectionError(`Cannot write: connection to ${this.remoteAddr} is closed`);
  }

  #writeFailed(e: unknown): ConnectionError {
    this.#writeDone();
    this.close(`write failed: ${e instanceof Error ? e.message : e}`);
    return new ConnectionError(`Cannot write to ${this.remoteAddr}`, { cause: e });
  }

  close(reason = "closed"): void {
    if (this.#done) return;
    this.#done = true;
    this.#reason = reason;
    try {
      this.#conn.close();
    } catch {
      // Already closed by the other side.
    }
    this.#resolveClosed?.(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

const DONE: IteratorResult<Uint8Array> = Object.freeze({ done: true, value: undefined });

/** Iterates a connection's chunks over `readInto` (the engine reads with `readInto` itself). */
class ChunkIterator implements AsyncIterator<Uint8Array>, ChunkSink {
  readonly #conn: DenoConnection;
  #settle: ((r: IteratorResult<Uint8Array>) => void) | undefined;

  constructor(conn: DenoConnection) {
    this.#conn = conn;
  }

  next(): Promise<IteratorResult<Uint8Array>> {
    return new Promise((resolve) => {
      this.#settle = resolve;
      this.#conn.readInto(this);
    });
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    return Promise.resolve(DONE);
  }

  onChunk(chunk: Uint8Array): void {
    this.#settle!({ done: false, value: chunk });
  }

  onEnd(): void {
    this.#settle!(DONE);
  }
}

/** What a listener does when `accept` fails while it is open (EMFILE, ENFILE, ENOBUFS...). */
export interface AcceptErrorOptions {
  /** Hears each failure and the pause before the next attempt (the transport's logger). */
  onAcceptError?: (error: unknown, retryInMs: number) => void;
  /** Pause before attempt `n` (1, 2, ...) after consecutive failures; default 10 ms doubling to 1 s. */
  backoffMs?: (attempt: number) => number;
  /** Waits; injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
}

const defaultBackoff = (attempt: number): number => Math.min(1000, 10 * 2 ** (attempt - 1));
const defaultSleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Whether an accept error means the listener is closed (as opposed to a transient failure). */
function listenerClosed(e: unknown): boolean {
  return e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted;
}

/**
 * Wraps a Deno listener as an async iterable of connections. A transient accept failure (too
 * many open files, no buffers) is reported and retried after a back-off: the listener never
 * ends silently while open.
 */
export class DenoListener {
  readonly addr: { host: string; port: number };
  #listener: Deno.Listener;
  #closed = false;
  #wrap: (c: Deno.Conn) => Connection;
  #o: AcceptErrorOptions;

  constructor(
    listener: Deno.Listener,
    wrap: (c: Deno.Conn) => Connection,
    options: AcceptErrorOptions = {},
  ) {
    this.#listener = listener;
    this.#wrap = wrap;
    this.#o = options;
    const a = listener.addr as Deno.NetAddr;
    this.addr = { host: a.hostname, port: a.port };
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    let failures = 0;
    while (!this.#closed) {
      let c: Deno.Conn;
      try {
        c = await this.#listener.accept();
        failures = 0;
      } catch (e) {
        if (this.#closed || listenerClosed(e)) return;
        const wait = (this.#o.backoffMs ?? defaultBackoff)(++failures);
        this.#o.onAcceptError?.(e, wait);
        await (this.#o.sleep ?? defaultSleep)(wait);
        continue;
      }
      try {
        yield this.#wrap(c);
      } catch {
        c.close();
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#listener.close();
    } catch {
      // Already closed.
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Runs a connect with an abort signal, closing a late connection. */
export async function connectWithSignal<T extends Deno.Conn>(
  open: () => Promise<T>,
  where: string,
  signal?: AbortSignal,
): Promise<T> {
  signal?.throwIfAborted();
  const attempt = open().catch((e) => {
    throw new ConnectionError(`Cannot connect to ${where}: ${e instanceof Error ? e.message : e}`, {
      cause: e,
    });
  });
  if (!signal) return await attempt;
  let onAbort: (() => void) | undefined;
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    signal.addEventListener("abort", onAbort, { once: true });
  });
  try {
    return await Promise.race([attempt, aborted]);
  } catch (e) {
    attempt.then((c) => c.close(), () => {});
    throw e;
  } finally {
    signal.removeEventListener("abort", onAbort!);
  }
}
