/**
 * The session core's state and its sequencing helpers, shared by the modules of the core
 * (inbound processing, logon, resend answering, timers). Private to `src/session`.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import { MessageExpiredError } from "../errors.ts";
import { type Logger, SILENT_LOGGER } from "../logger.ts";
import type { FixMessage } from "../message/fix_message.ts";
import { Tag } from "../message/tag.ts";
import { formatUtcTimestamp } from "../message/timestamps.ts";
import type { SessionId } from "../session_id.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import type { MessageProblem, SessionCoreOptions, SessionRole } from "./core.ts";
import { Deadlines } from "./deadlines.ts";
import { GarbledRuns } from "./garbled.ts";
import type { SessionEvent, SessionState } from "./events.ts";
import { buildLogon } from "./logon.ts";
import type { ResendAnswer } from "./resend.ts";

export /** A message put while not established. */
interface Late {
  message: FixMessage;
  atMs: number;
  /** The driver's reference for settling its promise; 0 when nobody waits. */
  ref: number;
  bytes: number;
}

/** Everything a session core knows, and the steps every transition is made of. */
export class CoreState {
  readonly id: SessionId;
  readonly begin: string;
  readonly role: SessionRole;
  readonly s: SessionSettings;
  readonly log: Logger;
  readonly o: SessionCoreOptions;
  readonly ver: number;
  readonly name: string;
  readonly t: Deadlines;
  state: SessionState = "initial";
  sender: number;
  target: number;
  terminated: boolean;
  /** When the numbers last started at 1: a scheduled session resets in each new period. */
  creationTimeMs: number;
  connected = false;
  remoteHost: string | undefined;
  closing: string | undefined;
  peerApplVerId: string | undefined;
  testReqCounter = 0;
  /** A Logout the peer sent with a sequence gap: answered once the gap is filled or times out. */
  peerLogout: FixMessage | undefined;
  /** The gap before `peerLogout` is filled and its answer waits for the deliveries before it. */
  peerLogoutQueued = false;
  /** Messages decoded around an invalid tag number, with their problem (answered with a Reject). */
  readonly invalid = new WeakMap<FixMessage, MessageProblem>();
  early = new Map<number, FixMessage>();
  resendTarget = 0; // highest seq known missing + 1 while a gap is outstanding
  resendRequestedUpTo = 0; // last seq our outstanding ResendRequest covers (0 = infinity)
  lastResendKey = "";
  duplicateResends = 0;
  logonCount = 0;
  sentResetFlag = false;
  /**
   * Our last Logon announced a reset the peer did not ask for (an acceptor's answer in a new
   * period or with ForceSeqNumReset) or confirmed one (an initiator given such an answer): a
   * Logon with ResetSeqNumFlag and MsgSeqNum 1 as the peer's next message answers it (QuickFIX
   * answers so), and is not a new reset to answer.
   */
  resetEchoDue = false;
  weStartedLogout = false;
  /** Closing after our answer to the peer's Logout: waiting for the peer to close. */
  lingering = false;
  resetPending = false;
  late = new Map<number, Late>();
  queued: Late[] = [];
  lateBytes = 0;
  answer: ResendAnswer | undefined;
  answerNext: [number, number] | undefined;
  /** The last answer is read and queued, not yet written: new requests wait and merge. */
  answerWriting = false;
  /** The log lines of garbled messages (see `SessionCore.onGarbled`). */
  readonly garbled = new GarbledRuns();

  /**
   * Creates a core.
   *
   * @param options Identity, settings, starting numbers and hooks.
   */
  constructor(options: SessionCoreOptions) {
    this.o = options;
    this.id = options.id;
    this.name = options.id.toString();
    this.begin = options.beginString;
    this.role = options.role;
    this.s = options.settings;
    this.log = options.logger ?? SILENT_LOGGER;
    this.ver = admin.versionNumber(this.begin);
    this.sender = options.numbers.nextSenderSeqNum;
    this.target = options.numbers.nextTargetSeqNum;
    this.terminated = options.numbers.correctlyTerminated;
    this.creationTimeMs = options.numbers.creationTimeMs;
    this.t = new Deadlines(options.settings);
    this.t.heartbeatMs = options.settings.heartbeatIntervalSeconds * 1000;
  }

  /** A UTCTimestamp the session writes, to {@linkcode admin.stampPrecision}. */
  timestamp(now: number): string {
    // Messages sent in the same millisecond share one formatted SendingTime.
    if (now !== this.#stampMs) {
      this.#stampMs = now;
      this.#stampText = formatUtcTimestamp(
        now,
        admin.stampPrecision(this.begin, this.s.timestampPrecision),
      );
    }
    return this.#stampText;
  }

  #stampMs = Number.NaN;
  #stampText = "";

  stamp(m: FixMessage, seq: number, now: number): void {
    m.set(Tag.SenderCompID, this.id.sender).set(Tag.TargetCompID, this.id.target)
      .set(Tag.MsgSeqNum, seq)
      .set(Tag.SendingTime, this.timestamp(now));
  }

  /**
   * Numbers, stamps and sends; application messages are stored, session messages not. An
   * answer to `answering` carries its routing reversed (see `admin.reverseRoute`).
   */
  sendSequenced(
    m: FixMessage,
    store: boolean,
    now: number,
    out: Action[],
    answering?: FixMessage,
  ): number {
    const a = this.sequenced(m, store, now, answering);
    out.push(a);
    return a.seq;
  }

  /** What `sendSequenced` adds to its actions: the message numbered, stamped, to be sent. */
  sequenced(
    m: FixMessage,
    store: boolean,
    now: number,
    answering?: FixMessage,
  ): Extract<Action, { type: "send" }> {
    const seq = this.sender++;
    this.stamp(m, seq, now);
    if (answering) admin.reverseRoute(m, answering, this.ver);
    this.t.lastSentAtMs = now;
    return { type: "send", message: m, seq, store: store ? "append" : "advance" };
  }

  emit(event: SessionEvent, out: Action[]): void {
    out.push({ type: "event", event });
  }

  setState(to: SessionState, now: number, out: Action[]): void {
    if (to === this.state) return;
    const from = this.state;
    this.state = to;
    this.log.debug("session state changed", { session: this.name, from, to });
    this.emit({ type: "stateChanged", from, to, atMs: now }, out);
  }

  /**
   * Closes the link; with `flush`, after what is queued is written (bounded in time); with
   * `linger`, once the peer closes (bounded in time; see the `close` action).
   */
  close(reason: string, flush: boolean, now: number, out: Action[], linger = false): void {
    if (this.closing !== undefined && flush) return;
    this.closing ??= reason;
    if (linger) this.lingering = true;
    out.push({ type: "close", reason: this.closing, flush, linger });
    if (flush) this.t.startClose(now, this.s.logoutTimeoutMs);
    this.arm(out);
  }

  /**
   * A message read while the link closes is not handled: after a Logout exchange, one numbered
   * past what we handled (Heartbeats and TestRequests aside) makes the session not correctly
   * terminated, so that the next Logon asks for it. While we wait for the peer to close after
   * answering its Logout, what it still sends also restarts the wait (it works through what we
   * sent before the answer).
   */
  readWhileClosing(msg: FixMessage, now: number, out: Action[]): void {
    const type = msg.msgType;
    if (type === "0" || type === "1") return;
    if (this.terminated && msg.intOr(Tag.MsgSeqNum, 0) >= this.target) {
      this.notTerminated(
        "the peer sent messages after the Logout exchange; the numbers continue",
        out,
      );
    }
    if (!this.lingering) return;
    this.t.extendWait(now, this.s.logoutTimeoutMs);
    this.arm(out);
  }

  /** Logout with a reason, then disconnect: the reaction to a fatal protocol error. */
  fatal(text: string, sendLogout: boolean, now: number, out: Action[]): void {
    if (this.closing !== undefined) return;
    this.log.warn("session ended by protocol error", { session: this.name, text });
    if (sendLogout) this.sendSequenced(admin.logout(text), false, now, out);
    this.close(text, true, now, out);
  }

  sendsNextExpected(): boolean {
    return this.s.enableNextExpectedMsgSeqNum && this.ver >= 44;
  }

  /** Both numbers to 1 and the store cleared; late messages are renumbered after the Logon. */
  resetNumbers(now: number, out: Action[]): void {
    this.log.info("sequence numbers reset", { session: this.name });
    this.lastResendKey = "";
    this.duplicateResends = 0;
    this.sender = 1;
    this.target = 1;
    this.terminated = false;
    this.creationTimeMs = now;
    // A resend answer in the old numbering is abandoned with them.
    this.answer = undefined;
    this.answerNext = undefined;
    this.answerWriting = false;
    out.push({ type: "resetStore", atMs: now });
    if (this.late.size > 0) {
      const late = [...this.late.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
      this.late.clear();
      this.queued.unshift(...late);
    }
  }

  /** Sends our Logout and waits for the answer (an established session). */
  startLogout(text: string | undefined, now: number, out: Action[]): void {
    this.weStartedLogout = true;
    this.sendSequenced(admin.logout(text), false, now, out);
    this.setState("waitingForConfirmLogout", now, out);
    this.t.startLogoutWait(now, this.s.logoutTimeoutMs);
  }

  /** The Logout exchange did not end everything: the numbers continue on the next Logon. */
  notTerminated(why: string, out: Action[]): void {
    if (!this.terminated) return;
    this.log.warn(why, { session: this.name });
    this.terminated = false;
    out.push({ type: "setTerminated", value: false });
  }

  /** Whether a schedule says the numbers belong to an earlier session period. */
  newPeriod(now: number): boolean {
    const schedule = this.o.schedule;
    return schedule !== undefined && !schedule.isSamePeriod(this.creationTimeMs, now);
  }

  sendQueued(now: number, out: Action[]): void {
    const queued = this.queued;
    this.queued = [];
    for (const l of queued) {
      this.lateBytes -= l.bytes;
      if (this.expire(0, l, now, out)) continue;
      l.message.remove(Tag.PossDupFlag);
      l.message.remove(Tag.OrigSendingTime);
      this.sendSequenced(l.message, true, now, out);
      if (l.ref) out.push({ type: "settle", ref: l.ref });
    }
  }

  /** Whether a late message outlived `messageTimeToLiveMs`; settles it with an error if so. */
  expire(seq: number, late: Late, now: number, out: Action[]): boolean {
    const age = now - late.atMs;
    if (!this.s.rejectMessageWhileNoConnection || age <= this.s.messageTimeToLiveMs) {
      return false;
    }
    const reason = `message ${seq > 0 ? `${seq} ` : ""}expired after ${age} ms while not connected`;
    this.log.warn(
      seq > 0 ? "late message expired; covered by a gap fill" : "late message expired",
      {
        session: this.name,
        seq,
        ageMs: age,
      },
    );
    this.emit({ type: "messageRejected", atMs: now, message: late.message, reason }, out);
    if (late.ref) {
      out.push({
        type: "settle",
        ref: late.ref,
        error: new MessageExpiredError(`Cannot send message: ${reason}`),
      });
    }
    return true;
  }

  sendReject(
    ref: FixMessage,
    reason: number,
    tag: number | undefined,
    text: string,
    now: number,
    out: Action[],
  ): void {
    const refSeqNum = ref.intOr(Tag.MsgSeqNum, 0);
    this.log.warn("Reject sent", { session: this.name, refSeqNum, reason, text });
    this.emit({ type: "rejectSent", atMs: now, refSeqNum, reason, text }, out);
    this.sendSequenced(admin.reject(ref, reason, tag, text, this.begin), false, now, out, ref);
  }

  sendBusinessReject(
    ref: FixMessage,
    reason: number,
    tag: number | undefined,
    text: string,
    now: number,
    out: Action[],
  ): void {
    this.log.warn("BusinessMessageReject sent", { session: this.name, reason, text });
    this.sendSequenced(admin.businessReject(ref, reason, tag, text), true, now, out, ref);
  }

  advanceTarget(seq: number, out: Action[]): void {
    this.target = seq + 1;
    out.push({ type: "setTarget", seq: seq + 1 });
  }

  arm(out: Action[]): void {
    if (!this.connected) return;
    const at = this.t.rearm(this.state === "established" && this.closing === undefined);
    if (at !== undefined) out.push({ type: "timer", atMs: at });
  }

  clearInboundGap(): void {
    // Map.clear() allocates a new table even when empty: a logon storm pays it per session.
    if (this.early.size > 0) this.early.clear();
    this.resendTarget = 0;
    this.resendRequestedUpTo = 0;
    this.peerLogout = undefined;
    this.peerLogoutQueued = false;
  }

  resetLogon(ours: boolean): FixMessage {
    return buildLogon(
      {
        heartbeatSeconds: this.t.heartbeatMs / 1000,
        reset: true,
        credentials: ours && this.role === "initiator",
        nextExpected: this.sendsNextExpected() ? 1 : undefined,
      },
      this.s,
      this.begin,
      this.o.logonFields ?? [],
    );
  }

  assertDisconnected(action: string): void {
    if (this.connected) throw new Error(`Cannot ${action}: session "${this.id}" is connected`);
  }
}
