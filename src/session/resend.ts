/**
 * Answering a ResendRequest: which stored messages are resent (PossDupFlag=Y, OrigSendingTime)
 * and which numbers are covered by SequenceReset-GapFill, fed block by block.
 *
 * @module
 */

import type { FixMessage } from "../message/fix_message.ts";
import { Tag } from "../message/tag.ts";

/** Receives an answer's messages in order. */
export interface ResendSink {
  /**
   * A stored message to resend (already marked PossDup).
   *
   * @param seq Its number.
   * @param message The message.
   */
  resent(seq: number, message: FixMessage): void;
  /**
   * A gap fill numbered `from`, moving the counterparty to `newSeqNo`.
   *
   * @param from Its MsgSeqNum.
   * @param newSeqNo NewSeqNo(36).
   */
  gap(from: number, newSeqNo: number): void;
}

/**
 * The progress of one ResendRequest's answer. Numbers are walked in ascending order: each is
 * either resent or skipped; runs of skipped numbers become one gap fill.
 */
export class ResendAnswer {
  /** BeginSeqNo of the answer. */
  readonly begin: number;
  /** The last number answered. */
  readonly last: number;
  /** Messages resent so far. */
  resent = 0;
  #next: number;
  #gapStart = -1;

  /**
   * Starts an answer.
   *
   * @param begin The first number.
   * @param last The last number, inclusive.
   */
  constructor(begin: number, last: number) {
    this.begin = begin;
    this.last = last;
    this.#next = begin;
  }

  /** The next number not walked yet. */
  get next(): number {
    return this.#next;
  }

  /**
   * Marks `seq` (and any unwalked number before it) as covered by a gap fill.
   *
   * @param seq The number.
   */
  skip(seq: number): void {
    if (this.#gapStart < 0) this.#gapStart = this.#next;
    this.#next = seq + 1;
  }

  /**
   * Resends `message` as `seq`: marks it PossDup with its original SendingTime, after the gap
   * fill for the numbers before it, if any.
   *
   * @param seq Its number.
   * @param message The decoded stored message (changed in place).
   * @param sendingTime The new SendingTime.
   * @param out Where the messages to send go, in order.
   */
  resend(seq: number, message: FixMessage, sendingTime: string, out: ResendSink): void {
    if (seq > this.#next && this.#gapStart < 0) this.#gapStart = this.#next;
    this.#fill(seq, out);
    const orig = message.get(Tag.SendingTime);
    message.set(Tag.PossDupFlag, "Y");
    if (orig !== undefined) message.set(Tag.OrigSendingTime, orig);
    message.set(Tag.SendingTime, sendingTime);
    out.resent(seq, message);
    this.resent++;
    this.#next = seq + 1;
  }

  /**
   * Ends the answer: numbers not walked are gap-filled up to `last`.
   *
   * @param out Where the last gap fill goes.
   */
  finish(out: ResendSink): void {
    if (this.#next <= this.last && this.#gapStart < 0) this.#gapStart = this.#next;
    this.#fill(this.last + 1, out);
    this.#next = this.last + 1;
  }

  #fill(upTo: number, out: ResendSink): void {
    if (this.#gapStart < 0) return;
    out.gap(this.#gapStart, upTo);
    this.#gapStart = -1;
  }
}
