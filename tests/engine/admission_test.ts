// One admission path: a registered acceptor's session admits a routed Logon before anything is
// attached, reset or written. A refused Logon changes nothing stored, for every reason, but for
// the number of the Logout sent to the authenticated counterparty (it counts it); an accepted
// continuing Logon continues the numbers visibly.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SessionListener } from "../../src/sessions_manager.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import { MemoryTransport } from "../../src/testing.ts";
import { answers } from "./_waits.ts";

const ID = new SessionId("ACC", "INI");

/** A factory whose ACC->INI store holds out 50 / in 40, correctly terminated. */
async function storedFactory(): Promise<MemorySeqStoreFactory> {
  const factory = new MemorySeqStoreFactory();
  const store = await factory.open(ID, { nowMs: 0 });
  store.setNextSenderSeqNum(50);
  store.setNextTargetSeqNum(40);
  store.setCorrectlyTerminated(true);
  await store.close();
  return factory;
}

function logon(fields: [number, string | number][], opts: { seq?: number; at?: number } = {}) {
  const m = new FixMessage("A").set(49, "INI").set(56, "ACC").set(34, opts.seq ?? 40)
    .set(52, formatUtcTimestamp(opts.at ?? Date.now()));
  for (const [t, v] of [[98, 0], [108, 30], ...fields] as [number, string | number][]) {
    m.set(t, v);
  }
  return encodeMessage(m, "FIX.4.4");
}

/** Reads what the acceptor writes until it closes the connection. */
async function acceptor(
  config: Record<string, string | number> = {},
  listener: SessionListener = {},
) {
  const factory = await storedFactory();
  const transport = new MemoryTransport();
  const engine = new FixEngine({
    transport,
    storeFactory: factory,
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", ...config },
  });
  const session = engine.createSession(ID, "", FIXVersion.FIX44, { listener });
  await session.connect();
  const port = engine.listenAddresses[0].port;
  return { factory, transport, engine, session, port };
}

const refusals: {
  name: string;
  config?: Record<string, string | number>;
  listener?: SessionListener;
  fields?: [number, string | number][];
  at?: number;
  logout: boolean;
  /** Refused after the credentials passed. */
  authenticated?: boolean;
}[] = [
  { name: "a bad HeartBtInt", fields: [[108, -5]], logout: true, authenticated: true },
  // An invalid Logon is disconnected without a Logout, as QuickFIX does.
  { name: "a SendingTime far off", at: Date.now() - 3_600_000, logout: false },
  { name: "a dictionary problem", fields: [[98, 99]], logout: false },
  {
    name: "the authenticate hook",
    listener: { authenticate: (m) => m.get(553) === "alice" ? undefined : "Unknown user" },
    fields: [[553, "bob"]],
    logout: true,
  },
  {
    name: "a wrong password",
    config: { Password: "secret" },
    fields: [[554, "guess"]],
    logout: true,
  },
  {
    name: "a source address not allowed",
    config: { AllowedSourceAddresses: "10.1.1.1" },
    logout: false,
  },
];

for (const r of refusals) {
  Deno.test(`a Logon refused for ${r.name} changes nothing stored but its Logout's number`, async () => {
    const a = await acceptor(r.config, r.listener);
    try {
      const conn = await a.transport.connect({ host: "127.0.0.1", port: a.port });
      const reading = answers(conn);
      await conn.write(logon(r.fields ?? [], { at: r.at }));
      const got = await reading;
      if (r.logout) {
        assert.equal(got.length, 1, "one unsequenced Logout");
        assert.equal(got[0].msgType, "5");
        assert.equal(
          got[0].get(34),
          r.authenticated ? "50" : "1",
          "the counterparty's Logout takes our next number; an unauthenticated peer learns none",
        );
      } else {
        assert.deepEqual(got, [], "refused without a Logout");
      }
      await a.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(5000) });
      // The counterparty counted the Logout numbered 50: 50 is never sent again.
      const sender = r.logout && r.authenticated ? 51 : 50;
      assert.equal(a.session.nextSenderSeqNum, sender);
      assert.equal(a.session.nextTargetSeqNum, 40);
    } finally {
      await a.engine.stop();
    }
    const store = await a.factory.open(ID, { nowMs: 0 });
    assert.deepEqual(
      [store.state.nextSenderSeqNum, store.state.nextTargetSeqNum, store.state.correctlyTerminated],
      [r.logout && r.authenticated ? 51 : 50, 40, true],
    );
    await store.close();
  });
}

Deno.test("an acceptor continues its numbers after a correct termination, without a hidden reset", async () => {
  const a = await acceptor();
  try {
    const conn = await a.transport.connect({ host: "127.0.0.1", port: a.port });
    const framer = new FixFramer();
    const it = conn[Symbol.asyncIterator]();
    await conn.write(logon([], { seq: 40 }));
    let answer: FixMessage | undefined;
    while (!answer) {
      const r = await it.next();
      assert.ok(!r.done, "connection closed before the Logon answer");
      framer.push(r.value);
      const f = framer.next();
      if (f instanceof Uint8Array) answer = decodeMessage(f.slice());
    }
    assert.equal(answer.msgType, "A");
    assert.equal(answer.get(34), "50");
    assert.equal(answer.get(141), undefined);
    assert.equal(a.session.state, "established");
    assert.equal(a.session.nextSenderSeqNum, 51);
    assert.equal(a.session.nextTargetSeqNum, 41);
    conn.close();
    await a.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(5000) });
  } finally {
    await a.engine.stop();
  }
});

Deno.test("a Logon with ResetSeqNumFlag resets an acceptor, and says so in the answer", async () => {
  const a = await acceptor();
  try {
    const conn = await a.transport.connect({ host: "127.0.0.1", port: a.port });
    const framer = new FixFramer();
    const it = conn[Symbol.asyncIterator]();
    await conn.write(logon([[141, "Y"]], { seq: 1 }));
    let answer: FixMessage | undefined;
    while (!answer) {
      const r = await it.next();
      assert.ok(!r.done);
      framer.push(r.value);
      const f = framer.next();
      if (f instanceof Uint8Array) answer = decodeMessage(f.slice());
    }
    assert.equal(answer.get(34), "1");
    assert.equal(answer.get(141), "Y");
    assert.equal(a.session.nextTargetSeqNum, 2);
    conn.close();
    await a.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(5000) });
  } finally {
    await a.engine.stop();
  }
});
