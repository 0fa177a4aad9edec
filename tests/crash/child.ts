// A trading process for the crash tests: an initiator that sends orders as fast as it can on a
// file or KV store, until the parent kills it with SIGKILL.
// Args: <port> <storeDir> <file|kv> <run|stall|final>
// - run: orders until killed.
// - stall: like run, but after a few batches of orders the link stops draining (a write is
//   accepted by nobody, as when the peer stops reading and the send buffer is full): that batch
//   is persisted and never sent. The child prints "stalled" and waits to be killed, so the
//   parent kills it exactly between "persisted" and "sent", the gap that resends must cover.
// - final: a last burst, then Logout and exit.
import { TcpTransport } from "../../adapters/tcp.ts";
import { KvSeqStoreFactory } from "../../adapters/kv_store.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import type { SeqStoreFactory } from "../../src/store.ts";
import type { Transport } from "../../src/transport.ts";
import { wrapConnection, WrappedTransport } from "../_wrapped_transport.ts";
import { childSession, say } from "./_child_setup.ts";

const ORDER = "\x0135=D\x01";
const latin1 = new TextDecoder("latin1");

/** TCP whose connections stop accepting writes after `stallAfter` writes holding orders. */
function stallingTransport(stallAfter: number): Transport {
  return new WrappedTransport(new TcpTransport(), (conn) => {
    let left = stallAfter;
    return wrapConnection(conn, {
      write(bytes, inner) {
        if (left > 0 && latin1.decode(bytes).includes(ORDER) && --left === 0) {
          // The session writes only what its store made durable: this batch is persisted.
          say("stalled");
          stalled = true;
          return new Promise(() => {});
        }
        if (left === 0) return new Promise(() => {});
        return inner.write(bytes);
      },
    });
  });
}

/** Set once the link stalled: put() resolves when a batch is persisted and its write issued,
 * so the loop below stops there instead of filling MaxOutgoingBufferSize before the kill. */
let stalled = false;
const [port, dir, kind, mode] = Deno.args;
let storeFactory: SeqStoreFactory | undefined;
let kv: Deno.Kv | undefined;
if (kind === "kv") {
  kv = await Deno.openKv(`${dir}/store.kv`);
  storeFactory = new KvSeqStoreFactory(kv, { leaseMs: 200 });
}
const { engine, session } = childSession(dir, {
  storeFactory,
  transport: mode === "stall" ? stallingTransport(2 + Math.floor(Math.random() * 5)) : undefined,
  // put() resolves once persisted and its write issued: the loop below runs as far ahead of
  // the parent as this bound lets it (the default 64 MiB would be hundreds of thousands).
  config: { MaxOutgoingBufferSize: 32 * 1024 },
});
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
while (!stalled) {
  const batch: Promise<void>[] = [];
  for (let k = 0; k < 20; k++) batch.push(session.put(order()));
  await Promise.all(batch);
}
// Stalled: wait to be killed.
await new Promise(() => {});
