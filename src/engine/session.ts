/**
 * The public session handle: connect as initiator or acceptor, send, observe, disconnect,
 * reset, finalize.
 *
 * @module
 */

import type { Clock } from "../clock.ts";
import type { SessionSettings } from "../config/settings.ts";
import type { Logger } from "../logger.ts";
import type { FixMessage } from "../message/fix_message.ts";
import type { SessionId } from "../session_id.ts";
import type { SessionEvent, SessionState } from "../session/events.ts";
import type { SessionRole } from "../session/core.ts";
import type { SeqStore } from "../store.ts";
import { parseWeekday, SessionSchedule } from "../schedule.ts";
import {
  type FirstMessage,
  type Link,
  newMetrics,
  type RecentMessage,
  type SessionMetrics,
} from "./link.ts";
import type { Connection, Endpoint, Transport } from "../transport.ts";
import type { SessionListener } from "../sessions_manager.ts";
import type { FIXVersion } from "./fix_version.ts";

/** What a session needs from its engine. Internal. */
export interface SessionContext {
  clock: Clock;
  logger: Logger;
  transport: Transport;
  openStore(id: SessionId, settings: Readonly<SessionSettings>): Promise<SeqStore>;
  makeLink(
    session: Session,
    store: SeqStore,
    role: SessionRole,
    settings: SessionSettings,
  ): Promise<Link>;
  registerAcceptor(session: Session): Promise<void>;
  /** Hands the engine what only it may call. */
  bind(session: Session, internals: SessionInternals): void;
  forget(session: Session): void;
}

/** What only the engine calls on a session. Internal. */
export interface SessionInternals {
  /** Links an accepted connection whose Logon was routed to the session. */
  accept(conn: Connection, first: FirstMessage): Promise<void>;
  /** Graceful logout if established, then finalize (`FixEngine.stop`). */
  stop(): Promise<void>;
}

const ZERO_METRICS: Readonly<SessionMetrics> = Object.freeze(newMetrics());

/** Options of an initiator's `connect`. */
export interface InitiatorOptions {
  /** A backup address to switch to when the primary fails. */
  backup?: Endpoint;
}

/**
 * One FIX session, created by `FixEngine.createSession`.
 *
 * @example
 * ```ts ignore
 * const session = engine.createSession(new SessionId("TEST1", "TEST2"), "FIX44", FIXVersion.FIX44);
 * session.connect(30, "127.0.0.1", 8901);
 * await session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
 * await session.put(order);
 * await session.disconnect("end of day");
 * await session.finalize();
 * ```
 */
export class Session implements AsyncDisposable {
  readonly #id: SessionId;
  readonly #version: FIXVersion;
  readonly #settings: SessionSettings;
  readonly #ctx: SessionContext;
  readonly #schedule: SessionSchedule | undefined;
  #listener: SessionListener;
  #role: SessionRole | undefined;
  #core: Link | undefined;
  /** The role the core is built for (set when building starts; `#role` is set by `connect`). */
  #coreRole: SessionRole | undefined;
  /** Called synchronously when the core exists (or with `undefined` when finalized first). */
  #coreWaiters: ((core: Link | undefined) => void)[] = [];
  #store: SeqStore | undefined;
  #storeReady: Promise<SeqStore> | undefined;
  #ready: Promise<Link> | undefined;
  #finalized = false;
  #stopInitiator = false;
  #initiatorLoop: Promise<void> | undefined;
  #abort = new AbortController();
  #wakeUp: (() => void) | undefined;

  /**
   * Creates a session handle; use `FixEngine.createSession`.
   *
   * @param id The session id.
   * @param version The FIX version.
   * @param settings Resolved settings.
   * @param ctx Engine services.
   * @param listener Application callbacks.
   */
  constructor(
    id: SessionId,
    version: FIXVersion,
    settings: SessionSettings,
    ctx: SessionContext,
    listener: SessionListener = {},
  ) {
    this.#id = id;
    this.#version = version;
    this.#settings = settings;
    this.#ctx = ctx;
    this.#listener = listener;
    this.#schedule = scheduleOf(settings);
    ctx.bind(this, {
      accept: (conn, first) => this.#acceptConnection(conn, first),
      stop: () => this.#stopForEngine(),
    });
  }

  /** The session id. */
  get id(): SessionId {
    return this.#id;
  }

  /** The FIX version. */
  get version(): FIXVersion {
    return this.#version;
  }

  /** The resolved settings (read-only view). */
  get settings(): Readonly<SessionSettings> {
    return this.#settings;
  }

  /** The session time (`StartTime`, `EndTime`...), or `undefined` when always in session. */
  get schedule(): SessionSchedule | undefined {
    return this.#schedule;
  }

  /** The application callbacks. */
  get listener(): SessionListener {
    return this.#listener;
  }

  /**
   * The session's counters: messages and bytes in and out, resends, rejects, timer lateness,
   * store write time. All zero before `connect`.
   */
  get metrics(): Readonly<SessionMetrics> {
    return this.#core?.metrics ?? ZERO_METRICS;
  }

  /** Bytes queued for the connection and not yet written. */
  get outgoingBytes(): number {
    return this.#core?.outgoingBytes ?? 0;
  }

  /**
   * The last messages received and sent, oldest first (kept when the engine's admin endpoint
   * is configured, `Admin.RecentMessages` per session).
   *
   * @returns The messages.
   */
  recentMessages(): RecentMessage[] {
    return this.#core?.recentMessages() ?? [];
  }

  /** Initiator, acceptor, or `undefined` before `connect`. */
  get role(): SessionRole | undefined {
    return this.#role;
  }

  /** The current state. */
  get state(): SessionState {
    return this.#core?.state ?? "initial";
  }

  /** The next outgoing MsgSeqNum (once the store is open), else `NaN`. */
  get nextSenderSeqNum(): number {
    return this.#core?.nextSenderSeqNum ?? this.#store?.state.nextSenderSeqNum ?? Number.NaN;
  }

  /** The next expected inbound MsgSeqNum (once the store is open), else `NaN`. */
  get nextTargetSeqNum(): number {
    return this.#core?.nextTargetSeqNum ?? this.#store?.state.nextTargetSeqNum ?? Number.NaN;
  }

  /**
   * Whether the session is marked correctly terminated: its last Logout exchange ended with
   * nothing left over (no gap, everything written, nothing unhandled after it, and after our
   * answer to the peer's Logout, the peer's orderly close). An initiator's next Logon then resets
   * the numbers, unless `IntradayLogoutTolerance=true`. `false` once the numbers must continue;
   * the `correctlyTerminated` state only says that the Logout exchange completed.
   */
  get correctlyTerminated(): boolean {
    return this.#core?.core.correctlyTerminated ?? this.#store?.state.correctlyTerminated ?? false;
  }

  /** HeartBtInt(108) in use: the negotiated one once logged on, else the configured one. */
  get heartbeatIntervalSeconds(): number {
    return this.#core?.heartbeatIntervalSeconds ?? this.#settings.heartbeatIntervalSeconds;
  }

  /** Whether `finalize` was called. */
  get finalized(): boolean {
    return this.#finalized;
  }

  /**
   * Sets the application callbacks (before `connect`).
   *
   * @param listener The callbacks.
   */
  setListener(listener: SessionListener): void {
    this.#assertUsable("set listener");
    this.#listener = listener;
  }

  #assertUsable(action: string): void {
    if (this.#finalized) {
      throw new Error(`Cannot ${action}: session "${this.#id}" is finalized`);
    }
  }

  #prepare(role: SessionRole): Promise<Link> {
    if (this.#role !== undefined && this.#role !== role) {
      throw new Error(`Cannot connect as ${role}: session "${this.#id}" is an ${this.#role}`);
    }
    if (this.#coreRole !== undefined && this.#coreRole !== role) {
      throw new Error(
        `Cannot connect as ${role}: session "${this.#id}" queued messages as an ${this.#coreRole} before connect`,
      );
    }
    this.#role = role;
    this.#ready ??= this.#open(role);
    return this.#ready;
  }

  /**
   * Starts the session. With no arguments it registers an acceptor: the engine listens and links
   * the counterparty's Logon to it. With a host and port it starts an initiator in the
   * background: connect, Logon, wait for the confirming Logon, and reconnect after failures
   * (`Reconnect.Interval`, `Reconnect.MaxTries`). Without a heartbeat interval, the
   * configured `HeartbeatInterval` is sent.
   *
   * @param heartbeatSeconds HeartBtInt(108) (initiators); default `HeartbeatInterval`.
   * @param host The counterparty's host (initiators).
   * @param port The counterparty's port (initiators).
   * @param options A backup address.
   * @returns Resolves when the acceptor is listening, or at once for an initiator.
   * @throws {Error} When finalized or already connected.
   */
  async connect(
    heartbeatSeconds?: number,
    host?: string,
    port?: number,
    options: InitiatorOptions = {},
  ): Promise<void> {
    this.#assertUsable("connect");
    if (heartbeatSeconds === undefined && host === undefined && port === undefined) {
      const link = await this.#prepare("acceptor");
      if (!link.hasConnection) link.started();
      await this.#ctx.registerAcceptor(this);
      return;
    }
    if (host === undefined || port === undefined) {
      throw new TypeError("Cannot connect initiator: host and port are required");
    }
    if (this.#initiatorLoop) {
      throw new Error(`Cannot connect: session "${this.#id}" is already connecting`);
    }
    const link = await this.#prepare("initiator");
    link.core.setHeartbeatInterval(heartbeatSeconds ?? this.#settings.heartbeatIntervalSeconds);
    this.#stopInitiator = false;
    const primary = { host, port };
    const backup = options.backup ??
      (this.#settings.backupHost !== undefined && this.#settings.backupPort !== undefined
        ? { host: this.#settings.backupHost, port: this.#settings.backupPort }
        : undefined);
    this.#initiatorLoop = this.#runInitiator(link, primary, backup).catch((e) => {
      // Nothing escapes the loop: a failure is an error event, and the session stays usable.
      link.failed(e);
    }).finally(() => {
      this.#initiatorLoop = undefined;
    });
  }

  async #runInitiator(link: Link, primary: Endpoint, backup?: Endpoint): Promise<void> {
    const log = this.#ctx.logger;
    const maxTries = this.#settings.reconnectMaxTries;
    let failures = 0;
    let useBackup = false;
    link.started();
    while (!this.#stopInitiator && !this.#finalized) {
      const schedule = this.#schedule;
      const now = this.#ctx.clock.now();
      if (schedule !== undefined && !schedule.isInSession(now)) {
        // Outside the session time: connect when it starts.
        const startMs = schedule.nextStartMs(now) ?? now;
        log.info("outside the session time; connecting when it starts", {
          session: this.#id.toString(),
          startsAt: new Date(startMs).toISOString(),
        });
        await this.#pause(startMs - now);
        continue;
      }
      const endpoint = useBackup && backup ? backup : primary;
      let conn: Connection | undefined;
      try {
        conn = await this.#ctx.transport.connect(endpoint, { signal: this.#abort.signal });
      } catch (e) {
        log.warn("initiator connect failed", {
          session: this.#id.toString(),
          endpoint: `${endpoint.host}:${endpoint.port}`,
          error: `${e}`,
        });
      }
      if (this.#stopInitiator || this.#finalized) {
        conn?.close("session stopped");
        break;
      }
      let established = false;
      if (conn) {
        const sub = link.events();
        const watch = (async () => {
          for await (const ev of sub) {
            if (ev.type === "logon") {
              established = true;
              break;
            }
          }
        })();
        await link.attach(conn);
        await sub.return?.();
        await watch;
        if (link.state === "correctlyTerminated") {
          // Logged out: by us or the peer (the end), or by the schedule (until its next start).
          if (this.#schedule === undefined || this.#stopInitiator) break;
          failures = 0;
          if (this.#schedule.isInSession(this.#ctx.clock.now())) {
            await this.#pause(this.#settings.reconnectIntervalMs);
          }
          continue;
        }
      }
      if (established) failures = 0;
      failures++;
      if (backup && this.#settings.autoSwitchToBackup) {
        const next: boolean = this.#settings.cyclicSwitchBackup ? !useBackup : true;
        if (next !== useBackup) {
          const to = next ? backup : primary;
          log.info("initiator switches address", {
            session: this.#id.toString(),
            endpoint: `${to.host}:${to.port}`,
          });
        }
        useBackup = next;
      }
      if (maxTries >= 0 && failures > maxTries) {
        link.gaveUp(failures);
        break;
      }
      if (this.#stopInitiator || this.#finalized) break;
      link.reconnecting();
      await this.#pause(this.#settings.reconnectIntervalMs);
    }
  }

  #pause(ms: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const timer = this.#ctx.clock.setTimer(this.#ctx.clock.now() + ms, () => {
        this.#wakeUp = undefined;
        resolve();
      });
      this.#wakeUp = () => {
        timer.cancel();
        this.#wakeUp = undefined;
        resolve();
      };
    });
  }

  /** Links an accepted connection whose Logon was routed here; the link admits the Logon. */
  /**
   * Resolves once the connection is attached, not when it ends: in a logon storm, thousands of
   * routing frames waiting for their connections to end would be copied by every young GC.
   */
  async #acceptConnection(conn: Connection, first: FirstMessage): Promise<void> {
    const link = await this.#prepare("acceptor");
    link.attachThen(conn, first, this.#acceptorDetached);
  }

  /** An acceptor's connection ended: it waits for the next one (one function per session). */
  readonly #acceptorDetached = (): void => {
    if (!this.#finalized && this.#role === "acceptor") this.#core?.started();
  };

  /** Whether a connection is attached (acceptor routing refuses a second one). */
  get connected(): boolean {
    const s = this.state;
    return s === "waitingForLogon" && this.#core?.hasConnection === true ||
      s === "waitingForConfirmLogon" || s === "established" || s === "waitingForConfirmLogout";
  }

  /**
   * Sends an application message, now if established, otherwise once established (late
   * delivery), or rejects it by the `RejectMessageWhileNoConnection` rules.
   *
   * Before `connect`, the message is queued for an initiator (an acceptor `connect` afterwards
   * is refused).
   *
   * Backpressure: when more than `MaxOutgoingBufferSize` bytes wait for a slow connection,
   * the message waits for room (in order with every later `put`) and the promise resolves
   * once it is in. A loop that awaits each `put()` therefore runs at full speed and never
   * overruns the buffer; use {@linkcode Session.tryPut} to be refused instead.
   *
   * @param message The message.
   * @returns Resolves once the message is persisted (established: and its socket write
   *   issued; late: once persisted for the resend after the next Logon).
   * @throws {Error} When the session is finalized.
   */
  put(message: FixMessage): Promise<void> {
    return this.#put(message, true);
  }

  /**
   * Like {@linkcode Session.put}, but never waits for room: over `MaxOutgoingBufferSize` the
   * message is refused with `OutgoingBufferFullError`, using no sequence number and storing
   * nothing.
   *
   * @param message The message.
   * @returns Resolves as `put()` does.
   * @throws {OutgoingBufferFullError} When too many bytes wait for a slow connection.
   * @throws {Error} When the session is finalized.
   * @example
   * ```ts ignore
   * try {
   *   await session.tryPut(order);
   * } catch (e) {
   *   if (e instanceof OutgoingBufferFullError) holdBack(order);
   * }
   * ```
   */
  tryPut(message: FixMessage): Promise<void> {
    return this.#put(message, false);
  }

  #put(message: FixMessage, wait: boolean): Promise<void> {
    if (this.#finalized) {
      return Promise.reject(
        new Error(`Cannot send message: session "${this.#id}" is finalized`),
      );
    }
    if (this.#core) return wait ? this.#core.put(message) : this.#core.tryPut(message);
    if (!this.#ready) this.#prepareLazily();
    // Put now, though the store is still opening: its age counts from now.
    const atMs = this.#ctx.clock.now();
    return this.#ready!.then((core) => wait ? core.put(message, atMs) : core.tryPut(message, atMs));
  }

  #prepareLazily(): void {
    // put() before connect(): open the store so the message can be queued.
    this.#ready = this.#open(this.#role ?? "initiator");
  }

  /** Opens the store once; a failure (store owned elsewhere) can be retried. */
  #openStore(): Promise<SeqStore> {
    this.#storeReady ??= this.#ctx.openStore(this.#id, this.#settings).then(
      (store) => this.#store = store,
      (e) => {
        this.#storeReady = undefined;
        throw e;
      },
    );
    return this.#storeReady;
  }

  /** Opens the store and builds the core; a failure can be retried. */
  async #open(role: SessionRole): Promise<Link> {
    this.#coreRole = role;
    try {
      const store = await this.#openStore();
      const core = await this.#ctx.makeLink(this, store, role, this.#settings);
      this.#core = core;
      for (const w of this.#coreWaiters.splice(0)) w(core);
      return core;
    } catch (e) {
      this.#ready = undefined;
      this.#coreRole = undefined;
      await this.#store?.close().catch(() => {});
      this.#store = undefined;
      this.#storeReady = undefined;
      throw e;
    }
  }

  /** The core once `connect` (or `put`) built it; `undefined` when finalized first. */
  #whenCore(signal?: AbortSignal): Promise<Link | undefined> {
    if (this.#core) return Promise.resolve(this.#core);
    if (this.#finalized) return Promise.resolve(undefined);
    if (signal?.aborted) return Promise.reject(signal.reason);
    return new Promise((resolve, reject) => {
      const onAbort = () => {
        const i = this.#coreWaiters.indexOf(waiter);
        if (i >= 0) this.#coreWaiters.splice(i, 1);
        reject(signal!.reason);
      };
      const waiter = (core: Link | undefined) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(core);
      };
      this.#coreWaiters.push(waiter);
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /**
   * Subscribes to the session's events (state changes, logon, logout, gaps, rejects...). Before
   * `connect` it subscribes as soon as `connect` builds the session, so no event is missed, and
   * leaves the role open.
   *
   * @returns An async iterator of events from now on; ends when the session is finalized.
   */
  events(): AsyncIterableIterator<SessionEvent> {
    this.#assertUsable("subscribe to events");
    if (this.#core) return this.#core.events();
    let inner: AsyncIterableIterator<SessionEvent> | undefined;
    let ended = false;
    const bound = Promise.withResolvers<void>();
    const bind = (core: Link | undefined) => {
      if (core && !ended) inner = core.events();
      bound.resolve();
    };
    this.#coreWaiters.push(bind);
    const done: IteratorResult<SessionEvent> = { value: undefined, done: true };
    const it: AsyncIterableIterator<SessionEvent> = {
      next: async () => {
        if (!inner && !ended) await bound.promise;
        return inner && !ended ? inner.next() : done;
      },
      return: async () => {
        ended = true;
        const i = this.#coreWaiters.indexOf(bind);
        if (i >= 0) this.#coreWaiters.splice(i, 1);
        bound.resolve();
        await inner?.return?.();
        return done;
      },
      [Symbol.asyncIterator]: () => it,
    };
    return it;
  }

  /**
   * Waits until the session reaches a state. Before `connect` it waits for `connect`, leaving
   * the role open.
   *
   * @param state The state, e.g. `"established"`.
   * @param options Abort signal (use `AbortSignal.timeout`).
   * @returns Resolves when reached.
   * @throws The signal's reason when aborted.
   * @throws {LogonRejectedError} When an initiator gave up and the counterparty had refused its
   *   last Logon.
   * @throws {ConnectionError} When an initiator gave up reconnecting for another reason.
   * @throws {Error} When the session is finalized before reaching the state.
   */
  async waitFor(state: SessionState, options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertUsable("wait");
    if (state === "initial" && !this.#core) return;
    const core = this.#core ?? await this.#whenCore(options.signal);
    if (!core) {
      throw new Error(`Cannot wait for "${state}": session "${this.#id}" is finalized`);
    }
    await core.waitFor(state, options);
  }

  /**
   * Logs out gracefully: sends Logout, waits for the answer, disconnects, and stops reconnecting.
   * The wait ends after `LogoutTimeFrame` without an answer; each message the peer still sends
   * in order (a backlog sent before it read our Logout) restarts it, up to 10 `LogoutTimeFrame`s
   * in all. Confirmed, the session ends correctly terminated.
   *
   * @param reason Text(58) of the Logout.
   * @returns Resolves when disconnected.
   */
  async disconnect(reason?: string): Promise<void> {
    this.#assertUsable("disconnect");
    this.#stopInitiator = true;
    this.#wakeUp?.();
    await this.#core?.logout(reason);
    await this.#initiatorLoop;
  }

  /**
   * Drops the connection without a Logout exchange and stops reconnecting. The session stays
   * not correctly terminated: its sequence numbers continue on the next connect.
   *
   * @param reason Logged.
   * @returns Resolves when disconnected.
   */
  async disconnectNonGracefully(reason = "disconnected non-gracefully"): Promise<void> {
    this.#assertUsable("disconnect");
    this.#stopInitiator = true;
    this.#abort.abort(new Error(reason));
    this.#abort = new AbortController();
    this.#wakeUp?.();
    this.#core?.dropConnection(reason);
    await this.#initiatorLoop;
  }

  /**
   * Drops the link (as if the network failed) without stopping an initiator's reconnects. For
   * tests and operators.
   *
   * @param reason Logged.
   */
  dropConnection(reason = "connection dropped"): void {
    this.#assertUsable("drop connection");
    this.#core?.dropConnection(reason);
  }

  /**
   * Resets both sequence numbers to 1 and clears the stored messages. Before `connect` it only
   * opens the store, leaving the role open.
   *
   * @returns Resolves when the store is reset.
   * @throws {Error} When connected or finalized.
   */
  async resetSeqNumLocal(): Promise<void> {
    const store = await this.#disconnectedStore("reset sequence numbers");
    if (this.#core) await this.#core.resetLocal();
    else await store.reset(this.#ctx.clock.now());
  }

  /** The store, for an operator action allowed only while not connected. */
  async #disconnectedStore(action: string): Promise<SeqStore> {
    this.#assertUsable(action);
    const store = await this.#openStore();
    if (this.#core?.hasConnection) {
      throw new Error(`Cannot ${action}: session "${this.#id}" is connected`);
    }
    return store;
  }

  /**
   * Sets the next sequence numbers by hand while disconnected, as an operator does to realign
   * with a counterparty (FIX Antenna's `setSequenceNumbers`). The next outgoing number may only
   * move forward (numbers skipped are gap-filled if the counterparty asks for them); the next
   * expected number may move either way (lower: the counterparty's resend is requested again).
   *
   * @param numbers The numbers to set; an absent one is kept.
   * @returns Resolves once persisted.
   * @throws {RangeError} For a number that is not a positive integer, or a lower sender number.
   * @throws {Error} When connected or finalized.
   * @example
   * ```ts ignore
   * await session.setSequenceNumbers({ nextTargetSeqNum: 1200 });
   * ```
   */
  async setSequenceNumbers(
    numbers: { nextSenderSeqNum?: number; nextTargetSeqNum?: number },
  ): Promise<void> {
    this.#assertUsable("set sequence numbers");
    const { nextSenderSeqNum: sender, nextTargetSeqNum: target } = numbers;
    for (const [name, n] of [["nextSenderSeqNum", sender], ["nextTargetSeqNum", target]] as const) {
      if (n !== undefined && !(Number.isSafeInteger(n) && n > 0)) {
        throw new RangeError(`Cannot set sequence numbers: ${name} ${n} is not a positive integer`);
      }
    }
    const store = await this.#disconnectedStore("set sequence numbers");
    const current = this.#core?.nextSenderSeqNum ?? store.state.nextSenderSeqNum;
    if (sender !== undefined && sender < current) {
      throw new RangeError(
        `Cannot set sequence numbers: nextSenderSeqNum ${sender} is below ${current}, the stored messages would be overwritten; use resetSeqNumLocal`,
      );
    }
    if (this.#core) {
      await this.#core.setSequenceNumbers(numbers);
      return;
    }
    if (sender !== undefined) store.setNextSenderSeqNum(sender);
    if (target !== undefined) store.setNextTargetSeqNum(target);
    await store.flush();
  }

  /**
   * Resets sequence numbers while established: sends a Logon with ResetSeqNumFlag(141)=Y and
   * MsgSeqNum 1, and resolves when the counterparty confirms with its own 141=Y Logon.
   * Messages put meanwhile follow the reset. Without an answer within `LogonTimeFrame` the
   * session logs out and the promise rejects.
   *
   * @param options Abort signal.
   * @returns Resolves once both sides start again at 1.
   * @throws {Error} When not established, finalized, or the counterparty does not confirm.
   * @example
   * ```ts ignore
   * await session.resetSequenceNumbers({ signal: AbortSignal.timeout(10_000) });
   * ```
   */
  async resetSequenceNumbers(options: { signal?: AbortSignal } = {}): Promise<void> {
    this.#assertUsable("reset sequence numbers");
    const core = this.#core;
    if (!core || core.state !== "established") {
      throw new Error(
        `Cannot reset sequence numbers: session "${this.#id}" is ${core?.state ?? "initial"}`,
      );
    }
    await core.resetSequences(options);
  }

  /**
   * Releases the session: stops reconnecting, drops any connection, closes the store and ends
   * event subscriptions. Call exactly once; any later use is an error.
   *
   * @returns Resolves when released.
   * @throws {Error} When already finalized.
   */
  async finalize(): Promise<void> {
    this.#assertUsable("finalize");
    this.#finalized = true;
    this.#stopInitiator = true;
    this.#abort.abort(new Error("session finalized"));
    this.#wakeUp?.();
    const core = this.#core ?? (this.#ready ? await this.#ready.catch(() => undefined) : undefined);
    await this.#storeReady?.catch(() => undefined);
    for (const w of this.#coreWaiters.splice(0)) w(undefined);
    core?.abandonLate(`session "${this.#id}" was finalized`);
    core?.dropConnection("session finalized");
    await this.#initiatorLoop;
    await core?.idle();
    await core?.closeLog();
    core?.closeEvents();
    await this.#store?.close();
    this.#ctx.forget(this);
  }

  /** Finalizes unless already finalized. */
  async [Symbol.asyncDispose](): Promise<void> {
    if (!this.#finalized) await this.finalize();
  }

  /**
   * Graceful logout if established (or, having answered the peer's Logout, waits for the peer to
   * close, bounded by LogoutTimeFrame), then finalize (`FixEngine.stop`).
   */
  async #stopForEngine(): Promise<void> {
    if (this.#finalized) return;
    const state = this.state;
    if (state === "established" || state === "correctlyTerminated") {
      await this.disconnect("engine stopping");
    }
    await this.finalize();
  }
}

/**
 * The schedule a session's settings describe.
 *
 * @throws {RangeError} For a bad time, day or zone.
 * @throws {TypeError} For a time or day without its partner.
 */
function scheduleOf(s: SessionSettings): SessionSchedule | undefined {
  if (s.startTime === undefined && s.endTime === undefined && s.startDay === undefined) {
    return undefined;
  }
  return new SessionSchedule({
    startTime: s.startTime,
    endTime: s.endTime,
    startDay: s.startDay === undefined ? undefined : parseWeekday(s.startDay),
    endDay: s.endDay === undefined ? undefined : parseWeekday(s.endDay),
    timeZone: s.timeZone,
  });
}
