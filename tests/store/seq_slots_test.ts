import assert from "node:assert/strict";
import { SeqSlots, SlabCopier } from "../../src/_seq_slots.ts";

Deno.test("SeqSlots keeps values like a map: dense runs, holes, far numbers, replacements", () => {
  const s = new SeqSlots<string>();
  const model = new Map<number, string>();
  const put = (k: number, v: string) => {
    s.set(k, v);
    model.set(k, v);
  };
  for (let k = 5; k < 2000; k++) put(k, `a${k}`);
  put(3, "below the base");
  put(2000 + 5000, "far above");
  put(2010, "after a small hole");
  put(100, "replaced");
  put(1e12, "very far");
  assert.equal(s.size, model.size);
  for (const [k, v] of model) assert.equal(s.get(k), v);
  assert.equal(s.get(2005), undefined);
  assert.equal(s.get(4), undefined);
  const sorted = [...model.keys()].sort((a, b) => a - b);
  assert.deepEqual(s.keysBetween(1, Number.MAX_SAFE_INTEGER), sorted);
  assert.deepEqual(s.keysBetween(1990, 2010), sorted.filter((k) => k >= 1990 && k <= 2010));
  assert.deepEqual(s.keysBetween(2, 6), [3, 5, 6]);
  assert.equal(s.maxKey(), 1e12);
  s.clear();
  assert.equal(s.size, 0);
  assert.deepEqual(s.keysBetween(1, 1e13), []);
  assert.equal(s.maxKey(), 0);
  s.set(40, "x");
  assert.deepEqual(s.keysBetween(1, 100), [40]);
});

Deno.test("SeqSlots agrees with a map over random operations", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const s = new SeqSlots<number>();
  const model = new Map<number, number>();
  let next = 1;
  for (let i = 0; i < 20000; i++) {
    const op = rnd(100);
    if (op < 80) {
      s.set(next, i);
      model.set(next++, i);
    } else if (op < 95) {
      const k = rnd(next + 10) + 1;
      s.set(k, i);
      model.set(k, i);
    } else if (op < 98) next += rnd(10000);
    else {
      s.clear();
      model.clear();
      next = rnd(50) + 1;
    }
  }
  const sorted = [...model.keys()].sort((a, b) => a - b);
  assert.deepEqual(s.keysBetween(0, Number.MAX_SAFE_INTEGER), sorted);
  for (const k of sorted) assert.equal(s.get(k), model.get(k));
  assert.equal(s.size, model.size);
});

Deno.test("SlabCopier copies: later writes to the source or other copies do not change a copy", () => {
  const c = new SlabCopier(64);
  const src = new Uint8Array([1, 2, 3, 4, 5]);
  const copies: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    src[0] = i;
    copies.push(c.copy(src));
  }
  src.fill(9);
  copies.forEach((b, i) => assert.deepEqual([...b], [i, 2, 3, 4, 5]));
  const big = new Uint8Array(100).fill(7);
  const bc = c.copy(big);
  big.fill(0);
  assert.equal(bc.length, 100);
  assert.ok(bc.every((x) => x === 7));
});
