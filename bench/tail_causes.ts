// What the one-core round trip's tail is made of: bench/e2e.ts's round trips, fixwire's pair and
// the raw ping-pong alternated, both processes pinned to one core, with V8's GC traced in every
// process (`--trace-gc`). Each young collection (scavenge) is placed among the round trips it
// delayed, and the slowest round trips are counted by cause: a scavenge in one process or the
// other, or none (V8's background compiler, the machine's own stalls: see docs/performance.md).
// Run: deno run -A bench/tail_causes.ts [rounds=3] [--samples=20000] [--warmup=30000] [--core=0]
//        [--v8-flags=FLAGS]   (V8 flags for every process of both programs, beside --trace-gc)
import { rank, rankOf } from "./e2e.ts";

const ARGS = Deno.args.filter((a) => !a.startsWith("--"));
const ROUNDS = Number(ARGS[0] ?? 3);
const option = (name: string, fallback: number): number => {
  const s = Deno.args.find((a) => a.startsWith(`--${name}=`));
  return s === undefined ? fallback : Number(s.slice(name.length + 3));
};
const SAMPLES = option("samples", 20_000);
const WARMUP = option("warmup", 30_000);
const CORE = option("core", 0);
const V8_FLAGS = Deno.args.find((a) => a.startsWith("--v8-flags="))?.slice("--v8-flags=".length);
const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};
const E2E = new URL("./e2e.ts", import.meta.url).pathname;

/** One measured round trip: when it started (ms, the measuring process's clock) and its length. */
export interface RoundTrip {
  startMs: number;
  us: number;
}

/** A GC line of `--trace-gc`: the process, ms since its isolate started, and the kind. */
export interface GcLine {
  pid: string;
  ms: number;
  scavenge: boolean;
}

/** What one run's slowest round trips were. */
export interface TailCauses {
  /** The p99.9 (nearest rank), µs. */
  p999Us: number;
  /** Measured round trips a scavenge (of any process) fell into; two in one count once. */
  scavenged: number;
  /** Of the slowest 0.1% (the p99.9 and above): how many a scavenge delayed. */
  worstWithScavenge: number;
  /** The slowest 0.1%, the p99.9 included: how many round trips that is. */
  worst: number;
  /** Round trips a scavenge delayed: shortest, median and longest, µs. */
  scavengeUs: [number, number, number];
  /** Round trips over 1 ms that no scavenge explains. */
  overOneMsOther: number;
}

const GC_RE = /^\[(\d+):0x[0-9a-f]+\]\s+(\d+) ms: (\S+)/;
const ORIGIN_RE = /fixwire-bench-origin=(\d+) ([\d.]+)/;

/** Runs bench/e2e.ts once (`raw`: the ping-pong) and reads its dump and GC trace. */
async function run(
  raw: boolean,
): Promise<{ trips: RoundTrip[]; gcs: GcLine[]; origins: Map<string, number>; parent: string }> {
  const dump = await Deno.makeTempFile();
  try {
    const mode = raw ? ["--raw"] : ["--no-validation", "--no-message-log"];
    const out = await new Deno.Command("taskset", {
      args: [
        "-c",
        String(CORE),
        Deno.execPath(),
        "run",
        "-A",
        "--unstable-kv",
        E2E,
        "0",
        "--json",
        `--warmup=${WARMUP}`,
        `--samples=${SAMPLES}`,
        `--dump=${dump}`,
        ...mode,
      ],
      env: { DENO_V8_FLAGS: V8_FLAGS ? `--trace-gc,${V8_FLAGS}` : "--trace-gc" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    if (!out.success) throw new Error(`bench/e2e.ts failed:\n${text.slice(-2000)}`);
    const gcs: GcLine[] = [];
    const origins = new Map<string, number>();
    let parent = "";
    for (const line of text.split("\n")) {
      const o = ORIGIN_RE.exec(line);
      if (o) {
        origins.set(o[1], Number(o[2]));
        if (parent === "" || Number(o[2]) < origins.get(parent)!) parent = o[1];
        continue;
      }
      const g = GC_RE.exec(line);
      if (g) gcs.push({ pid: g[1], ms: Number(g[2]), scavenge: g[3] === "Scavenge" });
    }
    const trips = (await Deno.readTextFile(dump)).trim().split("\n").map((l) => {
      const [s, us] = l.split(" ");
      return { startMs: Number(s), us: Number(us) };
    });
    return { trips, gcs, origins, parent };
  } finally {
    await Deno.remove(dump).catch(() => {});
  }
}

/** The index of the first round trip starting at or after `ms`. */
function firstFrom(trips: RoundTrip[], ms: number): number {
  let lo = 0, hi = trips.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (trips[mid].startMs < ms) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The slowest round trip starting within 1.4 ms around `ms` (a trace's ms is truncated). */
function hitAt(trips: RoundTrip[], ms: number): number {
  let best = -1;
  for (let i = firstFrom(trips, ms - 0.2); i < trips.length && trips[i].startMs < ms + 1.2; i++) {
    if (best < 0 || trips[i].us > trips[best].us) best = i;
  }
  return best;
}

/**
 * Places one process's scavenges among the round trips. A trace's time counts from its
 * isolate's start, a few ms after the process's time origin: the offset taken is the one that
 * puts the most scavenges on slow round trips (over 3× the median), searched over ±30 ms.
 */
function place(trips: RoundTrip[], times: number[], slowUs: number): number[] {
  let bestHits = -1, bestOffset = 0;
  for (let offset = -30; offset <= 30; offset += 0.25) {
    let hits = 0;
    for (const t of times) {
      const i = hitAt(trips, t + offset);
      if (i >= 0 && trips[i].us > slowUs) hits++;
    }
    if (hits > bestHits) {
      bestHits = hits;
      bestOffset = offset;
    }
  }
  return times.map((t) => hitAt(trips, t + bestOffset)).filter((i) => i >= 0);
}

/** Counts the slowest round trips of a run by cause. */
export function causes(
  trips: RoundTrip[],
  gcs: GcLine[],
  origins: Map<string, number>,
  parent: string,
): TailCauses {
  const sorted = trips.map((t) => t.us).sort((a, b) => a - b);
  const median = rank(sorted, 0.5);
  const scavenged = new Set<number>();
  for (const [pid, origin] of origins) {
    const shift = origin - origins.get(parent)!;
    const times = gcs.filter((g) => g.pid === pid && g.scavenge).map((g) => g.ms + shift);
    for (const i of place(trips, times, 3 * median)) scavenged.add(i);
  }
  // The p99.9 as bench/e2e.ts reports it, and the round trips from it up.
  const worst = trips.length - rankOf(trips.length, 0.999) + 1;
  const order = trips.map((_, i) => i).sort((a, b) => trips[b].us - trips[a].us);
  const hit = [...scavenged].map((i) => trips[i].us).sort((a, b) => a - b);
  return {
    p999Us: rank(sorted, 0.999),
    scavenged: scavenged.size,
    worst,
    worstWithScavenge: order.slice(0, worst).filter((i) => scavenged.has(i)).length,
    scavengeUs: hit.length === 0 ? [0, 0, 0] : [hit[0], hit[hit.length >> 1], hit[hit.length - 1]],
    overOneMsOther: order.filter((i) => trips[i].us > 1000 && !scavenged.has(i)).length,
  };
}

function line(name: string, c: TailCauses): string {
  const [lo, mid, hi] = c.scavengeUs;
  const p999 = c.p999Us.toFixed(0).padStart(4);
  return `${name.padEnd(9)} p99.9 ${p999} µs; scavenged round trips ${c.scavenged}, ` +
    `${lo.toFixed(0)}-${hi.toFixed(0)} µs (median ${mid.toFixed(0)}); slowest ${c.worst}: ` +
    `${c.worstWithScavenge} with a scavenge; over 1 ms without one: ${c.overOneMsOther}`;
}

if (import.meta.main) {
  const pinned = await new Deno.Command("taskset", { args: ["-c", String(CORE), "true"] }).output()
    .then((o) => o.success, () => false);
  if (!pinned) throw new Error(`Cannot pin to core ${CORE}: taskset is missing or refused`);
  print(
    `${SAMPLES} round trips after ${WARMUP}, both processes on core ${CORE}, ${ROUNDS} rounds`,
  );
  for (let r = 1; r <= ROUNDS; r++) {
    for (const raw of [false, true]) {
      const { trips, gcs, origins, parent } = await run(raw);
      print(
        `round ${r} ${line(raw ? "ping-pong" : "fixwire", causes(trips, gcs, origins, parent))}`,
      );
    }
  }
}
