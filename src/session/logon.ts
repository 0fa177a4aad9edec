/**
 * Logon admission: the checks a Logon passes before anything it carries may change the
 * session, in the order they run, and the Logons a session sends.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import { FixMessage } from "../message/fix_message.ts";
import { MsgType, Tag } from "../message/tag.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import { credentialRefusal, seqNumOf } from "./admin.ts";
import type { CoreState } from "./_state.ts";
import { onGap } from "./inbound.ts";
import { startAnswer } from "./resend.ts";

/** The most a timer can wait (setTimeout's limit), in seconds: a larger HeartBtInt is refused. */
export const MAX_HEARTBEAT_SECONDS = Math.floor(2_147_483_647 / 1000 / 2);

/** Why a Logon is refused, and how: with an unsequenced Logout, or by a silent disconnect. */
export interface LogonRefusal {
  /** Text(58) of the Logout, and the close reason. */
  text: string;
  /** Whether a Logout is sent before the disconnect. */
  logout: boolean;
  /**
   * Whether the peer was not (yet) authenticated: its Logout then carries MsgSeqNum 1, never a
   * real number.
   */
  unauthenticated?: boolean;
}

/** What admission needs to know about the session. */
export interface AdmissionContext {
  /** The session's settings. */
  settings: SessionSettings;
  /** BeginString(8) expected. */
  beginString: string;
  /** Our SenderCompID. */
  sender: string;
  /** The counterparty's CompID. */
  target: string;
  /** The connection's remote host (acceptors), checked against `AllowedSourceAddresses`. */
  remoteHost: string | undefined;
  /** Whether we accept (an acceptor checks credentials and the source address). */
  acceptor: boolean;
  /** The user's authenticate hook. */
  authenticate: ((logon: FixMessage) => string | undefined) | undefined;
  /** The dictionary check; returns the first problem's text. */
  validate: ((logon: FixMessage) => string | undefined) | undefined;
  /** The current time, for SendingTime. */
  nowMs: number;
}

/**
 * Checks a Logon before it is accepted: source address, BeginString, MsgSeqNum, CompIDs,
 * credentials and the authenticate hook, the dictionary, HeartBtInt, SendingTime and the
 * ResetSeqNumFlag's number. Pure: nothing is changed.
 *
 * @param logon The Logon.
 * @param ctx The session.
 * @returns The refusal, or undefined when the Logon may be accepted.
 */
export function logonRefusal(logon: FixMessage, ctx: AdmissionContext): LogonRefusal | undefined {
  const s = ctx.settings;
  if (
    ctx.acceptor && s.allowedSourceAddresses.length > 0 &&
    !s.allowedSourceAddresses.includes(ctx.remoteHost ?? "")
  ) {
    return { text: "Source address not allowed", logout: false };
  }
  if (logon.get(Tag.BeginString) !== ctx.beginString) {
    return {
      text: `Incorrect BeginString: expected ${ctx.beginString}, received ${
        logon.get(Tag.BeginString)
      }`,
      logout: true,
      unauthenticated: true,
    };
  }
  const seq = seqNumOf(logon, Tag.MsgSeqNum);
  if (!(seq > 0)) {
    return { text: "MsgSeqNum(34) is missing or invalid", logout: true, unauthenticated: true };
  }
  if (logon.get(Tag.SenderCompID) !== ctx.target || logon.get(Tag.TargetCompID) !== ctx.sender) {
    // Not the counterparty we expect: no Logout at all, just the disconnect.
    return { text: "CompID problem", logout: false };
  }
  if (ctx.acceptor) {
    const refusal = credentialRefusal(s, logon) ?? ctx.authenticate?.(logon);
    if (refusal !== undefined) return { text: refusal, logout: true, unauthenticated: true };
  }
  // An invalid Logon is disconnected without a Logout, as QuickFIX does (its Reject cannot go
  // out before a Logon is accepted, and the session is not up to send a Logout either).
  if (ctx.beginString === "FIXT.1.1" && !logon.get(Tag.DefaultApplVerID)) {
    return { text: "Required tag missing: DefaultApplVerID(1137)", logout: false };
  }
  const problem = ctx.validate?.(logon);
  if (problem !== undefined) return { text: problem, logout: false };
  const hb = logon.intOr(Tag.HeartBtInt, Number.NaN);
  if (!(hb >= 0) || !Number.isInteger(hb) || hb > MAX_HEARTBEAT_SECONDS) {
    return { text: "Invalid HeartBtInt(108)", logout: ctx.acceptor };
  }
  const timeProblem = sendingTimeProblem(logon, s, ctx.nowMs);
  if (timeProblem !== undefined) return { text: timeProblem[1], logout: false };
  if (logon.get(Tag.ResetSeqNumFlag) === "Y" && seq !== 1) {
    return {
      text: `Logon with ResetSeqNumFlag must have MsgSeqNum 1, received ${seq}`,
      logout: true,
    };
  }
  return undefined;
}

/**
 * What is wrong with SendingTime(52), if anything (PossDup messages are checked elsewhere).
 *
 * @param msg The message.
 * @param settings Whether to check, and the allowed difference.
 * @param nowMs The current time.
 * @returns [SessionRejectReason, Text], or undefined.
 */
export function sendingTimeProblem(
  msg: FixMessage,
  settings: Pick<SessionSettings, "checkSendingTimeAccuracy" | "reasonableDelayMs">,
  nowMs: number,
): [number, string] | undefined {
  if (!settings.checkSendingTimeAccuracy || msg.get(Tag.PossDupFlag) === "Y") return undefined;
  const t = msg.timestampMsOr(Tag.SendingTime, Number.NaN);
  if (Number.isNaN(t)) return [1, "SendingTime(52) is missing or invalid"];
  if (Math.abs(t - nowMs) > settings.reasonableDelayMs) {
    return [10, "SendingTime accuracy problem"];
  }
  return undefined;
}

/** What goes into a Logon the session sends. */
export interface LogonFields {
  /** HeartBtInt(108). */
  heartbeatSeconds: number;
  /** ResetSeqNumFlag(141)=Y. */
  reset: boolean;
  /** Username and password (an initiator's own Logon). */
  credentials: boolean;
  /** NextExpectedMsgSeqNum(789), when the session sends it. */
  nextExpected: number | undefined;
}

/**
 * Builds a Logon (header fields set later).
 *
 * @param f What it carries.
 * @param s The settings (credentials, DefaultApplVerID).
 * @param beginString The session's BeginString.
 * @param extra Fields every Logon we start carries (the session qualifier).
 * @returns The message.
 */
export function buildLogon(
  f: LogonFields,
  s: SessionSettings,
  beginString: string,
  extra: readonly (readonly [number, string])[],
): FixMessage {
  const m = new FixMessage(MsgType.Logon).set(Tag.EncryptMethod, "0")
    .set(Tag.HeartBtInt, f.heartbeatSeconds);
  // FIX.4.0 has no ResetSeqNumFlag(141): its numbers restart without saying so.
  if (f.reset && beginString !== "FIX.4.0") m.set(Tag.ResetSeqNumFlag, "Y");
  if (f.credentials) {
    for (const [tag, value] of extra) m.set(tag, value);
    if (s.username !== undefined) m.set(s.usernameTag, s.username);
    if (s.password !== undefined) m.set(s.passwordTag, s.password);
  }
  if (beginString === "FIXT.1.1") m.set(Tag.DefaultApplVerID, s.defaultApplVerId);
  if (f.nextExpected !== undefined) m.set(Tag.NextExpectedMsgSeqNum, f.nextExpected);
  return m;
}

export function onLogon(c: CoreState, msg: FixMessage, now: number, out: Action[]): void {
  const acceptor = c.role === "acceptor";
  const schedule = c.o.schedule;
  if (schedule !== undefined && !schedule.isInSession(now)) {
    // QuickFIX: "Logon attempt not within session time", a disconnect without a Logout.
    refuseLogon(c, "Logon outside the session time", false, now, out);
    return;
  }
  const refusal = logonRefusal(msg, {
    settings: c.s,
    beginString: c.begin,
    sender: c.id.sender,
    target: c.id.target,
    remoteHost: c.remoteHost,
    acceptor,
    authenticate: c.o.authenticate,
    validate: c.o.validate ? (m) => c.o.validate!(m)[0]?.text : undefined,
    nowMs: now,
  });
  if (refusal !== undefined) {
    refuseLogon(c, refusal.text, refusal.logout, now, out, refusal.unauthenticated);
    return;
  }
  const seq = msg.intOr(Tag.MsgSeqNum, 0);
  const hb = msg.intOr(Tag.HeartBtInt, 0);
  const peerReset = msg.get(Tag.ResetSeqNumFlag) === "Y";
  const force = c.s.forceSeqNumReset;
  // Our answer carries ResetSeqNumFlag when the peer's Logon did or ForceSeqNumReset says so;
  // ResetOnLogon resets the numbers without it (QuickFIX answers 141=Y only to a 141=Y).
  // A new period of a scheduled session starts with fresh numbers, announced too.
  const resetFlag = acceptor &&
    (peerReset || force === "always" || (force === "first" && c.logonCount === 0) ||
      c.newPeriod(now));
  const resetNow = resetFlag || (acceptor && c.s.resetOnLogon);
  const targetReset = !acceptor && peerReset && !c.sentResetFlag;
  const expected = resetNow || targetReset ? 1 : c.target;
  if (seq < expected && !c.s.ignoreSeqNumTooLowAtLogon) {
    refuseLogon(c, `MsgSeqNum too low, expecting ${expected} but received ${seq}`, true, now, out);
    return;
  }
  // Accepted: from here on the Logon changes the session.
  c.peerApplVerId = c.begin === "FIXT.1.1" ? msg.get(Tag.DefaultApplVerID) : undefined;
  if (acceptor) {
    c.t.heartbeatMs = hb * 1000;
    if (resetNow) c.resetNumbers(now, out);
    c.sentResetFlag = resetFlag;
    c.resetEchoDue = resetFlag && !peerReset;
  } else if (c.sentResetFlag && !peerReset) {
    c.log.warn("Logon answer lacks ResetSeqNumFlag(141)=Y", { seq });
  } else if (targetReset) {
    // An unrequested ResetSeqNumFlag in the answer (a new period, ForceSeqNumReset): both
    // sides' numbers start again at 1, ours confirmed below, as QuickFIX does. Keeping ours, the
    // acceptor asked for our old messages and we replayed them into its new sequence.
    c.resetNumbers(now, out);
  }
  c.logonCount++;
  c.terminated = false;
  out.push({ type: "setTerminated", value: false });
  const lastSentBeforeLogon = c.sender - 1;
  if (acceptor) {
    c.sendSequenced(
      buildLogon(
        {
          heartbeatSeconds: hb,
          reset: c.sentResetFlag,
          credentials: false,
          nextExpected: c.sendsNextExpected()
            ? (seq === expected ? expected + 1 : expected)
            : undefined,
        },
        c.s,
        c.begin,
        [],
      ),
      false,
      now,
      out,
    );
  }
  if (targetReset) {
    // Sent as QuickFIX sends it; an acceptor that answers it, as a new reset, is not answered.
    const confirm = c.resetLogon(false);
    if (confirm.has(Tag.NextExpectedMsgSeqNum)) confirm.set(Tag.NextExpectedMsgSeqNum, seq + 1);
    c.sendSequenced(confirm, false, now, out);
    c.sentResetFlag = true;
    c.resetEchoDue = true;
  }
  c.t.logonDueAtMs = -1;
  c.t.sessionEndDueAtMs = schedule?.nextEndMs(now) ?? -1;
  const next789 = msg.intOr(Tag.NextExpectedMsgSeqNum, 0);
  c.setState("established", now, out);
  c.emit({ type: "logon", atMs: now, reset: peerReset || c.sentResetFlag || resetNow }, out);
  if (seq > expected) {
    onGap(c, msg, expected, seq, now, out);
    // The Logon itself is processed: it is removed from the held messages.
    c.early.delete(seq);
    c.resendTarget = seq;
  } else if (seq === expected) {
    c.advanceTarget(seq, out);
  }
  if (c.sendsNextExpected() && next789 > 0) {
    const last = acceptor ? lastSentBeforeLogon : lastSentBeforeLogon - 1;
    if (next789 <= last) {
      c.log.info("peer missed messages (NextExpectedMsgSeqNum); resending", {
        from: next789,
        to: last,
      });
      startAnswer(c, next789, last, out);
    }
  }
  c.sendQueued(now, out);
}

/**
 * Refuses a Logon not yet accepted: a disconnect, after a Logout when `sendLogout` (numbered 1
 * and kept out of our numbers for an unauthenticated peer; our next number otherwise).
 */
export function refuseLogon(
  c: CoreState,
  text: string,
  sendLogout: boolean,
  now: number,
  out: Action[],
  unauthenticated = false,
): void {
  c.log.warn("Logon refused", { session: c.name, reason: text });
  if (sendLogout && unauthenticated) {
    // An unauthenticated peer learns nothing of our numbers and uses none of them.
    const m = admin.logout(text);
    c.stamp(m, 1, now);
    out.push({ type: "send", message: m, seq: 1, store: "none" });
  } else if (sendLogout) {
    // The counterparty itself (a Logon numbered too low, a bad HeartBtInt): its Logout takes our
    // next number, as QuickFIX's does. The counterparty counts it; sent again on the next
    // message, that number would be "too low" there.
    c.sendSequenced(admin.logout(text), false, now, out);
  }
  c.close(text, true, now, out);
}

/**
 * A Logon while established: with ResetSeqNumFlag(141)=Y and MsgSeqNum 1 it resets both
 * sides' numbers, either answering the reset we started or starting one by the peer.
 */
export function onLogonWhileEstablished(
  c: CoreState,
  msg: FixMessage,
  seq: number,
  now: number,
  out: Action[],
): void {
  if (msg.get(Tag.ResetSeqNumFlag) !== "Y") {
    c.log.warn("Logon received while established; ignored", { seq });
    if (seq === c.target) c.advanceTarget(seq, out);
    return;
  }
  if (seq !== 1) {
    c.fatal(
      `Logon with ResetSeqNumFlag must have MsgSeqNum 1, received ${seq}`,
      true,
      now,
      out,
    );
    return;
  }
  if (c.resetEchoDue) {
    // The peer answers the reset our last Logon announced or confirmed (QuickFIX resets on an
    // unrequested ResetSeqNumFlag and answers with a Logon): answering it again would start a
    // new reset, which it would answer in turn, and so on. Its numbers restart at 1 too: a gap
    // its Logon's old number made is void.
    c.resetEchoDue = false;
    c.log.info("peer confirmed the reset our Logon announced", { session: c.name });
    c.clearInboundGap();
    c.advanceTarget(1, out);
    return;
  }
  if (c.resetPending) {
    // The answer to `resetSequences`: our numbers restarted already; the peer's too now.
    c.resetPending = false;
    c.t.logonDueAtMs = -1;
    c.clearInboundGap();
    c.advanceTarget(1, out);
    c.emit({ type: "logon", atMs: now, reset: true }, out);
    out.push({ type: "resetSettled" });
    return;
  }
  // The peer resets: checked like a first Logon, refused with a numbered Logout.
  if (c.role === "acceptor") {
    const refusal = admin.credentialRefusal(c.s, msg) ?? c.o.authenticate?.(msg);
    if (refusal !== undefined) {
      c.fatal(refusal, true, now, out);
      return;
    }
  }
  const problem = c.o.validate?.(msg)[0];
  if (problem !== undefined) {
    c.fatal(problem.text, true, now, out);
    return;
  }
  c.log.info("sequence reset by Logon while established", { session: c.name });
  c.resetNumbers(now, out);
  c.clearInboundGap();
  c.advanceTarget(seq, out);
  const answer = c.resetLogon(false);
  if (answer.has(Tag.NextExpectedMsgSeqNum)) answer.set(Tag.NextExpectedMsgSeqNum, seq + 1);
  c.sendSequenced(answer, false, now, out);
  c.sentResetFlag = true;
  c.emit({ type: "logon", atMs: now, reset: true }, out);
  c.sendQueued(now, out);
}

export function onLogout(c: CoreState, msg: FixMessage, now: number, out: Action[]): void {
  c.peerLogout = undefined;
  c.peerLogoutQueued = false;
  const text = msg.get(Tag.Text);
  const byUs = c.weStartedLogout;
  if (!byUs) c.sendSequenced(admin.logout(), false, now, out);
  c.t.logoutDueAtMs = -1;
  // A gap still open is not a correct termination: the numbers are kept and the gap is
  // requested on the next Logon.
  const gapOpen = c.resendTarget !== 0 || c.early.size > 0 ||
    msg.intOr(Tag.MsgSeqNum, 0) >= c.target;
  if (c.s.resetOnLogout) {
    // ResetOnLogout: the exchange is over; both numbers restart at 1 for the next session.
    c.resetNumbers(now, out);
    c.clearInboundGap();
  }
  if (!gapOpen) {
    c.terminated = true;
    out.push({ type: "setTerminated", value: true });
  }
  c.setState("correctlyTerminated", now, out);
  c.emit({ type: "logout", atMs: now, text, initiatedByUs: byUs }, out);
  // Answering, we leave the close to the peer (the Logout's initiator closes once answered).
  c.close(
    byUs ? "logout confirmed" : `logout by peer${text ? `: ${text}` : ""}`,
    true,
    now,
    out,
    !byUs,
  );
}
