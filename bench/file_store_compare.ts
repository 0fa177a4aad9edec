/**
 * The file store against an earlier one, in the same run: runs `file_store_memory.ts` once with
 * each (one process each, so each has its own resident memory) and `file_store_latency.ts` with
 * both (alternating), and prints the figures side by side with their ratios (earlier / now). By
 * default the earlier store is the one before the sparse index and the off-loop syncs: git
 * revision 0165f49, one in-memory Map entry per stored message, synchronous syncs. Needs git.
 *
 *     deno run --allow-read --allow-write --allow-run bench/file_store_compare.ts \
 *       [--messages 10000000] [--seconds 3] [--rounds 3] [--rev 0165f49]
 *
 * It writes about 1.7 GB per store for 10 million messages, in a temporary folder removed at
 * the end.
 *
 * @module
 */

import { print, printTable } from "./file_store_messages.ts";

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const MESSAGES = option("--messages", "10000000");
const SECONDS = option("--seconds", "3");
const ROUNDS = option("--rounds", "3");
const REV = option("--rev", "0165f49");
const root = new URL("..", import.meta.url).pathname;
const here = (file: string) => new URL(file, import.meta.url).pathname;

type Row = Record<string, string | number>;

/** Runs a Deno script; returns its JSON lines (its other output goes to stderr). */
async function run(args: string[]): Promise<Row[]> {
  const out = await new Deno.Command(Deno.execPath(), { args, stdout: "piped", stderr: "inherit" })
    .output();
  const text = new TextDecoder().decode(out.stdout);
  if (!out.success) throw new Error(`Cannot run benchmark: ${args.join(" ")} failed\n${text}`);
  return text.split("\n").filter((l) => l.startsWith("{")).map((l) => JSON.parse(l));
}

const ratio = (a: unknown, b: unknown) => (Number(a) / Number(b)).toFixed(1);
const tmp = await Deno.makeTempDir({ prefix: "fixwire-store-compare-" });
try {
  // The earlier store with the code it imports, as that revision had it.
  const tar = `${tmp}/earlier.tar`;
  const git = await new Deno.Command("git", {
    args: ["-C", root, "archive", "--format=tar", "-o", tar, REV, "adapters", "src"],
  }).output();
  if (!git.success) {
    throw new Error(`Cannot export revision ${REV}: ${new TextDecoder().decode(git.stderr)}`);
  }
  const untar = await new Deno.Command("tar", { args: ["-xf", tar, "-C", tmp] }).output();
  if (!untar.success) throw new Error(`Cannot unpack revision ${REV}`);
  const earlier = new URL(`file://${tmp}/adapters/file_store.ts`).href;
  const now = new URL("../adapters/file_store.ts", import.meta.url).href;

  const memory = (store: string) =>
    run([
      "run",
      "--allow-read",
      "--allow-write",
      "--v8-flags=--expose-gc",
      here("./file_store_memory.ts"),
      "--messages",
      MESSAGES,
      "--dir",
      `${tmp}/memory-${store === now ? "now" : "earlier"}`,
      "--store",
      store,
    ]);
  const before = await memory(earlier);
  await Deno.remove(`${tmp}/memory-earlier`, { recursive: true });
  const after = await memory(now);
  await Deno.remove(`${tmp}/memory-now`, { recursive: true });
  const rows: Row[] = before.map((b, i) => {
    const a = after[i];
    return {
      messages: b.messages,
      [`${REV} rss MB`]: b.rssMb,
      "now rss MB": a.rssMb,
      "rss ratio": ratio(b.rssMb, a.rssMb),
      [`${REV} heap MB`]: b.heapUsedMb,
      "now heap MB": a.heapUsedMb,
      [`${REV} reopen ms`]: b.reopenMs ?? "",
      "now reopen ms": a.reopenMs ?? "",
      "reopen ratio": b.reopenMs === undefined ? "" : ratio(b.reopenMs, a.reopenMs),
      [`${REV} resend ms`]: b.resendMs ?? "",
      "now resend ms": a.resendMs ?? "",
    };
  });
  print(`Resident memory of one session storing ${MESSAGES} messages (${REV} vs now, same run)`);
  printTable(rows);

  const latency = await run([
    "run",
    "--allow-read",
    "--allow-write",
    here("./file_store_latency.ts"),
    "--seconds",
    SECONDS,
    "--rounds",
    ROUNDS,
    "--baseline",
    earlier,
    "--json",
  ]);
  print(`\nA 1 ms timer's lateness while one store syncs, ${SECONDS} s per row`);
  printTable(latency);
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const summary: Row[] = [];
  for (const sync of ["message", "batch"]) {
    const of = (label: string, key: string) =>
      median(latency.filter((r) => r.store === `${label}, "${sync}"`).map((r) => Number(r[key])));
    const p99 = [of("previous store", "late p99 ms"), of("async path", "late p99 ms")];
    const rate = [of("previous store", "stored msg/s"), of("async path", "stored msg/s")];
    summary.push({
      sync,
      [`${REV} p99 ms`]: p99[0].toFixed(2),
      "now p99 ms": p99[1].toFixed(2),
      "p99 ratio": ratio(p99[0], p99[1]),
      [`${REV} msg/s`]: rate[0],
      "now msg/s": rate[1],
    });
  }
  print(`\nMedians of ${ROUNDS} rounds (timer alone: p99 ${latency[0]["late p99 ms"]} ms)`);
  printTable(summary);
} finally {
  await Deno.remove(tmp, { recursive: true });
}
