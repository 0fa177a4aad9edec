// An acceptor for the seeds' scenario: TEST2 accepting TEST1, FIX.4.4, port 8901.
// It answers every NewOrderSingle with an ExecutionReport. Type `q` and Enter to quit.
//
// Run: deno run --allow-net --allow-read --allow-write examples/acceptor.ts
import {
  FixEngine,
  FixMessage,
  FIXVersion,
  lineLogger,
  MsgType,
  SessionId,
  Tag,
} from "@fixwire/engine";

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
    await session.put(
      new FixMessage(MsgType.ExecutionReport)
        .set(Tag.OrderID, `O-${++execId}`).set(Tag.ExecID, `E-${execId}`)
        .set(Tag.ClOrdID, order.get(Tag.ClOrdID) ?? "").set(Tag.ExecType, "0")
        .set(Tag.OrdStatus, "0").set(Tag.Symbol, order.get(Tag.Symbol) ?? "")
        .set(Tag.Side, order.get(Tag.Side) ?? "1").set(
          Tag.LeavesQty,
          order.get(Tag.OrderQty) ?? "0",
        )
        .set(Tag.CumQty, "0").set(Tag.AvgPx, "0"),
    );
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
