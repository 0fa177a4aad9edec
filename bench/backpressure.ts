// Backpressure (issue 15): how fast an application can send when it follows put()'s promises,
// and that it never meets OutgoingBufferFullError. Two engines in this process over TCP on
// 127.0.0.1, the default file store, NewOrderSingle one way. In the same run:
//   batched   put() 100 at a time, awaiting the last of each hundred (the fastest pattern)
//   awaited   await put() for every order
//   flooding  put() every order without awaiting any (before backpressure, a loop of 500,000
//             went over MaxOutgoingBufferSize and the process died of the rejections)
// Run: deno run -A bench/backpressure.ts [orders=1000000] [--memory]
import {
  FixEngine,
  FixMessage,
  FIXVersion,
  MemorySeqStoreFactory,
  OutgoingBufferFullError,
  SessionId,
} from "../mod.ts";

const N = Number(Deno.args.find((a) => !a.startsWith("--")) ?? 1_000_000);
const memory = Deno.args.includes("--memory");
const print = (s: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(s + "\n"));
};
const dir = await Deno.makeTempDir();
const options = (sub: string, extra: Record<string, string | number> = {}) => ({
  storeFactory: memory ? new MemorySeqStoreFactory() : undefined,
  config: { LogDirectory: `${dir}/${sub}`, LogLevel: "warn", MessageLog: false, ...extra },
});
const server = new FixEngine(options("venue", { ListenPort: 0, ListenAddress: "127.0.0.1" }));
const venue = server.createSession(new SessionId("V", "T"), "", FIXVersion.FIX44);
let received = 0;
let wake: (() => void) | undefined;
venue.setListener({
  onMessage: () => {
    received++;
    wake?.();
  },
});
await venue.connect();
const client = new FixEngine(options("trader"));
const trader = client.createSession(new SessionId("T", "V"), "", FIXVersion.FIX44);
await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
await trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
const order = (i: number) =>
  new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "EUR/USD").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 100).set(40, "2").set(44, "1.08215");

let errors = 0;
const count = (e: unknown) => {
  if (e instanceof OutgoingBufferFullError) errors++;
  else throw e;
};

async function run(n: number, mode: "batched" | "awaited" | "flooding"): Promise<number> {
  const start = received;
  const all = new Promise<void>((r) => wake = () => received - start >= n && r());
  const t0 = performance.now();
  for (let i = 0; i < n; i++) {
    if (mode === "awaited") await trader.put(order(i)).catch(count);
    else {
      const p = trader.put(order(i)).catch(count);
      if (mode === "batched" && i % 100 === 99) await p;
    }
  }
  await all;
  return n / ((performance.now() - t0) / 1000);
}

await run(20_000, "batched");
const batched = await run(N, "batched");
const awaited = await run(N, "awaited");
const flooding = await run(N, "flooding");
print(`orders=${N}${memory ? " --memory" : ""}`);
print(`batched (await every 100th): ${Math.round(batched)} orders/s`);
print(
  `awaited (await every put):   ${Math.round(awaited)} orders/s, ${
    (awaited / batched).toFixed(2)
  }x batched`,
);
print(
  `flooding (await none):       ${Math.round(flooding)} orders/s, ${
    (flooding / batched).toFixed(2)
  }x batched`,
);
print(`OutgoingBufferFullError: ${errors}`);
await trader.disconnect("done");
await client.stop();
await server.stop();
await Deno.remove(dir, { recursive: true });
if (errors > 0) Deno.exit(1);
