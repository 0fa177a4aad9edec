// Crash test of the inbound side: the counterparty's application answers each order only after
// an awaited step, and its process is killed with SIGKILL while a handler is inside that step.
// An inbound MsgSeqNum may be recorded as processed only once its onMessage promise settled
// (QuickFIX's order): otherwise the order being handled at the kill is never answered and never
// asked for again. Every order the parent sends must get an ExecutionReport in the end;
// duplicates and PossDup redeliveries are fine, a loss never is.
import assert from "node:assert/strict";
import { readFileStore } from "../../adapters/file_store.ts";
import { ChildProcess } from "./_child_process.ts";
import { order, parentAcceptor } from "./_parent.ts";

const CHILD = new URL("./handler_child.ts", import.meta.url);
const ITERATIONS = 8;
const ORDERS_PER_RUN = 4;

/** What the child was doing when it was killed, and what its store held afterwards. */
interface Kill {
  clOrdId: string;
  msgSeqNum: number;
  storedNextTargetSeqNum: number | undefined;
}

Deno.test("crash: an awaited handler never loses a message on a crash", async () => {
  const dir = await Deno.makeTempDir();
  const { engine, session: parent, inbox: reports, port } = await parentAcceptor("8");
  const run = crypto.randomUUID().slice(0, 8);
  const sent: string[] = [];
  const kills: Kill[] = [];
  let child: ChildProcess | undefined;
  try {
    for (let it = 0; it < ITERATIONS; it++) {
      // Hold the 1st, 4th, 3rd, 2nd... order this run handles: a redelivered one, a fresh one.
      const holdAt = 1 + (it * 3) % ORDERS_PER_RUN;
      child = new ChildProcess(CHILD, [port, dir, "hold", String(holdAt)]);
      await parent.waitFor("established", { signal: AbortSignal.timeout(10_000) });
      const puts: Promise<void>[] = [];
      for (let k = 0; k < ORDERS_PER_RUN; k++) {
        const id = `${run}-${sent.length + 1}`;
        sent.push(id);
        puts.push(parent.put(order(id)));
      }
      await Promise.all(puts);
      const held = await child.line((l) => l.startsWith("holding "), {
        signal: AbortSignal.timeout(10_000),
      });
      await child.kill();
      child = undefined;
      const { state } = await readFileStore(`${dir}/CHILD-PARENT`);
      const [, clOrdId, seq] = held.split(" ");
      kills.push({
        clOrdId,
        msgSeqNum: Number(seq),
        storedNextTargetSeqNum: state?.nextTargetSeqNum,
      });
      await parent.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
    }
    // The last run answers everything. The child answers in MsgSeqNum order and the parent
    // delivers in MsgSeqNum order (a gap is resent first), so once the answer to "final" is in,
    // every answer the child ever stored is in too: what is missing then is lost.
    child = new ChildProcess(CHILD, [port, dir, "final"]);
    await parent.waitFor("established", { signal: AbortSignal.timeout(10_000) });
    sent.push("final");
    await parent.put(order("final"));
    await reports.waitFor(1, { signal: AbortSignal.timeout(10_000) }, (m) => m.get(11) === "final");
    const { code, stderr } = await child.exit({ signal: AbortSignal.timeout(10_000) });
    child = undefined;
    assert.equal(code, 0, stderr);

    const answered = new Set(reports.ids);
    const lost = sent.filter((id) => !answered.has(id));
    const describe = (id: string) => {
      const held = kills.filter((k) => k.clOrdId === id).map((k) =>
        `in its handler as MsgSeqNum ${k.msgSeqNum} at kill ${
          kills.indexOf(k) + 1
        }, the child's store then expecting ${k.storedNextTargetSeqNum}`
      );
      return `${id} (${held.length > 0 ? held.join(", then ") : "never held at a kill"})`;
    };
    assert.deepEqual(
      lost,
      [],
      `${lost.length} of ${sent.length} orders never answered: ${lost.map(describe).join("; ")}`,
    );
    assert.equal(kills.length, ITERATIONS);
  } finally {
    await child?.kill();
    await engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
