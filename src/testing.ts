/**
 * Test doubles for applications built on fixwire, and for fixwire's own tests: a manual clock,
 * an in-memory connection pair and an in-memory transport. Test your FIX application exactly,
 * with no sockets and no sleeps.
 *
 * @example
 * ```ts
 * import { ManualClock, memoryConnectionPair } from "@fixwire/engine/testing";
 * const clock = new ManualClock(0);
 * let fired = 0;
 * clock.setTimer(1000, () => fired++);
 * await clock.advance(1000);
 * const [a, b] = memoryConnectionPair();
 * await a.write(new TextEncoder().encode("hello"));
 * a.close();
 * b.close();
 * ```
 *
 * @module
 */

import type { Clock, TimerHandle } from "./clock.ts";
import { ConnectionError } from "./errors.ts";
import type { Connection, ConnectOptions, Endpoint, Listener, Transport } from "./transport.ts";

interface ManualTimer {
  atMs: number;
  order: number;
  fn: () => void;
  cancelled: boolean;
}

async function settle(turns = 20): Promise<void> {
  for (let i = 0; i < turns; i++) await Promise.resolve();
}

/**
 * A clock that moves only when told: `advance(ms)` fires due timers in order of due time (ties in
 * the order they were set), with `now()` equal to each timer's due time while it runs, and lets
 * promise chains settle between timers.
 *
 * @example
 * ```ts
 * import { ManualClock } from "@fixwire/engine/testing";
 * const clock = new ManualClock(1_000);
 * const seen: number[] = [];
 * clock.setTimer(1_500, () => seen.push(clock.now()));
 * await clock.advance(1_000);
 * seen; // [1500]
 * ```
 */
export class ManualClock implements Clock {
  #now: number;
  #timers: ManualTimer[] = [];
  #order = 0;

  /**
   * Creates a manual clock.
   *
   * @param startMs The initial time, in epoch milliseconds.
   */
  constructor(startMs = 0) {
    this.#now = startMs;
  }

  /** Returns the current manual time. */
  now(): number {
    return this.#now;
  }

  /**
   * Schedules `fn` at `atMs`; it fires during a later `advance`.
   *
   * @param atMs Due time.
   * @param fn Callback.
   * @returns A cancellable handle.
   */
  setTimer(atMs: number, fn: () => void): TimerHandle {
    const t: ManualTimer = { atMs, order: this.#order++, fn, cancelled: false };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.cancelled = true;
      },
    };
  }

  /** Timers scheduled and not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.#timers.filter((t) => !t.cancelled).length;
  }

  /** Due time of the next timer, or `undefined`. */
  get nextTimerAtMs(): number | undefined {
    return this.#next()?.atMs;
  }

  #next(): ManualTimer | undefined {
    let best: ManualTimer | undefined;
    for (const t of this.#timers) {
      if (t.cancelled) continue;
      if (!best || t.atMs < best.atMs || (t.atMs === best.atMs && t.order < best.order)) best = t;
    }
    return best;
  }

  /**
   * Moves time forward by `ms`, firing every timer that becomes due (including timers set by
   * those timers), then lets promise chains settle.
   *
   * @param ms Milliseconds, 0 or more.
   * @returns Resolves when done.
   * @throws {RangeError} When `ms` is negative.
   */
  advance(ms: number): Promise<void> {
    if (!(ms >= 0)) throw new RangeError(`Cannot advance clock: "${ms}" is negative`);
    return this.advanceTo(this.#now + ms);
  }

  /**
   * Moves time forward to `atMs` (see `advance`).
   *
   * @param atMs The target time.
   * @returns Resolves when done.
   */
  async advanceTo(atMs: number): Promise<void> {
    await settle();
    while (true) {
      const t = this.#next();
      if (!t || t.atMs > atMs) break;
      t.cancelled = true;
      this.#timers = this.#timers.filter((x) => !x.cancelled);
      if (t.atMs > this.#now) this.#now = t.atMs;
      t.fn();
      await settle();
    }
    if (atMs > this.#now) this.#now = atMs;
    await settle();
  }
}

class MemoryConnection implements Connection {
  readonly localAddr: string;
  readonly remoteAddr: string;
  readonly remoteHost: string;
  readonly closed: Promise<string>;
  peer!: MemoryConnection;
  #queue: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  #resolveClosed!: (reason: string) => void;
  #chunkSize: number;

  constructor(local: string, remote: string, chunkSize: number) {
    this.localAddr = local;
    this.remoteAddr = remote;
    this.remoteHost = remote.slice(0, remote.lastIndexOf(":"));
    this.#chunkSize = chunkSize;
    this.closed = new Promise((r) => this.#resolveClosed = r);
  }

  deliver(bytes: Uint8Array): void {
    if (this.#done) return;
    for (let i = 0; i < bytes.length; i += this.#chunkSize) {
      this.#queue.push(bytes.slice(i, i + this.#chunkSize));
    }
    this.#wake?.();
  }

  write(bytes: Uint8Array): Promise<void> {
    if (this.#done) {
      return Promise.reject(
        new ConnectionError(`Cannot write: connection to ${this.remoteAddr} is closed`),
      );
    }
    this.peer.deliver(bytes);
    return Promise.resolve();
  }

  close(reason = "closed"): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolveClosed(reason);
    this.#wake?.();
    this.peer.close("peer closed");
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    while (true) {
      if (this.#queue.length > 0) {
        yield this.#queue.shift()!;
        continue;
      }
      if (this.#done) return;
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = undefined;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** Options of {@linkcode memoryConnectionPair}. */
export interface MemoryPairOptions {
  /** Split every write into chunks of at most this many bytes (default: no split). */
  chunkSize?: number;
  /** Address of the first side. */
  firstAddr?: string;
  /** Address of the second side. */
  secondAddr?: string;
}

/**
 * Two connected in-memory connections: bytes written on one are read from the other. Closing
 * one side ends both.
 *
 * @param options Chunking and addresses.
 * @returns The two sides.
 * @example
 * ```ts
 * import { memoryConnectionPair } from "@fixwire/engine/testing";
 * const [a, b] = memoryConnectionPair({ chunkSize: 1 });
 * await a.write(new Uint8Array([1, 2]));
 * a.close("done");
 * for await (const chunk of b) chunk; // [1], then [2]
 * ```
 */
export function memoryConnectionPair(
  options: MemoryPairOptions = {},
): [Connection, Connection] {
  const size = options.chunkSize ?? Number.MAX_SAFE_INTEGER;
  const aAddr = options.firstAddr ?? "127.0.0.1:50001";
  const bAddr = options.secondAddr ?? "127.0.0.1:50002";
  const a = new MemoryConnection(aAddr, bAddr, size);
  const b = new MemoryConnection(bAddr, aAddr, size);
  a.peer = b;
  b.peer = a;
  return [a, b];
}

class MemoryListener implements Listener {
  readonly addr: Endpoint;
  #queue: Connection[] = [];
  #wake: (() => void) | undefined;
  #closed = false;
  #onClose: () => void;

  constructor(addr: Endpoint, onClose: () => void) {
    this.addr = addr;
    this.#onClose = onClose;
  }

  offer(conn: Connection): void {
    this.#queue.push(conn);
    this.#wake?.();
  }

  get isClosed(): boolean {
    return this.#closed;
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#onClose();
    this.#wake?.();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    while (true) {
      if (this.#queue.length > 0) {
        yield this.#queue.shift()!;
        continue;
      }
      if (this.#closed) return;
      await new Promise<void>((r) => this.#wake = r);
      this.#wake = undefined;
    }
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * An in-memory transport: `listen` registers a listener by `host:port` (port 0 picks a fake
 * free port), `connect` links a new connection pair to it. No sockets.
 *
 * @example
 * ```ts
 * import { MemoryTransport } from "@fixwire/engine/testing";
 * const transport = new MemoryTransport();
 * const listener = await transport.listen({ host: "127.0.0.1", port: 0 });
 * const conn = await transport.connect(listener.addr);
 * conn.close();
 * listener.close();
 * ```
 */
export class MemoryTransport implements Transport {
  #listeners = new Map<string, MemoryListener>();
  #nextPort = 40000;
  #failures = 0;
  #clientPort = 55000;

  /**
   * Makes the next `n` connect attempts fail with a `ConnectionError`.
   *
   * @param n How many.
   */
  failNextConnects(n: number): void {
    this.#failures = n;
  }

  /**
   * Connects to a listener registered with `listen`.
   *
   * @param endpoint Where.
   * @param options Abort signal.
   * @returns The client side.
   * @throws {ConnectionError} When nothing listens there, or a failure was injected.
   */
  connect(endpoint: Endpoint, options: ConnectOptions = {}): Promise<Connection> {
    if (options.signal?.aborted) return Promise.reject(options.signal.reason);
    const key = `${endpoint.host}:${endpoint.port}`;
    const listener = this.#listeners.get(key) ??
      this.#listeners.get(`0.0.0.0:${endpoint.port}`);
    if (this.#failures > 0 || !listener || listener.isClosed) {
      if (this.#failures > 0) this.#failures--;
      return Promise.reject(new ConnectionError(`Cannot connect to ${key}: connection refused`));
    }
    const [client, server] = memoryConnectionPair({
      firstAddr: `127.0.0.1:${this.#clientPort++}`,
      secondAddr: key,
    });
    listener.offer(server);
    return Promise.resolve(client);
  }

  /**
   * Registers a listener.
   *
   * @param endpoint Host and port; port 0 assigns one.
   * @returns The listener.
   * @throws {ConnectionError} When the address is in use.
   */
  listen(endpoint: Endpoint): Promise<Listener> {
    const port = endpoint.port === 0 ? this.#nextPort++ : endpoint.port;
    const addr = { host: endpoint.host, port };
    const key = `${addr.host}:${port}`;
    if (this.#listeners.has(key)) {
      return Promise.reject(new ConnectionError(`Cannot listen on ${key}: address in use`));
    }
    const l = new MemoryListener(addr, () => this.#listeners.delete(key));
    this.#listeners.set(key, l);
    return Promise.resolve(l);
  }
}
