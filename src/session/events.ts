/**
 * Session states and events, and the bounded event queue behind `session.events()`.
 *
 * @module
 */

import type { FixMessage } from "../message/fix_message.ts";

/**
 * The state of a session, in FIX Antenna's vocabulary.
 *
 * - `initial`: created; neither connected nor registered.
 * - `waitingForConnect`: an initiator opening its link, or an acceptor registered and waiting
 *   for a connection.
 * - `waitingForConfirmLogon`: an initiator that sent Logon and waits for the answer.
 * - `waitingForLogon`: an acceptor with a connection, waiting for the first Logon (also after
 *   an unexpected drop).
 * - `established`: logged on; application messages flow.
 * - `reconnecting`: an initiator whose link failed, waiting to try again.
 * - `waitingForConfirmLogout`: we sent Logout and wait for the answer.
 * - `correctlyTerminated`: the Logout exchange completed.
 * - `nonGracefullyTerminated`: the link ended without a Logout exchange; the persisted sequence
 *   numbers are used on the next connect.
 */
export type SessionState =
  | "initial"
  | "waitingForConnect"
  | "waitingForConfirmLogon"
  | "waitingForLogon"
  | "established"
  | "reconnecting"
  | "waitingForConfirmLogout"
  | "correctlyTerminated"
  | "nonGracefullyTerminated";

/** Everything observable about a session, as a discriminated union on `type`. */
export type SessionEvent =
  | { type: "stateChanged"; from: SessionState; to: SessionState; atMs: number }
  | { type: "logon"; atMs: number; reset: boolean }
  | { type: "logout"; atMs: number; text: string | undefined; initiatedByUs: boolean }
  | { type: "gapDetected"; atMs: number; expected: number; received: number }
  | { type: "resendAnswered"; atMs: number; begin: number; end: number; resent: number }
  | { type: "rejectSent"; atMs: number; refSeqNum: number; reason: number; text: string }
  | { type: "rejectReceived"; atMs: number; message: FixMessage }
  | { type: "messageRejected"; atMs: number; message: FixMessage; reason: string }
  | { type: "garbled"; atMs: number; error: Error }
  | { type: "disconnected"; atMs: number; reason: string; graceful: boolean }
  | { type: "reconnectFailed"; atMs: number; attempts: number; reason: string }
  | { type: "error"; atMs: number; error: unknown };

/**
 * A fan-out of events to any number of subscribers, each with a bounded queue that drops its
 * oldest event when full: publishing never blocks and never throws.
 *
 * @example
 * ```ts
 * import { EventHub } from "./events.ts";
 * const hub = new EventHub<number>(10);
 * const it = hub.subscribe();
 * hub.publish(1);
 * (await it.next()).value; // 1
 * ```
 */
export class EventHub<T> {
  #subs = new Set<Subscriber<T>>();
  #capacity: number;
  #closed = false;

  /**

   * Creates an instance.
   * @param capacity Events kept per subscriber before the oldest is dropped.
   */
  constructor(capacity = 1024) {
    this.#capacity = capacity;
  }

  /** Number of active subscribers. */
  get subscribers(): number {
    return this.#subs.size;
  }

  /**
   * Delivers an event to every subscriber.
   *
   * @param event The event.
   */
  publish(event: T): void {
    for (const s of this.#subs) s.push(event);
  }

  /**
   * Subscribes: an async iterator of every event published from now on. Ends when the hub is
   * closed or the consumer calls `return` (e.g. `break` in `for await`).
   *
   * @returns The iterator.
   */
  subscribe(): AsyncIterableIterator<T> {
    const sub = new Subscriber<T>(this.#capacity, () => this.#subs.delete(sub));
    if (this.#closed) sub.end();
    else this.#subs.add(sub);
    return sub;
  }

  /** Ends every subscription. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const s of this.#subs) s.end();
    this.#subs.clear();
  }
}

class Subscriber<T> implements AsyncIterableIterator<T> {
  #queue: T[] = [];
  #head = 0;
  #waiter: ((r: IteratorResult<T>) => void) | undefined;
  #done = false;
  #capacity: number;
  #onEnd: () => void;
  dropped = 0;

  constructor(capacity: number, onEnd: () => void) {
    this.#capacity = capacity;
    this.#onEnd = onEnd;
  }

  push(v: T): void {
    if (this.#done) return;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: v, done: false });
      return;
    }
    if (this.#queue.length - this.#head >= this.#capacity) {
      this.#head++;
      this.dropped++;
    }
    this.#queue.push(v);
    if (this.#head > 1024 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
  }

  end(): void {
    if (this.#done) return;
    this.#done = true;
    if (this.#waiter) {
      const w = this.#waiter;
      this.#waiter = undefined;
      w({ value: undefined, done: true });
    }
  }

  next(): Promise<IteratorResult<T>> {
    if (this.#head < this.#queue.length) {
      const value = this.#queue[this.#head++];
      return Promise.resolve({ value, done: false });
    }
    if (this.#done) return Promise.resolve({ value: undefined, done: true });
    return new Promise((resolve) => this.#waiter = resolve);
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    this.#onEnd();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): AsyncIterableIterator<T> {
    return this;
  }
}
