// Sharing the event loop: a connection with a backlog of frames, a burst of Logons and a burst
// of due timers each do a bounded batch of work, then let the other sessions run. Counted, not
// timed: the other session's message is written from a macrotask queued before the burst (as a
// socket read would be), so without the bound it would be handled only after the whole burst.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import type { Clock, TimerHandle } from "../../src/clock.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { ManualClock, MemoryTransport } from "../../src/testing.ts";
import type { SessionListener } from "../../src/sessions_manager.ts";
import type { Connection } from "../../src/transport.ts";
import { timeout } from "./_waits.ts";

/** The read loop's batch (READ_BATCH_FRAMES in src/engine/link.ts). */
const READ_BATCH_FRAMES = 512;
/** Frames between the read loop's looks at the time (READ_CHECK). */
const READ_CHECK = 64;
/** The accept path's batch (ADMISSIONS_PER_TURN in src/engine/fix_engine.ts). */
const ADMISSIONS_PER_TURN = 16;

function message(
  sender: string,
  msgType: string,
  seq: number,
  fields: [number, string | number][] = [],
): Uint8Array {
  const m = new FixMessage(msgType).set(49, sender).set(56, "VENUE").set(34, seq)
    .set(52, formatUtcTimestamp(Date.now()));
  for (const [t, v] of fields) m.set(t, v);
  return encodeMessage(m, "FIX.4.4");
}

function concat(parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** A clock whose time moves 1 ms each time it is read; its timers never fire. */
class SteppingClock implements Clock {
  #now = Date.now();
  now(): number {
    return this.#now++;
  }
  setTimer(_atMs: number, _fn: () => void): TimerHandle {
    return { cancel() {} };
  }
}

interface Peer {
  session: Session;
  conn: Connection;
}

interface Venue {
  engine: FixEngine;
  transport: MemoryTransport;
  port: number;
  peers: Peer[];
}

/** Closes the peers' connections (no Logout to wait for), then stops the engine. */
async function close(v: Venue): Promise<void> {
  const ended = v.peers.map((p) =>
    p.session.state === "established"
      ? p.session.waitFor("nonGracefullyTerminated", timeout())
      : Promise.resolve()
  );
  for (const p of v.peers) p.conn.close();
  await Promise.all(ended);
  await v.engine.stop();
}

async function venue(clock: Clock): Promise<Venue> {
  const transport = new MemoryTransport();
  const engine = new FixEngine({
    transport,
    clock,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogLevel: "off" },
  });
  await engine.start();
  return { engine, transport, port: engine.listenAddresses[0].port, peers: [] };
}

/** Registers `VENUE <- peer` and logs a raw peer on to it. */
async function logOn(
  v: Venue,
  peer: string,
  listener?: SessionListener,
): Promise<Peer> {
  const session = v.engine.createSession(new SessionId("VENUE", peer), "", FIXVersion.FIX44, {
    listener,
  });
  await session.connect();
  const conn = await v.transport.connect({ host: "127.0.0.1", port: v.port });
  v.peers.push({ session, conn });
  await conn.write(message(peer, "A", 1, [[98, 0], [108, 30]]));
  await session.waitFor("established", timeout());
  return { session, conn };
}

/**
 * Floods `FLOOD` with TestRequests in one chunk while `PROBE`'s News is written from an
 * immediate queued just before; returns how many messages the flooded session had handled when
 * the News was delivered.
 */
async function floodWhileProbing(clock: Clock): Promise<{ atProbe: number; total: number }> {
  const v = await venue(clock);
  try {
    const flood = await logOn(v, "FLOOD");
    const delivered = Promise.withResolvers<number>();
    const probe = await logOn(v, "PROBE", {
      onMessage: () => delivered.resolve(flood.session.metrics.messagesIn),
    });
    const n = 2_000;
    const frames: Uint8Array[] = [];
    for (let i = 0; i < n; i++) frames.push(message("FLOOD", "1", i + 2, [[112, `t${i}`]]));
    setImmediate(() => {
      probe.conn.write(
        message("PROBE", "B", 2, [[148, "news"], [33, 1], [58, "line"]]),
      );
    });
    await flood.conn.write(concat(frames));
    return { atProbe: await delivered.promise, total: n + 1 };
  } finally {
    await close(v);
  }
}

Deno.test("a connection with a backlog of frames yields after its batch: another session's message is handled before the rest", async () => {
  const { atProbe, total } = await floodWhileProbing(new ManualClock(Date.now()));
  // The Logon, then one batch of TestRequests; without the bound, all of them.
  assert.equal(atProbe, 1 + READ_BATCH_FRAMES);
  assert.ok(atProbe < total);
});

Deno.test("a connection whose frames take long yields after its time slice, whatever the count", async () => {
  // 1 ms per reading of the clock: the slice (2 ms) is over at the first look at the time.
  const { atProbe } = await floodWhileProbing(new SteppingClock());
  assert.equal(atProbe, 1 + READ_CHECK);
});

Deno.test("a burst of Logons is admitted in batches: an established session's message is handled between them, and no Logon is lost", async () => {
  const v = await venue(new ManualClock(Date.now()));
  try {
    let established = (): number => 0;
    const delivered = Promise.withResolvers<number>();
    const probe = await logOn(v, "PROBE", { onMessage: () => delivered.resolve(established()) });
    const n = 3 * ADMISSIONS_PER_TURN;
    const storm: Session[] = [];
    for (let i = 0; i < n; i++) {
      const s = v.engine.createSession(new SessionId("VENUE", `C${i}`), "", FIXVersion.FIX44);
      await s.connect();
      storm.push(s);
    }
    // The connections are set up one by one here; their Logons all arrive in the same turn.
    established = () => storm.filter((s) => s.state === "established").length;
    setImmediate(() => {
      probe.conn.write(message("PROBE", "B", 2, [[148, "news"], [33, 1], [58, "line"]]));
    });
    const conns: Connection[] = [];
    for (let i = 0; i < n; i++) {
      const conn = await v.transport.connect({ host: "127.0.0.1", port: v.port });
      v.peers.push({ session: storm[i], conn });
      conns.push(conn);
    }
    for (let i = 0; i < n; i++) conns[i].write(message(`C${i}`, "A", 1, [[98, 0], [108, 30]]));
    const atProbe = await delivered.promise;
    assert.ok(atProbe <= ADMISSIONS_PER_TURN, `${atProbe} Logons admitted before the News`);
    await Promise.all(storm.map((s) => s.waitFor("established", timeout())));
  } finally {
    await close(v);
  }
});

Deno.test("a connection that waits for its bytes starts a fresh batch each time: a steady trickle never yields", async () => {
  const clock = new ManualClock(Date.now());
  const v = await venue(clock);
  try {
    const peer = await logOn(v, "TRICKLE");
    for (let i = 0; i < READ_BATCH_FRAMES + 100; i++) {
      await peer.conn.write(message("TRICKLE", "1", i + 2, [[112, `t${i}`]]));
      // Handled at once (promise chains only, no turn of the event loop), after a 2 ms wait.
      await clock.advance(2);
      assert.equal(peer.session.metrics.messagesIn, i + 2);
    }
  } finally {
    await close(v);
  }
});

Deno.test("a connection whose reads bring a few whole frames at a time never yields, also with no time passing", async () => {
  const clock = new ManualClock(Date.now());
  const v = await venue(clock);
  try {
    const peer = await logOn(v, "PINGPONG");
    for (let i = 0; i < READ_BATCH_FRAMES + 100; i++) {
      // A round trip: one message, handled before the peer sends the next (no turn of the
      // event loop between: a yield of the read loop would leave it unhandled here).
      await peer.conn.write(message("PINGPONG", "1", i + 2, [[112, `t${i}`]]));
      await clock.advance(0);
      assert.equal(peer.session.metrics.messagesIn, i + 2);
    }
  } finally {
    await close(v);
  }
});
