// A logged-on peer that sends fast and never reads costs no more than its bound: every answer
// it provokes counts against MaxOutgoingBufferSize, and over it the connection is dropped; other
// sessions go on.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Logger } from "../../src/logger.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { FaultyTransport, MemoryTransport } from "../../src/testing.ts";
import { timeout } from "./_waits.ts";

function message(msgType: string, seq: number, fields: [number, string | number][] = []) {
  const m = new FixMessage(msgType).set(49, "FLOOD").set(56, "VENUE").set(34, seq)
    .set(52, formatUtcTimestamp(Date.now()));
  for (const [t, v] of fields) m.set(t, v);
  return encodeMessage(m, "FIX.4.4");
}

Deno.test("a peer flooding TestRequests without reading is dropped at MaxOutgoingBufferSize", async () => {
  const inner = new MemoryTransport();
  const faulty = new FaultyTransport(inner, { sides: "accepted" });
  const warnings: string[] = [];
  const logger: Logger = {
    debug() {},
    info() {},
    warn: (m) => void warnings.push(m),
    error() {},
  };
  const engine = new FixEngine({
    transport: faulty,
    logger,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", MaxOutgoingBufferSize: 20_000 },
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
    for (let burst = 0; burst < 20 && !closed; burst++) {
      const chunk: Uint8Array[] = [];
      for (let i = 0; i < 100; i++) chunk.push(message("1", seq++, [[112, `t${seq}`]]));
      // The venue may have dropped us already (its state changes a moment later).
      const sent = await conn.write(new Uint8Array(chunk.flatMap((c) => [...c]))).then(
        () => true,
        () => false,
      );
      if (!sent) break;
      await new Promise((r) => setTimeout(r, 0));
    }
    await dropped;
    assert.ok(venue.outgoingBytes <= 20_000 + 200, `${venue.outgoingBytes} bytes queued`);
    assert.ok(
      warnings.includes("outgoing buffer over MaxOutgoingBufferSize; dropping the connection"),
    );
    // Every number our answers took is stored: the peer gets them by resend after it reconnects.
    assert.equal(venue.nextSenderSeqNum, venue.metrics.messagesOut + 1);
    conn.close();
  } finally {
    await engine.stop();
  }
});
