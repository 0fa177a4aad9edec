// A trading process for the crash tests: an initiator that sends orders as fast as it can on a
// file or KV store, until the parent kills it with SIGKILL. With "final", it sends a last burst,
// logs out and exits.
// Args: <port> <storeDir> <file|kv> <run|final>
import { KvSeqStoreFactory } from "../../adapters/kv_store.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SeqStoreFactory } from "../../src/store.ts";

const [port, dir, kind, mode] = Deno.args;
let storeFactory: SeqStoreFactory | undefined;
let kv: Deno.Kv | undefined;
if (kind === "kv") {
  kv = await Deno.openKv(`${dir}/store.kv`);
  storeFactory = new KvSeqStoreFactory(kv, { leaseMs: 200 });
}
const engine = new FixEngine({
  storeFactory,
  config: { LogDirectory: dir, "Reconnect.Interval": 20, "Reconnect.MaxTries": 50 },
});
const session = engine.createSession(new SessionId("CHILD", "PARENT"), "", FIXVersion.FIX44);
// A KV lease left by a killed process expires after 200 ms: retry opening until then.
for (let attempt = 0;; attempt++) {
  try {
    await session.connect(30, "127.0.0.1", Number(port));
    break;
  } catch (e) {
    if (attempt > 100) throw e;
    await new Promise((r) => setTimeout(r, 20));
  }
}
await session.waitFor("established", { signal: AbortSignal.timeout(20_000) });
const run = crypto.randomUUID().slice(0, 8);
let i = 0;
const order = () =>
  new FixMessage("D").set(11, `${run}-${++i}`).set(21, "1").set(55, "X").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, 1).set(40, "1");
if (mode === "final") {
  const sends: Promise<void>[] = [];
  for (let k = 0; k < 200; k++) sends.push(session.put(order()));
  await Promise.all(sends);
  await session.disconnect("final");
  await engine.stop();
  kv?.close();
  Deno.exit(0);
}
// Until killed: batches of orders, as fast as the session accepts them.
while (true) {
  const batch: Promise<void>[] = [];
  for (let k = 0; k < 20; k++) batch.push(session.put(order()));
  await Promise.all(batch);
}
