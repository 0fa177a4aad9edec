// A trading process for the put-after-Logout test: an initiator on a file store.
// Args: <port> <storeDir> <ClOrdID prefix> <logout-put|resume> [killed|stopped]
// - logout-put: logs on, sends order "<prefix>-before", logs out correctly, then puts order
//   "<prefix>-after-logout" and prints "put resolved" or "put rejected: <error>". Then, with
//   "killed", it waits for the parent's SIGKILL; with "stopped", it stops its engine and exits 0.
// - resume: logs on from the same store, sends order "<prefix>-marker", logs out and exits 0.
import { FixMessage } from "../../mod.ts";
import { childSession, say } from "./_child_setup.ts";

const [port, dir, prefix, mode, end] = Deno.args;
const { engine, session } = childSession(dir);
const order = (id: string) =>
  new FixMessage("D").set(11, `${prefix}-${id}`).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 1).set(40, "1");

await session.connect(2, "127.0.0.1", Number(port));
await session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
if (mode === "resume") {
  await session.put(order("marker"));
  await session.disconnect("done");
  await engine.stop();
  Deno.exit(0);
}
await session.put(order("before"));
await session.disconnect("end of day");
say(`logged out: ${session.state}`);
try {
  await session.put(order("after-logout"));
  say("put resolved");
} catch (e) {
  say(`put rejected: ${e}`);
}
if (end === "stopped") {
  await engine.stop();
  Deno.exit(0);
}
// Killed in here.
await new Promise((r) => setTimeout(r, 60_000));
