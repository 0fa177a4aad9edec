// An initiator for the seeds' scenario: TEST1 connecting to TEST2 on 127.0.0.1:8901, FIX.4.4.
// Each line typed sends a NewOrderSingle for that symbol; `q` logs out and quits.
//
// Run: deno run --allow-net --allow-read --allow-write examples/initiator.ts
import { FixEngine, FIXVersion, lineLogger, SessionId, Tag } from "@fixwire/engine";
import { newOrderSingle } from "@fixwire/engine/fix44";

const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};

await using engine = new FixEngine({
  config: { LogDirectory: "./fixwire-store/initiator", "Reconnect.MaxTries": -1 },
  logger: lineLogger(print, "info"),
});
const session = engine.createSession(new SessionId("TEST1", "TEST2"), "FIX44", FIXVersion.FIX44);
session.setListener({
  onMessage: (m) => print(`received ${m.msgType} ClOrdID=${m.get(Tag.ClOrdID)}`),
  onEvent: (e) => {
    if (e.type === "stateChanged") print(`state: ${e.from} -> ${e.to}`);
  },
});
await session.connect(30, "127.0.0.1", 8901);
print("type a symbol and Enter to send an order, q to quit");
let n = 0;
for await (const chunk of Deno.stdin.readable.pipeThrough(new TextDecoderStream())) {
  for (const line of chunk.split("\n").map((l) => l.trim()).filter(Boolean)) {
    if (line === "q") {
      await session.disconnect("user quit");
      Deno.exit(0);
    }
    const order = newOrderSingle({
      clOrdID: `ord-${Date.now()}-${++n}`,
      handlInst: "1",
      symbol: line,
      side: "1", // Buy
      transactTime: new Date(),
      orderQty: 100,
      ordType: "1", // Market
    });
    session.put(order).catch((e) => print(`order not sent: ${e.message}`));
  }
}
