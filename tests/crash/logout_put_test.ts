// Cross-process test of late delivery after a correct Logout: a process logs out, then puts an
// order, which resolves as persisted, and ends (killed, or stopping its engine). The next
// process on the same store logs on again. The order was accepted, so it must reach the parent
// after that Logon (or the put must have rejected); it must never be dropped with the store's
// fresh start.
import assert from "node:assert/strict";
import { readFileStore } from "../../adapters/file_store.ts";
import { decodeMessage } from "../../mod.ts";
import { ChildProcess } from "./_child_process.ts";
import { parentAcceptor } from "./_parent.ts";

const CHILD = new URL("./logout_child.ts", import.meta.url);

/** The child's store, for failure messages: its state and its orders (MsgSeqNum=ClOrdID). */
async function storeSummary(dir: string): Promise<string> {
  const { state, messages } = await readFileStore(dir);
  const orders = messages.map((s) => `${s.seqNum}=${decodeMessage(s.bytes).get(11)}`);
  return `state ${JSON.stringify(state)}, orders [${orders.join(", ")}]`;
}

for (const end of ["killed", "stopped"]) {
  Deno.test(`crash: a message accepted by put() is delivered or reported, never dropped, across a restart (${end})`, async () => {
    const dir = await Deno.makeTempDir();
    const { engine, session: parent, inbox: orders, port } = await parentAcceptor("D");
    const prefix = crypto.randomUUID().slice(0, 8);
    const id = (name: string) => (m: { get(tag: number): string | undefined }) =>
      m.get(11) === `${prefix}-${name}`;
    let child: ChildProcess | undefined;
    try {
      child = new ChildProcess(CHILD, [port, dir, prefix, "logout-put", end]);
      await orders.waitFor(1, { signal: AbortSignal.timeout(10_000) }, id("before"));
      await child.line((l) => l.startsWith("logged out: "), {
        signal: AbortSignal.timeout(10_000),
      });
      const outcome = await child.line((l) => l.startsWith("put "), {
        signal: AbortSignal.timeout(10_000),
      });
      if (end === "killed") await child.kill();
      else {
        const { code, stderr } = await child.exit({ signal: AbortSignal.timeout(10_000) });
        assert.equal(code, 0, stderr);
      }
      child = undefined;
      await parent.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
      const stored = await storeSummary(`${dir}/CHILD-PARENT`);

      // The next process on the same store. Once its marker is in and its Logout answered, the
      // parent has processed everything it sent.
      child = new ChildProcess(CHILD, [port, dir, prefix, "resume"]);
      await orders.waitFor(1, { signal: AbortSignal.timeout(10_000) }, id("marker"));
      const { code, stderr } = await child.exit({ signal: AbortSignal.timeout(10_000) });
      child = undefined;
      assert.equal(code, 0, stderr);
      await parent.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });

      const received = orders.ids;
      assert.ok(
        received.includes(`${prefix}-after-logout`),
        `The order put after the Logout ("${outcome}"; the first process left ${stored}) never reached the parent, which received ${
          JSON.stringify(received)
        }; the store after the second process: ${await storeSummary(`${dir}/CHILD-PARENT`)}`,
      );
      assert.equal(outcome, "put resolved");
      assert.equal(orders.count(id("after-logout")), 1, "delivered once");
    } finally {
      await child?.kill();
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
