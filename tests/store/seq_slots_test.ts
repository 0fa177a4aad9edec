import assert from "node:assert/strict";
import { SeqBytes } from "../../src/_seq_slots.ts";

const enc = new TextEncoder();
const dec = new TextDecoder();
const text = (b: Uint8Array | undefined) => b === undefined ? undefined : dec.decode(b);

Deno.test("SeqBytes keeps copies like a map: dense runs, holes, far numbers, replacements", () => {
  const s = new SeqBytes(64);
  const model = new Map<number, string>();
  const put = (k: number, v: string) => {
    s.set(k, enc.encode(v));
    model.set(k, v);
  };
  for (let k = 5; k < 2000; k++) put(k, `a${k}`);
  put(3, "below the base");
  put(2000 + 5000, "far above");
  put(2010, "after a small hole");
  put(100, "replaced");
  put(1e12, "very far");
  put(2011, "larger than a quarter of a slab: a slab of its own");
  put(2012, "after it, in the slab being filled");
  assert.equal(s.size, model.size);
  for (const [k, v] of model) assert.equal(text(s.get(k)), v);
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
  assert.equal(s.get(100), undefined);
  s.set(40, enc.encode("x"));
  assert.deepEqual(s.keysBetween(1, 100), [40]);
  assert.equal(text(s.get(40)), "x");
});

Deno.test("SeqBytes agrees with a map over random operations", () => {
  let seed = 7;
  const rnd = (n: number) => (seed = (seed * 1103515245 + 12345) % 2147483648) % n;
  const s = new SeqBytes(1024);
  const model = new Map<number, string>();
  let next = 1;
  const put = (k: number, i: number) => {
    // Lengths from 1 to 400: some larger than a quarter of a slab.
    const v = `${i}:`.padEnd(1 + rnd(400), "v");
    s.set(k, enc.encode(v));
    model.set(k, v);
  };
  for (let i = 0; i < 20000; i++) {
    const op = rnd(100);
    if (op < 80) put(next++, i);
    else if (op < 95) put(rnd(next + 10) + 1, i);
    else if (op < 98) next += rnd(10000);
    else {
      s.clear();
      model.clear();
      next = rnd(50) + 1;
    }
  }
  const sorted = [...model.keys()].sort((a, b) => a - b);
  assert.deepEqual(s.keysBetween(0, Number.MAX_SAFE_INTEGER), sorted);
  for (const k of sorted) assert.equal(text(s.get(k)), model.get(k));
  assert.equal(s.size, model.size);
  assert.equal(s.maxKey(), sorted.at(-1) ?? 0);
});

Deno.test("SeqBytes copies: later writes to the source, replacements and a clear leave a copy read before as it was", () => {
  const s = new SeqBytes(64);
  const src = new Uint8Array([1, 2, 3, 4, 5]);
  for (let i = 0; i < 40; i++) {
    src[0] = i;
    s.set(i + 1, src);
  }
  src.fill(9);
  for (let i = 0; i < 40; i++) assert.deepEqual([...s.get(i + 1)!], [i, 2, 3, 4, 5]);
  const read = s.get(7)!;
  s.set(7, new Uint8Array([70]));
  assert.deepEqual([...s.get(7)!], [70]);
  assert.deepEqual([...read], [6, 2, 3, 4, 5]);
  s.clear();
  s.set(1, new Uint8Array([0, 0, 0, 0, 0]));
  assert.deepEqual([...read], [6, 2, 3, 4, 5]);
  const big = new Uint8Array(100).fill(7);
  s.set(2, big);
  big.fill(0);
  assert.equal(s.get(2)!.length, 100);
  assert.ok(s.get(2)!.every((x) => x === 7));
  const far = new Uint8Array([5, 5]);
  s.set(1e9, far);
  far.fill(0);
  assert.deepEqual([...s.get(1e9)!], [5, 5]);
});

Deno.test("SeqBytes keeps no JavaScript object per message: 200,000 stored leave the heap as it was", () => {
  // A view kept per message (the design before) held about 130 bytes of heap each: 26 MB here.
  // The copies are in slabs and their places in a typed array, both outside the heap.
  const s = new SeqBytes();
  const bytes = new Uint8Array(170).fill(65);
  for (let i = 1; i <= 1000; i++) s.set(i, bytes); // past the first slab and slot growth
  const before = Deno.memoryUsage().heapUsed;
  for (let i = 1001; i <= 201_000; i++) s.set(i, bytes);
  const grown = Deno.memoryUsage().heapUsed - before;
  assert.equal(s.size, 201_000);
  assert.ok(grown < 4 * 1024 * 1024, `heap grew by ${grown} bytes`);
  assert.equal(s.get(201_000)!.length, 170);
});
