import assert from "node:assert/strict";
import { causes, type GcLine, type RoundTrip } from "../../bench/tail_causes.ts";

/** 10,000 round trips of 40 µs, one every 50 µs from 1,000 ms, with the given slow ones. */
function trips(slow: Map<number, number>): RoundTrip[] {
  return Array.from({ length: 10_000 }, (_, i) => ({
    startMs: 1_000 + i * 0.05,
    us: slow.get(i) ?? 40,
  }));
}

Deno.test("tail causes: scavenges are placed on the round trips they delayed, in each process", () => {
  // Scavenges of two processes: the parent's traced 8 ms after its round trips' clock (its
  // isolate started later than its time origin), the child's origin 100 ms after the parent's
  // and its traces 9 ms late. Round trips 1000, 3000, ... are slow because of them; 5,500 and
  // 7,700 are slow for no traced reason (1.5 ms and 400 µs).
  const slow = new Map<number, number>([[5_500, 1_500], [7_700, 400]]);
  const gcs: GcLine[] = [];
  for (const i of [1_000, 3_000, 5_000, 7_000, 9_000]) {
    slow.set(i, 250);
    gcs.push({ pid: "1", ms: Math.floor(1_000 + i * 0.05 + 8), scavenge: true });
  }
  for (const i of [2_000, 4_000, 6_000, 8_000]) {
    slow.set(i, 300);
    gcs.push({ pid: "2", ms: Math.floor(1_000 + i * 0.05 - 100 + 9), scavenge: true });
  }
  // A full GC line is not a scavenge.
  gcs.push({ pid: "1", ms: Math.floor(1_000 + 7_700 * 0.05 + 8), scavenge: false });
  const origins = new Map([["1", 5_000], ["2", 5_100]]);
  const c = causes(trips(slow), gcs, origins, "1");
  assert.equal(c.scavenged, 9);
  // The p99.9 of 10,000 is the 9,990th smallest: the slowest 11 from it up are the 1.5 ms and
  // 400 µs ones and the nine scavenged ones.
  assert.equal(c.worst, 11);
  assert.equal(c.worstWithScavenge, 9);
  assert.deepEqual(c.scavengeUs, [250, 250, 300]);
  assert.equal(c.overOneMsOther, 1);
  assert.equal(c.p999Us, 250);
});
