// Integers as text without V8's number-to-string cache: the same text String(n) gives, for
// every kind of number (the ones it does not handle itself go to String).
import assert from "node:assert/strict";
import { decimalText, putDecimal } from "../../src/message/_decimal.ts";
import { FixMessage, numberToFixText } from "../../src/message/fix_message.ts";
import { encodeMessage } from "../../src/message/encoder.ts";

/** Every length from 1 to 16 digits at its edges, and a seeded spread in between. */
function samples(): number[] {
  const out = [0, 1, 9, 10, 99, 100, 101, 999, 1000, Number.MAX_SAFE_INTEGER];
  for (let p = 1; p <= 1e15; p *= 10) out.push(p - 1, p, p + 1, 2 * p, 9 * p + 9);
  let x = 1206;
  for (let i = 0; i < 20_000; i++) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out.push(x, x * 4096 + (i % 4096), Math.floor(x / (1 + (i % 1000))));
  }
  return out;
}

Deno.test("decimalText gives String(n) for every safe integer from 0 on", () => {
  for (const n of samples()) assert.equal(decimalText(n), String(n), `${n}`);
});

Deno.test("decimalText leaves every other number to String", () => {
  for (const n of [-1, -123456, 0.5, 1.08215, 1e21, 2 ** 53, -0, NaN, Infinity, 12.0000001]) {
    assert.equal(decimalText(n), String(n), `${n}`);
  }
});

Deno.test("putDecimal writes the same digits in place, and String(n) for other numbers", () => {
  const out = new Uint8Array(64);
  const text = new TextDecoder();
  for (const n of [...samples().slice(0, 2000), -5, 0.25, 2 ** 60]) {
    out.fill(0);
    const end = putDecimal(out, 3, n);
    assert.equal(text.decode(out.subarray(3, end)), String(n), `${n}`);
    assert.equal(out[2], 0);
    assert.equal(out[end], 0);
  }
});

Deno.test("integer field values are written as String would write them", () => {
  for (const n of [0, 7, 42, 100, 12345, 2 ** 31, 1796547624614, Number.MAX_SAFE_INTEGER]) {
    assert.equal(numberToFixText(n), String(n));
    const m = new FixMessage("D").set(34, n).set(38, n).set(11, n);
    assert.equal(m.get(34), String(n));
    const wire = new TextDecoder().decode(encodeMessage(m, "FIX.4.4"));
    assert.match(wire, new RegExp(`\\x0134=${n}\\x01.*\\x0111=${n}\\x01`));
  }
  // Not integers, or beyond what a double holds exactly: as before.
  assert.equal(numberToFixText(1.08215), "1.08215");
  assert.equal(numberToFixText(-3), "-3");
  assert.equal(numberToFixText(1e21), "1000000000000000000000");
});
