/**
 * Logon admission: the checks a Logon passes before anything it carries may change the
 * session, in the order they run, and the Logons a session sends.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import { FixMessage } from "../message/fix_message.ts";
import { MsgType, Tag } from "../message/tag.ts";
import { parseUtcTimestamp } from "../message/timestamps.ts";
import { credentialRefusal } from "./admin.ts";

/** The most a timer can wait (setTimeout's limit), in seconds: a larger HeartBtInt is refused. */
export const MAX_HEARTBEAT_SECONDS = Math.floor(2_147_483_647 / 1000 / 2);

/** Why a Logon is refused, and how: with an unsequenced Logout, or by a silent disconnect. */
export interface LogonRefusal {
  /** Text(58) of the Logout, and the close reason. */
  text: string;
  /** Whether a Logout is sent before the disconnect. */
  logout: boolean;
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
    };
  }
  const seq = logon.intOr(Tag.MsgSeqNum, Number.NaN);
  if (!(seq > 0)) return { text: "MsgSeqNum(34) is missing or invalid", logout: true };
  if (logon.get(Tag.SenderCompID) !== ctx.target || logon.get(Tag.TargetCompID) !== ctx.sender) {
    // Not the counterparty we expect: no Logout at all, just the disconnect.
    return { text: "CompID problem", logout: false };
  }
  if (ctx.acceptor) {
    const refusal = credentialRefusal(s, logon) ?? ctx.authenticate?.(logon);
    if (refusal !== undefined) return { text: refusal, logout: true };
  }
  const problem = ctx.validate?.(logon);
  if (problem !== undefined) return { text: problem, logout: true };
  const hb = logon.intOr(Tag.HeartBtInt, Number.NaN);
  if (!(hb >= 0) || !Number.isInteger(hb) || hb > MAX_HEARTBEAT_SECONDS) {
    return { text: "Invalid HeartBtInt(108)", logout: ctx.acceptor };
  }
  const timeProblem = sendingTimeProblem(logon, s, ctx.nowMs);
  if (timeProblem !== undefined) return { text: timeProblem[1], logout: true };
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
  const t = parseUtcTimestamp(msg.get(Tag.SendingTime) ?? "");
  if (t === undefined) return [1, "SendingTime(52) is missing or invalid"];
  if (Math.abs(t.epochMs - nowMs) > settings.reasonableDelayMs) {
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
  if (f.reset) m.set(Tag.ResetSeqNumFlag, "Y");
  if (f.credentials) {
    for (const [tag, value] of extra) m.set(tag, value);
    if (s.username !== undefined) m.set(s.usernameTag, s.username);
    if (s.password !== undefined) m.set(s.passwordTag, s.password);
  }
  if (beginString === "FIXT.1.1") m.set(Tag.DefaultApplVerID, s.defaultApplVerId);
  if (f.nextExpected !== undefined) m.set(Tag.NextExpectedMsgSeqNum, f.nextExpected);
  return m;
}
