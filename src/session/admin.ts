/**
 * Builders of session-level messages (Logon, Logout, Heartbeat, TestRequest, ResendRequest,
 * Reject, BusinessMessageReject, SequenceReset-GapFill), and the credential check.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import { RejectReason } from "../dictionary/validator.ts";
import { FixMessage } from "../message/fix_message.ts";
import { MsgType, Tag } from "../message/tag.ts";

/** SessionRejectReason(373) values the session uses. */
export const SessionRejectReason = {
  ...RejectReason,
  /** "Other" (FIX.4.3 and later). */
  Other: 99,
} as const;

/** BusinessRejectReason(380) values the session uses. */
export const BusinessRejectReason = {
  /** Other. */
  Other: 0,
  /** Unsupported message type. */
  UnsupportedMessageType: 3,
  /** Application not available. */
  ApplicationNotAvailable: 4,
} as const;

const ADMIN_TYPES = new Set(["0", "1", "2", "3", "4", "5", "A"]);

/**
 * Whether a MsgType is a session-level (admin) message.
 *
 * @param msgType MsgType(35).
 * @returns True for 0, 1, 2, 3, 4, 5 and A.
 * @example
 * ```ts
 * import { isAdminMsgType } from "@fixwire/engine";
 * isAdminMsgType("A"); // true
 * ```
 */
export function isAdminMsgType(msgType: string): boolean {
  return ADMIN_TYPES.has(msgType);
}

/**
 * The version as a number: 40 to 44 for FIX.4.x, 50 for FIXT.1.1.
 *
 * @param beginString BeginString(8).
 * @returns The number.
 */
export function versionNumber(beginString: string): number {
  const m = /^FIX\.(\d)\.(\d)$/.exec(beginString);
  return m ? Number(m[1]) * 10 + Number(m[2]) : 50;
}

/**
 * Checks a Logon's Username and Password against a session's settings (the configured tags),
 * comparing in constant time.
 *
 * @param settings The session's credentials and their tags.
 * @param logon The Logon.
 * @returns The refusal text for the Logout, or undefined when the credentials match.
 */
export function credentialRefusal(
  settings: Pick<SessionSettings, "username" | "usernameTag" | "password" | "passwordTag">,
  logon: FixMessage,
): string | undefined {
  const badUser = settings.username !== undefined &&
    !sameText(logon.get(settings.usernameTag), settings.username);
  const badPassword = settings.password !== undefined &&
    !sameText(logon.get(settings.passwordTag), settings.password);
  return badUser || badPassword ? "Invalid username or password" : undefined;
}

/** Compares two texts in time that depends only on the expected one's length. */
function sameText(given: string | undefined, expected: string): boolean {
  const g = given ?? "";
  let diff = g.length ^ expected.length;
  for (let i = 0; i < expected.length; i++) {
    diff |= (g.charCodeAt(i % (g.length || 1)) || 0) ^ expected.charCodeAt(i);
  }
  return diff === 0;
}

/**
 * A Heartbeat, echoing a TestReqID when it answers a TestRequest.
 *
 * @param testReqId TestReqID(112) to echo.
 * @returns The message.
 */
export function heartbeat(testReqId?: string): FixMessage {
  const m = new FixMessage(MsgType.Heartbeat);
  if (testReqId !== undefined) m.set(Tag.TestReqID, testReqId);
  return m;
}

/**
 * A TestRequest.
 *
 * @param id TestReqID(112).
 * @returns The message.
 */
export function testRequest(id: string): FixMessage {
  return new FixMessage(MsgType.TestRequest).set(Tag.TestReqID, id);
}

/**
 * A ResendRequest.
 *
 * @param begin BeginSeqNo(7).
 * @param end EndSeqNo(16).
 * @returns The message.
 */
export function resendRequest(begin: number, end: number): FixMessage {
  return new FixMessage(MsgType.ResendRequest).set(Tag.BeginSeqNo, begin).set(Tag.EndSeqNo, end);
}

/**
 * A Logout.
 *
 * @param text Text(58).
 * @returns The message.
 */
export function logout(text?: string): FixMessage {
  const m = new FixMessage(MsgType.Logout);
  if (text) m.set(Tag.Text, text);
  return m;
}

/**
 * A SequenceReset-GapFill moving the counterparty to `newSeqNo` (header fields set later).
 *
 * @param newSeqNo NewSeqNo(36).
 * @returns The message.
 */
export function gapFill(newSeqNo: number): FixMessage {
  return new FixMessage(MsgType.SequenceReset).set(Tag.GapFillFlag, "Y").set(
    Tag.NewSeqNo,
    newSeqNo,
  );
}

/**
 * A session Reject of `ref`. FIX.4.0 and 4.1 have no RefTagID, RefMsgType or
 * SessionRejectReason: only RefSeqNum and Text.
 *
 * @param ref The rejected message.
 * @param reason SessionRejectReason(373).
 * @param tag RefTagID(371).
 * @param text Text(58).
 * @param version The version number (see `versionNumber`).
 * @returns The message.
 */
export function reject(
  ref: FixMessage,
  reason: number,
  tag: number | undefined,
  text: string,
  version: number,
): FixMessage {
  const m = new FixMessage(MsgType.Reject).set(Tag.RefSeqNum, ref.intOr(Tag.MsgSeqNum, 0));
  if (version >= 42) {
    if (tag !== undefined) m.set(Tag.RefTagID, tag);
    const t = ref.get(Tag.MsgType);
    if (t) m.set(Tag.RefMsgType, t);
    m.set(Tag.SessionRejectReason, reason);
  }
  return m.set(Tag.Text, text);
}

/**
 * A BusinessMessageReject of `ref` (FIX.4.2 and later).
 *
 * @param ref The rejected message.
 * @param reason BusinessRejectReason(380).
 * @param tag RefTagID(371).
 * @param text Text(58).
 * @returns The message.
 */
export function businessReject(
  ref: FixMessage,
  reason: number,
  tag: number | undefined,
  text: string,
): FixMessage {
  const m = new FixMessage(MsgType.BusinessMessageReject)
    .set(Tag.RefSeqNum, ref.intOr(Tag.MsgSeqNum, 0))
    .set(Tag.RefMsgType, ref.msgType)
    .set(Tag.BusinessRejectReason, reason);
  if (tag !== undefined) m.set(Tag.RefTagID, tag);
  return m.set(Tag.Text, text);
}
