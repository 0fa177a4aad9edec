import assert from "node:assert/strict";
import { byteSum } from "../../src/message/checksum.ts";
import { Rng } from "../fuzz/_prng.ts";

function naive(bytes: Uint8Array, s: number, e: number): number {
  let sum = 0;
  for (let i = s; i < e; i++) sum += bytes[i];
  return sum;
}

Deno.test("byteSum adds every byte of the range, at any alignment and length", () => {
  const rng = new Rng(15);
  // All 0xFF (the most a lane takes), random bytes, and random lengths past several blocks.
  const full = new Uint8Array(4099).fill(0xff);
  const mixed = new Uint8Array(4099);
  for (let i = 0; i < mixed.length; i++) mixed[i] = rng.u32() & 255;
  for (const bytes of [full, mixed]) {
    const words = new Uint32Array(bytes.buffer, 0, bytes.length >> 2);
    for (let s = 0; s < 8; s++) {
      for (const len of [0, 1, 2, 3, 4, 5, 7, 8, 9, 255, 256, 257, 259, 512, 515, 1024, 4091]) {
        const e = Math.min(bytes.length, s + len);
        assert.equal(byteSum(bytes, words, s, e), naive(bytes, s, e), `${s}..${e}`);
      }
    }
    for (let n = 0; n < 2000; n++) {
      const s = rng.int(bytes.length);
      const e = s + rng.int(bytes.length - s + 1);
      assert.equal(byteSum(bytes, words, s, e), naive(bytes, s, e), `${s}..${e}`);
    }
  }
});
