// The fixwire demo: an acceptor and an initiator in one process, on the default file storage,
// trading NewOrderSingle / ExecutionReport pairs over TCP on 127.0.0.1, with a forced
// disconnect, a reconnect with the gap resent, a graceful logout and a short summary.
//
// Run: deno task demo
import { FixEngine, type FixMessage, FIXVersion, MsgType, SessionId, Tag } from "@fixwire/engine";
import { executionReport, newOrderSingle, type SideValue } from "@fixwire/engine/fix44";

const ORDERS = 300;
const dir = await Deno.makeTempDir({ prefix: "fixwire-demo-" });
const started = performance.now();

await using acceptorEngine = new FixEngine({
  // The default logger writes timestamped lines to stderr; the demo shows warnings only.
  config: {
    ListenPort: 0,
    ListenAddress: "127.0.0.1",
    LogDirectory: `${dir}/acceptor`,
    LogLevel: "warn",
  },
});
await using initiatorEngine = new FixEngine({
  config: {
    LogDirectory: `${dir}/initiator`,
    "Reconnect.Interval": 100,
    "Reconnect.MaxTries": 5,
    LogLevel: "warn",
  },
});

// The venue: answers every order with an ExecutionReport.
let execId = 0;
let reportsSent = 0;
const venue = acceptorEngine.createSession(
  new SessionId("TEST2", "TEST1"),
  "FIX44",
  FIXVersion.FIX44,
);
venue.setListener({
  onMessage: async (order) => {
    if (order.msgType !== MsgType.NewOrderSingle) return;
    await venue.put(executionReport({
      orderID: `O-${order.get(Tag.ClOrdID)}`,
      execID: `E-${++execId}`,
      clOrdID: order.get(Tag.ClOrdID),
      execType: "0",
      ordStatus: "0",
      symbol: order.get(Tag.Symbol),
      side: order.get(Tag.Side) as SideValue, // checked against FIX.4.4 on the way in
      leavesQty: order.getFloat(Tag.OrderQty) ?? 0,
      cumQty: 0,
      avgPx: 0,
    }));
    reportsSent++;
  },
});
await venue.connect();
const port = acceptorEngine.listenAddresses[0].port;

// The trader.
const reports = new Set<string>();
let duplicates = 0;
let possDups = 0;
let hold: Promise<void> | undefined;
const trader = initiatorEngine.createSession(
  new SessionId("TEST1", "TEST2"),
  "FIX44",
  FIXVersion.FIX44,
);
trader.setListener({
  onMessage: async (report) => {
    if (hold) await hold; // the trading application stalls...
    if (report.get(Tag.PossDupFlag) === "Y") possDups++;
    const id = report.get(Tag.ClOrdID)!;
    if (reports.has(id)) duplicates++;
    reports.add(id);
  },
});
await trader.connect(30, "127.0.0.1", port);
await trader.waitFor("established", { signal: AbortSignal.timeout(10_000) });

function order(i: number): FixMessage {
  return newOrderSingle({
    clOrdID: `ord-${i}`,
    handlInst: "1",
    symbol: "EUR/USD",
    side: i % 2 ? "1" : "2",
    transactTime: new Date(),
    orderQty: "1000",
    ordType: "2",
    price: "1.08215",
  });
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 15_000;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`Demo timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

// First half.
for (let i = 1; i <= ORDERS / 2; i++) trader.put(order(i));
await until(() => reports.size === ORDERS / 2, "the first half of the reports");
// Second half, with the link failing while execution reports are in flight: the trader's
// application stalls, the venue sends every report, then the trader's link drops with reports
// still unread. The initiator reconnects, detects the gap and gets the reports resent.
const stall = Promise.withResolvers<void>();
hold = stall.promise;
for (let i = ORDERS / 2 + 1; i <= ORDERS; i++) trader.put(order(i));
await until(() => reportsSent === ORDERS, "the venue to send every report");
trader.dropConnection("demo: network failure");
hold = undefined;
stall.resolve();
await until(() => reports.size === ORDERS, "every report after the reconnect");

await trader.disconnect("end of demo");
const ms = Math.round(performance.now() - started);
const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};
print(`fixwire demo: ${ORDERS} orders, ${reports.size} execution reports in ${ms} ms`);
print(`  forced disconnect and reconnect: ${possDups} reports resent with PossDupFlag`);
print(`  duplicates seen by the application: ${duplicates}`);
print(
  `  trader next sequence numbers: out ${trader.nextSenderSeqNum}, in ${trader.nextTargetSeqNum}`,
);
print(`  final state: ${trader.state}`);
// Stop both engines (their stores close) before their folder goes.
await initiatorEngine.stop();
await acceptorEngine.stop();
await Deno.remove(dir, { recursive: true });
