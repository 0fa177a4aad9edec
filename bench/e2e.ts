// End-to-end benchmark: a fixwire initiator and a fixwire acceptor in a second process, over TCP
// on 127.0.0.1 with the default file store, NewOrderSingle -> ExecutionReport. Beside it, in the
// same run, a baseline: the same number of 170-byte messages echoed over a raw TCP socket by a
// second process, with no FIX at all.
// Run: deno run -A bench/e2e.ts [orders] [--memory] [--no-validation]
//   --memory         both engines keep sequence numbers and messages in memory (no file store)
//   --no-validation  both engines skip dictionary validation
//   --no-message-log both engines skip the message log (messages.log beside the file store)
// The switches show what the store and the validation cost in the same run.
import { FixEngine, FixMessage, FIXVersion, MemorySeqStoreFactory, SessionId } from "../mod.ts";

const SWITCHES = Deno.args.filter((a) => a.startsWith("--"));
const ARGS = Deno.args.filter((a) => !a.startsWith("--"));
const N = Number(ARGS[0] === "venue" || ARGS[0] === "echo" ? 0 : ARGS[0] ?? 100_000);

/** Engine options for the switches given. */
function engineOptions(
  dir: string,
  switches: string[],
  extra: Record<string, string | number> = {},
) {
  return {
    storeFactory: switches.includes("--memory") ? new MemorySeqStoreFactory() : undefined,
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
const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};
const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];

async function echoServer(): Promise<void> {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  print(String((l.addr as Deno.NetAddr).port));
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
    args: ["run", "-A", new URL(import.meta.url).pathname, mode, ...switches],
    stdout: "piped",
  }).spawn();
  const reader = proc.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let text = "";
  while (!text.includes("\n")) text += (await reader.read()).value ?? "";
  reader.releaseLock();
  return { port: Number(text.trim()), proc };
}

async function rawBaseline(): Promise<{ perSec: number; rttUs: number }> {
  const msg = new Uint8Array(170).fill(65);
  const { port, proc } = await child("echo");
  const c = await Deno.connect({ hostname: "127.0.0.1", port });
  c.setNoDelay(true);
  const buf = new Uint8Array(65536);
  const rtts: number[] = [];
  for (let i = 0; i < LAT; i++) {
    const t = performance.now();
    await c.write(msg);
    let got = 0;
    while (got < 170) got += (await c.read(buf)) ?? 0;
    rtts.push(performance.now() - t);
  }
  const t0 = performance.now();
  const batch = new Uint8Array(170 * 100);
  const writer = (async () => {
    for (let i = 0; i < N / 100; i++) {
      // A write may take part of the batch: send the rest before the next one.
      for (let off = 0; off < batch.length;) off += await c.write(batch.subarray(off));
    }
  })();
  let got = 0;
  while (got < 170 * N) got += (await c.read(buf)) ?? 0;
  await writer;
  const perSec = N / ((performance.now() - t0) / 1000);
  c.close();
  await proc.status;
  await proc.stdout.cancel().catch(() => {});
  return { perSec, rttUs: median(rtts) * 1000 };
}

async function venueServer(): Promise<void> {
  const dir = await Deno.makeTempDir();
  const server = new FixEngine(
    engineOptions(dir, SWITCHES, { ListenPort: 0, ListenAddress: "127.0.0.1" }),
  );
  const venue = server.createSession(new SessionId("V", "T"), "", FIXVersion.FIX44);
  let e = 0;
  const ended = Promise.withResolvers<void>();
  venue.setListener({
    onMessage: (o) => {
      venue.put(
        new FixMessage("8").set(37, "o").set(17, `${++e}`).set(11, o.get(11)!).set(150, "0")
          .set(39, "0").set(55, "EUR/USD").set(54, "1").set(151, 100).set(14, 0).set(6, 0),
      );
    },
    onEvent: (ev) => {
      if (ev.type === "logout") ended.resolve();
    },
  });
  await venue.connect();
  print(String(server.listenAddresses[0].port));
  await ended.promise;
  await server.stop();
  await Deno.remove(dir, { recursive: true });
}

/**
 * A fixwire initiator here and a fixwire acceptor in a child process: `lat` single order ->
 * report round trips, then `n` orders pipelined. `switches`: `--memory`, `--no-validation`.
 */
export async function fixwire(
  n = N,
  lat = LAT,
  switches = SWITCHES,
): Promise<{ perSec: number; rttUs: number }> {
  const dir = await Deno.makeTempDir();
  const { port, proc } = await child("venue", switches);
  const client = new FixEngine(engineOptions(`${dir}/b`, switches));
  const trader = client.createSession(new SessionId("T", "V"), "", FIXVersion.FIX44);
  let received = 0;
  let wake: (() => void) | undefined;
  trader.setListener({
    onMessage: () => {
      received++;
      wake?.();
    },
  });
  await trader.connect(30, "127.0.0.1", port);
  await trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  const order = (i: number) =>
    new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "EUR/USD").set(54, "1")
      .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "2").set(44, "1.08215");
  const rtts: number[] = [];
  for (let i = 0; i < lat; i++) {
    const t = performance.now();
    const target = received + 1;
    const done = new Promise<void>((r) => wake = () => received >= target && r());
    trader.put(order(i));
    await done;
    rtts.push(performance.now() - t);
  }
  wake = undefined;
  const start = received;
  const t0 = performance.now();
  const all = new Promise<void>((r) => wake = () => received - start >= n && r());
  for (let i = 0; i < n; i++) {
    trader.put(order(i));
    if (i % 100 === 99) await Promise.resolve();
  }
  await all;
  const perSec = n / ((performance.now() - t0) / 1000);
  await trader.disconnect("done");
  await client.stop();
  await proc.status;
  await proc.stdout.cancel().catch(() => {});
  await Deno.remove(dir, { recursive: true });
  return { perSec, rttUs: median(rtts) * 1000 };
}

if (import.meta.main && ARGS[0] === "echo") {
  await echoServer();
  Deno.exit(0);
}
if (import.meta.main && ARGS[0] === "venue") {
  await venueServer();
  Deno.exit(0);
}
if (import.meta.main) {
  const base = await rawBaseline();
  const fw = await fixwire();
  print(`orders=${N}, latency samples=${LAT} ${SWITCHES.join(" ")}`);
  print(
    `raw TCP echo (baseline): ${Math.round(base.perSec)} msgs/s, median RTT ${
      base.rttUs.toFixed(0)
    } us`,
  );
  print(
    `fixwire order->report:   ${Math.round(fw.perSec)} round trips/s, median RTT ${
      fw.rttUs.toFixed(0)
    } us`,
  );
  print(`ratio throughput fixwire/baseline: ${(fw.perSec / base.perSec).toFixed(3)}`);
  print(`ratio median RTT fixwire/baseline: ${(fw.rttUs / base.rttUs).toFixed(2)}`);
}
