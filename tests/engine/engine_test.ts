import assert from "node:assert/strict";
import type { Clock } from "../../src/clock.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SessionsManager } from "../../src/sessions_manager.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { ManualClock, MemoryTransport } from "../../src/testing.ts";
import { TcpTransport } from "../../adapters/tcp.ts";
import type { Transport } from "../../src/transport.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { Logger } from "../../src/logger.ts";
import { Inbox, nextEvent } from "./_waits.ts";

const timeout = () => ({ signal: AbortSignal.timeout(5000) });

interface Pair {
  transport: Transport;
  acceptorEngine: FixEngine;
  initiatorEngine: FixEngine;
  acceptor: Session;
  initiator: Session;
  port: number;
  /** Orders delivered to the acceptor (each answered with an ExecutionReport). */
  received: Inbox;
  close(): Promise<void>;
}

async function makePair(
  kind: "memory" | "tcp",
  opts: {
    acceptorConfig?: Record<string, string | number | boolean>;
    initiatorConfig?: Record<string, string | number | boolean>;
    manager?: SessionsManager;
    registerAcceptor?: boolean;
    version?: FIXVersion;
    /** The acceptor's version when it differs (FIXT.1.1 application versions). */
    acceptorVersion?: FIXVersion;
    initiatorClock?: Clock;
  } = {},
): Promise<Pair> {
  const transport = kind === "memory" ? new MemoryTransport() : new TcpTransport();
  const acceptorEngine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", ...opts.acceptorConfig },
    sessionsManager: opts.manager,
  });
  const initiatorEngine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { "Reconnect.Interval": 10, ...opts.initiatorConfig },
    clock: opts.initiatorClock,
  });
  const version = opts.version ?? FIXVersion.FIX44;
  const received = new Inbox();
  let acceptor: Session | undefined;
  if (opts.registerAcceptor !== false) {
    acceptor = acceptorEngine.createSession(
      new SessionId("ACC", "INI"),
      "",
      opts.acceptorVersion ?? version,
    );
    acceptor.setListener({
      onMessage: async (m) => {
        received.push(m);
        await acceptor!.put(
          new FixMessage("8").set(11, m.get(11)!).set(37, "o").set(17, "e")
            .set(150, "0").set(39, "0").set(55, "X").set(54, "1").set(151, 0).set(14, 0).set(6, 0),
        );
      },
    });
    await acceptor.connect();
  } else {
    await acceptorEngine.start();
  }
  const port = acceptorEngine.listenAddresses[0].port;
  const initiator = initiatorEngine.createSession(new SessionId("INI", "ACC"), "", version);
  return {
    transport,
    acceptorEngine,
    initiatorEngine,
    acceptor: acceptor!,
    initiator,
    port,
    received,
    close: async () => {
      await initiatorEngine.stop();
      await acceptorEngine.stop();
    },
  };
}

type PairOptions = Parameters<typeof makePair>[1];

/** Runs a test over the in-memory transport and over real TCP on 127.0.0.1. */
function bothTransports(
  name: string,
  fn: (pair: (o?: PairOptions) => Promise<Pair>) => Promise<void>,
) {
  for (const kind of ["memory", "tcp"] as const) {
    Deno.test(`${name} (${kind})`, () => fn((o) => makePair(kind, o)));
  }
}

function order(id: string): FixMessage {
  return new FixMessage("D").set(11, id).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "1");
}

function collect(s: Session): SessionEvent[] {
  const out: SessionEvent[] = [];
  const l = s.listener;
  s.setListener({ ...l, onEvent: (e) => out.push(e) });
  return out;
}

bothTransports("engine: initiator and acceptor log on and exchange orders", async (pair) => {
  const p = await pair();
  const reports = new Inbox();
  p.initiator.setListener({ onMessage: reports.push });
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  await Promise.all(["a", "b", "c"].map((id) => p.initiator.put(order(id))));
  await reports.waitFor(3, timeout());
  assert.deepEqual(reports.ids, ["a", "b", "c"]);
  assert.deepEqual(p.received.ids, ["a", "b", "c"]);
  await p.close();
});

Deno.test("engine: creating a second session with the same id is an error", async () => {
  const engine = new FixEngine({
    transport: new MemoryTransport(),
    storeFactory: new MemorySeqStoreFactory(),
  });
  engine.createSession(new SessionId("A", "B"), "FIX44", FIXVersion.FIX44);
  assert.throws(
    () => engine.createSession(new SessionId("A", "B"), "FIX44", FIXVersion.FIX44),
    /Cannot create session: session "A->B" already exists/,
  );
  await engine.stop();
});

Deno.test("engine: finalize twice and use after finalize are errors", async () => {
  const engine = new FixEngine({
    transport: new MemoryTransport(),
    storeFactory: new MemorySeqStoreFactory(),
  });
  const s = engine.createSession(new SessionId("A", "B"), "FIX44", FIXVersion.FIX44);
  await s.finalize();
  await assert.rejects(s.finalize(), /Cannot finalize: session "A->B" is finalized/);
  await assert.rejects(s.put(order("x")), /Cannot send message: session "A->B" is finalized/);
  assert.equal(engine.getSession(new SessionId("A", "B")), undefined);
  await engine.stop();
});

bothTransports(
  "engine: the initiator reconnects after a drop and the gap is resent with PossDupFlag",
  async (pair) => {
    const p = await pair();
    const reports = new Inbox();
    p.initiator.setListener({ onMessage: reports.push });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    await p.initiator.put(order("a"));
    await reports.waitFor(1, timeout());
    p.acceptor.dropConnection("test drop");
    await p.initiator.waitFor("reconnecting", timeout());
    // Sent while the link is down: stored as MsgSeqNum 3; the new Logon is 4, so the acceptor
    // sees a gap, asks for 3 and gets the order resent.
    const lateSeq = p.initiator.nextSenderSeqNum;
    const gap = nextEvent(p.acceptor, "gapDetected", timeout());
    const resent = nextEvent(p.initiator, "resendAnswered", timeout());
    const late = p.initiator.put(order("b"));
    await p.initiator.waitFor("established", timeout());
    await late;
    assert.deepEqual(await gap.then((e) => [e.expected, e.received]), [lateSeq, lateSeq + 1]);
    const answered = await resent;
    assert.equal(answered.begin, lateSeq);
    assert.equal(answered.resent, 1);
    await reports.waitFor(2, timeout());
    assert.deepEqual(p.received.ids, ["a", "b"]);
    const b = p.received.messages[1];
    assert.equal(b.get(34), String(lateSeq));
    assert.equal(b.get(43), "Y", "the late order arrives as a resend (PossDupFlag=Y)");
    assert.ok(b.get(122) !== undefined, "the resend carries OrigSendingTime(122)");
    assert.equal(p.received.messages[0].get(43), undefined);
    assert.deepEqual(reports.ids, ["a", "b"]);
    assert.equal(p.acceptor.state, "established");
    await p.close();
  },
);

Deno.test("engine: the initiator gives up after Reconnect.MaxTries", async () => {
  const transport = new MemoryTransport();
  const engine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { "Reconnect.MaxTries": 2, "Reconnect.Interval": 1 },
  });
  const s = engine.createSession(new SessionId("INI", "ACC"), "FIX44", FIXVersion.FIX44);
  const events = collect(s);
  await s.connect(30, "127.0.0.1", 9);
  await s.waitFor("nonGracefullyTerminated", timeout());
  const failed = events.find((e) => e.type === "reconnectFailed");
  assert.ok(failed && failed.type === "reconnectFailed");
  assert.equal(failed.attempts, 3);
  await engine.stop();
});

bothTransports(
  "engine: an acceptor waits for Logon again after a drop and continues numbers",
  async (pair) => {
    const p = await pair();
    const reports = new Inbox();
    p.initiator.setListener({ onMessage: reports.push });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    await p.initiator.put(order("a"));
    await reports.waitFor(1, timeout()); // both sides are quiet: nothing in flight
    const seqBefore = p.acceptor.nextTargetSeqNum;
    p.initiator.dropConnection("test drop");
    await p.acceptor.waitFor("waitingForLogon", timeout());
    await p.initiator.waitFor("established", timeout());
    await p.acceptor.waitFor("established", timeout());
    assert.equal(p.acceptor.nextTargetSeqNum, seqBefore + 1); // the new Logon
    await p.close();
  },
);

bothTransports("engine: a wrong password is refused and the store is untouched", async (pair) => {
  const p = await pair({
    acceptorConfig: { "Session.ACC/INI.Password": "right" },
    initiatorConfig: { Password: "wrong", "Reconnect.MaxTries": 0 },
  });
  const events = collect(p.initiator);
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("nonGracefullyTerminated", timeout());
  const logout = events.find((e) => e.type === "disconnected");
  assert.ok(logout);
  assert.equal(p.acceptor.nextSenderSeqNum, 1);
  assert.equal(p.acceptor.nextTargetSeqNum, 1);
  await p.close();
});

bothTransports(
  "engine: unknown CompIDs are refused when unregistered acceptors are disabled",
  async (pair) => {
    const p = await pair({ registerAcceptor: false, initiatorConfig: { "Reconnect.MaxTries": 0 } });
    const events = collect(p.initiator);
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("nonGracefullyTerminated", timeout());
    assert.ok(events.some((e) => e.type === "disconnected"));
    assert.equal(p.acceptorEngine.sessions.length, 0);
    await p.close();
  },
);

bothTransports(
  "engine: a custom SessionsManager refuses or accepts unregistered acceptors",
  async (pair) => {
    const asked: string[] = [];
    const manager: SessionsManager = {
      onUnregisteredAcceptor: async ({ sessionId }) => {
        asked.push(sessionId.toString());
        await Promise.resolve();
        return sessionId.target === "INI"
          ? { accept: true }
          : { accept: false, reason: "unknown counterparty" };
      },
    };
    const p = await pair({
      registerAcceptor: false,
      manager,
      acceptorConfig: { CreateUnregisteredAcceptorSession: true },
      initiatorConfig: { "Reconnect.MaxTries": 0 },
    });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    assert.deepEqual(asked, ["ACC->INI"]);
    assert.equal(p.acceptorEngine.sessions.length, 1);
    const other = p.initiatorEngine.createSession(
      new SessionId("STRANGER", "ACC"),
      "",
      FIXVersion.FIX44,
    );
    const refused = nextEvent(other, "logout", timeout());
    await other.connect(30, "127.0.0.1", p.port);
    assert.equal((await refused).text, "unknown counterparty", "the reason is sent in a Logout");
    await other.waitFor("nonGracefullyTerminated", timeout());
    assert.deepEqual(asked, ["ACC->INI", "ACC->STRANGER"]);
    assert.equal(p.acceptorEngine.sessions.length, 1);
    await p.close();
  },
);

bothTransports(
  "engine: graceful disconnect ends correctly terminated; next start uses fresh numbers",
  async (pair) => {
    const p = await pair();
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    await p.initiator.put(order("a"));
    await p.received.waitFor(1, timeout());
    await p.initiator.disconnect("bye");
    assert.equal(p.initiator.state, "correctlyTerminated");
    await p.acceptor.waitFor("waitingForLogon", timeout());
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    assert.equal(p.initiator.nextSenderSeqNum, 2);
    assert.equal(p.acceptor.nextTargetSeqNum, 2);
    await p.close();
  },
);

bothTransports("engine: resetSeqNumLocal resets a disconnected session", async (pair) => {
  const p = await pair();
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  await p.initiator.put(order("a"));
  await p.initiator.disconnectNonGracefully("test");
  assert.equal(p.initiator.nextSenderSeqNum, 3);
  await p.initiator.resetSeqNumLocal();
  assert.equal(p.initiator.nextSenderSeqNum, 1);
  assert.equal(p.initiator.nextTargetSeqNum, 1);
  await p.close();
});

/** A primary address where nothing listens and a backup with an acceptor; records attempts. */
async function backupSetup(config: Record<string, string | number | boolean>) {
  const memory = new MemoryTransport();
  const tried: number[] = [];
  const transport: Transport = {
    connect: (ep, o) => {
      tried.push(ep.port);
      return memory.connect(ep, o);
    },
    listen: (ep) => memory.listen(ep),
  };
  const server = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 7002, ListenAddress: "127.0.0.1" },
  });
  const acc = server.createSession(new SessionId("ACC", "INI"), "", FIXVersion.FIX44);
  await acc.connect();
  const client = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { "Reconnect.Interval": 1, BackupHost: "127.0.0.1", BackupPort: 7002, ...config },
  });
  const ini = client.createSession(new SessionId("INI", "ACC"), "", FIXVersion.FIX44);
  const events = collect(ini);
  await ini.connect(30, "127.0.0.1", 7001); // nothing listens on the primary
  return {
    acc,
    ini,
    tried,
    events,
    close: async () => {
      await client.stop();
      await server.stop();
    },
  };
}

Deno.test("engine: cyclic backup switching alternates primary and backup after each failure", async () => {
  const b = await backupSetup({});
  await b.ini.waitFor("established", timeout());
  assert.deepEqual(b.tried, [7001, 7002]);
  assert.ok(b.events.some((e) => e.type === "stateChanged" && e.to === "reconnecting"));
  b.acc.dropConnection("venue restarts");
  await b.ini.waitFor("reconnecting", timeout());
  await b.ini.waitFor("established", timeout());
  assert.deepEqual(b.tried, [7001, 7002, 7001, 7002]);
  await b.close();
});

Deno.test("engine: non-cyclic backup switching fails over once and stays on the backup", async () => {
  const b = await backupSetup({ CyclicSwitchBackupConnection: false });
  await b.ini.waitFor("established", timeout());
  b.acc.dropConnection("venue restarts");
  await b.ini.waitFor("reconnecting", timeout());
  await b.ini.waitFor("established", timeout());
  assert.deepEqual(b.tried, [7001, 7002, 7002]);
  await b.close();
});

Deno.test("engine: without auto switching the backup is never tried", async () => {
  const b = await backupSetup({
    EnableAutoSwitchToBackupConnection: false,
    "Reconnect.MaxTries": 2,
  });
  await b.ini.waitFor("nonGracefullyTerminated", timeout());
  assert.deepEqual(b.tried, [7001, 7001, 7001]);
  assert.ok(b.events.some((e) => e.type === "reconnectFailed"));
  assert.equal(b.acc.state, "waitingForLogon");
  await b.close();
});

bothTransports("engine: a Logon from a source address not allowed is refused", async (pair) => {
  const p = await pair({
    acceptorConfig: { "Session.ACC/INI.AllowedSourceAddresses": "10.1.1.1" },
    initiatorConfig: { "Reconnect.MaxTries": 0 },
  });
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("nonGracefullyTerminated", timeout());
  assert.equal(p.acceptor.state, "waitingForLogon");
  assert.equal(p.acceptor.nextTargetSeqNum, 1);
  await p.close();
});

bothTransports(
  "engine: a SessionsManager that does not decide in time refuses the Logon",
  async (pair) => {
    let aborted = false;
    const p = await pair({
      registerAcceptor: false,
      manager: {
        onUnregisteredAcceptor: (_req, { signal }) =>
          new Promise((resolve) => {
            signal.addEventListener("abort", () => {
              aborted = true;
              resolve({ accept: true });
            });
          }),
      },
      acceptorConfig: {
        CreateUnregisteredAcceptorSession: true,
        UnregisteredAcceptorDecisionTimeout: 20,
      },
      initiatorConfig: { "Reconnect.MaxTries": 0 },
    });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("nonGracefullyTerminated", timeout());
    assert.equal(aborted, true);
    assert.equal(p.acceptorEngine.sessions.length, 0);
    await p.close();
  },
);

Deno.test("engine: an acceptor with its own ListenPort is reachable there", async () => {
  const transport = new MemoryTransport();
  const engine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 7100, ListenAddress: "127.0.0.1", "Session.ACC2/INI.ListenPort": 7101 },
  });
  const a1 = engine.createSession(new SessionId("ACC", "INI"), "", FIXVersion.FIX44);
  await a1.connect();
  const a2 = engine.createSession(new SessionId("ACC2", "INI"), "", FIXVersion.FIX44);
  await a2.connect();
  assert.deepEqual(engine.listenAddresses.map((a) => a.port).sort(), [7100, 7101]);
  const client = new FixEngine({ transport, storeFactory: new MemorySeqStoreFactory() });
  const ini = client.createSession(new SessionId("INI", "ACC2"), "", FIXVersion.FIX44);
  await ini.connect(30, "127.0.0.1", 7101);
  await a2.waitFor("established", timeout());
  await client.stop();
  await engine.stop();
});

bothTransports(
  "engine: RejectMessageWhileNoConnection rejects an expired late message via put()",
  async (pair) => {
    const clock = new ManualClock(Date.now());
    const p = await pair({
      initiatorConfig: { RejectMessageWhileNoConnection: true, MessageTimeToLive: 1 },
      initiatorClock: clock,
    });
    const late = p.initiator.put(order("late"));
    late.catch(() => {});
    await clock.advance(2); // older than MessageTimeToLive
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await assert.rejects(late, /expired/);
    await p.initiator.waitFor("established", timeout());
    await p.initiator.put(order("fresh"));
    await p.received.waitFor(1, timeout());
    assert.deepEqual(p.received.ids, ["fresh"]);
    await p.close();
  },
);

bothTransports("engine: credentials in configurable tags", async (pair) => {
  const p = await pair({
    acceptorConfig: { "Session.ACC/INI.Password": "pw", "Session.ACC/INI.PasswordTag": 9100 },
    initiatorConfig: { Password: "pw", PasswordTag: 9100 },
  });
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  await p.close();
});

bothTransports(
  "engine: IntradayLogoutTolerance keeps numbers across a correct logout",
  async (pair) => {
    const p = await pair({
      acceptorConfig: { IntradayLogoutTolerance: true },
      initiatorConfig: { IntradayLogoutTolerance: true },
    });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    await p.initiator.put(order("a"));
    await p.received.waitFor(1, timeout());
    await p.initiator.disconnect("lunch");
    await p.acceptor.waitFor("waitingForLogon", timeout());
    const next = p.initiator.nextSenderSeqNum;
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    assert.equal(p.initiator.nextSenderSeqNum, next + 1); // continued: the new Logon only
    await p.close();
  },
);

bothTransports(
  "engine: inbound messages are validated against the session's dictionary",
  async (pair) => {
    const p = await pair();
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    const rejects: SessionEvent[] = [];
    p.acceptor.setListener({ ...p.acceptor.listener, onEvent: (e) => void rejects.push(e) });
    await p.initiator.put(new FixMessage("D").set(11, "no-side")); // Side, TransactTime... missing
    await p.initiator.put(order("ok"));
    await p.received.waitFor(1, timeout());
    const sent = rejects.find((e) => e.type === "rejectSent");
    assert.ok(sent && sent.type === "rejectSent" && sent.reason === 1, JSON.stringify(sent));
    assert.deepEqual(p.received.ids, ["ok"]);
    await p.close();
  },
);

Deno.test("engine: a custom venue dictionary is used for validation", async () => {
  const { parseDictionaryXml } = await import("../../src/dictionary/load.ts");
  const venue = parseDictionaryXml(
    `<fix type='FIX' major='4' minor='4'><header>
      <field name='BeginString' required='Y'/><field name='BodyLength' required='Y'/>
      <field name='MsgType' required='Y'/><field name='SenderCompID' required='Y'/>
      <field name='TargetCompID' required='Y'/><field name='MsgSeqNum' required='Y'/>
      <field name='PossDupFlag' required='N'/><field name='SendingTime' required='Y'/>
      <field name='OrigSendingTime' required='N'/>
     </header><trailer><field name='CheckSum' required='Y'/></trailer><messages>
      <message name='Heartbeat' msgtype='0' msgcat='admin'/>
      <message name='Logon' msgtype='A' msgcat='admin'/>
      <message name='VenueOrder' msgtype='U1' msgcat='app'><field name='VenueCode' required='Y'/></message>
     </messages><components/><fields>
      <field number='8' name='BeginString' type='STRING'/><field number='9' name='BodyLength' type='LENGTH'/>
      <field number='35' name='MsgType' type='STRING'/><field number='49' name='SenderCompID' type='STRING'/>
      <field number='56' name='TargetCompID' type='STRING'/><field number='34' name='MsgSeqNum' type='SEQNUM'/>
      <field number='43' name='PossDupFlag' type='BOOLEAN'/><field number='52' name='SendingTime' type='UTCTIMESTAMP'/>
      <field number='122' name='OrigSendingTime' type='UTCTIMESTAMP'/><field number='10' name='CheckSum' type='STRING'/>
      <field number='5001' name='VenueCode' type='STRING'/>
     </fields></fix>`,
    "venue.xml",
  );
  const transport = new MemoryTransport();
  const server = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
  });
  const got = new Inbox();
  const acc = server.createSession(new SessionId("ACC", "INI"), venue, FIXVersion.FIX44, {
    listener: { onMessage: got.push },
  });
  const events: SessionEvent[] = [];
  acc.setListener({ ...acc.listener, onEvent: (e) => void events.push(e) });
  await acc.connect();
  const client = new FixEngine({ transport, storeFactory: new MemorySeqStoreFactory() });
  const ini = client.createSession(new SessionId("INI", "ACC"), "", FIXVersion.FIX44);
  await ini.connect(30, "127.0.0.1", server.listenAddresses[0].port);
  await ini.waitFor("established", timeout());
  await ini.put(new FixMessage("U1"));
  await ini.put(new FixMessage("U1").set(5001, "XPAR"));
  await got.waitFor(1, timeout());
  assert.deepEqual(got.messages.map((m) => m.get(5001)), ["XPAR"]);
  assert.ok(events.some((e) => e.type === "rejectSent" && e.reason === 1));
  await client.stop();
  await server.stop();
});

Deno.test("engine: waitFor, events and resetSeqNumLocal before connect leave the role open", async () => {
  const transport = new MemoryTransport();
  const server = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
  });
  const acc = server.createSession(new SessionId("ACC", "INI"), "", FIXVersion.FIX44);
  const established = acc.waitFor("established", timeout());
  const events = acc.events();
  await acc.resetSeqNumLocal();
  assert.equal(acc.role, undefined);
  assert.equal(acc.state, "initial");
  assert.equal(acc.nextSenderSeqNum, 1);
  await acc.connect(); // threw "is an initiator" before
  assert.equal(acc.role, "acceptor");
  const client = new FixEngine({ transport, storeFactory: new MemorySeqStoreFactory() });
  const ini = client.createSession(new SessionId("INI", "ACC"), "", FIXVersion.FIX44);
  await ini.connect(30, "127.0.0.1", server.listenAddresses[0].port);
  await established;
  // The subscription taken before connect saw the session from its first state change on.
  const seen: string[] = [];
  for await (const e of events) {
    if (e.type === "stateChanged") seen.push(`${e.from}->${e.to}`);
    if (e.type === "logon") break;
  }
  assert.deepEqual(seen, ["initial->waitingForLogon", "waitingForLogon->established"]);
  await client.stop();
  await server.stop();
});

Deno.test("engine: waitFor before connect rejects when the session is finalized first", async () => {
  const engine = new FixEngine({
    transport: new MemoryTransport(),
    storeFactory: new MemorySeqStoreFactory(),
  });
  const s = engine.createSession(new SessionId("A", "B"), "", FIXVersion.FIX44);
  const waiting = s.waitFor("established", timeout());
  const events = s.events();
  await s.finalize();
  await assert.rejects(waiting, /Cannot wait for "established": session "A->B" is finalized/);
  assert.deepEqual(await events.next(), { value: undefined, done: true });
  await engine.stop();
});

Deno.test("engine: an acceptor connect after put() before connect is refused clearly", async () => {
  const engine = new FixEngine({
    transport: new MemoryTransport(),
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
  });
  const s = engine.createSession(new SessionId("A", "B"), "", FIXVersion.FIX44);
  await s.put(order("queued"));
  await assert.rejects(
    s.connect(),
    /Cannot connect as acceptor: session "A->B" queued messages as an initiator before connect/,
  );
  await engine.stop();
});

Deno.test("engine: a connection that sends no Logon is closed after LogonTimeFrame", async () => {
  const transport = new MemoryTransport();
  const clock = new ManualClock(1_000_000);
  const waiting = Promise.withResolvers<number>();
  const noop = () => {};
  const logger: Logger = {
    debug: (message, fields) => {
      if (message === "waiting for the first Logon") waiting.resolve(fields?.dueAtMs as number);
    },
    info: noop,
    warn: noop,
    error: noop,
  };
  const engine = new FixEngine({
    transport,
    clock,
    logger,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogonTimeFrame: 1500 },
  });
  await engine.start();
  const conn = await transport.connect({ host: "127.0.0.1", port: engine.listenAddresses[0].port });
  let closed = false;
  conn.closed.then(() => closed = true);
  assert.equal(await waiting.promise, 1_001_500);
  await clock.advance(1499);
  assert.equal(closed, false, "still open 1 ms before LogonTimeFrame");
  await clock.advance(1);
  assert.equal(await conn.closed, "peer closed");
  await engine.stop();
});

bothTransports("engine: resetSequenceNumbers resets both sides mid-session", async (pair) => {
  const p = await pair();
  const reports = new Inbox();
  p.initiator.setListener({ onMessage: reports.push });
  await assert.rejects(p.initiator.resetSequenceNumbers(), /is initial/);
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  await Promise.all(["a", "b", "c"].map((id) => p.initiator.put(order(id))));
  await reports.waitFor(3, timeout());
  assert.equal(p.initiator.nextSenderSeqNum, 5);
  await p.initiator.resetSequenceNumbers(timeout());
  // Both Logons with 141=Y carried MsgSeqNum 1.
  assert.equal(p.initiator.nextSenderSeqNum, 2);
  assert.equal(p.initiator.nextTargetSeqNum, 2);
  assert.equal(p.acceptor.nextSenderSeqNum, 2);
  assert.equal(p.acceptor.nextTargetSeqNum, 2);
  await p.initiator.put(order("d"));
  await reports.waitFor(4, timeout());
  assert.deepEqual(p.received.ids, ["a", "b", "c", "d"]);
  assert.equal(p.initiator.state, "established");
  await p.close();
});

bothTransports(
  "engine: FIXT.1.1 messages without ApplVerID use the counterparty's DefaultApplVerID",
  async (pair) => {
    // The acceptor's own default is FIX.5.0 (7); the initiator logs on with FIX.5.0 SP2 (9) and
    // sends a message type that only FIX.5.0 SP2 defines, without ApplVerID(1128).
    const p = await pair({
      version: FIXVersion.FIX50SP2,
      acceptorVersion: FIXVersion.FIX50,
      acceptorConfig: { "Validation.CheckRequiredTags": false },
    });
    const rejects = new Inbox();
    p.initiator.setListener({ onMessage: rejects.push });
    await p.initiator.connect(30, "127.0.0.1", p.port);
    await p.initiator.waitFor("established", timeout());
    await p.initiator.put(new FixMessage("BZ").set(11, "sp2-only"));
    await p.initiator.put(order("after"));
    await p.received.waitFor(2, timeout());
    assert.deepEqual(p.received.messages.map((m) => m.msgType), ["BZ", "D"]);
    assert.equal(rejects.count((m) => m.msgType === "j"), 0);
    await p.close();
  },
);

bothTransports("engine: setSequenceNumbers realigns a disconnected session", async (pair) => {
  const p = await pair();
  const reports = new Inbox();
  p.initiator.setListener({ onMessage: reports.push });
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  await Promise.all(["a", "b"].map((id) => p.initiator.put(order(id))));
  await reports.waitFor(2, timeout());
  await assert.rejects(
    p.acceptor.setSequenceNumbers({ nextTargetSeqNum: 2 }),
    /Cannot set sequence numbers: session "ACC->INI" is connected/,
  );
  await p.initiator.disconnectNonGracefully("realign");
  await p.acceptor.waitFor("waitingForLogon", timeout());
  await assert.rejects(p.acceptor.setSequenceNumbers({ nextTargetSeqNum: 0 }), RangeError);
  await assert.rejects(p.initiator.setSequenceNumbers({ nextSenderSeqNum: 2 }), RangeError);
  // The acceptor forgets the two orders (expects 2 again) and jumps its own numbers to 10.
  await p.acceptor.setSequenceNumbers({ nextTargetSeqNum: 2, nextSenderSeqNum: 10 });
  assert.equal(p.acceptor.nextTargetSeqNum, 2);
  assert.equal(p.acceptor.nextSenderSeqNum, 10);
  await p.initiator.connect(30, "127.0.0.1", p.port);
  await p.initiator.waitFor("established", timeout());
  // The orders come again as PossDup resends; the skipped numbers are filled both ways.
  await p.received.waitFor(4, timeout());
  assert.deepEqual(p.received.ids, ["a", "b", "a", "b"]);
  assert.ok(p.received.messages.slice(2).every((m) => m.get(43) === "Y"));
  await p.initiator.put(order("c"));
  await reports.waitFor(1, timeout(), (m) => m.get(11) === "c");
  assert.equal(p.initiator.nextTargetSeqNum, p.acceptor.nextSenderSeqNum);
  assert.equal(p.acceptor.nextTargetSeqNum, p.initiator.nextSenderSeqNum);
  await p.close();
});

bothTransports(
  "engine: FIXT.1.1 carries a FIX.4.4 application (DefaultApplVerID 6)",
  async (pair) => {
    const p = await pair({ version: FIXVersion.FIX50SP2 });
    await p.initiatorEngine.stop();
    const engine = new FixEngine({
      transport: p.transport,
      storeFactory: new MemorySeqStoreFactory(),
      config: { "Reconnect.Interval": 10 },
    });
    const ini = engine.createSession(new SessionId("INI", "ACC"), "", FIXVersion.FIX50SP2, {
      settings: { defaultApplVerId: "6" },
    });
    const reports = new Inbox();
    ini.setListener({ onMessage: reports.push });
    await ini.connect(30, "127.0.0.1", p.port);
    await ini.waitFor("established", timeout());
    await ini.put(order("fix44-over-fixt"));
    await p.received.waitFor(1, timeout());
    assert.deepEqual(p.received.ids, ["fix44-over-fixt"]);
    assert.equal(reports.count((m) => m.msgType === "j" || m.msgType === "3"), 0);
    await engine.stop();
    await p.acceptorEngine.stop();
  },
);
