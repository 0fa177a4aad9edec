// Test harness: a FixSession over an in-memory connection with a ManualClock, and a scripted
// peer that sends exact messages and records what the session sent.
import assert from "node:assert/strict";
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from "../../src/config/settings.ts";
import { FixEncoder } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { type MessageProblem, SessionCore, type SessionRole } from "../../src/session/core.ts";
import { Link } from "../../src/engine/link.ts";
import type { SessionSchedule } from "../../src/schedule.ts";
import type { FixMessage as Msg } from "../../src/message/fix_message.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import type { SeqStore } from "../../src/store.ts";
import type { MessageLog } from "../../src/message_log.ts";
import type { Connection } from "../../src/transport.ts";
import { ManualClock, type MemoryConnection, memoryConnectionPair } from "../../src/testing.ts";

/** 2026-11-24 10:00:00.000 UTC */
export const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

export interface Harness {
  clock: ManualClock;
  store: SeqStore;
  session: Link;
  peer: Peer;
  /** The session's side of the current connection (fault controls: `blockWrites()`...). */
  conn: MemoryConnection;
  events: SessionEvent[];
  /** Number of writes the session made on its connection. */
  counter: { writes: number };
  /** Every write the session made, as its messages without 8, 9 and 10. */
  written: string[][];
  /** Resolves with the close reason of the current connection. */
  done: Promise<string>;
  settle(): Promise<void>;
  /**
   * Holds the session's writes unresolved (they are recorded in `written` at once, and reach
   * the peer on release) until the returned function is called.
   */
  holdWrites(): () => void;
  /** Drops the current connection and attaches the same session to a new one (a new `peer`). */
  reconnect(): Promise<void>;
  close(options?: { keepStore?: boolean }): Promise<void>;
}

export interface HarnessOptions {
  role?: SessionRole;
  begin?: string;
  settings?: Partial<SessionSettings>;
  handler?: {
    onMessage?: (m: Msg) => void | Promise<void>;
    onResend?: (m: Msg) => boolean;
    authenticate?: (logon: Msg) => string | undefined;
  };
  validate?: (m: Msg) => MessageProblem[];
  supportsMsgType?: (msgType: string, m: Msg) => boolean;
  dataFields?: ReadonlyMap<number, number>;
  /** The session's schedule. */
  schedule?: SessionSchedule;
  /** The manual clock's start (default `T0`). */
  startMs?: number;
  store?: SeqStore;
  /** Do not attach a connection yet. */
  detached?: boolean;
  /** The session's message log. */
  messageLog?: MessageLog;
}

/** The scripted counterparty: CompID PEER talking to FW. */
export class Peer {
  readonly conn: Connection;
  readonly clock: ManualClock;
  readonly begin: string;
  readonly received: FixMessage[] = [];
  readonly raw: string[] = [];
  seq = 1;
  /** Whether the peer closes once its Logout is answered, as a Logout's initiator does. */
  closesOnLogoutAnswer = true;
  #taken = 0;
  #loggedOut = false;
  #framer: FixFramer;
  #reading: Promise<void>;

  constructor(
    conn: Connection,
    clock: ManualClock,
    begin: string,
    dataFields?: ReadonlyMap<number, number>,
  ) {
    const framer = new FixFramer({ dataFields });
    this.#framer = framer;
    this.conn = conn;
    this.clock = clock;
    this.begin = begin;
    this.#reading = (async () => {
      for await (const chunk of conn) {
        framer.push(chunk);
        for (let f = framer.next(); f !== undefined; f = framer.next()) {
          if (!(f instanceof Uint8Array)) throw f;
          this.raw.push(new TextDecoder().decode(f).replaceAll("\x01", "|"));
          const m = decodeMessage(f.slice(), dataFields);
          this.received.push(m);
          // As a Logout's initiator does: closes once answered (the session waits for it).
          if (m.msgType === "5" && this.#loggedOut && this.closesOnLogoutAnswer) {
            conn.close("logout confirmed");
          }
        }
      }
    })();
  }

  /** Builds a message from the peer with exact header fields. */
  build(
    msgType: string,
    fields: [number, string | number][] = [],
    opts: { seq?: number; sendingTime?: number; possDup?: boolean; orig?: number } = {},
  ): FixMessage {
    const m = new FixMessage(msgType).set(49, "PEER").set(56, "FW");
    m.set(34, opts.seq ?? this.seq++);
    if (opts.possDup) m.set(43, "Y");
    m.set(52, formatUtcTimestamp(opts.sendingTime ?? this.clock.now()));
    if (opts.orig !== undefined) m.set(122, formatUtcTimestamp(opts.orig));
    for (const [t, v] of fields) m.set(t, v);
    return m;
  }

  /** Sends a message from the peer. */
  async send(
    msgType: string,
    fields: [number, string | number][] = [],
    opts: { seq?: number; sendingTime?: number; possDup?: boolean; orig?: number } = {},
  ): Promise<void> {
    await this.sendMessage(this.build(msgType, fields, opts));
  }

  async sendMessage(m: FixMessage): Promise<void> {
    if (m.msgType === "5") this.#loggedOut = true;
    const enc = new FixEncoder(this.begin);
    enc.append(m);
    await this.conn.write(enc.take());
  }

  async sendBytes(s: string): Promise<void> {
    await this.conn.write(new TextEncoder().encode(s.replaceAll("|", "\x01")));
  }

  /** Messages received since the last call, as `35=..|...` without 8, 9, 10. */
  take(): string[] {
    const out = this.received.slice(this.#taken).map((m) => body(m));
    this.#taken = this.received.length;
    return out;
  }

  async close(): Promise<void> {
    this.conn.close("test done");
    await this.#reading.catch(() => {});
  }
}

/** A message without 8, 9 and 10, as `35=0|49=FW|...|`. */
export function body(m: FixMessage): string {
  let s = "";
  for (const [t, v] of m) if (t !== 8 && t !== 9 && t !== 10) s += `${t}=${v}|`;
  return s;
}

/** SendingTime text at `T0 + ms`, as a session of `begin` writes it (whole seconds before FIX.4.2). */
export function ts(ms: number, begin = "FIX.4.4"): string {
  return formatUtcTimestamp(T0 + ms, begin === "FIX.4.0" || begin === "FIX.4.1" ? "s" : "ms");
}

export async function harness(opts: HarnessOptions = {}): Promise<Harness> {
  const clock = new ManualClock(opts.startMs ?? T0);
  const begin = opts.begin ?? "FIX.4.4";
  const id = new SessionId("FW", "PEER");
  const store = opts.store ??
    await new MemorySeqStoreFactory().open(id, { nowMs: opts.startMs ?? T0 });
  const events: SessionEvent[] = [];
  const settings = { ...DEFAULT_SESSION_SETTINGS, heartbeatIntervalSeconds: 30, ...opts.settings };
  const core = new SessionCore({
    id,
    beginString: begin,
    role: opts.role ?? "acceptor",
    settings,
    numbers: store.state,
    validate: opts.validate,
    supportsMsgType: opts.supportsMsgType,
    authenticate: opts.handler?.authenticate,
    onResend: opts.handler?.onResend,
    schedule: opts.schedule,
    dataFields: opts.dataFields,
  });
  const session = new Link({
    core,
    store,
    clock,
    settings,
    dataFields: opts.dataFields,
    messageLog: opts.messageLog,
    handler: { onMessage: opts.handler?.onMessage, onEvent: (e) => events.push(e) },
  });
  const counter = { writes: 0 };
  const written: string[][] = [];
  let gate: Promise<void> | undefined;
  const connect = (): [MemoryConnection, Peer] => {
    const [a, b] = memoryConnectionPair();
    const write = a.write.bind(a);
    a.write = async (bytes: Uint8Array) => {
      counter.writes++;
      written.push(frames(bytes, opts.dataFields));
      if (gate) await gate;
      return write(bytes);
    };
    return [a, new Peer(b, clock, begin, opts.dataFields)];
  };
  let [conn, peer] = connect();
  const settle = async () => {
    for (let i = 0; i < 5; i++) await clock.advance(0);
  };
  const h: Harness = {
    clock,
    store,
    session,
    peer,
    get conn() {
      return conn;
    },
    events,
    counter,
    written,
    done: opts.detached ? Promise.resolve("") : session.attach(conn),
    settle,
    holdWrites: () => {
      let release!: () => void;
      gate = new Promise<void>((r) => release = r);
      return () => {
        gate = undefined;
        release();
      };
    },
    reconnect: async () => {
      session.dropConnection("reconnect");
      await h.done;
      await peer.close();
      [conn, peer] = connect();
      h.peer = peer;
      h.done = session.attach(conn);
      await settle();
    },
    close: async (o = {}) => {
      session.dropConnection("test done");
      await peer.close();
      conn.close("test done");
      await settle();
      await session.idle();
      session.closeEvents();
      if (!o.keepStore && !opts.store) await store.close();
    },
  };
  await settle();
  return h;
}

/** The messages of one write, each without 8, 9 and 10. */
function frames(bytes: Uint8Array, dataFields?: ReadonlyMap<number, number>): string[] {
  const framer = new FixFramer({ dataFields });
  framer.push(bytes);
  const out: string[] = [];
  for (let f = framer.next(); f !== undefined; f = framer.next()) {
    if (!(f instanceof Uint8Array)) throw f;
    out.push(body(decodeMessage(f.slice(), dataFields)));
  }
  return out;
}

/** A store (closed by the caller) whose next sender and target numbers are `sender`/`target`. */
export async function storeAt(sender: number, target: number): Promise<SeqStore> {
  const store = await new MemorySeqStoreFactory().open(new SessionId("FW", "PEER"), { nowMs: T0 });
  store.setNextSenderSeqNum(sender);
  store.setNextTargetSeqNum(target);
  await store.flush();
  return store;
}

/** An acceptor session already established with the peer (Logon exchanged, seq 1 each). */
export async function established(opts: HarnessOptions = {}): Promise<Harness> {
  const h = await harness({ role: "acceptor", ...opts });
  const fixt: [number, string][] = h.peer.begin === "FIXT.1.1" ? [[1137, "9"]] : [];
  await h.peer.send("A", [[98, 0], [108, 30], ...fixt]);
  await h.settle();
  assert.equal(h.session.state, "established");
  h.peer.take();
  return h;
}
