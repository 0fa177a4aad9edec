/**
 * `FixEngine`: creates sessions, listens for acceptors, routes incoming Logons, asks the
 * `SessionsManager` about unregistered acceptors, and owns the engine-wide timer.
 *
 * @module
 */

import { type Clock, SystemClock } from "../clock.ts";
import { Configuration } from "../config/resolve.ts";
import type { EngineSettings, SessionSettings } from "../config/settings.ts";
import type { Dictionary } from "../dictionary/dictionary.ts";
import { applVerIdToVersion, loadDictionary } from "../dictionary/load.ts";
import { validateMessage } from "../dictionary/validator.ts";
import { type LogFields, type Logger, type LogLevel, stderrLogger } from "../logger.ts";
import { DEFAULT_DATA_FIELDS } from "../message/data_fields.ts";
import { encodeMessage } from "../message/encoder.ts";
import { FixMessage } from "../message/fix_message.ts";
import { decodeMessage, type FixFramer } from "../message/framer.ts";
import { formatUtcTimestamp } from "../message/timestamps.ts";
import { SessionId } from "../session_id.ts";
import { credentialRefusal, stampPrecision } from "../session/admin.ts";
import { logonRefusal } from "../session/logon.ts";
import { type MessageProblem, SessionCore, type SessionRole } from "../session/core.ts";
import { EngineStoppedError, SessionExistsError } from "../errors.ts";
import { Link } from "./link.ts";
import { type AdminServer, startAdmin } from "./admin.ts";
import {
  ACCEPT_ALL_SESSIONS_MANAGER,
  type SessionListener,
  type SessionsManager,
} from "../sessions_manager.ts";
import type { SeqStore, SeqStoreFactory } from "../store.ts";
import type { Connection, Endpoint, Listener, Transport } from "../transport.ts";
import { defaultMessageLogFactory, defaultStoreFactory, defaultTransport } from "./defaults.ts";
import type { MessageLogFactory } from "../message_log.ts";
import { applVerIdOf, beginStringOf, type FIXVersion, parseFixVersion } from "./fix_version.ts";
import { TimerScheduler } from "./scheduler.ts";
import { TurnBudget } from "./_turns.ts";
import { FIRST_FRAME_MAX, FirstFrameReader } from "./_first_frame.ts";
import { paceYoungGc } from "./_gc_pacing.ts";
import { RepeatLimitedLogger } from "./_repeat_log.ts";
import { Session, type SessionContext, type SessionInternals } from "./session.ts";

/**
 * The Logon tag carrying the session qualifier (FIX Antenna's `logonMessageSessionQualifierTag`
 * default): initiators whose `SessionId` has a qualifier send it, acceptors route on it.
 */
const SESSION_QUALIFIER_TAG = 9012;
/**
 * Logons admitted back to back before the other sessions run: in a logon storm a hundred Logons
 * arrive together, each costing 120-180 µs (routing, the store, the answer).
 */
const ADMISSIONS_PER_TURN = 16;
/**
 * Connections taken from the listener back to back (about 50 µs each, up to 128 handed over at a
 * time). More than Logons: the listen backlog (511) must drain, or connects wait for a SYN
 * retransmit (1 s, then 3 s).
 */
const ACCEPTS_PER_TURN = 64;
/**
 * The most time a batch of accepts or of Logons lasts, ms: the first Logons of a storm run
 * before their code is optimized, several times slower than the figures above.
 */
const BURST_SLICE_MS = 2;
/**
 * Descriptors made room for besides the sessions' own (a connection each, and what their store
 * and message log say they keep): the listeners, the admin endpoint, the logs.
 */
const DESCRIPTORS_SPARE = 64;

/**
 * Connections that may wait for their first message at once, beyond one per acceptor session
 * that may log on (the registered ones, and MaxUnregisteredAcceptorSessions when
 * CreateUnregisteredAcceptorSession is on). A logon storm has every session's connection
 * waiting at once (5,000 in bench/load.ts --storm); a peer that opens connections and sends
 * nothing held a descriptor for each until LogonTimeFrame, without limit, until the process ran
 * out of them (no store could open a file, no initiator connect). Past the limit the connection
 * that has waited longest is closed: a peer that logs on sends its Logon right after connecting.
 */
const PENDING_SPARE = 256;

/**
 * How often at most each warning about a connection that has not logged on is written (see
 * RepeatLimitedLogger): a peer can make one per connection it opens.
 */
const ADMIT_LOG_INTERVAL_MS = 10_000;

/** Options of {@linkcode FixEngine}. Everything is optional; TCP and the file store are defaults. */
export interface FixEngineOptions {
  /** Transport for initiators and listeners (default: TCP). */
  transport?: Transport;
  /** Store factory (default: file store in `LogDirectory`). */
  storeFactory?: SeqStoreFactory;
  /**
   * Message logs (default: `messages.log` beside the default file store; none when a store
   * factory is given without one). Sessions log unless `MessageLog=false`.
   */
  messageLogFactory?: MessageLogFactory;
  /** Engine-wide hooks (default: accept every unregistered acceptor, if allowed). */
  sessionsManager?: SessionsManager;
  /**
   * Logger (default: timestamped lines on stderr at `LogLevel`, else the `FIXWIRE_LOG_LEVEL`
   * environment variable when readable, else `info`).
   */
  logger?: Logger;
  /** Clock (default: the system clock). */
  clock?: Clock;
  /** Configuration: a properties file path, a parsed `Configuration`, or key/value pairs. */
  config?: string | Configuration | Record<string, string | number | boolean>;
  /** Engine settings that override the configuration. */
  settings?: Partial<EngineSettings>;
}

/** Options of {@linkcode FixEngine.createSession}. */
export interface CreateSessionOptions {
  /** Settings that override the configuration for this session. */
  settings?: Partial<SessionSettings>;
  /** Application callbacks. */
  listener?: SessionListener;
  /**
   * This session's transport, when it differs from the engine's (say TLS for one counterparty,
   * TCP for the rest): an initiator connects with it; an acceptor listens with it on its own
   * `ListenPort`, which it then needs.
   */
  transport?: Transport;
}

/**
 * The FIX engine.
 *
 * @example
 * ```ts ignore
 * import { FixEngine, FIXVersion, SessionId } from "@fixwire/engine";
 * await using engine = new FixEngine({ config: { ListenPort: 8901 } });
 * const acceptor = engine.createSession(new SessionId("TEST2", "TEST1"), "FIX44", FIXVersion.FIX44);
 * await acceptor.connect();
 * ```
 */
export class FixEngine implements AsyncDisposable {
  readonly #config: Configuration;
  readonly #settings: EngineSettings;
  readonly #transport: Transport;
  readonly #storeFactory: SeqStoreFactory;
  readonly #messageLogs: MessageLogFactory | undefined;
  readonly #manager: SessionsManager;
  readonly #log: Logger;
  readonly #clock: Clock;
  readonly #scheduler: TimerScheduler;
  readonly #sessions = new Map<string, Session>();
  readonly #acceptors = new Map<string, Session>();
  readonly #listeners: Listener[] = [];
  /** Logons being routed (after their first read). */
  readonly #accepting = new Set<Promise<void>>();
  /** Incoming connections waiting for their first frame, the longest waiting first. */
  readonly #firstReads = new Set<FirstFrameReader>();
  /** The warnings about connections that have not logged on, each at most every 10 s. */
  readonly #admitLog: RepeatLimitedLogger;
  #defaultContext: SessionContext | undefined;
  readonly #acceptLoops: Promise<void>[] = [];
  readonly #listenPorts = new Set<number>();
  readonly #dictionaries = new Map<string, Promise<Dictionary>>();
  readonly #custom = new WeakMap<Session, Dictionary>();
  readonly #sessionTransports = new WeakMap<Session, Transport>();
  readonly #internals = new WeakMap<Session, SessionInternals>();
  /** Sessions the SessionsManager let the engine create, bounded by a setting. */
  readonly #unregisteredCreated = new Set<Session>();
  readonly #firstLogonTimeoutMs: number;
  /** The largest first message (see FIRST_FRAME_MAX). */
  readonly #firstFrameMax: number;
  /** Bounds the Logons admitted per turn (a logon storm). */
  readonly #admissions: TurnBudget;
  /** Bounds the connections taken from the listeners per turn. */
  readonly #accepts: TurnBudget;
  #listening: Promise<void> | undefined;
  /** Descriptors asked of the transport so far, and the asking in progress. */
  #descriptorsAsked = 0;
  #reserving: Promise<void> = Promise.resolve();
  #admin: Promise<AdminServer | undefined> | undefined;
  #adminAddr: Endpoint | undefined;
  #stopped = false;

  /**
   * Creates an engine. A properties file path is read synchronously here.
   *
   * @param options Transport, store, manager, logger, clock and configuration.
   * @throws {ConfigError} When the configuration has a bad value.
   */
  constructor(options: FixEngineOptions = {}) {
    // Until the configuration says which level the default logger writes, what it reports
    // (unknown keys...) is kept, then replayed.
    const early: [keyof Logger, string, LogFields | undefined][] = [];
    const buffer: Logger = {
      debug: (m, f) => void early.push(["debug", m, f]),
      info: (m, f) => void early.push(["info", m, f]),
      warn: (m, f) => void early.push(["warn", m, f]),
      error: (m, f) => void early.push(["error", m, f]),
    };
    const configLog = options.logger ?? buffer;
    const cfg = options.config;
    this.#config = cfg instanceof Configuration
      ? cfg
      : typeof cfg === "string"
      ? Configuration.fromText(Deno.readTextFileSync(cfg), { fileName: cfg, logger: configLog })
      : cfg
      ? Configuration.fromObject(cfg, { logger: configLog })
      : new Configuration();
    this.#settings = this.#config.engineSettings(options.settings);
    this.#log = options.logger ?? stderrLogger(this.#settings.logLevel ?? envLogLevel() ?? "info");
    for (const [level, m, f] of early) this.#log[level](m, f);
    const defaults = this.#config.defaultSessionSettings();
    this.#firstLogonTimeoutMs = defaults.logonTimeoutMs;
    this.#firstFrameMax = Math.min(defaults.maxMessageSize, FIRST_FRAME_MAX);
    this.#clock = options.clock ?? new SystemClock();
    this.#scheduler = new TimerScheduler(this.#clock);
    this.#admitLog = new RepeatLimitedLogger(this.#log, this.#scheduler, ADMIT_LOG_INTERVAL_MS);
    const now = () => this.#clock.now();
    this.#admissions = new TurnBudget(ADMISSIONS_PER_TURN, BURST_SLICE_MS, now);
    this.#accepts = new TurnBudget(ACCEPTS_PER_TURN, BURST_SLICE_MS, now);
    this.#transport = options.transport ?? defaultTransport(this.#settings, this.#log);
    this.#storeFactory = options.storeFactory ?? defaultStoreFactory(this.#settings, this.#log);
    this.#messageLogs = options.messageLogFactory ??
      (options.storeFactory ? undefined : defaultMessageLogFactory(this.#settings, this.#log));
    this.#manager = options.sessionsManager ?? ACCEPT_ALL_SESSIONS_MANAGER;
  }

  /** The resolved engine settings. */
  get settings(): Readonly<EngineSettings> {
    return this.#settings;
  }

  /**
   * The admin endpoint's address once it runs (`Admin.Port`: started with the first session
   * or by `start()`), else `undefined`.
   */
  get adminAddress(): Endpoint | undefined {
    return this.#adminAddr;
  }

  /**
   * Starts the admin endpoint when `Admin.Port` is configured (once).
   *
   * @returns Resolves when it listens.
   */
  #startAdmin(): Promise<AdminServer | undefined> {
    const port = this.#settings.adminPort;
    if (port === undefined || this.#stopped) return Promise.resolve(undefined);
    this.#admin ??= startAdmin(this, {
      port,
      hostname: this.#settings.adminAddress,
      token: this.#settings.adminToken,
      logger: this.#log,
    }).then((server) => {
      this.#adminAddr = server.addr;
      return server;
    }, (e) => {
      this.#log.error("admin endpoint failed to start", { error: `${e}` });
      return undefined;
    });
    return this.#admin;
  }

  /** The addresses the engine listens on (real ports when 0 was configured). */
  get listenAddresses(): Endpoint[] {
    return this.#listeners.map((l) => l.addr);
  }

  /** Every session not finalized. */
  get sessions(): Session[] {
    return [...this.#sessions.values()];
  }

  /**
   * Finds a session.
   *
   * @param id The session id.
   * @returns The session or `undefined`.
   */
  getSession(id: SessionId): Session | undefined {
    return this.#sessions.get(id.toString());
  }

  /**
   * Creates a session.
   *
   * @param id Our SenderCompID, the counterparty's CompID and an optional qualifier.
   * @param dictionary A dictionary name (`FIX44`, `FIX50SP2`...; the session then validates
   * against the generated dictionary of `version`), or a `Dictionary` loaded from a venue's XML
   * with `loadDictionaryFile` (custom fields, messages and groups).
   * @param version The FIX version, e.g. `FIXVersion.FIX44`.
   * @param options Settings overrides and the listener.
   * @returns The session, not yet connected.
   * @throws {Error} When a session with the same id exists or the engine is stopped.
   */
  createSession(
    id: SessionId,
    dictionary: string | Dictionary,
    version: FIXVersion,
    options: CreateSessionOptions = {},
  ): Session {
    if (this.#stopped) throw new EngineStoppedError("Cannot create session: the engine is stopped");
    const key = id.toString();
    if (this.#sessions.has(key)) {
      throw new SessionExistsError(`Cannot create session: session "${key}" already exists`);
    }
    const v = parseFixVersion(version);
    if (typeof dictionary === "string" && dictionary !== "") parseFixVersion(dictionary);
    const settings = this.#config.sessionSettings(
      id.sender,
      id.target,
      id.qualifier,
      options.settings,
    );
    if (v.startsWith("FIX.5") && options.settings?.defaultApplVerId === undefined) {
      settings.defaultApplVerId = applVerIdOf(v);
    }
    const session = new Session(
      id,
      v,
      settings,
      this.#context(options.transport),
      options.listener,
    );
    if (options.transport) this.#sessionTransports.set(session, options.transport);
    this.#sessions.set(key, session);
    if (typeof dictionary !== "string") this.#custom.set(session, dictionary);
    this.#manager.onSessionCreated?.(id);
    // An initiator-only engine never calls start(): its admin endpoint starts with its sessions.
    this.#startAdmin();
    return session;
  }

  /** The sessions' services: one object for the sessions on the engine's transport. */
  #context(transport: Transport = this.#transport): SessionContext {
    if (transport === this.#transport) return this.#defaultContext ??= this.#newContext(transport);
    return this.#newContext(transport);
  }

  #newContext(transport: Transport): SessionContext {
    return {
      clock: this.#scheduler,
      logger: this.#log,
      transport,
      openStore: (id, settings) =>
        this.#storeFactory.open(id, {
          nowMs: this.#clock.now(),
          logIncoming: settings.logIncoming,
        }),
      makeLink: (session, store, role, settings) => {
        this.#reserveDescriptors(transport, this.#sessions.size);
        return this.#makeLink(session, store, role, settings);
      },
      registerAcceptor: (session) => this.#registerAcceptor(session),
      bind: (session, internals) => this.#internals.set(session, internals),
      forget: (session) => {
        const key = session.id.toString();
        this.#sessions.delete(key);
        if (this.#acceptors.get(key) === session) this.#acceptors.delete(key);
        this.#unregisteredCreated.delete(session);
        this.#manager.onSessionDestroyed?.(session.id);
      },
    };
  }

  #dictionary(version: string): Promise<Dictionary> {
    let d = this.#dictionaries.get(version);
    if (!d) {
      d = loadDictionary(version as Parameters<typeof loadDictionary>[0]);
      this.#dictionaries.set(version, d);
    }
    return d;
  }

  async #makeLink(
    session: Session,
    store: SeqStore,
    role: SessionRole,
    settings: SessionSettings,
  ): Promise<Link> {
    const version = session.version;
    const begin = beginStringOf(version);
    const custom = this.#custom.get(session);
    const transportDict = begin !== "FIXT.1.1" && custom
      ? custom
      : await this.#dictionary(begin === "FIXT.1.1" ? "FIXT.1.1" : version);
    const defaultApp = begin === "FIXT.1.1"
      ? custom ?? await this.#dictionary(version)
      : transportDict;
    const appDicts = new Map<string, Dictionary>([[applVerIdOf(version), defaultApp]]);
    if (begin === "FIXT.1.1") {
      // Every application version FIXT.1.1 can carry: FIX.4.0 (2) to FIX.5.0 SP2 (9).
      for (const code of ["2", "3", "4", "5", "6", "7", "8", "9"]) {
        const name = applVerIdToVersion(code);
        if (name && !appDicts.has(code)) appDicts.set(code, await this.#dictionary(name));
      }
    }
    const built: { core?: SessionCore } = {};
    const appDictOf = (m: FixMessage): Dictionary | undefined => {
      if (begin !== "FIXT.1.1") return transportDict;
      // ApplVerID(1128), else the counterparty's DefaultApplVerID(1137) from its Logon.
      const code = m.get(1128) ?? built.core?.peerDefaultApplVerId ?? settings.defaultApplVerId;
      return appDicts.get(code);
    };
    const validation = settings.validation;
    const listener = session.listener;
    const qualifier = session.id.qualifier;
    // A venue dictionary may add LENGTH/DATA pairs of its own.
    const dataFields = custom
      ? new Map([...DEFAULT_DATA_FIELDS, ...custom.dataFields()])
      : DEFAULT_DATA_FIELDS;
    const core = new SessionCore({
      id: session.id,
      beginString: begin,
      role,
      settings,
      numbers: store.state,
      logger: this.#log,
      validate: validation.enabled
        ? (m): MessageProblem[] => {
          const app = appDictOf(m);
          // Invalid/unsupported application version (18, FIXT.1.1).
          if (!app) return [{ reason: 18, tag: 1128, text: "Unknown ApplVerID" }];
          return begin === "FIXT.1.1"
            ? validateMessage(m, transportDict, validation, app)
            : validateMessage(m, transportDict, validation);
        }
        : undefined,
      supportsMsgType: (t, m) => appDictOf(m)?.message(t) !== undefined,
      definesMsgType: (t, m) => appDictOf(m)?.message(t) !== undefined,
      schedule: session.schedule,
      authenticate: (m) => session.listener.authenticate?.(m),
      onResend: (m) => session.listener.onResend?.(m) ?? true,
      logonFields: qualifier === undefined ? [] : [[SESSION_QUALIFIER_TAG, qualifier]],
      dataFields,
    });
    built.core = core;
    const messageLog = settings.messageLog ? await this.#messageLogs?.open(session.id) : undefined;
    return new Link({
      core,
      store,
      messageLog,
      clock: this.#scheduler,
      settings,
      logger: this.#log,
      dataFields,
      // Kept for the admin page only.
      recentMessages: this.#settings.adminPort !== undefined
        ? this.#settings.adminRecentMessages
        : 0,
      handler: {
        onMessage: listener.onMessage ? (m) => session.listener.onMessage!(m) : undefined,
        onEvent: (e) => session.listener.onEvent?.(e),
      },
    });
  }

  async #registerAcceptor(session: Session): Promise<void> {
    const own = this.#sessionTransports.get(session);
    const port = session.settings.listenPort;
    if (own && port === undefined) {
      throw new Error(
        `Cannot register acceptor: session "${session.id}" has its own transport but no ListenPort of its own`,
      );
    }
    this.#acceptors.set(session.id.toString(), session);
    this.#reserveDescriptors(own ?? this.#transport, this.#acceptors.size);
    await this.start();
    if (port !== undefined) await this.#listenOn(port, own);
  }

  /**
   * Asks the transport for room for `sessions` sessions' connections and files before they come
   * (see `Transport.reserve`): as acceptors register (a logon storm then never waits for the
   * descriptor table to grow), and as sessions first connect (thousands of initiators connecting
   * at once would). Rounded up to a power of two: thousands of sessions ask a dozen times.
   */
  #reserveDescriptors(transport: Transport, sessions: number): void {
    if (!transport.reserve) return;
    const perSession = 1 + (this.#storeFactory.descriptorsPerSession ?? 0) +
      (this.#messageLogs?.descriptorsPerSession ?? 0);
    const wanted = perSession * sessions + DESCRIPTORS_SPARE;
    if (wanted <= this.#descriptorsAsked) return;
    const ask = 2 ** Math.ceil(Math.log2(wanted));
    this.#descriptorsAsked = ask;
    const p = transport.reserve(ask).catch(() => {});
    this.#reserving = this.#reserving.then(() => p);
  }

  /**
   * Starts listening on the configured ports (`ListenPort`, and per-session `ListenPort`s).
   * Called automatically when the first acceptor is registered. Idempotent.
   *
   * @returns Resolves when listening.
   */
  start(): Promise<void> {
    if (this.#stopped) {
      return Promise.reject(new EngineStoppedError("Cannot start: the engine is stopped"));
    }
    this.#listening ??= (async () => {
      const ports = new Map<number, Transport>();
      for (const port of this.#settings.listenPorts) ports.set(port, this.#transport);
      for (const s of this.#sessions.values()) {
        const port = s.settings.listenPort;
        if (port !== undefined && !ports.has(port)) {
          ports.set(port, this.#sessionTransports.get(s) ?? this.#transport);
        }
      }
      for (const [port, transport] of ports) await this.#listenOn(port, transport);
      await this.#startAdmin();
    })();
    return this.#listening;
  }

  async #listenOn(port: number, transport: Transport = this.#transport): Promise<void> {
    if (port !== 0 && this.#listenPorts.has(port)) return;
    this.#listenPorts.add(port);
    const listener = await transport.listen({ host: this.#settings.listenAddress, port });
    if (this.#stopped) {
      listener.close();
      return;
    }
    this.#listeners.push(listener);
    this.#log.info("listening", { host: listener.addr.host, port: listener.addr.port });
    this.#acceptLoops.push(this.#acceptLoop(listener));
  }

  async #acceptLoop(listener: Listener): Promise<void> {
    try {
      for await (const conn of listener) {
        // The backlog holds the next connections meanwhile.
        const turn = this.#accepts.take();
        if (turn) await turn;
        if (this.#stopped) {
          conn.close("engine stopped");
          continue;
        }
        this.#onConnection(conn);
      }
    } catch (e) {
      if (!this.#stopped) this.#log.error("listener failed", { error: `${e}` });
    }
    if (!this.#stopped) {
      this.#log.error("listener ended while the engine runs", {
        host: listener.addr.host,
        port: listener.addr.port,
      });
    }
  }

  /** Starts reading the first message of an incoming connection (see `#onFirstFrame`). */
  #onConnection(conn: Connection): void {
    if (!this.#addressMayLogOn(conn.remoteHost)) {
      // Before any byte is read: no session here accepts this source address.
      this.#admitLog.warn("connection from a source address no session allows; closing", {
        remote: conn.remoteAddr,
      });
      conn.close("source address not allowed");
      return;
    }
    const limit = this.#pendingLimit();
    if (this.#firstReads.size >= limit) this.#evictLongestWaiting(limit);
    // Keeps the young collections of a logon storm small (see _gc_pacing.ts).
    paceYoungGc();
    const dueAtMs = this.#clock.now() + this.#firstLogonTimeoutMs;
    this.#log.debug("waiting for the first Logon", { remote: conn.remoteAddr, dueAtMs });
    this.#firstReads.add(
      new FirstFrameReader(
        conn,
        this.#scheduler,
        dueAtMs,
        this.#admitLog,
        this.#onFirstFrame,
        this.#firstFrameMax,
      ),
    );
  }

  /** How many connections may wait for their first message at once (see PENDING_SPARE). */
  #pendingLimit(): number {
    const s = this.#settings;
    const unregistered = s.createUnregisteredAcceptorSession
      ? s.maxUnregisteredAcceptorSessions
      : 0;
    return this.#acceptors.size + unregistered + PENDING_SPARE;
  }

  /** Closes the connection that has waited longest for its first message, to make room. */
  #evictLongestWaiting(limit: number): void {
    const oldest: FirstFrameReader = this.#firstReads.values().next().value!;
    this.#firstReads.delete(oldest);
    oldest.evict();
    this.#admitLog.warn("too many connections waiting for a Logon; closed the longest waiting", {
      limit,
      remote: oldest.conn.remoteAddr,
    });
  }

  /** An incoming connection's first read ended: its frame is routed to its acceptor. */
  readonly #onFirstFrame = (
    reader: FirstFrameReader,
    frame: Uint8Array | undefined,
    error?: unknown,
  ): void => {
    this.#firstReads.delete(reader);
    const conn = reader.conn;
    if (error !== undefined) {
      this.#admitLog.error("incoming connection failed", { error: `${error}` });
      conn.close(`${error}`);
      return;
    }
    if (frame === undefined) {
      // A reader that refused the connection has told why.
      if (!this.#stopped && reader.refused === undefined) {
        this.#admitLog.warn("connection closed before a Logon", { remote: conn.remoteAddr });
      }
      conn.close("no Logon");
      return;
    }
    const p = this.#route(conn, reader.framer, frame).catch((e) => {
      this.#admitLog.error("incoming connection failed", { error: `${e}` });
      conn.close(`${e}`);
    });
    this.#accepting.add(p);
    p.finally(() => this.#accepting.delete(p));
  };

  /** Admits a first frame (a Logon, one batch per turn in a storm) and hands it to its acceptor. */
  async #route(conn: Connection, framer: FixFramer, frame: Uint8Array): Promise<void> {
    const remote = conn.remoteAddr;
    // Logons that arrive together are admitted a batch per turn.
    const turn = this.#admissions.take();
    if (turn) await turn;
    if (this.#stopped) {
      conn.close("engine stopped");
      return;
    }
    // The session state a routed Logon makes lives on, as a connection's does (see _gc_pacing.ts).
    paceYoungGc();
    let logon: FixMessage;
    try {
      logon = decodeMessage(frame);
    } catch (e) {
      this.#admitLog.warn("first message is garbled; closing", { remote, error: `${e}` });
      conn.close("garbled first message");
      return;
    }
    if (logon.msgType !== "A") {
      this.#admitLog.warn("first message is not a Logon; closing", {
        remote,
        msgType: logon.msgType,
      });
      conn.close("first message is not a Logon");
      return;
    }
    const sender = logon.get(56), target = logon.get(49);
    if (!sender || !target) {
      this.#admitLog.warn("Logon without CompIDs; closing", { remote });
      conn.close("Logon without CompIDs");
      return;
    }
    const qualifier = logon.get(SESSION_QUALIFIER_TAG);
    let id: SessionId;
    try {
      id = new SessionId(sender, target, qualifier || undefined);
    } catch (e) {
      this.#admitLog.warn("Logon with invalid CompIDs; closing", { remote, error: `${e}` });
      conn.close("invalid CompIDs");
      return;
    }
    // A registered acceptor admits the Logon itself (BeginString, address, credentials, the
    // authenticate hook...) before anything is attached, reset or written.
    const session = this.#acceptors.get(id.toString()) ?? this.#byBeginString(id, logon) ??
      await this.#unregistered(id, logon, conn);
    if (!session) return;
    if (session.connected) {
      this.#admitLog.warn("second connection for a connected session; closing it", {
        session: id.toString(),
        remote,
      });
      conn.close("session already connected");
      return;
    }
    this.#log.info("Logon routed to acceptor", { session: id.toString(), remote });
    await this.#internals.get(session)!.accept(conn, {
      message: logon,
      frame,
      rest: framer.takeBuffered(),
    });
  }

  /**
   * A Logon without a session qualifier for CompIDs whose acceptors are qualified: the one
   * acceptor of those CompIDs with the Logon's BeginString (a venue serving one counterparty
   * under FIX.4.2 and FIX.4.4 registers two qualified sessions).
   */
  #byBeginString(id: SessionId, logon: FixMessage): Session | undefined {
    if (id.qualifier !== undefined) return undefined;
    const begin = logon.get(8);
    let found: Session | undefined;
    for (const s of this.#acceptors.values()) {
      if (s.id.sender !== id.sender || s.id.target !== id.target) continue;
      if (beginStringOf(s.version) !== begin) continue;
      if (found) return undefined; // ambiguous: refused as unknown
      found = s;
    }
    return found;
  }

  /**
   * Whether some acceptor (registered, or one the SessionsManager may create) allows `host`.
   * With no acceptor at all the Logon is read and refused as for an unknown session.
   */
  #addressMayLogOn(host: string): boolean {
    if (this.#acceptors.size === 0 && !this.#settings.createUnregisteredAcceptorSession) {
      return true;
    }
    const allows = (allowed: readonly string[]) => allowed.length === 0 || allowed.includes(host);
    for (const s of this.#acceptors.values()) {
      if (allows(s.settings.allowedSourceAddresses)) return true;
    }
    return this.#settings.createUnregisteredAcceptorSession &&
      allows(this.#config.defaultSessionSettings().allowedSourceAddresses);
  }

  /** Answers a refused Logon with a Logout that touches no store, then closes. */
  async #refuse(
    conn: Connection,
    id: SessionId,
    begin: string,
    settings: Readonly<SessionSettings>,
    seqNum: number,
    text: string,
  ): Promise<void> {
    const logout = new FixMessage("5").set(49, id.sender).set(56, id.target).set(34, seqNum)
      .set(
        52,
        formatUtcTimestamp(this.#clock.now(), stampPrecision(begin, settings.timestampPrecision)),
      )
      .set(58, text);
    try {
      await conn.write(encodeMessage(logout, begin));
    } catch (e) {
      this.#admitLog.warn("Logout write failed", { session: id.toString(), error: `${e}` });
    }
    conn.close(text);
  }

  async #unregistered(
    id: SessionId,
    logon: FixMessage,
    conn: Connection,
  ): Promise<Session | undefined> {
    if (!this.#settings.createUnregisteredAcceptorSession) {
      this.#admitLog.warn("Logon for an unregistered acceptor refused", {
        session: id.toString(),
        remote: conn.remoteAddr,
      });
      conn.close("unknown session");
      return undefined;
    }
    // Checked before the SessionsManager sees the Logon: the source address and the
    // configured credentials. The refusal's Logout carries no real sequence number.
    const base = this.#config.sessionSettings(id.sender, id.target, id.qualifier);
    const begin = logon.get(8) || "FIX.4.4";
    const allowed = base.allowedSourceAddresses;
    if (allowed.length > 0 && !allowed.includes(conn.remoteHost)) {
      this.#admitLog.warn("Logon from a source address not allowed; closing", {
        session: id.toString(),
        remote: conn.remoteAddr,
      });
      conn.close("source address not allowed");
      return undefined;
    }
    const refusal = credentialRefusal(base, logon);
    if (refusal !== undefined) {
      this.#admitLog.warn("Logon refused: invalid credentials", {
        session: id.toString(),
        remote: conn.remoteAddr,
      });
      await this.#refuse(conn, id, begin, base, 1, refusal);
      return undefined;
    }
    const max = this.#settings.maxUnregisteredAcceptorSessions;
    if (this.#unregisteredCreated.size >= max) {
      this.#admitLog.warn("unregistered acceptor refused: too many sessions", {
        session: id.toString(),
        max,
      });
      await this.#refuse(conn, id, begin, base, 1, "Too many sessions");
      return undefined;
    }
    const decide = this.#manager.onUnregisteredAcceptor;
    const abort = new AbortController();
    const timeoutMs = this.#settings.unregisteredAcceptorDecisionTimeoutMs;
    let timer: { cancel(): void } | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = this.#scheduler.setTimer(this.#clock.now() + timeoutMs, () => {
        const err = new Error(`SessionsManager did not decide within ${timeoutMs} ms`);
        reject(err); // settle the race first, then tell the manager to give up
        abort.abort(err);
      });
    });
    timeout.catch(() => {});
    let decision;
    try {
      decision = decide
        ? await Promise.race([
          Promise.resolve(decide({
            sessionId: id,
            beginString: logon.get(8) ?? "",
            logon,
            remoteAddress: conn.remoteAddr,
          }, { signal: abort.signal })),
          timeout,
        ])
        : { accept: true as const };
    } catch (e) {
      decision = { accept: false as const, reason: `${e instanceof Error ? e.message : e}` };
    } finally {
      timer?.cancel();
    }
    if (!decision.accept) {
      this.#admitLog.warn("unregistered acceptor refused by the SessionsManager", {
        session: id.toString(),
        reason: decision.reason,
      });
      await this.#refuse(conn, id, begin, base, 1, decision.reason);
      return undefined;
    }
    const version = versionOfLogon(logon);
    if (!version) {
      conn.close("unsupported BeginString");
      return undefined;
    }
    if (this.#sessions.has(id.toString())) {
      conn.close("session exists but is not an acceptor");
      return undefined;
    }
    // The admission rules of the session's core, with the final settings, before the session
    // and its store exist: a refusal creates and changes nothing.
    const settings = this.#config.sessionSettings(
      id.sender,
      id.target,
      id.qualifier,
      decision.settings,
    );
    const refused = logonRefusal(logon, {
      settings,
      beginString: beginStringOf(version),
      sender: id.sender,
      target: id.target,
      remoteHost: conn.remoteHost,
      acceptor: true,
      authenticate: decision.listener?.authenticate?.bind(decision.listener),
      validate: undefined,
      nowMs: this.#clock.now(),
    });
    if (refused !== undefined) {
      this.#admitLog.warn("unregistered acceptor refused: Logon not admitted", {
        session: id.toString(),
        reason: refused.text,
      });
      if (refused.logout) await this.#refuse(conn, id, begin, settings, 1, refused.text);
      else conn.close(refused.text);
      return undefined;
    }
    const session = this.createSession(id, "", version, {
      settings: decision.settings,
      listener: decision.listener,
    });
    this.#unregisteredCreated.add(session);
    await session.connect();
    this.#log.info("unregistered acceptor created", { session: id.toString() });
    return session;
  }

  /**
   * Logs out every established session gracefully, finalizes every session, closes listeners
   * and the engine timer. Idempotent.
   *
   * @returns Resolves when everything is closed.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    for (const l of this.#listeners) l.close();
    await this.#listening?.catch(() => {});
    await (await this.#admin)?.close();
    for (const l of this.#listeners) l.close();
    await Promise.all(this.#acceptLoops);
    await Promise.all([...this.#sessions.values()].map((s) => this.#internals.get(s)!.stop()));
    // Connections still waiting for their Logon close now (not at LogonTimeFrame).
    for (const r of this.#firstReads) r.conn.close("engine stopped");
    await Promise.allSettled([...this.#accepting]);
    await this.#reserving;
    this.#admitLog.close();
    this.#scheduler.close();
  }

  /** Same as `stop`. */
  async [Symbol.asyncDispose](): Promise<void> {
    await this.stop();
  }
}

function versionOfLogon(logon: FixMessage): FIXVersion | undefined {
  const begin = logon.get(8);
  if (begin === "FIXT.1.1") {
    const v = applVerIdToVersion(logon.get(1137) ?? "9");
    return v ? parseFixVersion(v) : undefined;
  }
  try {
    return begin ? parseFixVersion(begin) : undefined;
  } catch {
    return undefined;
  }
}

const LEVELS = new Set(["debug", "info", "warn", "error", "off"]);

/** `FIXWIRE_LOG_LEVEL`, when set, valid and readable without a permission prompt. */
function envLogLevel(): LogLevel | undefined {
  try {
    if (
      Deno.permissions.querySync({ name: "env", variable: "FIXWIRE_LOG_LEVEL" }).state !== "granted"
    ) {
      return undefined;
    }
    const v = Deno.env.get("FIXWIRE_LOG_LEVEL")?.toLowerCase();
    return v !== undefined && LEVELS.has(v) ? v as LogLevel : undefined;
  } catch {
    return undefined;
  }
}
