// Engine behaviour over real TCP on 127.0.0.1 (port 0) with the default file store: session
// qualifiers, inbound logs, reconnect limits, late delivery, unregistered acceptors, shutdown.
import assert from "node:assert/strict";
import { TcpTransport } from "../../adapters/tcp.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { SessionId } from "../../src/session_id.ts";
import { DEFAULT_ENGINE_SETTINGS } from "../../src/config/settings.ts";
import { ManualClock } from "../../src/testing.ts";
import { Inbox, nextEvent, ofType, timeout } from "../engine/_waits.ts";
import { order, report, setup } from "./_setup.ts";
import { TappedTransport } from "./_tap.ts";

const VENUE = new SessionId("VENUE", "TRADER");
const TRADER = new SessionId("TRADER", "VENUE");

async function tempDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await Deno.makeTempDir();
  try {
    return await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** A local port nothing listens on. */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

Deno.test("qualifier: one port serves two sessions with the same CompIDs, told apart by qualifier", async () => {
  await tempDir(async (dir) => {
    const wire = new TappedTransport(new TcpTransport());
    const server = new FixEngine({
      transport: wire,
      config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: `${dir}/venue` },
    });
    const client = new FixEngine({ config: { LogDirectory: `${dir}/trader` } });
    try {
      const got = { A: new Inbox(), B: new Inbox() };
      const venues = {
        A: server.createSession(new SessionId("VENUE", "TRADER", "A"), "", FIXVersion.FIX44, {
          listener: { onMessage: got.A.push },
        }),
        B: server.createSession(new SessionId("VENUE", "TRADER", "B"), "", FIXVersion.FIX44, {
          listener: { onMessage: got.B.push },
        }),
      };
      await venues.A.connect();
      await venues.B.connect();
      const port = server.listenAddresses[0].port;
      assert.equal(server.listenAddresses.length, 1);
      for (const q of ["A", "B"] as const) {
        const trader = client.createSession(
          new SessionId("TRADER", "VENUE", q),
          "",
          FIXVersion.FIX44,
        );
        const logon = nextEvent(trader, "logon", timeout(5000));
        const refused = nextEvent(trader, "disconnected", timeout(5000));
        await trader.connect(30, "127.0.0.1", port);
        const first = await Promise.race([
          logon.then(() => "logon"),
          refused.then((e) => e.reason),
        ]);
        assert.equal(first, "logon", `trader ${q} reaches venue ${q}`);
        await venues[q].waitFor("established", timeout());
        await trader.put(order(q === "A" ? 1 : 2));
        await got[q].waitFor(1, timeout());
      }
      const logons = wire.inbound.messages.filter(ofType("A"));
      assert.deepEqual(logons.map((m) => m.get(9012)), ["A", "B"]);
      assert.deepEqual(got.A.ids, ["o1"]);
      assert.deepEqual(got.B.ids, ["o2"]);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

Deno.test("logIncoming: a createSession override keeps incoming.log with the file store", async () => {
  const s = await setup();
  try {
    // The setup's venue logs nothing (configuration default); this one overrides it in code.
    await s.venue.finalize();
    const venue = s.server.createSession(VENUE, "", FIXVersion.FIX44, {
      settings: { logIncoming: true },
    });
    assert.equal(venue.settings.logIncoming, true);
    await venue.connect();
    await s.trader.connect(30, "127.0.0.1", s.port);
    await s.trader.waitFor("established", timeout());
    await s.trader.put(order(1));
    await s.trader.disconnect("done");
    await venue.waitFor("waitingForLogon", timeout());
    await s.client.stop();
    await s.server.stop();
    const log = await Deno.readTextFile(`${s.dir}/venue/${VENUE.key}/incoming.log`);
    const types = log.split("\x01").filter((f) => f.startsWith("35=")).map((f) => f.slice(3));
    assert.deepEqual(types, ["A", "D", "5"]);
    await assert.rejects(
      Deno.stat(`${s.dir}/trader/${TRADER.key}/incoming.log`),
      Deno.errors.NotFound,
      "the trader, without the override, keeps no inbound log",
    );
  } finally {
    await s.close();
  }
});

Deno.test("reconnect: an initiator gives up after Reconnect.MaxTries refused connections", async () => {
  await tempDir(async (dir) => {
    const failures: unknown[] = [];
    const noop = () => {};
    const engine = new FixEngine({
      logger: {
        debug: noop,
        info: noop,
        error: noop,
        warn: (m, f) => void (m === "initiator connect failed" && failures.push(f?.error)),
      },
      config: { LogDirectory: dir, "Reconnect.MaxTries": 2, "Reconnect.Interval": 1 },
    });
    try {
      const trader = engine.createSession(TRADER, "", FIXVersion.FIX44);
      const gaveUp = nextEvent(trader, "reconnectFailed", timeout());
      await trader.connect(30, "127.0.0.1", closedPort());
      const e = await gaveUp;
      assert.equal(e.attempts, 3);
      assert.equal(e.reason, "gave up after 3 failed attempts");
      assert.equal(failures.length, 3, "the first attempt and two retries, then no more");
      assert.equal(trader.state, "nonGracefullyTerminated");
    } finally {
      await engine.stop();
    }
  });
});

Deno.test("late delivery: an order put before connect is stored and resent once logged on", async () => {
  const s = await setup();
  try {
    await s.trader.put(order(1)); // resolves once persisted, long before any connection
    assert.equal(s.trader.nextSenderSeqNum, 2);
    await s.trader.connect(30, "127.0.0.1", s.port);
    await s.reports.waitFor(1, timeout());
    const o = s.orders.messages[0];
    assert.equal(o.get(11), "o1");
    assert.equal(o.get(34), "1");
    assert.equal(o.get(43), "Y", "delivered by resend after the gap the Logon (2) revealed");
    assert.deepEqual(s.reports.ids, ["o1"]);
  } finally {
    await s.close();
  }
});

Deno.test("late delivery: with RejectMessageWhileNoConnection an order older than MessageTimeToLive is rejected", async () => {
  const clock = new ManualClock(Date.now());
  const s = await setup({
    traderClock: clock,
    traderConfig: { RejectMessageWhileNoConnection: true, MessageTimeToLive: 1000 },
  });
  try {
    const stale = s.trader.put(order(1));
    stale.catch(() => {});
    await clock.advance(1001);
    const fresh = s.trader.put(order(2));
    const expired = nextEvent(s.trader, "messageRejected", timeout());
    await s.trader.connect(30, "127.0.0.1", s.port);
    await assert.rejects(stale, {
      name: "MessageExpiredError",
      message: "Cannot send message: message 1 expired after 1001 ms while not connected",
    });
    assert.equal((await expired).message.get(11), "o1");
    await fresh;
    await s.reports.waitFor(1, timeout());
    assert.deepEqual(s.orders.ids, ["o2"], "the expired order never reaches the venue");
    await s.venue.waitFor("established", timeout());
    assert.equal(s.venue.nextTargetSeqNum, s.trader.nextSenderSeqNum, "its number was gap-filled");
  } finally {
    await s.close();
  }
});

Deno.test("finalize: a second finalize of a connected session fails with a clear error", async () => {
  const s = await setup();
  try {
    await s.trader.connect(30, "127.0.0.1", s.port);
    await s.trader.waitFor("established", timeout());
    const dropped = nextEvent(s.venue, "disconnected", timeout());
    await s.trader.finalize();
    assert.equal((await dropped).graceful, false);
    await assert.rejects(s.trader.finalize(), {
      name: "Error",
      message: 'Cannot finalize: session "TRADER->VENUE" is finalized',
    });
    assert.equal(s.client.getSession(TRADER), undefined);
    assert.throws(() => s.trader.events(), /Cannot subscribe to events: session "TRADER->VENUE"/);
  } finally {
    await s.close();
  }
});

Deno.test("unregistered: the default SessionsManager accepts when CreateUnregisteredAcceptorSession=true", async () => {
  await tempDir(async (dir) => {
    const server = new FixEngine({
      config: {
        ListenPort: 0,
        ListenAddress: "127.0.0.1",
        LogDirectory: `${dir}/venue`,
        CreateUnregisteredAcceptorSession: true,
      },
    });
    const client = new FixEngine({ config: { LogDirectory: `${dir}/trader` } });
    try {
      await server.start();
      const trader = client.createSession(TRADER, "", FIXVersion.FIX50SP2);
      await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
      await trader.waitFor("established", timeout());
      const venue = server.getSession(VENUE);
      assert.ok(venue);
      assert.equal(venue.role, "acceptor");
      assert.equal(venue.version, FIXVersion.FIX50SP2);
      assert.equal(venue.state, "established");
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

Deno.test("unregistered: a SessionsManager accepts with settings and a listener", async () => {
  await tempDir(async (dir) => {
    const orders = new Inbox();
    const server = new FixEngine({
      sessionsManager: {
        onUnregisteredAcceptor: ({ sessionId }) => ({
          accept: true,
          settings: { password: "s3cret", logIncoming: true },
          listener: {
            onMessage: async (m) => {
              orders.push(m);
              await server.getSession(sessionId)!.put(report(m, orders.count()));
            },
          },
        }),
      },
      config: {
        ListenPort: 0,
        ListenAddress: "127.0.0.1",
        LogDirectory: `${dir}/venue`,
        CreateUnregisteredAcceptorSession: true,
      },
    });
    const client = new FixEngine({ config: { LogDirectory: `${dir}/trader`, Password: "s3cret" } });
    try {
      await server.start();
      const reports = new Inbox();
      const trader = client.createSession(TRADER, "", FIXVersion.FIX44, {
        listener: { onMessage: reports.push },
      });
      await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
      await trader.waitFor("established", timeout());
      await trader.put(order(1));
      await reports.waitFor(1, timeout());
      assert.deepEqual(orders.ids, ["o1"]);
      const venue = server.getSession(VENUE)!;
      assert.equal(venue.settings.password, "s3cret");
      assert.equal(venue.settings.logIncoming, true);
      await Deno.stat(`${dir}/venue/${VENUE.key}/incoming.log`);
    } finally {
      await client.stop();
      await server.stop();
    }
  });
});

Deno.test("stop: engine.stop() logs established sessions out; the peer sees the Logout", async () => {
  const client = new TappedTransport(new TcpTransport());
  const s = await setup({ client });
  try {
    await s.trader.connect(30, "127.0.0.1", s.port);
    await s.trader.waitFor("established", timeout());
    const logout = nextEvent(s.trader, "logout", timeout());
    await s.server.stop();
    const e = await logout;
    assert.equal(e.text, "engine stopping");
    assert.equal(e.initiatedByUs, false);
    assert.equal(client.inbound.messages.filter(ofType("5"))[0]?.get(58), "engine stopping");
    await s.trader.waitFor("correctlyTerminated", timeout());
    assert.equal(s.venue.finalized, true);
    assert.deepEqual(s.server.sessions, []);
  } finally {
    await s.close();
  }
});

Deno.test("stop: an engine declared with await using stops at the end of its block", async () => {
  await tempDir(async (dir) => {
    const client = new FixEngine({ config: { LogDirectory: `${dir}/trader` } });
    try {
      let stopped: FixEngine;
      const trader = client.createSession(TRADER, "", FIXVersion.FIX44);
      const logout = nextEvent(trader, "logout", timeout());
      {
        await using server = new FixEngine({
          config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: `${dir}/venue` },
        });
        stopped = server;
        await server.createSession(VENUE, "", FIXVersion.FIX44).connect();
        await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
        await trader.waitFor("established", timeout());
      }
      assert.equal((await logout).text, "engine stopping");
      assert.throws(
        () => stopped.createSession(VENUE, "", FIXVersion.FIX44),
        /Cannot create session: the engine is stopped/,
      );
      await assert.rejects(stopped.start(), /Cannot start: the engine is stopped/);
    } finally {
      await client.stop();
    }
  });
});

/** The entries of a folder, or undefined when it does not exist. */
async function entries(dir: string): Promise<string[] | undefined> {
  try {
    const out: string[] = [];
    for await (const e of Deno.readDir(dir)) out.push(e.name);
    return out.sort();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return undefined;
    throw e;
  }
}

Deno.test("defaults: new FixEngine() with no arguments constructs with the built-in defaults", async () => {
  // The default store folder may exist already (the demo uses it): it must not change.
  const before = await entries(DEFAULT_ENGINE_SETTINGS.logDirectory);
  const engine = new FixEngine();
  assert.deepEqual(engine.settings, DEFAULT_ENGINE_SETTINGS);
  assert.deepEqual(engine.sessions, []);
  assert.deepEqual(engine.listenAddresses, []);
  await engine.stop();
  await engine.stop(); // idempotent
  assert.deepEqual(
    await entries(DEFAULT_ENGINE_SETTINGS.logDirectory),
    before,
    "constructing and stopping touches no disk",
  );
});
