import assert from "node:assert/strict";
import { causes, type GcLine, jitLines, type RoundTrip } from "../../bench/tail_causes.ts";

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

Deno.test("tail causes: V8's compiles and deoptimizations are read from its log and placed", () => {
  // A V8 log (`--log-code --log-deopt`): interpreter, baseline, Maglev and TurboFan code, and a
  // deoptimization; times in µs since the isolate started.
  const log = [
    "code-creation,Builtin,3,6802,0x7eff,1016,DeoptimizationEntry_Eager",
    "code-creation,JS,10,100000,0x1,50,parse file:///a.ts:1:1,0x2,~",
    "code-creation,JS,11,200000,0x3,50,parse file:///a.ts:1:1,0x2,^",
    "code-creation,JS,12,300000,0x4,50,parse file:///a.ts:1:1,0x2,+",
    "code-creation,JS,13,1283000,0x5,50,encode file:///b.ts:9:3,0x6,*",
    "code-deopt,1438000,2048,0x7,-1,70,deopt-eager,<file:///c.ts:4:2>,wrong map",
  ].join("\n");
  const jits = jitLines("1", log);
  assert.deepEqual(jits, [
    { pid: "1", ms: 300, kind: "ML", name: "parse" },
    { pid: "1", ms: 1283, kind: "TF", name: "encode" },
    { pid: "1", ms: 1438, kind: "deopt", name: "<file:///c.ts:4:2>" },
  ]);
  // The process's round trips from 1,000 ms (its origin 5,000), its isolate's clock 8 ms
  // behind (as its scavenges place it): the Maglev code came before the round trips, the
  // TurboFan code at 1,275 ms while round trip 5,500 (1,275-1,276.5 ms) ran 1.5 ms, the
  // deoptimization at 1,430 ms in an ordinary one.
  const slow = new Map<number, number>([[5_500, 1_500]]);
  const gcs: GcLine[] = [];
  for (const i of [1_000, 3_000, 7_000]) {
    slow.set(i, 250);
    gcs.push({ pid: "1", ms: Math.floor(1_000 + i * 0.05 + 8), scavenge: true });
  }
  const c = causes(trips(slow), gcs, new Map([["1", 5_000]]), "1", jits);
  assert.equal(c.scavenged, 3);
  assert.equal(c.overOneMsOther, 1);
  assert.equal(c.overOneMsJit, 1);
  assert.equal(c.jitEvents, 2);
  assert.deepEqual(c.jitNames, ["TF encode", "deopt <file:///c.ts:4:2>"]);
});
