import assert from "node:assert/strict";
import {
  FileSeqStoreFactory,
  readFileStore,
  StoreCorruptError,
} from "../../adapters/file_store.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { KvSeqStoreFactory } from "../../adapters/kv_store.ts";
import { fixBytes, runSeqStoreContract } from "./contract.ts";

runSeqStoreContract("memory", () => {
  const f = new MemorySeqStoreFactory();
  return Promise.resolve({ factory: () => f, exclusive: false, cleanup: () => Promise.resolve() });
});

for (const sync of ["none", "batch", "message"] as const) {
  runSeqStoreContract(`file (sync ${sync})`, async () => {
    const dir = await Deno.makeTempDir();
    return {
      factory: () => new FileSeqStoreFactory({ directory: dir, sync }),
      exclusive: true,
      cleanup: () => Deno.remove(dir, { recursive: true }),
    };
  });
}

function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const noop = () => {};
  return { lines, logger: { debug: noop, info: noop, error: noop, warn: (m) => lines.push(m) } };
}

Deno.test("file store drops a torn last write, logs it, and never serves it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const id = new SessionId("A", "B");
    const s = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 });
    for (let i = 1; i <= 3; i++) s.appendOutgoing(i, fixBytes(i));
    await s.close();
    const log = `${dir}/A-B/outgoing.log`;
    const good = Deno.statSync(log).size;
    const torn = fixBytes(4).subarray(0, 30);
    Deno.writeFileSync(log, torn, { append: true });
    const { logger, lines } = warnings();
    const again = await new FileSeqStoreFactory({ directory: dir, logger }).open(id, { nowMs: 1 });
    assert.deepEqual(lines, ["store recovered from a torn last write"]);
    assert.equal(Deno.statSync(log).size, good);
    assert.equal(again.state.nextSenderSeqNum, 4);
    const seen: number[] = [];
    for await (const m of again.readOutgoing(1, 10)) seen.push(m.seqNum);
    assert.deepEqual(seen, [1, 2, 3]);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store reports corruption in the middle instead of resetting", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const id = new SessionId("A", "B");
    const s = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 });
    for (let i = 1; i <= 3; i++) s.appendOutgoing(i, fixBytes(i));
    await s.close();
    const log = `${dir}/A-B/outgoing.log`;
    const bytes = Deno.readFileSync(log);
    const second = fixBytes(1).length + 40;
    bytes[second] = 88; // damage the second record's body: CheckSum no longer matches
    Deno.writeFileSync(log, bytes);
    await assert.rejects(
      new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 }),
      (e) => e instanceof StoreCorruptError && e.offset === fixBytes(1).length,
    );
    // The refused open released its lock.
    assert.throws(() => Deno.statSync(`${dir}/A-B/owner.lock`), Deno.errors.NotFound);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store keeps raw FIX in outgoing.log and an inbound log when asked", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(new SessionId("A", "B"), {
      nowMs: 5,
      logIncoming: true,
    });
    s.appendOutgoing(1, fixBytes(1));
    s.appendIncoming(fixBytes(7));
    await s.flush();
    assert.deepEqual(Deno.readFileSync(`${dir}/A-B/outgoing.log`), fixBytes(1));
    assert.deepEqual(Deno.readFileSync(`${dir}/A-B/incoming.log`), fixBytes(7));
    const view = await readFileStore(`${dir}/A-B`);
    assert.equal(view.messages.length, 1);
    assert.equal(view.state?.nextSenderSeqNum, 2);
    await s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store takes over a lock left by a dead process", async () => {
  const dir = await Deno.makeTempDir();
  try {
    Deno.mkdirSync(`${dir}/A-B`, { recursive: true });
    Deno.writeTextFileSync(`${dir}/A-B/owner.lock`, "999999999");
    const { logger, lines } = warnings();
    const s = await new FileSeqStoreFactory({ directory: dir, logger }).open(
      new SessionId("A", "B"),
      { nowMs: 1 },
    );
    assert.deepEqual(lines, ["taking over a stale store lock"]);
    await s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

runSeqStoreContract("kv (:memory:)", async () => {
  const kv = await Deno.openKv(":memory:");
  let n = 0;
  return {
    // Each "restart" is a new process: a new owner id.
    factory: () => new KvSeqStoreFactory(kv, { ownerId: `owner-${n++}` }),
    exclusive: true,
    cleanup: () => Promise.resolve(kv.close()),
  };
});

runSeqStoreContract("kv (file)", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/fix.kv`);
  return {
    factory: () => new KvSeqStoreFactory(kv),
    exclusive: true,
    cleanup: async () => {
      kv.close();
      await Deno.remove(dir, { recursive: true });
    },
  };
});

Deno.test("kv store: a flush fails once another process took the session over", async () => {
  const kv = await Deno.openKv(":memory:");
  let now = 0;
  const a = await new KvSeqStoreFactory(kv, { ownerId: "a", leaseMs: 100, now: () => now })
    .open(new SessionId("A", "B"), { nowMs: 0 });
  now = 1000; // a's lease expired
  const b = await new KvSeqStoreFactory(kv, { ownerId: "b", leaseMs: 100, now: () => now })
    .open(new SessionId("A", "B"), { nowMs: 0 });
  a.appendOutgoing(1, fixBytes(1));
  await assert.rejects(a.flush(), /owned by another process/);
  b.appendOutgoing(1, fixBytes(1));
  await b.flush();
  await b.close();
  await a.close().catch(() => {});
  kv.close();
});
