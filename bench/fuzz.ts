// The long fuzz run (issue 14): 10 million random and mutated messages through the framer, the
// decoder, the validator and a live SessionCore (see tests/fuzz/_harness.ts), printing inputs/s,
// the slowest input and the heap every million inputs, then every failure with its seed, block
// and index. Exits 1 on any failure.
//
//   deno task fuzz                          # 10M inputs, seed 20261124
//   deno task fuzz --inputs 1000000 --seed 7
//   deno task fuzz --seed 7 --replay 12:345 # trace block 12 up to input 345
//
// `deno task fuzz` exposes `gc` (--v8-flags=--expose-gc) so heap samples follow a full GC.

import { type FuzzReport, garbageStream, runFuzz } from "../tests/fuzz/_harness.ts";

const TEXT = new TextEncoder();

function out(line: string): void {
  Deno.stdout.writeSync(TEXT.encode(line + "\n"));
}

function arg(name: string): string | undefined {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Deno.args[i + 1] : undefined;
}

function mb(bytes: number): string {
  return `${(bytes / 1048576).toFixed(1)} MiB`;
}

function summary(r: FuzzReport): string {
  const s = r.elapsedMs / 1000;
  const heap = r.heap.at(-1)?.[1] ?? 0;
  return `${r.inputs.toLocaleString("en")} inputs in ${s.toFixed(1)} s ` +
    `(${Math.round(r.inputs / s).toLocaleString("en")}/s), slowest ${
      r.maxInputMs.toFixed(2)
    } ms, heap ${mb(heap)}, failures ${r.failures.reduce((n, f) => n + f.count, 0)}`;
}

async function main(): Promise<number> {
  const seed = Number(arg("seed") ?? 20261124);
  const inputs = Number(arg("inputs") ?? 10_000_000);
  const maxInputMs = Number(arg("max-ms") ?? 100);
  const replay = arg("replay");
  if (replay !== undefined) {
    const [block, index] = replay.split(":").map(Number);
    out(`replaying seed ${seed} block ${block} up to input ${index}`);
    const r = await runFuzz({
      seed,
      inputs: Number.MAX_SAFE_INTEGER,
      onlyBlock: block,
      untilIndex: index,
      maxInputMs: Infinity,
      trace: out,
    });
    for (const f of r.failures) {
      for (const e of f.examples) {
        out(`FAIL ${f.key} (block ${e.block} index ${e.index})\n  ${e.detail}\n  ${e.input}`);
      }
    }
    return r.failures.length > 0 ? 1 : 0;
  }
  out(
    `fuzz: seed ${seed}, ${inputs.toLocaleString("en")} inputs, ` +
      `bound ${maxInputMs} ms/input + ${maxInputMs} ms per MiB`,
  );
  const garbage = garbageStream(seed, 64 << 20, 65536);
  out(
    `framer fed ${mb(garbage.fed)} of garbage (MaxMessageSize 64 KiB): ${garbage.errors} errors, ` +
      `${garbage.frames} frames, largest buffer ${garbage.maxBuffered} bytes`,
  );
  let nextLine = 1_000_000;
  const report = await runFuzz({
    seed,
    inputs,
    maxInputMs,
    heapEvery: 100_000,
    onSample(r) {
      if (r.inputs >= nextLine) {
        out(summary(r));
        nextLine += 1_000_000;
      }
    },
  });
  out(`done: ${summary(report)}`);
  out(`slowest input: ${report.maxInputMs.toFixed(2)} ms at ${report.maxInputAt}`);
  out(`inputs over 10 ms: ${report.slowInputs}`);
  const heap = report.heap;
  const settled = heap.find(([n]) => n >= 1_000_000) ?? heap[0];
  const last = heap.at(-1)!;
  out(
    `heap: ${mb(heap[0][1])} at start, ${mb(settled[1])} at ${settled[0]} inputs, ` +
      `${mb(last[1])} at the end (growth ${mb(last[1] - settled[1])} since ${settled[0]}), ` +
      `max ${mb(Math.max(...heap.map(([, h]) => h)))}`,
  );
  out(`largest framer buffer after draining: ${report.maxBuffered} bytes`);
  out(`counters: ${JSON.stringify(report.counters)}`);
  out(`mutators: ${JSON.stringify(report.mutators)}`);
  for (const [key, n] of Object.entries(report.observations)) {
    out(`observation (${n}x): ${key}\n  e.g. ${report.observationExamples[key]}`);
  }
  const failures = report.failures.reduce((n, f) => n + f.count, 0) +
    (garbage.maxBuffered > 65536 ? 1 : 0);
  for (const f of report.failures) {
    out(`FAIL (${f.count}x): ${f.key}`);
    for (const e of f.examples) {
      out(
        `  seed ${e.seed} block ${e.block} index ${e.index} [${e.session}] ` +
          `mutators ${e.mutators.join(",") || "none"}; replay: deno task fuzz --seed ${e.seed} ` +
          `--replay ${e.block}:${e.index}\n  ${
            e.detail.split("\n").join("\n  ")
          }\n  input ${e.input}` +
          (e.inputBase64 ? `\n  base64 ${e.inputBase64}` : ""),
      );
    }
  }
  if (garbage.maxBuffered > 65536) {
    out(`FAIL: framer buffered ${garbage.maxBuffered} bytes of garbage (limit 65536)`);
  }
  out(failures === 0 ? "no failures" : `${failures} failing inputs`);
  return failures === 0 ? 0 : 1;
}

if (import.meta.main) Deno.exit(await main());
