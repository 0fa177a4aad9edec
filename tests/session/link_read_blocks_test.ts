// The link gives its framer the time of each chunk: messages arriving fast go into bigger blocks
// (fewer buffers for V8 to sweep), slow ones into 4 KiB blocks (see FixFramer.push).
import assert from "node:assert/strict";
import type { FixMessage } from "../../src/message/fix_message.ts";
import { established } from "./_harness.ts";

/** The size of the framer block a delivered message was decoded from. */
function blockOf(m: FixMessage): number {
  return m.valueBytesAt(0, new Int32Array(2))!.buffer.byteLength;
}

Deno.test("a link's framer takes bigger blocks while messages arrive fast, 4 KiB while slow", async () => {
  const seen: FixMessage[] = [];
  const h = await established({ handler: { onMessage: (m) => void seen.push(m) } });
  try {
    const order = (i: number): [number, string][] => [[11, `o${i}`], [55, "EUR/USD"], [54, "1"]];
    // Slow: a second between messages, about 120 bytes each (34 to a block).
    for (let i = 0; i < 40; i++) {
      await h.peer.send("D", order(i));
      await h.settle();
      await h.clock.advance(1_000);
    }
    assert.equal(seen.length, 40);
    assert.deepEqual(new Set(seen.map(blockOf)), new Set([4096]));
    // Fast: the clock stands still, so every block fills within 100 ms.
    for (let i = 40; i < 1_000; i++) await h.peer.send("D", order(i));
    await h.settle();
    assert.equal(seen.length, 1_000);
    assert.equal(blockOf(seen[seen.length - 1]), 64 * 1024);
  } finally {
    await h.close();
  }
});
