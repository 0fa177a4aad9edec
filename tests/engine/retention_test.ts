// What a logon storm leaves behind: every object an established session keeps is copied by the
// young-generation GCs that run while thousands of sessions log on (their pauses stall the
// established sessions). Checked with WeakRefs after a full collection: counted, not timed.
import assert from "node:assert/strict";
import { TimerScheduler } from "../../src/engine/scheduler.ts";
import type { FixMessage } from "../../src/message/fix_message.ts";
import { ManualClock, MemoryTransport } from "../../src/testing.ts";
import { collectGarbage } from "./_gc.ts";
import { enginePair } from "./_pair.ts";
import { timeout } from "./_waits.ts";

Deno.test("an established acceptor keeps neither the routed Logon nor its routing", async () => {
  const { acceptor, initiator, port, stop } = await enginePair(new MemoryTransport());
  let routed: WeakRef<FixMessage> | undefined;
  acceptor.setListener({
    ...acceptor.listener,
    authenticate: (logon) => {
      routed = new WeakRef(logon);
      return undefined;
    },
  });
  await initiator.connect(30, "127.0.0.1", port);
  await acceptor.waitFor("established", timeout());
  await initiator.waitFor("established", timeout());
  await collectGarbage();
  assert.ok(routed, "the Logon went through the authenticate hook");
  // Held by the engine's routing (waiting for the connection to end) or the read loop, the
  // Logon and everything decoded with it would outlive the logon.
  assert.equal(routed.deref(), undefined);
  await stop();
});

Deno.test("a cancelled timer leaves the scheduler at once, with its callback", async () => {
  const clock = new ManualClock(0);
  const s = new TimerScheduler(clock);
  const fired: number[] = [];
  s.setTimer(100, () => fired.push(100));
  let callback: WeakRef<() => void> | undefined;
  // In a function of its own: nothing here keeps the callback but the scheduler.
  (() => {
    const holds = { conn: new Uint8Array(64) };
    const fn = () => fired.push(holds.conn.length);
    callback = new WeakRef(fn);
    s.setTimer(10_000, fn).cancel();
  })();
  assert.equal(s.size, 1, "only the timer not cancelled is waiting");
  await collectGarbage();
  assert.equal(callback!.deref(), undefined);
  await clock.advance(20_000);
  assert.deepEqual(fired, [100]);
  assert.equal(s.size, 0);
  s.close();
});
