// What the one-core round trip's tail is made of: bench/e2e.ts's round trips, fixwire's pair and
// the raw ping-pong alternated, both processes pinned to one core, with V8's GC traced in every
// process (`--trace-gc`). Each young collection (scavenge) is placed among the round trips it
// delayed, and the slowest round trips are counted by cause: a scavenge in one process or the
// other, V8's compilers (code optimized by Maglev or TurboFan, or deoptimized, inside the window:
// `--log-code --log-deopt`), or neither (the machine's own stalls: see docs/performance.md).
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
/** V8's GC trace, and its log of optimized and deoptimized code, one file per process. */
const TRACE_FLAGS = "--trace-gc,--log-code,--log-deopt,--logfile-per-isolate,--logfile=v8.log";

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
  /** Code optimized or deoptimized in any process while the round trips were measured. */
  jitEvents: number;
  /** Of `overOneMsOther`: those with such an event in them. */
  overOneMsJit: number;
  /** The functions of those events, in order, with the kind (`TF`, `ML`, `deopt`). */
  jitNames: string[];
}

/** A line of V8's log (`--log-code --log-deopt`): optimized code made, or code deoptimized. */
export interface JitLine {
  pid: string;
  /** Ms since the process's isolate started (the GC trace's clock, near enough). */
  ms: number;
  /** `TF` (TurboFan), `ML` (Maglev) or `deopt`. */
  kind: "TF" | "ML" | "deopt";
  /** The function (its name, or where a deoptimization happened). */
  name: string;
}

/** V8 15's code kinds in `code-creation,JS,<kind>,...` lines: Maglev and TurboFan code. */
const MAGLEV_KIND = "12";
const TURBOFAN_KIND = "13";

/**
 * Reads one process's V8 log: its Maglev and TurboFan code made and its deoptimizations (the
 * interpreter's and the baseline compiler's code is left out: made at once, off no thread).
 */
export function jitLines(pid: string, log: string): JitLine[] {
  const out: JitLine[] = [];
  for (const line of log.split("\n")) {
    if (line.startsWith("code-creation,JS,")) {
      const f = line.split(",");
      if (f[2] !== MAGLEV_KIND && f[2] !== TURBOFAN_KIND) continue;
      const name = f[6].split(" ")[0] || f[6];
      out.push({ pid, ms: Number(f[3]) / 1000, kind: f[2] === TURBOFAN_KIND ? "TF" : "ML", name });
    } else if (line.startsWith("code-deopt,")) {
      const f = line.split(",");
      out.push({ pid, ms: Number(f[1]) / 1000, kind: "deopt", name: f[7] ?? "" });
    }
  }
  return out;
}

const GC_RE = /^\[(\d+):0x[0-9a-f]+\]\s+(\d+) ms: (\S+)/;
const ORIGIN_RE = /fixwire-bench-origin=(\d+) ([\d.]+)/;

/** Runs bench/e2e.ts once (`raw`: the ping-pong) and reads its dump and GC trace. */
async function run(raw: boolean): Promise<{
  trips: RoundTrip[];
  gcs: GcLine[];
  jits: JitLine[];
  origins: Map<string, number>;
  parent: string;
}> {
  const dump = await Deno.makeTempFile();
  // Each process writes its V8 log here, named isolate-<address>-<pid>-v8.log.
  const logs = await Deno.makeTempDir();
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
      cwd: logs,
      env: { DENO_V8_FLAGS: [TRACE_FLAGS, V8_FLAGS].filter(Boolean).join(",") },
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
    const jits: JitLine[] = [];
    for await (const e of Deno.readDir(logs)) {
      const m = /^isolate-0x[0-9a-f]+-(\d+)-v8\.log$/.exec(e.name);
      if (m) jits.push(...jitLines(m[1], await Deno.readTextFile(`${logs}/${e.name}`)));
    }
    return { trips, gcs, jits, origins, parent };
  } finally {
    await Deno.remove(dump).catch(() => {});
    await Deno.remove(logs, { recursive: true }).catch(() => {});
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
function place(
  trips: RoundTrip[],
  times: number[],
  slowUs: number,
): { offset: number; hits: number[] } {
  // The middle of the offsets that place the most: a trace's ms is truncated, so the first
  // such offset is up to a millisecond early.
  let bestHits = -1, firstBest = 0, lastBest = 0;
  for (let offset = -30; offset <= 30; offset += 0.25) {
    let hits = 0;
    for (const t of times) {
      const i = hitAt(trips, t + offset);
      if (i >= 0 && trips[i].us > slowUs) hits++;
    }
    if (hits > bestHits) {
      bestHits = hits;
      firstBest = lastBest = offset;
    } else if (hits === bestHits) lastBest = offset;
  }
  const bestOffset = (firstBest + lastBest) / 2;
  return {
    offset: bestOffset,
    hits: times.map((t) => hitAt(trips, t + bestOffset)).filter((i) => i >= 0),
  };
}

/**
 * The round trip a compile or deoptimization at `ms` (when its code was installed) delayed:
 * the slowest one under way at that time or ending within a millisecond before it (the work
 * ran on a background thread before, holding the core), or starting within 1.5 ms after it
 * (the placement's error).
 */
function jitHit(trips: RoundTrip[], ms: number): number {
  let best = -1;
  for (let i = Math.max(0, firstFrom(trips, ms - 8) - 1); i < trips.length; i++) {
    const t = trips[i];
    if (t.startMs > ms + 1.5) break;
    if (t.startMs + t.us / 1000 < ms - 1) continue;
    if (best < 0 || t.us > trips[best].us) best = i;
  }
  return best;
}

/**
 * Counts the slowest round trips of a run by cause. A process's V8 log is placed with the
 * offset its GC trace took (both count from its isolate's start); with no scavenge to place by,
 * at its time origin.
 */
export function causes(
  trips: RoundTrip[],
  gcs: GcLine[],
  origins: Map<string, number>,
  parent: string,
  jits: JitLine[] = [],
): TailCauses {
  const sorted = trips.map((t) => t.us).sort((a, b) => a - b);
  const median = rank(sorted, 0.5);
  const scavenged = new Set<number>();
  const jitted = new Set<number>();
  const jitNames: string[] = [];
  let jitEvents = 0;
  const first = trips[0]?.startMs ?? 0;
  const last = trips[trips.length - 1]?.startMs ?? 0;
  for (const [pid, origin] of origins) {
    const shift = origin - origins.get(parent)!;
    const times = gcs.filter((g) => g.pid === pid && g.scavenge).map((g) => g.ms + shift);
    const placed = place(trips, times, 3 * median);
    if (times.length > 0) { for (const i of placed.hits) scavenged.add(i); }
    const offset = times.length > 0 ? placed.offset : 0;
    for (const j of jits) {
      if (j.pid !== pid) continue;
      const at = j.ms + shift + offset;
      // An event after the last round trip's start delays none measured (the loop's end).
      if (at < first || at > last) continue;
      jitEvents++;
      jitNames.push(`${j.kind} ${j.name}`);
      const i = jitHit(trips, at);
      if (i >= 0) jitted.add(i);
    }
  }
  // The p99.9 as bench/e2e.ts reports it, and the round trips from it up.
  const worst = trips.length - rankOf(trips.length, 0.999) + 1;
  const order = trips.map((_, i) => i).sort((a, b) => trips[b].us - trips[a].us);
  const hit = [...scavenged].map((i) => trips[i].us).sort((a, b) => a - b);
  const overOneMs = order.filter((i) => trips[i].us > 1000 && !scavenged.has(i));
  return {
    p999Us: rank(sorted, 0.999),
    scavenged: scavenged.size,
    worst,
    worstWithScavenge: order.slice(0, worst).filter((i) => scavenged.has(i)).length,
    scavengeUs: hit.length === 0 ? [0, 0, 0] : [hit[0], hit[hit.length >> 1], hit[hit.length - 1]],
    overOneMsOther: overOneMs.length,
    jitEvents,
    overOneMsJit: overOneMs.filter((i) => jitted.has(i)).length,
    jitNames,
  };
}

function line(name: string, c: TailCauses): string {
  const [lo, mid, hi] = c.scavengeUs;
  const p999 = c.p999Us.toFixed(0).padStart(4);
  return `${name.padEnd(9)} p99.9 ${p999} µs; scavenged round trips ${c.scavenged}, ` +
    `${lo.toFixed(0)}-${hi.toFixed(0)} µs (median ${mid.toFixed(0)}); slowest ${c.worst}: ` +
    `${c.worstWithScavenge} with a scavenge; over 1 ms without one: ${c.overOneMsOther} ` +
    `(${c.overOneMsJit} with a compile or deoptimization); compiles and deoptimizations ` +
    `while measuring: ${c.jitEvents}` +
    (c.jitNames.length > 0 ? ` (${c.jitNames.slice(0, 6).join(", ")})` : "");
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
      const { trips, gcs, jits, origins, parent } = await run(raw);
      const c = causes(trips, gcs, origins, parent, jits);
      print(`round ${r} ${line(raw ? "ping-pong" : "fixwire", c)}`);
    }
  }
}
