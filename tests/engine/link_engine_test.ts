// The engine over the carved core: a stalled peer hangs nothing, a store failure in the
// initiator's loop is an event (never an unhandled rejection), configured values reach their
// use, and waits settle when an initiator gives up.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import { ConnectionError, LogonRejectedError } from "../../src/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SessionListener } from "../../src/sessions_manager.ts";
import { MemorySeqStoreFactory, type SeqStore, type SeqStoreFactory } from "../../src/store.ts";
import { FaultyTransport, ManualClock, MemoryTransport } from "../../src/testing.ts";
import { nextEvent, timeout } from "./_waits.ts";
import { order } from "./_pair.ts";

const LOGOUT_MS = 3_000;

interface Pair {
  inner: MemoryTransport;
  faulty: FaultyTransport;
  clock: ManualClock;
  acceptorEngine: FixEngine;
  initiatorEngine: FixEngine;
  acceptor: Session;
  initiator: Session;
  port: number;
}

async function pair(
  opts: {
    acceptorConfig?: Record<string, string | number>;
    initiatorConfig?: Record<string, string | number>;
    acceptorListener?: SessionListener;
    initiatorStores?: SeqStoreFactory;
  } = {},
): Promise<Pair> {
  const inner = new MemoryTransport();
  const faulty = new FaultyTransport(inner, { sides: "accepted" });
  const clock = new ManualClock(Date.now());
  const acceptorEngine = new FixEngine({
    transport: faulty,
    clock,
    storeFactory: new MemorySeqStoreFactory(),
    config: {
      ListenPort: 0,
      ListenAddress: "127.0.0.1",
      LogoutTimeFrame: LOGOUT_MS,
      ...opts.acceptorConfig,
    },
  });
  const initiatorEngine = new FixEngine({
    transport: inner,
    storeFactory: opts.initiatorStores ?? new MemorySeqStoreFactory(),
    config: { "Reconnect.Interval": 10, ...opts.initiatorConfig },
  });
  const acceptor = acceptorEngine.createSession(new SessionId("ACC", "INI"), "", FIXVersion.FIX44, {
    listener: opts.acceptorListener,
  });
  await acceptor.connect();
  const initiator = initiatorEngine.createSession(
    new SessionId("INI", "ACC"),
    "",
    FIXVersion.FIX44,
  );
  const port = acceptorEngine.listenAddresses[0].port;
  return { inner, faulty, clock, acceptorEngine, initiatorEngine, acceptor, initiator, port };
}

async function stopAll(p: Pair): Promise<void> {
  await p.initiatorEngine.stop();
  const stopping = p.acceptorEngine.stop();
  await p.clock.advance(LOGOUT_MS);
  await stopping;
}

async function logOn(p: Pair, heartbeat?: number): Promise<void> {
  await p.initiator.connect(heartbeat, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  await p.acceptor.waitFor("established", timeout());
}

Deno.test("finalize() completes at once while the peer does not read", async () => {
  const p = await pair();
  try {
    await logOn(p, 30);
    p.faulty.connections[0].blockWrites();
    const put = p.acceptor.put(new FixMessage("8").set(11, "x"));
    await p.clock.advance(0);
    await p.acceptor.finalize();
    await put; // persisted; the write was abandoned with the connection
  } finally {
    await stopAll(p);
  }
});

Deno.test("engine.stop() completes at the logout timeout while the peer does not read", async () => {
  const p = await pair();
  try {
    await logOn(p, 30);
    p.faulty.connections[0].blockWrites();
    let stopped = false;
    const stopping = p.acceptorEngine.stop().then(() => stopped = true);
    await p.clock.advance(LOGOUT_MS - 1);
    assert.equal(stopped, false);
    await p.clock.advance(1);
    await stopping;
  } finally {
    await stopAll(p);
  }
});

Deno.test("a logout in the middle of a burst: the acceptor works through it, both end correctly terminated", async () => {
  const handled: string[] = [];
  const ends: string[] = [];
  const stores = new MemorySeqStoreFactory();
  const p: Pair = await pair({
    initiatorStores: stores,
    acceptorListener: {
      // Each order takes 500 ms of the acceptor's clock; it logs out at the 10th, and the 40
      // orders take 20 s in all: 6.7 of its LogoutTimeFrames (3 s).
      onMessage: async (m) => {
        if (m.msgType !== "D") return;
        handled.push(m.get(11)!);
        if (handled.length === 10) void p.acceptor.disconnect("mid-burst");
        await new Promise<void>((r) => p.clock.setTimer(p.clock.now() + 500, r));
      },
      onEvent: (e) => void (e.type === "disconnected" && ends.push(e.reason)),
    },
  });
  try {
    await logOn(p, 30);
    const ids = Array.from({ length: 40 }, (_, i) => `o${i + 1}`);
    await Promise.all(ids.map((id) => p.initiator.put(order(id))));
    for (let i = 0; i < 200 && ends.length === 0; i++) await p.clock.advance(500);
    assert.deepEqual(handled, ids);
    assert.deepEqual(ends, ["logout confirmed"]);
    // The initiator answered after its 40 orders and waited for the acceptor's orderly close.
    await p.initiator.waitFor("correctlyTerminated", timeout());
    await p.initiator.disconnect();
    assert.equal(p.acceptor.correctlyTerminated, true);
    assert.equal(p.initiator.correctlyTerminated, true);
    await p.initiatorEngine.stop();
    const store = await stores.open(new SessionId("INI", "ACC"), { nowMs: Date.now() });
    assert.equal(store.state.correctlyTerminated, true);
    await store.close();
    // A message put after the exchange is persisted for the next Logon: the numbers continue.
    await p.acceptor.put(new FixMessage("8").set(11, "late"));
    assert.equal(p.acceptor.correctlyTerminated, false);
  } finally {
    await stopAll(p);
  }
});

Deno.test("a store failure in the initiator's connect loop is an error event, and the engine goes on", async () => {
  const base = new MemorySeqStoreFactory();
  const stored = await base.open(new SessionId("INI", "ACC"), { nowMs: 0 });
  stored.setNextSenderSeqNum(7);
  stored.setNextTargetSeqNum(5);
  await stored.close();
  const failing: SeqStoreFactory = {
    async open(id, options): Promise<SeqStore> {
      const store = await base.open(id, options);
      if (id.sender === "INI") store.reset = () => Promise.reject(new Error("disk full"));
      return store;
    },
  };
  const p = await pair({
    initiatorStores: failing,
    initiatorConfig: { ForceSeqNumReset: "Always", "Reconnect.MaxTries": 0 },
  });
  try {
    const errors: SessionEvent[] = [];
    p.initiator.setListener({ onEvent: (e) => e.type === "error" && errors.push(e) });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await assert.rejects(p.initiator.waitFor("established", timeout()), ConnectionError);
    assert.match(String((errors[0] as { error: unknown }).error), /disk full/);
    // The reset did not happen: the session's numbers are the store's, not 1/1.
    assert.deepEqual([p.initiator.nextSenderSeqNum, p.initiator.nextTargetSeqNum], [7, 5]);
    // Another session of the same engine is served as usual.
    const acc2 = p.acceptorEngine.createSession(
      new SessionId("ACC2", "INI2"),
      "",
      FIXVersion.FIX44,
    );
    await acc2.connect();
    const other = p.initiatorEngine.createSession(
      new SessionId("INI2", "ACC2"),
      "",
      FIXVersion.FIX44,
      { settings: { forceSeqNumReset: "never" } },
    );
    await other.connect(30, "127.0.0.1", p.port);
    await other.waitFor("established", timeout());
  } finally {
    await stopAll(p);
  }
});

Deno.test("HeartbeatInterval from the configuration is sent when connect() gives none", async () => {
  const p = await pair({ initiatorConfig: { HeartbeatInterval: 7 } });
  try {
    await logOn(p);
    assert.equal(p.acceptor.heartbeatIntervalSeconds, 7);
    assert.equal(p.initiator.heartbeatIntervalSeconds, 7);
  } finally {
    await stopAll(p);
  }
});

Deno.test("the listener's authenticate hook refuses a Logon through the engine", async () => {
  const p = await pair({
    acceptorListener: { authenticate: () => "Unknown user" },
    initiatorConfig: { "Reconnect.MaxTries": 0 },
  });
  try {
    await p.initiator.connect(30, "127.0.0.1", p.port);
    const err = await p.initiator.waitFor("established", timeout()).then(
      () => undefined,
      (e) => e,
    );
    assert.ok(err instanceof LogonRejectedError, `${err}`);
    assert.match(err.message, /Unknown user/);
    assert.equal(p.acceptor.nextSenderSeqNum, 1);
  } finally {
    await stopAll(p);
  }
});

Deno.test("an acceptor's connection honours the session's MaxMessageSize", async () => {
  // The resend of the oversized message is garbled again, so the Logout waits out its timeout.
  const p = await pair({
    acceptorConfig: { MaxMessageSize: 200 },
    initiatorConfig: { LogoutTimeFrame: 200 },
  });
  try {
    await logOn(p, 30);
    const garbled = nextEvent(p.acceptor, "garbled", timeout());
    await p.initiator.put(new FixMessage("B").set(148, "x".repeat(400)));
    const e = await garbled;
    assert.match(String(e.type === "garbled" && e.error.message), /200/);
  } finally {
    await stopAll(p);
  }
});

Deno.test("waitFor('established') rejects when the initiator gives up reconnecting", async () => {
  const p = await pair({ initiatorConfig: { "Reconnect.MaxTries": 1 } });
  try {
    await p.initiator.connect(30, "127.0.0.1", p.port + 1000);
    await assert.rejects(
      p.initiator.waitFor("established", timeout()),
      (e: Error) =>
        e instanceof ConnectionError && /gave up after 2 failed attempts/.test(e.message),
    );
    assert.equal(p.initiator.state, "nonGracefullyTerminated");
  } finally {
    await stopAll(p);
  }
});

Deno.test("an acceptor resetting at every Logon: the initiator resets too, and nothing is replayed", async () => {
  // ForceSeqNumReset=always (or a new period) answers a Logon that did not ask for a reset with
  // ResetSeqNumFlag. The initiator resets its own numbers too and confirms, as QuickFIX does:
  // keeping them, it was asked for its old messages and replayed them into the new sequence.
  const orders: string[] = [];
  const p = await pair({
    acceptorConfig: { ForceSeqNumReset: "always" },
    initiatorConfig: { IntradayLogoutTolerance: "true" },
    acceptorListener: {
      onMessage: (m) => void (m.msgType === "D" && orders.push(m.get(11)!)),
    },
  });
  try {
    await logOn(p, 30);
    await Promise.all(["o1", "o2", "o3"].map((id) => p.initiator.put(order(id))));
    await p.initiator.disconnect("again");
    assert.ok(p.initiator.nextSenderSeqNum > 4, "the numbers continue past the Logout");
    await logOn(p, 30);
    await p.initiator.put(order("o4"));
    for (let i = 0; i < 50 && orders.length < 4; i++) await p.clock.advance(0);
    assert.deepEqual(orders, ["o1", "o2", "o3", "o4"]);
    assert.equal(p.acceptor.nextTargetSeqNum, p.initiator.nextSenderSeqNum);
    assert.equal(p.initiator.nextTargetSeqNum, p.acceptor.nextSenderSeqNum);
    assert.equal(p.initiator.state, "established");
    assert.equal(p.acceptor.state, "established");
  } finally {
    await stopAll(p);
  }
});
