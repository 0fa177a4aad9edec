// Refused Logons over TCP with the file store: credentials and source addresses are checked
// before anything stored changes, also after a correct logout (when the next Logon would
// otherwise start fresh sequence numbers) and for unregistered acceptors.
import assert from "node:assert/strict";
import { TcpTransport } from "../../adapters/tcp.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SessionsManager } from "../../src/sessions_manager.ts";
import { Inbox, nextEvent, ofType, timeout } from "../engine/_waits.ts";
import { order, setup } from "./_setup.ts";
import { TappedTransport } from "./_tap.ts";

const VENUE = new SessionId("VENUE", "TRADER");
const TRADER = new SessionId("TRADER", "VENUE");

/** Every file of a store folder, by name, with its content. */
async function snapshot(dir: string): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for await (const e of Deno.readDir(dir)) {
    if (e.isFile && e.name !== "owner.lock" && !e.name.startsWith("messages.")) {
      out[e.name] = new TextDecoder().decode(await Deno.readFile(`${dir}/${e.name}`));
    }
  }
  return out;
}

/** Logs the trader on, exchanges one order, logs out: the venue ends correctly terminated. */
async function runOneCorrectSession(s: Awaited<ReturnType<typeof setup>>): Promise<void> {
  await s.trader.connect(30, "127.0.0.1", s.port);
  await s.trader.waitFor("established", timeout());
  await s.trader.put(order(1));
  await s.reports.waitFor(1, timeout());
  await s.trader.disconnect("bye");
  await s.venue.waitFor("waitingForLogon", timeout()); // store flushed after the Logout
}

/** A second initiator engine, with its own store, whose Logon is expected to be refused. */
function intruder(dir: string, props: Record<string, string | number>): FixEngine {
  return new FixEngine({
    config: { LogDirectory: `${dir}/intruder`, "Reconnect.MaxTries": 0, ...props },
  });
}

Deno.test("refusal: a wrong password after a correct logout leaves the stored state unchanged", async () => {
  const s = await setup({
    venueConfig: { "Session.VENUE/TRADER.Password": "right" },
    traderConfig: { Password: "right" },
  });
  const other = intruder(s.dir, { Password: "wrong" });
  try {
    await runOneCorrectSession(s);
    const storeDir = `${s.dir}/venue/${VENUE.key}`;
    const before = await snapshot(storeDir);
    // The state is the last line (a flush appends one).
    assert.match(before["state.txt"].trimEnd().split("\n").at(-1)!, /^S 4 T 4 C \d+ E 1/);
    const seq = [s.venue.nextSenderSeqNum, s.venue.nextTargetSeqNum];

    const bad = other.createSession(TRADER, "", FIXVersion.FIX44);
    const refused = nextEvent(bad, "logout", timeout());
    const gaveUp = nextEvent(bad, "reconnectFailed", timeout());
    await bad.connect(30, "127.0.0.1", s.port);
    assert.equal((await refused).text, "Invalid username or password");
    await gaveUp;

    assert.deepEqual(await snapshot(storeDir), before, "no reset, no archive, no number used");
    assert.deepEqual([s.venue.nextSenderSeqNum, s.venue.nextTargetSeqNum], seq);
    assert.equal(s.venue.state, "waitingForLogon");

    // The right counterparty still logs on, with the fresh numbers a correct logout implies.
    await s.trader.connect(30, "127.0.0.1", s.port);
    await s.trader.waitFor("established", timeout());
    await s.venue.waitFor("established", timeout());
    assert.equal(s.venue.nextTargetSeqNum, 2);
    assert.equal(s.venue.nextSenderSeqNum, 2);
  } finally {
    await other.stop();
    await s.close();
  }
});

Deno.test("refusal: a Logon from a source address not allowed leaves the stored state unchanged", async () => {
  const s = await setup({ traderConfig: { "Reconnect.MaxTries": 0 } });
  let restarted: FixEngine | undefined;
  try {
    await runOneCorrectSession(s);
    await s.server.stop();
    const storeDir = `${s.dir}/venue/${VENUE.key}`;
    const before = await snapshot(storeDir);
    assert.match(before["state.txt"].trimEnd().split("\n").at(-1)!, / E 1/);
    // The same venue, restarted with an allow-list that excludes 127.0.0.1.
    restarted = new FixEngine({
      config: {
        ListenPort: 0,
        ListenAddress: "127.0.0.1",
        LogDirectory: `${s.dir}/venue`,
        "Session.VENUE/TRADER.AllowedSourceAddresses": "10.1.1.1, 10.1.1.2",
      },
    });
    const venue = restarted.createSession(VENUE, "", FIXVersion.FIX44);
    await venue.connect();
    const closed = nextEvent(s.trader, "disconnected", timeout());
    const gaveUp = nextEvent(s.trader, "reconnectFailed", timeout());
    await s.trader.connect(30, "127.0.0.1", restarted.listenAddresses[0].port);
    assert.equal((await closed).graceful, false);
    await gaveUp;
    assert.equal(venue.state, "waitingForLogon");
    assert.equal(venue.nextSenderSeqNum, 4);
    assert.deepEqual(await snapshot(storeDir), before);
  } finally {
    await restarted?.stop();
    await s.close();
  }
});

Deno.test("refusal: an unregistered acceptor with a wrong password or address creates nothing", async () => {
  const dir = await Deno.makeTempDir();
  const created: string[] = [];
  const asked: string[] = [];
  const manager: SessionsManager = {
    onUnregisteredAcceptor: ({ remoteAddress }) => {
      asked.push(remoteAddress);
      return asked.length === 2
        ? { accept: true, settings: { allowedSourceAddresses: ["10.9.9.9"] } }
        : { accept: true, settings: { password: "s3cret" } };
    },
    onSessionCreated: (id) => void created.push(id.toString()),
  };
  const server = new FixEngine({
    sessionsManager: manager,
    config: {
      ListenPort: 0,
      ListenAddress: "127.0.0.1",
      LogDirectory: `${dir}/venue`,
      CreateUnregisteredAcceptorSession: true,
    },
  });
  const wrong = intruder(dir, { Password: "wrong" });
  const right = new FixEngine({
    config: { LogDirectory: `${dir}/trader`, "Reconnect.MaxTries": 0, Password: "s3cret" },
  });
  try {
    await server.start();
    const port = server.listenAddresses[0].port;
    // 1: wrong password, 2: right password but the address is not allowed.
    for (const engine of [wrong, right]) {
      const t = engine.createSession(TRADER, "", FIXVersion.FIX44);
      const gaveUp = nextEvent(t, "reconnectFailed", timeout());
      await t.connect(30, "127.0.0.1", port);
      await gaveUp;
      await t.finalize();
    }
    assert.equal(asked.length, 2);
    assert.deepEqual(created, []);
    assert.equal(server.sessions.length, 0);
    await assert.rejects(Deno.stat(`${dir}/venue/${VENUE.key}`), Deno.errors.NotFound);
    // 3: right password, address allowed: accepted with the manager's settings.
    const t = right.createSession(TRADER, "", FIXVersion.FIX44);
    await t.connect(30, "127.0.0.1", port);
    await t.waitFor("established", timeout());
    assert.deepEqual(created, [VENUE.toString()]);
    assert.equal(server.getSession(VENUE)?.settings.password, "s3cret");
  } finally {
    await right.stop();
    await wrong.stop();
    await server.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("refusal: failing Logons count toward Reconnect.MaxTries", async () => {
  const server = new TappedTransport(new TcpTransport());
  const s = await setup({
    server,
    venueConfig: { "Session.VENUE/TRADER.Password": "right" },
    traderConfig: { Password: "wrong", "Reconnect.MaxTries": 2, "Reconnect.Interval": 1 },
  });
  try {
    const refusals = new Inbox();
    s.trader.setListener({
      ...s.trader.listener,
      onEvent: (e) => {
        if (e.type === "logout") refusals.push(server.inbound.messages.at(-1)!);
      },
    });
    const gaveUp = nextEvent(s.trader, "reconnectFailed", timeout());
    await s.trader.connect(30, "127.0.0.1", s.port);
    assert.equal((await gaveUp).attempts, 3);
    assert.equal(refusals.count(), 3, "three Logons, each answered by a Logout");
    assert.equal(server.inbound.count(ofType("A")), 3);
    assert.equal(s.trader.state, "nonGracefullyTerminated");
    assert.equal(s.venue.state, "waitingForLogon");
    assert.equal(s.venue.nextTargetSeqNum, 1);
    assert.equal(s.venue.nextSenderSeqNum, 1);
  } finally {
    await s.close();
  }
});
