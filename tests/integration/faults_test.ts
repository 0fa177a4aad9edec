// Sessions over a transport that drops, delays, reorders and splits chunks (seeded, so every run
// injects the same faults): the session layer recovers (garbled messages ignored, gaps asked
// for and resent) and nothing persisted is lost; a connection reset mid-message is survived by
// reconnecting with the stored numbers.
import assert from "node:assert/strict";
import { SystemClock } from "../../src/clock.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import { FaultyTransport, MemoryTransport } from "../../src/testing.ts";
import type { FaultOptions } from "../../src/testing.ts";
import { Inbox } from "../engine/_waits.ts";

const ORDERS = 300;

function order(i: number): FixMessage {
  return new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 1).set(40, "1");
}

async function run(faults: FaultOptions & { sides?: "both" | "connected" | "accepted" }) {
  const dir = await Deno.makeTempDir();
  const inner = new MemoryTransport();
  const transport = new FaultyTransport(inner, { clock: new SystemClock(), ...faults });
  const common = { HeartbeatInterval: 1, "Reconnect.Interval": 50, LogLevel: "off" };
  const venueEngine = new FixEngine({
    transport,
    config: { ListenPort: 0, ListenAddress: "127.0.0.1", LogDirectory: `${dir}/v`, ...common },
  });
  const traderEngine = new FixEngine({
    transport,
    config: { LogDirectory: `${dir}/t`, ...common },
  });
  const orders = new Inbox();
  const reports = new Inbox();
  try {
    const venue = venueEngine.createSession(new SessionId("V", "T"), "", FIXVersion.FIX44);
    venue.setListener({
      onMessage: (m) => {
        orders.push(m);
        return venue.put(
          new FixMessage("8").set(37, "o").set(17, `e${orders.messages.length}`)
            .set(11, m.get(11)!).set(150, "0").set(39, "0").set(55, "X").set(54, "1")
            .set(151, 1).set(14, 0).set(6, 0),
        );
      },
    });
    await venue.connect();
    const trader = traderEngine.createSession(new SessionId("T", "V"), "", FIXVersion.FIX44);
    trader.setListener({ onMessage: reports.push });
    await trader.connect(1, "127.0.0.1", venueEngine.listenAddresses[0].port);
    // Orders are put whatever the state (late delivery covers the reconnects).
    for (let i = 0; i < ORDERS; i++) await trader.put(order(i));
    const all = (ids: string[]) => new Set(ids).size;
    const deadline = AbortSignal.timeout(30_000);
    while (all(reports.ids) < ORDERS) {
      await reports.waitFor(reports.messages.length + 1, { signal: deadline });
    }
    // Every order reached the venue's application and was answered; repeats only as PossDup.
    assert.equal(all(orders.ids), ORDERS);
    for (const list of [orders.messages, reports.messages]) {
      const seen = new Set<string>();
      for (const m of list) {
        const id = m.get(11)!;
        if (seen.has(id)) assert.equal(m.get(43), "Y", `repeat of ${id} without PossDupFlag`);
        seen.add(id);
      }
    }
    return transport.connections.flatMap((c) => c.faults).length;
  } finally {
    await traderEngine.stop();
    await venueEngine.stop();
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("faults: dropped, delayed, reordered and split chunks; every order answered, none lost", async () => {
  const faults = await run({
    seed: 7,
    dropRate: 0.01,
    reorderRate: 0.01,
    splitRate: 0.2,
    delayRate: 0.02,
    delayMs: 20,
  });
  assert.ok(faults > 10, `${faults} faults injected`);
});

Deno.test("faults: a connection reset mid-message; the session reconnects and loses nothing", async () => {
  const faults = await run({ seed: 3, resetAfterBytes: 6_000, sides: "connected" });
  assert.ok(faults >= 1, `${faults} faults injected`);
});
