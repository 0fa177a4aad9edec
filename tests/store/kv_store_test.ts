import assert from "node:assert/strict";
import {
  KV_MAX_MESSAGE_BYTES,
  type KvSeqStore,
  KvSeqStoreFactory,
  readKvStore,
} from "../../adapters/kv_store.ts";
import { StoreLockedError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SeqStore } from "../../src/store.ts";
import { ManualClock } from "../../src/testing.ts";
import { fixBytes, fixBytesOfSize } from "./contract.ts";

const id = new SessionId("A", "B");

/**
 * Counts the atomic commits made through `kv`; from the `failAt`-th on they die like a killed
 * process's (a killed process commits nothing more, also what it had in flight).
 */
function instrument(kv: Deno.Kv, failAt = 0): { kv: Deno.Kv; commits: () => number } {
  let commits = 0;
  const wrapped = new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => {
            if (++commits >= failAt && failAt > 0) {
              return Promise.reject(new Error("process killed"));
            }
            return commit();
          };
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
  return { kv: wrapped, commits: () => commits };
}

function logLines(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const push = (m: string) => lines.push(m);
  return { lines, logger: { debug: () => {}, info: push, warn: push, error: push } };
}

async function readAll(store: SeqStore): Promise<Map<number, Uint8Array>> {
  const out = new Map<number, Uint8Array>();
  for await (const m of store.readOutgoing(1, Number.MAX_SAFE_INTEGER)) out.set(m.seqNum, m.bytes);
  return out;
}

Deno.test("kv store refuses a message over its size limit before committing anything", async (t) => {
  await t.step("with the default prefix the limit is KV_MAX_MESSAGE_BYTES", async () => {
    const kv = await Deno.openKv(":memory:");
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) })
      .open(id, { nowMs: 0 }) as KvSeqStore;
    try {
      assert.equal(s.maxMessageBytes, KV_MAX_MESSAGE_BYTES);
      s.appendOutgoing(1, fixBytes(1));
      s.appendOutgoing(2, fixBytesOfSize(2, KV_MAX_MESSAGE_BYTES + 1));
      await assert.rejects(s.flush(), (e: Error) => {
        assert.ok(e instanceof RangeError);
        assert.equal(
          e.message,
          `Cannot store message: MsgSeqNum 2 of session "A->B" is ${
            KV_MAX_MESSAGE_BYTES + 1
          } bytes, over the KV store's limit of ${KV_MAX_MESSAGE_BYTES} bytes`,
        );
        return true;
      });
      // Nothing of the batch was committed, not even message 1 or the numbers.
      const seen = await readKvStore(kv, id);
      assert.deepEqual(seen.messages, []);
      assert.equal(seen.state, undefined);
      // The store goes on: a message of exactly the limit fits one commit.
      const max = fixBytesOfSize(3, KV_MAX_MESSAGE_BYTES);
      s.appendOutgoing(3, max);
      await s.flush();
      const after = await readKvStore(kv, id);
      assert.deepEqual(after.messages.map((m) => m.seqNum), [3]);
      assert.deepEqual(after.messages[0].bytes, max);
      assert.equal(after.state?.nextSenderSeqNum, 4); // 1 and 2 are gap-filled on resend
    } finally {
      await s.close();
      kv.close();
    }
  });

  await t.step("a long key prefix lowers the limit, and the limit still fits", async () => {
    const kv = await Deno.openKv(":memory:");
    const prefix = ["p".repeat(1500)];
    const s = await new KvSeqStoreFactory(kv, { prefix, clock: new ManualClock(0) })
      .open(id, { nowMs: 0 }) as KvSeqStore;
    try {
      assert.ok(s.maxMessageBytes < KV_MAX_MESSAGE_BYTES, `${s.maxMessageBytes}`);
      s.appendOutgoing(1, fixBytesOfSize(1, s.maxMessageBytes + 1));
      await assert.rejects(s.flush(), RangeError);
      const max = fixBytesOfSize(2, s.maxMessageBytes);
      s.appendOutgoing(2, max);
      await s.flush();
      assert.deepEqual((await readKvStore(kv, id, { prefix })).messages[0].bytes, max);
    } finally {
      await s.close();
      kv.close();
    }
  });
});

Deno.test("kv store commits a batch beyond KV's per-commit limits in several commits", async (t) => {
  await t.step("more messages than KV's 1000 mutations", async () => {
    const { kv, commits } = instrument(await Deno.openKv(":memory:"));
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
    try {
      const before = commits();
      for (let i = 1; i <= 2500; i++) s.appendOutgoing(i, fixBytes(i));
      await s.flush();
      assert.equal(commits() - before, 3);
      const all = await readAll(s);
      assert.equal(all.size, 2500);
      assert.deepEqual(all.get(2500), fixBytes(2500));
    } finally {
      await s.close();
      kv.close();
    }
  });

  await t.step("more bytes than KV's 800 KiB", async () => {
    const { kv, commits } = instrument(await Deno.openKv(":memory:"));
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
    try {
      const sent = new Map<number, Uint8Array>();
      for (let i = 1; i <= 10; i++) sent.set(i, fixBytesOfSize(i, 300 * 1024));
      for (const [i, m] of sent) s.appendOutgoing(i, m);
      const before = commits();
      await s.flush();
      assert.equal(commits() - before, 5); // two 300 KiB messages per commit
      s.setNextTargetSeqNum(7);
      await s.close();
      const again = await new KvSeqStoreFactory(kv).open(id, { nowMs: 0 });
      assert.deepEqual(await readAll(again), sent);
      assert.equal(again.state.nextSenderSeqNum, 11);
      assert.equal(again.state.nextTargetSeqNum, 7);
      await again.close();
    } finally {
      kv.close();
    }
  });
});

Deno.test("kv store: a crash inside a split batch leaves whole messages and their sender number", async (t) => {
  // Alternating chunked (300 KiB, 5 chunks each) and small messages: 4 per commit, 3 commits.
  const sent = new Map<number, Uint8Array>();
  for (let i = 1; i <= 12; i++) sent.set(i, i % 2 ? fixBytesOfSize(i, 300 * 1024) : fixBytes(i));
  for (const failAt of [1, 2, 3]) {
    await t.step(`killed at commit ${failAt} of 3`, async () => {
      const raw = await Deno.openKv(":memory:");
      try {
        // Commit 1 is the claim at open; the batch's commits follow.
        const { kv } = instrument(raw, 1 + failAt);
        const a = await new KvSeqStoreFactory(kv, { leaseMs: 100, clock: new ManualClock(0) })
          .open(id, { nowMs: 0 });
        for (const [i, m] of sent) a.appendOutgoing(i, m);
        a.setNextTargetSeqNum(5);
        await assert.rejects(a.flush(), /process killed/);
        // That process is gone; the next one opens once the lease ran out.
        const b = await new KvSeqStoreFactory(raw, { clock: new ManualClock(1000) })
          .open(id, { nowMs: 0 });
        const stored = await readAll(b);
        const k = 4 * (failAt - 1);
        assert.deepEqual([...stored.keys()], [...sent.keys()].slice(0, k));
        for (const [i, m] of stored) assert.deepEqual(m, sent.get(i), `message ${i}`);
        assert.equal(b.state.nextSenderSeqNum, k + 1);
        assert.equal(b.state.nextTargetSeqNum, 1, "the rest of the state comes with the last step");
        // The committed state itself says so (not only the recovery at open).
        assert.equal((await readKvStore(raw, id)).state?.nextSenderSeqNum, k ? k + 1 : undefined);
        await b.close();
      } finally {
        raw.close();
      }
    });
  }
});

Deno.test("kv store: a live idle owner keeps its session past the lease", async (t) => {
  // Two processes' clocks, moved together while both are alive.
  const clockA = new ManualClock(0);
  const clockB = new ManualClock(0);
  const both = async (ms: number) => {
    await clockA.advance(ms);
    await clockB.advance(ms);
  };
  const kv = await Deno.openKv(":memory:");
  const a = await new KvSeqStoreFactory(kv, { ownerId: "a", leaseMs: 300, clock: clockA })
    .open(id, { nowMs: 0 });
  const b = new KvSeqStoreFactory(kv, { ownerId: "b", leaseMs: 300, clock: clockB });
  try {
    await t.step("idle for three leases, the owner still holds the session", async () => {
      for (let i = 0; i < 18; i++) {
        await both(50);
        await a.flush(); // nothing to write: waits for the renewal in progress, if any
      }
      assert.equal(clockB.now(), 900);
      const owner = (await readKvStore(kv, id)).owner;
      assert.equal(owner?.ownerId, "a");
      assert.ok(owner!.expiresAtMs > 900, `${owner?.expiresAtMs}`);
      await assert.rejects(b.open(id, { nowMs: 0 }), (e: Error) => {
        assert.ok(e instanceof StoreLockedError, `${e}`);
        assert.match(e.message, /owned by another process \(a\)/);
        return true;
      });
    });

    await t.step("once the owner closed, a second process opens it at once", async () => {
      a.appendOutgoing(1, fixBytes(1));
      await a.close();
      const s = await b.open(id, { nowMs: 0 });
      assert.deepEqual([...(await readAll(s)).keys()], [1]);
      await s.close();
    });
  } finally {
    await a.close();
    kv.close();
  }
});

Deno.test("kv store: a crashed owner's session is taken over once its lease ran out", async () => {
  const clockA = new ManualClock(0);
  const clockB = new ManualClock(0);
  const kv = await Deno.openKv(":memory:");
  const { logger, lines } = logLines();
  const a = await new KvSeqStoreFactory(kv, { ownerId: "a", leaseMs: 300, clock: clockA, logger })
    .open(id, { nowMs: 0 });
  const b = new KvSeqStoreFactory(kv, { ownerId: "b", leaseMs: 300, clock: clockB, logger });
  try {
    for (let i = 0; i < 10; i++) {
      await clockA.advance(50);
      await clockB.advance(50);
      await a.flush();
    }
    // a's last renewal was at 500 (every 100 ms): its lease runs to 800. Now a stops (crash,
    // or a stall as long as a crash): its clock and timers no longer move.
    const expiresAtMs = (await readKvStore(kv, id)).owner!.expiresAtMs;
    assert.equal(expiresAtMs, 800);
    await clockB.advanceTo(expiresAtMs - 1);
    await assert.rejects(b.open(id, { nowMs: 0 }), /owned by another process/);
    await clockB.advance(1);
    const s = await b.open(id, { nowMs: 0 });
    assert.deepEqual(lines, ["taking over an expired store lease"]);
    // If the stalled process wakes up, it finds it lost the session and writes nothing.
    await clockA.advance(500);
    await a.flush();
    assert.deepEqual(lines.slice(1), ["store lease lost to another process"]);
    a.appendOutgoing(1, fixBytes(1));
    await assert.rejects(a.flush(), /now owned by another process/);
    await a.close().catch(() => {});
    s.appendOutgoing(1, fixBytes(2));
    await s.flush();
    assert.equal((await readKvStore(kv, id)).owner?.ownerId, "b");
    await s.close();
  } finally {
    kv.close();
  }
});

Deno.test("kv store: the lease timer stops at close", async () => {
  const clock = new ManualClock(0);
  const kv = await Deno.openKv(":memory:");
  const s = await new KvSeqStoreFactory(kv, { leaseMs: 300, clock }).open(id, { nowMs: 0 });
  assert.equal(clock.pendingTimers, 1);
  await s.close();
  assert.equal(clock.pendingTimers, 0);
  assert.equal((await readKvStore(kv, id)).owner, undefined);
  kv.close();
});

Deno.test("kv store with the default clock renews with a real timer and leaks none", async () => {
  const kv = await Deno.openKv(":memory:");
  const s = await new KvSeqStoreFactory(kv, { leaseMs: 60 }).open(id, { nowMs: 0 });
  const first = (await readKvStore(kv, id)).owner!.expiresAtMs;
  // Wait for a renewal to land: the owner record's versionstamp changes.
  const before = (await kv.get(["fixwire", id.key, "owner"])).versionstamp!;
  const watch = kv.watch([["fixwire", id.key, "owner"]]);
  for await (const [e] of watch) {
    if (e.versionstamp !== before) break;
  }
  assert.ok((await readKvStore(kv, id)).owner!.expiresAtMs > first);
  await s.close();
  kv.close();
});

Deno.test("kv store: a reset between a flush call and its commit leaves the durable numbers equal to the in-memory ones", async (t) => {
  /** Reopens the session from the same KV: what a restart would find. */
  async function durable(kv: Deno.Kv) {
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
    const state = { ...s.state };
    const stored = await readAll(s);
    await s.close();
    return { state, stored };
  }

  await t.step("a flush called before the reset, messages appended after it", async () => {
    const kv = await Deno.openKv(":memory:");
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
    try {
      for (let i = 1; i <= 5; i++) s.appendOutgoing(i, fixBytes(i));
      await s.flush();
      s.appendOutgoing(6, fixBytes(6));
      const early = s.flush(); // not awaited: its commit has not started
      const reset = s.reset(1000);
      for (let i = 1; i <= 3; i++) s.appendOutgoing(i, fixBytes(i));
      s.setNextTargetSeqNum(2);
      await Promise.all([early, reset, s.flush()]);
      assert.equal(s.state.nextSenderSeqNum, 4);
      await s.close();
      const { state, stored } = await durable(kv);
      assert.deepEqual(state, {
        nextSenderSeqNum: 4,
        nextTargetSeqNum: 2,
        creationTimeMs: 1000,
        correctlyTerminated: false,
      });
      assert.deepEqual([...stored.keys()], [1, 2, 3]);
      assert.deepEqual((await readKvStore(kv, id)).state?.nextSenderSeqNum, 4);
    } finally {
      await s.close();
      kv.close();
    }
  });

  await t.step("two resets, with messages after each", async () => {
    const kv = await Deno.openKv(":memory:");
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
    try {
      for (let i = 1; i <= 5; i++) s.appendOutgoing(i, fixBytes(i));
      await s.flush();
      const first = s.reset(1000);
      s.appendOutgoing(1, fixBytes(1));
      s.appendOutgoing(2, fixBytes(2));
      const second = s.reset(2000);
      s.appendOutgoing(1, fixBytes(1));
      await Promise.all([first, second, s.flush()]);
      assert.equal(s.state.nextSenderSeqNum, 2);
      await s.close();
      const { state, stored } = await durable(kv);
      assert.equal(state.nextSenderSeqNum, 2);
      assert.equal(state.creationTimeMs, 2000);
      assert.deepEqual([...stored.keys()], [1]);
    } finally {
      await s.close();
      kv.close();
    }
  });

  await t.step("a flush whose commit is in flight when the reset is called", async () => {
    const kv = await Deno.openKv(":memory:");
    const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
    try {
      for (let i = 1; i <= 5; i++) s.appendOutgoing(i, fixBytes(i));
      const inFlight = s.flush();
      await Promise.resolve(); // its commit has taken the batch and awaits KV
      const reset = s.reset(1000);
      s.appendOutgoing(1, fixBytes(1));
      await Promise.all([inFlight, reset, s.flush()]);
      await s.close();
      const { state, stored } = await durable(kv);
      assert.equal(state.nextSenderSeqNum, 2);
      assert.equal(state.creationTimeMs, 1000);
      assert.deepEqual([...stored.keys()], [1]);
    } finally {
      await s.close();
      kv.close();
    }
  });
});
