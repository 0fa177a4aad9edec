// An acceptor for the seeds' scenario: TEST2 accepting TEST1, FIX.4.4, port 8901.
// It answers every NewOrderSingle with an ExecutionReport. Type `q` and Enter to quit.
//
// Run: deno run --allow-net --allow-read --allow-write examples/acceptor.ts
import { FixEngine, FIXVersion, lineLogger, MsgType, SessionId, Tag } from "@fixwire/engine";
import { executionReport, type SideValue } from "@fixwire/engine/fix44";

const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};

await using engine = new FixEngine({
  config: { ListenPort: 8901, LogDirectory: "./fixwire-store/acceptor" },
  logger: lineLogger(print, "info"),
});
const session = engine.createSession(new SessionId("TEST2", "TEST1"), "FIX44", FIXVersion.FIX44);
let execId = 0;
session.setListener({
  onMessage: async (order) => {
    print(`received ${order.msgType} ClOrdID=${order.get(Tag.ClOrdID)}`);
    if (order.msgType !== MsgType.NewOrderSingle) return;
    // Typed: leaving out a field FIX.4.4 requires (Side, LeavesQty...) does not compile.
    await session.put(executionReport({
      orderID: `O-${++execId}`,
      execID: `E-${execId}`,
      clOrdID: order.get(Tag.ClOrdID),
      execType: "0", // New
      ordStatus: "0",
      symbol: order.get(Tag.Symbol),
      // The order passed the FIX.4.4 dictionary's checks: its Side is one of FIX.4.4's.
      side: order.get(Tag.Side) as SideValue,
      leavesQty: order.getFloat(Tag.OrderQty) ?? 0,
      cumQty: 0,
      avgPx: 0,
    }));
  },
  onEvent: (e) => {
    if (e.type === "stateChanged") print(`state: ${e.from} -> ${e.to}`);
  },
});
await session.connect();
print("acceptor TEST2 listening on port 8901; type q to quit");
for await (const line of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  if (line.trim() === "q") break;
}
