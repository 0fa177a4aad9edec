/**
 * What the session core asks its driver to do. Every input of the core is a synchronous
 * transition returning a list of these, performed by the driver in order.
 *
 * @module
 */

import type { FixMessage } from "../message/fix_message.ts";
import type { SessionEvent } from "./events.ts";

/** How a sent message changes the store: stored, numbers only, or not at all. */
export type StoreEffect = "append" | "advance" | "none";

/** One thing the driver performs for the core, in the order returned. */
export type Action =
  /**
   * Write a message on the connection (in the next group commit). `append`: store it and set
   * the next sender number past it; `advance`: only set the next sender number past it (session
   * messages are not stored); `none`: already numbered (resends, gap fills, refusals).
   */
  | { type: "send"; message: FixMessage; seq: number; store: StoreEffect }
  /** Store a message put while not established, without writing it (late delivery). */
  | { type: "persist"; message: FixMessage; seq: number }
  /** Persist the next expected inbound number (after every earlier `deliver` has settled). */
  | { type: "setTarget"; seq: number }
  /** Persist the next sender number (operator action). */
  | { type: "setSender"; seq: number }
  /** Persist the correctly-terminated marker. */
  | { type: "setTerminated"; value: boolean }
  /** Reset the store to 1/1 (the core's numbers are reset already). */
  | { type: "resetStore"; atMs: number }
  /** Hand an application message to the application; the next action waits for it to settle. */
  | { type: "deliver"; message: FixMessage }
  /**
   * Call `SessionCore.answerPeerLogout` (once every earlier `deliver` has settled): the peer's
   * Logout waited for a gap, and what filled it may have made the application answer; those
   * answers go out before the Logout's.
   */
  | { type: "answerLogout" }
  /** Read stored messages `begin..end` and feed them back with `SessionCore.resendBlock`. */
  | { type: "resend"; begin: number; end: number }
  /**
   * Close the connection; with `flush`, once what is queued is written. With `linger` (our
   * answer to the peer's Logout), not even then: the peer closes once it has read the answer,
   * and the core asks again, without `flush`, when it stops waiting. Reading goes on meanwhile:
   * closing with unread bytes would reset the connection and discard what the peer has not read.
   */
  | { type: "close"; reason: string; flush: boolean; linger: boolean }
  /** Call `SessionCore.onTimer` at this time (replaces any earlier request). */
  | { type: "timer"; atMs: number }
  /** Publish an event. */
  | { type: "event"; event: SessionEvent }
  /** A message put while not established was sent (or, with `error`, will never be). */
  | { type: "settle"; ref: number; error?: Error }
  /** A reset while established was confirmed (or, with `error`, failed). */
  | { type: "resetSettled"; error?: Error };
