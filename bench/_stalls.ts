// How often, and for how long, this machine takes a busy core away from the process running on it:
// a loop that does nothing but read the clock, timing every gap between two reads. On a bare
// machine the gaps are the kernel's timer ticks, a microsecond or two each. On a VM (the CI and
// benchmark machines) each tick and host interrupt can cost tens of microseconds, and a round trip
// that one falls into pays for it and again for every page it touches afterwards
// (bench/round_trip_pages.ts): the tail rows of bench/vs_quickfix.ts are read beside this (see the
// docs/performance.md).
// Run: taskset -c 0 deno run bench/_stalls.ts [ms=2000] [--json]

/** The gaps a busy loop saw. */
export interface Stalls {
  /** Gaps over the threshold per second of looping. */
  perSec: number;
  /** Median of those gaps, µs. */
  p50Us: number;
  /** Their 90th percentile, µs. */
  p90Us: number;
  /** Their 99th percentile, µs. */
  p99Us: number;
  /** Share of the loop's time lost in them, %. */
  lostPct: number;
  /** Whether the gaps keep time with the kernel's tick: the phase concentration at 4 ms, 0 to 1. */
  tick4ms: number;
}

/** A gap longer than this between two clock reads (a read takes well under a µs) is a stall. */
const THRESHOLD_MS = 0.003;

/**
 * Spins for `ms` milliseconds on the calling thread, timing every stall.
 *
 * @param ms How long to spin.
 * @returns What the loop saw.
 */
export function measureStalls(ms = 2000): Stalls {
  const gaps: number[] = [];
  const at: number[] = [];
  const start = performance.now();
  const end = start + ms;
  let last = start;
  for (;;) {
    const t = performance.now();
    if (t - last > THRESHOLD_MS) {
      gaps.push((t - last) * 1000);
      at.push(t);
    }
    last = t;
    if (t > end) break;
  }
  const seconds = (last - start) / 1000;
  const lost = gaps.reduce((a, b) => a + b, 0) / 1e6;
  let c = 0, s = 0;
  for (const t of at) {
    c += Math.cos(2 * Math.PI * t / 4);
    s += Math.sin(2 * Math.PI * t / 4);
  }
  gaps.sort((a, b) => a - b);
  const q = (p: number) => gaps.length === 0 ? 0 : gaps[Math.ceil(p * gaps.length) - 1];
  return {
    perSec: gaps.length / seconds,
    p50Us: q(0.5),
    p90Us: q(0.9),
    p99Us: q(0.99),
    lostPct: 100 * lost / seconds,
    tick4ms: at.length === 0 ? 0 : Math.hypot(c, s) / at.length,
  };
}

/** One line for a report. */
export function describeStalls(s: Stalls): string {
  const us = (v: number) => v.toFixed(1);
  return `${Math.round(s.perSec)} stalls a second of a busy core (median ${us(s.p50Us)} µs, ` +
    `p90 ${us(s.p90Us)}, p99 ${us(s.p99Us)}; ${s.lostPct.toFixed(2)}% of its time; ` +
    `phase concentration on the 4 ms tick ${s.tick4ms.toFixed(2)})`;
}

if (import.meta.main) {
  const ms = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 2000);
  const s = measureStalls(ms);
  const line = Deno.args.includes("--json") ? JSON.stringify(s) : describeStalls(s);
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}
