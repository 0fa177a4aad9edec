// Crash test of the inbound number: a counterparty answers each order at once and is killed
// with SIGKILL between orders, every order it handled answered. Its store keeps the number of
// the last order with the answer to it (the file store's target record, in the answer's write),
// so after a restart nothing it handled is asked for again: each order reaches its application
// once, none as a PossDup redelivery.
import assert from "node:assert/strict";
import { readFileStore } from "../../adapters/file_store.ts";
import { ChildProcess } from "./_child_process.ts";
import { order, parentAcceptor } from "./_parent.ts";

const CHILD = new URL("./answer_child.ts", import.meta.url);
const RUNS = 3;
const ORDERS_PER_RUN = 30;

Deno.test("crash: an order answered before a kill is never delivered again after the restart", async () => {
  const dir = await Deno.makeTempDir();
  const { engine, session: parent, inbox: reports, port } = await parentAcceptor("8");
  const signal = () => ({ signal: AbortSignal.timeout(10_000) });
  const handled: string[] = [];
  const expecting: number[] = [];
  let child: ChildProcess | undefined;
  try {
    for (let run = 0; run < RUNS; run++) {
      child = new ChildProcess(CHILD, [port, dir, "run"]);
      await parent.waitFor("established", signal());
      for (let k = 1; k <= ORDERS_PER_RUN; k++) {
        const id = `${run}-${k}`;
        await parent.put(order(id));
        await reports.waitFor(1, signal(), (m) => m.get(11) === id);
      }
      // Every order of this run handled and answered: the child is idle when killed.
      const last = `${run}-${ORDERS_PER_RUN}`;
      await child.line((l) => l.startsWith(`handled ${last} `), signal());
      handled.push(...child.printed.filter((l) => l.startsWith("handled ")));
      await child.kill();
      child = undefined;
      expecting.push((await readFileStore(`${dir}/CHILD-PARENT`)).state!.nextTargetSeqNum);
      await parent.waitFor("waitingForLogon", signal());
    }
    child = new ChildProcess(CHILD, [port, dir, "final"]);
    await parent.waitFor("established", signal());
    await parent.put(order("final"));
    await reports.waitFor(1, signal(), (m) => m.get(11) === "final");
    await child.line((l) => l.startsWith("handled final "), signal());
    handled.push(...child.printed.filter((l) => l.startsWith("handled ")));
    const { code, stderr } = await child.exit(signal());
    child = undefined;
    assert.equal(code, 0, stderr);
    const expected = [];
    for (let run = 0; run < RUNS; run++) {
      for (let k = 1; k <= ORDERS_PER_RUN; k++) expected.push(`handled ${run}-${k} N`);
    }
    expected.push("handled final N");
    assert.deepEqual(
      handled,
      expected,
      `each order once, none redelivered (the child's store expected ${expecting.join(", ")} ` +
        "after the kills)",
    );
  } finally {
    await child?.kill();
    await engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
