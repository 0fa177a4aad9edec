/**
 * Test doubles for applications built on fixwire, and for fixwire's own tests: a manual clock,
 * an in-memory connection pair and an in-memory transport, whose connections can simulate faults
 * (a peer that stops reading, latency, a vanished peer, a reset), and a transport that injects
 * seeded random faults into any other. Test your FIX application exactly, with no sockets and
 * no sleeps.
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
import {
  type Connection,
  type ConnectOptions,
  type Endpoint,
  type Listener,
  PEER_CLOSED,
  type Transport,
} from "./transport.ts";

export type { Clock, TimerHandle } from "./clock.ts";
export type { Connection, ConnectOptions, Endpoint, Listener, Transport } from "./transport.ts";

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

/** Options of {@linkcode FaultControls.halfOpen}. */
export interface HalfOpenOptions {
  /**
   * How many more bytes the half-open side accepts before its writes block, like a send buffer
   * and a receive window that the vanished peer never acknowledges (default: no limit).
   */
  windowBytes?: number;
}

/**
 * The fault controls of {@linkcode MemoryConnection} and {@linkcode FaultyConnection}: a peer
 * that stops reading, a slow link, a peer that vanished, a reset.
 *
 * @example
 * ```ts
 * import { type FaultControls, memoryConnectionPair } from "@fixwire/engine/testing";
 * const [a, b] = memoryConnectionPair();
 * const side: FaultControls = a;
 * side.blockWrites();
 * const pending = a.write(new Uint8Array([1]));
 * side.pendingWrites; // 1
 * a.close();
 * await pending.catch(() => {}); // rejected: the connection closed
 * b.close();
 * ```
 */
export interface FaultControls {
  /**
   * Stops delivering this side's writes, like a zero TCP window: `write` promises stay pending
   * and their bytes are not delivered until {@linkcode FaultControls.unblockWrites}; `close` or
   * `abort` rejects them with a `ConnectionError`.
   */
  blockWrites(): void;
  /** Delivers and resolves the writes held by `blockWrites`, in order, and stops blocking. */
  unblockWrites(): void;
  /**
   * Delays every later write: its bytes are delivered and its promise resolves `ms` later on the
   * clock. Order is kept: a write never overtakes an earlier one.
   *
   * @param ms Milliseconds, 0 or more; 0 turns the latency off.
   */
  setWriteLatency(ms: number): void;
  /**
   * Makes the remote end vanish without FIN or RST: writes on this side are accepted and lost,
   * nothing more arrives on either side, and `closed` resolves only when a side closes itself.
   *
   * @param options An optional window after which writes block.
   */
  halfOpen(options?: HalfOpenOptions): void;
  /**
   * Resets the connection like a TCP RST: both sides end at once, unread bytes are discarded and
   * pending writes reject.
   *
   * @param reason This side's close reason.
   */
  abort(reason?: string): void;
  /** Writes on this side not yet settled. */
  readonly pendingWrites: number;
  /** Bytes of this side's writes that resolved (accepted), including bytes a fault swallowed. */
  readonly bytesWritten: number;
}

interface PendingWrite {
  bytes: Uint8Array;
  due: boolean;
  timer: TimerHandle | undefined;
  resolve: () => void;
  reject: (err: ConnectionError) => void;
}

let linkPair: (options: MemoryPairOptions) => [MemoryConnection, MemoryConnection];

/**
 * One side of an in-memory connection pair (see {@linkcode memoryConnectionPair}), with fault
 * controls for tests that check a peer cannot hang anything.
 *
 * Without faults a write is delivered to the other side at once and resolves at once. Faults
 * act on this side's outbound bytes (`blockWrites`, `setWriteLatency`), or on the link
 * (`halfOpen`, `abort`). `close` always completes at once: it rejects this side's pending
 * writes, the other side ends too, and bytes already delivered stay readable. `closed` never
 * rejects.
 *
 * @example
 * ```ts
 * import { ManualClock, memoryConnectionPair } from "@fixwire/engine/testing";
 * const clock = new ManualClock(0);
 * const [a, b] = memoryConnectionPair({ clock });
 * a.blockWrites();
 * let done = false;
 * const write = a.write(new Uint8Array([1, 2, 3])).then(() => done = true);
 * await clock.advance(1_000);
 * done; // false: a zero window holds the write
 * a.unblockWrites();
 * await write;
 * a.bytesWritten; // 3
 * a.close();
 * b.close();
 * ```
 */
export class MemoryConnection implements Connection, FaultControls {
  /** This side's address, `host:port`. */
  readonly localAddr: string;
  /** The other side's address, `host:port`. */
  readonly remoteAddr: string;
  /** The other side's host. */
  readonly remoteHost: string;
  /** Resolves with the close reason; never rejects. */
  readonly closed: Promise<string>;
  #peer!: MemoryConnection;
  #queue: Uint8Array[] = [];
  #wake: (() => void) | undefined;
  #done = false;
  #resolveClosed!: (reason: string) => void;
  readonly #chunkSize: number;
  readonly #clock: Clock | undefined;
  #outbox: PendingWrite[] = [];
  #blocked = false;
  #latencyMs = 0;
  #severed = false;
  #windowBytes = Infinity;
  #bytesWritten = 0;

  private constructor(local: string, remote: string, chunkSize: number, clock?: Clock) {
    this.localAddr = local;
    this.remoteAddr = remote;
    this.remoteHost = remote.slice(0, remote.lastIndexOf(":"));
    this.#chunkSize = chunkSize;
    this.#clock = clock;
    this.closed = new Promise((r) => this.#resolveClosed = r);
  }

  static {
    linkPair = (options) => {
      const size = options.chunkSize ?? Number.MAX_SAFE_INTEGER;
      const aAddr = options.firstAddr ?? "127.0.0.1:50001";
      const bAddr = options.secondAddr ?? "127.0.0.1:50002";
      const a = new MemoryConnection(aAddr, bAddr, size, options.clock);
      const b = new MemoryConnection(bAddr, aAddr, size, options.clock);
      a.#peer = b;
      b.#peer = a;
      return [a, b];
    };
  }

  /** Writes on this side not yet settled (blocked, delayed or outside a half-open window). */
  get pendingWrites(): number {
    return this.#outbox.length;
  }

  /** Bytes of this side's writes that resolved, including bytes a half-open link swallowed. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  #deliver(bytes: Uint8Array): void {
    if (this.#done || this.#severed) return;
    for (let i = 0; i < bytes.length; i += this.#chunkSize) {
      this.#queue.push(bytes.slice(i, i + this.#chunkSize));
    }
    this.#wake?.();
  }

  /**
   * Writes bytes to the other side. Resolves when delivered (at once unless a fault holds it).
   *
   * @param bytes The bytes; not copied until delivered, so leave them alone until it settles.
   * @returns Resolves when the bytes are accepted.
   * @throws {ConnectionError} (as a rejection) Once this side is closed or reset.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#done) {
      return Promise.reject(
        new ConnectionError(`Cannot write: connection to ${this.remoteAddr} is closed`),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const w: PendingWrite = { bytes, due: true, timer: undefined, resolve, reject };
      if (this.#latencyMs > 0) {
        w.due = false;
        w.timer = this.#clock!.setTimer(this.#clock!.now() + this.#latencyMs, () => {
          w.timer = undefined;
          w.due = true;
          this.#pump();
        });
      }
      this.#outbox.push(w);
      this.#pump();
    });
  }

  #pump(): void {
    while (this.#outbox.length > 0 && !this.#blocked) {
      const w = this.#outbox[0];
      if (!w.due) return;
      if (this.#severed) {
        if (w.bytes.length > this.#windowBytes) return;
        this.#windowBytes -= w.bytes.length;
      }
      this.#outbox.shift();
      this.#peer.#deliver(w.bytes);
      this.#bytesWritten += w.bytes.length;
      w.resolve();
    }
  }

  #failWrites(message: string): void {
    const pending = this.#outbox;
    this.#outbox = [];
    for (const w of pending) {
      w.timer?.cancel();
      w.reject(new ConnectionError(message));
    }
  }

  /**
   * Holds this side's later writes pending and undelivered, like a zero TCP window, until
   * `unblockWrites`, `close` or `abort`. A no-op once closed.
   */
  blockWrites(): void {
    if (!this.#done) this.#blocked = true;
  }

  /** Stops blocking: held writes are delivered and resolve in order (delayed ones when due). */
  unblockWrites(): void {
    this.#blocked = false;
    this.#pump();
  }

  /**
   * Delays each later write by `ms` on the pair's clock: delivered and resolved at `now + ms`,
   * never before an earlier write.
   *
   * @param ms Milliseconds, 0 or more; 0 turns the latency off.
   * @throws {RangeError} When `ms` is negative or not finite.
   * @throws {TypeError} When `ms` is above 0 and the pair was created without a `clock`.
   */
  setWriteLatency(ms: number): void {
    if (!(ms >= 0) || !Number.isFinite(ms)) {
      throw new RangeError(`Cannot set write latency: "${ms}" is not a finite number of ms >= 0`);
    }
    if (ms > 0 && !this.#clock) {
      throw new TypeError(
        "Cannot set write latency: the pair was created without a clock (pass `clock` to memoryConnectionPair)",
      );
    }
    this.#latencyMs = ms;
  }

  /**
   * Cuts the link without FIN or RST, as when the remote host vanishes. From now on, on both
   * sides: writes are accepted (they resolve, `bytesWritten` counts them) and lost, nothing more
   * is delivered (bytes already delivered stay readable), and `close`/`abort` end only the side
   * they are called on, so each side must be closed on its own. With `windowBytes`, this side
   * accepts that many more bytes, then its writes stay pending until it is closed or aborted;
   * `unblockWrites` does not open the window. A no-op once closed.
   *
   * @param options The window, if any.
   * @throws {RangeError} When `windowBytes` is negative.
   */
  halfOpen(options: HalfOpenOptions = {}): void {
    const windowBytes = options.windowBytes ?? Infinity;
    if (!(windowBytes >= 0)) {
      throw new RangeError(`Cannot make connection half-open: window "${windowBytes}" is negative`);
    }
    if (this.#done) return;
    this.#windowBytes = windowBytes;
    this.#severed = true;
    if (!this.#peer.#done) this.#peer.#severed = true;
    this.#pump();
  }

  /**
   * Resets the connection like a TCP RST: both sides end at once; bytes delivered and not yet
   * read are discarded (reads end without them); pending writes on both sides reject with a
   * `ConnectionError`; `closed` resolves with `reason` here and `"connection reset"` on the
   * other side (which a half-open link does not reach). Idempotent.
   *
   * @param reason This side's close reason.
   */
  abort(reason = "aborted"): void {
    if (this.#done) return;
    this.#reset(reason);
    if (!this.#severed) this.#peer.#reset("connection reset");
  }

  #reset(reason: string): void {
    if (this.#done) return;
    this.#done = true;
    this.#queue = [];
    this.#resolveClosed(reason);
    this.#failWrites(`Cannot write: connection to ${this.remoteAddr} was reset`);
    this.#wake?.();
  }

  /**
   * Closes this side at once and, unless the link is half-open, the other side with
   * `"peer closed"`. Pending writes reject; bytes already delivered stay readable. Idempotent.
   *
   * @param reason The close reason reported by `closed`.
   */
  close(reason = "closed"): void {
    if (this.#done) return;
    this.#done = true;
    this.#resolveClosed(reason);
    this.#failWrites(`Cannot write: connection to ${this.remoteAddr} is closed`);
    this.#wake?.();
    if (!this.#severed) this.#peer.close(PEER_CLOSED);
  }

  /**
   * Reads the chunks delivered to this side, until it is closed (after the queued ones) or
   * reset (without them). One reader only.
   *
   * @returns The chunk iterator.
   */
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

  /**
   * Closes this side.
   *
   * @returns Resolves at once.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Options of {@linkcode memoryConnectionPair}.
 *
 * @example
 * ```ts
 * import { ManualClock, type MemoryPairOptions } from "@fixwire/engine/testing";
 * const options: MemoryPairOptions = { chunkSize: 1, clock: new ManualClock(0) };
 * ```
 */
export interface MemoryPairOptions {
  /** Split every write into chunks of at most this many bytes (default: no split). */
  chunkSize?: number;
  /** Address of the first side. */
  firstAddr?: string;
  /** Address of the second side. */
  secondAddr?: string;
  /** The clock that times write latency (needed by `setWriteLatency`). */
  clock?: Clock;
}

/**
 * Two connected in-memory connections: bytes written on one are read from the other. Closing
 * one side ends both. Each side has fault controls (see {@linkcode MemoryConnection}).
 *
 * @param options Chunking, addresses and the clock for write latency.
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
): [MemoryConnection, MemoryConnection] {
  return linkPair(options);
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
 * Options of {@linkcode MemoryTransport}.
 *
 * @example
 * ```ts
 * import { ManualClock, MemoryTransport } from "@fixwire/engine/testing";
 * const transport = new MemoryTransport({ clock: new ManualClock(0) });
 * ```
 */
export interface MemoryTransportOptions {
  /** The clock that times write latency on its connections (needed by `setWriteLatency`). */
  clock?: Clock;
}

/**
 * An in-memory transport: `listen` registers a listener by `host:port` (port 0 picks a fake
 * free port), `connect` links a new connection pair to it. No sockets. Both sides are
 * {@linkcode MemoryConnection}s, with their fault controls.
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
  readonly #clock: Clock | undefined;

  /**
   * Creates an in-memory transport.
   *
   * @param options The clock its connections use for write latency.
   */
  constructor(options: MemoryTransportOptions = {}) {
    this.#clock = options.clock;
  }

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
  connect(endpoint: Endpoint, options: ConnectOptions = {}): Promise<MemoryConnection> {
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
      clock: this.#clock,
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

/** A small seeded generator (mulberry32): the same seed gives the same numbers in [0, 1). */
function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Faults a {@linkcode FaultyConnection} injects into what it writes. Rates are probabilities per
 * write, from 0 (never, the default) to 1 (every write); the byte triggers fire once, at a
 * position in the stream of bytes given to `write`.
 *
 * @example
 * ```ts
 * import { type FaultOptions, ManualClock } from "@fixwire/engine/testing";
 * const options: FaultOptions = {
 *   seed: 42,
 *   clock: new ManualClock(0),
 *   dropRate: 0.1,
 *   delayRate: 0.2,
 *   delayMs: 50,
 *   resetAfterBytes: 1_000,
 * };
 * ```
 */
export interface FaultOptions {
  /** Seed of the generator that decides the random faults (default 1). */
  seed?: number;
  /** The clock that times delays (needed when `delayRate` is above 0). */
  clock?: Clock;
  /** Drop the write: it resolves, and its bytes never arrive. */
  dropRate?: number;
  /**
   * Hold the write's bytes back and send them just after the next write's first bytes (the
   * held write resolves at once). Held bytes are lost if the connection ends first.
   */
  reorderRate?: number;
  /** Send the write as two chunks, cut at a random byte. */
  splitRate?: number;
  /**
   * Send the write `delayMs` after the `write` call on the clock (it resolves then); later
   * writes wait behind it, so order is kept.
   */
  delayRate?: number;
  /** How long a delayed write waits, in ms (default 100). */
  delayMs?: number;
  /**
   * Reset the connection (see {@linkcode FaultControls.abort}) once this many bytes have been
   * given to `write`: the write carrying the next byte sends the bytes before it, then resets,
   * and rejects with a `ConnectionError`.
   */
  resetAfterBytes?: number;
  /**
   * Make the connection half-open (see {@linkcode FaultControls.halfOpen}) once this many bytes
   * have been given to `write`: the bytes before are sent, the rest are swallowed.
   */
  halfOpenAfterBytes?: number;
  /**
   * Block writes (see {@linkcode FaultControls.blockWrites}) once this many bytes have been given
   * to `write`: the bytes before are sent, the write carrying the next byte stays pending.
   */
  blockWritesAfterBytes?: number;
}

/**
 * A fault a {@linkcode FaultyConnection} injected, in the order decided. `write` is the 0-based
 * index of the `write` call; `atByte` the position in the stream of written bytes; `offset` the
 * size of the first part of a split write.
 *
 * @example
 * ```ts
 * import type { FaultEvent } from "@fixwire/engine/testing";
 * const events: FaultEvent[] = [
 *   { type: "split", write: 0, offset: 3 },
 *   { type: "reset", write: 2, atByte: 40 },
 * ];
 * ```
 */
export type FaultEvent =
  | { type: "drop"; write: number }
  | { type: "reorder"; write: number }
  | { type: "split"; write: number; offset: number }
  | { type: "delay"; write: number; ms: number }
  | { type: "reset" | "halfOpen" | "blockWrites"; write: number; atByte: number };

type FaultStep = Uint8Array | "reset" | "halfOpen" | "blockWrites";

interface FaultPlan {
  bytes: Uint8Array;
  steps: FaultStep[];
  drop: boolean;
  hold: boolean;
  dueAtMs: number | undefined;
}

interface ByteTrigger {
  type: "reset" | "halfOpen" | "blockWrites";
  atByte: number;
}

function checkFaultOptions(options: FaultOptions): void {
  for (const key of ["dropRate", "reorderRate", "splitRate", "delayRate"] as const) {
    const rate = options[key] ?? 0;
    if (!(rate >= 0 && rate <= 1)) {
      throw new RangeError(`Cannot inject faults: "${key}" must be from 0 to 1, got "${rate}"`);
    }
  }
  const keys = ["resetAfterBytes", "halfOpenAfterBytes", "blockWritesAfterBytes"] as const;
  for (const key of keys) {
    const at = options[key];
    if (at !== undefined && !(Number.isSafeInteger(at) && at >= 0)) {
      throw new RangeError(`Cannot inject faults: "${key}" must be an integer >= 0, got "${at}"`);
    }
  }
  const delayMs = options.delayMs ?? 100;
  if (!(delayMs > 0 && Number.isFinite(delayMs))) {
    throw new RangeError(`Cannot inject faults: "delayMs" must be above 0, got "${delayMs}"`);
  }
  if ((options.delayRate ?? 0) > 0 && !options.clock) {
    throw new TypeError('Cannot inject faults: "delayRate" needs a "clock"');
  }
}

/**
 * A connection that injects faults into what it writes, decided by a seeded generator so a run
 * repeats exactly, and records them in `faults`. Reads pass through untouched: to disturb what
 * a side receives, wrap the other side. The fault controls (`blockWrites`, `halfOpen`,
 * `setWriteLatency`...) act on the wrapped connection and throw a `TypeError` when it has none
 * (a {@linkcode MemoryConnection} has them all); `abort` falls back to `close`.
 *
 * Writes go out one at a time in order. Per write, the generator draws five numbers (drop,
 * reorder, split, split point, delay) whatever the rates, so changing one rate does not move
 * the others' decisions. A write carrying a byte trigger gets no random fault.
 *
 * @example
 * ```ts
 * import { FaultyConnection, memoryConnectionPair } from "@fixwire/engine/testing";
 * const [a, b] = memoryConnectionPair();
 * const faulty = new FaultyConnection(a, { seed: 7, splitRate: 1 });
 * await faulty.write(new TextEncoder().encode("8=FIX.4.4"));
 * faulty.faults; // [{ type: "split", write: 0, offset: ... }]
 * faulty.close();
 * for await (const chunk of b) chunk; // two chunks
 * ```
 */
export class FaultyConnection implements Connection, FaultControls {
  readonly #inner: Connection;
  readonly #random: () => number;
  readonly #clock: Clock | undefined;
  readonly #dropRate: number;
  readonly #reorderRate: number;
  readonly #splitRate: number;
  readonly #delayRate: number;
  readonly #delayMs: number;
  #triggers: ByteTrigger[];
  readonly #faults: FaultEvent[] = [];
  #writes = 0;
  #offered = 0;
  #planHolding = false;
  #planEnded = false;
  #held: Uint8Array | undefined;
  #tail: Promise<void> = Promise.resolve();
  #done = false;
  #sleeps = new Set<{ handle: TimerHandle; wake: () => void }>();
  #pending = 0;
  #bytesWritten = 0;

  /**
   * Wraps a connection.
   *
   * @param inner The connection to write through; closing the wrapper closes it.
   * @param options The faults and the seed.
   * @throws {RangeError} When a rate is outside 0..1 or a byte count is not an integer >= 0.
   * @throws {TypeError} When `delayRate` has no `clock`, or a byte trigger needs a control the
   * wrapped connection lacks.
   */
  constructor(inner: Connection, options: FaultOptions = {}) {
    checkFaultOptions(options);
    const controls = inner as Partial<FaultControls>;
    if (options.halfOpenAfterBytes !== undefined && typeof controls.halfOpen !== "function") {
      throw new TypeError('Cannot inject faults: the wrapped connection has no "halfOpen"');
    }
    if (
      options.blockWritesAfterBytes !== undefined && typeof controls.blockWrites !== "function"
    ) {
      throw new TypeError('Cannot inject faults: the wrapped connection has no "blockWrites"');
    }
    this.#inner = inner;
    this.#random = mulberry32(options.seed ?? 1);
    this.#clock = options.clock;
    this.#dropRate = options.dropRate ?? 0;
    this.#reorderRate = options.reorderRate ?? 0;
    this.#splitRate = options.splitRate ?? 0;
    this.#delayRate = options.delayRate ?? 0;
    this.#delayMs = options.delayMs ?? 100;
    const triggers: ByteTrigger[] = [];
    if (options.resetAfterBytes !== undefined) {
      triggers.push({ type: "reset", atByte: options.resetAfterBytes });
    }
    if (options.halfOpenAfterBytes !== undefined) {
      triggers.push({ type: "halfOpen", atByte: options.halfOpenAfterBytes });
    }
    if (options.blockWritesAfterBytes !== undefined) {
      triggers.push({ type: "blockWrites", atByte: options.blockWritesAfterBytes });
    }
    this.#triggers = triggers.sort((x, y) => x.atByte - y.atByte);
    inner.closed.then(() => this.#shutdown());
  }

  /** The wrapped connection's local address. */
  get localAddr(): string {
    return this.#inner.localAddr;
  }

  /** The wrapped connection's remote address. */
  get remoteAddr(): string {
    return this.#inner.remoteAddr;
  }

  /** The wrapped connection's remote host. */
  get remoteHost(): string {
    return this.#inner.remoteHost;
  }

  /** The wrapped connection's `closed`. */
  get closed(): Promise<string> {
    return this.#inner.closed;
  }

  /** The faults injected so far, in the order decided (a write's faults when it is called). */
  get faults(): readonly FaultEvent[] {
    return this.#faults;
  }

  /** Writes to this wrapper not yet settled (queued, delayed, or pending on the inner side). */
  get pendingWrites(): number {
    return this.#pending;
  }

  /** Bytes of writes to this wrapper that resolved, including dropped and held ones. */
  get bytesWritten(): number {
    return this.#bytesWritten;
  }

  /**
   * Writes bytes through the faults.
   *
   * @param bytes The bytes; leave them alone until the promise settles.
   * @returns Resolves when the bytes are accepted (dropped and held ones at once).
   * @throws {ConnectionError} (as a rejection) Once closed, or when a reset fault fires.
   */
  write(bytes: Uint8Array): Promise<void> {
    if (this.#done) return Promise.reject(this.#closedError());
    const plan = this.#plan(bytes);
    this.#pending++;
    const run = this.#tail.then(() => this.#run(plan));
    this.#tail = run.then(() => {}, () => {});
    return run.finally(() => this.#pending--);
  }

  #plan(bytes: Uint8Array): FaultPlan {
    const write = this.#writes++;
    const [drop, reorder, split, splitPoint, delay] = [1, 2, 3, 4, 5].map(() => this.#random());
    const plan: FaultPlan = { bytes, steps: [], drop: false, hold: false, dueAtMs: undefined };
    if (this.#planEnded) return plan;
    const start = this.#offered;
    const end = start + bytes.length;
    this.#offered = end;
    const hits = this.#triggers.filter((t) => t.atByte >= start && t.atByte < end);
    if (hits.length > 0) {
      this.#triggers = this.#triggers.filter((t) => !hits.includes(t));
      let from = 0;
      for (const hit of hits) {
        const to = hit.atByte - start;
        if (to > from) plan.steps.push(bytes.subarray(from, to));
        plan.steps.push(hit.type);
        this.#faults.push({ type: hit.type, write, atByte: hit.atByte });
        from = to;
        if (hit.type === "reset") {
          this.#planEnded = true;
          return plan;
        }
      }
      if (from < bytes.length) plan.steps.push(bytes.subarray(from));
      this.#planHolding = false;
      return plan;
    }
    if (drop < this.#dropRate) {
      plan.drop = true;
      this.#faults.push({ type: "drop", write });
      return plan;
    }
    if (!this.#planHolding && reorder < this.#reorderRate) {
      plan.hold = true;
      this.#planHolding = true;
      this.#faults.push({ type: "reorder", write });
      return plan;
    }
    if (split < this.#splitRate && bytes.length >= 2) {
      const offset = 1 + Math.floor(splitPoint * (bytes.length - 1));
      plan.steps.push(bytes.subarray(0, offset), bytes.subarray(offset));
      this.#faults.push({ type: "split", write, offset });
    } else {
      plan.steps.push(bytes);
    }
    if (delay < this.#delayRate) {
      plan.dueAtMs = this.#clock!.now() + this.#delayMs;
      this.#faults.push({ type: "delay", write, ms: this.#delayMs });
    }
    this.#planHolding = false;
    return plan;
  }

  async #run(plan: FaultPlan): Promise<void> {
    if (this.#done) throw this.#closedError();
    if (plan.drop || plan.hold) {
      // Resolved at once but written later: a copy (the writer may reuse its buffer).
      if (plan.hold) this.#held = plan.bytes.slice();
      this.#bytesWritten += plan.bytes.length;
      return;
    }
    if (plan.dueAtMs !== undefined && this.#clock!.now() < plan.dueAtMs) {
      await this.#sleepUntil(plan.dueAtMs);
      if (this.#done) throw this.#closedError();
    }
    for (const step of plan.steps) {
      if (step === "reset") {
        this.abort("connection reset");
        throw new ConnectionError(`Cannot write: connection to ${this.remoteAddr} was reset`);
      } else if (step === "halfOpen") {
        this.halfOpen();
      } else if (step === "blockWrites") {
        this.blockWrites();
      } else {
        await this.#inner.write(step);
        const held = this.#held;
        if (held) {
          this.#held = undefined;
          await this.#inner.write(held);
        }
      }
    }
    this.#bytesWritten += plan.bytes.length;
  }

  #sleepUntil(atMs: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const sleep = {
        handle: this.#clock!.setTimer(atMs, () => {
          this.#sleeps.delete(sleep);
          resolve();
        }),
        wake: resolve,
      };
      this.#sleeps.add(sleep);
    });
  }

  #closedError(): ConnectionError {
    return new ConnectionError(`Cannot write: connection to ${this.remoteAddr} is closed`);
  }

  #shutdown(): void {
    this.#done = true;
    this.#held = undefined;
    for (const sleep of this.#sleeps) {
      sleep.handle.cancel();
      sleep.wake();
    }
    this.#sleeps.clear();
  }

  #control(name: keyof FaultControls, action: string): FaultControls {
    const controls = this.#inner as Partial<FaultControls>;
    if (typeof controls[name] !== "function") {
      throw new TypeError(`Cannot ${action}: the wrapped connection has no "${name}"`);
    }
    return controls as FaultControls;
  }

  /**
   * Blocks the wrapped connection's writes (see {@linkcode FaultControls.blockWrites}).
   *
   * @throws {TypeError} When the wrapped connection has no such control.
   */
  blockWrites(): void {
    this.#control("blockWrites", "block writes").blockWrites();
  }

  /**
   * Unblocks the wrapped connection's writes.
   *
   * @throws {TypeError} When the wrapped connection has no such control.
   */
  unblockWrites(): void {
    this.#control("unblockWrites", "unblock writes").unblockWrites();
  }

  /**
   * Sets the wrapped connection's write latency (see {@linkcode FaultControls.setWriteLatency}).
   *
   * @param ms Milliseconds, 0 or more.
   * @throws {TypeError} When the wrapped connection has no such control, or no clock.
   */
  setWriteLatency(ms: number): void {
    this.#control("setWriteLatency", "set write latency").setWriteLatency(ms);
  }

  /**
   * Makes the wrapped connection half-open (see {@linkcode FaultControls.halfOpen}).
   *
   * @param options The window, if any.
   * @throws {TypeError} When the wrapped connection has no such control.
   */
  halfOpen(options?: HalfOpenOptions): void {
    this.#control("halfOpen", "make connection half-open").halfOpen(options);
  }

  /**
   * Resets the connection: writes queued here reject, and the wrapped connection is aborted (or
   * closed, when it cannot be aborted). Idempotent.
   *
   * @param reason This side's close reason.
   */
  abort(reason = "aborted"): void {
    this.#shutdown();
    const controls = this.#inner as Partial<FaultControls>;
    if (typeof controls.abort === "function") controls.abort(reason);
    else this.#inner.close(reason);
  }

  /**
   * Closes at once: writes queued here reject, and the wrapped connection closes. Idempotent.
   *
   * @param reason The close reason.
   */
  close(reason = "closed"): void {
    this.#shutdown();
    this.#inner.close(reason);
  }

  /**
   * Reads the wrapped connection's chunks, untouched.
   *
   * @returns The chunk iterator.
   */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.#inner[Symbol.asyncIterator]();
  }

  /**
   * Closes the connection.
   *
   * @returns Resolves at once.
   */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/**
 * Options of {@linkcode FaultyTransport}: the faults, and which sides get them.
 *
 * @example
 * ```ts
 * import type { FaultyTransportOptions } from "@fixwire/engine/testing";
 * const options: FaultyTransportOptions = { seed: 3, splitRate: 0.5, sides: "accepted" };
 * ```
 */
export interface FaultyTransportOptions extends FaultOptions {
  /**
   * Whose writes get the faults: connections from `connect` (`"connected"`), from `listen`
   * (`"accepted"`) or both (the default). Every connection is wrapped either way, so each has
   * the fault controls and a `faults` log.
   */
  sides?: "both" | "connected" | "accepted";
}

class FaultyListener implements Listener {
  readonly #inner: Listener;
  readonly #wrap: (c: Connection) => FaultyConnection;

  constructor(inner: Listener, wrap: (c: Connection) => FaultyConnection) {
    this.#inner = inner;
    this.#wrap = wrap;
  }

  get addr(): Endpoint {
    return this.#inner.addr;
  }

  close(): void {
    this.#inner.close();
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Connection> {
    for await (const conn of this.#inner) yield this.#wrap(conn);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#inner[Symbol.asyncDispose]();
  }
}

/**
 * A transport that wraps every connection of another transport (opened by `connect`, accepted
 * by `listen`) in a {@linkcode FaultyConnection}. Connection `k` (0-based, in the order wrapped)
 * draws its faults from seed `seed + k`, so a test that opens connections in the same order
 * sees the same faults on every run. Faults act on what each wrapped connection writes; when
 * both ends come through this transport, both directions are faulted (narrow it with `sides`).
 *
 * @example
 * ```ts
 * import { FaultyTransport, MemoryTransport } from "@fixwire/engine/testing";
 * const transport = new FaultyTransport(new MemoryTransport(), { resetAfterBytes: 4 });
 * const listener = await transport.listen({ host: "127.0.0.1", port: 0 });
 * const client = await transport.connect(listener.addr);
 * await client.write(new Uint8Array([1, 2, 3]));
 * await client.write(new Uint8Array([4, 5, 6])).catch(() => {}); // sends 4, then resets
 * await client.closed; // "connection reset"
 * listener.close();
 * ```
 */
export class FaultyTransport implements Transport {
  readonly #inner: Transport;
  readonly #options: FaultOptions;
  readonly #sides: "both" | "connected" | "accepted";
  readonly #connections: FaultyConnection[] = [];

  /**
   * Wraps a transport.
   *
   * @param inner The transport whose connections get the faults.
   * @param options The faults, the seed and the sides.
   * @throws {RangeError} When a rate is outside 0..1 or a byte count is not an integer >= 0.
   * @throws {TypeError} When `delayRate` has no `clock`.
   */
  constructor(inner: Transport, options: FaultyTransportOptions = {}) {
    checkFaultOptions(options);
    const { sides = "both", ...faults } = options;
    this.#inner = inner;
    this.#options = faults;
    this.#sides = sides;
  }

  /** Every connection wrapped so far, opened or accepted, in the order wrapped. */
  get connections(): readonly FaultyConnection[] {
    return this.#connections;
  }

  #wrap(conn: Connection, side: "connected" | "accepted"): FaultyConnection {
    const seed = (this.#options.seed ?? 1) + this.#connections.length;
    const faulty = this.#sides === "both" || this.#sides === side;
    const options = faulty ? { ...this.#options, seed } : { seed, clock: this.#options.clock };
    let wrapped: FaultyConnection;
    try {
      wrapped = new FaultyConnection(conn, options);
    } catch (err) {
      conn.close("fault injection failed");
      throw err;
    }
    this.#connections.push(wrapped);
    return wrapped;
  }

  /**
   * Opens a connection through the wrapped transport and wraps it.
   *
   * @param endpoint Where.
   * @param options Abort signal.
   * @returns The wrapped connection.
   * @throws {ConnectionError} When the wrapped transport cannot connect.
   * @throws {TypeError} When a byte trigger needs a control the connection lacks.
   */
  async connect(endpoint: Endpoint, options?: ConnectOptions): Promise<FaultyConnection> {
    return this.#wrap(await this.#inner.connect(endpoint, options), "connected");
  }

  /**
   * Listens through the wrapped transport; accepted connections are wrapped.
   *
   * @param endpoint Host and port.
   * @returns The listener.
   * @throws {ConnectionError} When the wrapped transport cannot listen.
   */
  async listen(endpoint: Endpoint): Promise<Listener> {
    const inner = await this.#inner.listen(endpoint);
    return new FaultyListener(inner, (conn) => this.#wrap(conn, "accepted"));
  }
}

export {
  type MessageProblem,
  SessionCore,
  type SessionCoreOptions,
  type SessionRole,
} from "./session/core.ts";
export type { Action, StoreEffect } from "./session/actions.ts";
