// Store folders and KV keys of session ids that used to share one, and the data kept under the
// key an id had before keys were injective (its parts joined by `-`).
import assert from "node:assert/strict";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { KvSeqStoreFactory, readKvStore } from "../../adapters/kv_store.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SeqState, SeqStore } from "../../src/store.ts";
import { ManualClock } from "../../src/testing.ts";

const te = new TextEncoder();

/** A raw FIX message sent by `id`, with correct BodyLength and CheckSum, padded to `size`. */
function sent(id: SessionId, seq: number, size = 0): Uint8Array {
  const build = (pad: number) => {
    const body = `35=D\x0149=${id.sender}\x0156=${id.target}\x0134=${seq}\x01` +
      `52=20261124-10:00:00.000\x0111=ord${seq}\x01${pad > 0 ? `58=${"x".repeat(pad)}\x01` : ""}`;
    const all = te.encode(`8=FIX.4.4\x019=${te.encode(body).length}\x01${body}`);
    let sum = 0;
    for (const b of all) sum += b;
    return new Uint8Array([...all, ...te.encode(`10=${String(sum % 256).padStart(3, "0")}\x01`)]);
  };
  let m = build(0);
  for (let pad = size - m.length - 4; m.length < size; pad += size - m.length) m = build(pad);
  return m;
}

function warnings(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const noop = () => {};
  return { lines, logger: { debug: noop, info: noop, error: noop, warn: (m) => lines.push(m) } };
}

async function readAll(store: SeqStore): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  for await (const m of store.readOutgoing(1, Number.MAX_SAFE_INTEGER)) out.set(m.seqNum, m.bytes);
  return out;
}

function folders(dir: string): string[] {
  return [...Deno.readDirSync(dir)].map((e) => e.name).sort();
}

/** Until just now one key: `BROKER-1-EXCH`. */
const X = new SessionId("BROKER-1", "EXCH");
const Y = new SessionId("BROKER", "1-EXCH");
const Z = new SessionId("BROKER", "1", "EXCH");

Deno.test("file store gives ids that used to share a folder a folder each", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const factory = new FileSeqStoreFactory({ directory: dir });
    const stores = [];
    for (const id of [X, Y, Z]) stores.push(await factory.open(id, { nowMs: 0 }));
    for (const [i, s] of stores.entries()) {
      for (let n = 1; n <= i + 1; n++) s.appendOutgoing(n, sent([X, Y, Z][i], n));
    }
    for (const s of stores) await s.close();
    assert.deepEqual(folders(dir), ["BROKER-1-EXCH", "BROKER-1=2DEXCH", "BROKER=2D1-EXCH"]);
    for (const [i, id] of [X, Y, Z].entries()) {
      const s = await factory.open(id, { nowMs: 0 });
      const stored = await readAll(s);
      assert.equal(stored.size, i + 1, `${id}`);
      for (const [n, m] of stored) assert.deepEqual(m, sent(id, n));
      assert.equal(s.state.nextSenderSeqNum, i + 2);
      await s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

/**
 * Makes `dir/<name>` a store folder holding `messages` and next target number 7, as a release
 * with the old keys left it: the folder layout is the same, only its name was the old key.
 */
async function oldFolder(dir: string, name: string, messages: Uint8Array[]): Promise<void> {
  const any = new SessionId("SOME", "STORE");
  const s = await new FileSeqStoreFactory({ directory: dir }).open(any, { nowMs: 5 });
  messages.forEach((m, i) => s.appendOutgoing(i + 1, m));
  s.setNextTargetSeqNum(7);
  await s.close();
  await Deno.rename(`${dir}/${any.key}`, `${dir}/${name}`);
}

Deno.test("file store opens the folder an id had under the old key when it is provably the id's", async (t) => {
  await t.step("no other id had that name: renamed, logged", async () => {
    const dir = await Deno.makeTempDir();
    try {
      const id = new SessionId("A:1", "B");
      await oldFolder(dir, "A:1-B", [sent(id, 1), sent(id, 2)]);
      const { logger, lines } = warnings();
      const s = await new FileSeqStoreFactory({ directory: dir, logger }).open(id, { nowMs: 9 });
      assert.deepEqual(folders(dir), ["A=3A1-B"]);
      assert.deepEqual(lines, ["store folder renamed to the new session key"]);
      assert.deepEqual([...(await readAll(s)).keys()], [1, 2]);
      assert.deepEqual(s.state, {
        nextSenderSeqNum: 3,
        nextTargetSeqNum: 7,
        creationTimeMs: 5,
        correctlyTerminated: false,
      });
      await s.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("shared name, every message sent by the id: renamed", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await oldFolder(dir, "BROKER-1-EXCH", [sent(X, 1), sent(X, 2), sent(X, 3)]);
      const { logger, lines } = warnings();
      const factory = new FileSeqStoreFactory({ directory: dir, logger });
      const s = await factory.open(X, { nowMs: 9 });
      assert.deepEqual(folders(dir), ["BROKER=2D1-EXCH"]);
      assert.deepEqual(lines, ["store folder renamed to the new session key"]);
      assert.equal(s.state.nextSenderSeqNum, 4);
      assert.equal(s.state.nextTargetSeqNum, 7);
      await s.close();
      // The ids it was shared with start afresh.
      const z = await factory.open(Z, { nowMs: 9 });
      assert.equal((await readAll(z)).size, 0);
      assert.equal(z.state.nextSenderSeqNum, 1);
      await z.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("shared name, messages of another id: left alone, logged", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await oldFolder(dir, "BROKER-1-EXCH", [sent(Z, 1), sent(Z, 2)]);
      const { logger, lines } = warnings();
      const factory = new FileSeqStoreFactory({ directory: dir, logger });
      const s = await factory.open(X, { nowMs: 9 });
      assert.deepEqual(
        lines,
        ["store folder of the old session key left alone: it may be another session's"],
      );
      assert.equal((await readAll(s)).size, 0);
      assert.equal(s.state.nextSenderSeqNum, 1);
      assert.equal(s.state.nextTargetSeqNum, 1);
      await s.close();
      assert.deepEqual(folders(dir), ["BROKER-1-EXCH", "BROKER=2D1-EXCH"]);
      // Z's key did not change: it still opens its own.
      const z = await factory.open(Z, { nowMs: 9 });
      assert.deepEqual([...(await readAll(z)).keys()], [1, 2]);
      await z.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("shared name, no message to tell: left alone", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await oldFolder(dir, "BROKER-1-EXCH", []);
      const s = await new FileSeqStoreFactory({ directory: dir }).open(X, { nowMs: 9 });
      assert.equal(s.state.nextTargetSeqNum, 1);
      await s.close();
      assert.deepEqual(folders(dir), ["BROKER-1-EXCH", "BROKER=2D1-EXCH"]);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });

  await t.step("while its lock is held it is not renamed, and the open is refused", async () => {
    const dir = await Deno.makeTempDir();
    try {
      await oldFolder(dir, "BROKER-1-EXCH", [sent(X, 1)]);
      const factory = new FileSeqStoreFactory({ directory: dir });
      const z = await factory.open(Z, { nowMs: 9 }); // Z's own folder, by its key
      await assert.rejects(factory.open(X, { nowMs: 9 }), /already open/);
      assert.deepEqual(folders(dir), ["BROKER-1-EXCH"]);
      await z.close();
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
});

Deno.test("kv store gives ids that used to share a key a key each; ordinary keys stay", async () => {
  const kv = await Deno.openKv(":memory:");
  try {
    const factory = new KvSeqStoreFactory(kv, { clock: new ManualClock(0) });
    const ids = [X, Y, Z, new SessionId("TEST1", "TEST2")];
    const stores = [];
    for (const id of ids) stores.push(await factory.open(id, { nowMs: 0 }));
    for (const [i, s] of stores.entries()) {
      for (let n = 1; n <= i + 1; n++) s.appendOutgoing(n, sent(ids[i], n));
    }
    for (const s of stores) await s.close();
    const keys = new Set<unknown>();
    for await (const e of kv.list({ prefix: ["fixwire"] })) keys.add(e.key[1]);
    assert.deepEqual(
      [...keys].sort(),
      ["BROKER-1-EXCH", "BROKER-1=2DEXCH", "BROKER=2D1-EXCH", "TEST1-TEST2"],
    );
    for (const [i, id] of ids.entries()) {
      const { messages, state } = await readKvStore(kv, id);
      assert.equal(messages.length, i + 1, `${id}`);
      for (const m of messages) assert.deepEqual(m.bytes, sent(id, m.seqNum));
      assert.equal(state?.nextSenderSeqNum, i + 2);
    }
  } finally {
    kv.close();
  }
});

/** Writes session data under `["fixwire", name]` as a release with the old keys did. */
async function oldKv(kv: Deno.Kv, name: string, messages: Uint8Array[]): Promise<void> {
  const base = ["fixwire", name];
  const state: SeqState = {
    nextSenderSeqNum: messages.length + 1,
    nextTargetSeqNum: 7,
    creationTimeMs: 5,
    correctlyTerminated: true,
  };
  await kv.set([...base, "state"], state);
  for (const [i, m] of messages.entries()) {
    const n = i + 1;
    if (m.length <= 60 * 1024) await kv.set([...base, "msg", n], m);
    else {
      const chunks = Math.ceil(m.length / (60 * 1024));
      for (let c = 0; c < chunks; c++) {
        await kv.set([...base, "chunk", n, c], m.subarray(c * 60 * 1024, (c + 1) * 60 * 1024));
      }
      await kv.set([...base, "msg", n], { chunks, length: m.length });
    }
  }
  await kv.set([...base, "in", 1], sent(new SessionId("EXCH", "BROKER-1"), 1));
  // The last owner's lease ran out long ago.
  await kv.set([...base, "owner"], { ownerId: "old", expiresAtMs: 1 });
}

async function keysUnder(kv: Deno.Kv, name: string): Promise<number> {
  let n = 0;
  for await (const _ of kv.list({ prefix: ["fixwire", name] })) n++;
  return n;
}

Deno.test("kv store moves an id's data from its old key when it is provably the id's", async (t) => {
  const messages = [sent(X, 1), sent(X, 2, 200 * 1024), sent(X, 3)];

  await t.step("every message sent by the id: moved, logged", async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      await oldKv(kv, "BROKER-1-EXCH", messages);
      const { logger, lines } = warnings();
      const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(100), logger })
        .open(X, { nowMs: 9, logIncoming: true });
      assert.deepEqual(lines, ["store data moved to the new session key"]);
      assert.equal(await keysUnder(kv, "BROKER-1-EXCH"), 0);
      const stored = await readAll(s);
      assert.deepEqual([...stored.values()], messages);
      assert.deepEqual(s.state, {
        nextSenderSeqNum: 4,
        nextTargetSeqNum: 7,
        creationTimeMs: 5,
        correctlyTerminated: true,
      });
      const inbound = [];
      for await (const m of s.readIncoming()) inbound.push(m);
      assert.deepEqual(inbound, [sent(new SessionId("EXCH", "BROKER-1"), 1)]);
      await s.close();
    } finally {
      kv.close();
    }
  });

  await t.step("no other id had that key: moved even with no message", async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      const id = new SessionId("A:1", "B");
      await oldKv(kv, "A:1-B", []);
      const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(100) })
        .open(id, { nowMs: 9 });
      assert.equal(s.state.nextTargetSeqNum, 7);
      await s.close();
      assert.equal(await keysUnder(kv, "A:1-B"), 0);
      assert.equal((await readKvStore(kv, id)).state?.nextTargetSeqNum, 7);
    } finally {
      kv.close();
    }
  });

  await t.step("messages of another id: left alone, logged", async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      await oldKv(kv, "BROKER-1-EXCH", [sent(Z, 1), sent(Z, 2)]);
      const { logger, lines } = warnings();
      const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(100), logger })
        .open(X, { nowMs: 9 });
      assert.deepEqual(
        lines,
        ["store data of the old session key left alone: it may be another session's"],
      );
      assert.equal((await readAll(s)).size, 0);
      assert.equal(s.state.nextTargetSeqNum, 1);
      await s.close();
      const z = await readKvStore(kv, Z);
      assert.deepEqual(z.messages.map((m) => m.seqNum), [1, 2]);
      assert.equal(z.state?.nextTargetSeqNum, 7);
    } finally {
      kv.close();
    }
  });

  await t.step("a live owner of the old key: refused, nothing moved", async () => {
    const kv = await Deno.openKv(":memory:");
    try {
      await oldKv(kv, "BROKER-1-EXCH", messages);
      await kv.set(["fixwire", "BROKER-1-EXCH", "owner"], { ownerId: "old", expiresAtMs: 1000 });
      await assert.rejects(
        new KvSeqStoreFactory(kv, { clock: new ManualClock(100) }).open(X, { nowMs: 9 }),
        /owned by another process \(old\) under its old key "BROKER-1-EXCH"/,
      );
      assert.deepEqual((await readKvStore(kv, Z)).messages.length, 3);
    } finally {
      kv.close();
    }
  });

  await t.step("a crash midway: the next open finishes the move", async () => {
    const raw = await Deno.openKv(":memory:");
    try {
      const many = Array.from({ length: 1200 }, (_, i) => sent(X, i + 1));
      await oldKv(raw, "BROKER-1-EXCH", many);
      // Commit 1 claims the new key; 2 and 3 move messages; 3 dies.
      let commits = 0;
      const kv = new Proxy(raw, {
        get(target, prop) {
          if (prop === "atomic") {
            return () => {
              const op = target.atomic();
              const commit = op.commit.bind(op);
              op.commit = () =>
                ++commits === 3 ? Promise.reject(new Error("process killed")) : commit();
              return op;
            };
          }
          const v = Reflect.get(target, prop, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      });
      await assert.rejects(
        new KvSeqStoreFactory(kv, { clock: new ManualClock(100) }).open(X, { nowMs: 9 }),
        /process killed/,
      );
      const left = await keysUnder(raw, "BROKER-1-EXCH");
      assert.ok(left > 2 && left < 1200, `${left}`);
      // The next process, once the dead one's lease on the new key ran out.
      const s = await new KvSeqStoreFactory(raw, { clock: new ManualClock(100_000) })
        .open(X, { nowMs: 9 });
      assert.equal(await keysUnder(raw, "BROKER-1-EXCH"), 0);
      const stored = await readAll(s);
      assert.equal(stored.size, 1200);
      assert.deepEqual(stored.get(1200), many[1199]);
      assert.equal(s.state.nextSenderSeqNum, 1201);
      assert.equal(s.state.nextTargetSeqNum, 7);
      await s.close();
    } finally {
      raw.close();
    }
  });
});
