/**
 * The FIX session state machine: logon, sequence numbers, heartbeats, resends, gap fills,
 * rejects and logout, for FIX.4.0 to FIX.4.4 and FIXT.1.1.
 *
 * It does no I/O of its own: time comes from an injected {@linkcode Clock}, bytes go through an
 * injected {@linkcode Connection}, state through an injected {@linkcode SeqStore}.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import { BusinessRejectError, MessageRejectError } from "../errors.ts";
import { type Logger, SILENT_LOGGER } from "../logger.ts";
import type { SessionId } from "../session_id.ts";
import type { SeqStore } from "../store.ts";
import type { Connection } from "../transport.ts";
import type { SessionSettings } from "../config/settings.ts";
import { FixEncoder } from "../message/encoder.ts";
import { FixParseError } from "../message/errors.ts";
import { FixMessage } from "../message/fix_message.ts";
import { decodeMessage, FixFramer } from "../message/framer.ts";
import { formatMessage } from "../message/printer.ts";
import { formatUtcTimestamp, parseUtcTimestamp } from "../message/timestamps.ts";
import { EventHub, type SessionEvent, type SessionState } from "./events.ts";

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

/** The application side of a session: what it receives and what it may veto. */
export interface SessionHandler {
  /**
   * Receives each inbound application message, in sequence order; awaited before the next one.
   * Throw a `MessageRejectError` or `BusinessRejectError` to reject it.
   */
  onMessage?(message: FixMessage): void | Promise<void>;
  /**
   * Asked before an application message is resent; return false to send a gap fill instead.
   */
  onResend?(message: FixMessage): boolean;
  /**
   * Checks a Logon's credentials (acceptors), after the configured Username/Password and before
   * any other check; also asked for a counterparty's ResetSeqNumFlag Logon while established.
   * Return a reason to refuse it.
   */
  authenticate?(logon: FixMessage): string | undefined;
  /** Hears every event synchronously, in order with message delivery. Must not throw. */
  onEvent?(event: SessionEvent): void;
}

/** Options of {@linkcode FixSession}. */
export interface FixSessionOptions {
  /** The session's id. */
  id: SessionId;
  /** BeginString(8): `FIX.4.0` to `FIX.4.4` or `FIXT.1.1`. */
  beginString: string;
  /** Initiator or acceptor. */
  role: SessionRole;
  /** Settings (see `DEFAULT_SESSION_SETTINGS`). */
  settings: SessionSettings;
  /** The session's store. */
  store: SeqStore;
  /** Time source and timers. */
  clock: Clock;
  /** Logger; silent by default. */
  logger?: Logger;
  /** Application callbacks. */
  handler?: SessionHandler;
  /**
   * Validates an inbound message; returns problems, first one is reported. Runs on application
   * messages and on Logon (a problem refuses it), Heartbeat, TestRequest and ResendRequest (a
   * problem gets a Reject and the message is not acted on); never on Reject, SequenceReset or
   * Logout, whose refusal could not be recovered from.
   */
  validate?: (message: FixMessage) => MessageProblem[];
  /** Whether an application MsgType is supported (unknown types get BusinessMessageReject). */
  supportsMsgType?: (msgType: string, message: FixMessage) => boolean;
  /** Per-session event queue size. */
  eventQueueSize?: number;
  /**
   * LENGTH tag to DATA tag pairs of the session's dictionaries (default: every standard pair),
   * so a venue's own data fields may carry SOH.
   */
  dataFields?: ReadonlyMap<number, number>;
  /** Fields added to every Logon an initiator sends, e.g. the session qualifier (9012). */
  logonFields?: readonly (readonly [tag: number, value: string])[];
}

/** A message put while not established: persisted with its number, delivered by resend. */
interface LateMessage {
  message: FixMessage;
  enqueuedAtMs: number;
  /** Its encoded size, counted against `maxOutgoingBufferBytes` while it waits. */
  bytes: number;
  resolve: () => void;
  reject: (e: Error) => void;
}

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
 * Checks a Logon's Username and Password against a session's settings (the configured tags).
 *
 * @param settings The session's credentials and their tags.
 * @param logon The Logon.
 * @returns The refusal text for the Logout, or undefined when the credentials match.
 * @example
 * ```ts
 * import { credentialRefusal, DEFAULT_SESSION_SETTINGS, FixMessage } from "@fixwire/engine";
 * const settings = { ...DEFAULT_SESSION_SETTINGS, password: "secret" };
 * credentialRefusal(settings, new FixMessage("A").set(554, "guess")); // "Invalid username or password"
 * ```
 */
export function credentialRefusal(
  settings: Pick<SessionSettings, "username" | "usernameTag" | "password" | "passwordTag">,
  logon: FixMessage,
): string | undefined {
  const badUser = settings.username !== undefined &&
    logon.get(settings.usernameTag) !== settings.username;
  const badPassword = settings.password !== undefined &&
    logon.get(settings.passwordTag) !== settings.password;
  return badUser || badPassword ? "Invalid username or password" : undefined;
}

/** Error thrown to callers whose message was rejected by late-delivery rules. */
export class MessageExpiredError extends Error {
  /**
   * Creates an instance.
   * @param message Why.
   */
  constructor(message: string) {
    super(message);
    this.name = "MessageExpiredError";
  }
}

/**
 * Error a `put()` rejects with when the connection drains too slowly: more than
 * `maxOutgoingBufferBytes` wait to be written. The message was not persisted and used no
 * sequence number; retry once earlier `put()` promises have settled.
 *
 * @example
 * ```ts ignore
 * try {
 *   await session.put(order);
 * } catch (e) {
 *   if (e instanceof OutgoingBufferFullError) await slowDown();
 * }
 * ```
 */
export class OutgoingBufferFullError extends Error {
  /**
   * Creates an instance.
   * @param message Why.
   */
  constructor(message: string) {
    super(message);
    this.name = "OutgoingBufferFullError";
  }
}

/**
 * One FIX session's protocol engine. The engine's `Session` wraps it; tests drive it directly
 * with a `ManualClock` and an in-memory connection pair.
 *
 * @example
 * ```ts ignore
 * const session = new FixSession({ id, beginString: "FIX.4.4", role: "initiator", settings,
 *   store, clock });
 * const ended = session.attach(connection);
 * await session.waitFor("established", { signal: AbortSignal.timeout(5000) });
 * ```
 */
export class FixSession {
  readonly #id: SessionId;
  readonly #begin: string;
  readonly #role: SessionRole;
  readonly #s: SessionSettings;
  readonly #store: SeqStore;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #handler: SessionHandler;
  readonly #validate: ((m: FixMessage) => MessageProblem[]) | undefined;
  readonly #supports: ((t: string, m: FixMessage) => boolean) | undefined;
  readonly #dataFields: ReadonlyMap<number, number> | undefined;
  readonly #logonFields: readonly (readonly [number, string])[];
  #peerApplVerId: string | undefined;
  readonly #events: EventHub<SessionEvent>;
  readonly #encoder: FixEncoder;
  readonly #verNum: number; // 40..44, 50 for FIXT

  #state: SessionState = "initial";
  #conn: Connection | undefined;
  #framer: FixFramer | undefined;
  #hbMs = 30_000;
  #lastSentAtMs = 0;
  #lastReceivedAtMs = 0;
  #testRequestSentAtMs = -1;
  #testReqCounter = 0;
  #logonDeadlineMs = -1;
  #logoutDeadlineMs = -1;
  /** A Logout the peer sent with a sequence gap: answered once the gap is filled or times out. */
  #peerLogout: FixMessage | undefined;
  #timer: TimerHandle | undefined;
  #timerAtMs = -1;
  #flushing = false;
  #flushScheduled = false;
  #flushAgain = false;
  #batchWaiters: (() => void)[] = [];
  #batchFailers: ((e: Error) => void)[] = [];
  #batch: Promise<void> | undefined;
  #late = new Map<number, LateMessage>();
  #held: LateMessage[] = [];
  /** Bytes of the messages in `#late` and `#held`. */
  #lateBytes = 0;
  #scratch: FixEncoder;
  #early = new Map<number, FixMessage>();
  #resendTarget = 0; // highest seq known missing+1 (exclusive) while a gap is outstanding
  #resendRequestedUpTo = 0; // last seq covered by our outstanding ResendRequest (0 = infinity)
  #lastResendKey = "";
  #duplicateResendCount = 0;
  #logonCount = 0;
  #sentResetFlag = false;
  #announceReset = false;
  #logoutText: string | undefined;
  #weStartedLogout = false;
  /** True while the store is being reset: `put` holds messages until the reset Logon is out. */
  #resetting = false;
  /** A sequence reset we started while established waits for the peer's ResetSeqNumFlag Logon. */
  #resetPending = false;
  #resetWaiters: { resolve: () => void; reject: (e: unknown) => void }[] = [];
  #closeReason: string | undefined;
  #detachResolve: ((reason: string) => void) | undefined;
  #detached: Promise<void> = Promise.resolve();

  /**

   * Creates an instance.
   * @param options Ports and settings.
   */
  constructor(options: FixSessionOptions) {
    this.#id = options.id;
    this.#begin = options.beginString;
    this.#role = options.role;
    this.#s = options.settings;
    this.#store = options.store;
    this.#clock = options.clock;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#handler = options.handler ?? {};
    this.#validate = options.validate;
    this.#supports = options.supportsMsgType;
    this.#dataFields = options.dataFields;
    this.#logonFields = options.logonFields ?? [];
    this.#events = new EventHub(options.eventQueueSize ?? 1024);
    this.#encoder = new FixEncoder(this.#begin, undefined, { dataFields: options.dataFields });
    this.#scratch = new FixEncoder(this.#begin, 4096, { dataFields: options.dataFields });
    this.#hbMs = this.#s.heartbeatIntervalSeconds * 1000;
    const m = /^FIX\.(\d)\.(\d)$/.exec(this.#begin);
    this.#verNum = m ? Number(m[1]) * 10 + Number(m[2]) : 50;
  }

  /** The session's id. */
  get id(): SessionId {
    return this.#id;
  }

  /** The current state. */
  get state(): SessionState {
    return this.#state;
  }

  /** The role. */
  get role(): SessionRole {
    return this.#role;
  }

  /** BeginString(8). */
  get beginString(): string {
    return this.#begin;
  }

  /** The negotiated heartbeat interval in seconds. */
  get heartbeatIntervalSeconds(): number {
    return this.#hbMs / 1000;
  }

  /** The next outgoing MsgSeqNum. */
  get nextSenderSeqNum(): number {
    return this.#store.state.nextSenderSeqNum;
  }

  /** The next expected inbound MsgSeqNum. */
  get nextTargetSeqNum(): number {
    return this.#store.state.nextTargetSeqNum;
  }

  /**
   * FIXT.1.1: the DefaultApplVerID(1137) of the counterparty's accepted Logon, the application
   * version of its messages that carry no ApplVerID(1128).
   */
  get peerDefaultApplVerId(): string | undefined {
    return this.#peerApplVerId;
  }

  /** Application messages waiting for the session to be established. */
  get queuedMessages(): number {
    return this.#late.size + this.#held.length;
  }

  /**
   * Subscribes to the session's events.
   *
   * @returns An async iterator of events from now on.
   */
  events(): AsyncIterableIterator<SessionEvent> {
    return this.#events.subscribe();
  }

  /** The session's store (for the engine). */
  get store(): SeqStore {
    return this.#store;
  }

  /**
   * Sets the heartbeat interval (initiators, before `attach`).
   *
   * @param seconds HeartBtInt.
   */
  setHeartbeatInterval(seconds: number): void {
    if (!Number.isInteger(seconds) || seconds < 0) {
      throw new RangeError(`Cannot set heartbeat interval: "${seconds}" is not a whole number`);
    }
    this.#hbMs = seconds * 1000;
  }

  /**
   * Moves to a state set by the engine (`waitingForConnect`, `reconnecting`...).
   *
   * @param state The new state.
   */
  setState(state: SessionState): void {
    if (state === this.#state) return;
    const from = this.#state;
    this.#state = state;
    this.#log.debug("session state changed", { session: this.#id.toString(), from, to: state });
    this.#emit({ type: "stateChanged", from, to: state, atMs: this.#clock.now() });
  }

  /**
   * Waits until the session reaches a state.
   *
   * @param state The state to wait for.
   * @param options Abort signal.
   * @returns Resolves when the state is reached.
   * @throws The signal's reason when aborted.
   */
  async waitFor(state: SessionState, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#state === state) return;
    options.signal?.throwIfAborted();
    const it = this.#events.subscribe();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(options.signal!.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      if (this.#state === state) return;
      while (true) {
        const r = await Promise.race([it.next(), aborted]);
        if (r.done) throw new Error(`Cannot wait for "${state}": session events ended`);
        if (r.value.type === "stateChanged" && r.value.to === state) return;
      }
    } finally {
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
      await it.return?.();
    }
  }

  #emit(event: SessionEvent): void {
    this.#events.publish(event);
    const h = this.#handler.onEvent;
    if (h) {
      try {
        h(event);
      } catch (e) {
        this.#log.error("event handler failed", { session: this.#id.toString(), error: `${e}` });
      }
    }
  }

  /**
   * Publishes an event raised outside the state machine (the engine's reconnect loop).
   *
   * @param event The event.
   */
  emitExternal(event: SessionEvent): void {
    this.#emit(event);
  }

  /**
   * Makes the next Logon (initiators) carry ResetSeqNumFlag(141)=Y, so the counterparty resets
   * too. The engine calls it after starting fresh numbers following a correct termination.
   */
  announceResetOnNextLogon(): void {
    this.#announceReset = true;
  }

  /** Whether a connection is attached. */
  get hasConnection(): boolean {
    return this.#conn !== undefined;
  }

  /**
   * Closes the connection at once, without a Logout and without waiting for queued writes.
   *
   * @param reason Logged and reported.
   */
  dropConnection(reason: string): void {
    const conn = this.#conn;
    if (!conn) return;
    this.#closeReason ??= reason;
    conn.close(reason);
  }

  /**
   * Resolves once nothing is being written or resent and the connection (if any) has ended
   * its bookkeeping.
   *
   * @returns Resolves when idle.
   */
  async idle(): Promise<void> {
    await this.#resendChain;
    await this.#whenWritten();
    await this.#detached;
  }

  /** Ends every event subscription (when the session is finalized). */
  closeEvents(): void {
    this.#events.close();
  }

  // ---------------------------------------------------------------------------------------------
  // Connection lifecycle

  /**
   * Attaches a connection and runs the session over it until it closes. An initiator sends its
   * Logon at once; an acceptor waits for one (or processes `firstFrames`, already read by the
   * engine to route the connection).
   *
   * @param conn The connection.
   * @param options A framer holding bytes already read, and frames already taken from it.
   * @returns Resolves with the close reason when the connection ends.
   */
  attach(
    conn: Connection,
    options: { framer?: FixFramer; firstFrames?: Uint8Array[] } = {},
  ): Promise<string> {
    if (this.#conn) throw new Error(`Cannot attach: session "${this.#id}" is already connected`);
    this.#conn = conn;
    this.#framer = options.framer ?? new FixFramer({
      maxMessageSize: this.#s.maxMessageSize,
      dataFields: this.#dataFields,
    });
    this.#closeReason = undefined;
    this.#weStartedLogout = false;
    this.#resetPending = false;
    // A repeated ResendRequest on a new connection is a new request, never a duplicate.
    this.#lastResendKey = "";
    this.#duplicateResendCount = 0;
    this.#logoutText = undefined;
    this.#early.clear();
    this.#resendTarget = 0;
    this.#resendRequestedUpTo = 0;
    this.#testRequestSentAtMs = -1;
    this.#logonDeadlineMs = -1;
    this.#logoutDeadlineMs = -1;
    this.#peerLogout = undefined;
    const now = this.#clock.now();
    this.#lastReceivedAtMs = now;
    this.#lastSentAtMs = now;
    const done = new Promise<string>((resolve) => this.#detachResolve = resolve);
    this.#detached = done.then(() => {});
    if (this.#role === "initiator") {
      this.#startInitiatorLogon(conn).catch((e) => this.#storeFailed(e));
    } else {
      this.setState("waitingForLogon");
      this.#logonDeadlineMs = now + this.#s.logonTimeoutMs;
      this.#armTimer();
    }
    this.#readLoop(conn, options.firstFrames ?? []);
    return done;
  }

  async #startInitiatorLogon(conn: Connection): Promise<void> {
    const force = this.#s.forceSeqNumReset;
    const reset = force === "always" || (force === "first" && this.#logonCount === 0);
    const logon = new FixMessage("A").set(98, "0").set(108, this.#hbMs / 1000);
    if (reset) {
      await this.#resetStore();
      if (this.#conn !== conn) return;
    }
    if (reset || this.#announceReset) logon.set(141, "Y");
    this.#announceReset = false;
    this.#sentResetFlag = reset || logon.get(141) === "Y";
    this.#addCredentials(logon);
    if (this.#begin === "FIXT.1.1") logon.set(1137, this.#s.defaultApplVerId);
    if (this.#s.enableNextExpectedMsgSeqNum && this.#verNum >= 44) {
      logon.set(789, this.#store.state.nextTargetSeqNum);
    }
    this.setState("waitingForConfirmLogon");
    this.#logonDeadlineMs = this.#clock.now() + this.#s.logonTimeoutMs;
    this.#sendAdmin(logon);
    this.#armTimer();
  }

  #addCredentials(logon: FixMessage): void {
    for (const [tag, value] of this.#logonFields) logon.set(tag, value);
    if (this.#s.username !== undefined) logon.set(this.#s.usernameTag, this.#s.username);
    if (this.#s.password !== undefined) logon.set(this.#s.passwordTag, this.#s.password);
  }

  /**
   * Resets both sequence numbers to 1 and clears the message store. Messages put meanwhile are
   * held and sent after the reset Logon (see `#sendHeld`).
   */
  async #resetStore(): Promise<void> {
    this.#log.info("sequence numbers reset", { session: this.#id.toString() });
    // Our numbers start again: a ResendRequest for the same range is a new request.
    this.#lastResendKey = "";
    this.#duplicateResendCount = 0;
    this.#resetting = true;
    try {
      await this.#store.reset(this.#clock.now());
    } finally {
      this.#resetting = false;
    }
  }

  /** Forgets held early messages and outstanding gaps (the peer's numbers start again). */
  #clearInboundGap(): void {
    this.#early.clear();
    this.#resendTarget = 0;
    this.#resendRequestedUpTo = 0;
    this.#peerLogout = undefined;
  }

  async #readLoop(conn: Connection, firstFrames: Uint8Array[]): Promise<void> {
    try {
      for (const f of firstFrames) {
        const r = this.#onFrame(f);
        if (r) await r;
        if (this.#conn !== conn) return;
      }
      const framer = this.#framer!;
      const ready = this.#drainFramer(framer, conn);
      if (ready) await ready;
      for await (const chunk of conn) {
        if (this.#conn !== conn) break;
        framer.push(chunk);
        const r = this.#drainFramer(framer, conn);
        if (r) await r;
      }
    } catch (e) {
      this.#log.error("session read loop failed", { session: this.#id.toString(), error: `${e}` });
      this.#emit({ type: "error", atMs: this.#clock.now(), error: e });
    }
    if (this.#conn === conn) this.#onLinkClosed(await closedReason(conn));
  }

  /** Processes every whole frame buffered; returns a promise only when a handler is async. */
  #drainFramer(framer: FixFramer, conn: Connection): Promise<void> | undefined {
    while (this.#conn === conn) {
      const f = framer.next();
      if (f === undefined) return undefined;
      if (f instanceof FixParseError) {
        this.#garbled(f);
        continue;
      }
      const r = this.#onFrame(f);
      if (r) return r.then(() => this.#drainFramer(framer, conn));
    }
    return undefined;
  }

  #garbled(error: Error): void {
    this.#log.warn("garbled message ignored", {
      session: this.#id.toString(),
      error: error.message,
    });
    this.#emit({ type: "garbled", atMs: this.#clock.now(), error });
  }

  #onLinkClosed(reason: string): void {
    const conn = this.#conn;
    if (!conn) return;
    this.#conn = undefined;
    this.#cancelTimer();
    const graceful = this.#state === "correctlyTerminated";
    if (!graceful) {
      this.setState("nonGracefullyTerminated");
    }
    this.#closeReason ??= reason;
    this.#resetPending = false;
    const resetWaiters = this.#resetWaiters;
    this.#resetWaiters = [];
    for (const w of resetWaiters) {
      w.reject(new Error(`Cannot reset sequence numbers: ${this.#closeReason}`));
    }
    this.#log.info("session disconnected", {
      session: this.#id.toString(),
      reason: this.#closeReason,
      graceful,
    });
    this.#emit({
      type: "disconnected",
      atMs: this.#clock.now(),
      reason: this.#closeReason,
      graceful,
    });
    // Fail messages waiting on a batch that never got written.
    const resolve = this.#detachResolve;
    this.#detachResolve = undefined;
    this.#store.flush().catch((e) => this.#storeFailed(e)).finally(() =>
      resolve?.(this.#closeReason ?? reason)
    );
  }

  /**
   * Closes the connection without a Logout exchange.
   *
   * @param reason Logged and reported.
   */
  disconnect(reason: string): void {
    const conn = this.#conn;
    if (!conn) return;
    this.#closeReason ??= reason;
    // Let queued writes (a Logout, a Reject) go out before closing.
    this.#whenWritten().then(() => conn.close(reason));
  }

  #whenWritten(): Promise<void> {
    if (!this.#flushing && !this.#flushScheduled) return Promise.resolve();
    return new Promise<void>((resolve) => {
      this.#batchWaiters.push(resolve);
      this.#batchFailers.push(() => resolve());
    });
  }

  /**
   * Starts a graceful logout: sends Logout and waits for the answer or the logout timeout.
   *
   * @param text Text(58) of the Logout.
   * @returns Resolves when the connection has closed.
   */
  logout(text?: string): Promise<void> {
    const conn = this.#conn;
    if (!conn) return Promise.resolve();
    if (this.#state !== "established") {
      this.disconnect(text ?? "logout before logon");
      return conn.closed.then(() => {});
    }
    this.#weStartedLogout = true;
    this.#sendLogout(text);
    this.setState("waitingForConfirmLogout");
    this.#logoutDeadlineMs = this.#clock.now() + this.#s.logoutTimeoutMs;
    this.#armTimer();
    return conn.closed.then(() => {});
  }

  #sendLogout(text?: string): void {
    const m = new FixMessage("5");
    if (text) m.set(58, text);
    this.#sendAdmin(m);
  }

  /** Logout with a reason, then disconnect: the reaction to a fatal protocol error. */
  #fatal(text: string, sendLogout = true): void {
    this.#log.warn("session ended by protocol error", { session: this.#id.toString(), text });
    this.#closeReason ??= text;
    if (sendLogout && this.#conn) this.#sendLogout(text);
    this.disconnect(text);
  }

  // ---------------------------------------------------------------------------------------------
  // Outbound

  /**
   * Sends an application message. When the session is not established the message is late
   * delivered, as FIX Antenna and QuickFIX do: it is persisted now with the next sequence
   * number, and the counterparty receives it (PossDupFlag=Y) through the ResendRequest that our
   * next Logon's higher number triggers; the promise resolves once it is persisted. With
   * `rejectMessageWhileNoConnection` the promise settles on delivery instead, and a late message
   * older than `messageTimeToLiveMs` at that point is not sent: its number is covered by a gap
   * fill and the promise rejects with {@linkcode MessageExpiredError}.
   *
   * @param message The message; header fields 34, 49, 52 and 56 are set by the session.
   * @returns Resolves when persisted and handed to the connection (late: when persisted).
   */
  put(message: FixMessage): Promise<void> {
    if (message.msgType === "") {
      return Promise.reject(new TypeError("Cannot send message: MsgType(35) is missing"));
    }
    const limit = this.#store.maxMessageBytes;
    const waiting = this.#resetting || this.#state !== "established";
    // Measured once, only where a limit needs it (the hot established path never encodes twice
    // unless the store has a size limit).
    const bytes = limit !== undefined || waiting ? this.#encodedSize(message) : 0;
    if (limit !== undefined && bytes > limit) {
      return Promise.reject(
        new RangeError(
          `Cannot send message: ${bytes} bytes exceed the store's limit of ${limit} bytes in session "${this.#id}"`,
        ),
      );
    }
    if (waiting) {
      // Waiting messages live in memory too (and, late, in the store): bounded like the
      // outgoing buffer, refused before anything is persisted.
      if (this.#lateBytes + bytes > this.#s.maxOutgoingBufferBytes) {
        this.#log.warn("late messages buffer full; message refused", {
          session: this.#id.toString(),
          bytes: this.#lateBytes,
        });
        return Promise.reject(
          new OutgoingBufferFullError(
            `Cannot send message: session "${this.#id}" holds ${this.#lateBytes} bytes of messages waiting for the session to be established`,
          ),
        );
      }
      this.#lateBytes += bytes;
      if (this.#resetting) return this.#hold(message, bytes);
      return this.#putLate(message, this.#clock.now(), bytes);
    }
    if (this.#encoder.length >= this.#s.maxOutgoingBufferBytes) {
      // A slow peer: fail fast rather than grow memory without bound.
      this.#log.warn("outgoing buffer full; message refused", {
        session: this.#id.toString(),
        bytes: this.#encoder.length,
      });
      return Promise.reject(
        new OutgoingBufferFullError(
          `Cannot send message: session "${this.#id}" has ${this.#encoder.length} bytes waiting for a slow connection`,
        ),
      );
    }
    this.#sendSequenced(message, true);
    return this.#batchPromise();
  }

  /** The message's size once stamped (sequence numbers keep their width within a byte or so). */
  #encodedSize(message: FixMessage): number {
    this.#stampHeader(message, this.#store.state.nextSenderSeqNum);
    this.#scratch.reset();
    const start = this.#scratch.append(message, this.#begin);
    return this.#scratch.length - start;
  }

  /** Holds a message put while the store is being reset; sent after the reset Logon. */
  #hold(message: FixMessage, bytes: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#held.push({ message, enqueuedAtMs: this.#clock.now(), bytes, resolve, reject });
    });
  }

  #putLate(message: FixMessage, enqueuedAtMs: number, bytes: number): Promise<void> {
    if (this.#s.lateDelivery === "queue") {
      // Held without a number, sent as a new message after the next Logon (`#sendHeld`).
      if (!this.#s.rejectMessageWhileNoConnection) {
        // Resolve now, so that a handler awaiting put() never blocks the reading that the
        // delivery itself depends on.
        this.#held.push({ message, enqueuedAtMs, bytes, resolve: () => {}, reject: () => {} });
        return Promise.resolve();
      }
      return this.#hold(message, bytes);
    }
    const seq = this.#persistLate(message);
    const persisted = this.#store.flush();
    persisted.catch((e) => this.#storeFailed(e));
    if (!this.#s.rejectMessageWhileNoConnection) {
      // Delivery is guaranteed by the protocol once persisted: resolve now, so that a handler
      // awaiting put() never blocks the reading that the delivery itself depends on.
      this.#late.set(seq, { message, enqueuedAtMs, bytes, resolve: () => {}, reject: () => {} });
      return persisted;
    }
    const p = new Promise<void>((resolve, reject) => {
      this.#late.set(seq, { message, enqueuedAtMs, bytes, resolve, reject });
    });
    p.catch(() => {});
    return p;
  }

  /**
   * Settles every late message's promise with an error (the session is being finalized). The
   * messages stay stored and are resent after the next logon.
   *
   * @param reason Why.
   */
  abandonLateMessages(reason: string): void {
    const err = new Error(`Cannot confirm delivery: ${reason}; the message stays stored`);
    for (const l of this.#late.values()) l.reject(err);
    for (const l of this.#held) {
      l.reject(err);
      this.#lateBytes -= l.bytes;
    }
    this.#held = [];
  }

  #persistLate(message: FixMessage): number {
    const seq = this.#store.state.nextSenderSeqNum;
    this.#stampHeader(message, seq);
    this.#scratch.reset();
    const start = this.#scratch.append(message, this.#begin);
    this.#store.appendOutgoing(seq, this.#scratch.view(start, this.#scratch.length));
    return seq;
  }

  /**
   * Gives late messages new sequence numbers after the store was reset (a fresh start after a
   * correct termination, or `resetSeqNumLocal`), so they are still delivered.
   */
  resequenceLateMessages(): void {
    const late = [...this.#late.entries()].sort((a, b) => a[0] - b[0]);
    this.#late.clear();
    for (const [, l] of late) this.#held.push(l);
    if (this.#state === "established") this.#sendHeld();
  }

  /** Sends late messages whose numbers were reset, after the (reset) Logon exchange. */
  #sendHeld(): void {
    const held = this.#held;
    this.#held = [];
    for (const l of held) {
      this.#lateBytes -= l.bytes;
      if (this.#expireLate(0, l)) continue;
      l.message.remove(43);
      l.message.remove(122);
      this.#sendSequenced(l.message, true);
      this.#batchWaiters.push(l.resolve);
      this.#batchFailers.push(l.reject);
    }
  }

  /** One promise per batch, shared by every message put in the same turn. */
  #batchPromise(): Promise<void> {
    if (this.#batch === undefined) {
      this.#batch = new Promise<void>((resolve, reject) => {
        this.#batchWaiters.push(resolve);
        this.#batchFailers.push(reject);
      });
      this.#batch.catch(() => {});
    }
    return this.#batch;
  }

  /** Whether a late message has outlived `messageTimeToLiveMs`; rejects it if so. */
  #expireLate(seq: number, late: LateMessage): boolean {
    const now = this.#clock.now();
    const age = now - late.enqueuedAtMs;
    if (!this.#s.rejectMessageWhileNoConnection || age <= this.#s.messageTimeToLiveMs) {
      return false;
    }
    const reason = `message ${seq > 0 ? `${seq} ` : ""}expired after ${age} ms while not connected`;
    this.#log.warn(
      seq > 0 ? "late message expired; covered by a gap fill" : "late message expired",
      {
        session: this.#id.toString(),
        seq,
        ageMs: age,
      },
    );
    this.#emit({ type: "messageRejected", atMs: now, message: late.message, reason });
    late.reject(new MessageExpiredError(`Cannot send message: ${reason}`));
    return true;
  }

  #stampHeader(m: FixMessage, seq: number): void {
    m.set(49, this.#id.sender).set(56, this.#id.target).set(34, seq);
    m.set(52, formatUtcTimestamp(this.#clock.now(), this.#s.timestampPrecision));
  }

  /** Assigns the next sequence number, persists (app messages) and queues for writing. */
  #sendSequenced(m: FixMessage, store: boolean): number {
    const seq = this.#store.state.nextSenderSeqNum;
    this.#stampHeader(m, seq);
    const start = this.#encoder.append(m, this.#begin);
    if (store) {
      this.#store.appendOutgoing(seq, this.#encoder.view(start, this.#encoder.length));
    } else {
      this.#store.setNextSenderSeqNum(seq + 1);
    }
    this.#scheduleFlush();
    return seq;
  }

  #sendAdmin(m: FixMessage): void {
    this.#sendSequenced(m, false);
  }

  /** Queues an already-numbered message (resends, gap fills) without touching the store. */
  #sendRaw(m: FixMessage): void {
    this.#encoder.append(m, this.#begin);
    this.#scheduleFlush();
  }

  #scheduleFlush(): void {
    if (this.#flushing) {
      // The running flush goes round once more for this change.
      this.#flushAgain = true;
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushTask);
  }

  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  async #flush(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    const store = this.#store;
    try {
      do {
        this.#flushAgain = false;
        while (this.#encoder.length > 0) {
          const bytes = this.#encoder.take();
          const waiters = this.#batchWaiters;
          const failers = this.#batchFailers;
          this.#batchWaiters = [];
          this.#batchFailers = [];
          this.#batch = undefined;
          try {
            // What sending depends on: the messages and the sender number.
            await (store.flushOutgoing ? store.flushOutgoing() : store.flush());
          } catch (e) {
            this.#storeFailed(e);
            for (const f of failers) f(e instanceof Error ? e : new Error(String(e)));
            return;
          }
          const conn = this.#conn;
          if (conn) {
            try {
              await conn.write(bytes);
              this.#lastSentAtMs = this.#clock.now();
            } catch (e) {
              // Persisted but not sent: the peer gets it by resend after reconnecting.
              this.#log.warn("write failed", { session: this.#id.toString(), error: `${e}` });
            }
          }
          for (const w of waiters) w();
        }
        // The rest (inbound numbers, the terminated marker) after the writes, and also when
        // nothing was sent: an inbound message that gets no answer is still recorded.
        try {
          await store.flush();
        } catch (e) {
          this.#storeFailed(e);
          return;
        }
      } while (this.#encoder.length > 0 || this.#flushAgain);
      // Waiters registered with nothing left to write (e.g. disconnect) are released too.
      const rest = this.#batchWaiters;
      this.#batchWaiters = [];
      this.#batchFailers = [];
      this.#batch = undefined;
      for (const w of rest) w();
    } finally {
      this.#flushing = false;
    }
  }

  #storeFailed(e: unknown): void {
    this.#log.error("store write failed; disconnecting", {
      session: this.#id.toString(),
      error: `${e}`,
    });
    this.#emit({ type: "error", atMs: this.#clock.now(), error: e });
    this.#closeReason ??= `store write failed: ${e}`;
    this.#conn?.close(this.#closeReason);
  }

  // ---------------------------------------------------------------------------------------------
  // Inbound

  #onFrame(frame: Uint8Array): Promise<void> | undefined {
    let msg: FixMessage;
    try {
      msg = decodeMessage(frame, this.#dataFields);
    } catch (e) {
      this.#garbled(e instanceof Error ? e : new Error(String(e)));
      return undefined;
    }
    this.#lastReceivedAtMs = this.#clock.now();
    this.#testRequestSentAtMs = -1;
    if (this.#s.logIncoming) this.#store.appendIncoming(frame);
    try {
      return this.#onMessage(msg);
    } catch (e) {
      this.#log.error("inbound message handling failed", {
        session: this.#id.toString(),
        error: `${e}`,
      });
      this.#emit({ type: "error", atMs: this.#clock.now(), error: e });
      return undefined;
    }
  }

  #onMessage(msg: FixMessage): Promise<void> | undefined {
    const msgType = msg.msgType;
    const awaitingLogon = this.#state === "waitingForLogon" ||
      this.#state === "waitingForConfirmLogon";
    if (this.#state === "waitingForConfirmLogon" && msgType === "5") {
      const text = msg.get(58);
      this.#log.warn("Logon rejected by the counterparty", {
        session: this.#id.toString(),
        text,
      });
      this.#emit({ type: "logout", atMs: this.#clock.now(), text, initiatedByUs: false });
      this.#closeReason ??= `Logon rejected${text ? `: ${text}` : ""}`;
      this.disconnect(this.#closeReason);
      return undefined;
    }
    if (awaitingLogon && msgType !== "A") {
      this.#log.warn("first message is not a Logon; disconnecting", {
        session: this.#id.toString(),
        msgType,
      });
      this.#fatal(`First message is not a Logon (MsgType ${msgType})`, false);
      return undefined;
    }
    // Until a Logon is accepted nothing it carries may change the store: refusals use an
    // unsequenced Logout (`#refuseLogon`).
    if (msg.get(8) !== this.#begin) {
      const text = `Incorrect BeginString: expected ${this.#begin}, received ${msg.get(8)}`;
      if (awaitingLogon) this.#refuseLogon(text);
      else this.#fatal(text);
      return undefined;
    }
    const seq = msg.intOr(34, Number.NaN);
    if (!(seq > 0)) {
      if (awaitingLogon) this.#refuseLogon("MsgSeqNum(34) is missing or invalid");
      else this.#fatal("MsgSeqNum(34) is missing or invalid");
      return undefined;
    }
    if (msg.get(49) !== this.#id.target || msg.get(56) !== this.#id.sender) {
      if (awaitingLogon) {
        // Not the counterparty we expect: no Logout at all, just the disconnect.
        this.#refuseLogon("CompID problem", false);
        return undefined;
      }
      this.#sendReject(msg, 9, msg.get(49) !== this.#id.target ? 49 : 56, "CompID problem");
      this.#fatal("CompID problem");
      return undefined;
    }
    if (msgType === "A") return this.#onLogon(msg, seq);
    if (msgType === "4" && msg.get(123) !== "Y") {
      this.#onSequenceReset(msg);
      return undefined;
    }
    if (!this.#checkSendingTime(msg)) return undefined;
    const expected = this.#store.state.nextTargetSeqNum;
    // Answered whatever its number, so validated here rather than in `#processExpected`; a
    // rejected one still takes its place in the sequence below.
    if (msgType === "2" && !this.#rejectInvalid(msg, false)) this.#onResendRequest(msg);
    if (seq > expected) {
      if (msgType === "5") {
        if (this.#weStartedLogout || this.#state !== "established") {
          // The confirming Logout: the session ends; the gap is requested on the next logon.
          this.#log.warn("Logout received with a sequence gap", { expected, received: seq });
          this.#onLogout(msg);
          return undefined;
        }
        // The peer logs out while we miss messages: request them first, answer the Logout once
        // they are in (or when the logout timeout ends the wait), as the session layer says.
        this.#log.warn("Logout received with a sequence gap; requesting the gap before answering", {
          session: this.#id.toString(),
          expected,
          received: seq,
        });
        this.#peerLogout = msg;
        this.#logoutDeadlineMs = this.#clock.now() + this.#s.logoutTimeoutMs;
        this.#armTimer();
      }
      this.#onGap(msg, expected, seq);
      return undefined;
    }
    if (seq < expected) {
      this.#onTooLow(msg, expected, seq);
      return undefined;
    }
    return this.#processInOrder(msg, msgType);
  }

  /** Processes the expected message, then any held messages that are now in order. */
  #processInOrder(msg: FixMessage, msgType: string): Promise<void> | undefined {
    const r = this.#processExpected(msg, msgType);
    if (r) return r.then(() => this.#drainEarly());
    return this.#drainEarly();
  }

  #drainEarly(): Promise<void> | undefined {
    while (this.#early.size > 0 && this.#conn) {
      const next = this.#store.state.nextTargetSeqNum;
      const held = this.#early.get(next);
      // Held messages below the expected number were covered by a gap fill.
      for (const k of this.#early.keys()) if (k < next) this.#early.delete(k);
      if (!held) break;
      this.#early.delete(next);
      const r = this.#processExpected(held, held.msgType);
      if (r) return r.then(() => this.#drainEarly());
    }
    const logout = this.#peerLogout;
    if (logout && this.#conn && this.#store.state.nextTargetSeqNum > logout.intOr(34, 0)) {
      // The gap before the peer's Logout is filled (its own number came as a gap fill).
      this.#onLogout(logout);
      return undefined;
    }
    this.#checkGapFilled();
    return undefined;
  }

  #checkGapFilled(): void {
    if (this.#resendTarget === 0) return;
    const next = this.#store.state.nextTargetSeqNum;
    if (next >= this.#resendTarget && this.#early.size === 0) {
      this.#resendTarget = 0;
      this.#resendRequestedUpTo = 0;
      return;
    }
    if (this.#resendRequestedUpTo !== 0 && next > this.#resendRequestedUpTo) {
      // Block-wise ResendRequests: ask for the next block.
      this.#sendResendRequest(next, this.#resendTarget - 1);
    }
  }

  #processExpected(msg: FixMessage, msgType: string): Promise<void> | undefined {
    const seq = msg.intOr(34, 0);
    if (msg.get(43) === "Y" && msgType !== "4") {
      const orig = msg.get(122);
      if (orig === undefined) {
        this.#advanceTarget(seq);
        this.#sendReject(msg, 1, 122, "Required tag missing: OrigSendingTime(122)");
        return undefined;
      }
      const o = parseUtcTimestamp(orig), s = parseUtcTimestamp(msg.get(52) ?? "");
      if (o && s && o.epochMs > s.epochMs) {
        this.#advanceTarget(seq);
        this.#sendReject(msg, 10, 122, "SendingTime accuracy problem: OrigSendingTime is later");
        return undefined;
      }
    }
    if ((msgType === "0" || msgType === "1") && this.#rejectInvalid(msg, true)) return undefined;
    switch (msgType) {
      case "0":
        this.#advanceTarget(seq);
        return undefined;
      case "1": {
        this.#advanceTarget(seq);
        const hb = new FixMessage("0");
        const id = msg.get(112);
        if (id !== undefined) hb.set(112, id);
        this.#sendAdmin(hb);
        return undefined;
      }
      case "2":
        this.#advanceTarget(seq);
        return undefined;
      case "3":
        this.#advanceTarget(seq);
        this.#log.warn("Reject received", {
          session: this.#id.toString(),
          refSeqNum: msg.get(45),
          text: msg.get(58),
        });
        this.#emit({ type: "rejectReceived", atMs: this.#clock.now(), message: msg });
        return undefined;
      case "4":
        this.#onGapFill(msg, seq);
        return undefined;
      case "5":
        this.#advanceTarget(seq);
        this.#onLogout(msg);
        return undefined;
      default:
        return this.#onApplication(msg, msgType, seq);
    }
  }

  #advanceTarget(seq: number): void {
    this.#store.setNextTargetSeqNum(seq + 1);
    this.#scheduleFlush();
  }

  #onApplication(msg: FixMessage, msgType: string, seq: number): Promise<void> | undefined {
    if (this.#state !== "established" && this.#state !== "waitingForConfirmLogout") {
      this.#advanceTarget(seq);
      return undefined;
    }
    if (this.#validate) {
      const problems = this.#validate(msg);
      if (problems.length > 0) {
        const p = problems[0];
        this.#advanceTarget(seq);
        if (p.reason === 11 && this.#verNum >= 42) {
          this.#sendBusinessReject(msg, 3, p.tag, p.text);
        } else this.#sendReject(msg, p.reason, p.tag, p.text);
        return undefined;
      }
    }
    if (this.#supports && !this.#supports(msgType, msg)) {
      this.#advanceTarget(seq);
      if (this.#verNum >= 42) {
        this.#sendBusinessReject(msg, 3, undefined, `Unsupported MsgType "${msgType}"`);
      } else this.#sendReject(msg, 11, 35, `Invalid MsgType "${msgType}"`);
      return undefined;
    }
    this.#advanceTarget(seq);
    const onMessage = this.#handler.onMessage;
    if (!onMessage) return undefined;
    let r: void | Promise<void>;
    try {
      r = onMessage(msg);
    } catch (e) {
      this.#handlerFailed(msg, e);
      return undefined;
    }
    if (r instanceof Promise) return r.catch((e) => this.#handlerFailed(msg, e));
    return undefined;
  }

  #handlerFailed(msg: FixMessage, e: unknown): void {
    if (e instanceof MessageRejectError) {
      this.#sendReject(msg, e.reason, e.refTagId, e.message);
    } else if (e instanceof BusinessRejectError) {
      if (this.#verNum >= 42) this.#sendBusinessReject(msg, e.reason, e.refTagId, e.message);
      else this.#sendReject(msg, 5, e.refTagId, e.message);
    } else {
      this.#log.error("application handler failed", {
        session: this.#id.toString(),
        error: `${e}`,
      });
      this.#emit({ type: "error", atMs: this.#clock.now(), error: e });
      // FIX.4.0 and FIX.4.1 have no BusinessMessageReject: their Reject(3) is the only way to
      // tell the counterparty the message was not processed.
      if (this.#verNum >= 42) {
        this.#sendBusinessReject(msg, 4, undefined, "Application not available");
      } else this.#sendReject(msg, 99, undefined, "Application not available");
    }
  }

  /**
   * Runs the `validate` hook on a session message; a problem gets a Reject and the message is
   * not acted on. Returns true when rejected.
   */
  #rejectInvalid(msg: FixMessage, advance: boolean): boolean {
    const p = this.#validate?.(msg)[0];
    if (p === undefined) return false;
    if (advance) this.#advanceTarget(msg.intOr(34, 0));
    this.#sendReject(msg, p.reason, p.tag, p.text);
    return true;
  }

  /** What is wrong with SendingTime(52), if anything: [SessionRejectReason, Text]. */
  #sendingTimeProblem(msg: FixMessage): [number, string] | undefined {
    if (!this.#s.checkSendingTimeAccuracy || msg.get(43) === "Y") return undefined;
    const t = parseUtcTimestamp(msg.get(52) ?? "");
    if (t === undefined) return [1, "SendingTime(52) is missing or invalid"];
    if (Math.abs(t.epochMs - this.#clock.now()) > this.#s.reasonableDelayMs) {
      return [10, "SendingTime accuracy problem"];
    }
    return undefined;
  }

  #checkSendingTime(msg: FixMessage): boolean {
    const problem = this.#sendingTimeProblem(msg);
    if (problem === undefined) return true;
    const [reason, text] = problem;
    this.#advanceIfExpected(msg);
    this.#sendReject(msg, reason, 52, text);
    if (reason === 10) this.#fatal(text);
    return false;
  }

  #advanceIfExpected(msg: FixMessage): void {
    const seq = msg.intOr(34, 0);
    if (seq === this.#store.state.nextTargetSeqNum) this.#advanceTarget(seq);
  }

  #onTooLow(msg: FixMessage, expected: number, seq: number): void {
    if (msg.get(43) === "Y" || this.#s.allowMessageWithoutPossDupFlag) {
      this.#log.debug("duplicate ignored", { session: this.#id.toString(), seq, expected });
      return;
    }
    this.#fatal(`MsgSeqNum too low, expecting ${expected} but received ${seq}`);
  }

  #onGap(msg: FixMessage, expected: number, seq: number): void {
    if (this.#early.size < this.#s.incomingQueueSize) this.#early.set(seq, msg);
    else {
      this.#log.warn("incoming queue full; message dropped until resent", { seq });
    }
    if (this.#resendTarget !== 0) {
      // A request is outstanding: never a second one for the same gap.
      if (seq + 1 > this.#resendTarget) this.#resendTarget = seq + 1;
      return;
    }
    this.#resendTarget = seq + 1;
    this.#emit({ type: "gapDetected", atMs: this.#clock.now(), expected, received: seq });
    this.#log.info("sequence gap detected", {
      session: this.#id.toString(),
      expected,
      received: seq,
    });
    this.#sendResendRequest(expected, seq - 1);
  }

  #sendResendRequest(from: number, knownTo: number): void {
    const block = this.#s.resendRequestBlockSize;
    let end = this.#verNum >= 42 ? 0 : 999999;
    if (block > 0) end = Math.min(from + block - 1, Math.max(knownTo, from));
    this.#resendRequestedUpTo = block > 0 ? end : 0;
    this.#sendAdmin(new FixMessage("2").set(7, from).set(16, end));
  }

  // ---------------------------------------------------------------------------------------------
  // Logon and logout

  async #onLogon(msg: FixMessage, seq: number): Promise<void> {
    if (this.#state === "established") return this.#onLogonWhileEstablished(msg, seq);
    if (this.#state !== "waitingForLogon" && this.#state !== "waitingForConfirmLogon") {
      this.#log.warn("Logon received while logging out; ignored", { seq });
      this.#advanceIfExpected(msg);
      return;
    }
    const conn = this.#conn;
    const acceptor = this.#role === "acceptor";
    // Credentials first: until they pass, nothing the Logon carries reaches the store. Every
    // refusal below is an unsequenced Logout, so a refused Logon never changes the store.
    const refusal = this.#logonRefusal(msg);
    if (refusal !== undefined) {
      this.#refuseLogon(refusal);
      return;
    }
    const hb = msg.intOr(108, Number.NaN);
    if (!(hb >= 0) || !Number.isInteger(hb)) {
      this.#refuseLogon("Invalid HeartBtInt(108)", acceptor);
      return;
    }
    const timeProblem = this.#sendingTimeProblem(msg);
    if (timeProblem !== undefined) {
      this.#refuseLogon(timeProblem[1]);
      return;
    }
    const peerReset = msg.get(141) === "Y";
    if (peerReset && seq !== 1) {
      this.#refuseLogon(`Logon with ResetSeqNumFlag must have MsgSeqNum 1, received ${seq}`);
      return;
    }
    const force = this.#s.forceSeqNumReset;
    const resetNow = acceptor &&
      (peerReset || force === "always" || (force === "first" && this.#logonCount === 0));
    const targetReset = !acceptor && peerReset && !this.#sentResetFlag;
    const expected = resetNow || targetReset ? 1 : this.#store.state.nextTargetSeqNum;
    if (seq < expected && !this.#s.ignoreSeqNumTooLowAtLogon) {
      this.#refuseLogon(`MsgSeqNum too low, expecting ${expected} but received ${seq}`);
      return;
    }
    // Accepted.
    this.#peerApplVerId = this.#begin === "FIXT.1.1" ? msg.get(1137) : undefined;
    if (acceptor) {
      this.#hbMs = hb * 1000;
      if (resetNow) {
        await this.#resetStore();
        if (this.#conn !== conn) return;
      }
      this.#sentResetFlag = resetNow;
    } else if (this.#sentResetFlag && !peerReset) {
      this.#log.warn("Logon answer lacks ResetSeqNumFlag(141)=Y", { seq });
    } else if (targetReset) {
      // An unrequested ResetSeqNumFlag in the answer: the peer's numbers start again at 1.
      this.#store.setNextTargetSeqNum(1);
    }
    this.#logonCount++;
    this.#store.setCorrectlyTerminated(false);
    const lastSentBeforeLogon = this.#store.state.nextSenderSeqNum - 1;
    if (acceptor) {
      const answer = new FixMessage("A").set(98, "0").set(108, hb);
      if (this.#sentResetFlag) answer.set(141, "Y");
      if (this.#begin === "FIXT.1.1") answer.set(1137, this.#s.defaultApplVerId);
      if (this.#s.enableNextExpectedMsgSeqNum && this.#verNum >= 44) {
        answer.set(789, seq === expected ? expected + 1 : expected);
      }
      this.#sendAdmin(answer);
    }
    this.#logonDeadlineMs = -1;
    const next789 = msg.intOr(789, 0);
    this.setState("established");
    this.#emit({
      type: "logon",
      atMs: this.#clock.now(),
      reset: peerReset || this.#sentResetFlag,
    });
    if (seq > expected) {
      this.#onGap(msg, expected, seq);
      // The Logon itself is processed: it is removed from the held messages.
      this.#early.delete(seq);
      this.#resendTarget = seq;
    } else if (seq === expected) {
      this.#advanceTarget(seq);
    }
    if (this.#s.enableNextExpectedMsgSeqNum && this.#verNum >= 44 && next789 > 0) {
      const last = acceptor ? lastSentBeforeLogon : lastSentBeforeLogon - 1;
      if (next789 <= last) {
        this.#log.info("peer missed messages (NextExpectedMsgSeqNum); resending", {
          from: next789,
          to: last,
        });
        this.#answerResend(next789, last);
      }
    }
    if (peerReset || this.#sentResetFlag) this.#sendAfterReset();
    else this.#sendHeld();
    this.#armTimer();
  }

  /**
   * A Logon while established: with ResetSeqNumFlag(141)=Y and MsgSeqNum 1 it resets both
   * sides' numbers, either answering the reset we started or starting one by the peer.
   */
  async #onLogonWhileEstablished(msg: FixMessage, seq: number): Promise<void> {
    if (msg.get(141) !== "Y") {
      this.#log.warn("Logon received while established; ignored", { seq });
      this.#advanceIfExpected(msg);
      return;
    }
    if (seq !== 1) {
      this.#fatal(`Logon with ResetSeqNumFlag must have MsgSeqNum 1, received ${seq}`);
      return;
    }
    if (this.#resetPending) {
      // The answer to `resetSequences`: our store is reset already; the peer's numbers too now.
      this.#resetPending = false;
      this.#logonDeadlineMs = -1;
      this.#clearInboundGap();
      this.#store.setNextTargetSeqNum(2);
      this.#scheduleFlush();
      this.#emit({ type: "logon", atMs: this.#clock.now(), reset: true });
      const waiters = this.#resetWaiters;
      this.#resetWaiters = [];
      for (const w of waiters) w.resolve();
      this.#armTimer();
      return;
    }
    // The peer resets: checked like a first Logon, refused with a numbered Logout (the session
    // is established) and before anything is reset.
    const refusal = this.#logonRefusal(msg);
    if (refusal !== undefined) {
      this.#fatal(refusal);
      return;
    }
    this.#log.info("sequence reset by Logon while established", {
      session: this.#id.toString(),
    });
    const conn = this.#conn;
    await this.#resetStore();
    if (this.#conn !== conn) return;
    this.#clearInboundGap();
    this.#store.setNextTargetSeqNum(seq + 1);
    const answer = this.#resetLogon(false);
    if (answer.has(789)) answer.set(789, seq + 1);
    this.#sendAdmin(answer);
    this.#sentResetFlag = true;
    this.#emit({ type: "logon", atMs: this.#clock.now(), reset: true });
    this.#sendAfterReset();
    // A `resetSequences` called while this reset was under way is satisfied by it.
    const waiters = this.#resetWaiters;
    this.#resetWaiters = [];
    for (const w of waiters) w.resolve();
  }

  /** A Logon with ResetSeqNumFlag(141)=Y for a reset while established (ours or an answer). */
  #resetLogon(ours: boolean): FixMessage {
    const logon = new FixMessage("A").set(98, "0").set(108, this.#hbMs / 1000).set(141, "Y");
    if (ours && this.#role === "initiator") this.#addCredentials(logon);
    if (this.#begin === "FIXT.1.1") logon.set(1137, this.#s.defaultApplVerId);
    if (this.#s.enableNextExpectedMsgSeqNum && this.#verNum >= 44) logon.set(789, 1);
    return logon;
  }

  /** After a reset Logon: late messages (older) get new numbers, then messages held meanwhile. */
  #sendAfterReset(): void {
    const heldDuringReset = this.#held;
    this.#held = [];
    if (this.#late.size > 0) this.resequenceLateMessages();
    this.#held.push(...heldDuringReset);
    this.#sendHeld();
  }

  /**
   * Resets both sides' sequence numbers while established: clears our store, sends a Logon
   * with ResetSeqNumFlag(141)=Y and MsgSeqNum 1, and waits for the counterparty's Logon with
   * ResetSeqNumFlag=Y. Until that arrives, the counterparty's messages keep their old numbers;
   * ours already use the new ones. When no answer comes within `logonTimeoutMs` the session
   * ends with a Logout.
   *
   * @param options Abort signal for the wait (the reset itself is not undone).
   * @returns Resolves when the counterparty has confirmed the reset.
   * @throws {Error} When the session is not established, or the connection ends first.
   * @throws The signal's reason when aborted.
   * @example
   * ```ts ignore
   * await session.resetSequences({ signal: AbortSignal.timeout(10_000) });
   * session.nextSenderSeqNum; // 2
   * ```
   */
  async resetSequences(options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const conn = this.#conn;
    if (!conn || this.#state !== "established") {
      throw new Error(
        `Cannot reset sequence numbers: session "${this.#id}" is not established`,
      );
    }
    const confirmed = new Promise<void>((resolve, reject) => {
      this.#resetWaiters.push({ resolve, reject });
    });
    confirmed.catch(() => {}); // settled at disconnect even when nobody awaits it any more
    if (!this.#resetPending && !this.#resetting) {
      this.#resetPending = true;
      const target = this.#store.state.nextTargetSeqNum;
      try {
        await this.#resetStore();
      } catch (e) {
        this.#storeFailed(e);
        throw e;
      }
      if (this.#conn === conn && this.#resetPending) {
        // The peer's numbers change only when its reset Logon arrives.
        this.#store.setNextTargetSeqNum(target);
        this.#sendAdmin(this.#resetLogon(true));
        this.#sentResetFlag = true;
        this.#logonDeadlineMs = this.#clock.now() + this.#s.logonTimeoutMs;
        this.#armTimer();
        this.#sendAfterReset();
      }
    }
    const signal = options.signal;
    if (!signal) return confirmed;
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([confirmed, aborted]);
    } finally {
      signal.removeEventListener("abort", onAbort!);
    }
  }

  #checkCredentials(msg: FixMessage): string | undefined {
    return credentialRefusal(this.#s, msg) ?? this.#handler.authenticate?.(msg);
  }

  /**
   * Why a Logon is refused before anything else is looked at: credentials first (an acceptor
   * checks them), then the dictionary. The caller picks the reaction (unsequenced Logout
   * before logon, numbered Logout once established).
   */
  #logonRefusal(msg: FixMessage): string | undefined {
    if (this.#role === "acceptor") {
      const refusal = this.#checkCredentials(msg);
      if (refusal !== undefined) return refusal;
    }
    return this.#validate?.(msg)[0]?.text;
  }

  /** Refuses a Logon not yet accepted: an unsequenced Logout and a disconnect. */
  #refuseLogon(text: string, sendLogout = true): void {
    this.#log.warn("Logon refused", { session: this.#id.toString(), reason: text });
    this.#closeReason ??= text;
    if (sendLogout) this.#sendUnsequencedLogout(text);
    this.disconnect(text);
  }

  #sendUnsequencedLogout(text: string): void {
    const m = new FixMessage("5").set(58, text);
    this.#stampHeader(m, this.#store.state.nextSenderSeqNum);
    this.#sendRaw(m);
  }

  #onLogout(msg: FixMessage): void {
    this.#peerLogout = undefined;
    const text = msg.get(58);
    const byUs = this.#weStartedLogout;
    if (!byUs) {
      this.#sendLogout();
    }
    this.#logoutDeadlineMs = -1;
    this.#store.setCorrectlyTerminated(true);
    this.setState("correctlyTerminated");
    this.#emit({
      type: "logout",
      atMs: this.#clock.now(),
      text,
      initiatedByUs: byUs,
    });
    this.disconnect(byUs ? "logout confirmed" : `logout by peer${text ? `: ${text}` : ""}`);
  }

  // ---------------------------------------------------------------------------------------------
  // Sequence resets

  #onSequenceReset(msg: FixMessage): void {
    const newSeq = msg.intOr(36, Number.NaN);
    const expected = this.#store.state.nextTargetSeqNum;
    if (!(newSeq > 0)) {
      this.#sendReject(msg, 1, 36, "NewSeqNo(36) is missing or invalid");
      return;
    }
    if (newSeq > expected) {
      this.#log.info("sequence reset", {
        session: this.#id.toString(),
        from: expected,
        to: newSeq,
      });
      this.#store.setNextTargetSeqNum(newSeq);
      this.#scheduleFlush();
      this.#drainEarly();
    } else if (newSeq === expected) {
      this.#log.info("SequenceReset to the expected number; nothing to do", { newSeq });
    } else {
      this.#sendReject(
        msg,
        5,
        36,
        `Value is incorrect (out of range) for this tag: NewSeqNo ${newSeq} < expected ${expected}`,
      );
    }
  }

  #onGapFill(msg: FixMessage, seq: number): void {
    const newSeq = msg.intOr(36, Number.NaN);
    if (!(newSeq > seq)) {
      this.#advanceTarget(seq);
      this.#sendReject(
        msg,
        5,
        36,
        `Value is incorrect (out of range) for this tag: NewSeqNo ${newSeq}`,
      );
      return;
    }
    this.#store.setNextTargetSeqNum(newSeq);
    this.#scheduleFlush();
  }

  // ---------------------------------------------------------------------------------------------
  // Answering ResendRequests

  #onResendRequest(msg: FixMessage): void {
    const begin = msg.intOr(7, Number.NaN);
    const end = msg.intOr(16, Number.NaN);
    if (!(begin > 0) || !(end >= 0) || (end !== 0 && end < begin)) {
      this.#sendReject(msg, 5, Number.isNaN(begin) ? 7 : 16, "Invalid ResendRequest range");
      return;
    }
    const key = `${begin}-${end}`;
    if (key === this.#lastResendKey) {
      this.#duplicateResendCount++;
      if (this.#duplicateResendCount > this.#s.duplicateResendRequestLimit) {
        this.#log.warn("duplicate ResendRequest ignored", { begin, end });
        return;
      }
    } else {
      this.#lastResendKey = key;
      this.#duplicateResendCount = 1;
    }
    this.#answerResend(begin, end);
  }

  #answerResend(begin: number, end: number): void {
    const lastSent = this.#store.state.nextSenderSeqNum - 1;
    let last = end === 0 || (end >= 999999 && this.#verNum < 42) || end > lastSent ? lastSent : end;
    const limit = this.#s.resendMessagesLimit;
    if (limit > 0 && last - begin + 1 > limit) {
      this.#log.warn("ResendRequest capped", { begin, end: last, limit });
      last = begin + limit - 1;
    }
    if (begin > lastSent) {
      this.#log.warn("ResendRequest for messages not sent yet", { begin, lastSent });
      return;
    }
    this.#resendChain = this.#resendChain.then(() => this.#resend(begin, last)).catch((e) => {
      this.#log.error("resend failed", { session: this.#id.toString(), error: `${e}` });
      this.#emit({ type: "error", atMs: this.#clock.now(), error: e });
    });
  }

  #resendChain: Promise<void> = Promise.resolve();

  /**
   * Resends `begin..last` from the store. With `resendMessagesBlockSize` N > 0 the answer goes
   * out in blocks of N resent messages (with the gap fills between them): each block is handed
   * to the connection in one write, and the next block is read from the store only once that
   * write was accepted. With 0 messages are queued as they are read.
   */
  async #resend(begin: number, last: number): Promise<void> {
    const conn = this.#conn;
    let gapStart = -1;
    let resent = 0;
    let next = begin;
    let inBlock = 0;
    const block = this.#s.resendMessagesBlockSize;
    let pending: FixMessage[] = [];
    let pendingLate: LateMessage[] = [];
    const out = (m: FixMessage) => {
      if (block > 0) pending.push(m);
      else this.#sendRaw(m);
    };
    const waitFor = (late: LateMessage) => {
      if (block > 0) pendingLate.push(late);
      else {
        this.#batchWaiters.push(late.resolve);
        this.#batchFailers.push(late.reject);
      }
    };
    const sendBlock = () => {
      for (const m of pending) this.#encoder.append(m, this.#begin);
      for (const l of pendingLate) {
        this.#batchWaiters.push(l.resolve);
        this.#batchFailers.push(l.reject);
      }
      pending = [];
      pendingLate = [];
      this.#scheduleFlush();
      return this.#whenWritten();
    };
    const fill = (upTo: number) => {
      if (gapStart < 0) return;
      out(this.#gapFill(gapStart, upTo));
      gapStart = -1;
    };
    for await (const stored of this.#store.readOutgoing(begin, last)) {
      if (this.#conn !== conn) return;
      if (stored.seqNum > next && gapStart < 0) gapStart = next;
      let original: FixMessage;
      try {
        original = decodeMessage(stored.bytes, this.#dataFields);
      } catch {
        if (gapStart < 0) gapStart = stored.seqNum;
        next = stored.seqNum + 1;
        continue;
      }
      const type = original.msgType;
      const late = this.#late.get(stored.seqNum);
      if (late) {
        this.#late.delete(stored.seqNum);
        this.#lateBytes -= late.bytes;
      }
      if (late && this.#expireLate(stored.seqNum, late)) {
        if (gapStart < 0) gapStart = stored.seqNum;
        next = stored.seqNum + 1;
        continue;
      }
      if (late) waitFor(late);
      if (isAdminMsgType(type) || this.#handler.onResend?.(original) === false) {
        if (gapStart < 0) gapStart = stored.seqNum;
        next = stored.seqNum + 1;
        continue;
      }
      fill(stored.seqNum);
      const orig = original.get(52);
      original.set(43, "Y");
      if (orig !== undefined) original.set(122, orig);
      original.set(52, formatUtcTimestamp(this.#clock.now(), this.#s.timestampPrecision));
      out(original);
      resent++;
      next = stored.seqNum + 1;
      if (block > 0 && ++inBlock >= block) {
        inBlock = 0;
        await sendBlock();
        if (this.#conn !== conn) return;
      }
    }
    if (this.#conn !== conn) return;
    if (next <= last && gapStart < 0) gapStart = next;
    fill(last + 1);
    if (block > 0) sendBlock();
    this.#emit({
      type: "resendAnswered",
      atMs: this.#clock.now(),
      begin,
      end: last,
      resent,
    });
    await this.#whenWritten();
  }

  /** A SequenceReset-GapFill numbered `from`, moving the peer to `newSeqNo`. */
  #gapFill(from: number, newSeqNo: number): FixMessage {
    const m = new FixMessage("4").set(123, "Y").set(36, newSeqNo);
    this.#stampHeader(m, from);
    m.set(43, "Y").set(122, m.get(52)!);
    return m;
  }

  // ---------------------------------------------------------------------------------------------
  // Rejects

  #sendReject(ref: FixMessage, reason: number, tag: number | undefined, text: string): void {
    const refSeq = ref.intOr(34, 0);
    const m = new FixMessage("3").set(45, refSeq);
    if (this.#verNum >= 42) {
      if (tag !== undefined) m.set(371, tag);
      const t = ref.get(35);
      if (t) m.set(372, t);
      m.set(373, reason);
    }
    m.set(58, text);
    this.#log.warn("Reject sent", {
      session: this.#id.toString(),
      refSeqNum: refSeq,
      reason,
      text,
    });
    this.#emit({
      type: "rejectSent",
      atMs: this.#clock.now(),
      refSeqNum: refSeq,
      reason,
      text,
    });
    this.#sendAdmin(m);
  }

  #sendBusinessReject(
    ref: FixMessage,
    reason: number,
    tag: number | undefined,
    text: string,
  ): void {
    const m = new FixMessage("j").set(45, ref.intOr(34, 0)).set(372, ref.msgType).set(380, reason);
    if (tag !== undefined) m.set(371, tag);
    m.set(58, text);
    this.#log.warn("BusinessMessageReject sent", { session: this.#id.toString(), reason, text });
    this.#sendSequenced(m, true);
  }

  // ---------------------------------------------------------------------------------------------
  // Timers: one per session, re-armed lazily when it fires.

  #dueAtMs(): number {
    let due = Number.POSITIVE_INFINITY;
    if (this.#logonDeadlineMs >= 0) due = Math.min(due, this.#logonDeadlineMs);
    if (this.#logoutDeadlineMs >= 0) due = Math.min(due, this.#logoutDeadlineMs);
    if (this.#state === "established" && this.#hbMs > 0) {
      due = Math.min(due, this.#lastSentAtMs + this.#hbMs);
      const grace = this.#hbMs * (1 + this.#s.reasonableTransmissionTimePercent / 100);
      due = Math.min(
        due,
        this.#testRequestSentAtMs >= 0
          ? this.#testRequestSentAtMs + grace
          : this.#lastReceivedAtMs + grace,
      );
    }
    return due;
  }

  #armTimer(): void {
    if (!this.#conn) return;
    const due = this.#dueAtMs();
    if (due === Number.POSITIVE_INFINITY) return;
    if (this.#timer && this.#timerAtMs <= due) return;
    this.#timer?.cancel();
    this.#timerAtMs = due;
    this.#timer = this.#clock.setTimer(due, this.#onTimer);
  }

  #cancelTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAtMs = -1;
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAtMs = -1;
    try {
      this.#tick(this.#clock.now());
    } catch (e) {
      this.#log.error("session timer failed", { session: this.#id.toString(), error: `${e}` });
    }
    this.#armTimer();
  };

  #tick(now: number): void {
    if (!this.#conn) return;
    if (this.#logonDeadlineMs >= 0 && now >= this.#logonDeadlineMs) {
      this.#logonDeadlineMs = -1;
      if (this.#resetPending) {
        // Established: the numbered Logout tells the peer why the session ends.
        this.#fatal("Logon timeout: sequence reset not confirmed");
        return;
      }
      this.#fatal("Logon timeout", false);
      return;
    }
    if (this.#logoutDeadlineMs >= 0 && now >= this.#logoutDeadlineMs) {
      this.#logoutDeadlineMs = -1;
      const logout = this.#peerLogout;
      if (logout) {
        this.#log.warn("gap before the peer's Logout not filled in time; answering it", {
          session: this.#id.toString(),
          expected: this.#store.state.nextTargetSeqNum,
        });
        this.#onLogout(logout);
        return;
      }
      this.#closeReason ??= "Logout timeout";
      this.disconnect("Logout timeout");
      return;
    }
    if (this.#state !== "established" || this.#hbMs === 0) return;
    const grace = this.#hbMs * (1 + this.#s.reasonableTransmissionTimePercent / 100);
    if (this.#testRequestSentAtMs >= 0) {
      if (now >= this.#testRequestSentAtMs + grace) {
        this.#testRequestSentAtMs = -1;
        this.#fatal(
          "Heartbeat timeout: no answer to TestRequest",
          this.#s.logoutOnHeartbeatTimeout,
        );
        return;
      }
    } else if (now >= this.#lastReceivedAtMs + grace) {
      const id = `TEST-${++this.#testReqCounter}-${now}`;
      this.#sendAdmin(new FixMessage("1").set(112, id));
      this.#testRequestSentAtMs = now;
      this.#lastSentAtMs = now;
      return;
    }
    if (now >= this.#lastSentAtMs + this.#hbMs) {
      this.#sendAdmin(new FixMessage("0"));
      this.#lastSentAtMs = now;
    }
  }

  /**
   * Formats a message for logs with this session's settings (passwords masked).
   *
   * @param m The message.
   * @returns The text.
   */
  describe(m: FixMessage): string {
    return formatMessage(m);
  }
}

function closedReason(conn: Connection): Promise<string> {
  conn.close("read loop ended");
  return conn.closed;
}
