// Unregistered acceptors: the source address is checked before any byte is read, credentials
// before the SessionsManager sees the Logon, refusals reveal no sequence number, and an
// accept-all manager creates a bounded number of sessions.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import type { SessionsManager, UnregisteredAcceptorRequest } from "../../src/sessions_manager.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { MemoryTransport } from "../../src/testing.ts";
import { answers } from "./_waits.ts";

function logon(sender: string, fields: [number, string][] = []): Uint8Array {
  const m = new FixMessage("A").set(49, sender).set(56, "VENUE").set(34, 1)
    .set(52, formatUtcTimestamp(Date.now())).set(98, 0).set(108, 30);
  for (const [t, v] of fields) m.set(t, v);
  return encodeMessage(m, "FIX.4.4");
}

async function venue(config: Record<string, string | number | boolean>) {
  const asked: UnregisteredAcceptorRequest[] = [];
  const manager: SessionsManager = {
    onUnregisteredAcceptor: (request) => {
      asked.push(request);
      return { accept: true };
    },
  };
  const transport = new MemoryTransport();
  const engine = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    sessionsManager: manager,
    config: {
      ListenPort: 0,
      ListenAddress: "127.0.0.1",
      CreateUnregisteredAcceptorSession: true,
      ...config,
    },
  });
  await engine.start();
  const port = engine.listenAddresses[0].port;
  const connect = () => transport.connect({ host: "127.0.0.1", port });
  return { engine, asked, connect };
}

Deno.test("unregistered: wrong credentials are refused before the SessionsManager sees the Logon", async () => {
  const v = await venue({ Password: "secret" });
  try {
    const conn = await v.connect();
    const reading = answers(conn);
    await conn.write(logon("ANY", [[554, "guess"]]));
    const got = await reading;
    assert.equal(got.length, 1);
    assert.equal(got[0].msgType, "5");
    assert.equal(got[0].get(34), "1", "no real sequence number for an unauthenticated peer");
    assert.deepEqual(v.asked, []);
    assert.equal(v.engine.sessions.length, 0);
  } finally {
    await v.engine.stop();
  }
});

Deno.test("unregistered: a source address no session allows is closed before any byte is read", async () => {
  const v = await venue({ AllowedSourceAddresses: "10.9.9.9" });
  try {
    const conn = await v.connect();
    // Nothing written: the engine closes on the address alone.
    const got = await answers(conn);
    assert.deepEqual(got, []);
    assert.equal(await conn.closed, "peer closed");
    assert.deepEqual(v.asked, []);
  } finally {
    await v.engine.stop();
  }
});

Deno.test("unregistered: an accept-all manager creates at most MaxUnregisteredAcceptorSessions", async () => {
  const v = await venue({ MaxUnregisteredAcceptorSessions: 1 });
  try {
    const first = await v.connect();
    const firstAnswers = answers(first);
    await first.write(logon("ONE"));
    const second = await v.connect();
    const secondAnswers = answers(second);
    await second.write(logon("TWO"));
    const refused = await secondAnswers;
    assert.equal(refused.length, 1);
    assert.equal(refused[0].get(58), "Too many sessions");
    assert.equal(refused[0].get(34), "1");
    assert.deepEqual(v.asked.map((r) => r.sessionId.target), ["ONE"]);
    assert.deepEqual(v.engine.sessions.map((s) => s.id.target), ["ONE"]);
    first.close();
    await firstAnswers;
  } finally {
    await v.engine.stop();
  }
});

Deno.test("unregistered: a FIX.4.0 refusal's SendingTime has whole seconds, as FIX.4.0 writes them", async () => {
  const v = await venue({ MaxUnregisteredAcceptorSessions: 0 });
  try {
    const conn = await v.connect();
    const reading = answers(conn);
    const m = new FixMessage("A").set(49, "OLD").set(56, "VENUE").set(34, 1)
      .set(52, formatUtcTimestamp(Date.now(), "s")).set(98, 0).set(108, 30);
    await conn.write(encodeMessage(m, "FIX.4.0"));
    const got = await reading;
    assert.equal(got.length, 1);
    assert.equal(got[0].get(58), "Too many sessions");
    assert.match(got[0].get(52)!, /^\d{8}-\d\d:\d\d:\d\d$/);
  } finally {
    await v.engine.stop();
  }
});
