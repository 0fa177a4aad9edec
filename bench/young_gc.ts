// What an application's numbered IDs cost the round trip's tail: V8's number-to-string cache.
//
// `String(n)` and template literals (`E-${n}`) keep the string of each number they convert in a
// cache of up to 16,384 entries. A new number per message (an order ID, an execution ID) fills it
// with young strings that outlive their messages: every young-generation GC (scavenge) copies
// them, V8 grows the young generation because so much survives, and each pause gets longer.
// fixwire's own numbers (MsgSeqNum, the file store's state line) do not go through that cache;
// `numberToFixText` gives applications the same (`"E-" + numberToFixText(n)`).
//
// One process, a fixwire initiator and acceptor over TCP on 127.0.0.1 (file store, no
// validation, no message log), one order -> report at a time; the same run twice, in child
// processes traced with `--trace-gc-nvp`: IDs made with template literals, then with
// numberToFixText. Per run: the round trip's p50/p99/p99.9, and the scavenges during the measured
// round trips: how many, their median pause, what survived them, the young generation's size.
// Run: deno run -A bench/young_gc.ts [rounds=3] [--samples=20000] [--warmup=30000]
import { FixMessage, numberToFixText } from "../mod.ts";
import { inProcessPair } from "./_pair.ts";

const SWITCHES = Deno.args.filter((a) => a.startsWith("--"));
const ARGS = Deno.args.filter((a) => !a.startsWith("--"));
const value = (name: string): number | undefined => {
  const s = SWITCHES.find((a) => a.startsWith(`--${name}=`));
  return s === undefined ? undefined : Number(s.slice(name.length + 3));
};
const SAMPLES = value("samples") ?? 20_000;
const WARMUP = value("warmup") ?? 30_000;
/** The child's own lines go to stderr (V8's trace has stdout, buffered): `<tag> <json>`. */
const LINE = "young_gc:";
const print = (s: string) => Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));

type Ids = "template" | "numberToFixText";

if (ARGS[0] === "child") await child(ARGS[1] as Ids);
else await main(Number(ARGS[0] ?? 3));

/** The round trips, in this process; prints the marks the parent splits the GC trace with. */
async function child(ids: Ids): Promise<void> {
  const say = (s: string) => Deno.stderr.writeSync(new TextEncoder().encode(`${LINE} ${s}\n`));
  const id = ids === "template"
    ? (prefix: string, n: number) => `${prefix}${n}`
    : (prefix: string, n: number) => prefix + numberToFixText(n);
  const pair = await inProcessPair({
    order: (i) =>
      new FixMessage("D").set(11, id("o", i)).set(21, "1").set(55, "EUR/USD").set(54, "1")
        .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "2").set(44, "1.08215"),
    report: (o, e) => {
      const clOrdId = o.get(11)!;
      return new FixMessage("8").set(37, `O-${clOrdId}`).set(17, id("E-", e)).set(11, clOrdId)
        .set(150, "0").set(39, "0").set(55, "EUR/USD").set(54, "1").set(151, 100)
        .set(14, 0).set(6, 0);
    },
  });
  const rtts = new Float64Array(SAMPLES);
  for (let i = 0; i < WARMUP + SAMPLES; i++) {
    if (i === WARMUP) say(JSON.stringify({ fromMs: performance.now() }));
    const t = performance.now();
    await pair.roundTrip(i);
    if (i >= WARMUP) rtts[i - WARMUP] = performance.now() - t;
  }
  const toMs = performance.now();
  const sorted = Array.from(rtts, (ms) => ms * 1000).sort((a, b) => a - b);
  const at = (q: number) => sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)];
  say(JSON.stringify({ toMs, p50: at(0.5), p99: at(0.99), p999: at(0.999) }));
  await pair.close();
}

/** One traced run: the round trip's percentiles and the scavenges while measuring. */
interface Run {
  p50: number;
  p99: number;
  p999: number;
  scavenges: number;
  pauseMs: number;
  survivedKb: number;
  youngKb: number;
}

/** The median (the lower of the middle two). */
function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length === 0 ? 0 : s[Math.floor((s.length - 1) / 2)];
}

async function run(ids: Ids): Promise<Run> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      "--v8-flags=--trace-gc-nvp",
      new URL(import.meta.url).pathname,
      "child",
      ids,
      `--samples=${SAMPLES}`,
      `--warmup=${WARMUP}`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const own = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.startsWith(LINE))
    .map((l) => JSON.parse(l.slice(LINE.length + 1)));
  if (!out.success || own.length !== 2) throw new Error(`child (${ids}) failed`);
  const [{ fromMs }, result] = own;
  // "[pid:isolate]   <ms since V8 started> ms: GC: {...}": V8 starts a few ms after the
  // process's time origin, nothing next to the seconds measured.
  const gcs = new TextDecoder().decode(out.stdout).split("\n").flatMap((l) => {
    const m = /\s(\d+) ms: GC: (\{.*\})\s*$/.exec(l);
    if (!m) return [];
    const ms = Number(m[1]);
    if (ms < fromMs || ms > result.toMs) return [];
    try {
      const gc = JSON.parse(m[2]);
      return gc.gc === "s" ? [gc] : [];
    } catch {
      return []; // a line cut by another write
    }
  });
  return {
    p50: result.p50,
    p99: result.p99,
    p999: result.p999,
    scavenges: gcs.length,
    pauseMs: median(gcs.map((g) => g.pause)),
    survivedKb: median(gcs.map((g) => (g.new_space_survived + g.promoted) / 1024)),
    youngKb: median(gcs.map((g) => g.new_space_capacity / 1024)),
  };
}

async function main(rounds: number): Promise<void> {
  const runs: Record<Ids, Run[]> = { template: [], numberToFixText: [] };
  for (let r = 0; r < rounds; r++) {
    for (const ids of ["template", "numberToFixText"] as const) runs[ids].push(await run(ids));
  }
  const cell = (xs: number[], digits: number) =>
    `${median(xs).toFixed(digits)} (${Math.min(...xs).toFixed(digits)}–${
      Math.max(...xs).toFixed(digits)
    })`;
  const rows: [string, keyof Run, number][] = [
    ["round trip p50, µs", "p50", 1],
    ["round trip p99, µs", "p99", 1],
    ["round trip p99.9, µs", "p999", 0],
    ["scavenges while measuring", "scavenges", 0],
    ["scavenge pause, median, ms", "pauseMs", 3],
    ["survived (copied + promoted) per scavenge, median, KB", "survivedKb", 1],
    ["young generation, median, KB", "youngKb", 0],
  ];
  print(`${SAMPLES} round trips measured after ${WARMUP}, ${rounds} rounds, median (min–max)\n`);
  print("| | IDs by template literal | IDs by numberToFixText | ratio |");
  print("| --- | --- | --- | --- |");
  for (const [name, key, digits] of rows) {
    const t = runs.template.map((x) => x[key]);
    const n = runs.numberToFixText.map((x) => x[key]);
    const ratio = t.map((v, i) => n[i] === 0 ? NaN : v / n[i]);
    print(
      `| ${name} | ${cell(t, digits)} | ${cell(n, digits)} | ${median(ratio).toFixed(2)}× |`,
    );
  }
}
