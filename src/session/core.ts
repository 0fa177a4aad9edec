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
import type { Logger } from "../logger.ts";
import { FixParseError } from "../message/errors.ts";
import type { FixMessage } from "../message/fix_message.ts";
import type { SessionId } from "../session_id.ts";
import type { SeqState, StoredMessage } from "../store.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import type { SessionState } from "./events.ts";
import type { SessionSchedule } from "../schedule.ts";
import { buildLogon } from "./logon.ts";
import { resendBlock, resendDone, resendWritten } from "./resend.ts";
import { tick } from "./deadlines.ts";
import { CoreState } from "./_state.ts";
import { answerHeldLogout, deliveryFailed, inbound } from "./inbound.ts";

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
  /**
   * Whether the session's version (its dictionary) defines a MsgType; an undefined one gets a
   * session Reject with SessionRejectReason 11. Default: the standard FIX dictionaries (by
   * ApplVerID for FIXT.1.1), plus whatever `supportsMsgType` takes.
   */
  definesMsgType?: (msgType: string, message: FixMessage) => boolean;
  /**
   * Whether the application takes a MsgType the version defines; one it does not gets a
   * BusinessMessageReject (FIX.4.2 on) or a Reject (FIX.4.0, FIX.4.1).
   */
  supportsMsgType?: (msgType: string, message: FixMessage) => boolean;
  /** Checks a Logon's credentials beyond Username/Password; returns a refusal text. */
  authenticate?: (logon: FixMessage) => string | undefined;
  /** Asked before an application message is resent; false sends a gap fill instead. */
  onResend?: (message: FixMessage) => boolean;
  /** LENGTH tag to DATA tag pairs, to decode stored messages for resends. */
  dataFields?: ReadonlyMap<number, number>;
  /** Fields added to every Logon an initiator sends, e.g. the session qualifier (9012). */
  logonFields?: readonly (readonly [tag: number, value: string])[];
  /**
   * The session's schedule (`StartTime`, `EndTime`...): Logons only inside it, a Logout at its
   * end, the numbers reset in each new period.
   */
  schedule?: SessionSchedule;
}

/**
 * One FIX session's protocol, as a pure state machine. The engine's link feeds it and
 * performs what it returns; tests feed it directly and compare the actions.
 *
 * @example
 * ```ts
 * import { DEFAULT_SESSION_SETTINGS, SessionId } from "@fixwire/engine";
 * import { SessionCore } from "@fixwire/engine/testing";
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
  readonly #c: CoreState;

  /**
   * Creates a core.
   *
   * @param options Identity, settings, starting numbers and hooks.
   */
  constructor(options: SessionCoreOptions) {
    this.#c = new CoreState(options);
  }

  /** The session's id. */
  get id(): SessionId {
    return this.#c.id;
  }
  /** The current state. */
  get state(): SessionState {
    return this.#c.state;
  }
  /** Initiator or acceptor. */
  get role(): SessionRole {
    return this.#c.role;
  }
  /** BeginString(8). */
  get beginString(): string {
    return this.#c.begin;
  }
  /** The negotiated heartbeat interval in seconds. */
  get heartbeatIntervalSeconds(): number {
    return this.#c.t.heartbeatMs / 1000;
  }
  /** The next outgoing MsgSeqNum. */
  get nextSenderSeqNum(): number {
    return this.#c.sender;
  }
  /** The next expected inbound MsgSeqNum. */
  get nextTargetSeqNum(): number {
    return this.#c.target;
  }
  /** Whether the last session ended with a completed Logout exchange and nothing since. */
  get correctlyTerminated(): boolean {
    return this.#c.terminated;
  }
  /** Whether a link is attached. */
  get linked(): boolean {
    return this.#c.connected;
  }
  /** FIXT.1.1: the counterparty's DefaultApplVerID(1137) from its accepted Logon. */
  get peerDefaultApplVerId(): string | undefined {
    return this.#c.peerApplVerId;
  }
  /** Application messages waiting for the session to be established. */
  get queuedMessages(): number {
    return this.#c.late.size + this.#c.queued.length;
  }
  /** Bytes of the messages waiting for the session to be established. */
  get lateBytes(): number {
    return this.#c.lateBytes;
  }
  /** Whether the session decided to close its link. */
  get closing(): boolean {
    return this.#c.closing !== undefined;
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
    this.#c.t.heartbeatMs = seconds * 1000;
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
    this.#c.setState(
      this.#c.role === "initiator" ? "waitingForConnect" : "waitingForLogon",
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
    this.#c.setState("reconnecting", nowMs, out);
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
    this.#c.log.error("initiator gave up reconnecting", { session: this.#c.name, reason });
    this.#c.setState("nonGracefullyTerminated", nowMs, out);
    this.#c.emit({ type: "reconnectFailed", atMs: nowMs, attempts, reason }, out);
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
    this.#c.connected = true;
    this.#c.remoteHost = remoteHost;
    this.#c.closing = undefined;
    this.#c.lingering = false;
    this.#c.weStartedLogout = false;
    this.#c.resetPending = false;
    this.#c.lastResendKey = "";
    this.#c.duplicateResends = 0;
    this.#c.clearInboundGap();
    this.#c.t.attach(nowMs);
    if (this.#c.role === "initiator") {
      const force = this.#c.s.forceSeqNumReset;
      const reset = force === "always" || (force === "first" && this.#c.logonCount === 0) ||
        (this.#c.terminated && !this.#c.s.intradayLogoutTolerance) || this.#c.newPeriod(nowMs);
      if (reset) this.#c.resetNumbers(nowMs, out);
      this.#c.sentResetFlag = reset;
      const logon = buildLogon(
        {
          heartbeatSeconds: this.#c.t.heartbeatMs / 1000,
          reset,
          credentials: true,
          nextExpected: this.#c.sendsNextExpected() ? this.#c.target : undefined,
        },
        this.#c.s,
        this.#c.begin,
        this.#c.o.logonFields ?? [],
      );
      this.#c.setState("waitingForConfirmLogon", nowMs, out);
      this.#c.t.logonDueAtMs = nowMs + this.#c.s.logonTimeoutMs;
      this.#c.sendSequenced(logon, false, nowMs, out);
    } else {
      this.#c.setState("waitingForLogon", nowMs, out);
      this.#c.t.logonDueAtMs = nowMs + this.#c.s.logonTimeoutMs;
    }
    this.#c.arm(out);
    return out;
  }

  /**
   * Bytes numbered for the peer did not reach it: a write failed, or the link ended before
   * they were written. After a Logout exchange the session is then not correctly terminated
   * (its numbers continue and the messages are resent after the next Logon).
   *
   * @returns The actions.
   */
  undelivered(): Action[] {
    const out: Action[] = [];
    this.#c.notTerminated(
      "messages did not reach the peer before the link ended; the numbers continue",
      out,
    );
    return out;
  }

  /**
   * The link ended. After we answered the peer's Logout, only its orderly close says it read
   * the answer (closing with unread bytes resets the connection and discards them); any other
   * end (a reset, a failed read, our own close) leaves the session not correctly terminated.
   *
   * @param reason Why.
   * @param nowMs The current time.
   * @param peerClosed Whether the peer closed in order (end of stream).
   * @returns The actions.
   */
  disconnected(reason: string, nowMs: number, peerClosed = false): Action[] {
    const out: Action[] = [];
    if (!this.#c.connected) return out;
    if (this.#c.lingering && !peerClosed) {
      this.#c.notTerminated(
        "the peer did not close in order after our Logout answer; the numbers continue",
        out,
      );
    }
    this.#c.connected = false;
    this.#c.t.detach();
    const graceful = this.#c.state === "correctlyTerminated";
    if (!graceful) this.#c.setState("nonGracefullyTerminated", nowMs, out);
    if (this.#c.s.resetOnDisconnect) {
      // ResetOnDisconnect: the next connection starts from 1/1 (messages put meanwhile are
      // renumbered after the next Logon).
      this.#c.resetNumbers(nowMs, out);
      this.#c.clearInboundGap();
    }
    const why = this.#c.closing ?? reason;
    this.#c.closing = undefined;
    if (this.#c.resetPending) {
      this.#c.resetPending = false;
      out.push({
        type: "resetSettled",
        error: new Error(`Cannot reset sequence numbers: ${why}`),
      });
    }
    this.#c.answer = undefined;
    this.#c.answerNext = undefined;
    this.#c.answerWriting = false;
    if (this.#c.garbled.inRun) this.#c.garbled.end(this.#c.log, this.#c.name, nowMs);
    this.#c.log.info("session disconnected", { session: this.#c.name, reason: why, graceful });
    this.#c.emit({ type: "disconnected", atMs: nowMs, reason: why, graceful }, out);
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
    this.#c.stamp(message, this.#c.sender, nowMs);
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
    if (this.#c.state === "established" && this.#c.closing === undefined) {
      // One action: an array of exactly one (a push into [] would make room for 17).
      return [this.#c.sequenced(message, true, nowMs)];
    }
    const out: Action[] = [];
    this.#c.lateBytes += bytes;
    const late = { message, atMs: nowMs, ref, bytes };
    if (this.#c.s.lateDelivery === "queue") {
      this.#c.queued.push(late);
      return out;
    }
    const seq = this.#c.sender++;
    this.#c.stamp(message, seq, nowMs);
    out.push({ type: "persist", message, seq });
    this.#c.late.set(seq, late);
    if (this.#c.terminated) {
      // Unsent messages: the session is not "correctly terminated" any more, so its numbers
      // continue and the message is resent after the next Logon.
      this.#c.terminated = false;
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
    if (!this.#c.connected || this.#c.closing !== undefined) return out;
    if (this.#c.state !== "established") {
      this.#c.close(text ?? "logout before logon", true, nowMs, out);
      return out;
    }
    this.#c.startLogout(text, nowMs, out);
    this.#c.arm(out);
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
    if (this.#c.connected) this.#c.close(reason, false, nowMs, out);
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
    if (!this.#c.connected || this.#c.state !== "established" || this.#c.closing !== undefined) {
      throw new Error(`Cannot reset sequence numbers: session "${this.#c.id}" is not established`);
    }
    const out: Action[] = [];
    if (this.#c.resetPending) return out;
    this.#c.resetPending = true;
    const target = this.#c.target;
    this.#c.resetNumbers(nowMs, out);
    // The peer's numbers change only when its reset Logon arrives.
    this.#c.target = target;
    out.push({ type: "setTarget", seq: target });
    this.#c.sendSequenced(this.#c.resetLogon(true), false, nowMs, out);
    this.#c.sentResetFlag = true;
    this.#c.t.logonDueAtMs = nowMs + this.#c.s.logonTimeoutMs;
    this.#c.sendQueued(nowMs, out);
    this.#c.arm(out);
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
    this.#c.assertDisconnected("reset sequence numbers");
    const out: Action[] = [];
    this.#c.resetNumbers(nowMs, out);
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
    this.#c.assertDisconnected("set sequence numbers");
    const { nextSenderSeqNum: sender, nextTargetSeqNum: target } = numbers;
    if (sender !== undefined && sender < this.#c.sender) {
      throw new RangeError(
        `Cannot set sequence numbers: nextSenderSeqNum ${sender} is below ${this.#c.sender}, the stored messages would be overwritten; use resetSeqNumLocal`,
      );
    }
    const out: Action[] = [];
    if (sender !== undefined) {
      this.#c.sender = sender;
      out.push({ type: "setSender", seq: sender });
    }
    if (target !== undefined) {
      this.#c.target = target;
      out.push({ type: "setTarget", seq: target });
    }
    return out;
  }

  /**
   * A store reset failed and the store kept its numbers: the core takes them back (the link
   * ends; nothing of the abandoned new sequence was stored).
   *
   * @param numbers The store's state.
   */
  restoreNumbers(numbers: Readonly<SeqState>): void {
    this.#c.sender = numbers.nextSenderSeqNum;
    this.#c.target = numbers.nextTargetSeqNum;
    this.#c.terminated = numbers.correctlyTerminated;
    this.#c.creationTimeMs = numbers.creationTimeMs;
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
    for (const l of this.#c.late.values()) {
      if (l.ref) out.push({ type: "settle", ref: l.ref, error });
    }
    for (const l of this.#c.queued) {
      if (l.ref) out.push({ type: "settle", ref: l.ref, error });
      this.#c.lateBytes -= l.bytes;
    }
    this.#c.queued = [];
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // The peer's Logout, answered after the deliveries before it

  /**
   * Answers the peer's Logout that waited for a gap, now filled (the `answerLogout` action,
   * performed after the deliveries before it). Nothing when it was answered meanwhile (the
   * logout timeout) or the connection ended.
   *
   * @param nowMs The current time.
   * @returns Actions to perform.
   */
  answerPeerLogout(nowMs: number): Action[] {
    const out: Action[] = [];
    try {
      answerHeldLogout(this.#c, nowMs, out);
    } catch (e) {
      this.#c.log.error("inbound message handling failed", {
        session: this.#c.name,
        error: `${e}`,
      });
    }
    return out;
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
    this.#c.t.fired();
    if (!this.#c.connected) return out;
    try {
      tick(this.#c, nowMs, out);
    } catch (e) {
      this.#c.log.error("session timer failed", { session: this.#c.name, error: `${e}` });
    }
    this.#c.arm(out);
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Inbound

  /**
   * A garbled message was read (ignored, as the session layer says). A well-framed message
   * whose only fault is an invalid tag number (`0=`, `-5=`, `x=`) is not garbled: the decoder's
   * error carries it (`FixParseError.decoded`), and it is processed in its turn and answered
   * with a Reject (SessionRejectReason 0), its number consumed. Each garbled message is an
   * event; the log tells a run of them in a few lines (see `GarbledRuns`).
   *
   * @param error What was wrong.
   * @param nowMs The current time.
   * @returns The actions.
   */
  onGarbled(error: Error, nowMs: number): Action[] {
    if (error instanceof FixParseError && error.decoded !== undefined) {
      const msg = error.decoded;
      this.#c.invalid.set(msg, {
        reason: admin.SessionRejectReason.InvalidTagNumber,
        tag: error.tag,
        text: error.tag === undefined ? "Invalid tag number" : `Invalid tag number (${error.tag})`,
      });
      return this.onMessage(msg, nowMs);
    }
    this.#c.garbled.add(this.#c.log, this.#c.name, error, nowMs);
    return [{ type: "event", event: { type: "garbled", atMs: nowMs, error } }];
  }

  /**
   * A decoded inbound message. A Logon while waiting for one is admitted here too (see
   * `admitLogon`).
   *
   * @param msg The message.
   * @param nowMs The current time.
   * @param out Where the actions are added (an empty array the caller reuses), default a new one.
   * @returns The actions: `out`.
   */
  onMessage(msg: FixMessage, nowMs: number, out: Action[] = []): Action[] {
    if (!this.#c.connected) return out;
    if (this.#c.closing !== undefined) {
      this.#c.readWhileClosing(msg, nowMs, out);
      return out;
    }
    if (this.#c.garbled.inRun) this.#c.garbled.end(this.#c.log, this.#c.name, nowMs);
    this.#c.t.received(nowMs);
    try {
      inbound(this.#c, msg, nowMs, out);
    } catch (e) {
      this.#c.log.error("inbound message handling failed", {
        session: this.#c.name,
        error: `${e}`,
      });
      this.#c.emit({ type: "error", atMs: nowMs, error: e }, out);
    }
    this.#c.arm(out);
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
    if (this.#c.connected && this.#c.closing === undefined) {
      deliveryFailed(this.#c, msg, error, nowMs, out);
    }
    return out;
  }

  // -------------------------------------------------------------------------------------------
  // Answering ResendRequests

  /**
   * Stored messages of the running resend answer, in ascending order (one block of them).
   *
   * @param stored The block.
   * @param nowMs The current time.
   * @returns The actions: resent messages and gap fills to write.
   */
  resendBlock(stored: readonly StoredMessage[], nowMs: number): Action[] {
    return resendBlock(this.#c, stored, nowMs);
  }

  /**
   * The running resend answer has read its whole range: the last gap fill goes out, and the
   * next waiting request starts.
   *
   * @param nowMs The current time.
   * @returns The actions.
   */
  resendDone(nowMs: number): Action[] {
    return resendDone(this.#c, nowMs);
  }
  /**
   * The last resend answer was written to the connection: a ResendRequest that arrived
   * meanwhile (merged with any others) is answered now.
   *
   * @param nowMs The current time.
   * @returns The actions.
   */
  resendWritten(nowMs: number): Action[] {
    return resendWritten(this.#c, nowMs);
  }
}
