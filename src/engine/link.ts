/**
 * The I/O driver of one session: it feeds the pure {@linkcode SessionCore} and performs what it
 * returns. It owns the connection (one at a time), the framer, the read loop, the serial
 * writer with group commit (one store write, then one socket write, per event-loop turn), the
 * store's write order, the timer, the promises of `put()` and the event queue.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";
import type { SessionSettings } from "../config/settings.ts";
import {
  ConnectionError,
  LogonRejectedError,
  OutgoingBufferFullError,
  ResetNotConfirmedError,
} from "../errors.ts";
import { type Logger, SILENT_LOGGER } from "../logger.ts";
import { FixEncoder } from "../message/encoder.ts";
import { FixParseError } from "../message/errors.ts";
import type { FixMessage } from "../message/fix_message.ts";
import { FixFramer } from "../message/framer.ts";
import { maskFrame, SECRET_TAGS } from "../message/mask.ts";
import type { Action } from "../session/actions.ts";
import type { SessionCore } from "../session/core.ts";
import { EventHub, type SessionEvent, type SessionState } from "../session/events.ts";
import type { MessageLog } from "../message_log.ts";
import type { SeqStore, StoredMessage } from "../store.ts";
import { type Connection, PEER_CLOSED } from "../transport.ts";
import { ChunkReader } from "./_read.ts";
import { yieldToOthers } from "./_turns.ts";

/** The application side of a link. */
export interface LinkHandler {
  /** Receives application messages in sequence order; awaited before the next one. */
  onMessage?(message: FixMessage): void | Promise<void>;
  /** Hears every event synchronously, in order with message delivery. Must not throw. */
  onEvent?(event: SessionEvent): void;
}

/** Options of {@linkcode Link}. */
export interface LinkOptions {
  /** The session's protocol. */
  core: SessionCore;
  /** The session's store (the core was built from its numbers). */
  store: SeqStore;
  /** Time and timers. */
  clock: Clock;
  /** The session's settings. */
  settings: SessionSettings;
  /** Logger; silent by default. */
  logger?: Logger;
  /** Application callbacks. */
  handler?: LinkHandler;
  /** LENGTH tag to DATA tag pairs of the session's dictionaries. */
  dataFields?: ReadonlyMap<number, number>;
  /** Per-subscriber event queue size. */
  eventQueueSize?: number;
  /** How many recent messages to keep for operators (0: none, the default). */
  recentMessages?: number;
  /** Where every message received and sent is logged for operators. */
  messageLog?: MessageLog;
}

/** A session's counters and gauges (see `Session.metrics`). Counters only grow. */
export interface SessionMetrics {
  /** Messages received (garbled ones are counted apart). */
  messagesIn: number;
  /** Bytes received in those messages. */
  bytesIn: number;
  /** Messages sent (resends and gap fills included). */
  messagesOut: number;
  /** Bytes handed to the connection. */
  bytesOut: number;
  /** Messages resent in answer to ResendRequests. */
  messagesResent: number;
  /** ResendRequests answered. */
  resendsAnswered: number;
  /** Session Rejects we sent. */
  rejectsSent: number;
  /** Session Rejects we received. */
  rejectsReceived: number;
  /** Garbled messages received and ignored. */
  garbled: number;
  /** How late the session's last timer (heartbeat, TestRequest, deadlines) fired, ms. */
  timerLatenessMs: number;
  /** The most any timer of the session fired late, ms. */
  timerLatenessMaxMs: number;
  /** How long the last store write before a socket write took, ms. */
  storeWriteMs: number;
  /** The longest such store write, ms. */
  storeWriteMaxMs: number;
  /** Logons completed. */
  logons: number;
  /** Disconnections. */
  disconnects: number;
}

/**
 * A session's counters, all zero.
 *
 * @returns New metrics.
 */
export function newMetrics(): SessionMetrics {
  return {
    messagesIn: 0,
    bytesIn: 0,
    messagesOut: 0,
    bytesOut: 0,
    messagesResent: 0,
    resendsAnswered: 0,
    rejectsSent: 0,
    rejectsReceived: 0,
    garbled: 0,
    timerLatenessMs: 0,
    timerLatenessMaxMs: 0,
    storeWriteMs: 0,
    storeWriteMaxMs: 0,
    logons: 0,
    disconnects: 0,
  };
}

/** A message seen on a session's link, for operators (see `Session.recentMessages`). */
export interface RecentMessage {
  /** When it was received or sent, epoch ms. */
  atMs: number;
  /** `in` (received) or `out` (sent). */
  direction: "in" | "out";
  /** The message. */
  message: FixMessage;
}

/** What an acceptor's link starts with: the Logon the engine read to route the connection. */
export interface FirstMessage {
  /** The decoded Logon. */
  message: FixMessage;
  /** Its bytes. */
  frame: Uint8Array;
  /** Bytes read after it, not yet framed. */
  rest?: Uint8Array;
}

/** What a link does with its connection's reads (see `LinkReader`). */
interface LinkReadHandler {
  chunk(reader: LinkReader, chunk: Uint8Array): void;
  end(reader: LinkReader, error?: unknown): void;
}

/** One connection's reading: its framer and where its read loop stands. */
class LinkReader extends ChunkReader {
  /**
   * Made at the first chunk after the Logon (or with what followed it): the sessions of a logon
   * storm do not keep one through its young GCs.
   */
  framer: FixFramer | undefined;
  readonly #handler: LinkReadHandler;
  /** When the last drain ended (the read after it started). */
  endMs = 0;
  /** The link's `#framesRead` before the chunk being drained (see READ_FEW_FRAMES). */
  framesBefore: number;

  constructor(
    conn: Connection,
    framer: FixFramer | undefined,
    handler: LinkReadHandler,
    framesRead: number,
  ) {
    super(conn);
    this.framer = framer;
    this.#handler = handler;
    this.framesBefore = framesRead;
  }

  onChunk(chunk: Uint8Array): void {
    this.#handler.chunk(this, chunk);
  }

  onEnd(error?: unknown): void {
    this.#handler.end(this, error);
  }
}

interface Waiter {
  resolve: () => void;
  reject: (e: Error) => void;
}

/** A batch taken for writing: its waiters resolve once it is written. */
interface Batch {
  waiters: Waiter[];
  written: boolean;
}

/** A batch for the socket: its bytes, its waiters and the offsets of its messages to log. */
interface PendingWrite {
  bytes: Uint8Array;
  batch: Batch;
  outLog: number[];
}

/** A batch taken for persisting and writing, with the puts waiting for it to be persisted. */
interface TakenBatch extends PendingWrite {
  /** The batch's put() promise, settled once persisted. */
  persisted: PromiseWithResolvers<void> | undefined;
}

/** The batches' bytes in one buffer. */
function concat(parts: PendingWrite[]): Uint8Array {
  let n = 0;
  for (const w of parts) n += w.bytes.length;
  const all = new Uint8Array(n);
  let at = 0;
  for (const w of parts) {
    all.set(w.bytes, at);
    at += w.bytes.length;
  }
  return all;
}

const RESOLVED: Promise<void> = Promise.resolve();
const IGNORE = (): void => {};

/** A promise settled by a waiter added to `waiters` (a rejection nobody awaits is not fatal). */
function settledBy(waiters: Waiter[]): Promise<void> {
  const p = new Promise<void>((resolve, reject) => waiters.push({ resolve, reject }));
  p.catch(IGNORE);
  return p;
}
const NOTHING = new Uint8Array(0);
/** No waiters: shared, never added to (frozen to make sure). */
const NO_WAITERS: Waiter[] = Object.freeze([]) as unknown as Waiter[];
/**
 * Frames one read loop handles in a batch before letting the other sessions run. A busy socket's
 * reads resolve one after another without a turn of the event loop that would look at the other
 * sockets: without a bound, a peer flooding us holds every other session up for as long as the
 * kernel has its bytes buffered (hundreds of ms).
 */
const READ_BATCH_FRAMES = 512;
/** The most time one batch takes (frames handled, reads not counted), ms. */
const READ_SLICE_MS = 2;
/** Frames between two looks at the time. */
const READ_CHECK = 64;
/**
 * A read that comes more than this long after the last batch of frames was handled starts a new
 * batch: the loop waited for it, the other sessions ran. (A busy socket's reads come at once.)
 */
const READ_IDLE_MS = 1;
/**
 * A read that brings at most this many frames, whole, starts a new batch too: a round trip
 * (order, report) or a trickle, not a flood, whose reads bring whatever the kernel buffered (a
 * 64 KiB read of TestRequests is 600 frames). Without it a steady round trip yielded every 512
 * messages, 80 µs on the critical path. A peer that keeps the socket busy with reads this small
 * costs the others at most the runtime's own bound (it polls the sockets every 61 turns).
 */
const READ_FEW_FRAMES = 16;
const DEFAULT_RESEND_BLOCK = 1000;
/**
 * The most bytes persisted batches wait in the encoder for a write in flight; beyond it they
 * are taken as they are persisted (the encoder's buffer does not grow with a blocked peer).
 */
const HOLD_MAX_BYTES = 256 * 1024;
/**
 * With a store that takes several flushes in flight, a batch that reaches this many messages
 * (or `PIPELINE_BATCH_BYTES`) is sealed: its store write starts at once and the next messages
 * form the next batch. A burst of puts then goes out in pieces, each sent once it is persisted
 * while the next ones are being persisted, instead of in one batch sent once all of it is.
 * Deno KV commits at most 1000 mutations and 800 KiB at once: such a batch is one commit.
 */
const PIPELINE_BATCH_MESSAGES = 900;
const PIPELINE_BATCH_BYTES = 512 * 1024;

/** Secret tag sets, shared by the sessions with the same credential tags (thousands of them). */
const SECRET_TAG_SETS = new Map<string, ReadonlySet<number>>();

/** The tags masked in a session's logs: the usual secrets and its credential tags. */
function secretTags(usernameTag: number, passwordTag: number): ReadonlySet<number> {
  const key = `${usernameTag},${passwordTag}`;
  let tags = SECRET_TAG_SETS.get(key);
  if (!tags) {
    tags = new Set([...SECRET_TAGS, usernameTag, passwordTag]);
    SECRET_TAG_SETS.set(key, tags);
  }
  return tags;
}

/**
 * Drives one session over one connection at a time.
 *
 * @example
 * ```ts ignore
 * const link = new Link({ core, store, clock, settings });
 * const ended = link.attach(connection);
 * await link.waitFor("established", { signal: AbortSignal.timeout(5000) });
 * ```
 */
export class Link {
  readonly #core: SessionCore;
  readonly #store: SeqStore;
  readonly #clock: Clock;
  readonly #s: SessionSettings;
  readonly #log: Logger;
  readonly #handler: LinkHandler;
  readonly #dataFields: ReadonlyMap<number, number> | undefined;
  readonly #events: EventHub<SessionEvent>;
  readonly #begin: string;
  readonly #name: string;
  readonly #out: FixEncoder;
  /** For `persist` actions and sizes (see `#scratch`); made when first needed. */
  #scratchEnc: FixEncoder | undefined;
  readonly #secretTags: ReadonlySet<number>;
  readonly #mlog: MessageLog | undefined;
  /** Messages received since the last write, for the message log: frames and their times. */
  #inLog: Uint8Array[] = [];
  #inLogAt: number[] = [];
  /** Start and end of each message in the batch being built (start -n-1: mask credentials). */
  #outLog: number[] = [];
  /**
   * Messages numbered while the counterparty is owed a resend answer: stored at once, handed to
   * the writer once the answer is (see `#startResend`). Their starts and ends as in `#outLog`,
   * their numbers, and the waiters of the `put()` calls that sent them.
   */
  #heldEnc: FixEncoder | undefined;
  #heldLog: number[] = [];
  #heldSeqs: number[] = [];
  #heldBatch: Promise<void> | undefined;
  #heldWaiters: Waiter[] = [];
  /** Resend answers started on the current connection and not finished. */
  #owed = 0;
  #conn: Connection | undefined;
  #closeReason: string | undefined;
  #timer: TimerHandle | undefined;
  #flushing = false;
  /** The store writes kept in flight at once (see `SeqStore.flushesInFlight`). */
  readonly #depth: number;
  #startScheduled = false;
  /** Store writes in flight, oldest first: batches, and the rest (no batch). See `#flushAsync`. */
  #persisting: { taken?: TakenBatch; t0: number; done: Promise<void> }[] = [];
  /** Messages stored in the batch being built. */
  #outCount = 0;
  #flushScheduled = false;
  #flushAgain = false;
  #batch: Promise<void> | undefined;
  /** Resolved once the batch is written (resend blocks, closing, late messages sent). */
  #batchWaiters: Waiter[] = [];
  /** The put() promise of the batch being built (`#batch`): resolved once it is persisted. */
  #persistWaiter: PromiseWithResolvers<void> | undefined;
  /** The actions of the inbound message being handled (see `#inbound`), and whether in use. */
  #inActions: Action[] = [];
  #inActionsBusy = false;
  /** Puts waiting for room under MaxOutgoingBufferSize, in order, from `#roomHead`. */
  #roomQueue: (Waiter & { message: FixMessage })[] = [];
  #roomHead = 0;
  #late = new Map<number, Waiter>();
  #refs = 0;
  #resetWaiters: Waiter[] = [];
  /** A store reset in progress: store writes wait for it, in order. */
  #resetting: Promise<void> | undefined;
  #deferred: (() => void)[] = [];
  #resends: Promise<void> = RESOLVED;
  /** A connection is attached, or its end is still being settled (see `#closed`). */
  #attached = false;
  /** Hears the current connection's end, with its reason (see `attachThen`). */
  #onEnded: ((reason: string) => void) | undefined;
  /** The current connection's end, made when first asked for (see `#detached`). */
  #endedVoid: Promise<void> | undefined;
  #resolveEnded: (() => void) | undefined;
  readonly #metrics: SessionMetrics = newMetrics();
  readonly #recentSize: number;
  #recent: RecentMessage[] = [];
  #recentAt = 0;
  #timerAtMs = -1;
  /** Since when the oldest write in flight has made no progress, or -1 (none in flight). */
  #writingSinceMs = -1;
  /** Socket writes issued and not yet completed. */
  #inflight = 0;
  /** The write in flight kept in fields (see `#issue`): its connection and batches. */
  #issuedConn: Connection | undefined;
  #issuedParts: PendingWrite | PendingWrite[] | undefined;
  /** The connection of the write in flight that later batches wait for (see `#write`). */
  #writeConn: Connection | undefined;
  /** Batches persisted while that write was in flight, in order. */
  #waitingWrites: PendingWrite[] = [];
  /** `#out` holds batches persisted while a write was in flight (see `#persistedInPlace`). */
  #outPersisted = false;
  /** Bytes taken for writing and not yet written (persisting or in flight). */
  #takenBytes = 0;
  /** The waiters of the batch taken last, until it is written (whenWritten joins them). */
  #lastBatch: Batch | undefined;
  /** Why the counterparty refused our last Logon, until a Logon succeeds. */
  #logonRefusal: string | undefined;
  /** Frames handled in the read loop's current batch (see READ_BATCH_FRAMES). */
  #batchFrames = 0;
  /** Frames the read loops have handled, for READ_FEW_FRAMES. */
  #framesRead = 0;
  /** Time spent handling frames in the current batch before the drain in progress, ms. */
  #batchWorkMs = 0;
  /** When the drain in progress started. */
  #drainStartMs = 0;
  /** `#drainStartMs` was read for the drain in progress and no frame has taken it yet. */
  #drainTimeFresh = false;

  /**
   * Creates a link for a session.
   *
   * @param options The core, store, clock and callbacks.
   */
  constructor(options: LinkOptions) {
    this.#core = options.core;
    this.#store = options.store;
    this.#depth = Math.max(1, options.store.flushesInFlight ?? 1);
    this.#clock = options.clock;
    this.#s = options.settings;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#handler = options.handler ?? {};
    this.#dataFields = options.dataFields;
    this.#events = new EventHub(options.eventQueueSize ?? 1024);
    this.#begin = options.core.beginString;
    this.#name = options.core.id.toString();
    // Small to start with (a thousand idle sessions stay light); they grow with the traffic.
    this.#out = new FixEncoder(this.#begin, 4096, { dataFields: options.dataFields });
    this.#recentSize = options.recentMessages ?? 0;
    this.#mlog = options.messageLog;
    this.#secretTags = secretTags(options.settings.usernameTag, options.settings.passwordTag);
  }

  /**
   * The encoder of messages held behind a resend answer (see `#startResend`). Made when first
   * needed, as `#scratch`: thousands of sessions made together (a logon storm) need neither.
   */
  get #held(): FixEncoder {
    return this.#heldEnc ??= new FixEncoder(this.#begin, 1024, { dataFields: this.#dataFields });
  }

  /** An encoder for `persist` actions and message sizes. */
  get #scratch(): FixEncoder {
    return this.#scratchEnc ??= new FixEncoder(this.#begin, 1024, { dataFields: this.#dataFields });
  }

  /** The session's protocol state machine. */
  get core(): SessionCore {
    return this.#core;
  }
  /** The session's store. */
  get store(): SeqStore {
    return this.#store;
  }
  /** The current state. */
  get state(): SessionState {
    return this.#core.state;
  }
  /** The next outgoing MsgSeqNum. */
  get nextSenderSeqNum(): number {
    return this.#core.nextSenderSeqNum;
  }
  /** The next expected inbound MsgSeqNum. */
  get nextTargetSeqNum(): number {
    return this.#core.nextTargetSeqNum;
  }
  /** The negotiated heartbeat interval in seconds. */
  get heartbeatIntervalSeconds(): number {
    return this.#core.heartbeatIntervalSeconds;
  }
  /** Application messages waiting for the session to be established. */
  get queuedMessages(): number {
    return this.#core.queuedMessages;
  }
  /** Whether a connection is attached. */
  get hasConnection(): boolean {
    return this.#conn !== undefined;
  }
  /** Bytes encoded and not yet handed to the connection. */
  get outgoingBytes(): number {
    return this.#queuedBytes;
  }

  /** The session's counters (a live view; copy it to keep a snapshot). */
  get metrics(): Readonly<SessionMetrics> {
    return this.#metrics;
  }

  /**
   * The last messages received and sent, oldest first, when the link keeps them
   * (`recentMessages` option).
   *
   * @returns A copy of the list.
   */
  recentMessages(): RecentMessage[] {
    const r = this.#recent;
    return r.length < this.#recentSize
      ? r.slice()
      : [...r.slice(this.#recentAt), ...r.slice(0, this.#recentAt)];
  }

  #remember(direction: "in" | "out", message: FixMessage): void {
    const entry = { atMs: this.#clock.now(), direction, message };
    if (this.#recent.length < this.#recentSize) this.#recent.push(entry);
    else {
      this.#recent[this.#recentAt] = entry;
      this.#recentAt = (this.#recentAt + 1) % this.#recentSize;
    }
  }

  // -------------------------------------------------------------------------------------------
  // Events

  /**
   * Subscribes to the session's events.
   *
   * @returns An async iterator of events from now on.
   */
  events(): AsyncIterableIterator<SessionEvent> {
    return this.#events.subscribe();
  }

  /** Ends every event subscription (the session is finalized). */
  closeEvents(): void {
    this.#events.close();
  }

  /**
   * Waits until the session reaches a state. Rejects when the initiator gives up reconnecting
   * (unless that state is awaited): with `LogonRejectedError` when the counterparty refused
   * our last Logon, else `ConnectionError`; or when the events end.
   *
   * @param state The state to wait for.
   * @param options Abort signal.
   * @returns Resolves when the state is reached.
   * @throws The signal's reason when aborted.
   */
  async waitFor(state: SessionState, options: { signal?: AbortSignal } = {}): Promise<void> {
    if (this.#core.state === state) return;
    options.signal?.throwIfAborted();
    const it = this.#events.subscribe();
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(options.signal!.reason);
      options.signal?.addEventListener("abort", onAbort, { once: true });
    });
    aborted.catch(() => {});
    try {
      while (true) {
        const r = await Promise.race([it.next(), aborted]);
        if (r.done) throw new Error(`Cannot wait for "${state}": session events ended`);
        const e = r.value;
        if (e.type === "stateChanged" && e.to === state) return;
        if (e.type === "reconnectFailed" && state !== "nonGracefullyTerminated") {
          const why = `Cannot wait for "${state}": session "${this.#name}" ${e.reason}`;
          throw this.#logonRefusal !== undefined
            ? new LogonRejectedError(
              `${why}; the counterparty refused the Logon: ${this.#logonRefusal}`,
            )
            : new ConnectionError(why);
        }
      }
    } finally {
      if (onAbort) options.signal?.removeEventListener("abort", onAbort);
      await it.return?.();
    }
  }

  // -------------------------------------------------------------------------------------------
  // Performing the core's actions

  /** Performs actions in order; returns a promise only when a delivery is awaited. */
  #run(actions: Action[], from = 0): Promise<void> | undefined {
    for (let i = from; i < actions.length; i++) {
      const a = actions[i];
      switch (a.type) {
        case "send": {
          // A new number waits for the resend answer owed (see #startResend); the answer's own
          // messages (resends and gap fills: already numbered) do not.
          const held = this.#owed > 0 && a.store !== "none";
          if (
            !held && a.store === "append" && this.#depth > 1 &&
            (this.#outCount >= PIPELINE_BATCH_MESSAGES || this.#out.length >= PIPELINE_BATCH_BYTES)
          ) {
            this.#seal();
          }
          const out = held ? this.#held : this.#out;
          const start = out.append(a.message, this.#begin);
          this.#metrics.messagesOut++;
          if (this.#recentSize > 0) this.#remember("out", a.message);
          if (held || this.#mlog) {
            // Logged after the socket write, from the written batch (see #logWritten).
            const t = a.message.msgType;
            const log = held ? this.#heldLog : this.#outLog;
            log.push(t === "A" || t === "BE" ? -start - 1 : start, out.length);
            if (held) this.#heldSeqs.push(a.seq);
          }
          if (a.store === "append") {
            if (!held) this.#outCount++;
            this.#storeAppend(a.seq, out.view(start, out.length));
          } else if (a.store === "advance") {
            if (this.#resetting) this.#defer(a);
            else this.#store.setNextSenderSeqNum(a.seq + 1);
          }
          this.#scheduleFlush();
          // Session messages count against the bound too (put() refuses before it is reached):
          // a peer that floods us and never reads cannot grow our memory without end.
          if (a.store === "advance" && this.#queuedBytes > this.#s.maxOutgoingBufferBytes) {
            this.#overflowed();
          }
          break;
        }
        case "persist": {
          this.#scratch.reset();
          const start = this.#scratch.append(a.message, this.#begin);
          this.#storeAppend(a.seq, this.#scratch.view(start, this.#scratch.length));
          break;
        }
        case "setTarget":
          if (this.#resetting) this.#defer(a);
          else this.#store.setNextTargetSeqNum(a.seq);
          this.#scheduleFlush();
          break;
        case "setSender":
          if (this.#resetting) this.#defer(a);
          else this.#store.setNextSenderSeqNum(a.seq);
          break;
        case "setTerminated":
          if (this.#resetting) this.#defer(a);
          else this.#store.setCorrectlyTerminated(a.value);
          this.#scheduleFlush();
          break;
        case "resetStore":
          this.#resetStore(a.atMs);
          break;
        case "deliver": {
          const r = this.#deliver(a.message);
          if (r) return r.then(() => this.#run(actions, i + 1));
          break;
        }
        case "answerLogout": {
          const r = this.#run(this.#core.answerPeerLogout(this.#clock.now()));
          if (r) return r.then(() => this.#run(actions, i + 1));
          break;
        }
        case "resend":
          this.#startResend(a.begin, a.end);
          break;
        case "close":
          this.#close(a.reason, a.flush, a.linger);
          break;
        case "timer":
          this.#timer?.cancel();
          this.#timerAtMs = a.atMs;
          this.#timer = this.#conn ? this.#clock.setTimer(a.atMs, this.#onTimer) : undefined;
          break;
        case "event":
          this.#publish(a.event);
          break;
        case "settle": {
          const w = this.#late.get(a.ref);
          if (!w) break;
          this.#late.delete(a.ref);
          if (a.error) w.reject(a.error);
          else this.#batchWaiters.push(w); // resolved once written
          break;
        }
        case "resetSettled": {
          const waiters = this.#resetWaiters;
          this.#resetWaiters = [];
          for (const w of waiters) {
            if (a.error) w.reject(new ResetNotConfirmedError(a.error.message));
            else w.resolve();
          }
          break;
        }
      }
    }
    return undefined;
  }

  #publish(event: SessionEvent): void {
    const m = this.#metrics;
    switch (event.type) {
      case "logout":
        if (this.#core.state === "waitingForConfirmLogon") {
          this.#logonRefusal = event.text ?? "no reason given";
        }
        break;
      case "logon":
        this.#logonRefusal = undefined;
        m.logons++;
        break;
      case "rejectSent":
        m.rejectsSent++;
        break;
      case "rejectReceived":
        m.rejectsReceived++;
        break;
      case "resendAnswered":
        m.resendsAnswered++;
        m.messagesResent += event.resent;
        break;
      case "garbled":
        m.garbled++;
        break;
      case "disconnected":
        m.disconnects++;
        break;
    }
    this.#events.publish(event);
    const h = this.#handler.onEvent;
    if (!h) return;
    try {
      h(event);
    } catch (e) {
      this.#log.error("event handler failed", { session: this.#name, error: `${e}` });
    }
  }

  /** Hands a message to the application; a failure becomes the core's reject. */
  #deliver(message: FixMessage): Promise<void> | undefined {
    const onMessage = this.#handler.onMessage;
    if (!onMessage) return undefined;
    let r: void | Promise<void>;
    try {
      r = onMessage(message);
    } catch (e) {
      this.#run(this.#core.deliveryFailed(message, e, this.#clock.now()));
      return undefined;
    }
    if (!(r instanceof Promise)) return undefined;
    return r.then(undefined, (e) => {
      this.#run(this.#core.deliveryFailed(message, e, this.#clock.now()));
    });
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    const now = this.#clock.now();
    const late = Math.max(0, now - this.#timerAtMs);
    this.#metrics.timerLatenessMs = late;
    if (late > this.#metrics.timerLatenessMaxMs) this.#metrics.timerLatenessMaxMs = late;
    if (this.#writeStalled(now)) return;
    this.#run(this.#core.onTimer(now));
  };

  /**
   * A peer that has not taken a byte for a whole heartbeat timeout (HeartBtInt plus the
   * reasonable transmission time) is gone, however much it sends: the link is dropped.
   */
  #writeStalled(now: number): boolean {
    const hbMs = this.#core.heartbeatIntervalSeconds * 1000;
    if (this.#writingSinceMs < 0 || hbMs === 0 || !this.#conn) return false;
    const graceMs = hbMs * (1 + this.#s.reasonableTransmissionTimePercent / 100);
    if (now - this.#writingSinceMs < graceMs) return false;
    this.#log.warn("peer has not read for a heartbeat timeout; dropping the connection", {
      session: this.#name,
      blockedForMs: now - this.#writingSinceMs,
      queuedBytes: this.#queuedBytes,
    });
    this.#closeReason ??= "peer stopped reading";
    this.#run(this.#core.drop("peer stopped reading", now));
    return true;
  }

  /** Over MaxOutgoingBufferSize queued (a peer that sends and never reads): drop the link. */
  #overflowed(): void {
    const max = this.#s.maxOutgoingBufferBytes;
    if (this.#queuedBytes <= max || !this.#conn || this.#core.closing) return;
    this.#log.warn("outgoing buffer over MaxOutgoingBufferSize; dropping the connection", {
      session: this.#name,
      queuedBytes: this.#queuedBytes,
      maxBytes: max,
    });
    this.#closeReason ??= "outgoing buffer full";
    this.#run(this.#core.drop("outgoing buffer full", this.#clock.now()));
  }

  // -------------------------------------------------------------------------------------------
  // Store, in order (writes made while a reset runs wait for it)

  /** Keeps a store write made while a reset runs, to apply once it is done (rare). */
  #defer(a: Action): void {
    const store = this.#store;
    switch (a.type) {
      case "send":
        this.#deferred.push(() => store.setNextSenderSeqNum(a.seq + 1));
        break;
      case "setTarget":
        this.#deferred.push(() => store.setNextTargetSeqNum(a.seq));
        break;
      case "setSender":
        this.#deferred.push(() => store.setNextSenderSeqNum(a.seq));
        break;
      case "setTerminated":
        this.#deferred.push(() => store.setCorrectlyTerminated(a.value));
        break;
    }
  }

  #storeAppend(seq: number, bytes: Uint8Array): void {
    if (this.#resetting) {
      const copy = bytes.slice();
      this.#deferred.push(() => this.#store.appendOutgoing(seq, copy));
    } else this.#store.appendOutgoing(seq, bytes);
  }

  #resetStore(atMs: number): void {
    const before = this.#resetting ?? RESOLVED;
    const deferred = this.#deferred;
    this.#deferred = [];
    const done: Promise<void> = before.then(() => {
      for (const op of deferred) op();
      return this.#store.reset(atMs);
    }).then(
      () => this.#resetDone(done),
      (e) => {
        // The store kept (or closed) its old sequence: the writes made for the new one must
        // not reach it. The link ends; the store's numbers stand.
        if (this.#resetting === done) {
          this.#resetting = undefined;
          this.#deferred = [];
          // The core's numbers follow the store's again.
          this.#core.restoreNumbers(this.#store.state);
        }
        this.#storeFailed(e);
      },
    );
    this.#resetting = done;
  }

  #resetDone(done: Promise<void>): void {
    if (this.#resetting !== done) return;
    this.#resetting = undefined;
    const ops = this.#deferred;
    this.#deferred = [];
    for (const op of ops) op();
  }

  /** Resolves once every store write made so far is durable. */
  #persisted(): Promise<void> {
    const flush = () => this.#store.flush();
    const p = this.#resetting ? this.#resetting.then(flush) : flush();
    p.catch((e) => this.#storeFailed(e));
    return p;
  }

  #storeFailed(e: unknown): void {
    this.#log.error("store write failed; disconnecting", { session: this.#name, error: `${e}` });
    this.#publish({ type: "error", atMs: this.#clock.now(), error: e });
    this.#closeReason ??= `store write failed: ${e}`;
    this.#conn?.close(this.#closeReason);
  }

  // -------------------------------------------------------------------------------------------
  // Group commit: the store first, then one socket write

  /** Logs what arrived since the last write, then the batch just written. */
  #logWritten(batch: Uint8Array, outLog: number[]): void {
    const log = this.#mlog!;
    const inLog = this.#inLog;
    if (inLog.length > 0) {
      const at = this.#inLogAt;
      for (let i = 0; i < inLog.length; i++) log.append("in", at[i], inLog[i]);
      this.#inLog = [];
      this.#inLogAt = [];
    }
    if (outLog.length > 0) {
      const now = this.#clock.now();
      for (let i = 0; i < outLog.length; i += 2) {
        const s = outLog[i];
        const bytes = batch.subarray(s < 0 ? -s - 1 : s, outLog[i + 1]);
        log.append("out", now, s < 0 ? maskFrame(bytes, this.#secretTags) : bytes);
      }
    }
    log.flush();
  }

  #scheduleFlush(): void {
    if (this.#flushing) {
      this.#flushAgain = true;
      if (this.#depth > 1 && !this.#startScheduled) {
        this.#startScheduled = true;
        queueMicrotask(this.#startTask);
      }
      return;
    }
    if (this.#flushScheduled) return;
    this.#flushScheduled = true;
    queueMicrotask(this.#flushTask);
  }

  /**
   * With a store that takes several flushes in flight: the batch built in this turn starts its
   * store write while earlier ones are still in flight, if there is room under the bound.
   */
  readonly #startTask = (): void => {
    this.#startScheduled = false;
    if (this.#flushing && this.#persisting.length < this.#depth) this.#seal();
  };

  readonly #flushTask = (): void => {
    this.#flushScheduled = false;
    this.#flush();
  };

  /** Bytes encoded and not yet written: queued, held behind a resend answer, being persisted or in flight. */
  get #queuedBytes(): number {
    return this.#out.length + this.#takenBytes + (this.#heldEnc?.length ?? 0);
  }

  /**
   * The group commit: each batch is persisted, then its socket write issued; the next batch
   * is persisted while that write is in flight (the connection keeps writes in order). Done
   * without a promise while the store commits synchronously (`flushSync`), else awaited.
   */
  #flush(): void {
    if (this.#flushing) return;
    if (
      this.#store.flushSync === undefined || this.#resetting || this.#persisting.length > 0 ||
      !this.#flushQuick()
    ) {
      this.#flushAsync();
    }
  }

  /**
   * The group commit while the store commits synchronously. Returns false, having done nothing
   * further, as soon as the store would have to wait: the awaited version goes on from there.
   */
  #flushQuick(): boolean {
    const store = this.#store;
    this.#flushing = true;
    try {
      do {
        this.#flushAgain = false;
        while (this.#out.length > 0) {
          // Persisted first, then taken: synchronous, so the same messages either way.
          const t0 = this.#clock.now();
          let done: boolean;
          try {
            done = store.flushSync!(true);
          } catch (e) {
            this.#batchFailed(this.#takeBatch(), e);
            return true;
          }
          if (!done) return false;
          if (
            this.#writeConn !== undefined && this.#writeConn === this.#conn &&
            this.#out.length <= HOLD_MAX_BYTES
          ) {
            // A write is in flight on this connection: this batch cannot go out before it
            // ends. Its bytes stay in place and go out with what follows in one write then
            // (an awaited put() loop makes a batch per message: no copy and no write each).
            this.#persistedInPlace(t0);
            break;
          }
          this.#batchPersisted(this.#takeBatch(), t0);
        }
        let done: boolean;
        try {
          done = store.flushSync!(false);
        } catch (e) {
          this.#storeFailed(e);
          return true;
        }
        if (!done) return false;
        if (this.#mlog && this.#inLog.length > 0) this.#logWritten(NOTHING, []);
      } while ((this.#out.length > 0 && !this.#outPersisted) || this.#flushAgain);
      this.#flushDone();
      return true;
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * The group commit, awaiting the store (see `#flush`). With a store that takes several
   * flushes in flight (`flushesInFlight`), the next batches are taken and their store writes
   * started while earlier ones are still being persisted; each batch's socket write still waits
   * for its own store write and every earlier one, in order.
   */
  async #flushAsync(): Promise<void> {
    if (this.#flushing) return;
    this.#flushing = true;
    const store = this.#store;
    const depth = this.#depth;
    const persisting = this.#persisting;
    try {
      do {
        this.#flushAgain = false;
        if (this.#resetting) await this.#resetting;
        let rest = false;
        while (true) {
          // A reset started meanwhile: what follows waits for it (see the top of the loop).
          while (this.#out.length > 0 && persisting.length < depth && !this.#resetting) {
            const taken = this.#takeBatch();
            // What sending depends on: the messages and the sender number.
            const t0 = this.#clock.now();
            persisting.push({
              taken,
              t0,
              done: this.#storeWrite(store.flushOutgoing ? "flushOutgoing" : "flush"),
            });
          }
          if (persisting.length === 0) {
            if (rest) break;
            // The rest (inbound numbers, the terminated marker) after the writes.
            rest = true;
            persisting.push({ t0: 0, done: this.#storeWrite("flush") });
          }
          // Left in the list while awaited: it counts against the bound (see `#startTask`).
          const first = persisting[0];
          try {
            await first.done;
          } catch (e) {
            persisting.shift();
            if (first.taken) this.#batchFailed(first.taken, e);
            else this.#storeFailed(e);
            // The batches after it are not sent either: the peer would see a gap.
            for (const later of persisting.splice(0)) {
              if (later.taken) this.#batchDropped(later.taken, e);
            }
            return;
          }
          persisting.shift();
          if (first.taken) this.#batchPersisted(first.taken, first.t0);
          // Messages that got no answer are logged too.
          else if (this.#mlog && this.#inLog.length > 0) this.#logWritten(NOTHING, []);
        }
      } while (this.#out.length > 0 || this.#flushAgain);
      this.#flushDone();
    } finally {
      this.#flushing = false;
    }
  }

  /**
   * Starts the store write of the batch built so far, to be sent once persisted (see
   * `PIPELINE_BATCH_MESSAGES`); the flush in progress, or the next one, takes it up.
   */
  #seal(): void {
    if (this.#resetting || this.#out.length === 0) return;
    const taken = this.#takeBatch();
    const t0 = this.#clock.now();
    const store = this.#store;
    this.#persisting.push({
      taken,
      t0,
      done: this.#storeWrite(store.flushOutgoing ? "flushOutgoing" : "flush"),
    });
    this.#scheduleFlush();
  }

  /** Starts a store write; a throw becomes the promise's rejection. */
  #storeWrite(op: "flush" | "flushOutgoing"): Promise<void> {
    let done: Promise<void>;
    try {
      done = op === "flush" ? this.#store.flush() : this.#store.flushOutgoing!();
    } catch (e) {
      done = Promise.reject(e);
    }
    done.catch(IGNORE);
    return done;
  }

  /** Takes the batch built so far: its bytes, log offsets and waiters. */
  #takeBatch(): TakenBatch {
    this.#outPersisted = false;
    // No copy: the buffer goes back to the encoder once written (see `#written`).
    const bytes = this.#out.lend();
    this.#outCount = 0;
    const outLog = this.#outLog;
    if (outLog.length > 0) this.#outLog = [];
    const batch = { waiters: this.#takeBatchWaiters(), written: false };
    this.#lastBatch = batch;
    const persisted = this.#takePersistWaiter();
    this.#batch = undefined;
    this.#takenBytes += bytes.length;
    return { bytes, outLog, batch, persisted };
  }

  /**
   * The batch being built is persisted while a write is in flight: its puts resolve, its bytes
   * wait in `#out` for that write to end (`#settle` takes them with what follows).
   */
  #persistedInPlace(t0: number): void {
    this.#storeWriteTook(t0);
    this.#outPersisted = true;
    const persisted = this.#takePersistWaiter();
    this.#batch = undefined;
    persisted?.resolve();
    if (this.#roomHead < this.#roomQueue.length) this.#admitWaiting();
  }

  /** The metrics of a store write that started at `t0`; returns the time it ended. */
  #storeWriteTook(t0: number): number {
    const now = this.#clock.now();
    const took = now - t0;
    this.#metrics.storeWriteMs = took;
    // Without a branch: a new maximum is rare after the first writes, so the assignment had
    // no type feedback when V8 optimized the group commit, which it deoptimized at the next one.
    this.#metrics.storeWriteMaxMs = Math.max(this.#metrics.storeWriteMaxMs, took);
    return now;
  }

  /** The store could not persist a batch: it is not sent, its puts fail. */
  #batchFailed(taken: TakenBatch, e: unknown): void {
    this.#batchDropped(taken, e, true);
  }

  /**
   * A batch is not sent (its store write, or an earlier one, failed): its puts fail. With
   * `report`, the failure is reported and the connection closed.
   */
  #batchDropped(taken: TakenBatch, e: unknown, report = false): void {
    this.#takenBytes -= taken.bytes.length;
    taken.batch.written = true;
    if (report) this.#storeFailed(e);
    const err = e instanceof Error ? e : new Error(String(e));
    const persisted = taken.persisted;
    if (persisted) {
      // Handled first: a put() whose promise nobody awaits must not be an unhandled rejection.
      persisted.promise.catch(IGNORE);
      persisted.reject(err);
    }
    for (const w of taken.batch.waiters) w.reject(err);
  }

  /** A batch is persisted: its write is issued and its puts resolve. */
  #batchPersisted(taken: TakenBatch, t0: number): void {
    // The store write's end is the socket write's start (one clock read for both).
    const now = this.#storeWriteTook(t0);
    const conn = this.#conn;
    if (conn) this.#write(conn, taken, now);
    else this.#written(taken.bytes, taken.batch, undefined);
    // Persisted and its write issued: an awaited put() loop fills the next batch now.
    taken.persisted?.resolve();
    if (this.#roomHead < this.#roomQueue.length) this.#admitWaiting();
  }

  /** Nothing more to persist: the waiters without a batch of their own settle. */
  #flushDone(): void {
    const restPersisted = this.#takePersistWaiter();
    this.#batch = undefined;
    restPersisted?.resolve();
    // Bytes persisted in place: the waiters wait for their write.
    if (this.#outPersisted) return;
    const rest = this.#takeBatchWaiters();
    if (rest.length === 0) return;
    // Waiters with no batch of their own: resolved once the last batch is written.
    const last = this.#lastBatch;
    if (last && !last.written) {
      if (last.waiters === NO_WAITERS) last.waiters = rest;
      else last.waiters.push(...rest);
    } else for (const w of rest) w.resolve();
  }

  /**
   * The waiters for the batch being built to be written, leaving none; the shared empty list
   * when there are none (a batch per round trip made two arrays each).
   */
  #takeBatchWaiters(): Waiter[] {
    const w = this.#batchWaiters;
    if (w.length === 0) return NO_WAITERS;
    this.#batchWaiters = [];
    return w;
  }

  /** The put() promise of the batch being built, leaving none. */
  #takePersistWaiter(): PromiseWithResolvers<void> | undefined {
    const w = this.#persistWaiter;
    this.#persistWaiter = undefined;
    return w;
  }

  /**
   * Issues a batch's socket write; its waiters resolve once it is written. While a write to
   * the same connection is in flight, the batch waits and goes out with the others persisted
   * meanwhile in one write when it completes (an awaited `put()` loop makes a batch per
   * message: one write per message would cost an event-loop turn each).
   */
  #write(conn: Connection, part: PendingWrite, now?: number): void {
    if (this.#writeConn === conn) {
      this.#waitingWrites.push(part);
      return;
    }
    if (this.#waitingWrites.length > 0) {
      // Left by a closed connection's write: never sent there, resent after the next Logon.
      const old = this.#waitingWrites;
      this.#waitingWrites = [];
      for (const w of old) this.#written(w.bytes, w.batch, undefined);
    }
    this.#issue(conn, part.bytes, part, now);
  }

  /**
   * Issues one socket write of `bytes`: the batch `parts` (one, or those waiting, in order).
   * `now`: the time, when the caller has just read it.
   */
  #issue(
    conn: Connection,
    bytes: Uint8Array,
    parts: PendingWrite | PendingWrite[],
    now?: number,
  ): void {
    if (this.#inflight++ === 0) this.#writingSinceMs = now ?? this.#clock.now();
    this.#writeConn = conn;
    this.#metrics.bytesOut += bytes.length;
    let p: Promise<void>;
    try {
      p = conn.write(bytes);
    } catch (e) {
      p = Promise.reject(e);
    }
    if (this.#issuedConn === undefined) {
      // The usual case, one write in flight: it is kept in fields, no closures per write.
      this.#issuedConn = conn;
      this.#issuedParts = parts;
      p.then(this.#onIssued, this.#onIssueFailed);
      return;
    }
    // Another one in flight (the last connection's, or a write on this one before it ended).
    p.then(() => this.#settle(conn, parts, true), (e) => this.#writeFailed(conn, parts, e));
  }

  readonly #onIssued = (): void => this.#issuedDone(true);

  readonly #onIssueFailed = (e: unknown): void => this.#issuedDone(false, e);

  /** The write kept in fields completed (`sent`) or failed with `e`. */
  #issuedDone(sent: boolean, e?: unknown): void {
    const conn = this.#issuedConn!;
    const parts = this.#issuedParts!;
    this.#issuedConn = undefined;
    this.#issuedParts = undefined;
    if (sent) this.#settle(conn, parts, true);
    else this.#writeFailed(conn, parts, e);
  }

  #writeFailed(conn: Connection, parts: PendingWrite | PendingWrite[], e: unknown): void {
    // Persisted but not sent: the peer gets it by resend after reconnecting.
    this.#log.warn("write failed", { session: this.#name, error: `${e}` });
    this.#settle(conn, parts, false);
  }

  /** A write completed (`sent`) or failed: its batches are written, the waiting ones go next. */
  #settle(conn: Connection, parts: PendingWrite | PendingWrite[], sent: boolean): void {
    this.#inflight--;
    this.#writingSinceMs = this.#inflight > 0 ? this.#clock.now() : -1;
    if (Array.isArray(parts)) {
      for (let i = 0; i < parts.length; i++) {
        const w = parts[i];
        this.#written(w.bytes, w.batch, sent ? w.outLog : undefined);
      }
    } else this.#written(parts.bytes, parts.batch, sent ? parts.outLog : undefined);
    // The batches waiting are this connection's (a newer connection writes on its own).
    if (this.#writeConn !== conn) return;
    this.#writeConn = undefined;
    const next = this.#waitingWrites;
    if (next.length > 0) {
      this.#waitingWrites = [];
      if (sent) this.#issue(conn, next.length === 1 ? next[0].bytes : concat(next), next);
      else for (const w of next) this.#written(w.bytes, w.batch, undefined);
    }
    // What was persisted in place meanwhile goes next (after those, once they are written).
    if (this.#outPersisted && this.#writeConn === undefined) this.#flush();
  }

  /**
   * A batch is written, or its write failed or it had no connection to go to (`outLog`
   * undefined: not logged as sent; a dropped flooder leaves up to MaxOutgoingBufferSize of
   * them, and logging them all at once stalled every session).
   */
  #written(bytes: Uint8Array, batch: Batch, outLog: number[] | undefined): void {
    this.#takenBytes -= bytes.length;
    batch.written = true;
    const waiters = batch.waiters;
    for (let i = 0; i < waiters.length; i++) waiters[i].resolve();
    // After the socket write: the message log never delays the counterparty.
    if (this.#mlog) this.#logWritten(outLog ? bytes : NOTHING, outLog ?? []);
    // Not sent after a Logout exchange: the session is not correctly terminated after all.
    if (outLog === undefined && bytes.length > 0 && this.#core.correctlyTerminated) {
      this.#run(this.#core.undelivered());
    }
    this.#out.recycle(bytes);
    if (this.#roomHead < this.#roomQueue.length) this.#admitWaiting();
  }

  /**
   * Resolves once everything queued so far is written: with the next batch when messages are
   * queued, else with the batch taken last (batches are written in order). Later messages
   * never hold it back.
   */
  #whenWritten(): Promise<void> {
    const last = this.#lastBatch;
    if (this.#out.length === 0 && !this.#flushScheduled && (!last || last.written)) {
      return RESOLVED;
    }
    return new Promise<void>((resolve) => {
      const w = { resolve, reject: () => resolve() };
      if (this.#out.length > 0 || this.#flushScheduled || !last) this.#batchWaiters.push(w);
      else if (last.waiters === NO_WAITERS) last.waiters = [w];
      else last.waiters.push(w);
    });
  }

  /** The promise of the messages held behind a resend answer (see `#release`). */
  #heldPromise(): Promise<void> {
    return this.#heldBatch ??= settledBy(this.#heldWaiters);
  }

  /** One promise per batch, shared by every message put in the same turn. */
  #batchPromise(): Promise<void> {
    let p = this.#batch;
    if (p === undefined) {
      // Its resolvers are its waiter: no executor closure, no waiter object, no list. Marked
      // handled only when it fails (see #batchDropped): no derived promise per batch.
      const r = Promise.withResolvers<void>();
      p = r.promise;
      this.#persistWaiter = r;
      this.#batch = p;
    }
    return p;
  }

  // -------------------------------------------------------------------------------------------
  // Resend answers: read from the store in blocks (ResendMessagesBlockSize messages, at most
  // half of MaxOutgoingBufferSize bytes), each read only once the previous one was written

  /**
   * Starts answering a ResendRequest. Until the answer is in the writer (read from the store,
   * which may take a while), a message taking a new number is stored but held (see `#run`):
   * sent before the answer, a number above the requested range would reach the peer while it
   * still waits for the range, and a peer that takes its queued messages as they come (QuickFIX
   * does) can end up waiting for a number that was gap-filled before its turn. Held messages
   * that this answer covers (numbered before a request merged into it) go first.
   */
  #startResend(begin: number, end: number): void {
    const conn = this.#conn;
    this.#release(end);
    this.#owed++;
    this.#resends = this.#resends.then(() => this.#resend(begin, end, conn)).catch((e) => {
      this.#log.error("resend failed", { session: this.#name, error: `${e}` });
      this.#publish({ type: "error", atMs: this.#clock.now(), error: e });
    }).finally(() => {
      // A closed connection dropped its held messages; a later one owes nothing for this one.
      if (this.#conn === conn && this.#owed > 0 && --this.#owed === 0) this.#release(Infinity);
    });
  }

  /** Hands the held messages numbered up to `upTo` to the writer, in order. */
  #release(upTo: number): void {
    const seqs = this.#heldSeqs;
    let n = 0;
    while (n < seqs.length && seqs[n] <= upTo) n++;
    if (n === 0) return;
    const log = this.#heldLog;
    const end = log[2 * n - 1];
    const shift = this.#out.appendBytes(this.#held.view(0, end));
    if (this.#mlog) {
      for (let i = 0; i < 2 * n; i += 2) {
        const s = log[i];
        this.#outLog.push(s < 0 ? s - shift : s + shift, log[i + 1] + shift);
      }
    }
    if (n === seqs.length) this.#clearHeld();
    else {
      // The rest moves to the front (rare: a request merged into the next answer).
      const rest = this.#held.view(end, this.#held.length).slice();
      this.#held.reset();
      this.#held.appendBytes(rest);
      this.#heldLog = log.slice(2 * n).map((v, i) => i % 2 === 0 && v < 0 ? v + end : v - end);
      this.#heldSeqs = seqs.slice(n);
    }
    this.#scheduleFlush();
  }

  /** Forgets the held messages (the connection closed): stored, the peer gets them by resend. */
  #dropHeld(): void {
    this.#owed = 0;
    // Resolved once the store has them, as the writer does with bytes it could not send.
    this.#clearHeld();
    this.#scheduleFlush();
  }

  /** Empties the held messages; their put() waiters go with the next batch written. */
  #clearHeld(): void {
    this.#heldEnc?.reset();
    this.#heldLog = [];
    this.#heldSeqs = [];
    this.#batchWaiters.push(...this.#heldWaiters);
    this.#heldWaiters = [];
    this.#heldBatch = undefined;
  }

  async #resend(begin: number, end: number, conn: Connection | undefined): Promise<void> {
    const size = this.#s.resendMessagesBlockSize > 0
      ? this.#s.resendMessagesBlockSize
      : DEFAULT_RESEND_BLOCK;
    // Half the bound: a block and what else is queued stay under MaxOutgoingBufferSize.
    const maxBytes = this.#s.maxOutgoingBufferBytes / 2;
    let block: StoredMessage[] = [];
    let bytes = 0;
    // Messages just stored may still be buffered in the store: written first, so that a store
    // reading only what it has written serves them instead of a gap fill over them.
    await this.#persisted().catch(() => {});
    if (this.#conn !== conn) return;
    for await (const stored of this.#store.readOutgoing(begin, end)) {
      if (this.#conn !== conn) return;
      if (block.length >= size || bytes >= maxBytes) {
        // A full block goes out once more follows (the last one goes with the final gap fill).
        this.#run(this.#core.resendBlock(block, this.#clock.now()));
        block = [];
        bytes = 0;
        // Bounded: the next block is read only once this one is handed to the connection.
        await this.#whenWritten();
        if (this.#conn !== conn) return;
      }
      block.push(stored);
      bytes += stored.bytes.length;
    }
    if (this.#conn !== conn) return;
    this.#run(this.#core.resendBlock(block, this.#clock.now()));
    this.#run(this.#core.resendDone(this.#clock.now()));
    await this.#whenWritten();
    if (this.#conn === conn) this.#run(this.#core.resendWritten(this.#clock.now()));
  }

  // -------------------------------------------------------------------------------------------
  // The connection

  /**
   * Attaches a connection and runs the session over it until it closes. An initiator sends
   * its Logon at once; an acceptor admits `first` (the Logon the engine routed), or waits.
   *
   * @param conn The connection.
   * @param first The Logon already read (acceptors).
   * @returns Resolves with the close reason when the connection ends.
   * @throws {Error} When a connection is attached already.
   */
  attach(conn: Connection, first?: FirstMessage): Promise<string> {
    const done = Promise.withResolvers<string>();
    this.attachThen(conn, first, done.resolve);
    return done.promise;
  }

  /**
   * Same as `attach`, telling `onEnded` when the connection ends rather than resolving a
   * promise: an acceptor's sessions (thousands of them after a logon storm) keep no promise
   * for as long as their connections live.
   *
   * @param conn The connection.
   * @param first The Logon already read (acceptors).
   * @param onEnded Hears the close reason once the connection has ended.
   * @throws {Error} When a connection is attached already.
   */
  attachThen(
    conn: Connection,
    first: FirstMessage | undefined,
    onEnded: (reason: string) => void,
  ): void {
    if (this.#conn) throw new Error(`Cannot attach: session "${this.#name}" is already connected`);
    this.#conn = conn;
    this.#closeReason = undefined;
    this.#attached = true;
    this.#onEnded = onEnded;
    this.#endedVoid = undefined;
    this.#resolveEnded = undefined;
    // The session's own framer (not the one the engine read the Logon with: that one's block
    // dies young, where handing it over kept it with every connection of a logon storm).
    let framer: FixFramer | undefined;
    if (first?.rest) {
      framer = this.#newFramer();
      framer.push(first.rest);
    }
    this.#run(this.#core.connected(this.#clock.now(), conn.remoteHost));
    this.#startReading(new LinkReader(conn, framer, this.#readHandler, this.#framesRead), first);
  }

  /**
   * Reads the connection until it ends: the routed Logon first, then every chunk, each drained
   * before the next read; the connection is closed after. A `LinkReader` (one small object per
   * connection) hears the reads and hands them to the link's own methods: no async function,
   * closure or derived promise is kept for as long as the connection lives (a suspended async
   * function keeps a frame of some 500 bytes, and after a logon storm young GCs copy thousands
   * of whatever each connection keeps). It behaves as `for await (const chunk of conn)` does:
   * leaving early (another connection attached, a failure while handling a chunk) closes the
   * iteration first.
   */
  #startReading(reader: LinkReader, first?: FirstMessage): void {
    try {
      const r = first ? this.#inbound(first.message, first.frame) : undefined;
      if (r) r.then(() => this.#drainFirst(reader), (e) => this.#endReading(reader, e));
      else this.#drainFirst(reader);
    } catch (e) {
      this.#endReading(reader, e);
    }
  }

  #drainFirst(reader: LinkReader): void {
    try {
      this.#drainStartMs = this.#clock.now();
      const d = reader.framer && this.#drainFrom(reader.framer, reader.conn);
      if (d) d.then(() => this.#readOn(reader), (e) => this.#endReading(reader, e));
      else this.#readOn(reader);
    } catch (e) {
      this.#endReading(reader, e);
    }
  }

  /** Everything read so far is handled: reads the next chunk. */
  #readOn(reader: LinkReader): void {
    if (
      this.#framesRead - reader.framesBefore <= READ_FEW_FRAMES && !reader.framer?.buffered
    ) {
      // A read of a few whole frames: the loop is caught up with the peer (a round trip, a
      // trickle), not flooded; it waits for the next bytes, which lets the other sockets in.
      // The drain's start stands for its end (a few frames take microseconds; what it is for,
      // READ_IDLE_MS, is a millisecond): no clock read.
      reader.endMs = this.#drainStartMs;
      this.#newReadBatch();
    } else {
      const endMs = reader.endMs = this.#clock.now();
      this.#batchWorkMs += endMs - this.#drainStartMs;
    }
    reader.readNext();
  }

  /** Hears a connection's reads (one object per link, made with it). */
  readonly #readHandler: LinkReadHandler = {
    chunk: (reader, chunk) => this.#onChunk(reader, chunk),
    end: (reader, error) => this.#endReading(reader, error),
  };

  #onChunk(reader: LinkReader, chunk: Uint8Array): void {
    if (this.#conn !== reader.conn) return this.#leaveReading(reader);
    try {
      const framer = reader.framer ??= this.#newFramer();
      const now = this.#clock.now();
      framer.push(chunk, now);
      if (now - reader.endMs > READ_IDLE_MS) {
        // The loop waited for these bytes: a new batch (a yield would hold them up).
        this.#newReadBatch();
      }
      this.#drainStartMs = now;
      reader.framesBefore = this.#framesRead;
      const d = this.#drainFrom(framer, reader.conn);
      if (d) d.then(() => this.#readOn(reader), (e) => this.#leaveReading(reader, e));
      else this.#readOn(reader);
    } catch (e) {
      this.#leaveReading(reader, e);
    }
  }

  /** A framer with the session's MaxMessageSize and its dictionaries' data fields. */
  #newFramer(): FixFramer {
    return new FixFramer({ maxMessageSize: this.#s.maxMessageSize, dataFields: this.#dataFields });
  }

  /** The reading ended (`e`: a failure): closes the connection and hears its end. */
  #endReading(reader: LinkReader, e?: unknown): void {
    if (e !== undefined) {
      this.#log.error("session read loop failed", { session: this.#name, error: `${e}` });
      this.#publish({ type: "error", atMs: this.#clock.now(), error: e });
    }
    const conn = reader.conn;
    conn.close("read loop ended");
    conn.closed.then((reason) => this.#closed(conn, reason));
  }

  /** Leaves the reading while the iteration is open: closes it, then ends (`e`: a failure). */
  #leaveReading(reader: LinkReader, e?: unknown): void {
    let closing: Promise<unknown> | undefined;
    try {
      closing = reader.stop();
    } catch {
      // As for-await: a failing return() does not hide why the loop was left.
    }
    if (closing) {
      closing.then(() => this.#endReading(reader, e), () => this.#endReading(reader, e));
    } else this.#endReading(reader, e);
  }

  /**
   * Resolves when the current (or last) connection has ended. Made when first asked for: a
   * logon storm's thousands of connections would each keep one more promise.
   */
  #detached(): Promise<void> {
    if (!this.#attached) return RESOLVED;
    return this.#endedVoid ??= new Promise<void>((resolve) => this.#resolveEnded = resolve);
  }

  /**
   * Drains from a start whose time was just read into `#drainStartMs`: the first frame takes
   * that time instead of reading the clock again (see `#inbound`).
   */
  #drainFrom(framer: FixFramer, conn: Connection): Promise<void> | undefined {
    this.#drainTimeFresh = true;
    try {
      return this.#drain(framer, conn);
    } finally {
      this.#drainTimeFresh = false;
    }
  }

  /** Processes every whole frame buffered; returns a promise only when a handler is async. */
  #drain(framer: FixFramer, conn: Connection): Promise<void> | undefined {
    while (this.#conn === conn) {
      if (this.#batchSpent()) {
        // A peer flooding us shares the event loop: other sessions run between batches, also
        // when the batch ends with a chunk (the next read would resolve at once).
        this.#newReadBatch();
        // What arrived waits for the next socket write to be logged; while a write is blocked,
        // it is logged batch by batch instead of all at once when the write ends.
        if (this.#mlog && this.#writingSinceMs >= 0 && this.#inLog.length > 0) {
          this.#logWritten(NOTHING, []);
        }
        return yieldToOthers().then(() => {
          this.#drainStartMs = this.#clock.now();
          return this.#drainFrom(framer, conn);
        });
      }
      // Framed and decoded in one pass: a framing error, a CheckSum error or a decoding error.
      const msg = framer.nextMessage();
      if (msg === undefined) return undefined;
      this.#batchFrames++;
      this.#framesRead++;
      if (msg instanceof FixParseError) {
        this.#run(this.#core.onGarbled(msg, this.#clock.now()));
        continue;
      }
      const r = this.#inbound(msg, framer);
      if (r) return r.then(() => this.#drain(framer, conn));
    }
    return undefined;
  }

  /** The read loop's next frames start a new batch (see READ_BATCH_FRAMES). */
  #newReadBatch(): void {
    this.#batchFrames = 0;
    this.#batchWorkMs = 0;
  }

  /** Whether the read loop's batch is used up: READ_BATCH_FRAMES frames or READ_SLICE_MS. */
  #batchSpent(): boolean {
    const n = this.#batchFrames;
    if (n >= READ_BATCH_FRAMES) return true;
    return n > 0 && n % READ_CHECK === 0 &&
      this.#batchWorkMs + this.#clock.now() - this.#drainStartMs >= READ_SLICE_MS;
  }

  /**
   * A message received. `from` is its frame, or the framer whose `lastFrame` it is: a view of
   * the frame is made only to log it.
   */
  #inbound(msg: FixMessage, from: Uint8Array | FixFramer): Promise<void> | undefined {
    this.#metrics.messagesIn++;
    this.#metrics.bytesIn += from instanceof FixFramer ? from.lastFrameLength : from.length;
    if (this.#recentSize > 0) this.#remember("in", msg);
    if (this.#s.logIncoming || this.#mlog) {
      const frame = from instanceof FixFramer ? from.lastFrame : from;
      // Credentials never reach a log, also those of a Logon about to be refused.
      const t = msg.msgType;
      const logged = t === "A" || t === "BE" ? maskFrame(frame, this.#secretTags) : frame;
      if (this.#mlog) {
        // Logged after the next socket write, off the path to the answer.
        this.#inLog.push(logged);
        this.#inLogAt.push(this.#clock.now());
      }
      if (this.#s.logIncoming) {
        if (this.#resetting) this.#deferred.push(() => this.#store.appendIncoming(logged));
        else this.#store.appendIncoming(logged);
      }
    }
    // The first frame of a drain was read at its start: that clock read serves it.
    let now: number;
    if (this.#drainTimeFresh) {
      this.#drainTimeFresh = false;
      now = this.#drainStartMs;
    } else now = this.#clock.now();
    if (this.#inActionsBusy) return this.#run(this.#core.onMessage(msg, now));
    // The actions of an inbound message go into one array kept for the next (emptied by pop,
    // which keeps its room), unless a handler's promise still holds it.
    this.#inActionsBusy = true;
    const out = this.#core.onMessage(msg, now, this.#inActions);
    let r: Promise<void> | undefined;
    try {
      r = this.#run(out);
    } finally {
      if (r === undefined) { while (out.length > 0) out.pop(); }
      else this.#inActions = [];
      this.#inActionsBusy = false;
    }
    return r;
  }

  #close(reason: string, flush: boolean, linger: boolean): void {
    const conn = this.#conn;
    if (!conn) return;
    // Nothing more of a resend answer goes out once closing: what waited for it goes now.
    this.#release(Infinity);
    this.#closeReason ??= reason;
    // The peer closes, or the core asks again when it stops waiting; reading goes on.
    if (linger) return;
    if (!flush) conn.close(reason);
    else this.#whenWritten().then(() => conn.close(reason));
  }

  #closed(conn: Connection, reason: string): void {
    if (this.#conn !== conn) return;
    this.#conn = undefined;
    // Bytes persisted in place for this connection are not written to a later one (resent
    // after its Logon, as the batches waiting for its writes are).
    if (this.#outPersisted) this.#flush();
    this.#dropHeld();
    this.#timer?.cancel();
    this.#timer = undefined;
    const why = this.#closeReason ?? reason;
    this.#run(this.#core.disconnected(why, this.#clock.now(), reason === PEER_CLOSED));
    // Puts that waited for room take the late route now.
    if (this.#roomHead < this.#roomQueue.length) this.#admitWaiting();
    const onEnded = this.#onEnded;
    this.#onEnded = undefined;
    // Ended once what it leaves is persisted. Whoever asks meanwhile (`#detached`, `idle()`)
    // waits for this same promise: one made then, and left unresolved by a resolver taken
    // here, hung `FixEngine.stop()` with the KV store (a write in flight for milliseconds).
    this.#endedVoid ??= new Promise<void>((resolve) => this.#resolveEnded = resolve);
    const resolveEnded = this.#resolveEnded!;
    this.#resolveEnded = undefined;
    this.#persisted().catch(() => {}).finally(() => {
      // Unless another connection was attached meanwhile (it has a promise of its own).
      if (this.#conn === undefined) this.#attached = false;
      onEnded?.(why);
      resolveEnded();
    });
  }

  /**
   * Closes the connection at once, without a Logout and without waiting for queued writes.
   *
   * @param reason Logged and reported.
   */
  dropConnection(reason: string): void {
    this.#run(this.#core.drop(reason, this.#clock.now()));
  }

  /**
   * Starts a graceful logout: sends Logout and waits for the answer or the logout timeout.
   *
   * @param text Text(58) of the Logout.
   * @returns Resolves when the connection has closed.
   */
  logout(text?: string): Promise<void> {
    const conn = this.#conn;
    if (!conn) return RESOLVED;
    this.#run(this.#core.logout(text, this.#clock.now()));
    return this.#detached();
  }

  // -------------------------------------------------------------------------------------------
  // Application and operator commands

  /**
   * Sends an application message (see `Session.put`). Over `MaxOutgoingBufferSize` queued for
   * a slow connection, it waits for room (in order with every later `put`); with `wait` false
   * it is refused instead (see `Session.tryPut`).
   *
   * @param message The message; header fields 34, 49, 52 and 56 are set by the session.
   * @param atMs When it was put (a put made before the store was open), default now.
   * @returns Resolves once persisted (established: and its socket write issued; late: when
   *   persisted).
   */
  put(message: FixMessage, atMs?: number): Promise<void> {
    if (
      this.#roomQueue.length > this.#roomHead && message.msgType !== "" &&
      this.#core.state === "established" && !this.#core.closing
    ) {
      // Behind the messages already waiting for room: order is kept.
      return this.#waitForRoom(message);
    }
    return this.#putNow(message, atMs, true);
  }

  /**
   * Sends an application message, refused with `OutgoingBufferFullError` instead of waiting
   * for room (see `Session.tryPut`).
   *
   * @param message The message.
   * @param atMs When it was put, default now.
   * @returns Resolves as `put` does.
   */
  tryPut(message: FixMessage, atMs?: number): Promise<void> {
    return this.#putNow(message, atMs, false);
  }

  #waitForRoom(message: FixMessage): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.#roomQueue.push({ message, resolve, reject });
    });
  }

  /** Room again (a batch was taken for writing) or the session left "established". */
  #admitWaiting(): void {
    const q = this.#roomQueue;
    const max = this.#s.maxOutgoingBufferBytes;
    while (this.#roomHead < q.length) {
      const core = this.#core;
      const established = core.state === "established" && !core.closing;
      if (established && this.#queuedBytes >= max) return;
      const w = q[this.#roomHead];
      q[this.#roomHead++] = undefined!;
      // Not established any more: the message takes the late route (see #putNow).
      let p: Promise<void>;
      try {
        p = this.#putNow(w.message, undefined, false);
      } catch (e) {
        // A store closed under it (finalize), a value the encoder refuses: this put only.
        p = Promise.reject(e);
      }
      p.then(w.resolve, w.reject);
    }
    q.length = 0;
    this.#roomHead = 0;
  }

  #putNow(message: FixMessage, atMs: number | undefined, wait: boolean): Promise<void> {
    if (message.msgType === "") {
      return Promise.reject(new TypeError("Cannot send message: MsgType(35) is missing"));
    }
    const core = this.#core;
    const now = atMs ?? this.#clock.now();
    const limit = this.#store.maxMessageBytes;
    const established = core.state === "established" && !core.closing;
    const bytes = limit !== undefined || !established ? this.#encodedSize(message, now) : 0;
    if (limit !== undefined && bytes > limit) {
      return Promise.reject(
        new RangeError(
          `Cannot send message: ${bytes} bytes exceed the store's limit of ${limit} bytes in session "${this.#name}"`,
        ),
      );
    }
    const max = this.#s.maxOutgoingBufferBytes;
    if (established) {
      if (this.#queuedBytes >= max) {
        if (wait) return this.#waitForRoom(message);
        this.#log.warn("outgoing buffer full; message refused", {
          session: this.#name,
          bytes: this.#queuedBytes,
        });
        return Promise.reject(
          new OutgoingBufferFullError(
            `Cannot send message: session "${this.#name}" has ${this.#queuedBytes} bytes waiting for a slow connection`,
          ),
        );
      }
      this.#run(core.send(message, now));
      // Held behind a resend answer (see #run): settled once written, after it.
      return this.#owed > 0 ? this.#heldPromise() : this.#batchPromise();
    }
    if (core.lateBytes + bytes > max) {
      this.#log.warn("late messages buffer full; message refused", {
        session: this.#name,
        bytes: core.lateBytes,
      });
      return Promise.reject(
        new OutgoingBufferFullError(
          `Cannot send message: session "${this.#name}" holds ${core.lateBytes} bytes of messages waiting for the session to be established`,
        ),
      );
    }
    if (this.#s.rejectMessageWhileNoConnection) {
      // Settles on delivery (or expiry).
      const ref = ++this.#refs;
      const p = new Promise<void>((resolve, reject) => this.#late.set(ref, { resolve, reject }));
      p.catch(() => {});
      this.#run(core.send(message, now, ref, bytes));
      return p;
    }
    this.#run(core.send(message, now, 0, bytes));
    // Delivery is guaranteed by the protocol once persisted: resolve then, so that a handler
    // awaiting put() never blocks the reading that the delivery itself depends on.
    return this.#s.lateDelivery === "queue" ? RESOLVED : this.#persisted();
  }

  #encodedSize(message: FixMessage, now: number): number {
    this.#core.stampNext(message, now);
    this.#scratch.reset();
    const start = this.#scratch.append(message, this.#begin);
    return this.#scratch.length - start;
  }

  /**
   * Resets both sides' numbers while established (see `Session.resetSequenceNumbers`).
   *
   * @param options Abort signal for the wait.
   * @returns Resolves when the counterparty confirmed.
   * @throws {Error} When not established.
   * @throws {ResetNotConfirmedError} When the counterparty does not confirm.
   */
  async resetSequences(options: { signal?: AbortSignal } = {}): Promise<void> {
    options.signal?.throwIfAborted();
    const actions = this.#core.resetSequences(this.#clock.now());
    const confirmed = new Promise<void>((resolve, reject) => {
      this.#resetWaiters.push({ resolve, reject });
    });
    confirmed.catch(() => {});
    this.#run(actions);
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

  /**
   * Resets both numbers while disconnected.
   *
   * @returns Resolves once persisted.
   */
  resetLocal(): Promise<void> {
    this.#run(this.#core.resetLocal(this.#clock.now()));
    return this.#persisted();
  }

  /**
   * Sets the numbers by hand while disconnected.
   *
   * @param numbers The numbers; an absent one is kept.
   * @returns Resolves once persisted.
   */
  setSequenceNumbers(
    numbers: { nextSenderSeqNum?: number; nextTargetSeqNum?: number },
  ): Promise<void> {
    this.#run(this.#core.setSequenceNumbers(numbers));
    return this.#persisted();
  }

  /** The initiator started, or the acceptor is registered (see `SessionCore.started`). */
  started(): void {
    this.#run(this.#core.started(this.#clock.now()));
  }

  /** The initiator waits to reconnect. */
  reconnecting(): void {
    this.#run(this.#core.reconnecting(this.#clock.now()));
  }

  /**
   * The initiator gave up reconnecting.
   *
   * @param attempts Failed attempts.
   */
  gaveUp(attempts: number): void {
    this.#run(this.#core.gaveUp(attempts, this.#clock.now()));
  }

  /**
   * Reports a failure outside the link (the initiator's loop): logged and published as an
   * error event; the connection, if any, is dropped.
   *
   * @param error What failed.
   */
  failed(error: unknown): void {
    this.#log.error("session failed", { session: this.#name, error: `${error}` });
    this.#publish({ type: "error", atMs: this.#clock.now(), error });
    this.dropConnection(`session failed: ${error}`);
  }

  /**
   * Settles every late message's promise with an error (the session is being finalized).
   *
   * @param reason Why.
   */
  abandonLate(reason: string): void {
    this.#run(this.#core.abandonLate(reason));
  }

  /**
   * Writes and closes the message log (the session is finalized).
   *
   * @returns Resolves once closed.
   */
  async closeLog(): Promise<void> {
    if (!this.#mlog) return;
    if (this.#inLog.length > 0) this.#logWritten(NOTHING, []);
    await this.#mlog.close();
  }

  /**
   * Resolves once nothing is being written or resent and the connection (if any) has ended.
   *
   * @returns Resolves when idle.
   */
  async idle(): Promise<void> {
    await this.#resends;
    await this.#whenWritten();
    await this.#detached();
    if (this.#resetting) await this.#resetting;
  }
}
