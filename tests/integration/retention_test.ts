// What an established TCP session keeps on the JS heap, both ends in this process. A logon storm
// makes thousands of sessions at once: everything they keep is copied by the young GCs that run
// meanwhile, and those pauses stall the sessions already established. Bytes counted after full
// collections, not timed.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { collectGarbage } from "../engine/_gc.ts";
import { timeout } from "../engine/_waits.ts";

/** Logs `n` pairs on over TCP; returns the heap they added, and a stop. */
async function pairs(n: number, first: number) {
  const acceptors = new FixEngine({
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
  });
  const initiators = new FixEngine({ storeFactory: new MemorySeqStoreFactory() });
  const sessions: Session[] = [];
  for (let i = first; i < first + n; i++) {
    await acceptors.createSession(new SessionId("VENUE", `C${i}`), "", FIXVersion.FIX44).connect();
    sessions.push(initiators.createSession(new SessionId(`C${i}`, "VENUE"), "", FIXVersion.FIX44));
  }
  const port = acceptors.listenAddresses[0].port;
  await collectGarbage();
  await collectGarbage();
  const before = Deno.memoryUsage().heapUsed;
  for (const s of sessions) await s.connect(30, "127.0.0.1", port);
  await Promise.all(sessions.map((s) => s.waitFor("established", timeout())));
  await collectGarbage();
  await collectGarbage();
  const added = Deno.memoryUsage().heapUsed - before;
  return {
    added,
    stop: async () => {
      await initiators.stop();
      await acceptors.stop();
    },
  };
}

Deno.test("an established TCP session pair adds under 18 KiB of heap", async () => {
  // A first round compiles the code paths (code and feedback count as heap too).
  const warm = await pairs(200, 0);
  await warm.stop();
  const n = 200;
  const { added, stop } = await pairs(n, 1000);
  await stop();
  // Both ends (the initiator's session is made by its connect). 21.8 KiB before the engine's
  // routing, the read loop and the timers stopped keeping what they no longer need.
  const perPair = added / n;
  assert.ok(perPair < 18 * 1024, `${perPair.toFixed(0)} bytes per pair`);
});

Deno.test("a registered acceptor session adds under 6.75 KiB of heap", async () => {
  // Sessions made just before a storm are still young when it starts: its first young GCs
  // copy them too.
  const engine = new FixEngine({
    storeFactory: new MemorySeqStoreFactory(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
  });
  const make = async (name: string, n: number) => {
    for (let i = 0; i < n; i++) {
      await engine.createSession(new SessionId("VENUE", `${name}${i}`), "", FIXVersion.FIX44)
        .connect();
    }
  };
  await make("W", 200);
  await collectGarbage();
  await collectGarbage();
  const before = Deno.memoryUsage().heapUsed;
  const n = 1000;
  await make("C", n);
  await collectGarbage();
  await collectGarbage();
  const perSession = (Deno.memoryUsage().heapUsed - before) / n;
  await engine.stop();
  // 7.5 KiB with a services object per session, a secret-tag set per session and the held
  // and scratch encoders made up front.
  assert.ok(perSession < 6.75 * 1024, `${perSession.toFixed(0)} bytes per session`);
});
