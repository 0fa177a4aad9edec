/**
 * Persistence port: sequence numbers and the outgoing message store, per session.
 *
 * The session core uses it in group-commit style: it calls the synchronous `append*` and
 * `set*` methods for every message of one event-loop turn, then awaits `flush()` once, and only
 * then writes the bytes to the connection. A store makes everything before `flush()` resolved
 * durable to its configured level; after a crash, the message log and the sender sequence
 * number are consistent (the next sender number is one past the last complete stored message).
 *
 * @module
 */

import type { SessionId } from "./session_id.ts";

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
   * Records an incoming message in the inbound log when that is enabled; otherwise a no-op.
   *
   * @param bytes The raw inbound message.
   */
  appendIncoming(bytes: Uint8Array): void;
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
   * Reads stored outgoing messages with `from <= seqNum <= to`, ascending. Numbers with no
   * stored message are skipped (the session fills them with a gap fill).
   *
   * @param from The first sequence number.
   * @param to The last sequence number, inclusive.
   * @returns The messages.
   */
  readOutgoing(from: number, to: number): AsyncIterable<StoredMessage>;
  /**
   * Resets both sequence numbers to 1, clears stored messages and sets the creation time.
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
}
