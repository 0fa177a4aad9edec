// End-to-end benchmark: a fixwire initiator and a fixwire acceptor in a second process, over TCP
// on 127.0.0.1 with the default file store, NewOrderSingle -> ExecutionReport. Beside it, in the
// same run, a baseline: the same number of 170-byte messages echoed over a raw TCP socket by a
// second process, with no FIX at all.
// Run: deno run -A bench/e2e.ts [orders] [--memory | --kv] [--no-validation] [--no-message-log]
//        [--warmup=N] [--samples=N] [--json [--raw]] [--dump=FILE]
//   --memory         both engines keep sequence numbers and messages in memory (no file store)
//   --kv             both engines keep them in Deno KV (each its own database in its temp dir)
//   --no-validation  both engines skip dictionary validation
//   --no-message-log both engines skip the message log (messages.log beside the file store)
//   --warmup=N       N single round trips first, not measured (default 0)
//   --samples=N      N single order -> report round trips measured, one at a time (default 2000)
//   --json           only the fixwire pair (with --raw: only the raw TCP echo), one JSON line:
//                    {"perSec", "p50Us", "p99Us", "p999Us", "samples"}; orders may be 0
//   --dump=FILE      with --json: each measured round trip's start (ms, performance.now()) and
//                    length (µs) to FILE, one per line; each process prints its pid and time
//                    origin to stderr (`fixwire-bench-origin=<pid> <ms>`), to place V8's GC
//                    traces among them (bench/tail_causes.ts)
// The switches show what the store and the validation cost in the same run. The acceptor answers
// as the QuickFIX interop peer does (tests/interop/peer), for bench/vs_quickfix.ts.
import {
  FixEngine,
  FixMessage,
  FIXVersion,
  MemorySeqStoreFactory,
  numberToFixText,
  SessionId,
} from "../mod.ts";
import type { SeqStoreFactory } from "../src/store.ts";
import { KvSeqStoreFactory } from "../adapters/kv_store.ts";

const SWITCHES = Deno.args.filter((a) => a.startsWith("--"));
const ARGS = Deno.args.filter((a) => !a.startsWith("--"));
const N = Number(ARGS[0] === "venue" || ARGS[0] === "echo" ? 0 : ARGS[0] ?? 100_000);

/** The value of a `--name=value` switch. */
function switchValue(switches: string[], name: string): number | undefined {
  const s = switches.find((a) => a.startsWith(`--${name}=`));
  return s === undefined ? undefined : Number(s.slice(name.length + 3));
}

/** The `--dump=FILE` switch's file, if given. */
const DUMP = SWITCHES.find((a) => a.startsWith("--dump="))?.slice("--dump=".length);

/** With `--dump`: this process's pid and time origin on stderr (see the header). */
function printOrigin(): void {
  if (DUMP === undefined) return;
  Deno.stderr.writeSync(
    new TextEncoder().encode(`fixwire-bench-origin=${Deno.pid} ${performance.timeOrigin}\n`),
  );
}

/** With `--dump`: writes each round trip's start (ms) and length (µs), one per line. */
function dumpRoundTrips(starts: Float64Array, rttsMs: Float64Array): void {
  if (DUMP === undefined) return;
  const lines: string[] = [];
  for (let i = 0; i < rttsMs.length; i++) {
    lines.push(`${starts[i].toFixed(3)} ${(rttsMs[i] * 1000).toFixed(1)}`);
  }
  Deno.writeTextFileSync(DUMP, lines.join("\n") + "\n");
}

/** A store for the switches given (`undefined`: the file store) and what closes it. */
async function storeFor(
  dir: string,
  switches: string[],
): Promise<{ factory?: SeqStoreFactory; close: () => void }> {
  if (switches.includes("--memory")) return { factory: new MemorySeqStoreFactory(), close() {} };
  if (!switches.includes("--kv")) return { close() {} };
  await Deno.mkdir(dir, { recursive: true });
  const kv = await Deno.openKv(`${dir}/store.kv`);
  return { factory: new KvSeqStoreFactory(kv), close: () => kv.close() };
}

/** Engine options for the switches given. */
function engineOptions(
  dir: string,
  switches: string[],
  storeFactory: SeqStoreFactory | undefined,
  extra: Record<string, string | number> = {},
) {
  return {
    storeFactory,
    config: {
      LogDirectory: dir,
      LogLevel: "warn",
      "Validation.IsEnabled": !switches.includes("--no-validation"),
      ...(switches.includes("--no-message-log") ? { MessageLog: false } : {}),
      ...extra,
    },
  };
}
const LAT = 2_000;
/** What a child prints before its port, in one write: see `child()`. */
const PORT_MARK = "fixwire-bench-port=";
const PORT_RE = new RegExp(`${PORT_MARK}(\\d+)\\n`);
const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};

/** Round trip figures: the median and the tail, in microseconds, over `samples`. */
export interface RoundTrips {
  /** Pipelined round trips per second (0 when none were sent). */
  perSec: number;
  p50Us: number;
  p99Us: number;
  p999Us: number;
  samples: number;
}

/**
 * Where the nearest-rank percentile `q` of `n` values lies: the ceil(q * n)-th smallest, 1-based
 * (the QuickFIX peer's rule too).
 */
export function rankOf(n: number, q: number): number {
  return Math.min(n, Math.max(1, Math.ceil(q * n)));
}

/** The nearest-rank percentile `q` of values sorted in ascending order (0 when there are none). */
export function rank(sorted: number[], q: number): number {
  return sorted.length === 0 ? 0 : sorted[rankOf(sorted.length, q) - 1];
}

function roundTrips(perSec: number, rttsMs: Float64Array): RoundTrips {
  const sorted = Array.from(rttsMs, (ms) => ms * 1000).sort((a, b) => a - b);
  return {
    perSec,
    p50Us: rank(sorted, 0.5),
    p99Us: rank(sorted, 0.99),
    p999Us: rank(sorted, 0.999),
    samples: sorted.length,
  };
}

/**
 * The order the QuickFIX peer sends (bench/codec_rows.ts encodes the same one). Numbered IDs are
 * made with numberToFixText: a template literal (`o${i}`) would put each new number in V8's
 * number-to-string cache, where its string outlives the message and every young GC copies it
 * (see docs/performance.md).
 */
export function benchOrder(i: number): FixMessage {
  return new FixMessage("D").set(11, "o" + numberToFixText(i)).set(21, "1").set(55, "EUR/USD")
    .set(54, "1").set(60, "20261124-10:00:00.000").set(38, 100).set(40, "2").set(44, "1.08215");
}

/** The report the QuickFIX peer answers an order with: its ClOrdID, Symbol, Side and quantity. */
export function benchReport(order: FixMessage, execId: number): FixMessage {
  const clOrdId = order.get(11)!;
  return new FixMessage("8").set(37, `O-${clOrdId}`).set(17, "E-" + numberToFixText(execId))
    .set(11, clOrdId).set(150, "0").set(39, "0").set(55, order.get(55) ?? "X")
    .set(54, order.get(54) ?? "1").set(151, order.get(38) ?? "0").set(14, "0").set(6, "0");
}

async function echoServer(): Promise<void> {
  printOrigin();
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  print(`${PORT_MARK}${(l.addr as Deno.NetAddr).port}`);
  const c = await l.accept();
  c.setNoDelay(true);
  const buf = new Uint8Array(65536);
  for (;;) {
    const n = await c.read(buf);
    if (n === null) break;
    let off = 0;
    while (off < n) off += await c.write(buf.subarray(off, n));
  }
  c.close();
  l.close();
}

async function child(
  mode: string,
  switches = SWITCHES,
): Promise<{ port: number; proc: Deno.ChildProcess }> {
  const proc = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", new URL(import.meta.url).pathname, mode, ...switches],
    stdout: "piped",
  }).spawn();
  // The port comes after `PORT_MARK`, in one write of its own. V8's traces
  // (DENO_V8_FLAGS=--trace-gc-nvp) go to the same stdout through C's buffered stdio, flushed in
  // blocks that may end mid-line, so the mark is looked for anywhere in the text rather than as a
  // line; everything else is copied to stderr so the child never blocks on a full pipe.
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const enc = new TextEncoder();
  let text = "";
  let port: number | undefined;
  while (port === undefined) {
    const { value, done } = await reader.read();
    if (done) {
      Deno.stderr.writeSync(enc.encode(text));
      throw new Error(`bench child "${mode}" ended before printing its port`);
    }
    text += value;
    const m = PORT_RE.exec(text);
    if (m === null) continue;
    port = Number(m[1]);
    Deno.stderr.writeSync(enc.encode(text.slice(0, m.index)));
    text = text.slice(m.index + m[0].length);
  }
  const rest = text;
  (async () => {
    if (rest) Deno.stderr.writeSync(enc.encode(rest));
    for (let r = await reader.read(); !r.done; r = await reader.read()) {
      Deno.stderr.writeSync(enc.encode(r.value));
    }
  })();
  return { port, proc };
}

/**
 * Arrays for `warmup` + `lat` round trips, made before them (a growing array would be copied by
 * young GCs as it grows), and views of the last `lat`. Every round trip is recorded, the warm-up
 * ones too: a loop that starts recording only after its warm-up runs code its optimized version
 * has never seen, and V8 deoptimizes and recompiles it inside the measured round trips.
 */
function roundTripArrays(warmup: number, lat: number) {
  const all = new Float64Array(warmup + lat);
  const allStarts = new Float64Array(warmup + lat);
  return { all, allStarts, rtts: all.subarray(warmup), starts: allStarts.subarray(warmup) };
}

/**
 * Raw TCP to an echo process: `warmup` + `lat` single 170-byte round trips, then `n` messages
 * pipelined.
 */
async function rawBaseline(n = N, lat = LAT, warmup = 0): Promise<RoundTrips> {
  const msg = new Uint8Array(170).fill(65);
  const { port, proc } = await child("echo");
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  c.setNoDelay(true);
  const buf = new Uint8Array(65536);
  const { rtts, starts, all, allStarts } = roundTripArrays(warmup, lat);
  printOrigin();
  for (let i = 0; i < warmup + lat; i++) {
    const t = performance.now();
    await c.write(msg);
    let got = 0;
    while (got < 170) got += (await c.read(buf)) ?? 0;
    all[i] = performance.now() - t;
    allStarts[i] = t;
  }
  dumpRoundTrips(starts, rtts);
  const t0 = performance.now();
  const batch = new Uint8Array(170 * 100);
  const writer = (async () => {
    for (let i = 0; i < n / 100; i++) {
      // A write may take part of the batch: send the rest before the next one.
      for (let off = 0; off < batch.length;) off += await c.write(batch.subarray(off));
    }
  })();
  let got = 0;
  while (got < 170 * Math.ceil(n / 100) * 100) got += (await c.read(buf)) ?? 0;
  await writer;
  const perSec = n === 0 ? 0 : n / ((performance.now() - t0) / 1000);
  c.close();
  await proc.status;
  await proc.stdout.cancel().catch(() => {});
  return roundTrips(perSec, rtts);
}

async function venueServer(): Promise<void> {
  printOrigin();
  const dir = await Deno.makeTempDir();
  const store = await storeFor(dir, SWITCHES);
  const server = new FixEngine(
    engineOptions(dir, SWITCHES, store.factory, { ListenPort: 0, ListenAddress: "127.0.0.1" }),
  );
  const venue = server.createSession(new SessionId("V", "T"), "", FIXVersion.FIX44);
  let e = 0;
  const ended = Promise.withResolvers<void>();
  venue.setListener({
    onMessage: (o) => {
      venue.put(benchReport(o, ++e));
    },
    onEvent: (ev) => {
      if (ev.type === "logout") ended.resolve();
    },
  });
  await venue.connect();
  print(`${PORT_MARK}${server.listenAddresses[0].port}`);
  await ended.promise;
  await server.stop();
  store.close();
  await Deno.remove(dir, { recursive: true });
}

/**
 * A fixwire initiator here and a fixwire acceptor in a child process: `warmup` + `lat` single
 * order -> report round trips, then `n` orders pipelined. `switches`: `--memory`, `--kv`,
 * `--no-validation`, `--no-message-log`.
 */
export async function fixwire(
  n = N,
  lat = LAT,
  switches = SWITCHES,
  warmup = 0,
): Promise<RoundTrips> {
  const dir = await Deno.makeTempDir();
  const { port, proc } = await child("venue", switches);
  const store = await storeFor(`${dir}/b`, switches);
  const client = new FixEngine(engineOptions(`${dir}/b`, switches, store.factory));
  const trader = client.createSession(new SessionId("T", "V"), "", FIXVersion.FIX44);
  let received = 0;
  let wake: (() => void) | undefined;
  // The round trips wait as the raw ping-pong does, with one promise each and no closure: the
  // report resolves it once `received` reaches `target` (a closure per round trip added about
  // 300 bytes of garbage to each, counted against fixwire's young GCs).
  let target = 0;
  let reported: (() => void) | undefined;
  const awaitReport = (resolve: () => void) => {
    reported = resolve;
  };
  trader.setListener({
    onMessage: () => {
      received++;
      if (reported !== undefined && received >= target) {
        const r = reported;
        reported = undefined;
        r();
      }
      wake?.();
    },
  });
  await trader.connect(30, "127.0.0.1", port);
  await trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  const { rtts, starts, all, allStarts } = roundTripArrays(warmup, lat);
  printOrigin();
  for (let i = 0; i < warmup + lat; i++) {
    const t = performance.now();
    target = received + 1;
    const done = new Promise<void>(awaitReport);
    trader.put(benchOrder(i));
    await done;
    all[i] = performance.now() - t;
    allStarts[i] = t;
  }
  dumpRoundTrips(starts, rtts);
  wake = undefined;
  let perSec = 0;
  if (n > 0) {
    const start = received;
    const t0 = performance.now();
    const all = new Promise<void>((r) => wake = () => received - start >= n && r());
    for (let i = 0; i < n; i++) {
      trader.put(benchOrder(i));
      if (i % 100 === 99) await Promise.resolve();
    }
    await all;
    perSec = n / ((performance.now() - t0) / 1000);
  }
  await trader.disconnect("done");
  await client.stop();
  store.close();
  await proc.status;
  await proc.stdout.cancel().catch(() => {});
  await Deno.remove(dir, { recursive: true });
  return roundTrips(perSec, rtts);
}

if (import.meta.main && ARGS[0] === "echo") {
  await echoServer();
  Deno.exit(0);
}
if (import.meta.main && ARGS[0] === "venue") {
  await venueServer();
  Deno.exit(0);
}
if (import.meta.main && SWITCHES.includes("--json")) {
  const samples = switchValue(SWITCHES, "samples") ?? LAT;
  const warmup = switchValue(SWITCHES, "warmup") ?? 0;
  const result = SWITCHES.includes("--raw")
    ? await rawBaseline(N, samples, warmup)
    : await fixwire(N, samples, SWITCHES, warmup);
  print(JSON.stringify(result));
} else if (import.meta.main) {
  const samples = switchValue(SWITCHES, "samples") ?? LAT;
  const warmup = switchValue(SWITCHES, "warmup") ?? 0;
  const base = await rawBaseline(N, samples, warmup);
  const fw = await fixwire(N, samples, SWITCHES, warmup);
  print(`orders=${N}, latency samples=${samples} ${SWITCHES.join(" ")}`);
  print(
    `raw TCP echo (baseline): ${Math.round(base.perSec)} msgs/s, median RTT ${
      base.p50Us.toFixed(0)
    } us`,
  );
  print(
    `fixwire order->report:   ${Math.round(fw.perSec)} round trips/s, median RTT ${
      fw.p50Us.toFixed(0)
    } us`,
  );
  print(`ratio throughput fixwire/baseline: ${(fw.perSec / base.perSec).toFixed(3)}`);
  print(`ratio median RTT fixwire/baseline: ${(fw.p50Us / base.p50Us).toFixed(2)}`);
}
