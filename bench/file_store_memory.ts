/**
 * Resident memory of one file store session over many stored messages: appends `--messages`
 * (default 10 million) messages of about 170 bytes through the `SeqStore` API in flushes of
 * `--batch` (default 100), and every million prints the process's memory, the store's index
 * entries and the time to close and reopen it; then reads a resend range from the middle of the
 * log, and reopens once more without `outgoing.idx` (the one-pass rebuild of an index lost or
 * never written). Not part of the unit tests (it writes 1.7 GB for 10 million messages):
 *
 *     deno run --allow-read --allow-write --v8-flags=--expose-gc bench/file_store_memory.ts \
 *       [--messages 10000000] [--batch 100] [--sync none|batch|message] [--dir /path] \
 *       [--store <module exporting FileSeqStoreFactory>]
 *
 * With `--expose-gc` a collection runs before each reading, so `heapUsed` is what is retained.
 * The folder is a new temporary one (removed at the end) unless `--dir` is given. `--store`
 * measures another file store (an earlier version: `bench/file_store_compare.ts` runs both); each
 * row is also printed as a JSON line.
 *
 * @module
 */

import type { FileSyncMode } from "../adapters/file_store.ts";
import { SessionId } from "../src/session_id.ts";
import type { SeqStore, SeqStoreFactory } from "../src/store.ts";
import { MessageMaker, print, printTable } from "./file_store_messages.ts";

function option(name: string, fallback: string): string {
  const i = Deno.args.indexOf(name);
  return i >= 0 && i + 1 < Deno.args.length ? Deno.args[i + 1] : fallback;
}

const total = Number(option("--messages", "10000000"));
const batch = Number(option("--batch", "100"));
const sync = option("--sync", "none") as FileSyncMode;
const given = option("--dir", "");
const dir = given || await Deno.makeTempDir({ prefix: "fixwire-store-memory-" });
const id = new SessionId("SENDER", "TARGET");
const module: {
  FileSeqStoreFactory: new (o: { directory: string; sync: FileSyncMode }) => SeqStoreFactory;
} = await import(option("--store", new URL("../adapters/file_store.ts", import.meta.url).href));
const factory = new module.FileSeqStoreFactory({ directory: dir, sync });
const gc = (globalThis as { gc?: () => void }).gc;
const MB = 1024 * 1024;

/** The store's counters when it has them (the file store does). */
function stats(s: SeqStore): { indexEntries?: number; bytesReadOnOpen?: number } {
  return (s as { stats?: { indexEntries: number; bytesReadOnOpen: number } }).stats ?? {};
}

function memory(): Record<string, string> {
  gc?.();
  const m = Deno.memoryUsage();
  return {
    rssMb: (m.rss / MB).toFixed(1),
    heapUsedMb: (m.heapUsed / MB).toFixed(1),
    heapTotalMb: (m.heapTotal / MB).toFixed(1),
    externalMb: (m.external / MB).toFixed(1),
  };
}

async function reopen(s: SeqStore): Promise<{ store: SeqStore; ms: number }> {
  await s.close();
  const t0 = performance.now();
  const store = await factory.open(id, { nowMs: Date.now() });
  return { store, ms: performance.now() - t0 };
}

const rows: Record<string, string | number>[] = [];
const push = (row: Record<string, string | number>) => {
  rows.push(row);
  print(JSON.stringify(row));
};
const maker = new MessageMaker(170);
let store: SeqStore = await factory.open(id, { nowMs: Date.now() });
push({ messages: 0, ...memory(), indexEntries: stats(store).indexEntries ?? "-" });
const t0 = performance.now();
let appendMs = 0;
for (let seq = 1; seq <= total;) {
  const t = performance.now();
  const end = Math.min(total, seq + batch - 1);
  for (; seq <= end; seq++) store.appendOutgoing(seq, maker.make(seq));
  await store.flush();
  appendMs += performance.now() - t;
  if (end % 1_000_000 === 0 || end === total) {
    const m = memory();
    const entries = stats(store).indexEntries ?? "-";
    const opened = await reopen(store);
    store = opened.store;
    push({
      messages: end,
      ...m,
      indexEntries: entries,
      logMb: (Deno.statSync(`${dir}/${id.key}/outgoing.log`).size / MB).toFixed(0),
      appendUsPerMsg: (appendMs * 1000 / end).toFixed(2),
      reopenMs: opened.ms.toFixed(1),
      readOnOpenKb: ((stats(store).bytesReadOnOpen ?? NaN) / 1024).toFixed(0),
    });
  }
}
const elapsedS = (performance.now() - t0) / 1000;

// A resend from the middle of the log: 10,000 messages, streamed.
const from = Math.max(1, Math.floor(total / 2)), to = Math.min(total, from + 9_999);
let got = 0, bytes = 0;
const r0 = performance.now();
for await (const m of store.readOutgoing(from, to)) {
  got++;
  bytes += m.bytes.length;
}
const resendMs = performance.now() - r0;
push({
  messages: `resend ${from}..${to}`,
  ...memory(),
  indexEntries: stats(store).indexEntries ?? "-",
  resendMs: resendMs.toFixed(1),
});
if (got !== to - from + 1) throw new Error(`resend read ${got} messages, not ${to - from + 1}`);

// The same store with its index lost: one streaming pass over the log rebuilds it.
await store.close();
try {
  Deno.removeSync(`${dir}/${id.key}/outgoing.idx`);
} catch (e) {
  if (!(e instanceof Deno.errors.NotFound)) throw e; // a store without an index file
}
const b0 = performance.now();
store = await factory.open(id, { nowMs: Date.now() });
const rebuildMs = performance.now() - b0;
push({
  messages: "reopen, index rebuilt",
  ...memory(),
  indexEntries: stats(store).indexEntries ?? "-",
  reopenMs: rebuildMs.toFixed(1),
  readOnOpenKb: ((stats(store).bytesReadOnOpen ?? NaN) / 1024).toFixed(0),
});
if (store.state.nextSenderSeqNum !== total + 1) {
  throw new Error(`next sender number ${store.state.nextSenderSeqNum}, not ${total + 1}`);
}
await store.close();

print(
  `\n${total} messages of ~170 bytes, flushes of ${batch}, sync "${sync}", ${
    elapsedS.toFixed(1)
  } s ` +
    `(resend of ${got} messages, ${(bytes / MB).toFixed(1)} MB, in ${resendMs.toFixed(1)} ms)`,
);
printTable(rows);
if (!given) await Deno.remove(dir, { recursive: true });
