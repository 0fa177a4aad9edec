// A counterparty for the inbound-number crash test: an initiator on a file store that answers
// each order (35=D) at once, inside onMessage, with an ExecutionReport, after printing
// "handled <ClOrdID> <PossDupFlag or N>" (synchronously, so a SIGKILL cannot lose the line).
// Args: <port> <storeDir> <run|final>
// - run: answers until the parent kills the process.
// - final: once the order with ClOrdID "final" is answered, logs out and exits with code 0.
import { FixMessage } from "../../mod.ts";
import { childSession, say } from "./_child_setup.ts";

const [port, dir, mode] = Deno.args;
const { engine, session } = childSession(dir);
const finalAnswered = Promise.withResolvers<void>();

session.setListener({
  onMessage: (m) => {
    if (m.msgType !== "D") return;
    const id = m.get(11)!;
    say(`handled ${id} ${m.get(43) ?? "N"}`);
    void session.put(
      new FixMessage("8").set(37, `o-${id}`).set(17, `e-${id}`).set(150, "0").set(39, "0")
        .set(11, id).set(55, "X").set(54, "1").set(151, "1").set(14, 0).set(6, 0),
    );
    if (id === "final") finalAnswered.resolve();
  },
});
await session.connect(2, "127.0.0.1", Number(port));
if (mode === "final") {
  await finalAnswered.promise;
  await session.disconnect("final");
  await engine.stop();
  Deno.exit(0);
}
