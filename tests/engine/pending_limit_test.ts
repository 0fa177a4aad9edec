// Connections waiting for their first message are limited: one per acceptor session that may log
// on, plus 256. Past the limit the one that has waited longest is closed; a peer that logs on
// still gets through. What peers that have not logged on cause is told at most once per 10 s per
// kind of line.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { LogFields } from "../../src/logger.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { ManualClock, type MemoryConnection, MemoryTransport } from "../../src/testing.ts";
import { nextEvent, timeout } from "./_waits.ts";

const SPARE = 256;
const TOLD = "too many connections waiting for a Logon; closed the longest waiting";

/**
 * An engine on a memory transport and a manual clock with `acceptors` acceptor sessions
 * (ACC0->INI, ACC1->INI...), keeping its warn lines with their fields.
 */
async function engineWith(acceptors: number, config: Record<string, number | boolean> = {}) {
  const clock = new ManualClock(Date.now());
  const transport = new MemoryTransport();
  const warnings: [string, LogFields | undefined][] = [];
  const noop = () => {};
  const engine = new FixEngine({
    transport,
    clock,
    logger: { debug: noop, info: noop, warn: (m, f) => void warnings.push([m, f]), error: noop },
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogonTimeFrame: 60_000, ...config },
  });
  const sessions = [];
  for (let i = 0; i < acceptors; i++) {
    const s = engine.createSession(new SessionId(`ACC${i}`, "INI"), "", FIXVersion.FIX44);
    await s.connect();
    sessions.push(s);
  }
  const port = engine.listenAddresses[0].port;
  /** Which of the connections made by `open` have been closed, by index. */
  const closed: number[] = [];
  const conns: MemoryConnection[] = [];
  /** Opens `n` connections that send nothing. */
  const open = async (n: number) => {
    for (let i = 0; i < n; i++) {
      const c = await transport.connect({ host: "127.0.0.1", port });
      const index = conns.push(c) - 1;
      c.closed.then(() => closed.push(index));
    }
  };
  return { clock, transport, warnings, engine, sessions, port, conns, closed, open };
}

Deno.test("engine: past the limit the connection waiting longest for a Logon is closed, told at most every 10 s", async () => {
  const e = await engineWith(1);
  const limit = 1 + SPARE;
  await e.open(limit);
  // One more: the first one goes. Evictions happen as connections are accepted, in order, so
  // any earlier one would have been seen by now.
  await e.open(1);
  await e.conns[0].closed;
  await Promise.resolve();
  assert.deepEqual(e.closed, [0]);
  assert.deepEqual(e.warnings.map(([m]) => m), [TOLD]);
  assert.equal(e.warnings[0][1]?.limit, limit);
  assert.equal(e.warnings[0][1]?.times, undefined);

  // A flood within the same 10 s: each newcomer closes the longest waiting, and nothing is told.
  await e.open(300);
  await e.conns[300].closed;
  await Promise.resolve();
  assert.deepEqual(e.closed, Array.from({ length: 301 }, (_, i) => i));
  assert.equal(e.warnings.length, 1);

  // 10 s after the first line, one line tells the 300.
  await e.clock.advance(10_000);
  assert.deepEqual(e.warnings.map(([m]) => m), [TOLD, TOLD]);
  assert.equal(e.warnings[1][1]?.times, 300);

  // A peer that logs on gets through: its Logon arrives before `limit` newer connections.
  const good = await e.transport.connect({ host: "127.0.0.1", port: e.port });
  const logon = new FixMessage("A").set(49, "INI").set(56, "ACC0").set(34, 1)
    .set(52, formatUtcTimestamp(e.clock.now())).set(98, 0).set(108, 30);
  await good.write(encodeMessage(logon, "FIX.4.4"));
  await nextEvent(e.sessions[0], "logon", timeout());
  const gone = nextEvent(e.sessions[0], "disconnected", timeout());
  good.close();
  await gone;
  // Making room for it closed one more, within 10 s of the last line: told when the engine
  // stops. No connection told its own end ("connection closed before a Logon").
  await e.engine.stop();
  assert.deepEqual(e.warnings.map(([m]) => m), [TOLD, TOLD, TOLD]);
  assert.equal(e.warnings[2][1]?.times, undefined);
});

Deno.test("engine: a flood of garbage before the Logon is told once, then once per 10 s with a count", async () => {
  const e = await engineWith(1);
  const garbage = new TextEncoder().encode("GET / HTTP/1.1\r\n\r\n");
  for (let i = 0; i < 100; i++) {
    const c = await e.transport.connect({ host: "127.0.0.1", port: e.port });
    await c.write(garbage);
    await c.closed;
  }
  assert.deepEqual(e.warnings.map(([m]) => m), ["garbled bytes before Logon; closing"]);
  await e.clock.advance(10_000);
  assert.equal(e.warnings.length, 2);
  assert.equal(e.warnings[1][1]?.times, 99);
  await e.engine.stop();
  assert.equal(e.warnings.length, 2);
});

Deno.test("engine: the limit on connections waiting for a Logon counts the acceptor sessions that may log on", async () => {
  for (
    const [name, config, limit] of [
      ["3 acceptors", {}, 3 + SPARE],
      [
        "3 acceptors and 100 unregistered",
        { CreateUnregisteredAcceptorSession: true, MaxUnregisteredAcceptorSessions: 100 },
        3 + 100 + SPARE,
      ],
    ] as const
  ) {
    const e = await engineWith(3, config);
    await e.open(limit);
    await e.open(1);
    await e.conns[0].closed;
    await Promise.resolve();
    assert.deepEqual(e.closed, [0], name);
    assert.deepEqual(e.warnings.map(([m]) => m), [TOLD], name);
    assert.equal(e.warnings[0][1]?.limit, limit, name);
    await e.engine.stop();
  }
});

Deno.test("engine: a connection closed at LogonTimeFrame is told once", async () => {
  const e = await engineWith(1, { LogonTimeFrame: 1_000 });
  await e.open(1);
  await e.clock.advance(1_000);
  await e.conns[0].closed;
  await e.engine.stop();
  // Before: the reader's line and the engine's "connection closed before a Logon".
  assert.deepEqual(e.warnings.map(([m]) => m), ["no Logon within LogonTimeFrame; closing"]);
});
