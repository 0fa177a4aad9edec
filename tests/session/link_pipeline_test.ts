// The group commit with a store that takes several flushes in flight (`flushesInFlight`, the KV
// store): batches are persisted while earlier ones still are, and each goes out once it and
// every one before it are persisted, in order.
import assert from "node:assert/strict";
import { FixMessage } from "../../src/message/fix_message.ts";
import { MemorySeqStoreFactory, type SeqStore } from "../../src/store.ts";
import { SessionId } from "../../src/session_id.ts";
import { established, T0 } from "./_harness.ts";

/** A store write the test settles. */
interface Flush {
  /** The store's next sender number when the flush was called. */
  nextSenderSeqNum: number;
  resolve(): void;
  reject(e: Error): void;
}

/**
 * A memory store that takes `depth` flushes in flight. While `manual`, each flush waits for the
 * test to settle it; as a pipelined store does, it resolves only once every earlier one has, and
 * rejects when one of those failed.
 */
async function pipelinedStore(depth: number) {
  const memory = await new MemorySeqStoreFactory().open(new SessionId("FW", "PEER"), {
    nowMs: T0,
  });
  const flushes: Flush[] = [];
  const control = { manual: false, flushes, memory, store: undefined as unknown as SeqStore };
  let last: Promise<void> = Promise.resolve();
  control.store = new Proxy(memory, {
    get(target, key) {
      if (key === "flushesInFlight") return depth;
      // Every write through the awaited path, as the KV store's.
      if (key === "flushSync" || key === "flushOutgoing") return undefined;
      if (key === "flush") {
        return () => {
          const before = last;
          let own: Promise<void> = Promise.resolve();
          if (control.manual) {
            own = new Promise<void>((resolve, reject) => {
              flushes.push({ nextSenderSeqNum: target.state.nextSenderSeqNum, resolve, reject });
            });
          }
          const done = own.then(() => before);
          done.catch(() => {});
          last = done.catch(() => {});
          return done;
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as SeqStore;
  return control;
}

const order = (i: number) =>
  new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "X").set(54, "1").set(38, 1)
    .set(40, "1");

type Pipelined = Awaited<ReturnType<typeof pipelinedStore>>;
type Established = Awaited<ReturnType<typeof established>>;

/**
 * Runs `body` on a session established over a store taking `depth` flushes in flight, its
 * flushes held for the test to settle; then lets every flush go and closes both.
 */
async function withPipelined(
  depth: number,
  body: (c: Pipelined, h: Established) => Promise<void>,
): Promise<void> {
  const c = await pipelinedStore(depth);
  const h = await established({ store: c.store });
  try {
    c.manual = true;
    await body(c, h);
  } finally {
    c.manual = false;
    for (const f of c.flushes) f.resolve();
    await h.close();
    await c.memory.close();
  }
}

/** Stops holding flushes, lets those held go, and waits for every put. */
async function allPersisted(c: Pipelined, puts: Promise<void>[]): Promise<void> {
  c.manual = false;
  for (const f of c.flushes) f.resolve();
  await Promise.all(puts);
}

/** The ClOrdIDs the peer has received so far, in order. */
function received(h: { peer: { take(): string[] } }, into: string[]): string[] {
  for (const m of h.peer.take()) into.push(m.match(/\|11=(o\d+)\|/)![1]);
  return into;
}

Deno.test("a burst of puts is persisted in pieces while earlier pieces still are, each sent once it and those before it are", async () => {
  await withPipelined(4, async (c, h) => {
    const got: string[] = [];
    // 2000 puts in one turn: pieces of 900 messages start their store writes as they fill up,
    // the rest goes with the flush at the end of the turn.
    const puts = Array.from({ length: 2000 }, (_, i) => h.session.put(order(i)));
    await h.settle();
    assert.deepEqual(
      c.flushes.map((f) => f.nextSenderSeqNum),
      [902, 1802, 2002],
      "three store writes in flight at once, each for the messages numbered before it",
    );
    assert.deepEqual(received(h, got), [], "nothing is sent before it is persisted");
    // The second piece is persisted first: it still waits for the first.
    c.flushes[1].resolve();
    await h.settle();
    assert.deepEqual(received(h, got), []);
    c.flushes[0].resolve();
    await h.settle();
    assert.deepEqual(received(h, got), Array.from({ length: 1800 }, (_, i) => `o${i}`));
    c.flushes[2].resolve();
    await h.settle();
    assert.deepEqual(received(h, got), Array.from({ length: 2000 }, (_, i) => `o${i}`));
    await allPersisted(c, puts);
  });
});

Deno.test("with several store writes in flight, the next batch's write starts before the first is done, up to the store's bound", async () => {
  await withPipelined(2, async (c, h) => {
    const got: string[] = [];
    // One put per turn: each turn's batch starts its write while fewer than two are in flight.
    const puts = [h.session.put(order(0))];
    await h.settle();
    puts.push(h.session.put(order(1)));
    await h.settle();
    puts.push(h.session.put(order(2)));
    await h.settle();
    assert.deepEqual(
      c.flushes.map((f) => f.nextSenderSeqNum),
      [3, 4],
      "two writes in flight; the third batch waits for room",
    );
    c.flushes[0].resolve();
    await h.settle();
    assert.deepEqual(received(h, got), ["o0"]);
    assert.deepEqual(c.flushes.map((f) => f.nextSenderSeqNum), [3, 4, 5]);
    c.flushes[1].resolve();
    c.flushes[2].resolve();
    await h.settle();
    assert.deepEqual(received(h, got), ["o0", "o1", "o2"]);
    await allPersisted(c, puts);
  });
});

Deno.test("a failed store write fails the batches in flight after it: none of them is sent", async () => {
  await withPipelined(4, async (c, h) => {
    const puts = Array.from({ length: 2000 }, (_, i) => h.session.put(order(i)));
    await h.settle();
    assert.equal(c.flushes.length, 3);
    // The later ones are persisted; the first fails.
    c.flushes[2].resolve();
    c.flushes[1].resolve();
    c.flushes[0].reject(new Error("disk gone"));
    await h.settle();
    const results = await Promise.allSettled(puts);
    assert.ok(results.every((r) => r.status === "rejected"), "every put of the burst failed");
    assert.deepEqual(received(h, []), [], "nothing of the burst was sent");
    assert.ok(
      h.events.some((e) => e.type === "error" && `${e.error}`.includes("disk gone")),
      "the failure is reported",
    );
  });
});

Deno.test("a put() nobody awaits fails with its store write without an unhandled rejection", async () => {
  await withPipelined(1, async (c, h) => {
    // The promise is dropped: its rejection must be handled by the engine. The runtime reports
    // one that is not at the end of the event loop's turn: a zero-delay timer is that turn.
    const unhandled: unknown[] = [];
    const hear = (e: PromiseRejectionEvent) => {
      unhandled.push(e.reason);
      e.preventDefault();
    };
    globalThis.addEventListener("unhandledrejection", hear);
    try {
      void h.session.put(order(0));
      await h.settle();
      assert.equal(c.flushes.length, 1);
      c.flushes[0].reject(new Error("disk gone"));
      await h.settle();
      await new Promise((r) => setTimeout(r, 0));
    } finally {
      globalThis.removeEventListener("unhandledrejection", hear);
    }
    assert.deepEqual(unhandled, [], "no unhandled rejection");
    assert.ok(h.events.some((e) => e.type === "error" && `${e.error}`.includes("disk gone")));
    assert.deepEqual(received(h, []), [], "not sent");
  });
});

Deno.test("idle() asked while a closed connection's last store write is in flight resolves when it lands", async () => {
  await withPipelined(1, async (c, h) => {
    // The connection ends; the link persists what it has (a write the test holds) before it
    // counts the connection as ended. Asked in between, idle() waits for that write.
    h.conn.close("peer gone");
    await h.settle();
    assert.ok(c.flushes.length >= 1, "a store write is in flight");
    let idle = false;
    const waiting = h.session.idle().then(() => idle = true);
    await h.settle();
    assert.equal(idle, false, "not idle while the write is in flight");
    for (const f of c.flushes) f.resolve();
    c.manual = false;
    await h.settle();
    assert.equal(idle, true, "idle once the write landed");
    await waiting;
  });
});
