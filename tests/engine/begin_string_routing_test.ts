// One counterparty under two BeginStrings: a venue registers one qualified acceptor per version;
// a Logon without a qualifier goes to the acceptor of its BeginString.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { MemoryTransport } from "../../src/testing.ts";
import { Inbox, timeout } from "./_waits.ts";

Deno.test("a Logon without a qualifier is routed to the acceptor of its BeginString", async () => {
  const transport = new MemoryTransport();
  const venue = new FixEngine({
    transport,
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogLevel: "off" },
  });
  const inboxes = { "FIX.4.2": new Inbox(), "FIX.4.4": new Inbox() };
  const acceptors = [
    venue.createSession(new SessionId("VENUE", "CLIENT", "FIX42"), "", FIXVersion.FIX42),
    venue.createSession(new SessionId("VENUE", "CLIENT", "FIX44"), "", FIXVersion.FIX44),
  ];
  acceptors[0].setListener({ onMessage: inboxes["FIX.4.2"].push });
  acceptors[1].setListener({ onMessage: inboxes["FIX.4.4"].push });
  for (const a of acceptors) await a.connect();
  const port = venue.listenAddresses[0].port;
  const clients: FixEngine[] = [];
  try {
    for (
      const [version, begin] of [[FIXVersion.FIX44, "FIX.4.4"], [
        FIXVersion.FIX42,
        "FIX.4.2",
      ]] as const
    ) {
      const engine = new FixEngine({
        transport,
        storeFactory: new MemorySeqStoreFactory(),
        config: { LogLevel: "off" },
      });
      clients.push(engine);
      const client = engine.createSession(new SessionId("CLIENT", "VENUE"), "", version);
      await client.connect(30, "127.0.0.1", port);
      await client.waitFor("established", timeout());
      await client.put(
        new FixMessage("D").set(11, begin).set(21, "1").set(55, "X").set(54, "1")
          .set(60, "20261124-10:00:00").set(40, "1").set(38, 1),
      );
      await inboxes[begin].waitFor(1, timeout());
    }
    assert.deepEqual(inboxes["FIX.4.2"].ids, ["FIX.4.2"]);
    assert.deepEqual(inboxes["FIX.4.4"].ids, ["FIX.4.4"]);
    assert.deepEqual(acceptors.map((a) => a.state), ["established", "established"]);
  } finally {
    for (const c of clients) await c.stop();
    await venue.stop();
  }
});
