import assert from "node:assert/strict";
import {
  FileSeqStoreFactory,
  readFileStore,
  StoreCorruptError,
} from "../../adapters/file_store.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory, type SeqStore } from "../../src/store.ts";
import { KvSeqStoreFactory } from "../../adapters/kv_store.ts";
import { fixBytes, runSeqStoreContract } from "./contract.ts";
import { afterCrash } from "./_dirs.ts";

runSeqStoreContract("memory", () => {
  const f = new MemorySeqStoreFactory();
  return Promise.resolve({ factory: () => f, exclusive: true, cleanup: () => Promise.resolve() });
});

Deno.test("memory store reopened takes the closed store's contents instead of a copy", async () => {
  const f = new MemorySeqStoreFactory();
  const id = new SessionId("A", "B");
  const read = async (s: SeqStore) => {
    const out: number[] = [];
    for await (const m of s.readOutgoing(1, 100)) out.push(m.seqNum);
    return out;
  };
  const incoming = async (s: SeqStore) => {
    const out: string[] = [];
    for await (const m of s.readIncoming()) out.push(new TextDecoder().decode(m));
    return out;
  };
  const first = await f.open(id, { nowMs: 5, logIncoming: true });
  first.appendOutgoing(1, fixBytes(1));
  first.appendOutgoing(2, fixBytes(2));
  first.appendIncoming(new TextEncoder().encode("in-1"));
  first.setNextTargetSeqNum(2);
  await first.close();
  // Before it is reopened, a closed store still reads what it holds.
  assert.deepEqual(await read(first), [1, 2]);

  const second = await f.open(id, { nowMs: 9, logIncoming: true });
  assert.deepEqual(second.state, {
    nextSenderSeqNum: 3,
    nextTargetSeqNum: 2,
    creationTimeMs: 5,
    correctlyTerminated: false,
  });
  assert.deepEqual(await read(second), [1, 2]);
  assert.deepEqual(await incoming(second), ["in-1"]);
  // Moved, not copied: the closed store holds nothing any more, so no message is kept twice.
  assert.deepEqual(await read(first), []);
  assert.deepEqual(await incoming(first), []);

  second.appendOutgoing(3, fixBytes(3));
  second.appendIncoming(new TextEncoder().encode("in-2"));
  await second.close();
  // Closing the first store again does not put it back in the factory's place.
  await first.close();
  const third = await f.open(id, { nowMs: 12 });
  assert.deepEqual(await read(third), [1, 2, 3]);
  assert.deepEqual(await incoming(third), ["in-1", "in-2"]);
  assert.equal(third.state.nextSenderSeqNum, 4);
  // Another session of the same factory starts empty.
  const other = await f.open(new SessionId("A", "C"), { nowMs: 1 });
  assert.deepEqual(await read(other), []);
  await other.close();
  await third.close();
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

/**
 * Runs `fn` on a file store folder holding `count` stored messages for session A->B (closed),
 * removing the folder afterwards.
 */
async function withStoredLog(
  count: number,
  fn: (t: { dir: string; id: SessionId; log: string }) => Promise<void>,
): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    const id = new SessionId("A", "B");
    const s = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 });
    for (let i = 1; i <= count; i++) s.appendOutgoing(i, fixBytes(i));
    await s.close();
    await fn({ dir, id, log: `${dir}/A-B/outgoing.log` });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("file store drops a torn last write, logs it, and never serves it", () =>
  withStoredLog(3, async ({ dir, id, log }) => {
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
  }));

Deno.test("file store reports corruption in the middle instead of resetting", () =>
  withStoredLog(3, async ({ dir, id, log }) => {
    const bytes = Deno.readFileSync(log);
    const second = fixBytes(1).length + 40;
    bytes[second] = 88; // damage the second record's body: CheckSum no longer matches
    Deno.writeFileSync(log, bytes);
    await assert.rejects(
      new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 }),
      (e) => e instanceof StoreCorruptError && e.offset === fixBytes(1).length,
    );
    // The refused open released its lock: another owner can take it.
    using lock = Deno.openSync(`${dir}/A-B/owner.lock`, { read: true, write: true });
    assert.equal(lock.tryLockSync(true), true);
  }));

Deno.test("file store reports damage in the middle even where it looks like a torn record", () =>
  withStoredLog(3, async ({ dir, id, log }) => {
    const bytes = Deno.readFileSync(log);
    // Record 2's BodyLength(9) gains two digits: it now claims to run past the end of the file.
    const at = fixBytes(1).length + "8=FIX.4.4\x019=".length + 1;
    const damaged = new Uint8Array([...bytes.subarray(0, at), 48, 48, ...bytes.subarray(at)]);
    Deno.writeFileSync(log, damaged);
    const { logger, lines } = warnings();
    await assert.rejects(
      new FileSeqStoreFactory({ directory: dir, logger }).open(id, { nowMs: 1 }),
      (e) => e instanceof StoreCorruptError && e.offset === fixBytes(1).length,
    );
    assert.deepEqual(lines, []);
    assert.deepEqual(Deno.readFileSync(log), damaged, "nothing was cut off");
    await assert.rejects(
      readFileStore(`${dir}/A-B`),
      (e) => e instanceof StoreCorruptError && e.offset === fixBytes(1).length,
    );
  }));

Deno.test("file store treats a zero-filled tail (a power cut) as a torn last write", () =>
  withStoredLog(2, async ({ dir, id, log }) => {
    const good = Deno.statSync(log).size;
    Deno.writeFileSync(
      log,
      new Uint8Array([...fixBytes(3).subarray(0, 20), ...new Uint8Array(100)]),
      {
        append: true,
      },
    );
    const { logger, lines } = warnings();
    const view = await readFileStore(`${dir}/A-B`, { logger });
    assert.deepEqual(view.messages.map((m) => m.seqNum), [1, 2]);
    assert.equal(view.tornBytes, 120);
    assert.deepEqual(lines, ["store has a torn last write"]);
    assert.equal(Deno.statSync(log).size, good + 120, "reading changes nothing");
    const again = await new FileSeqStoreFactory({ directory: dir, logger }).open(id, { nowMs: 1 });
    assert.deepEqual(lines.slice(1), ["store recovered from a torn last write"]);
    assert.equal(Deno.statSync(log).size, good);
    assert.equal(again.state.nextSenderSeqNum, 3);
    await again.close();
  }));

Deno.test("readFileStore reports damage in the middle as corruption, not as a torn write", () =>
  withStoredLog(3, async ({ dir, log }) => {
    const bytes = Deno.readFileSync(log);
    bytes[fixBytes(1).length + 40] = 88; // record 2's CheckSum no longer matches
    Deno.writeFileSync(log, bytes);
    await assert.rejects(
      readFileStore(`${dir}/A-B`),
      (e) =>
        e instanceof StoreCorruptError && e.offset === fixBytes(1).length &&
        /CheckSum\(10\) does not match/.test(e.message),
    );
  }));

Deno.test("file store cuts a torn write off incoming.log too, and goes on logging", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const id = new SessionId("A", "B");
    const open = (logger?: Logger) =>
      new FileSeqStoreFactory({ directory: dir, logger }).open(id, { nowMs: 1, logIncoming: true });
    const s = await open();
    s.appendIncoming(fixBytes(1));
    s.appendIncoming(fixBytes(2));
    await s.close();
    Deno.writeFileSync(`${dir}/A-B/incoming.log`, fixBytes(3).subarray(0, 25), { append: true });
    const { logger, lines } = warnings();
    const again = await open(logger);
    assert.deepEqual(lines, ["store recovered from a torn last write"]);
    again.appendIncoming(fixBytes(4));
    await again.flush();
    const got: Uint8Array[] = [];
    for await (const m of again.readIncoming()) got.push(m);
    assert.deepEqual(got, [fixBytes(1), fixBytes(2), fixBytes(4)]);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

for (const sync of ["none", "batch", "message"] as const) {
  Deno.test(`file store (sync ${sync}) resets with no warning and keeps every old log`, async () => {
    const dir = await Deno.makeTempDir();
    try {
      const { logger, lines } = warnings();
      const s = await new FileSeqStoreFactory({ directory: `${dir}/root`, sync, logger }).open(
        new SessionId("A", "B"),
        { nowMs: 1 },
      );
      s.appendOutgoing(1, fixBytes(1));
      await s.reset(10);
      s.appendOutgoing(1, fixBytes(1, "58=second\x01"));
      await s.reset(10);
      s.appendOutgoing(1, fixBytes(1, "58=third\x01"));
      await s.reset(10); // same creation time again: the archive name must not collide
      s.appendOutgoing(1, fixBytes(1));
      await s.close();
      const files = [...Deno.readDirSync(`${dir}/root/A-B`)].map((e) => e.name).sort();
      assert.deepEqual(files, [
        "outgoing.1.log",
        "outgoing.10-1.log",
        "outgoing.10.log",
        "outgoing.idx",
        "outgoing.log",
        "owner.lock",
        "state.txt",
      ]);
      assert.deepEqual(
        Deno.readFileSync(`${dir}/root/A-B/outgoing.10.log`),
        fixBytes(1, "58=second\x01"),
      );
      assert.deepEqual(
        Deno.readFileSync(`${dir}/root/A-B/outgoing.10-1.log`),
        fixBytes(1, "58=third\x01"),
      );
      const view = await readFileStore(`${dir}/root/A-B`);
      assert.equal(view.state?.creationTimeMs, 10);
      assert.deepEqual(view.messages.map((m) => m.seqNum), [1]);
      assert.deepEqual(lines, [], "no warning (directory sync works here)");
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  });
}

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

Deno.test("file store appends one state line per flush, reads the last, and compacts", async (t) => {
  const dir = await Deno.makeTempDir();
  const id = new SessionId("A", "B");
  const statePath = `${dir}/A-B/state.txt`;
  const lines = () => Deno.readTextFileSync(statePath).split("\n").filter((l) => l !== "");
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 });
    await t.step("a flush with a new state appends one fixed-width line, no rewrite", async () => {
      assert.equal(lines().length, 1);
      for (let n = 2; n <= 6; n++) {
        s.setNextTargetSeqNum(n);
        await s.flush();
      }
      await s.flush(); // nothing changed: nothing written
      const all = lines();
      assert.equal(all.length, 6);
      assert.ok(all.every((l) => l.length === 79), "fixed-width lines");
      assert.match(all[5], /^S 1 T 6 /);
      assert.equal(Deno.statSync(statePath).size, 6 * 80);
    });
    await t.step("after 65,536 lines the file is compacted to one", async () => {
      const last = 7 + 65536 + 4096 - 1;
      for (let n = 7; n <= last; n++) {
        s.setNextTargetSeqNum(n);
        await s.flush();
      }
      assert.ok(lines().length <= 4096 + 6, `${lines().length} lines`);
      assert.match(lines().at(-1)!, new RegExp(` T ${last} `));
      assert.equal((await readFileStore(`${dir}/A-B`)).state?.nextTargetSeqNum, last);
      assert.ok(!Deno.readDirSync(`${dir}/A-B`).some((e) => e.name.endsWith(".tmp")));
    });
    await t.step("closing leaves one line", async () => {
      s.setNextTargetSeqNum(5000);
      await s.flush();
      assert.ok(lines().length > 1);
      await s.close();
      assert.equal(lines().length, 1);
      assert.match(lines()[0], /^S 1 T 5000 /);
    });
    await t.step("a torn last line is ignored: the last complete line is the state", async () => {
      Deno.writeTextFileSync(statePath, "S 9 T 90", { append: true });
      const again = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 });
      assert.equal(again.state.nextTargetSeqNum, 5000);
      assert.equal(lines().length, 1, "compacted on open");
      await again.close();
    });
    await t.step("an unreadable last complete line is damage", async () => {
      Deno.writeTextFileSync(statePath, "garbage\n", { append: true });
      await assert.rejects(
        () => new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 }),
        StoreCorruptError,
      );
      await assert.rejects(() => readFileStore(`${dir}/A-B`), StoreCorruptError);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store: a flush of stored messages alone is one write; the log gives the number", async () => {
  const dir = await Deno.makeTempDir();
  const id = new SessionId("A", "B");
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 1 });
    const stateBefore = Deno.readTextFileSync(`${dir}/A-B/state.txt`);
    for (let i = 1; i <= 3; i++) {
      s.appendOutgoing(i, fixBytes(i));
      await s.flush();
    }
    assert.equal(Deno.readTextFileSync(`${dir}/A-B/state.txt`), stateBefore, "no state line");
    assert.equal(s.state.nextSenderSeqNum, 4);
    assert.equal((await readFileStore(`${dir}/A-B`)).state?.nextSenderSeqNum, 4);
    // A crash now (no close): the reopened store continues after the last stored message.
    await afterCrash(dir, id, (again) => assert.equal(again.state.nextSenderSeqNum, 4));
    s.setNextSenderSeqNum(7); // an admin message, never stored: the state line carries it
    await s.flush();
    assert.match(
      Deno.readTextFileSync(`${dir}/A-B/state.txt`).trimEnd().split("\n").at(-1)!,
      /^S 7 /,
    );
    await s.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store closes even when state.txt cannot be compacted, and says so", async () => {
  const dir = await Deno.makeTempDir();
  const { logger, lines } = warnings();
  const s = await new FileSeqStoreFactory({ directory: dir, logger }).open(
    new SessionId("A", "B"),
    {
      nowMs: 1,
    },
  );
  s.setNextTargetSeqNum(5);
  await s.flush(); // two lines now: compaction is due on close
  await Deno.remove(dir, { recursive: true }); // an operator removed the folder under us
  await s.close();
  assert.deepEqual(lines, ["state.txt not compacted on close"]);
  assert.throws(() => s.appendOutgoing(1, fixBytes(1)), "closed for good");
  // The lock was released: the session opens again (fresh) in a recreated folder.
  Deno.mkdirSync(dir);
  try {
    const again = await new FileSeqStoreFactory({ directory: dir }).open(new SessionId("A", "B"), {
      nowMs: 2,
    });
    assert.equal(again.state.nextTargetSeqNum, 1);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
