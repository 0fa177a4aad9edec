// Integration over real sockets on 127.0.0.1 (port 0) with the default file store.
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";
import { TcpTransport } from "../../adapters/tcp.ts";
import { TlsTransport } from "../../adapters/tls.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { SessionId } from "../../src/session_id.ts";
import { Inbox, nextEvent, ofType, timeout } from "../engine/_waits.ts";
import { order, setup } from "./_setup.ts";
import { TappedTransport } from "./_tap.ts";

const fixtures = new URL("../fixtures/tls/", import.meta.url);
const read = (n: string) => Deno.readTextFileSync(new URL(n, fixtures));
const fixture = (n: string) => fileURLToPath(new URL(n, fixtures));

Deno.test("tcp: logon, 1000 orders answered in order, logout", async () => {
  const s = await setup();
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", timeout());
  for (let i = 1; i <= 1000; i++) s.trader.put(order(i));
  await s.reports.waitFor(1000, timeout());
  const expected = Array.from({ length: 1000 }, (_, i) => `o${i + 1}`);
  assert.deepEqual(s.orders.ids, expected);
  assert.deepEqual(s.reports.ids, expected);
  await s.trader.disconnect("done");
  assert.equal(s.trader.state, "correctlyTerminated");
  await s.venue.waitFor("waitingForLogon", timeout());
  await s.close();
});

Deno.test("tcp: a dropped link with reports in flight is recovered by resend, exactly once", async () => {
  const s = await setup();
  let hold: Promise<void> | undefined;
  const stall = Promise.withResolvers<void>();
  const reports = new Inbox();
  s.trader.setListener({
    onMessage: async (m) => {
      if (hold) await hold;
      reports.push(m);
    },
  });
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", timeout());
  hold = stall.promise;
  for (let i = 1; i <= 200; i++) s.trader.put(order(i));
  await s.sent.waitFor(200, timeout()); // every report handed to the connection
  assert.equal(s.venue.nextSenderSeqNum, 202);
  s.trader.dropConnection("test: network failure");
  hold = undefined;
  stall.resolve();
  await reports.waitFor(200, timeout());
  const expected = Array.from({ length: 200 }, (_, i) => `o${i + 1}`);
  assert.deepEqual(reports.ids, expected);
  assert.ok(reports.messages.some((m) => m.get(43) === "Y"), "some reports were resent");
  assert.deepEqual(s.orders.ids, expected);
  await s.close();
});

Deno.test("tcp: a non-graceful stop keeps sequence numbers across an engine restart", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const start = async () => {
      const server = new FixEngine({
        config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: `${dir}/v` },
      });
      const orders = new Inbox();
      const venue = server.createSession(new SessionId("VENUE", "TRADER"), "", FIXVersion.FIX42, {
        listener: { onMessage: orders.push },
      });
      await venue.connect();
      const client = new FixEngine({ config: { LogDirectory: `${dir}/t` } });
      const trader = client.createSession(new SessionId("TRADER", "VENUE"), "", FIXVersion.FIX42);
      await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
      await trader.waitFor("established", timeout());
      await venue.waitFor("established", timeout());
      return { server, client, venue, trader, orders };
    };
    const a = await start();
    await a.trader.put(order(1));
    await a.orders.waitFor(1, timeout());
    assert.equal(a.venue.nextTargetSeqNum, 3); // Logon 1, order 2
    await a.trader.disconnectNonGracefully("crash");
    // The venue has seen the drop (else its stop would send a Logout the trader never reads).
    await a.venue.waitFor("waitingForLogon", timeout());
    await a.client.stop();
    await a.server.stop();
    const b = await start();
    // Numbers continue: the trader's Logon is 3, the venue's answer 2; no gap on either side.
    assert.equal(b.trader.nextSenderSeqNum, 4);
    assert.equal(b.venue.nextTargetSeqNum, 4);
    assert.equal(b.venue.nextSenderSeqNum, 3);
    assert.equal(b.trader.nextTargetSeqNum, 3);
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

Deno.test("tcp: heartbeats flow both ways and keep a quiet session established (HeartBtInt 1 s)", async () => {
  const server = new TappedTransport(new TcpTransport());
  const client = new TappedTransport(new TcpTransport());
  const s = await setup({ server, client });
  await s.trader.connect(1, "127.0.0.1", s.port);
  await s.trader.waitFor("established", timeout());
  await Promise.all([
    server.inbound.waitFor(2, timeout(5000), ofType("0")), // from the trader
    client.inbound.waitFor(2, timeout(5000), ofType("0")), // from the venue
  ]);
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
  await s.trader.waitFor("established", timeout());
  for (let i = 1; i <= 100; i++) s.trader.put(order(i));
  await s.reports.waitFor(100, timeout());
  assert.deepEqual(s.reports.ids, Array.from({ length: 100 }, (_, i) => `o${i + 1}`));
  await s.close();
});

Deno.test("tls: TLS.* properties build TLS engines that exchange orders", async () => {
  const s = await setup({
    venueConfig: {
      "TLS.Enabled": true,
      "TLS.CertificateFile": fixture("server.pem"),
      "TLS.KeyFile": fixture("server.key"),
    },
    traderConfig: {
      "TLS.Enabled": true,
      "TLS.CaFile": fixture("ca.pem"),
      "TLS.ServerName": "localhost",
      "Reconnect.MaxTries": 0,
    },
  });
  assert.equal(s.server.settings.tlsEnabled, true);
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", timeout());
  await s.trader.put(order(1));
  await s.reports.waitFor(1, timeout());
  assert.deepEqual(s.reports.ids, ["o1"]);
  await s.close();
});

Deno.test("tls: a plain TCP initiator cannot log on to a TLS.Enabled engine", async () => {
  const s = await setup({
    venueConfig: {
      "TLS.Enabled": true,
      "TLS.CertificateFile": fixture("server.pem"),
      "TLS.KeyFile": fixture("server.key"),
    },
    traderConfig: { "Reconnect.MaxTries": 0, LogonTimeFrame: 2000 },
  });
  const failed = nextEvent(s.trader, "reconnectFailed", timeout());
  await s.trader.connect(30, "127.0.0.1", s.port);
  assert.equal((await failed).attempts, 1);
  assert.equal(s.venue.state, "waitingForLogon");
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

Deno.test("tls: one engine holds a TLS session and a TCP session side by side", async () => {
  const s = await setup(); // the venue TEST2/TEST1 and the trader over plain TCP
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const tlsPort = (free.addr as Deno.NetAddr).port;
  free.close();
  // A second counterparty, over TLS, on the same two engines.
  const secureVenue = s.server.createSession(
    new SessionId("VENUE", "SECURE"),
    "",
    FIXVersion.FIX44,
    {
      settings: { listenPort: tlsPort },
      transport: new TlsTransport({ cert: read("server.pem"), key: read("server.key") }),
    },
  );
  const secureOrders = new Inbox();
  secureVenue.setListener({ onMessage: secureOrders.push });
  await secureVenue.connect();
  const secure = s.client.createSession(new SessionId("SECURE", "VENUE"), "", FIXVersion.FIX44, {
    transport: new TlsTransport({ caCerts: [read("ca.pem")], hostname: "localhost" }),
  });
  await Promise.all([
    s.trader.connect(30, "127.0.0.1", s.port),
    secure.connect(30, "127.0.0.1", tlsPort),
  ]);
  await s.trader.waitFor("established", timeout());
  await secure.waitFor("established", timeout());
  await s.trader.put(order(1));
  await secure.put(order(2));
  await s.orders.waitFor(1, timeout());
  await secureOrders.waitFor(1, timeout());
  assert.deepEqual([s.orders.ids, secureOrders.ids], [["o1"], ["o2"]]);
  // The TLS port speaks only TLS: a plain TCP session cannot log on there.
  const plain = s.client.createSession(new SessionId("PLAIN", "VENUE"), "", FIXVersion.FIX44, {
    settings: { reconnectMaxTries: 0 },
  });
  await plain.connect(30, "127.0.0.1", tlsPort);
  await plain.waitFor("nonGracefullyTerminated", timeout());
  assert.equal(secureVenue.state, "established");
  // An acceptor with its own transport needs its own ListenPort.
  const portless = s.server.createSession(new SessionId("VENUE", "X"), "", FIXVersion.FIX44, {
    transport: new TcpTransport(),
  });
  await assert.rejects(portless.connect(), /has its own transport but no ListenPort of its own/);
  await s.close();
});
