// The groups of bench/messages_bench.ts measured by process CPU time, the baseline and the other
// bench alternating in batches (40 pairs), in deno bench's order: the median of the pairs'
// ratios. On a shared machine it swings far less than `deno bench`'s averages, which take
// whatever the other processes leave of the wall clock (`deno bench` remains the reference).
// Run: deno run --allow-read --allow-env bench/messages_cpu.ts [group...]
import process from "node:process";

interface Bench {
  name: string;
  group: string;
  baseline?: boolean;
  fn: () => void;
}

const benches: Bench[] = [];
const bench = Deno.bench;
// Collect the suite's benches instead of registering them.
(Deno as { bench: unknown }).bench = (b: Bench) => benches.push(b);
await import("./messages_bench.ts");
(Deno as { bench: unknown }).bench = bench;

/** CPU time per call, ns (user and system, every thread of the process). */
function cpuNs(fn: () => void, calls: number): number {
  const start = process.cpuUsage();
  for (let i = 0; i < calls; i++) fn();
  const used = process.cpuUsage(start);
  return (used.user + used.system) * 1000 / calls;
}

const groups = [...new Set(benches.map((b) => b.group))]
  .filter((g) => Deno.args.length === 0 || Deno.args.includes(g));
const lines: string[] = [];
for (const group of groups) {
  const base = benches.find((b) => b.group === group && b.baseline)!;
  const other = benches.find((b) => b.group === group && !b.baseline)!;
  cpuNs(base.fn, 300_000);
  cpuNs(other.fn, 300_000);
  const ratios: number[] = [];
  for (let i = 0; i < 40; i++) {
    const b = cpuNs(base.fn, 20_000);
    const o = cpuNs(other.fn, 20_000);
    ratios.push(o / b);
  }
  ratios.sort((a, b) => a - b);
  lines.push(`${group}: ${ratios[20].toFixed(3)}x (${other.name} / ${base.name})`);
}
Deno.stdout.writeSync(new TextEncoder().encode(lines.join("\n") + "\n"));
