// A counterparty for the handler crash test: an initiator on a file store whose onMessage
// handler answers each order (35=D) with an ExecutionReport (35=8) only after an asynchronous
// wait, as an application that checks a risk service or a database first.
// Args: <port> <storeDir> <hold|final> [holdAt]
// - hold: the holdAt-th order handled in this run waits until the parent kills the process;
//   every handler prints "handling <ClOrdID> <MsgSeqNum>" before its first await; the held one
//   prints "holding <ClOrdID> <MsgSeqNum>" after a first await of 20 ms, then awaits a timer of
//   a minute.
// - final: answers everything; once the order with ClOrdID "final" is answered, logs out and
//   exits with code 0.
import { FixMessage } from "../../mod.ts";
import { childSession, say } from "./_child_setup.ts";

const [port, dir, mode, holdAtArg] = Deno.args;
const holdAt = mode === "hold" ? Number(holdAtArg) : 0;
const { engine, session } = childSession(dir);
const finalAnswered = Promise.withResolvers<void>();
let handled = 0;

session.setListener({
  onMessage: async (m) => {
    if (m.msgType !== "D") return;
    const id = m.get(11)!;
    handled++;
    if (handled === holdAt) {
      // A first awaited step, then the line: whatever the engine does while a handler awaits
      // (today: it records the MsgSeqNum) has had time to reach the store before the kill.
      await new Promise((r) => setTimeout(r, 20));
      say(`holding ${id} ${m.get(34)}`);
      // Killed in here. The timer keeps the process alive until then.
      await new Promise((r) => setTimeout(r, 60_000));
      return;
    }
    say(`handling ${id} ${m.get(34)}`);
    await new Promise((r) => setTimeout(r, 2));
    await session.put(
      new FixMessage("8").set(37, `o-${id}`).set(17, `e-${id}-${crypto.randomUUID()}`)
        .set(150, "0").set(39, "0").set(11, id).set(55, m.get(55) ?? "X").set(54, m.get(54) ?? "1")
        .set(151, m.get(38) ?? "1").set(14, 0).set(6, 0),
    );
    if (id === "final") finalAnswered.resolve();
  },
});
await session.connect(2, "127.0.0.1", Number(port));
await finalAnswered.promise;
await session.disconnect("final");
await engine.stop();
Deno.exit(0);
