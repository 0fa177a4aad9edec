// How many memory pages one order -> report round trip touches, both ends in this process (Linux).
// On a VM a core loses its TLB and caches to the host's interruptions (`bench/_stalls.ts`), and the
// round trip a stall falls into pays again for every page it touches: the one-core p99.9 rows of
// bench/vs_quickfix.ts follow this count more than the round trip's length (see
// docs/performance.md).
//
// After `warmup` round trips: the accessed bits of every page are cleared (`/proc/self/clear_refs`),
// one round trip runs, and the pages marked `Referenced` in `/proc/self/smaps` are counted per
// mapping, less those the counting itself marks (the same without a round trip); averaged over
// `rounds`. fixwire: a FixEngine initiator and acceptor over TCP on 127.0.0.1 (file store, no
// validation, no message log, as bench/e2e.ts's latency rows); raw: 170 bytes echoed.
// Run (as root or the process's owner): deno run -A bench/round_trip_pages.ts [fixwire|raw]
//        [--memory] [--detail] [--warmup=30000] [--rounds=50]
//   --memory  memory stores instead of the file store
//   --detail  each anonymous mapping on its own line (V8's heap pages are 256 KB each)
import { MemorySeqStoreFactory } from "../mod.ts";
import { inProcessEcho, inProcessPair } from "./_pair.ts";

const SWITCHES = Deno.args.filter((a) => a.startsWith("--"));
const MODE = Deno.args.find((a) => !a.startsWith("--")) ?? "fixwire";
const value = (name: string, fallback: number): number => {
  const s = SWITCHES.find((a) => a.startsWith(`--${name}=`));
  return s === undefined ? fallback : Number(s.slice(name.length + 3));
};
const WARMUP = value("warmup", 30_000);
const ROUNDS = value("rounds", 50);
const DETAIL = SWITCHES.includes("--detail");
const encoder = new TextEncoder();
const print = (s: string): void => {
  Deno.stdout.writeSync(encoder.encode(s + "\n"));
};

/** Clears the accessed bits of every page of this process. */
function clearReferenced(): void {
  Deno.writeFileSync("/proc/self/clear_refs", encoder.encode("1"));
}

/** Pages marked referenced since the last clear, per mapping. */
function referenced(): Map<string, number> {
  const out = new Map<string, number>();
  let name = "";
  for (const line of Deno.readTextFileSync("/proc/self/smaps").split("\n")) {
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \S+\s*(.*)$/.exec(line);
    if (m) {
      const kb = (parseInt(m[2], 16) - parseInt(m[1], 16)) / 1024;
      name = m[4]
        ? `${m[3]} ${m[4]}`
        : DETAIL
        ? `${m[3]} [anon] ${m[1]} ${kb} KB`
        : `${m[3]} [anon]`;
    } else if (line.startsWith("Referenced:")) {
      const kb = Number(line.split(/\s+/)[1]);
      if (kb > 0) out.set(name, (out.get(name) ?? 0) + kb / 4);
    }
  }
  return out;
}

/** A raw TCP echo in this process: one round trip of 170 bytes per call. */
async function rawRoundTrip(): Promise<() => Promise<void>> {
  const echo = await inProcessEcho();
  return () => echo.roundTrip();
}

/** A fixwire initiator and acceptor in this process: one order -> report per call. */
async function fixwireRoundTrip(): Promise<() => Promise<void>> {
  const pair = await inProcessPair({
    storeFactory: SWITCHES.includes("--memory") ? new MemorySeqStoreFactory() : undefined,
  });
  let i = 0;
  return () => pair.roundTrip(i++);
}

const roundTrip = MODE === "raw" ? await rawRoundTrip() : await fixwireRoundTrip();
for (let k = 0; k < WARMUP; k++) await roundTrip();
const without = new Map<string, number>();
const withOne = new Map<string, number>();
const add = (into: Map<string, number>, from: Map<string, number>) => {
  for (const [n, pages] of from) into.set(n, (into.get(n) ?? 0) + pages / ROUNDS);
};
for (let k = 0; k < ROUNDS; k++) {
  clearReferenced();
  add(without, referenced());
  await roundTrip();
  clearReferenced();
  await roundTrip();
  add(withOne, referenced());
}
const rows = [...new Set([...without.keys(), ...withOne.keys()])].map((n) => ({
  name: n,
  pages: (withOne.get(n) ?? 0) - (without.get(n) ?? 0),
}));
rows.sort((a, b) => b.pages - a.pages);
const total = rows.reduce((t, r) => t + r.pages, 0);
print(`${MODE}: ${total.toFixed(0)} pages touched per round trip (mean of ${ROUNDS})`);
for (const r of rows.slice(0, DETAIL ? 40 : 12)) {
  print(`  ${r.pages.toFixed(1).padStart(7)}  ${r.name}`);
}
Deno.exit(0);
