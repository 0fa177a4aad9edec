/**
 * Builders of session-level messages (Logon, Logout, Heartbeat, TestRequest, ResendRequest,
 * Reject, BusinessMessageReject, SequenceReset-GapFill), and the credential check.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import { applVerIdToVersion } from "../dictionary/load.ts";
import { RejectReason } from "../dictionary/validator.ts";
import { FixMessage } from "../message/fix_message.ts";
import { MsgType, Tag } from "../message/tag.ts";
import { MSG_TYPES, REJECT_REASONS } from "./_tables.ts";

/** SessionRejectReason(373) values, by their FIX names (which version defines which: see `definesRejectReason`). */
export const SessionRejectReason = {
  ...RejectReason,
  /** Decryption problem. */
  DecryptionProblem: 7,
  /** Signature problem. */
  SignatureProblem: 8,
  /** XML validation error (FIX.4.3 and later). */
  XmlValidationError: 12,
  /** Invalid or unsupported application version (FIXT.1.1 and FIX.5.0 SP1 and later). */
  InvalidApplVersion: 18,
  /** "Other" (FIX.4.4 and later). */
  Other: 99,
} as const;

/**
 * Whether a version defines a SessionRejectReason(373) value: FIX.4.0 and 4.1 have no such
 * field, FIX.4.2 defines 0 to 11, FIX.4.3 adds 12 to 17, FIX.4.4 adds 99 and FIXT.1.1 adds 18
 * (from the FIX dictionaries; see `tools/gen_session_tables.ts`).
 *
 * @param beginString BeginString(8).
 * @param reason The value.
 * @returns True when the version defines it.
 */
export function definesRejectReason(beginString: string, reason: number): boolean {
  return REJECT_REASONS[beginString]?.includes(reason) ?? false;
}

/** MsgTypes per dictionary, as sets, built on first use. */
const MSG_TYPE_SETS = new Map<string, ReadonlySet<string>>();

function msgTypes(key: string): ReadonlySet<string> | undefined {
  let set = MSG_TYPE_SETS.get(key);
  if (set === undefined) {
    const list = MSG_TYPES[key];
    if (list === undefined) return undefined;
    set = new Set(list.split(" "));
    MSG_TYPE_SETS.set(key, set);
  }
  return set;
}

/**
 * Whether the standard FIX dictionaries define a MsgType for a session: its version's for
 * FIX.4.x; for FIXT.1.1 the session messages plus those of the application version (from
 * `applVerId`, or any FIX.5.0 service pack when unknown).
 *
 * @param beginString BeginString(8).
 * @param msgType MsgType(35).
 * @param applVerId The message's ApplVerID(1128) or the counterparty's DefaultApplVerID.
 * @returns True when defined.
 */
export function standardDefinesMsgType(
  beginString: string,
  msgType: string,
  applVerId?: string,
): boolean {
  if (beginString !== "FIXT.1.1") return msgTypes(beginString)?.has(msgType) ?? false;
  if (msgTypes("FIXT.1.1")!.has(msgType)) return true;
  const app = applVerId === undefined ? undefined : applVerIdToVersion(applVerId);
  if (app !== undefined) return msgTypes(app)!.has(msgType);
  return ["FIX.5.0", "FIX.5.0SP1", "FIX.5.0SP2"].some((k) => msgTypes(k)!.has(msgType));
}

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

/** The largest sequence number accepted: one more must still be a safe integer. */
export const MAX_SEQ_NUM = Number.MAX_SAFE_INTEGER - 1;

/**
 * A sequence number field (MsgSeqNum, NewSeqNo, BeginSeqNo, EndSeqNo) as a number, or NaN when
 * missing, not an integer, or beyond what arithmetic on it keeps exact.
 *
 * @param msg The message.
 * @param tag The field.
 * @returns The number, or NaN.
 */
export function seqNumOf(msg: FixMessage, tag: number): number {
  const n = msg.intOr(tag, Number.NaN);
  return n <= MAX_SEQ_NUM ? n : Number.NaN;
}

/**
 * The version as a number: 40 to 44 for FIX.4.x, 50 for FIXT.1.1.
 *
 * @param beginString BeginString(8).
 * @returns The number.
 */
export function versionNumber(beginString: string): number {
  // Read from the characters (no regular expression): each new millisecond's SendingTime asks.
  if (beginString.length !== 7 || !beginString.startsWith("FIX.") || beginString[5] !== ".") {
    return 50;
  }
  const major = beginString.charCodeAt(4) - 48;
  const minor = beginString.charCodeAt(6) - 48;
  return major >= 0 && major <= 9 && minor >= 0 && minor <= 9 ? major * 10 + minor : 50;
}

/**
 * The precision of the UTCTimestamps a session writes: whole seconds for FIX.4.0 and FIX.4.1
 * (their UTCTimestamp has no fraction), the configured one from FIX.4.2 on.
 *
 * @param beginString BeginString(8).
 * @param configured `TimestampsPrecision`.
 * @returns The precision to format with.
 */
export function stampPrecision(
  beginString: string,
  configured: "ms" | "us" | "ns",
): "s" | "ms" | "us" | "ns" {
  return versionNumber(beginString) < 42 ? "s" : configured;
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
  // An empty TestReqID is not echoed: an empty field is invalid.
  if (testReqId) m.set(Tag.TestReqID, testReqId);
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
 * SessionRejectReason: only RefSeqNum and Text. From FIX.4.2 on, SessionRejectReason is sent
 * only when the version defines the value (Text says what is wrong either way). RefSeqNum is
 * left out when the rejected message has no valid MsgSeqNum, RefMsgType when it has no MsgType.
 *
 * @param ref The rejected message.
 * @param reason SessionRejectReason(373).
 * @param tag RefTagID(371).
 * @param text Text(58).
 * @param beginString The session's BeginString(8).
 * @returns The message.
 */
export function reject(
  ref: FixMessage,
  reason: number,
  tag: number | undefined,
  text: string,
  beginString: string,
): FixMessage {
  const m = new FixMessage(MsgType.Reject);
  const refSeqNum = ref.intOr(Tag.MsgSeqNum, -1);
  if (refSeqNum >= 0) m.set(Tag.RefSeqNum, refSeqNum);
  if (versionNumber(beginString) >= 42) {
    if (tag !== undefined) m.set(Tag.RefTagID, tag);
    const t = ref.get(Tag.MsgType);
    if (t) m.set(Tag.RefMsgType, t);
    if (definesRejectReason(beginString, reason)) m.set(Tag.SessionRejectReason, reason);
  }
  return m.set(Tag.Text, text);
}

/** Routing tags and the tag each maps to in an answer (QuickFIX's `reverseRoute`). */
const ROUTES: readonly (readonly [from: number, to: number, since: number])[] = [
  [Tag.OnBehalfOfCompID, Tag.DeliverToCompID, 40],
  [Tag.OnBehalfOfSubID, Tag.DeliverToSubID, 40],
  [Tag.OnBehalfOfLocationID, Tag.DeliverToLocationID, 41],
  [Tag.DeliverToCompID, Tag.OnBehalfOfCompID, 40],
  [Tag.DeliverToSubID, Tag.OnBehalfOfSubID, 40],
  [Tag.DeliverToLocationID, Tag.OnBehalfOfLocationID, 41],
];

/**
 * Gives an answer the third-party routing of the message it answers, reversed:
 * OnBehalfOfCompID(115) becomes DeliverToCompID(128) and back, likewise the SubIDs (116, 129)
 * and, from FIX.4.1 on, the LocationIDs (144, 145). Empty values are not copied.
 *
 * @param answer The answer (header fields set, routing added at the end of the header).
 * @param ref The message answered.
 * @param version The version number (see `versionNumber`).
 */
export function reverseRoute(answer: FixMessage, ref: FixMessage, version: number): void {
  for (const [from, to, since] of ROUTES) {
    if (version < since) continue;
    const v = ref.get(from);
    if (v) answer.set(to, v);
  }
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
