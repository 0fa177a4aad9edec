/**
 * Answering a ResendRequest: which stored messages are resent (PossDupFlag=Y, OrigSendingTime)
 * and which numbers are covered by SequenceReset-GapFill, fed block by block.
 *
 * @module
 */

import type { FixMessage } from "../message/fix_message.ts";
import { decodeMessage } from "../message/framer.ts";
import { Tag } from "../message/tag.ts";
import type { StoredMessage } from "../store.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import type { CoreState } from "./_state.ts";

const R = admin.SessionRejectReason;

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

export function onResendRequest(c: CoreState, msg: FixMessage, now: number, out: Action[]): void {
  const begin = admin.seqNumOf(msg, Tag.BeginSeqNo);
  const end = admin.seqNumOf(msg, Tag.EndSeqNo);
  if (!(begin > 0) || !(end >= 0) || (end !== 0 && end < begin)) {
    c.sendReject(
      msg,
      R.ValueIncorrect,
      Number.isNaN(begin) ? Tag.BeginSeqNo : Tag.EndSeqNo,
      "Invalid ResendRequest range",
      now,
      out,
    );
    return;
  }
  const key = `${begin}-${end}`;
  if (key === c.lastResendKey) {
    if (++c.duplicateResends > c.s.duplicateResendRequestLimit) {
      c.log.warn("duplicate ResendRequest ignored", { begin, end });
      return;
    }
  } else {
    c.lastResendKey = key;
    c.duplicateResends = 1;
  }
  const lastSent = c.sender - 1;
  let last = end === 0 || (end >= 999999 && c.ver < 42) || end > lastSent ? lastSent : end;
  const limit = c.s.resendMessagesLimit;
  if (limit > 0 && last - begin + 1 > limit) {
    c.log.warn("ResendRequest capped", { begin, end: last, limit });
    last = begin + limit - 1;
  }
  if (begin > lastSent) {
    c.log.warn("ResendRequest for messages not sent yet", { begin, lastSent });
    return;
  }
  startAnswer(c, begin, last, out);
}

/**
 * Starts answering `begin..last`. One answer runs at a time; requests arriving meanwhile merge
 * into one waiting answer covering all of them, so repeated overlapping ResendRequests never
 * pile up work.
 */
export function startAnswer(c: CoreState, begin: number, last: number, out: Action[]): void {
  if (c.answer || c.answerWriting) {
    const next = c.answerNext;
    c.answerNext = next ? [Math.min(next[0], begin), Math.max(next[1], last)] : [begin, last];
    return;
  }
  c.answer = new ResendAnswer(begin, last);
  out.push({ type: "resend", begin, end: last });
}

export function sink(c: CoreState, now: number, out: Action[]): ResendSink {
  return {
    resent: (seq, message) => {
      out.push({ type: "send", message, seq, store: "none" });
      c.t.lastSentAtMs = now;
    },
    gap: (from, newSeqNo) => {
      const m = admin.gapFill(newSeqNo);
      c.stamp(m, from, now);
      m.set(Tag.PossDupFlag, "Y").set(Tag.OrigSendingTime, m.get(Tag.SendingTime)!);
      out.push({ type: "send", message: m, seq: from, store: "none" });
      c.t.lastSentAtMs = now;
    },
  };
}

/**
 * Stored messages of the running resend answer, in ascending order (one block of them).
 *
 * @param stored The block.
 * @param nowMs The current time.
 * @returns The actions: resent messages and gap fills to write.
 */
export function resendBlock(
  c: CoreState,
  stored: readonly StoredMessage[],
  nowMs: number,
): Action[] {
  const out: Action[] = [];
  const answer = c.answer;
  // Nothing more goes out once the session decided to close (after its Logout).
  if (!answer || !c.connected || c.closing !== undefined) return out;
  const to = sink(c, nowMs, out);
  const sendingTime = c.timestamp(nowMs);
  for (const { seqNum, bytes } of stored) {
    if (seqNum < answer.next || seqNum > answer.last) continue;
    let original: FixMessage;
    try {
      original = decodeMessage(bytes, c.o.dataFields);
    } catch {
      answer.skip(seqNum);
      continue;
    }
    const late = c.late.get(seqNum);
    if (late) {
      c.late.delete(seqNum);
      c.lateBytes -= late.bytes;
      if (c.expire(seqNum, late, nowMs, out)) {
        answer.skip(seqNum);
        continue;
      }
      if (late.ref) out.push({ type: "settle", ref: late.ref });
    }
    if (admin.isAdminMsgType(original.msgType) || c.o.onResend?.(original) === false) {
      answer.skip(seqNum);
      continue;
    }
    answer.resend(seqNum, original, sendingTime, to);
  }
  return out;
}

/**
 * The running resend answer has read its whole range: the last gap fill goes out, and the
 * next waiting request starts.
 *
 * @param nowMs The current time.
 * @returns The actions.
 */
export function resendDone(c: CoreState, nowMs: number): Action[] {
  const out: Action[] = [];
  const answer = c.answer;
  // Nothing more goes out once the session decided to close (after its Logout).
  if (!answer || !c.connected || c.closing !== undefined) return out;
  answer.finish(sink(c, nowMs, out));
  c.answer = undefined;
  c.emit({
    type: "resendAnswered",
    atMs: nowMs,
    begin: answer.begin,
    end: answer.last,
    resent: answer.resent,
  }, out);
  // Still busy until the link reports the answer written (`resendWritten`).
  c.answerWriting = true;
  return out;
}

/**
 * The running answer is written: the merged waiting request, if any, starts.
 *
 * @param c The core's state.
 * @param nowMs The current time.
 * @returns The actions.
 */
export function resendWritten(c: CoreState, nowMs: number): Action[] {
  const out: Action[] = [];
  if (!c.answerWriting) return out;
  c.answerWriting = false;
  const next = c.answerNext;
  c.answerNext = undefined;
  if (next && c.connected && c.closing === undefined) {
    c.log.debug("answering a merged ResendRequest", { from: next[0], to: next[1], atMs: nowMs });
    startAnswer(c, next[0], next[1], out);
  }
  return out;
}
