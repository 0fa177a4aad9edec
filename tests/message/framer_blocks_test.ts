// The framer's blocks: 4 KiB while the bytes come slowly, doubling up to 64 KiB while each block
// fills within 100 ms (fewer buffers for a busy connection, each one lengthening the next young
// GC), and 4 KiB again once the connection slows down.
import assert from "node:assert/strict";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { FixFramer } from "../../src/message/framer.ts";

const frame = (i: number) =>
  encodeMessage(
    new FixMessage("D").set(49, "A").set(56, "B").set(34, i).set(11, `order-${i}`).set(
      58,
      "x".repeat(150),
    ),
  );

/** Pushes messages one per chunk, `stepMs` apart, and lists the sizes of the blocks used. */
function blocks(framer: FixFramer, from: number, count: number, stepMs: number, t0: number) {
  const sizes: number[] = [];
  for (let i = from; i < from + count; i++) {
    const bytes = frame(i);
    framer.push(bytes, t0 + (i - from) * stepMs);
    const got = framer.next();
    assert.ok(got instanceof Uint8Array);
    assert.deepEqual(got, bytes);
    const size = got.buffer.byteLength;
    if (sizes[sizes.length - 1] !== size) sizes.push(size);
  }
  return sizes;
}

Deno.test("a framer filling its blocks fast takes bigger ones, up to 64 KiB; slow, 4 KiB", () => {
  const framer = new FixFramer();
  // About 200 bytes a message: a 4 KiB block every 20 messages.
  assert.deepEqual(blocks(framer, 1, 100, 1_000, 0), [4096]);
  assert.deepEqual(
    blocks(framer, 101, 2_000, 0.01, 200_000),
    [4096, 8192, 16384, 32768, 65536],
  );
  // A block filled over more than 100 ms: back to 4 KiB.
  assert.deepEqual(blocks(framer, 2_101, 400, 1_000, 300_000), [65536, 4096]);
});

Deno.test("a framer without the time keeps 4 KiB blocks, and frames stay valid in old ones", () => {
  const framer = new FixFramer();
  const kept: Uint8Array[] = [];
  for (let i = 1; i <= 500; i++) {
    framer.push(frame(i));
    kept.push(framer.next() as Uint8Array);
  }
  assert.ok(kept.every((f) => f.buffer.byteLength === 4096));
  kept.forEach((f, i) => assert.deepEqual(f, frame(i + 1)));
});
