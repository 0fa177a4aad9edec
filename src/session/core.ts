/**
 * The FIX session state machine: logon, sequence numbers, heartbeats, resends, gap fills,
 * rejects and logout, for FIX.4.0 to FIX.4.4 and FIXT.1.1.
 *
 * It is pure: every input (a decoded message, a timer tick, an application send, an operator
 * action, the link coming and going) is a synchronous transition that takes the current time
 * and returns the {@linkcode Action}s to perform. It holds no connection, framer, timer or
 * store; it owns every state change and every sequence number.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import { BusinessRejectError, MessageExpiredError, MessageRejectError } from "../errors.ts";
import { type Logger, SILENT_LOGGER } from "../logger.ts";
import type { FixMessage } from "../message/fix_message.ts";
import { decodeMessage } from "../message/framer.ts";
import { Tag } from "../message/tag.ts";
import { formatUtcTimestamp, parseUtcTimestamp } from "../message/timestamps.ts";
import type { SessionId } from "../session_id.ts";
import type { SeqState, StoredMessage } from "../store.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import type { SessionEvent, SessionState } from "./events.ts";
import { buildLogon, logonRefusal, sendingTimeProblem } from "./logon.ts";
import { ResendAnswer, type ResendSink } from "./resend.ts";
import { Deadlines } from "./deadlines.ts";

const R = admin.SessionRejectReason;

/** Whether the session opens the link or accepts it. */
export type SessionRole = "initiator" | "acceptor";

/** A problem found in an inbound message, answered with a session Reject(3). */
export interface MessageProblem {
  /** SessionRejectReason(373). */
  reason: number;
  /** The tag at fault, RefTagID(371). */
  tag: number | undefined;
  /** Text(58). */
  text: string;
}

/** Options of {@linkcode SessionCore}. */
export interface SessionCoreOptions {
  /** The session's id. */
  id: SessionId;
  /** BeginString(8): `FIX.4.0` to `FIX.4.4` or `FIXT.1.1`. */
  beginString: string;
  /** Initiator or acceptor. */
  role: SessionRole;
  /** Settings (see `DEFAULT_SESSION_SETTINGS`). */
  settings: SessionSettings;
  /** The persisted numbers the session starts from. */
  numbers: Readonly<SeqState>;
  /** Logger; silent by default. */
  logger?: Logger;
  /** Validates an inbound message (see the engine); the first problem is reported. */
  validate?: (message: FixMessage) => MessageProblem[];
  /** Whether an application MsgType is supported (unknown types get a reject). */
  supportsMsgType?: (msgType: string, message: FixMessage) => boolean;
  /** Checks a Logon's credentials beyond Username/Password; returns a refusal text. */
  authenticate?: (logon: FixMessage) => string | undefined;
  /** Asked before an application message is resent; false sends a gap fill instead. */
  onResend?: (message: FixMessage) => boolean;
  /** LENGTH tag to DATA tag pairs, to decode stored messages for resends. */
  dataFields?: ReadonlyMap<number, number>;
  /** Fields added to every Logon an initiator sends, e.g. the session qualifier (9012). */
  logonFields?: readonly (readonly [tag: number, value: string])[];
}

/** A message put while not established. */
interface Late {
  message: FixMessage;
  atMs: number;
  /** The driver's reference for settling its promise; 0 when nobody waits. */
  ref: number;
  bytes: number;
}

/**
 * One FIX session's protocol, as a pure state machine. The engine's link feeds it and
 * performs what it returns; tests feed it directly and compare the actions.
 *
 * @example
 * ```ts
 * import { DEFAULT_SESSION_SETTINGS, SessionId } from "@fixwire/engine";
 * import { SessionCore } from "./core.ts";
 * const core = new SessionCore({
 *   id: new SessionId("FW", "PEER"), beginString: "FIX.4.4", role: "initiator",
 *   settings: DEFAULT_SESSION_SETTINGS,
 *   numbers: { nextSenderSeqNum: 1, nextTargetSeqNum: 1, creationTimeMs: 0, correctlyTerminated: false },
 * });
 * const actions = core.connected(0);
 * actions.map((a) => a.type); // ["event", "send", "timer"]: stateChanged, the Logon, its deadline
 * ```
 */
export class SessionCore {
  readonly #id: SessionId;
  readonly #begin: string;
  readonly #role: SessionRole;
  readonly #s: SessionSettings;
  readonly #log: Logger;
  readonly #o: SessionCoreOptions;
  readonly #ver: number;
  readonly #name: string;
  readonly #t: Deadlines;
  #state: SessionState = "initial";
  #sender: number;
  #target: number;
  #terminated: boolean;
  #connected = false;
  #remoteHost: string | undefined;
  #closing: string | undefined;
  #peerApplVerId: string | undefined;
  #testReqCounter = 0;
  /** A Logout the peer sent with a sequence gap: answered once the gap is filled or times out. */
  #peerLogout: FixMessage | undefined;
  #early = new Map<number, FixMessage>();
  #resendTarget = 0; // highest seq known missing + 1 while a gap is outstanding
  #resendRequestedUpTo = 0; // last seq our outstanding ResendRequest covers (0 = infinity)
  #lastResendKey = "";
  #duplicateResends = 0;
  #logonCount = 0;
  #sentResetFlag = false;
  #weStartedLogout = false;
  #resetPending = false;
  #late = new Map<number, Late>();
  #queued: Late[] = [];
  #lateBytes = 0;
  #answer: ResendAnswer | undefined;
  #answerNext: [number, number] | undefined;

  /**
   * Creates a core.
   *
   * @param options Identity, settings, starting numbers and hooks.
   */
  constructor(options: SessionCoreOptions) {
    this.#o = options;
    this.#id = options.id;
    this.#name = options.id.toString();
    this.#begin = options.beginString;
    this.#role = options.role;
    this.#s = options.settings;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#ver = admin.versionNumber(this.#begin);
    this.#sender = options.numbers.nextSenderSeqNum;
    this.#target = options.numbers.nextTargetSeqNum;
    this.#terminated = options.numbers.correctlyTerminated;
    this.#t = new Deadlines(options.settings);
    this.#t.heartbeatMs = options.settings.heartbeatIntervalSeconds * 1000;
  }

  /** The session's id. */
  get id(): SessionId {
    return this.#id;
  }
  /** The current state. */
  get state(): SessionState {
    return this.#state;
  }
  /** Initiator or acceptor. */
  get role(): SessionRole {
    return this.#role;
  }
  /** BeginString(8). */
  get beginString(): string {
    return this.#begin;
  }
  /** The negotiated heartbeat interval in seconds. */
  get heartbeatIntervalSeconds(): number {
    return this.#t.heartbeatMs / 1000;
  }
  /** The next outgoing MsgSeqNum. */
  get nextSenderSeqNum(): number {
    return this.#sender;
  }
  /** The next expected inbound MsgSeqNum. */
  get nextTargetSeqNum(): number {
    return this.#target;
  }
  /** Whether the last session ended with a completed Logout exchange and nothing since. */
  get correctlyTerminated(): boolean {
    return this.#terminated;
  }
  /** Whether a link is attached. */
  get linked(): boolean {
    return this.#connected;
  }
  /** FIXT.1.1: the counterparty's DefaultApplVerID(1137) from its accepted Logon. */
  get peerDefaultApplVerId(): string | undefined {
    return this.#peerApplVerId;
  }
  /** Application messages waiting for the session to be established. */
  get queuedMessages(): number {
    return this.#late.size + this.#queued.length;
  }
  /** Bytes of the messages waiting for the session to be established. */
  get lateBytes(): number {
    return this.#lateBytes;
  }
  /** Whether the session decided to close its link. */
  get closing(): boolean {
    return this.#closing !== undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Lifecycle inputs

  /**
   * Sets the HeartBtInt an initiator sends (before `connected`).
   *
   * @param seconds HeartBtInt(108).
   * @throws {RangeError} When not a whole number of seconds a timer can hold.
   */
  setHeartbeatInterval(seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0 || seconds > 1_073_741) {
      throw new RangeError(`Cannot set heartbeat interval: "${seconds}" is not valid`);
    }
    this.#t.heartbeatMs = seconds * 1000;
  }

  /**
   * The engine starts this initiator (`waitingForConnect`), or registers this acceptor
   * (`waitingForLogon`), or an acceptor's link ended and it waits for the next Logon.
   *
   * @param nowMs The current time.
   * @returns The actions.
   */
  started(nowMs: number): Action[] {
    const out: Action[] = [];
    this.#setState(
      this.#role === "initiator" ? "waitingForConnect" : "waitingForLogon",
      nowMs,
      out,
    );
    return out;
  }

  /**
   * An initiator's connection attempt failed and it waits to try again.
   *
   * @param nowMs The current time.
   * @returns The actions.
   */
  reconnecting(nowMs: number): Action[] {
    const out: Action[] = [];
    this.#setState("reconnecting", nowMs, out);
    return out;
  }

  /**
   * An initiator gave up reconnecting.
   *
   * @param attempts Failed attempts.
   * @param nowMs The current time.
   * @returns The actions.
   */
  gaveUp(attempts: number, nowMs: number): Action[] {
    const out: Action[] = [];
    const reason = `gave up after ${attempts} failed attempts`;
    this.#log.error("initiator gave up reconnecting", { session: this.#name, reason });
    this.#setState("nonGracefullyTerminated", nowMs, out);
    this.#emit({ type: "reconnectFailed", atMs: nowMs, attempts, reason }, out);
    return out;
  }

  /**
   * A link is attached. An initiator sends its Logon (resetting first when ForceSeqNumReset
   * says so, or after a correct termination); an acceptor waits for one.
   *
   * @param nowMs The current time.
   * @param remoteHost The peer's host (acceptors check `AllowedSourceAddresses`).
   * @returns The actions.
   */
  connected(nowMs: number, remoteHost?: string): Action[] {
    const out: Action[] = [];
    this.#connected = true;
    this.#remoteHost = remoteHost;
    this.#closing = undefined;
    this.#weStartedLogout = false;
    this.#resetPending = false;
    this.#lastResendKey = "";
    this.#duplicateResends = 0;
    this.#clearInboundGap();
    this.#t.attach(nowMs);
    if (this.#role === "initiator") {
      const force = this.#s.forceSeqNumReset;
      const reset = force === "always" || (force === "first" && this.#logonCount === 0) ||
        (this.#terminated && !this.#s.intradayLogoutTolerance);
      if (reset) this.#resetNumbers(nowMs, out);
      this.#sentResetFlag = reset;
      const logon = buildLogon(
        {
          heartbeatSeconds: this.#t.heartbeatMs / 1000,
          reset,
          credentials: true,
          nextExpected: this.#sendsNextExpected() ? this.#target : undefined,
        },
        this.#s,
        this.#begin,
        this.#o.logonFields ?? [],
      );
      this.#setState("waitingForConfirmLogon", nowMs, out);
      this.#t.logonDueAtMs = nowMs + this.#s.logonTimeoutMs;
      this.#sendSequenced(logon, false, nowMs, out);
    } else {
      this.#setState("waitingForLogon", nowMs, out);
      this.#t.logonDueAtMs = nowMs + this.#s.logonTimeoutMs;
    }
    this.#arm(out);
    return out;
  }

  /**
   * The link ended.
   *
   * @param reason Why.
   * @param nowMs The current time.
   * @returns The actions.
   */
  disconnected(reason: string, nowMs: number): Action[] {
    const out: Action[] = [];
    if (!this.#connected) return out;
    this.#connected = false;
    this.#t.detach();
    const graceful = this.#state === "correctlyTerminated";
    if (!graceful) this.#setState("nonGracefullyTerminated", nowMs, out);
    const why = this.#closing ?? reason;
    this.#closing = undefined;
    if (this.#resetPending) {
      this.#resetPending = false;
      out.push({
        type: "resetSettled",
        error: new Error(`Cannot reset sequence numbers: ${why}`),
      });
    }
    this.#answer = undefined;
    this.#answerNext = undefined;
    this.#log.info("session disconnected", { session: this.#name, reason: why, graceful });
    this.#emit({ type: "disconnected", atMs: nowMs, reason: why, graceful }, out);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Operator and application inputs

  /**
   * Sets the header of `message` as if it were sent now (to measure its size).
   *
   * @param message The message.
   * @param nowMs The current time.
   */
  stampNext(message: FixMessage, nowMs: number): void {
    this.#stamp(message, this.#sender, nowMs);
  }

  /**
   * An application message to send. Established: numbered, stored and written. Otherwise it is
   * late: with `LateDelivery=resend` it is numbered and stored now and reaches the peer by the
   * resend our next Logon triggers; with `queue` it is held and sent fresh after the Logon.
   *
   * @param message The message.
   * @param nowMs The current time.
   * @param ref A reference to settle when a late message is sent or expires (0: none).
   * @param bytes Its size, counted against the late messages' bound.
   * @returns The actions.
   */
  send(message: FixMessage, nowMs: number, ref = 0, bytes = 0): Action[] {
    const out: Action[] = [];
    if (this.#state === "established" && this.#closing === undefined) {
      this.#sendSequenced(message, true, nowMs, out);
      return out;
    }
    this.#lateBytes += bytes;
    const late: Late = { message, atMs: nowMs, ref, bytes };
    if (this.#s.lateDelivery === "queue") {
      this.#queued.push(late);
      return out;
    }
    const seq = this.#sender++;
    this.#stamp(message, seq, nowMs);
    out.push({ type: "persist", message, seq });
    this.#late.set(seq, late);
    if (this.#terminated) {
      // Unsent messages: the session is not "correctly terminated" any more, so its numbers
      // continue and the message is resent after the next Logon.
      this.#terminated = false;
      out.push({ type: "setTerminated", value: false });
    }
    return out;
  }

  /**
   * Starts a graceful logout (or, before logon, disconnects).
   *
   * @param text Text(58).
   * @param nowMs The current time.
   * @returns The actions.
   */
  logout(text: string | undefined, nowMs: number): Action[] {
    const out: Action[] = [];
    if (!this.#connected || this.#closing !== undefined) return out;
    if (this.#state !== "established") {
      this.#close(text ?? "logout before logon", true, nowMs, out);
      return out;
    }
    this.#weStartedLogout = true;
    this.#sendSequenced(admin.logout(text), false, nowMs, out);
    this.#setState("waitingForConfirmLogout", nowMs, out);
    this.#t.logoutDueAtMs = nowMs + this.#s.logoutTimeoutMs;
    this.#arm(out);
    return out;
  }

  /**
   * Drops the link at once, without a Logout.
   *
   * @param reason Why.
   * @param nowMs The current time.
   * @returns The actions.
   */
  drop(reason: string, nowMs: number): Action[] {
    const out: Action[] = [];
    if (this.#connected) this.#close(reason, false, nowMs, out);
    return out;
  }

  /**
   * Resets both sides' numbers while established: our numbers restart at once, a Logon with
   * ResetSeqNumFlag=Y goes out, and `resetSettled` follows the peer's answer (or its absence
   * within LogonTimeFrame).
   *
   * @param nowMs The current time.
   * @returns The actions.
   * @throws {Error} When not established.
   */
  resetSequences(nowMs: number): Action[] {
    if (!this.#connected || this.#state !== "established" || this.#closing !== undefined) {
      throw new Error(`Cannot reset sequence numbers: session "${this.#id}" is not established`);
    }
    const out: Action[] = [];
    if (this.#resetPending) return out;
    this.#resetPending = true;
    const target = this.#target;
    this.#resetNumbers(nowMs, out);
    // The peer's numbers change only when its reset Logon arrives.
    this.#target = target;
    out.push({ type: "setTarget", seq: target });
    this.#sendSequenced(this.#resetLogon(true), false, nowMs, out);
    this.#sentResetFlag = true;
    this.#t.logonDueAtMs = nowMs + this.#s.logonTimeoutMs;
    this.#sendQueued(nowMs, out);
    this.#arm(out);
    return out;
  }

  /**
   * Resets both numbers to 1 while disconnected (`resetSeqNumLocal`); late messages are kept
   * and renumbered after the next Logon.
   *
   * @param nowMs The current time.
   * @returns The actions.
   * @throws {Error} When connected.
   */
  resetLocal(nowMs: number): Action[] {
    this.#assertDisconnected("reset sequence numbers");
    const out: Action[] = [];
    this.#resetNumbers(nowMs, out);
    return out;
  }

  /**
   * Sets the numbers by hand while disconnected.
   *
   * @param numbers The next sender and target numbers; an absent one is kept.
   * @returns The actions.
   * @throws {Error} When connected.
   * @throws {RangeError} When the sender number would move back.
   */
  setSequenceNumbers(numbers: { nextSenderSeqNum?: number; nextTargetSeqNum?: number }): Action[] {
    this.#assertDisconnected("set sequence numbers");
    const { nextSenderSeqNum: sender, nextTargetSeqNum: target } = numbers;
    if (sender !== undefined && sender < this.#sender) {
      throw new RangeError(
        `Cannot set sequence numbers: nextSenderSeqNum ${sender} is below ${this.#sender}, the stored messages would be overwritten; use resetSeqNumLocal`,
      );
    }
    const out: Action[] = [];
    if (sender !== undefined) {
      this.#sender = sender;
      out.push({ type: "setSender", seq: sender });
    }
    if (target !== undefined) {
      this.#target = target;
      out.push({ type: "setTarget", seq: target });
    }
    return out;
  }

  /**
   * Settles every late message with an error (the session is being finalized); stored ones
   * stay stored and are resent after a later logon.
   *
   * @param reason Why.
   * @returns The actions.
   */
  abandonLate(reason: string): Action[] {
    const out: Action[] = [];
    const error = new Error(`Cannot confirm delivery: ${reason}; the message stays stored`);
    for (const l of this.#late.values()) if (l.ref) out.push({ type: "settle", ref: l.ref, error });
    for (const l of this.#queued) {
      if (l.ref) out.push({ type: "settle", ref: l.ref, error });
      this.#lateBytes -= l.bytes;
    }
    this.#queued = [];
    return out;
  }

  #assertDisconnected(action: string): void {
    if (this.#connected) throw new Error(`Cannot ${action}: session "${this.#id}" is connected`);
  }

  // -------------------------------------------------------------------------------------------
  // Timers

  /**
   * The timer requested by the last `timer` action fired (or any time: nothing happens early).
   *
   * @param nowMs The current time.
   * @returns The actions.
   */
  onTimer(nowMs: number): Action[] {
    const out: Action[] = [];
    this.#t.fired();
    if (!this.#connected) return out;
    try {
      this.#tick(nowMs, out);
    } catch (e) {
      this.#log.error("session timer failed", { session: this.#name, error: `${e}` });
    }
    this.#arm(out);
    return out;
  }

  #tick(now: number, out: Action[]): void {
    const t = this.#t;
    if (t.closeDueAtMs >= 0 && now >= t.closeDueAtMs) {
      // The queued writes did not drain in time (a peer that stopped reading): close anyway.
      t.closeDueAtMs = -1;
      out.push({ type: "close", reason: this.#closing ?? "close timeout", flush: false });
      return;
    }
    if (this.#closing !== undefined) return;
    if (t.logonDueAtMs >= 0 && now >= t.logonDueAtMs) {
      t.logonDueAtMs = -1;
      if (this.#resetPending) {
        // Established: the numbered Logout tells the peer why the session ends.
        this.#fatal("Logon timeout: sequence reset not confirmed", true, now, out);
        return;
      }
      this.#fatal("Logon timeout", false, now, out);
      return;
    }
    if (t.logoutDueAtMs >= 0 && now >= t.logoutDueAtMs) {
      t.logoutDueAtMs = -1;
      const logout = this.#peerLogout;
      if (logout) {
        this.#log.warn("gap before the peer's Logout not filled in time; answering it", {
          session: this.#name,
          expected: this.#target,
        });
        this.#onLogout(logout, now, out);
        return;
      }
      this.#close("Logout timeout", true, now, out);
      return;
    }
    if (this.#state !== "established") return;
    switch (t.heartbeatDue(now)) {
      case "timeout":
        t.testRequestSentAtMs = -1;
        this.#fatal(
          "Heartbeat timeout: no answer to TestRequest",
          this.#s.logoutOnHeartbeatTimeout,
          now,
          out,
        );
        return;
      case "testRequest":
        this.#sendSequenced(
          admin.testRequest(`TEST-${++this.#testReqCounter}-${now}`),
          false,
          now,
          out,
        );
        t.testRequestSentAtMs = now;
        return;
      case "heartbeat":
        this.#sendSequenced(admin.heartbeat(), false, now, out);
    }
  }

  #arm(out: Action[]): void {
    if (!this.#connected) return;
    const at = this.#t.rearm(this.#state === "established");
    if (at !== undefined) out.push({ type: "timer", atMs: at });
  }

  // -------------------------------------------------------------------------------------------
  // Outbound helpers

  #stamp(m: FixMessage, seq: number, now: number): void {
    m.set(Tag.SenderCompID, this.#id.sender).set(Tag.TargetCompID, this.#id.target)
      .set(Tag.MsgSeqNum, seq)
      .set(Tag.SendingTime, formatUtcTimestamp(now, this.#s.timestampPrecision));
  }

  /** Numbers, stamps and sends; application messages are stored, session messages not. */
  #sendSequenced(m: FixMessage, store: boolean, now: number, out: Action[]): number {
    const seq = this.#sender++;
    this.#stamp(m, seq, now);
    out.push({ type: "send", message: m, seq, store: store ? "append" : "advance" });
    this.#t.lastSentAtMs = now;
    return seq;
  }

  #emit(event: SessionEvent, out: Action[]): void {
    out.push({ type: "event", event });
  }

  #setState(to: SessionState, now: number, out: Action[]): void {
    if (to === this.#state) return;
    const from = this.#state;
    this.#state = to;
    this.#log.debug("session state changed", { session: this.#name, from, to });
    this.#emit({ type: "stateChanged", from, to, atMs: now }, out);
  }

  /** Closes the link; with `flush`, after what is queued is written (bounded in time). */
  #close(reason: string, flush: boolean, now: number, out: Action[]): void {
    if (this.#closing !== undefined && flush) return;
    this.#closing ??= reason;
    out.push({ type: "close", reason: this.#closing, flush });
    if (flush) this.#t.closeDueAtMs = now + this.#s.logoutTimeoutMs;
    this.#arm(out);
  }

  /** Logout with a reason, then disconnect: the reaction to a fatal protocol error. */
  #fatal(text: string, sendLogout: boolean, now: number, out: Action[]): void {
    if (this.#closing !== undefined) return;
    this.#log.warn("session ended by protocol error", { session: this.#name, text });
    if (sendLogout) this.#sendSequenced(admin.logout(text), false, now, out);
    this.#close(text, true, now, out);
  }

  #sendsNextExpected(): boolean {
    return this.#s.enableNextExpectedMsgSeqNum && this.#ver >= 44;
  }

  /** Both numbers to 1 and the store cleared; late messages are renumbered after the Logon. */
  #resetNumbers(now: number, out: Action[]): void {
    this.#log.info("sequence numbers reset", { session: this.#name });
    this.#lastResendKey = "";
    this.#duplicateResends = 0;
    this.#sender = 1;
    this.#target = 1;
    this.#terminated = false;
    out.push({ type: "resetStore", atMs: now });
    if (this.#late.size > 0) {
      const late = [...this.#late.entries()].sort((a, b) => a[0] - b[0]).map(([, l]) => l);
      this.#late.clear();
      this.#queued.unshift(...late);
    }
  }

  /** Sends held late messages with new numbers, after a Logon. */
  #sendQueued(now: number, out: Action[]): void {
    const queued = this.#queued;
    this.#queued = [];
    for (const l of queued) {
      this.#lateBytes -= l.bytes;
      if (this.#expire(0, l, now, out)) continue;
      l.message.remove(Tag.PossDupFlag);
      l.message.remove(Tag.OrigSendingTime);
      this.#sendSequenced(l.message, true, now, out);
      if (l.ref) out.push({ type: "settle", ref: l.ref });
    }
  }

  /** Whether a late message outlived `messageTimeToLiveMs`; settles it with an error if so. */
  #expire(seq: number, late: Late, now: number, out: Action[]): boolean {
    const age = now - late.atMs;
    if (!this.#s.rejectMessageWhileNoConnection || age <= this.#s.messageTimeToLiveMs) {
      return false;
    }
    const reason = `message ${seq > 0 ? `${seq} ` : ""}expired after ${age} ms while not connected`;
    this.#log.warn(
      seq > 0 ? "late message expired; covered by a gap fill" : "late message expired",
      {
        session: this.#name,
        seq,
        ageMs: age,
      },
    );
    this.#emit({ type: "messageRejected", atMs: now, message: late.message, reason }, out);
    if (late.ref) {
      out.push({
        type: "settle",
        ref: late.ref,
        error: new MessageExpiredError(`Cannot send message: ${reason}`),
      });
    }
    return true;
  }

  #sendReject(
    ref: FixMessage,
    reason: number,
    tag: number | undefined,
    text: string,
    now: number,
    out: Action[],
  ): void {
    const refSeqNum = ref.intOr(Tag.MsgSeqNum, 0);
    this.#log.warn("Reject sent", { session: this.#name, refSeqNum, reason, text });
    this.#emit({ type: "rejectSent", atMs: now, refSeqNum, reason, text }, out);
    this.#sendSequenced(admin.reject(ref, reason, tag, text, this.#ver), false, now, out);
  }

  #sendBusinessReject(
    ref: FixMessage,
    reason: number,
    tag: number | undefined,
    text: string,
    now: number,
    out: Action[],
  ): void {
    this.#log.warn("BusinessMessageReject sent", { session: this.#name, reason, text });
    this.#sendSequenced(admin.businessReject(ref, reason, tag, text), true, now, out);
  }

  #resetLogon(ours: boolean): FixMessage {
    return buildLogon(
      {
        heartbeatSeconds: this.#t.heartbeatMs / 1000,
        reset: true,
        credentials: ours && this.#role === "initiator",
        nextExpected: this.#sendsNextExpected() ? 1 : undefined,
      },
      this.#s,
      this.#begin,
      this.#o.logonFields ?? [],
    );
  }

  // -------------------------------------------------------------------------------------------
  // Inbound

  /**
   * A garbled message was read (ignored, as the session layer says).
   *
   * @param error What was wrong.
   * @param nowMs The current time.
   * @returns The actions.
   */
  onGarbled(error: Error, nowMs: number): Action[] {
    this.#log.warn("garbled message ignored", { session: this.#name, error: error.message });
    return [{ type: "event", event: { type: "garbled", atMs: nowMs, error } }];
  }

  /**
   * A decoded inbound message. A Logon while waiting for one is admitted here too (see
   * `admitLogon`).
   *
   * @param msg The message.
   * @param nowMs The current time.
   * @returns The actions.
   */
  onMessage(msg: FixMessage, nowMs: number): Action[] {
    const out: Action[] = [];
    if (!this.#connected || this.#closing !== undefined) return out;
    this.#t.received(nowMs);
    try {
      this.#inbound(msg, nowMs, out);
    } catch (e) {
      this.#log.error("inbound message handling failed", { session: this.#name, error: `${e}` });
      this.#emit({ type: "error", atMs: nowMs, error: e }, out);
    }
    this.#arm(out);
    return out;
  }

  /**
   * The first Logon of an acceptor's link (or an initiator's confirming Logon): checked
   * completely before anything is reset, stored or written; a refusal changes nothing stored.
   *
   * @param logon The Logon.
   * @param nowMs The current time.
   * @returns The actions.
   */
  admitLogon(logon: FixMessage, nowMs: number): Action[] {
    return this.onMessage(logon, nowMs);
  }

  #inbound(msg: FixMessage, now: number, out: Action[]): void {
    const msgType = msg.msgType;
    const awaitingLogon = this.#state === "waitingForLogon" ||
      this.#state === "waitingForConfirmLogon";
    if (this.#state === "waitingForConfirmLogon" && msgType === "5") {
      const text = msg.get(Tag.Text);
      this.#log.warn("Logon rejected by the counterparty", { session: this.#name, text });
      this.#emit({ type: "logout", atMs: now, text, initiatedByUs: false }, out);
      this.#close(`Logon rejected${text ? `: ${text}` : ""}`, true, now, out);
      return;
    }
    if (awaitingLogon) {
      if (msgType !== "A") {
        this.#log.warn("first message is not a Logon; disconnecting", {
          session: this.#name,
          msgType,
        });
        this.#fatal(`First message is not a Logon (MsgType ${msgType})`, false, now, out);
        return;
      }
      this.#onLogon(msg, now, out);
      return;
    }
    if (msg.get(Tag.BeginString) !== this.#begin) {
      this.#fatal(
        `Incorrect BeginString: expected ${this.#begin}, received ${msg.get(Tag.BeginString)}`,
        true,
        now,
        out,
      );
      return;
    }
    const seq = msg.intOr(Tag.MsgSeqNum, Number.NaN);
    if (!(seq > 0)) {
      this.#fatal("MsgSeqNum(34) is missing or invalid", true, now, out);
      return;
    }
    if (
      msg.get(Tag.SenderCompID) !== this.#id.target || msg.get(Tag.TargetCompID) !== this.#id.sender
    ) {
      const tag = msg.get(Tag.SenderCompID) !== this.#id.target
        ? Tag.SenderCompID
        : Tag.TargetCompID;
      this.#sendReject(msg, R.CompIdProblem, tag, "CompID problem", now, out);
      this.#fatal("CompID problem", true, now, out);
      return;
    }
    if (msgType === "A") {
      this.#onLogonWhileEstablished(msg, seq, now, out);
      return;
    }
    if (msgType === "4" && msg.get(Tag.GapFillFlag) !== "Y") {
      this.#onSequenceReset(msg, now, out);
      return;
    }
    if (!this.#checkSendingTime(msg, now, out)) return;
    const expected = this.#target;
    // Answered whatever its number; a rejected one still takes its place in the sequence.
    if (msgType === "2" && !this.#rejectInvalid(msg, false, now, out)) {
      this.#onResendRequest(msg, now, out);
    }
    if (seq > expected) {
      if (msgType === "5") {
        if (this.#weStartedLogout || this.#state !== "established") {
          // The confirming Logout: the session ends; the gap is requested on the next logon.
          this.#log.warn("Logout received with a sequence gap", { expected, received: seq });
          this.#onLogout(msg, now, out);
          return;
        }
        // The peer logs out while we miss messages: request them first, answer the Logout
        // once they are in (or when the logout timeout ends the wait).
        this.#log.warn("Logout received with a sequence gap; requesting the gap before answering", {
          session: this.#name,
          expected,
          received: seq,
        });
        this.#peerLogout = msg;
        this.#t.logoutDueAtMs = now + this.#s.logoutTimeoutMs;
      }
      this.#onGap(msg, expected, seq, now, out);
      return;
    }
    if (seq < expected) {
      this.#onTooLow(msg, expected, seq, now, out);
      return;
    }
    this.#processExpected(msg, msgType, now, out);
    this.#drainEarly(now, out);
  }

  /** Processes held messages that are now in order, then checks the gap. */
  #drainEarly(now: number, out: Action[]): void {
    while (this.#early.size > 0 && this.#closing === undefined) {
      const next = this.#target;
      const held = this.#early.get(next);
      // Held messages below the expected number were covered by a gap fill.
      for (const k of this.#early.keys()) if (k < next) this.#early.delete(k);
      if (!held) break;
      this.#early.delete(next);
      this.#processExpected(held, held.msgType, now, out);
    }
    const logout = this.#peerLogout;
    if (logout && this.#closing === undefined && this.#target > logout.intOr(Tag.MsgSeqNum, 0)) {
      // The gap before the peer's Logout is filled (its own number came as a gap fill).
      this.#onLogout(logout, now, out);
      return;
    }
    if (this.#resendTarget === 0) return;
    const next = this.#target;
    if (next >= this.#resendTarget && this.#early.size === 0) {
      this.#resendTarget = 0;
      this.#resendRequestedUpTo = 0;
      return;
    }
    if (this.#resendRequestedUpTo !== 0 && next > this.#resendRequestedUpTo) {
      // Block-wise ResendRequests: ask for the next block.
      this.#sendResendRequest(next, this.#resendTarget - 1, now, out);
    }
  }

  #processExpected(msg: FixMessage, msgType: string, now: number, out: Action[]): void {
    const seq = msg.intOr(Tag.MsgSeqNum, 0);
    if (msg.get(Tag.PossDupFlag) === "Y" && msgType !== "4") {
      const orig = msg.get(Tag.OrigSendingTime);
      if (orig === undefined) {
        this.#advanceTarget(seq, out);
        this.#sendReject(
          msg,
          R.RequiredTagMissing,
          Tag.OrigSendingTime,
          "Required tag missing: OrigSendingTime(122)",
          now,
          out,
        );
        return;
      }
      const o = parseUtcTimestamp(orig), s = parseUtcTimestamp(msg.get(Tag.SendingTime) ?? "");
      if (o && s && o.epochMs > s.epochMs) {
        this.#advanceTarget(seq, out);
        this.#sendReject(
          msg,
          R.SendingTimeAccuracy,
          Tag.OrigSendingTime,
          "SendingTime accuracy problem: OrigSendingTime is later",
          now,
          out,
        );
        return;
      }
    }
    if ((msgType === "0" || msgType === "1") && this.#rejectInvalid(msg, true, now, out)) return;
    switch (msgType) {
      case "0":
      case "2":
        this.#advanceTarget(seq, out);
        return;
      case "1":
        this.#advanceTarget(seq, out);
        this.#sendSequenced(admin.heartbeat(msg.get(Tag.TestReqID)), false, now, out);
        return;
      case "3":
        this.#advanceTarget(seq, out);
        this.#log.warn("Reject received", {
          session: this.#name,
          refSeqNum: msg.get(Tag.RefSeqNum),
          text: msg.get(Tag.Text),
        });
        this.#emit({ type: "rejectReceived", atMs: now, message: msg }, out);
        return;
      case "4":
        this.#onGapFill(msg, seq, now, out);
        return;
      case "5":
        this.#advanceTarget(seq, out);
        this.#onLogout(msg, now, out);
        return;
      default:
        this.#onApplication(msg, msgType, seq, now, out);
    }
  }

  #advanceTarget(seq: number, out: Action[]): void {
    this.#target = seq + 1;
    out.push({ type: "setTarget", seq: seq + 1 });
  }

  #onApplication(msg: FixMessage, msgType: string, seq: number, now: number, out: Action[]): void {
    if (this.#state !== "established" && this.#state !== "waitingForConfirmLogout") {
      this.#advanceTarget(seq, out);
      return;
    }
    const p = this.#o.validate?.(msg)[0];
    if (p !== undefined) {
      this.#advanceTarget(seq, out);
      if (p.reason === R.InvalidMsgType && this.#ver >= 42) {
        this.#sendBusinessReject(
          msg,
          admin.BusinessRejectReason.UnsupportedMessageType,
          p.tag,
          p.text,
          now,
          out,
        );
      } else this.#sendReject(msg, p.reason, p.tag, p.text, now, out);
      return;
    }
    const supports = this.#o.supportsMsgType;
    if (supports && !supports(msgType, msg)) {
      this.#advanceTarget(seq, out);
      if (this.#ver >= 42) {
        this.#sendBusinessReject(
          msg,
          admin.BusinessRejectReason.UnsupportedMessageType,
          undefined,
          `Unsupported MsgType "${msgType}"`,
          now,
          out,
        );
      } else {this.#sendReject(
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
    this.#advanceTarget(seq, out);
  }

  /**
   * The application's handler of a delivered message failed: a typed reject error becomes a
   * Reject or BusinessMessageReject; anything else is reported as "application not available".
   *
   * @param msg The delivered message.
   * @param error What the handler threw.
   * @param nowMs The current time.
   * @returns The actions.
   */
  deliveryFailed(msg: FixMessage, error: unknown, nowMs: number): Action[] {
    const out: Action[] = [];
    if (!this.#connected || this.#closing !== undefined) return out;
    if (error instanceof MessageRejectError) {
      this.#sendReject(msg, error.reason, error.refTagId, error.message, nowMs, out);
    } else if (error instanceof BusinessRejectError) {
      if (this.#ver >= 42) {
        this.#sendBusinessReject(msg, error.reason, error.refTagId, error.message, nowMs, out);
      } else this.#sendReject(msg, R.ValueIncorrect, error.refTagId, error.message, nowMs, out);
    } else {
      this.#log.error("application handler failed", { session: this.#name, error: `${error}` });
      this.#emit({ type: "error", atMs: nowMs, error }, out);
      // FIX.4.0 and FIX.4.1 have no BusinessMessageReject: their Reject(3) is the only way to
      // tell the counterparty the message was not processed.
      if (this.#ver >= 42) {
        this.#sendBusinessReject(
          msg,
          admin.BusinessRejectReason.ApplicationNotAvailable,
          undefined,
          "Application not available",
          nowMs,
          out,
        );
      } else this.#sendReject(msg, R.Other, undefined, "Application not available", nowMs, out);
    }
    return out;
  }

  /** Runs the `validate` hook on a session message; a problem gets a Reject. True if rejected. */
  #rejectInvalid(msg: FixMessage, advance: boolean, now: number, out: Action[]): boolean {
    const p = this.#o.validate?.(msg)[0];
    if (p === undefined) return false;
    if (advance) this.#advanceTarget(msg.intOr(Tag.MsgSeqNum, 0), out);
    this.#sendReject(msg, p.reason, p.tag, p.text, now, out);
    return true;
  }

  #checkSendingTime(msg: FixMessage, now: number, out: Action[]): boolean {
    const problem = sendingTimeProblem(msg, this.#s, now);
    if (problem === undefined) return true;
    const [reason, text] = problem;
    const seq = msg.intOr(Tag.MsgSeqNum, 0);
    if (seq === this.#target) this.#advanceTarget(seq, out);
    this.#sendReject(msg, reason, Tag.SendingTime, text, now, out);
    if (reason === R.SendingTimeAccuracy) this.#fatal(text, true, now, out);
    return false;
  }

  #onTooLow(msg: FixMessage, expected: number, seq: number, now: number, out: Action[]): void {
    if (msg.get(Tag.PossDupFlag) === "Y" || this.#s.allowMessageWithoutPossDupFlag) {
      this.#log.debug("duplicate ignored", { session: this.#name, seq, expected });
      return;
    }
    this.#fatal(`MsgSeqNum too low, expecting ${expected} but received ${seq}`, true, now, out);
  }

  #onGap(msg: FixMessage, expected: number, seq: number, now: number, out: Action[]): void {
    if (this.#early.size < this.#s.incomingQueueSize) this.#early.set(seq, msg);
    else this.#log.warn("incoming queue full; message dropped until resent", { seq });
    if (this.#resendTarget !== 0) {
      // A request is outstanding: never a second one for the same gap.
      if (seq + 1 > this.#resendTarget) this.#resendTarget = seq + 1;
      return;
    }
    this.#resendTarget = seq + 1;
    this.#emit({ type: "gapDetected", atMs: now, expected, received: seq }, out);
    this.#log.info("sequence gap detected", { session: this.#name, expected, received: seq });
    this.#sendResendRequest(expected, seq - 1, now, out);
  }

  #sendResendRequest(from: number, knownTo: number, now: number, out: Action[]): void {
    const block = this.#s.resendRequestBlockSize;
    let end = this.#ver >= 42 ? 0 : 999999;
    if (block > 0) end = Math.min(from + block - 1, Math.max(knownTo, from));
    this.#resendRequestedUpTo = block > 0 ? end : 0;
    this.#sendSequenced(admin.resendRequest(from, end), false, now, out);
  }

  #clearInboundGap(): void {
    this.#early.clear();
    this.#resendTarget = 0;
    this.#resendRequestedUpTo = 0;
    this.#peerLogout = undefined;
  }

  // -------------------------------------------------------------------------------------------
  // Logon and logout

  #onLogon(msg: FixMessage, now: number, out: Action[]): void {
    const acceptor = this.#role === "acceptor";
    const refusal = logonRefusal(msg, {
      settings: this.#s,
      beginString: this.#begin,
      sender: this.#id.sender,
      target: this.#id.target,
      remoteHost: this.#remoteHost,
      acceptor,
      authenticate: this.#o.authenticate,
      validate: this.#o.validate ? (m) => this.#o.validate!(m)[0]?.text : undefined,
      nowMs: now,
    });
    if (refusal !== undefined) {
      this.#refuseLogon(refusal.text, refusal.logout, now, out);
      return;
    }
    const seq = msg.intOr(Tag.MsgSeqNum, 0);
    const hb = msg.intOr(Tag.HeartBtInt, 0);
    const peerReset = msg.get(Tag.ResetSeqNumFlag) === "Y";
    const force = this.#s.forceSeqNumReset;
    const resetNow = acceptor &&
      (peerReset || force === "always" || (force === "first" && this.#logonCount === 0));
    const targetReset = !acceptor && peerReset && !this.#sentResetFlag;
    const expected = resetNow || targetReset ? 1 : this.#target;
    if (seq < expected && !this.#s.ignoreSeqNumTooLowAtLogon) {
      this.#refuseLogon(
        `MsgSeqNum too low, expecting ${expected} but received ${seq}`,
        true,
        now,
        out,
      );
      return;
    }
    // Accepted: from here on the Logon changes the session.
    this.#peerApplVerId = this.#begin === "FIXT.1.1" ? msg.get(Tag.DefaultApplVerID) : undefined;
    if (acceptor) {
      this.#t.heartbeatMs = hb * 1000;
      if (resetNow) this.#resetNumbers(now, out);
      this.#sentResetFlag = resetNow;
    } else if (this.#sentResetFlag && !peerReset) {
      this.#log.warn("Logon answer lacks ResetSeqNumFlag(141)=Y", { seq });
    } else if (targetReset) {
      // An unrequested ResetSeqNumFlag in the answer: the peer's numbers start again at 1.
      this.#target = 1;
      out.push({ type: "setTarget", seq: 1 });
    }
    this.#logonCount++;
    this.#terminated = false;
    out.push({ type: "setTerminated", value: false });
    const lastSentBeforeLogon = this.#sender - 1;
    if (acceptor) {
      this.#sendSequenced(
        buildLogon(
          {
            heartbeatSeconds: hb,
            reset: this.#sentResetFlag,
            credentials: false,
            nextExpected: this.#sendsNextExpected()
              ? (seq === expected ? expected + 1 : expected)
              : undefined,
          },
          this.#s,
          this.#begin,
          [],
        ),
        false,
        now,
        out,
      );
    }
    this.#t.logonDueAtMs = -1;
    const next789 = msg.intOr(Tag.NextExpectedMsgSeqNum, 0);
    this.#setState("established", now, out);
    this.#emit({ type: "logon", atMs: now, reset: peerReset || this.#sentResetFlag }, out);
    if (seq > expected) {
      this.#onGap(msg, expected, seq, now, out);
      // The Logon itself is processed: it is removed from the held messages.
      this.#early.delete(seq);
      this.#resendTarget = seq;
    } else if (seq === expected) {
      this.#advanceTarget(seq, out);
    }
    if (this.#sendsNextExpected() && next789 > 0) {
      const last = acceptor ? lastSentBeforeLogon : lastSentBeforeLogon - 1;
      if (next789 <= last) {
        this.#log.info("peer missed messages (NextExpectedMsgSeqNum); resending", {
          from: next789,
          to: last,
        });
        this.#startAnswer(next789, last, out);
      }
    }
    this.#sendQueued(now, out);
  }

  /** Refuses a Logon not yet accepted: an unsequenced Logout and a disconnect. */
  #refuseLogon(text: string, sendLogout: boolean, now: number, out: Action[]): void {
    this.#log.warn("Logon refused", { session: this.#name, reason: text });
    if (sendLogout) {
      const m = admin.logout(text);
      this.#stamp(m, this.#sender, now);
      out.push({ type: "send", message: m, seq: this.#sender, store: "none" });
    }
    this.#close(text, true, now, out);
  }

  /**
   * A Logon while established: with ResetSeqNumFlag(141)=Y and MsgSeqNum 1 it resets both
   * sides' numbers, either answering the reset we started or starting one by the peer.
   */
  #onLogonWhileEstablished(msg: FixMessage, seq: number, now: number, out: Action[]): void {
    if (msg.get(Tag.ResetSeqNumFlag) !== "Y") {
      this.#log.warn("Logon received while established; ignored", { seq });
      if (seq === this.#target) this.#advanceTarget(seq, out);
      return;
    }
    if (seq !== 1) {
      this.#fatal(
        `Logon with ResetSeqNumFlag must have MsgSeqNum 1, received ${seq}`,
        true,
        now,
        out,
      );
      return;
    }
    if (this.#resetPending) {
      // The answer to `resetSequences`: our numbers restarted already; the peer's too now.
      this.#resetPending = false;
      this.#t.logonDueAtMs = -1;
      this.#clearInboundGap();
      this.#advanceTarget(1, out);
      this.#emit({ type: "logon", atMs: now, reset: true }, out);
      out.push({ type: "resetSettled" });
      return;
    }
    // The peer resets: checked like a first Logon, refused with a numbered Logout.
    if (this.#role === "acceptor") {
      const refusal = admin.credentialRefusal(this.#s, msg) ?? this.#o.authenticate?.(msg);
      if (refusal !== undefined) {
        this.#fatal(refusal, true, now, out);
        return;
      }
    }
    const problem = this.#o.validate?.(msg)[0];
    if (problem !== undefined) {
      this.#fatal(problem.text, true, now, out);
      return;
    }
    this.#log.info("sequence reset by Logon while established", { session: this.#name });
    this.#resetNumbers(now, out);
    this.#clearInboundGap();
    this.#advanceTarget(seq, out);
    const answer = this.#resetLogon(false);
    if (answer.has(Tag.NextExpectedMsgSeqNum)) answer.set(Tag.NextExpectedMsgSeqNum, seq + 1);
    this.#sendSequenced(answer, false, now, out);
    this.#sentResetFlag = true;
    this.#emit({ type: "logon", atMs: now, reset: true }, out);
    this.#sendQueued(now, out);
  }

  #onLogout(msg: FixMessage, now: number, out: Action[]): void {
    this.#peerLogout = undefined;
    const text = msg.get(Tag.Text);
    const byUs = this.#weStartedLogout;
    if (!byUs) this.#sendSequenced(admin.logout(), false, now, out);
    this.#t.logoutDueAtMs = -1;
    // A gap still open is not a correct termination: the numbers are kept and the gap is
    // requested on the next Logon.
    const gapOpen = this.#resendTarget !== 0 || this.#early.size > 0 ||
      msg.intOr(Tag.MsgSeqNum, 0) >= this.#target;
    if (!gapOpen) {
      this.#terminated = true;
      out.push({ type: "setTerminated", value: true });
    }
    this.#setState("correctlyTerminated", now, out);
    this.#emit({ type: "logout", atMs: now, text, initiatedByUs: byUs }, out);
    this.#close(
      byUs ? "logout confirmed" : `logout by peer${text ? `: ${text}` : ""}`,
      true,
      now,
      out,
    );
  }

  // -------------------------------------------------------------------------------------------
  // Sequence resets

  #onSequenceReset(msg: FixMessage, now: number, out: Action[]): void {
    const newSeq = msg.intOr(Tag.NewSeqNo, Number.NaN);
    const expected = this.#target;
    if (!(newSeq > 0)) {
      this.#sendReject(
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
      this.#log.info("sequence reset", { session: this.#name, from: expected, to: newSeq });
      this.#target = newSeq;
      out.push({ type: "setTarget", seq: newSeq });
      this.#drainEarly(now, out);
    } else if (newSeq === expected) {
      this.#log.info("SequenceReset to the expected number; nothing to do", { newSeq });
    } else {
      this.#sendReject(
        msg,
        R.ValueIncorrect,
        Tag.NewSeqNo,
        `Value is incorrect (out of range) for this tag: NewSeqNo ${newSeq} < expected ${expected}`,
        now,
        out,
      );
    }
  }

  #onGapFill(msg: FixMessage, seq: number, now: number, out: Action[]): void {
    const newSeq = msg.intOr(Tag.NewSeqNo, Number.NaN);
    if (!(newSeq > seq)) {
      this.#advanceTarget(seq, out);
      this.#sendReject(
        msg,
        R.ValueIncorrect,
        Tag.NewSeqNo,
        `Value is incorrect (out of range) for this tag: NewSeqNo ${newSeq}`,
        now,
        out,
      );
      return;
    }
    this.#target = newSeq;
    out.push({ type: "setTarget", seq: newSeq });
  }

  // -------------------------------------------------------------------------------------------
  // Answering ResendRequests

  #onResendRequest(msg: FixMessage, now: number, out: Action[]): void {
    const begin = msg.intOr(Tag.BeginSeqNo, Number.NaN);
    const end = msg.intOr(Tag.EndSeqNo, Number.NaN);
    if (!(begin > 0) || !(end >= 0) || (end !== 0 && end < begin)) {
      this.#sendReject(
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
    if (key === this.#lastResendKey) {
      if (++this.#duplicateResends > this.#s.duplicateResendRequestLimit) {
        this.#log.warn("duplicate ResendRequest ignored", { begin, end });
        return;
      }
    } else {
      this.#lastResendKey = key;
      this.#duplicateResends = 1;
    }
    const lastSent = this.#sender - 1;
    let last = end === 0 || (end >= 999999 && this.#ver < 42) || end > lastSent ? lastSent : end;
    const limit = this.#s.resendMessagesLimit;
    if (limit > 0 && last - begin + 1 > limit) {
      this.#log.warn("ResendRequest capped", { begin, end: last, limit });
      last = begin + limit - 1;
    }
    if (begin > lastSent) {
      this.#log.warn("ResendRequest for messages not sent yet", { begin, lastSent });
      return;
    }
    this.#startAnswer(begin, last, out);
  }

  /** Starts answering `begin..last`; one answer runs at a time, the latest request waits. */
  #startAnswer(begin: number, last: number, out: Action[]): void {
    if (this.#answer) {
      this.#answerNext = [begin, last];
      return;
    }
    this.#answer = new ResendAnswer(begin, last);
    out.push({ type: "resend", begin, end: last });
  }

  /**
   * Stored messages of the running resend answer, in ascending order (one block of them).
   *
   * @param stored The block.
   * @param nowMs The current time.
   * @returns The actions: resent messages and gap fills to write.
   */
  resendBlock(stored: readonly StoredMessage[], nowMs: number): Action[] {
    const out: Action[] = [];
    const answer = this.#answer;
    if (!answer || !this.#connected) return out;
    const sink = this.#sink(nowMs, out);
    const sendingTime = formatUtcTimestamp(nowMs, this.#s.timestampPrecision);
    for (const { seqNum, bytes } of stored) {
      if (seqNum < answer.next || seqNum > answer.last) continue;
      let original: FixMessage;
      try {
        original = decodeMessage(bytes, this.#o.dataFields);
      } catch {
        answer.skip(seqNum);
        continue;
      }
      const late = this.#late.get(seqNum);
      if (late) {
        this.#late.delete(seqNum);
        this.#lateBytes -= late.bytes;
        if (this.#expire(seqNum, late, nowMs, out)) {
          answer.skip(seqNum);
          continue;
        }
        if (late.ref) out.push({ type: "settle", ref: late.ref });
      }
      if (admin.isAdminMsgType(original.msgType) || this.#o.onResend?.(original) === false) {
        answer.skip(seqNum);
        continue;
      }
      answer.resend(seqNum, original, sendingTime, sink);
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
  resendDone(nowMs: number): Action[] {
    const out: Action[] = [];
    const answer = this.#answer;
    if (!answer || !this.#connected) return out;
    answer.finish(this.#sink(nowMs, out));
    this.#answer = undefined;
    this.#emit({
      type: "resendAnswered",
      atMs: nowMs,
      begin: answer.begin,
      end: answer.last,
      resent: answer.resent,
    }, out);
    const next = this.#answerNext;
    this.#answerNext = undefined;
    if (next) this.#startAnswer(next[0], next[1], out);
    return out;
  }

  #sink(now: number, out: Action[]): ResendSink {
    return {
      resent: (seq, message) => {
        out.push({ type: "send", message, seq, store: "none" });
        this.#t.lastSentAtMs = now;
      },
      gap: (from, newSeqNo) => {
        const m = admin.gapFill(newSeqNo);
        this.#stamp(m, from, now);
        m.set(Tag.PossDupFlag, "Y").set(Tag.OrigSendingTime, m.get(Tag.SendingTime)!);
        out.push({ type: "send", message: m, seq: from, store: "none" });
        this.#t.lastSentAtMs = now;
      },
    };
  }
}
