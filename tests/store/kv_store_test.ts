import assert from "node:assert/strict";
import {
  KV_MAX_MESSAGE_BYTES,
  type KvOwner,
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
  const wrapped = interceptCommits(kv, (commit) => {
    if (++commits >= failAt && failAt > 0) return Promise.reject(new Error("process killed"));
    return commit();
  });
  return { kv: wrapped, commits: () => commits };
}

type CommitOutcome = Deno.KvCommitResult | Deno.KvCommitError;

/** `kv`, with every atomic operation's `commit` going through `onCommit` (given the real one). */
function interceptCommits(
  kv: Deno.Kv,
  onCommit: (commit: () => Promise<CommitOutcome>) => Promise<CommitOutcome>,
): Deno.Kv {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === "atomic") {
        return () => {
          const op = target.atomic();
          const commit = op.commit.bind(op);
          op.commit = () => onCommit(commit);
          return op;
        };
      }
      const v = Reflect.get(target, prop, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
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

/**
 * Makes every commit through `kv` at once (KV applies them in that order) but holds its result
 * back from the store until `release(i)`, while `hold` is on; counts the commits in flight. With
 * `failAt`, that commit (1-based, from when `failAt` is set) fails without being made.
 */
function holding(kv: Deno.Kv) {
  const held: (() => void)[] = [];
  const c = {
    kv: kv,
    hold: false,
    inFlight: 0,
    maxInFlight: 0,
    made: 0,
    failAt: 0,
    held,
    /** Lets the `i`-th held result (0-based, in the order made) through. */
    release: (i: number) => held[i](),
    /** Stops holding and lets every held result through. */
    releaseAll: () => {
      c.hold = false;
      for (const r of held) r();
    },
  };
  c.kv = interceptCommits(kv, (commit) => {
    const failing = ++c.made === c.failAt;
    const r = failing ? Promise.reject(new Error("disk gone")) : commit();
    r.catch(() => {});
    c.maxInFlight = Math.max(c.maxInFlight, ++c.inFlight);
    const out = c.hold
      ? new Promise<CommitOutcome>((resolve, reject) => {
        held.push(() => r.then(resolve, reject));
      })
      : r;
    return out.finally(() => c.inFlight--);
  });
  return c;
}

type Held = ReturnType<typeof holding>;
type KvStore = Awaited<ReturnType<KvSeqStoreFactory["open"]>>;

/**
 * Runs `body` on a store over an in-memory database whose commits `holding` controls; then lets
 * every held commit go and closes both.
 */
async function withHeldCommits(
  body: (c: Held, s: KvStore, raw: Deno.Kv) => Promise<void>,
  commitsInFlight?: number,
): Promise<void> {
  const raw = await Deno.openKv(":memory:");
  const c = holding(raw);
  const s = await new KvSeqStoreFactory(c.kv, { clock: new ManualClock(0), commitsInFlight })
    .open(id, { nowMs: 0 });
  try {
    await body(c, s, raw);
  } finally {
    c.releaseAll();
    await s.close();
    raw.close();
  }
}

/** Lets promise chains settle (no timer, no I/O). */
async function settle(): Promise<void> {
  for (let i = 0; i < 50; i++) await Promise.resolve();
}

Deno.test("kv store has several commits in flight at once, up to commitsInFlight; each flush resolves after the earlier ones", async (t) => {
  for (const commitsInFlight of [4, 2]) {
    await t.step(`commitsInFlight ${commitsInFlight}`, async () => {
      await withHeldCommits(async (c, s, raw) => {
        c.hold = true;
        c.maxInFlight = c.inFlight;
        const resolved: number[] = [];
        const flushes = [1, 2, 3].map((i) => {
          s.appendOutgoing(i, fixBytes(i));
          s.setNextTargetSeqNum(i + 1);
          return s.flush().then(() => resolved.push(i));
        });
        await settle();
        assert.equal(
          c.maxInFlight,
          Math.min(3, commitsInFlight),
          "commits made before any is done",
        );
        // The later commits are done first: their flushes still wait for the first.
        for (let i = c.held.length - 1; i >= 1; i--) c.release(i);
        await settle();
        assert.deepEqual(resolved, []);
        c.release(0);
        await flushes[0];
        await settle();
        // With room for two, the third commit was made once the first was done.
        assert.equal(c.held.length, 3);
        c.hold = false;
        for (let i = 2; i < c.held.length; i++) c.release(i);
        await Promise.all(flushes);
        assert.deepEqual(resolved, [1, 2, 3]);
        const stored = await readKvStore(raw, id);
        assert.deepEqual(stored.messages.map((m) => m.seqNum), [1, 2, 3]);
        assert.equal(stored.state?.nextSenderSeqNum, 4);
        assert.equal(stored.state?.nextTargetSeqNum, 4);
      }, commitsInFlight);
    });
  }
});

Deno.test("one Deno.Kv handle applies commits in the order they were made, also in flight together", async (t) => {
  // The pipelined store relies on it: a later commit overtaken by an earlier one would move the
  // "state" key (the next sender number) back.
  const dir = await Deno.makeTempDir();
  try {
    for (const path of [":memory:", `${dir}/order.kv`]) {
      await t.step(path === ":memory:" ? "in memory" : "in a file", async () => {
        const kv = await Deno.openKv(path);
        try {
          const commits: Promise<unknown>[] = [];
          for (let i = 1; i <= 500; i++) {
            commits.push(kv.atomic().set(["n"], i).set(["m", i], i).commit());
          }
          await Promise.all(commits);
          assert.equal((await kv.get(["n"])).value, 500);
          // The versionstamps grow in the order the commits were made.
          const stamps: string[] = [];
          for await (const e of kv.list({ prefix: ["m"] })) stamps.push(e.versionstamp);
          assert.deepEqual(stamps, [...stamps].sort());
        } finally {
          kv.close();
        }
      });
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv store: flushes in flight together leave the durable numbers equal to the in-memory ones", async () => {
  const kv = await Deno.openKv(":memory:");
  const s = await new KvSeqStoreFactory(kv, { clock: new ManualClock(0) }).open(id, { nowMs: 0 });
  try {
    const flushes: Promise<void>[] = [];
    for (let i = 1; i <= 200; i++) {
      s.appendOutgoing(i, fixBytes(i));
      s.setNextTargetSeqNum(i + 1);
      if (i % 10 === 0) s.setNextSenderSeqNum(i + 5); // a gap fill's number, no message
      flushes.push(s.flush());
    }
    await Promise.all(flushes);
    assert.deepEqual((await readKvStore(kv, id)).state, s.state);
    assert.equal(s.state.nextSenderSeqNum, 205);
  } finally {
    await s.close();
    kv.close();
  }
});

Deno.test("kv store: a busy store renews its lease at a third of it, not with every commit", async (t) => {
  await t.step("renewed by the timer, on time, and by nothing else", async () => {
    const clock = new ManualClock(0);
    const kv = await Deno.openKv(":memory:");
    const owner = () => kv.get<KvOwner>(["fixwire", id.key, "owner"]);
    const s = await new KvSeqStoreFactory(kv, { leaseMs: 300, clock }).open(id, { nowMs: 0 });
    try {
      const stamps = new Set([(await owner()).versionstamp]);
      // A commit every 10 ms for 300 ms: the owner record changes once per 100 ms.
      for (let n = 1; n <= 30; n++) {
        s.appendOutgoing(n, fixBytes(n));
        await s.flush();
        stamps.add((await owner()).versionstamp);
        await clock.advance(10);
        stamps.add((await owner()).versionstamp);
      }
      assert.equal(stamps.size, 4, "the claim and three renewals");
      assert.equal((await owner()).value?.expiresAtMs, 600);
      assert.equal((await readKvStore(kv, id)).messages.length, 30);
    } finally {
      await s.close();
      kv.close();
    }
  });

  await t.step("a late timer: the commit made once the renewal is due renews it", async () => {
    let nowMs = 0;
    const stalled = { now: () => nowMs, setTimer: () => ({ cancel() {} }) };
    const kv = await Deno.openKv(":memory:");
    const owner = () => kv.get<KvOwner>(["fixwire", id.key, "owner"]);
    const s = await new KvSeqStoreFactory(kv, { leaseMs: 300, clock: stalled })
      .open(id, { nowMs: 0 });
    try {
      const claimed = await owner();
      nowMs = 99;
      s.appendOutgoing(1, fixBytes(1));
      await s.flush();
      assert.equal((await owner()).versionstamp, claimed.versionstamp);
      nowMs = 100;
      // Two flushes in flight: the first renews, the second checks the renewed record.
      s.appendOutgoing(2, fixBytes(2));
      const first = s.flush();
      s.appendOutgoing(3, fixBytes(3));
      await Promise.all([first, s.flush()]);
      assert.equal((await owner()).value?.expiresAtMs, 400);
      assert.deepEqual((await readKvStore(kv, id)).messages.map((m) => m.seqNum), [1, 2, 3]);
    } finally {
      await s.close();
      kv.close();
    }
  });
});

Deno.test("kv store: a takeover through another handle fails the commits in flight and the next ones with the clear error", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/shared.kv`;
  // Each handle has finished opening (its thread's start-up writes) before the other opens:
  // two connections setting up one new file at once can find it locked.
  const kvA = await Deno.openKv(path);
  await kvA.get(["ready"]);
  const kvB = await Deno.openKv(path);
  await kvB.get(["ready"]);
  const a = holding(kvA);
  const clockA = new ManualClock(0);
  const s = await new KvSeqStoreFactory(a.kv, { ownerId: "a", leaseMs: 300, clock: clockA })
    .open(id, { nowMs: 0 });
  try {
    s.appendOutgoing(1, fixBytes(1));
    await s.flush();
    // A stalls past its lease; B takes the session over through its own handle.
    const b = await new KvSeqStoreFactory(kvB, { ownerId: "b", clock: new ManualClock(1000) })
      .open(id, { nowMs: 0 });
    // A wakes up with two flushes in flight: neither is stored, both fail.
    const flushes = [2, 3].map((i) => {
      s.appendOutgoing(i, fixBytes(i));
      return s.flush();
    });
    for (const f of flushes) {
      await assert.rejects(
        f,
        new Error('Cannot write store: session "A->B" is now owned by another process'),
      );
    }
    s.appendOutgoing(4, fixBytes(4));
    await assert.rejects(s.flush(), /now owned by another process/);
    assert.deepEqual((await readKvStore(kvB, id)).messages.map((m) => m.seqNum), [1]);
    assert.equal((await readKvStore(kvB, id)).owner?.ownerId, "b");
    await s.close().catch(() => {});
    await b.close();
  } finally {
    kvA.close();
    kvB.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("kv store: a failed commit fails the flushes in flight with it; a flush after it goes on", async () => {
  await withHeldCommits(async (c, s, raw) => {
    c.hold = true;
    c.failAt = c.made + 1; // the first of the three
    const flushes = [1, 2, 3].map((i) => {
      s.appendOutgoing(i, fixBytes(i));
      return s.flush();
    });
    await settle();
    assert.equal(c.held.length, 3, "all three in flight");
    c.releaseAll();
    for (const f of flushes) await assert.rejects(f, /disk gone/);
    // Known failed: the next flush does not fail with it, and commits the numbers again.
    s.appendOutgoing(4, fixBytes(4));
    await s.flush();
    assert.equal((await readKvStore(raw, id)).state?.nextSenderSeqNum, 5);
  });
});

Deno.test("kv store: a reset called with several flushes in flight leaves the durable numbers equal to the in-memory ones", async () => {
  await withHeldCommits(async (c, s, raw) => {
    c.hold = true;
    const flushes = [1, 2, 3].map((i) => {
      s.appendOutgoing(i, fixBytes(i));
      return s.flush();
    });
    await settle();
    const reset = s.reset(1000);
    s.appendOutgoing(1, fixBytes(1));
    s.setNextTargetSeqNum(3);
    const after = s.flush();
    // The commits in flight land after the reset was called: the reset waits for them.
    c.releaseAll();
    await Promise.all([...flushes, reset, after]);
    const stored = await readKvStore(raw, id);
    assert.deepEqual(stored.state, s.state);
    assert.deepEqual(stored.state, {
      nextSenderSeqNum: 2,
      nextTargetSeqNum: 3,
      creationTimeMs: 1000,
      correctlyTerminated: false,
    });
    assert.deepEqual(stored.messages.map((m) => m.seqNum), [1]);
  });
});

Deno.test("kv store: a reset drops the messages of a flush not started yet, and keeps its inbound log", async () => {
  const kv = await Deno.openKv(":memory:");
  const factory = new KvSeqStoreFactory(kv, { clock: new ManualClock(0) });
  const s = await factory.open(id, { nowMs: 0, logIncoming: true });
  const text = new TextDecoder();
  try {
    s.appendOutgoing(1, fixBytes(1));
    s.appendIncoming(fixBytes(101));
    const early = s.flush(); // taken, its commit not started
    const reset = s.reset(1000);
    assert.deepEqual([...(await readAll(s)).keys()], [], "the dropped message is not read");
    s.appendIncoming(fixBytes(102));
    s.appendOutgoing(1, fixBytes(201));
    await Promise.all([early, reset, s.flush()]);
    await s.close();
    const again = await factory.open(id, { nowMs: 0 });
    const inbound: string[] = [];
    for await (const m of again.readIncoming()) inbound.push(text.decode(m));
    assert.deepEqual(inbound, [fixBytes(101), fixBytes(102)].map((b) => text.decode(b)));
    assert.deepEqual([...(await readAll(again)).entries()], [[1, fixBytes(201)]]);
    assert.equal(again.state.nextSenderSeqNum, 2);
    await again.close();
  } finally {
    await s.close();
    kv.close();
  }
});
