// File store costs: storing (the sender's hot path: no index entry per message), reopening a
// long log (reads its tail only), and a resend from the middle of it (streams its range).
// Run: deno bench --allow-read --allow-write bench/file_store_bench.ts
import { FileSeqStoreFactory } from "../adapters/file_store.ts";
import { SessionId } from "../src/session_id.ts";
import { MessageMaker } from "./file_store_messages.ts";

const LONG = 200_000;
const dir = await Deno.makeTempDir({ prefix: "fixwire-store-bench-" });
globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
const maker = new MessageMaker(170);
const factory = new FileSeqStoreFactory({ directory: dir });

// A session with a long log, closed: the reopen and resend benchmarks use it.
const longId = new SessionId("LONG", "LOG");
{
  const s = await factory.open(longId, { nowMs: 0 });
  for (let i = 1; i <= LONG; i++) {
    s.appendOutgoing(i, maker.make(i));
    if (i % 1000 === 0) await s.flush();
  }
  await s.close();
}

const hot = await factory.open(new SessionId("HOT", "PATH"), { nowMs: 0 });
let seq = 0;
Deno.bench({
  name: "store 100 messages of 170 bytes, then flush (sync none)",
  group: "store",
  baseline: true,
  async fn() {
    for (let i = 0; i < 100; i++) hot.appendOutgoing(++seq, maker.make(seq));
    await hot.flush();
  },
});

Deno.bench({
  name: `reopen a store of ${LONG} messages`,
  group: "open",
  async fn(b) {
    b.start();
    const s = await factory.open(longId, { nowMs: 0 });
    b.end();
    await s.close();
  },
});

const reader = await factory.open(new SessionId("RESEND", "FROM"), { nowMs: 0 });
for (let i = 1; i <= LONG; i++) reader.appendOutgoing(i, maker.make(i));
await reader.flush();
Deno.bench({
  name: `resend 100 messages from the middle of ${LONG}`,
  group: "resend",
  async fn() {
    let n = 0;
    for await (const _ of reader.readOutgoing(LONG / 2, LONG / 2 + 99)) n++;
    if (n !== 100) throw new Error(`read ${n}`);
  },
});
