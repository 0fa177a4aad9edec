// Integration over real sockets on 127.0.0.1 (port 0) with the default file store.
import assert from "node:assert/strict";
import { TlsTransport } from "../../adapters/tls.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import type { Transport } from "../../src/transport.ts";

const fixtures = new URL("../fixtures/tls/", import.meta.url);
const read = (n: string) => Deno.readTextFileSync(new URL(n, fixtures));

async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const signal = AbortSignal.timeout(ms);
  while (!cond()) {
    if (signal.aborted) throw new Error(`Timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 2));
  }
}

interface Setup {
  venue: Session;
  trader: Session;
  port: number;
  reports: FixMessage[];
  orders: FixMessage[];
  dir: string;
  engines: FixEngine[];
  close(): Promise<void>;
}

async function setup(
  opts: { server?: Transport; client?: Transport; host?: string; version?: FIXVersion } = {},
): Promise<Setup> {
  const dir = await Deno.makeTempDir();
  const server = new FixEngine({
    transport: opts.server,
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: `${dir}/venue` },
  });
  const client = new FixEngine({
    transport: opts.client,
    config: { LogDirectory: `${dir}/trader`, "Reconnect.Interval": 20, "Reconnect.MaxTries": 20 },
  });
  const version = opts.version ?? FIXVersion.FIX44;
  const orders: FixMessage[] = [];
  const reports: FixMessage[] = [];
  const venue = server.createSession(new SessionId("VENUE", "TRADER"), "", version);
  venue.setListener({
    onMessage: async (m) => {
      orders.push(m);
      await venue.put(
        new FixMessage("8").set(37, "o").set(17, `e${orders.length}`).set(11, m.get(11)!)
          .set(150, "0").set(39, "0").set(55, "X").set(54, "1").set(151, 100).set(14, 0)
          .set(6, 0),
      );
    },
  });
  await venue.connect();
  const trader = client.createSession(new SessionId("TRADER", "VENUE"), "", version);
  trader.setListener({ onMessage: (m) => void reports.push(m) });
  return {
    venue,
    trader,
    port: server.listenAddresses[0].port,
    reports,
    orders,
    dir,
    engines: [server, client],
    close: async () => {
      await client.stop();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

function order(i: number): FixMessage {
  return new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "1");
}

function ids(ms: FixMessage[]): string[] {
  return ms.map((m) => m.get(11)!);
}

Deno.test("tcp: logon, 1000 orders answered in order, logout", async () => {
  const s = await setup();
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  for (let i = 1; i <= 1000; i++) s.trader.put(order(i));
  await until(() => s.reports.length === 1000, "1000 reports");
  const expected = Array.from({ length: 1000 }, (_, i) => `o${i + 1}`);
  assert.deepEqual(ids(s.orders), expected);
  assert.deepEqual(ids(s.reports), expected);
  await s.trader.disconnect("done");
  assert.equal(s.trader.state, "correctlyTerminated");
  await s.venue.waitFor("waitingForLogon", { signal: AbortSignal.timeout(5000) });
  await s.close();
});

Deno.test("tcp: a dropped link with reports in flight is recovered by resend, exactly once", async () => {
  const s = await setup();
  let hold: Promise<void> | undefined;
  const stall = Promise.withResolvers<void>();
  s.trader.setListener({
    onMessage: async (m) => {
      if (hold) await hold;
      s.reports.push(m);
    },
  });
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  hold = stall.promise;
  for (let i = 1; i <= 200; i++) s.trader.put(order(i));
  await until(() => s.venue.nextSenderSeqNum === 202, "every report sent");
  s.trader.dropConnection("test: network failure");
  hold = undefined;
  stall.resolve();
  await until(() => s.reports.length >= 200, "every report after the reconnect");
  const expected = Array.from({ length: 200 }, (_, i) => `o${i + 1}`);
  assert.deepEqual(ids(s.reports), expected);
  assert.ok(s.reports.some((m) => m.get(43) === "Y"), "some reports were resent with PossDupFlag");
  assert.deepEqual(ids(s.orders), expected);
  await s.close();
});

Deno.test("tcp: a non-graceful stop keeps sequence numbers across an engine restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const start = async () => {
      const server = new FixEngine({
        config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: `${dir}/v` },
      });
      const venue = server.createSession(new SessionId("VENUE", "TRADER"), "", FIXVersion.FIX42);
      await venue.connect();
      const client = new FixEngine({ config: { LogDirectory: `${dir}/t` } });
      const trader = client.createSession(new SessionId("TRADER", "VENUE"), "", FIXVersion.FIX42);
      await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
      await trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
      return { server, client, venue, trader };
    };
    const a = await start();
    await a.trader.put(order(1));
    await until(() => a.venue.nextTargetSeqNum === 3, "order received");
    await a.trader.disconnectNonGracefully("crash");
    await a.client.stop();
    await a.server.stop();
    const b = await start();
    // Numbers continue (Logon 1, order 2, then this Logon 3 and whatever the gap needs) and
    // both sides converge once any gap is filled.
    assert.ok(b.trader.nextSenderSeqNum >= 4, `${b.trader.nextSenderSeqNum}`);
    await until(
      () =>
        b.venue.nextTargetSeqNum === b.trader.nextSenderSeqNum &&
        b.trader.nextTargetSeqNum === b.venue.nextSenderSeqNum,
      "both sides in sync",
    );
    await b.trader.disconnect("done");
    await b.client.stop();
    await b.server.stop();
    // After a correct logout the next start begins at 1.
    const c = await start();
    assert.equal(c.trader.nextSenderSeqNum, 2);
    await c.client.stop();
    await c.server.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("tcp: heartbeats and TestRequest keep a quiet session alive (HeartBtInt 1 s)", async () => {
  const s = await setup();
  await s.trader.connect(1, "127.0.0.1", s.port);
  await s.trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  const before = s.venue.nextTargetSeqNum;
  await until(() => s.venue.nextTargetSeqNum >= before + 2, "two heartbeats", 5000);
  assert.equal(s.trader.state, "established");
  assert.equal(s.venue.state, "established");
  await s.close();
});

Deno.test("tls: logon and order exchange over TLS with a CA-signed certificate", async () => {
  const s = await setup({
    server: new TlsTransport({ cert: read("server.pem"), key: read("server.key") }),
    client: new TlsTransport({ caCerts: [read("ca.pem")], hostname: "localhost" }),
    version: FIXVersion.FIX50SP2,
  });
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  for (let i = 1; i <= 100; i++) s.trader.put(order(i));
  await until(() => s.reports.length === 100, "100 reports over TLS");
  assert.deepEqual(ids(s.reports), Array.from({ length: 100 }, (_, i) => `o${i + 1}`));
  await s.close();
});

Deno.test("engine: properties file precedence (code, session, Session.Default, top level)", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/engine.properties`;
    await Deno.writeTextFile(
      path,
      [
        "LogDirectory=" + dir,
        "HeartbeatInterval=40",
        "Session.Default.HeartbeatInterval=50",
        "Session.Default.LogonTimeFrame=1234",
        "Session.A/B.HeartbeatInterval=60",
        "ReasonableDelayInMs=5000",
      ].join("\n"),
    );
    const engine = new FixEngine({ config: path });
    const ab = engine.createSession(new SessionId("A", "B"), "FIX44", FIXVersion.FIX44);
    const cd = engine.createSession(new SessionId("C", "D"), "FIX44", FIXVersion.FIX44, {
      settings: { logonTimeoutMs: 99 },
    });
    assert.equal(ab.settings.heartbeatIntervalSeconds, 60);
    assert.equal(ab.settings.logonTimeoutMs, 1234);
    assert.equal(ab.settings.reasonableDelayMs, 5000);
    assert.equal(cd.settings.heartbeatIntervalSeconds, 50);
    assert.equal(cd.settings.logonTimeoutMs, 99);
    await engine.stop();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
