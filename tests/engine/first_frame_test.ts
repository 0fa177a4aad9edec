// An incoming connection's first frame: read without an async frame per connection, closed at
// LogonTimeFrame, closed at the first garbled bytes (told once), a failed read reported once; the
// engine closes the connections still waiting for a Logon when it stops.
import assert from "node:assert/strict";
import { FIRST_FRAME_MAX, FirstFrameReader } from "../../src/engine/_first_frame.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { TimerScheduler } from "../../src/engine/scheduler.ts";
import type { Logger } from "../../src/logger.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { ManualClock, MemoryTransport } from "../../src/testing.ts";
import type { Connection } from "../../src/transport.ts";
import { answers, nextEvent, timeout } from "./_waits.ts";

const LOGON = encodeMessage(
  new FixMessage("A").set(49, "INI").set(56, "ACC").set(34, 1).set(52, "20261206-10:00:00.000")
    .set(98, 0).set(108, 30),
  "FIX.4.4",
);

/** A connection whose reads the test hands over one by one. */
class FedConnection implements Connection {
  readonly localAddr = "127.0.0.1:1";
  readonly remoteAddr = "127.0.0.1:2";
  readonly remoteHost = "127.0.0.1";
  reads = 0;
  closedWith: string | undefined;
  #pending: PromiseWithResolvers<IteratorResult<Uint8Array>> | undefined;
  readonly closed: Promise<string>;
  #resolveClosed!: (r: string) => void;

  constructor() {
    this.closed = new Promise((r) => this.#resolveClosed = r);
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return {
      next: () => {
        this.reads++;
        this.#pending = Promise.withResolvers();
        if (this.closedWith !== undefined) this.#pending.resolve({ done: true, value: undefined });
        return this.#pending.promise;
      },
    };
  }

  /** Answers the read in progress with `bytes`, `undefined` (closed) or an error. */
  async feed(bytes: Uint8Array | undefined | Error): Promise<void> {
    const p = this.#pending!;
    this.#pending = undefined;
    if (bytes instanceof Error) p.reject(bytes);
    else if (bytes === undefined) p.resolve({ done: true, value: undefined });
    else p.resolve({ done: false, value: bytes });
    // The reader's callbacks run.
    await Promise.resolve();
    await Promise.resolve();
  }

  write(): Promise<void> {
    return Promise.resolve();
  }

  close(reason = "closed"): void {
    if (this.closedWith !== undefined) return;
    this.closedWith = reason;
    this.#pending?.resolve({ done: true, value: undefined });
    this.#resolveClosed(reason);
  }

  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

function setup(maxMessageSize?: number) {
  const clock = new ManualClock(1_000);
  const scheduler = new TimerScheduler(clock);
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (m) => void lines.push(`warn ${m}`),
    error: (m) => void lines.push(`error ${m}`),
  };
  const outcomes: { frame: Uint8Array | undefined; error?: unknown }[] = [];
  const conn = new FedConnection();
  const reader = new FirstFrameReader(conn, scheduler, 2_000, logger, (r, frame, error) => {
    assert.equal(r.conn, conn);
    outcomes.push({ frame, error });
  }, maxMessageSize);
  return { clock, conn, reader, lines, outcomes };
}

Deno.test("first frame: a Logon split over reads is handed over once, with what follows it", async () => {
  const { conn, reader, lines, outcomes } = setup();
  await conn.feed(LOGON.subarray(0, 30));
  assert.equal(outcomes.length, 0);
  const rest = new TextEncoder().encode("8=FIX");
  await conn.feed(new Uint8Array([...LOGON.subarray(30), ...rest]));
  assert.equal(outcomes.length, 1);
  assert.deepEqual(outcomes[0].frame, LOGON);
  assert.deepEqual(reader.framer.takeBuffered(), rest);
  // No read after the frame: the session's read loop goes on with the connection.
  assert.equal(conn.reads, 2);
  assert.equal(conn.closedWith, undefined);
  assert.deepEqual(lines, []);
});

Deno.test("first frame: garbled bytes before the Logon close the connection at once, told once", async () => {
  const text = new TextEncoder();
  const cases: [string, Uint8Array][] = [
    // A framed message with a wrong CheckSum, the Logon right behind it in the same read.
    [
      "bad CheckSum",
      new Uint8Array([...text.encode("8=FIX.4.4\x019=5\x0135=0\x0110=000\x01"), ...LOGON]),
    ],
    ["HTTP", text.encode("GET / HTTP/1.1\r\nHost: fix\r\n\r\n")],
    [
      "TLS ClientHello",
      new Uint8Array([0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03]),
    ],
    // What made a warn line per 8 bytes when garbage was skipped: 1 MiB of fake BeginStrings.
    ["repeated 8=FIX.4.", text.encode("8=FIX.4.".repeat(131_072) + "\x01")],
  ];
  for (const [name, bytes] of cases) {
    const { clock, conn, reader, lines, outcomes } = setup();
    await conn.feed(bytes);
    assert.equal(conn.closedWith, "garbled bytes before Logon", name);
    assert.equal(reader.refused, "garbled bytes before Logon", name);
    assert.deepEqual(outcomes, [{ frame: undefined, error: undefined }], name);
    assert.deepEqual(lines, ["warn garbled bytes before Logon; closing"], name);
    assert.equal(conn.reads, 1, `${name}: nothing more is read`);
    // The LogonTimeFrame timer was cancelled: nothing more is told.
    await clock.advance(5_000);
    assert.equal(lines.length, 1, name);
    assert.equal(outcomes.length, 1, name);
  }
});

Deno.test("first frame: a first message longer than the limit closes the connection, however it comes", async () => {
  const text = new TextEncoder();
  // Declared longer than 1,000 bytes: closed at the first read, before the bytes come.
  const a = setup(1_000);
  await a.conn.feed(text.encode("8=FIX.4.4\x019=5000\x0135=A\x01"));
  assert.equal(a.conn.closedWith, "garbled bytes before Logon");
  assert.deepEqual(a.lines, ["warn garbled bytes before Logon; closing"]);
  assert.equal(a.conn.reads, 1);
  // Declared short, but no CheckSum ever comes: closed once 1,000 bytes are held.
  const b = setup(1_000);
  await b.conn.feed(text.encode("8=FIX.4.4\x019=20\x0135=A\x0158="));
  const filler = new Uint8Array(100).fill(120);
  let fed = 0;
  while (b.conn.closedWith === undefined && fed < 5_000) {
    await b.conn.feed(filler);
    fed += filler.length;
  }
  assert.equal(b.conn.closedWith, "garbled bytes before Logon");
  assert.ok(fed <= 1_000, `closed after ${fed} bytes of filler`);
  assert.deepEqual(b.lines, ["warn garbled bytes before Logon; closing"]);
  // The default is 64 KiB (FIRST_FRAME_MAX).
  const c = setup();
  await c.conn.feed(text.encode(`8=FIX.4.4\x019=${FIRST_FRAME_MAX}\x01`));
  assert.equal(c.conn.closedWith, "garbled bytes before Logon");
  const d = setup();
  await d.conn.feed(text.encode(`8=FIX.4.4\x019=${FIRST_FRAME_MAX - 100}\x01`));
  assert.equal(d.conn.closedWith, undefined, "within 64 KiB: read on");
});

Deno.test("first frame: no Logon within LogonTimeFrame closes the connection, told once", async () => {
  const { clock, conn, lines, outcomes } = setup();
  await clock.advance(999);
  assert.equal(conn.closedWith, undefined, "open 1 ms before its due time");
  await clock.advance(1);
  assert.equal(conn.closedWith, "Logon timeout");
  await Promise.resolve();
  assert.deepEqual(outcomes, [{ frame: undefined, error: undefined }]);
  assert.deepEqual(lines, ["warn no Logon within LogonTimeFrame; closing"]);
});

Deno.test("first frame: a frame cancels the LogonTimeFrame timer; a failed read is reported once", async () => {
  const a = setup();
  await a.conn.feed(LOGON);
  await a.clock.advance(5_000);
  assert.equal(a.conn.closedWith, undefined, "the timer was cancelled");
  assert.equal(a.outcomes.length, 1);

  const b = setup();
  const boom = new Error("read failed");
  await b.conn.feed(boom);
  assert.deepEqual(b.outcomes, [{ frame: undefined, error: boom }]);
  await b.clock.advance(5_000);
  assert.equal(b.outcomes.length, 1, "the timeout after a failure tells nothing more");
});

Deno.test("engine: stopping closes the connections still waiting for their Logon at once", async () => {
  const transport = new MemoryTransport();
  const clock = new ManualClock(1_000_000);
  const warnings: string[] = [];
  const noop = () => {};
  // Each accepted connection says so once its first read is under way.
  let waiting = 0;
  const allWaiting = Promise.withResolvers<void>();
  const engine = new FixEngine({
    transport,
    clock,
    logger: {
      debug: (m) => {
        if (m === "waiting for the first Logon" && ++waiting === 3) allWaiting.resolve();
      },
      info: noop,
      warn: (m) => void warnings.push(m),
      error: noop,
    },
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogonTimeFrame: 60_000 },
  });
  engine.createSession(new SessionId("ACC", "INI"), "", FIXVersion.FIX44);
  await engine.start();
  const port = engine.listenAddresses[0].port;
  const silent = await Promise.all(
    [1, 2, 3].map(() => transport.connect({ host: "127.0.0.1", port })),
  );
  // The clock never moves: no LogonTimeFrame closes them.
  await allWaiting.promise;
  await engine.stop();
  // Closed by the stop, not by anything later: a guard, not a wait the test relies on.
  const guard = AbortSignal.timeout(5_000);
  const timedOut = new Promise<never>((_, reject) =>
    guard.addEventListener("abort", () => reject(new Error("still open 5 s after stop()")))
  );
  assert.deepEqual(await Promise.race([Promise.all(silent.map((c) => c.closed)), timedOut]), [
    "peer closed",
    "peer closed",
    "peer closed",
  ]);
  assert.ok(!warnings.includes("connection closed before a Logon"), `${warnings}`);
});

/**
 * An engine listening on a memory transport with an ACC->INI acceptor registered, whose warn
 * lines are kept; LogonTimeFrame is a minute away, so that nothing times out during a test.
 */
async function listening(config: Record<string, number> = {}) {
  const transport = new MemoryTransport();
  const warnings: string[] = [];
  const noop = () => {};
  const engine = new FixEngine({
    transport,
    logger: { debug: noop, info: noop, warn: (m) => void warnings.push(m), error: noop },
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogonTimeFrame: 60_000, ...config },
  });
  const acceptor = engine.createSession(new SessionId("ACC", "INI"), "", FIXVersion.FIX44);
  await acceptor.connect();
  return { transport, warnings, engine, acceptor, port: engine.listenAddresses[0].port };
}

Deno.test("engine: a connection that sends garbage before its Logon is closed with one line, and the next one logs on", async () => {
  const { transport, warnings, engine, acceptor, port } = await listening();
  const bad = await transport.connect({ host: "127.0.0.1", port });
  await bad.write(new TextEncoder().encode("8=FIX.4.".repeat(8192) + "\x01"));
  // LogonTimeFrame is a minute away: only the garbage can close it now.
  assert.equal(await bad.closed, "peer closed");
  assert.deepEqual(warnings, ["garbled bytes before Logon; closing"]);
  const good = await transport.connect({ host: "127.0.0.1", port });
  const logon = new FixMessage("A").set(49, "INI").set(56, "ACC").set(34, 1)
    .set(52, formatUtcTimestamp(Date.now())).set(98, 0).set(108, 30);
  const reading = answers(good);
  await good.write(encodeMessage(logon, "FIX.4.4"));
  await nextEvent(acceptor, "logon", timeout());
  good.close();
  assert.deepEqual((await reading).map((m) => m.msgType), ["A"]);
  assert.deepEqual(warnings, ["garbled bytes before Logon; closing"]);
  await engine.stop();
});

Deno.test("engine: the first message may be no longer than MaxMessageSize, nor than 64 KiB", async () => {
  // Declared too long: closed at once (LogonTimeFrame is a minute away).
  for (
    const [max, declared] of [
      [1 << 20, 70_000], // the default MaxMessageSize: 64 KiB still applies
      [300, 400], // a smaller MaxMessageSize applies before the Logon too
    ] as const
  ) {
    const { transport, warnings, engine, port } = await listening({ MaxMessageSize: max });
    const conn = await transport.connect({ host: "127.0.0.1", port });
    await conn.write(new TextEncoder().encode(`8=FIX.4.4\x019=${declared}\x0135=A\x01`));
    const name = `MaxMessageSize ${max}, BodyLength ${declared}`;
    assert.equal(await conn.closed, "peer closed", name);
    assert.deepEqual(warnings, ["garbled bytes before Logon; closing"], name);
    await engine.stop();
  }
  // A Logon of about 60 KB (its RawData) is read and admitted.
  const { transport, warnings, engine, acceptor, port } = await listening();
  const conn = await transport.connect({ host: "127.0.0.1", port });
  const raw = "x".repeat(59_000);
  const logon = new FixMessage("A").set(49, "INI").set(56, "ACC").set(34, 1)
    .set(52, formatUtcTimestamp(Date.now())).set(98, 0).set(108, 30).set(95, raw.length)
    .set(96, raw);
  const reading = answers(conn);
  await conn.write(encodeMessage(logon, "FIX.4.4"));
  await nextEvent(acceptor, "logon", timeout());
  conn.close();
  assert.deepEqual((await reading).map((m) => m.msgType), ["A"]);
  assert.deepEqual(warnings, []);
  await engine.stop();
});
