// A logged-on peer that sends fast and never reads costs no more than its bound: every answer
// it provokes counts against MaxOutgoingBufferSize, and over it the connection is dropped; other
// sessions go on. What waits for a blocked write is queued in batches that go out in order, and
// the message log does not wait for the write.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { LogFields, Logger } from "../../src/logger.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { FaultyTransport, MemoryTransport } from "../../src/testing.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import type { MessageLogFactory } from "../../src/message_log.ts";
import { Inbox, timeout } from "./_waits.ts";

function message(msgType: string, seq: number, fields: [number, string | number][] = []) {
  const m = new FixMessage(msgType).set(49, "FLOOD").set(56, "VENUE").set(34, seq)
    .set(52, formatUtcTimestamp(Date.now()));
  for (const [t, v] of fields) m.set(t, v);
  return encodeMessage(m, "FIX.4.4");
}

/** A venue engine over a faulty memory transport, its session logged on by a raw peer. */
async function loggedOn() {
  const inner = new MemoryTransport();
  const faulty = new FaultyTransport(inner, { sides: "accepted" });
  const engine = new FixEngine({
    transport: faulty,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogLevel: "off" },
  });
  const venue = engine.createSession(new SessionId("VENUE", "FLOOD"), "", FIXVersion.FIX44);
  await venue.connect();
  const conn = await inner.connect({ host: "127.0.0.1", port: engine.listenAddresses[0].port });
  await conn.write(message("A", 1, [[98, 0], [108, 30]]));
  await venue.waitFor("established", timeout());
  return { engine, venue, conn, side: faulty.connections[0], inner };
}

/** The MsgSeqNums of the next `count` messages read. */
async function readSeqs(conn: AsyncIterable<Uint8Array>, count: number): Promise<number[]> {
  const seqs: number[] = [];
  const framer = new FixFramer();
  for await (const chunk of conn) {
    framer.push(chunk);
    for (let f = framer.next(); f instanceof Uint8Array; f = framer.next()) {
      seqs.push(decodeMessage(f.slice()).intOr(34, 0));
    }
    if (seqs.length >= count) break;
  }
  return seqs;
}

/** Waits until nothing is queued (a write's promise settles a turn after its bytes arrive). */
async function drained(session: { outgoingBytes: number }): Promise<void> {
  for (let turns = 0; session.outgoingBytes > 0 && turns < 100; turns++) {
    await new Promise((r) => setTimeout(r, 0));
  }
  assert.equal(session.outgoingBytes, 0);
}

// 20,000 bytes fit one write batch; 1,000,000 take several (taken while the first write blocks).
for (const max of [20_000, 1_000_000]) {
  Deno.test(`a peer flooding TestRequests without reading is dropped at MaxOutgoingBufferSize (${max} bytes)`, async () => {
    const inner = new MemoryTransport();
    const faulty = new FaultyTransport(inner, { sides: "accepted" });
    const warnings: [string, LogFields | undefined][] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (m, f) => void warnings.push([m, f]),
      error() {},
    };
    const engine = new FixEngine({
      transport: faulty,
      logger,
      storeFactory: new MemorySeqStoreFactory(),
      config: { ListenPort: 0, ListenAddress: "127.0.0.1", MaxOutgoingBufferSize: max },
    });
    const venue = engine.createSession(new SessionId("VENUE", "FLOOD"), "", FIXVersion.FIX44);
    await venue.connect();
    try {
      const conn = await inner.connect({ host: "127.0.0.1", port: engine.listenAddresses[0].port });
      await conn.write(message("A", 1, [[98, 0], [108, 30]]));
      await venue.waitFor("established", timeout());
      // From now on the peer does not read: our writes block, our answers queue up.
      faulty.connections[0].blockWrites();
      const dropped = venue.waitFor("nonGracefullyTerminated", timeout());
      // The connection closes before the session reports it (the read loop ends first).
      let closed = false;
      conn.closed.then(() => closed = true);
      let seq = 2;
      for (let burst = 0; burst < 1_000 && !closed; burst++) {
        const chunk: Uint8Array[] = [];
        for (let i = 0; i < 500; i++) chunk.push(message("1", seq++, [[112, `t${seq}`]]));
        // The venue may have dropped us already (its state changes a moment later).
        const sent = await conn.write(new Uint8Array(chunk.flatMap((c) => [...c]))).then(
          () => true,
          () => false,
        );
        if (!sent) break;
        await new Promise((r) => setTimeout(r, 0));
      }
      await dropped;
      // Dropped by the answer that went over the bound, all of the queue counted.
      const overflow = warnings.find(([m]) =>
        m === "outgoing buffer over MaxOutgoingBufferSize; dropping the connection"
      );
      const queued = Number(overflow?.[1]?.queuedBytes);
      assert.ok(queued > max && queued <= max + 200, `dropped with ${queued} bytes queued`);
      // Every number our answers took is stored: the peer gets them by resend after it reconnects.
      assert.equal(venue.nextSenderSeqNum, venue.metrics.messagesOut + 1);
      conn.close();
    } finally {
      await engine.stop();
    }
  });
}

Deno.test("messages put while the peer does not read go out in order once it reads again, each put settled", async () => {
  const { engine, venue, conn, side } = await loggedOn();
  try {
    side.blockWrites();
    const news = (i: number) =>
      new FixMessage("B").set(148, `headline ${i}`).set(33, 1).set(58, "x".repeat(300));
    // The first one starts a write that blocks (its put resolves once it is persisted and its
    // write issued); the others queue behind it, taken in batches.
    const puts = [venue.put(news(0))];
    await puts[0];
    const n = 3_000;
    for (let i = 1; i < n; i++) puts.push(venue.put(news(i)));
    assert.ok(venue.outgoingBytes > 3 * 256 * 1024, `${venue.outgoingBytes} bytes queued`);
    side.unblockWrites();
    await Promise.all(puts);
    // On the wire, in order: the Logon answer, then the n messages.
    assert.deepEqual(await readSeqs(conn, n + 1), Array.from({ length: n + 1 }, (_, i) => i + 1));
    await drained(venue);
    conn.close();
  } finally {
    await engine.stop();
  }
});

Deno.test("a peer that does not read: what it sends is logged batch by batch, and answers never written are not logged as sent", async () => {
  const inner = new MemoryTransport();
  const faulty = new FaultyTransport(inner, { sides: "accepted" });
  const logged: { direction: "in" | "out"; msgType: string }[] = [];
  const messageLogFactory: MessageLogFactory = {
    open: () =>
      Promise.resolve({
        append: (direction, _atMs, bytes) =>
          void logged.push({ direction, msgType: decodeMessage(bytes.slice()).msgType }),
        flush: () => Promise.resolve(),
        close: () => Promise.resolve(),
      }),
  };
  const received = new Inbox();
  const engine = new FixEngine({
    transport: faulty,
    storeFactory: new MemorySeqStoreFactory(),
    messageLogFactory,
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogLevel: "off" },
  });
  const venue = engine.createSession(new SessionId("VENUE", "FLOOD"), "", FIXVersion.FIX44, {
    listener: { onMessage: received.push },
  });
  await venue.connect();
  const n = 1_000;
  const count = (direction: string, msgType: string) =>
    logged.filter((l) => l.direction === direction && l.msgType === msgType).length;
  try {
    const conn = await inner.connect({ host: "127.0.0.1", port: engine.listenAddresses[0].port });
    await conn.write(message("A", 1, [[98, 0], [108, 30]]));
    await venue.waitFor("established", timeout());
    faulty.connections[0].blockWrites();
    const chunk: Uint8Array[] = [];
    for (let i = 0; i < n; i++) chunk.push(message("1", i + 2, [[112, `t${i}`]]));
    chunk.push(message("B", n + 2, [[148, "last"], [33, 1], [58, "x"]]));
    await conn.write(new Uint8Array(chunk.flatMap((c) => [...c])));
    await received.waitFor(1, timeout());
    // Every TestRequest is answered, no answer written: the first batch is logged anyway.
    assert.ok(venue.outgoingBytes > 0);
    assert.ok(count("in", "1") >= 512, `${count("in", "1")} TestRequests logged`);
    assert.equal(count("out", "0"), 0);
    const dropped = venue.waitFor("nonGracefullyTerminated", timeout());
    conn.close();
    await dropped;
  } finally {
    await engine.stop();
  }
  assert.equal(count("in", "1"), n);
  assert.equal(count("out", "A"), 1);
  assert.equal(count("out", "0"), 0);
});

Deno.test("an awaited put() loop goes on while a write is blocked, and what it persisted goes out in one write", async () => {
  const { engine, venue, conn, side } = await loggedOn();
  try {
    side.blockWrites();
    const news = (i: number) => new FixMessage("B").set(148, `headline ${i}`).set(33, 1);
    // Each put is its own batch (persisted, then resolved); none waits for the blocked write.
    const n = 50;
    for (let i = 0; i < n; i++) await venue.put(news(i));
    assert.equal(venue.nextSenderSeqNum, n + 2);
    // One write in flight (the first batch); the others wait for it instead of queuing a write each.
    assert.equal(side.pendingWrites, 1);
    const before = side.bytesWritten;
    side.unblockWrites();
    assert.deepEqual(await readSeqs(conn, n + 1), Array.from({ length: n + 1 }, (_, i) => i + 1));
    await drained(venue);
    assert.equal(side.pendingWrites, 0);
    assert.ok(side.bytesWritten > before);
    assert.equal(venue.metrics.bytesOut, side.bytesWritten);
    conn.close();
  } finally {
    await engine.stop();
  }
});

Deno.test("batches persisted while a write is blocked are not written to the next connection: its Logon goes first, the numbers go on", async () => {
  const { engine, venue, conn, side, inner } = await loggedOn();
  try {
    side.blockWrites();
    const news = (i: number) => new FixMessage("B").set(148, `headline ${i}`).set(33, 1);
    const n = 5;
    for (let i = 0; i < n; i++) await venue.put(news(i));
    assert.equal(side.pendingWrites, 1);
    const dropped = venue.waitFor("nonGracefullyTerminated", timeout());
    conn.close();
    await dropped;
    // The peer logs on again: the venue's first message on the new connection is its Logon.
    const again = await inner.connect({ host: "127.0.0.1", port: engine.listenAddresses[0].port });
    await again.write(message("A", 2, [[98, 0], [108, 30]]));
    const framer = new FixFramer();
    const got: FixMessage[] = [];
    for await (const chunk of again) {
      framer.push(chunk);
      for (let f = framer.next(); f instanceof Uint8Array; f = framer.next()) {
        got.push(decodeMessage(f.slice()));
      }
      if (got.length > 0) break;
    }
    assert.equal(got[0].msgType, "A");
    // The news took 2..n+1 on the first connection: resent when asked for, never pushed.
    assert.equal(got[0].intOr(34, 0), n + 2);
    again.close();
  } finally {
    await engine.stop();
  }
});

Deno.test("an awaited put() loop past 256 KiB while a write is blocked: everything goes out once, in order", async () => {
  const { engine, venue, conn, side } = await loggedOn();
  try {
    side.blockWrites();
    // About 120 bytes of headline each: 4,000 of them pass the bytes kept in place.
    const news = (i: number) => new FixMessage("B").set(148, `${i}`.padStart(100, "x")).set(33, 1);
    const n = 4_000;
    for (let i = 0; i < n; i++) await venue.put(news(i));
    assert.ok(venue.outgoingBytes > 256 * 1024, `${venue.outgoingBytes} bytes queued`);
    side.unblockWrites();
    assert.deepEqual(await readSeqs(conn, n + 1), Array.from({ length: n + 1 }, (_, i) => i + 1));
    await drained(venue);
    assert.equal(venue.metrics.bytesOut, side.bytesWritten);
    conn.close();
  } finally {
    await engine.stop();
  }
});
