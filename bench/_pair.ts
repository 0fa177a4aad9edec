// Private to bench/: two fixwire engines in this process trading bench/e2e.ts's order and report,
// and the raw TCP ping-pong they are measured against.
import { FixEngine, type FixMessage, FIXVersion, SessionId } from "../mod.ts";
import type { SeqStoreFactory } from "../src/store.ts";
import { benchOrder, benchReport } from "./e2e.ts";

/** An initiator and an acceptor in this process, established. */
export interface InProcessPair {
  /** Puts order `i` and resolves when its report arrived. */
  roundTrip(i: number): Promise<void>;
  /** Logs out, stops both engines and removes their files. */
  close(): Promise<void>;
}

/**
 * Two engines over TCP on 127.0.0.1, the latency rows' settings (bench/vs_quickfix.ts): file
 * stores unless `storeFactory` is given, no validation, no message log. The acceptor answers
 * each order with a report (bench/e2e.ts's unless `order` and `report` are given); a round trip
 * waits as bench/e2e.ts does, with one promise each and no closure.
 */
export async function inProcessPair(
  options: {
    storeFactory?: SeqStoreFactory;
    order?: (i: number) => FixMessage;
    report?: (order: FixMessage, execId: number) => FixMessage;
  } = {},
): Promise<InProcessPair> {
  const order = options.order ?? benchOrder;
  const report = options.report ?? benchReport;
  const dir = await Deno.makeTempDir();
  const engineOptions = (sub: string, extra: Record<string, string | number> = {}) => ({
    storeFactory: options.storeFactory,
    config: {
      LogDirectory: `${dir}/${sub}`,
      LogLevel: "warn",
      MessageLog: false,
      "Validation.IsEnabled": false,
      ...extra,
    },
  });
  const server = new FixEngine(
    engineOptions("v", { ListenPort: 0, ListenAddress: "127.0.0.1" }),
  );
  const venue = server.createSession(new SessionId("V", "T"), "", FIXVersion.FIX44);
  let e = 0;
  venue.setListener({ onMessage: (o) => void venue.put(report(o, ++e)) });
  await venue.connect();
  const client = new FixEngine(engineOptions("t"));
  const trader = client.createSession(new SessionId("T", "V"), "", FIXVersion.FIX44);
  let reported: (() => void) | undefined;
  const awaitReport = (resolve: () => void) => reported = resolve;
  trader.setListener({
    onMessage: () => {
      const r = reported;
      reported = undefined;
      r?.();
    },
  });
  await trader.connect(30, "127.0.0.1", server.listenAddresses[0].port);
  await trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });
  return {
    roundTrip(i: number): Promise<void> {
      const done = new Promise<void>(awaitReport);
      trader.put(order(i));
      return done;
    },
    async close(): Promise<void> {
      await trader.disconnect("done");
      await client.stop();
      await server.stop();
      await Deno.remove(dir, { recursive: true });
    },
  };
}

/** A raw TCP ping-pong in this process: 170 bytes written, echoed back, read. */
export interface InProcessEcho {
  /** One write and its echo read back. */
  roundTrip(): Promise<void>;
  /** Closes both ends and the listener. */
  close(): Promise<void>;
}

/** The raw baseline of bench/e2e.ts, both ends in this process over TCP on 127.0.0.1. */
export async function inProcessEcho(): Promise<InProcessEcho> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const echo = (async () => {
    const c = await listener.accept();
    c.setNoDelay(true);
    const buf = new Uint8Array(65536);
    for (let n = await c.read(buf); n !== null; n = await c.read(buf)) {
      for (let off = 0; off < n;) off += await c.write(buf.subarray(off, n));
    }
    c.close();
  })();
  const c = await Deno.connect({
    hostname: "127.0.0.1",
    port: (listener.addr as Deno.NetAddr).port,
  });
  c.setNoDelay(true);
  const msg = new Uint8Array(170).fill(65);
  const buf = new Uint8Array(65536);
  return {
    async roundTrip(): Promise<void> {
      await c.write(msg);
      for (let got = 0; got < 170;) got += (await c.read(buf)) ?? 0;
    },
    async close(): Promise<void> {
      c.close();
      await echo;
      listener.close();
    },
  };
}
