/**
 * Inbound processing: sequence checks, gaps and ResendRequests we send, messages held until
 * a gap is filled, SequenceReset, PossDup checks, validation and delivery to the application.
 *
 * @module
 */

import { BusinessRejectError, MessageRejectError } from "../errors.ts";
import type { FixMessage } from "../message/fix_message.ts";
import { Tag } from "../message/tag.ts";
import { parseUtcTimestamp } from "../message/timestamps.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import type { CoreState } from "./_state.ts";
import type { MessageProblem } from "./core.ts";
import { onLogon, onLogonWhileEstablished, onLogout, sendingTimeProblem } from "./logon.ts";
import { onResendRequest } from "./resend.ts";

const R = admin.SessionRejectReason;

export function inbound(c: CoreState, msg: FixMessage, now: number, out: Action[]): void {
  const msgType = msg.msgType;
  const awaitingLogon = c.state === "waitingForLogon" ||
    c.state === "waitingForConfirmLogon";
  if (c.state === "waitingForConfirmLogon" && msgType === "5") {
    const text = msg.get(Tag.Text);
    c.log.warn("Logon rejected by the counterparty", { session: c.name, text });
    c.emit({ type: "logout", atMs: now, text, initiatedByUs: false }, out);
    c.close(`Logon rejected${text ? `: ${text}` : ""}`, true, now, out);
    return;
  }
  if (awaitingLogon) {
    if (msgType !== "A") {
      c.log.warn("first message is not a Logon; disconnecting", {
        session: c.name,
        msgType,
      });
      c.fatal(`First message is not a Logon (MsgType ${msgType})`, false, now, out);
      return;
    }
    onLogon(c, msg, now, out);
    return;
  }
  // Compared on the bytes received: no string per message for the usual case.
  if (!msg.hasValue(Tag.BeginString, c.begin)) {
    c.fatal(
      `Incorrect BeginString: expected ${c.begin}, received ${msg.get(Tag.BeginString)}`,
      true,
      now,
      out,
    );
    return;
  }
  // A wrong CompID is fatal; a missing or empty one is a tag problem, answered with a Reject
  // when the message's turn comes (see `headerProblem`).
  if (
    !msg.hasValue(Tag.SenderCompID, c.id.target) || !msg.hasValue(Tag.TargetCompID, c.id.sender)
  ) {
    const sender = msg.get(Tag.SenderCompID), target = msg.get(Tag.TargetCompID);
    if ((sender && sender !== c.id.target) || (target && target !== c.id.sender)) {
      const tag = sender && sender !== c.id.target ? Tag.SenderCompID : Tag.TargetCompID;
      c.sendReject(msg, R.CompIdProblem, tag, "CompID problem", now, out);
      c.fatal("CompID problem", true, now, out);
      return;
    }
  }
  if (msgType === "4" && msg.get(Tag.GapFillFlag) !== "Y") {
    // Reset mode: processed whatever its MsgSeqNum, even missing, 0 or too low.
    onSequenceReset(c, msg, now, out);
    return;
  }
  const seq = admin.seqNumOf(msg, Tag.MsgSeqNum);
  if (!(seq > 0)) {
    c.fatal("MsgSeqNum(34) is missing or invalid", true, now, out);
    return;
  }
  if (msgType === "A") {
    onLogonWhileEstablished(c, msg, seq, now, out);
    return;
  }
  c.resetEchoDue = false;
  if (!checkSendingTime(c, msg, now, out)) return;
  const expected = c.target;
  // A ResendRequest is answered whatever its number, as QuickFIX does (`nextResendRequest`
  // verifies neither too high nor too low); a rejected one still takes its place in the
  // sequence. One numbered too low is not fatal either: answered, and the number stays.
  if (msgType === "2" && !rejectInvalid(c, msg, false, now, out)) {
    onResendRequest(c, msg, now, out);
  }
  if (seq > expected) {
    if (msgType === "5") {
      if (c.weStartedLogout || c.state !== "established") {
        // The confirming Logout: the session ends; the gap is requested on the next logon.
        c.log.warn("Logout received with a sequence gap", { expected, received: seq });
        onLogout(c, msg, now, out);
        return;
      }
      // The peer logs out while we miss messages: request them first, answer the Logout
      // once they are in (or when the logout timeout ends the wait). QuickFIX confirms at
      // once and leaves the gap to the next session; the specification lets the Logout's
      // receiver fill gaps first, and fixwire does, so nothing the peer persisted is held
      // back for a whole session (the README's session-layer section).
      c.log.warn("Logout received with a sequence gap; requesting the gap before answering", {
        session: c.name,
        expected,
        received: seq,
      });
      c.peerLogout = msg;
      c.t.startLogoutWait(now, c.s.logoutTimeoutMs);
    }
    onGap(c, msg, expected, seq, now, out);
    return;
  }
  if (seq < expected) {
    if (msgType === "2") return;
    onTooLow(c, msg, expected, seq, now, out);
    return;
  }
  processExpected(c, msg, msgType, now, out);
  drainEarly(c, now, out);
}

/** Answers the peer's Logout that waited (the `answerLogout` action; see `drainEarly`). */
export function answerHeldLogout(c: CoreState, now: number, out: Action[]): void {
  c.peerLogoutQueued = false;
  const logout = c.peerLogout;
  // Answered meanwhile (the logout timeout), or the connection ended.
  if (!logout || !c.connected || c.closing !== undefined) return;
  onLogout(c, logout, now, out);
  c.arm(out);
}

/**
 * Answers the peer's Logout now or, when this turn hands messages to the application (held ones
 * released by a resend), once they are handled (the `answerLogout` action): what the application
 * answers to them goes out in this session, before our Logout.
 */
function answerPeerLogout(c: CoreState, logout: FixMessage, now: number, out: Action[]): void {
  if (!delivers(out)) {
    onLogout(c, logout, now, out);
    return;
  }
  c.peerLogout = logout;
  if (c.peerLogoutQueued) return;
  c.peerLogoutQueued = true;
  out.push({ type: "answerLogout" });
}

/** Whether `out` hands a message to the application (whose answers are not numbered yet). */
function delivers(out: Action[]): boolean {
  for (let i = 0; i < out.length; i++) if (out[i].type === "deliver") return true;
  return false;
}

/** Processes held messages that are now in order, then checks the gap. */
export function drainEarly(c: CoreState, now: number, out: Action[]): void {
  // Nothing after the peer's Logout is processed before it is answered.
  while (c.early.size > 0 && c.closing === undefined && !c.peerLogoutQueued) {
    const next = c.target;
    const held = c.early.get(next);
    // Held messages below the expected number were covered by a gap fill.
    for (const k of c.early.keys()) if (k < next) c.early.delete(k);
    if (!held) break;
    c.early.delete(next);
    processExpected(c, held, held.msgType, now, out);
  }
  const logout = c.peerLogout;
  if (logout && c.closing === undefined && c.target > logout.intOr(Tag.MsgSeqNum, 0)) {
    // The gap before the peer's Logout is filled (its own number came as a gap fill).
    answerPeerLogout(c, logout, now, out);
    return;
  }
  if (c.resendTarget === 0 || c.closing !== undefined) return;
  const next = c.target;
  if (next >= c.resendTarget && c.early.size === 0) {
    c.resendTarget = 0;
    c.resendRequestedUpTo = 0;
    return;
  }
  if (c.resendRequestedUpTo !== 0 && next > c.resendRequestedUpTo) {
    // Block-wise ResendRequests: ask for the next block.
    sendResendRequest(c, next, c.resendTarget - 1, now, out);
  }
}

export function processExpected(
  c: CoreState,
  msg: FixMessage,
  msgType: string,
  now: number,
  out: Action[],
): void {
  const seq = msg.intOr(Tag.MsgSeqNum, 0);
  if (msgType !== "0" && msgType !== "1") {
    // Waiting for a Logout answer (or for the gap before the peer's Logout): the peer's
    // messages still coming in order are what it sent before it (a backlog we work through at
    // our pace), so the wait restarts, within its limit. Heartbeats and TestRequests do not.
    c.t.extendWait(now, c.s.logoutTimeoutMs);
  }
  if (msgType !== "2") {
    // ResendRequests were checked when answered.
    const problem = headerProblem(c, msg);
    if (problem !== undefined) {
      c.advanceTarget(seq, out);
      c.sendReject(msg, problem.reason, problem.tag, problem.text, now, out);
      return;
    }
  }
  const possDup = msgType !== "4" && msg.get(Tag.PossDupFlag) === "Y"
    ? possDupProblem(msg)
    : undefined;
  if (possDup !== undefined) {
    c.advanceTarget(seq, out);
    c.sendReject(msg, possDup.reason, Tag.OrigSendingTime, possDup.text, now, out);
    return;
  }
  if ((msgType === "0" || msgType === "1") && rejectInvalid(c, msg, true, now, out)) return;
  switch (msgType) {
    case "0":
    case "2":
      c.advanceTarget(seq, out);
      return;
    case "1":
      c.advanceTarget(seq, out);
      c.sendSequenced(admin.heartbeat(msg.get(Tag.TestReqID)), false, now, out);
      return;
    case "3":
      c.advanceTarget(seq, out);
      c.log.warn("Reject received", {
        session: c.name,
        refSeqNum: msg.get(Tag.RefSeqNum),
        text: msg.get(Tag.Text),
      });
      c.emit({ type: "rejectReceived", atMs: now, message: msg }, out);
      return;
    case "4":
      onGapFill(c, msg, seq, now, out);
      return;
    case "5":
      c.advanceTarget(seq, out);
      if (c.weStartedLogout) onLogout(c, msg, now, out);
      else answerPeerLogout(c, msg, now, out);
      return;
    default:
      onApplication(c, msg, msgType, seq, now, out);
  }
}

export function onApplication(
  c: CoreState,
  msg: FixMessage,
  msgType: string,
  seq: number,
  now: number,
  out: Action[],
): void {
  if (c.state !== "established" && c.state !== "waitingForConfirmLogout") {
    c.advanceTarget(seq, out);
    return;
  }
  if (!definesMsgType(c, msgType, msg)) {
    // Not a message of the version at all: a session-level problem.
    c.advanceTarget(seq, out);
    c.sendReject(msg, R.InvalidMsgType, Tag.MsgType, `Invalid MsgType (${msgType})`, now, out);
    return;
  }
  const p = c.o.validate?.(msg)[0];
  if (p !== undefined) {
    c.advanceTarget(seq, out);
    c.sendReject(msg, p.reason, p.tag, p.text, now, out);
    return;
  }
  // A message the version defines but the application does not take: a business-level
  // reject from FIX.4.2 on (BusinessMessageReject, reason 3), a Reject before.
  const supports = c.o.supportsMsgType;
  if (supports && !supports(msgType, msg)) {
    c.advanceTarget(seq, out);
    if (c.ver >= 42) {
      c.sendBusinessReject(
        msg,
        admin.BusinessRejectReason.UnsupportedMessageType,
        undefined,
        `Unsupported MsgType "${msgType}"`,
        now,
        out,
      );
    } else {c.sendReject(
        msg,
        R.InvalidMsgType,
        Tag.MsgType,
        `Invalid MsgType "${msgType}"`,
        now,
        out,
      );}
    return;
  }
  // The number is persisted only once the application has handled the message.
  out.push({ type: "deliver", message: msg });
  c.advanceTarget(seq, out);
}

/**
 * A problem found before the dictionary's: a tag number the decoder could not read (rule:
 * Reject with SessionRejectReason 0), or a missing (1) or empty (4) SenderCompID or
 * TargetCompID, each answered with a Reject, the number consumed, the session going on.
 */
export function headerProblem(c: CoreState, msg: FixMessage): MessageProblem | undefined {
  const decoded = c.invalid.get(msg);
  if (decoded !== undefined) return decoded;
  for (const [tag, name] of COMP_IDS) {
    const v = msg.get(tag);
    if (v === undefined) {
      return { reason: R.RequiredTagMissing, tag, text: `Required tag missing (${name}(${tag}))` };
    }
    if (v === "") {
      return {
        reason: R.TagWithoutValue,
        tag,
        text: `Tag specified without a value (${name}(${tag}))`,
      };
    }
  }
  return undefined;
}

const COMP_IDS = [[Tag.SenderCompID, "SenderCompID"], [Tag.TargetCompID, "TargetCompID"]] as const;

/**
 * Whether the session's version defines a MsgType: the `definesMsgType` hook, or else the
 * standard dictionaries (see `admin.standardDefinesMsgType`) plus whatever `supportsMsgType`
 * takes (custom messages of a custom dictionary).
 */
function definesMsgType(c: CoreState, msgType: string, msg: FixMessage): boolean {
  const defines = c.o.definesMsgType;
  if (defines) return defines(msgType, msg);
  const applVerId = msg.get(Tag.ApplVerID) ?? c.peerApplVerId ?? c.s.defaultApplVerId;
  return admin.standardDefinesMsgType(c.begin, msgType, applVerId) ||
    c.o.supportsMsgType?.(msgType, msg) === true;
}

/** Runs the header checks and the `validate` hook on a message; a problem gets a Reject. True if rejected. */
export function rejectInvalid(
  c: CoreState,
  msg: FixMessage,
  advance: boolean,
  now: number,
  out: Action[],
): boolean {
  const p = headerProblem(c, msg) ?? c.o.validate?.(msg)[0];
  if (p === undefined) return false;
  if (advance) c.advanceTarget(msg.intOr(Tag.MsgSeqNum, 0), out);
  c.sendReject(msg, p.reason, p.tag, p.text, now, out);
  return true;
}

export function checkSendingTime(
  c: CoreState,
  msg: FixMessage,
  now: number,
  out: Action[],
): boolean {
  const problem = sendingTimeProblem(msg, c.s, now);
  if (problem === undefined) return true;
  const [reason, text] = problem;
  const seq = msg.intOr(Tag.MsgSeqNum, 0);
  if (seq === c.target) c.advanceTarget(seq, out);
  c.sendReject(msg, reason, Tag.SendingTime, text, now, out);
  if (reason === R.SendingTimeAccuracy) c.fatal(text, true, now, out);
  return false;
}

/** What is wrong with a PossDup message's OrigSendingTime(122), if anything. */
function possDupProblem(msg: FixMessage): { reason: number; text: string } | undefined {
  const orig = msg.get(Tag.OrigSendingTime);
  if (orig === undefined) {
    return { reason: R.RequiredTagMissing, text: "Required tag missing: OrigSendingTime(122)" };
  }
  const o = parseUtcTimestamp(orig), s = parseUtcTimestamp(msg.get(Tag.SendingTime) ?? "");
  if (o && s && o.epochMs > s.epochMs) {
    return {
      reason: R.SendingTimeAccuracy,
      text: "SendingTime accuracy problem: OrigSendingTime is later",
    };
  }
  return undefined;
}

export function onTooLow(
  c: CoreState,
  msg: FixMessage,
  expected: number,
  seq: number,
  now: number,
  out: Action[],
): void {
  if (msg.get(Tag.PossDupFlag) === "Y") {
    // A possible duplicate is checked before it is ignored (QuickFIX's `doPossDup`; a
    // SequenceReset needs no OrigSendingTime). The number stays where it is.
    const problem = msg.msgType !== "4" ? possDupProblem(msg) : undefined;
    if (problem !== undefined) {
      c.sendReject(msg, problem.reason, Tag.OrigSendingTime, problem.text, now, out);
      if (problem.reason === R.SendingTimeAccuracy) c.fatal(problem.text, true, now, out);
      return;
    }
    c.log.debug("duplicate ignored", { session: c.name, seq, expected });
    return;
  }
  if (c.s.allowMessageWithoutPossDupFlag) {
    c.log.debug("duplicate ignored", { session: c.name, seq, expected });
    return;
  }
  c.fatal(`MsgSeqNum too low, expecting ${expected} but received ${seq}`, true, now, out);
}

export function onGap(
  c: CoreState,
  msg: FixMessage,
  expected: number,
  seq: number,
  now: number,
  out: Action[],
): void {
  if (c.early.size < c.s.incomingQueueSize) c.early.set(seq, msg);
  else c.log.warn("incoming queue full; message dropped until resent", { seq });
  if (c.resendTarget !== 0) {
    // A request is outstanding: never a second one for the same gap.
    if (seq + 1 > c.resendTarget) c.resendTarget = seq + 1;
    return;
  }
  c.resendTarget = seq + 1;
  c.emit({ type: "gapDetected", atMs: now, expected, received: seq }, out);
  c.log.info("sequence gap detected", { session: c.name, expected, received: seq });
  sendResendRequest(c, expected, seq - 1, now, out);
}

export function sendResendRequest(
  c: CoreState,
  from: number,
  knownTo: number,
  now: number,
  out: Action[],
): void {
  const block = c.s.resendRequestBlockSize;
  let end = c.ver >= 42 ? 0 : 999999;
  if (block > 0) end = Math.min(from + block - 1, Math.max(knownTo, from));
  c.resendRequestedUpTo = block > 0 ? end : 0;
  c.sendSequenced(admin.resendRequest(from, end), false, now, out);
}

export function onSequenceReset(c: CoreState, msg: FixMessage, now: number, out: Action[]): void {
  const problem = headerProblem(c, msg);
  if (problem !== undefined) {
    // Not applied; a SequenceReset never consumes a number.
    c.sendReject(msg, problem.reason, problem.tag, problem.text, now, out);
    return;
  }
  const newSeq = admin.seqNumOf(msg, Tag.NewSeqNo);
  const expected = c.target;
  if (!(newSeq > 0)) {
    c.sendReject(
      msg,
      R.RequiredTagMissing,
      Tag.NewSeqNo,
      "NewSeqNo(36) is missing or invalid",
      now,
      out,
    );
    return;
  }
  if (newSeq > expected) {
    c.log.info("sequence reset", { session: c.name, from: expected, to: newSeq });
    c.target = newSeq;
    out.push({ type: "setTarget", seq: newSeq });
    drainEarly(c, now, out);
  } else if (newSeq === expected) {
    c.log.info("SequenceReset to the expected number; nothing to do", { newSeq });
  } else {
    c.sendReject(
      msg,
      R.ValueIncorrect,
      Tag.NewSeqNo,
      `Value is incorrect (out of range) for this tag: NewSeqNo ${newSeq} < expected ${expected}`,
      now,
      out,
    );
  }
}

export function onGapFill(
  c: CoreState,
  msg: FixMessage,
  seq: number,
  now: number,
  out: Action[],
): void {
  const newSeq = admin.seqNumOf(msg, Tag.NewSeqNo);
  if (!(newSeq > seq)) {
    c.advanceTarget(seq, out);
    c.sendReject(
      msg,
      R.ValueIncorrect,
      Tag.NewSeqNo,
      `Value is incorrect (out of range) for this tag: NewSeqNo ${newSeq}`,
      now,
      out,
    );
    return;
  }
  c.target = newSeq;
  out.push({ type: "setTarget", seq: newSeq });
}

/**
 * The application's handler of a delivered message failed: a typed reject error becomes a
 * Reject or BusinessMessageReject; anything else is reported as "application not available".
 */
export function deliveryFailed(
  c: CoreState,
  msg: FixMessage,
  error: unknown,
  nowMs: number,
  out: Action[],
): void {
  if (error instanceof MessageRejectError) {
    c.sendReject(msg, error.reason, error.refTagId, error.message, nowMs, out);
  } else if (error instanceof BusinessRejectError) {
    if (c.ver >= 42) {
      c.sendBusinessReject(msg, error.reason, error.refTagId, error.message, nowMs, out);
    } else c.sendReject(msg, R.ValueIncorrect, error.refTagId, error.message, nowMs, out);
  } else {
    c.log.error("application handler failed", { session: c.name, error: `${error}` });
    c.emit({ type: "error", atMs: nowMs, error }, out);
    // FIX.4.0 and FIX.4.1 have no BusinessMessageReject: their Reject(3) is the only way to
    // tell the counterparty the message was not processed.
    if (c.ver >= 42) {
      c.sendBusinessReject(
        msg,
        admin.BusinessRejectReason.ApplicationNotAvailable,
        undefined,
        "Application not available",
        nowMs,
        out,
      );
    } else c.sendReject(msg, R.Other, undefined, "Application not available", nowMs, out);
  }
}
