// What one order -> report round trip allocates on V8's heap: fixwire against the raw Deno TCP
// ping-pong (bench/e2e.ts's baseline), measured in the same run.
//
// Why it matters (docs/performance.md, "Thirteenth session"): with both processes pinned to one
// core the core never idles, so a round trip costs the CPU of both processes, and every young
// generation GC (scavenge, about 0.1 ms here whatever survives) of either one lands on a round
// trip. The bytes allocated per round trip set how often that happens: about 1 round trip in 400
// for fixwire and 1 in 550 for the ping-pong here, both above the 1 in 1,000 of a p99.9.
//
// Both pairs run in this process, one after the other, over TCP on 127.0.0.1: the raw echo (one
// 170-byte write and read each way) and two fixwire engines (file stores, no validation, no
// message log: the latency rows' settings in bench/vs_quickfix.ts) trading bench/e2e.ts's order
// and report. After `warmup` round trips, V8's sampling heap profiler (through node:inspector,
// young-GC'd objects included) records `samples` more; the sampled bytes divided by the round
// trips give bytes per round trip, both sides of the pair together. Sampling every 64 bytes
// makes the figures estimates (a few percent between runs); the sites are where the bytes were
// allocated, with V8's inlining as in production (an inlined callee's bytes count for its
// caller; `--v8-flags=--no-turbo-inlining,--no-maglev-inlining` names every function, at the
// cost of allocations escape analysis would have removed). Line numbers are those of the
// JavaScript Deno runs (TypeScript with its types taken out), not of the .ts files: find a site
// by its function's name.
//
// Run: deno run -A bench/round_trip_alloc.ts [--samples=20000] [--warmup=30000] [--top=20]
import { Session as Inspector } from "node:inspector";
import { inProcessEcho, inProcessPair } from "./_pair.ts";

const SWITCHES = Deno.args.filter((a) => a.startsWith("--"));
const value = (name: string): number | undefined => {
  const s = SWITCHES.find((a) => a.startsWith(`--${name}=`));
  return s === undefined ? undefined : Number(s.slice(name.length + 3));
};
const SAMPLES = value("samples") ?? 20_000;
const WARMUP = value("warmup") ?? 30_000;
const TOP = value("top") ?? 20;
const print = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));

/** A node of V8's sampling heap profile (the parts read here). */
interface ProfileNode {
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  selfSize: number;
  children: ProfileNode[];
}

/** Bytes per round trip, and by site (`function file:line <- caller`). */
interface Allocation {
  perRoundTrip: number;
  sites: [string, number][];
}

const inspector = new Inspector();
inspector.connect();
function post<T>(method: string, params: object = {}): Promise<T> {
  return new Promise((resolve, reject) =>
    inspector.post(method, params, (e: Error | null, r: unknown) => e ? reject(e) : resolve(r as T))
  );
}

/** Runs `roundTrip` `WARMUP` times, then `SAMPLES` times under the sampling heap profiler. */
async function measure(roundTrip: (i: number) => Promise<void>): Promise<Allocation> {
  for (let i = 0; i < WARMUP; i++) await roundTrip(i);
  await post("HeapProfiler.enable");
  await post("HeapProfiler.startSampling", {
    samplingInterval: 64,
    includeObjectsCollectedByMajorGC: true,
    includeObjectsCollectedByMinorGC: true,
  });
  for (let i = WARMUP; i < WARMUP + SAMPLES; i++) await roundTrip(i);
  const { profile } = await post<{ profile: { head: ProfileNode } }>(
    "HeapProfiler.getSamplingProfile",
  );
  await post("HeapProfiler.stopSampling");
  await post("HeapProfiler.disable");
  const sites = new Map<string, number>();
  const name = (n: ProfileNode) => {
    const f = n.callFrame;
    const file = f.url.replace(new URL("../", import.meta.url).href, "");
    return `${f.functionName || "(anonymous)"} ${file}${file ? `:${f.lineNumber + 1}` : ""}`;
  };
  let total = 0;
  const walk = (n: ProfileNode, parent: string) => {
    const self = name(n);
    if (n.selfSize > 0) {
      const key = `${self} <- ${parent}`;
      sites.set(key, (sites.get(key) ?? 0) + n.selfSize);
      total += n.selfSize;
    }
    for (const c of n.children) walk(c, self);
  };
  walk(profile.head, "");
  return {
    perRoundTrip: total / SAMPLES,
    sites: [...sites].map(([k, v]): [string, number] => [k, v / SAMPLES])
      .sort((a, b) => b[1] - a[1]),
  };
}

/** The raw ping-pong: a 170-byte write, echoed back, read. */
async function raw(): Promise<Allocation> {
  const echo = await inProcessEcho();
  const result = await measure(() => echo.roundTrip());
  await echo.close();
  return result;
}

/** Two fixwire engines, an order answered by a report. */
async function fixwire(): Promise<Allocation> {
  const pair = await inProcessPair();
  const result = await measure((i) => pair.roundTrip(i));
  await pair.close();
  return result;
}

const base = await raw();
const fw = await fixwire();
const bytes = (n: number) => n.toFixed(0).padStart(6);
print(
  `${SAMPLES} round trips after ${WARMUP}, both sides of each pair, sampled every 64 bytes\n` +
    `raw TCP ping-pong: ${bytes(base.perRoundTrip)} bytes per round trip\n` +
    `fixwire:           ${bytes(fw.perRoundTrip)} bytes per round trip ` +
    `(${(fw.perRoundTrip / base.perRoundTrip).toFixed(2)}x the ping-pong)\n` +
    `\nfixwire's sites, bytes per round trip (site <- caller):`,
);
for (const [site, n] of fw.sites.slice(0, TOP)) print(`${bytes(n)}  ${site}`);
print(`\nthe ping-pong's sites:`);
for (const [site, n] of base.sites.slice(0, Math.min(TOP, 8))) print(`${bytes(n)}  ${site}`);
inspector.disconnect();
