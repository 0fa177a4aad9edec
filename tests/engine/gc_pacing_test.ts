// Young-GC pacing in a logon storm: one short-lived 32 KB block per connection accepted and per
// Logon admitted, none per message (bench/load.ts --storm and bench/storm.ts measure the effect).
import assert from "node:assert/strict";
import { paceYoungGc, PACING_SLOTS, pacingBlocks } from "../../src/engine/_gc_pacing.ts";
import { MemoryTransport } from "../../src/testing.ts";
import { enginePair, order } from "./_pair.ts";
import { timeout } from "./_waits.ts";

Deno.test("paceYoungGc: one block of 8,192 empty slots (32 KB) per call", () => {
  const before = pacingBlocks().made;
  paceYoungGc();
  paceYoungGc();
  assert.equal(pacingBlocks().made, before + 2);
  assert.equal(PACING_SLOTS, 8192);
  assert.equal(pacingBlocks().lastLength, PACING_SLOTS);
});

Deno.test("engine: a block per connection accepted and per Logon admitted, none per message", async () => {
  const transport = new MemoryTransport();
  // Resolves when the acceptor engine starts waiting for a connection's first Logon.
  let waiting = Promise.withResolvers<void>();
  const quiet = () => {};
  const { initiator, received, port, stop } = await enginePair(transport, {
    acceptorLogger: {
      debug: (m) => m === "waiting for the first Logon" && waiting.resolve(),
      info: quiet,
      warn: quiet,
      error: quiet,
    },
  });
  const start = pacingBlocks().made;
  await initiator.connect(30, "127.0.0.1", port);
  await initiator.waitFor("established", timeout());
  // The acceptor's side: the connection, then its Logon. The initiator's connect makes none.
  assert.equal(pacingBlocks().made - start, 2);
  for (let i = 0; i < 20; i++) await initiator.put(order(`o${i}`));
  await received.waitFor(20, timeout());
  assert.equal(pacingBlocks().made - start, 2);
  // A connection that never sends a Logon: accepted, never admitted.
  waiting = Promise.withResolvers<void>();
  const silent = await transport.connect({ host: "127.0.0.1", port });
  await waiting.promise;
  silent.close();
  await stop();
  assert.equal(pacingBlocks().made - start, 3);
});
