/**
 * Persistence port: sequence numbers and the outgoing message store, per session.
 *
 * The session core uses it in group-commit style: it calls the synchronous `append*` and
 * `set*` methods for every message of one event-loop turn, then awaits `flush()` once, and only
 * then writes the bytes to the connection. A store makes everything before `flush()` resolved
 * durable to its configured level; after a crash, the message log and the sender sequence
 * number are consistent (the next sender number is one past the last complete stored message).
 *
 * When a session is opened with `logIncoming`, the store also keeps an inbound log: every
 * received message, raw, in arrival order, readable with `readIncoming()`. `reset()` does not
 * clear it (it is an audit trail, not part of the sequence).
 *
 * @module
 */

import type { SessionId } from "./session_id.ts";
import { SeqBytes } from "./_seq_slots.ts";

/** One stored outgoing message. */
export interface StoredMessage {
  /** Its MsgSeqNum(34). */
  seqNum: number;
  /** The exact bytes sent, from `8=` to the checksum's SOH. */
  bytes: Uint8Array;
}

/** The persisted state of a session. */
export interface SeqState {
  /** The MsgSeqNum of our next outgoing message. */
  nextSenderSeqNum: number;
  /** The MsgSeqNum we expect next from the counterparty. */
  nextTargetSeqNum: number;
  /** When the sequence was last reset (epoch ms): the session's creation time. */
  creationTimeMs: number;
  /** Whether the session last ended with a completed Logout exchange. */
  correctlyTerminated: boolean;
}

/** Per-session sequence numbers and outgoing message store. */
export interface SeqStore extends AsyncDisposable {
  /** The current state (after pending `set*` and `append*` calls). */
  readonly state: Readonly<SeqState>;
  /**
   * Stores one outgoing message and sets the next sender number to `seqNum + 1`.
   * Buffered until `flush()`.
   *
   * @param seqNum Its MsgSeqNum.
   * @param bytes The encoded message; the store copies what it keeps.
   */
  appendOutgoing(seqNum: number, bytes: Uint8Array): void;
  /**
   * Records an incoming message in the inbound log when the store was opened with
   * `logIncoming`; otherwise a no-op (also once closed: a read loop may still be delivering).
   * Buffered until `flush()`.
   *
   * @param bytes The raw inbound message; the store copies what it keeps.
   */
  appendIncoming(bytes: Uint8Array): void;
  /**
   * The largest outgoing message the store can keep, in bytes, when it has a limit (Deno KV);
   * the session refuses a larger `put()` before giving it a sequence number.
   */
  readonly maxMessageBytes?: number;
  /**
   * Sets the next sender sequence number (gap fills, resets). Buffered until `flush()`.
   *
   * @param seqNum The MsgSeqNum of the next outgoing message.
   */
  setNextSenderSeqNum(seqNum: number): void;
  /**
   * Sets the next expected target sequence number. Buffered until `flush()`.
   *
   * @param seqNum The MsgSeqNum expected next.
   */
  setNextTargetSeqNum(seqNum: number): void;
  /**
   * Sets the correctly-terminated marker. Buffered until `flush()`.
   *
   * @param value True after a completed Logout exchange, false once a session starts.
   */
  setCorrectlyTerminated(value: boolean): void;
  /**
   * Makes every buffered change durable. Cheap when nothing is pending.
   *
   * @returns Resolves once durable; rejects with an error when the write failed.
   */
  flush(): Promise<void>;
  /**
   * Optional: makes durable what must be before a batch is sent (the stored outgoing messages
   * and the next sender number), and may leave the rest (the next target number, the
   * correctly-terminated marker, incoming messages) for the next `flush()`. The session calls
   * it before writing to the connection and `flush()` after, so the counterparty is not kept
   * waiting for a write that sending does not depend on; QuickFIX orders its writes the same
   * way. Without it the session calls `flush()` before sending.
   *
   * @returns Resolves once durable; rejects with an error when the write failed.
   */
  flushOutgoing?(): Promise<void>;
  /**
   * Optional: does what `flushOutgoing()` (`outgoingOnly`; `flush()` for a store without it)
   * or `flush()` does, when it can without waiting, and says whether it did. The session calls
   * it first, and awaits the promise only when it returns false: a store that writes
   * synchronously (memory, a file without fsync) then costs no promise and no event-loop turn
   * per batch.
   *
   * @param outgoingOnly What `flushOutgoing()` makes durable is enough.
   * @returns True once done, as durable as the promise's resolution would say; false when it
   *   would have to wait (then it did nothing the awaited call would not do again).
   * @throws When the write failed, as the promise would reject.
   */
  flushSync?(outgoingOnly: boolean): boolean;
  /**
   * Optional: how many store writes the store keeps in flight at once (default 1: the session
   * awaits each `flushOutgoing()` or `flush()` before the next). A store that says more makes
   * each call write what was appended and set before it, starts that write behind those in
   * flight (beyond its bound, once there is room), and resolves (or rejects) each call only once
   * every earlier one has. The session then starts its next batch's write while up to this many
   * are in flight, and a full batch's (900 messages or 512 KiB) at once; it writes each batch to
   * the connection once it and every batch before it are persisted.
   */
  readonly flushesInFlight?: number;
  /**
   * Reads stored outgoing messages with `from <= seqNum <= to`, ascending. Numbers with no
   * stored message are skipped (the session fills them with a gap fill).
   *
   * @param from The first sequence number.
   * @param to The last sequence number, inclusive.
   * @returns The messages.
   */
  readOutgoing(from: number, to: number): AsyncIterable<StoredMessage>;
  /**
   * Reads the inbound log in arrival order, unflushed messages included: everything ever
   * logged for the session, also by earlier runs, even when this run does not log.
   *
   * @returns The raw inbound messages.
   */
  readIncoming(): AsyncIterable<Uint8Array>;
  /**
   * Resets both sequence numbers to 1, clears stored outgoing messages and sets the creation
   * time. The inbound log is kept.
   *
   * @param creationTimeMs The new creation time, from the session's clock.
   */
  reset(creationTimeMs: number): Promise<void>;
  /** Flushes and releases the store. Idempotent. */
  close(): Promise<void>;
}

/** Options passed to a store factory when opening a session's store. */
export interface SeqStoreOpenOptions {
  /** The creation time to record if the store is new (epoch ms, from the engine's clock). */
  nowMs: number;
  /** Also keep an inbound message log. */
  logIncoming?: boolean;
}

/** Opens the store of one session. */
export interface SeqStoreFactory {
  /**
   * Opens (creating if needed) the store of a session.
   *
   * @param id The session.
   * @param options The current time and logging switches.
   * @returns The open store.
   * @throws {Error} When the persisted data is corrupt beyond repair, or owned by another process.
   */
  open(id: SessionId, options: SeqStoreOpenOptions): Promise<SeqStore>;
  /**
   * Optional: how many file descriptors an open store keeps at most. The engine makes room for
   * them ahead of time (see `Transport.reserve`).
   */
  readonly descriptorsPerSession?: number;
}

const RESOLVED: Promise<void> = Promise.resolve();

/** Whether a memory store is closed (set by the class). */
let isClosed: (store: MemorySeqStore) => boolean;
/**
 * Moves a closed store's state, messages and inbound log to a new store of its session; the
 * closed one is left empty (set by the class).
 */
let moveContents: (from: MemorySeqStore, to: MemorySeqStore) => void;

/**
 * A transient store in memory: for tests and sessions that need no persistence.
 *
 * @example
 * ```ts
 * import { MemorySeqStore } from "@fixwire/engine";
 * const store = new MemorySeqStore(0, { logIncoming: true });
 * store.appendOutgoing(1, new Uint8Array([56]));
 * store.appendIncoming(new Uint8Array([57]));
 * await store.flush();
 * store.state.nextSenderSeqNum; // 2
 * ```
 */
export class MemorySeqStore implements SeqStore {
  #state: SeqState;
  #messages = new SeqBytes();
  #incoming: Uint8Array[];
  readonly #logIncoming: boolean;
  #closed = false;

  /**
   * Creates an empty store.
   *
   * @param creationTimeMs The session's creation time.
   * @param options `logIncoming` keeps the messages passed to `appendIncoming` (default
   *   false); `incoming` holds those logged before, in arrival order (a reopened store).
   */
  constructor(
    creationTimeMs: number,
    options: { logIncoming?: boolean; incoming?: Uint8Array[] } = {},
  ) {
    this.#logIncoming = options.logIncoming ?? false;
    this.#incoming = [...(options.incoming ?? [])];
    this.#state = {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs,
      correctlyTerminated: false,
    };
  }

  /** The current state. */
  get state(): Readonly<SeqState> {
    return this.#state;
  }

  /** Number of stored outgoing messages. */
  get size(): number {
    return this.#messages.size;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("Cannot use store: it is closed");
  }

  /**
   * Stores a copy of an outgoing message.
   *
   * @param seqNum MsgSeqNum.
   * @param bytes The bytes.
   */
  appendOutgoing(seqNum: number, bytes: Uint8Array): void {
    this.#assertOpen();
    this.#messages.set(seqNum, bytes);
    this.#state.nextSenderSeqNum = seqNum + 1;
  }

  /**
   * Keeps a copy of an inbound message when the store logs incoming messages.
   *
   * @param bytes The raw message.
   */
  appendIncoming(bytes: Uint8Array): void {
    if (this.#logIncoming && !this.#closed) this.#incoming.push(bytes.slice());
  }

  /**
   * Sets the next sender number.
   *
   * @param seqNum The number.
   */
  setNextSenderSeqNum(seqNum: number): void {
    this.#assertOpen();
    this.#state.nextSenderSeqNum = seqNum;
  }

  /**
   * Sets the next target number.
   *
   * @param seqNum The number.
   */
  setNextTargetSeqNum(seqNum: number): void {
    this.#assertOpen();
    this.#state.nextTargetSeqNum = seqNum;
  }

  /**
   * Sets the correctly-terminated marker.
   *
   * @param value The marker.
   */
  setCorrectlyTerminated(value: boolean): void {
    this.#assertOpen();
    this.#state.correctlyTerminated = value;
  }

  /** Nothing to do in memory. */
  flush(): Promise<void> {
    return RESOLVED;
  }

  /**
   * Nothing to do in memory: done at once.
   *
   * @param _outgoingOnly Either way.
   * @returns Always true.
   */
  flushSync(_outgoingOnly: boolean): boolean {
    return true;
  }

  /**
   * Reads stored messages in a range.
   *
   * @param from First number.
   * @param to Last number.
   * @returns The messages, ascending.
   */
  async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
    for (const k of this.#messages.keysBetween(from, to)) {
      const bytes = this.#messages.get(k);
      if (bytes) yield { seqNum: k, bytes };
    }
  }

  /**
   * Reads the inbound log.
   *
   * @returns The inbound messages, in arrival order.
   */
  async *readIncoming(): AsyncIterable<Uint8Array> {
    for (const m of [...this.#incoming]) yield await Promise.resolve(m);
  }

  /**
   * Resets to 1/1 and forgets outgoing messages (the inbound log is kept).
   *
   * @param creationTimeMs New creation time.
   */
  reset(creationTimeMs: number): Promise<void> {
    this.#assertOpen();
    this.#messages.clear();
    this.#state = {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs,
      correctlyTerminated: false,
    };
    return RESOLVED;
  }

  /** Closes the store. Idempotent. */
  close(): Promise<void> {
    this.#closed = true;
    return RESOLVED;
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  static {
    isClosed = (store) => store.#closed;
    moveContents = (from, to) => {
      to.#state = { ...from.#state };
      to.#messages = from.#messages;
      to.#incoming = from.#incoming;
      from.#messages = new SeqBytes();
      from.#incoming = [];
    };
  }
}

/**
 * Opens memory stores, one per session id. Reopening a session (in the same factory) returns
 * its state as it was closed, like a persistent store would within one process: the closed
 * store's numbers, messages and inbound log move to the new one (nothing is copied, and the
 * factory keeps nothing else). A session's store is open once at a time: opening it again
 * before closing it is refused, as the file store refuses it.
 *
 * @example
 * ```ts
 * import { MemorySeqStoreFactory, SessionId } from "@fixwire/engine";
 * const store = await new MemorySeqStoreFactory().open(new SessionId("A", "B"), { nowMs: 0 });
 * ```
 */
export class MemorySeqStoreFactory implements SeqStoreFactory {
  /** The last store opened for each session, open or closed. */
  #stores = new Map<string, MemorySeqStore>();

  /**
   * Opens a session's memory store.
   *
   * @param id The session.
   * @param options The creation time and the inbound log switch.
   * @returns The store.
   * @throws {Error} When the session's store is open (and not closed since).
   */
  open(id: SessionId, options: SeqStoreOpenOptions): Promise<SeqStore> {
    const last = this.#stores.get(id.key);
    if (last !== undefined && !isClosed(last)) {
      return Promise.reject(
        new Error(`Cannot open store: session ${id} is already open in this factory`),
      );
    }
    const store = new MemorySeqStore(options.nowMs, { logIncoming: options.logIncoming });
    if (last !== undefined) moveContents(last, store);
    this.#stores.set(id.key, store);
    return Promise.resolve(store);
  }
}
