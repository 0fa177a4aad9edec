// The link hands each batch's bytes to the socket without a copy (FixEncoder.lend) and gives
// the buffer back to its encoder once the write is done: no new buffer per batch, and a buffer
// is never written over while a write of it is in flight.
import assert from "node:assert/strict";
import { FixMessage } from "../../src/message/fix_message.ts";
import { MemorySeqStoreFactory, type SeqStore } from "../../src/store.ts";
import { SessionId } from "../../src/session_id.ts";
import { established, T0 } from "./_harness.ts";

const order = (i: number) =>
  new FixMessage("D").set(11, `o${i}`).set(21, "1").set(55, "X").set(54, "1").set(38, 1)
    .set(40, "1");

/** Records the buffer of every write on the harness's connection. */
function watchBuffers(conn: { write(bytes: Uint8Array): Promise<void> }): Set<ArrayBufferLike> {
  const buffers = new Set<ArrayBufferLike>();
  const write = conn.write.bind(conn);
  conn.write = (bytes: Uint8Array) => {
    buffers.add(bytes.buffer);
    return write(bytes);
  };
  return buffers;
}

Deno.test("a link writes its batches from two buffers in turn, however many it sends", async () => {
  const h = await established();
  const buffers = watchBuffers(h.conn);
  for (let i = 0; i < 40; i++) {
    await h.session.put(order(i));
    await h.settle();
  }
  const got = h.peer.take();
  assert.equal(got.length, 40);
  got.forEach((m, i) => assert.match(m, new RegExp(`\\|34=${i + 2}\\|.*\\|11=o${i}\\|`)));
  // Forty batches, forty writes: the buffer of each comes back once written.
  assert.equal(h.counter.writes >= 40, true);
  assert.ok(buffers.size <= 2, `${buffers.size} buffers`);
  await h.close();
});

/** A memory store that persists only through the awaited `flush` (as the KV store does). */
async function awaitedStore(): Promise<SeqStore> {
  const memory = await new MemorySeqStoreFactory().open(new SessionId("FW", "PEER"), {
    nowMs: T0,
  });
  return new Proxy(memory, {
    get(target, key) {
      if (key === "flushSync" || key === "flushOutgoing") return undefined;
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as SeqStore;
}

Deno.test("a buffer lent to a write in flight is not written over by the batches after it", async () => {
  const store = await awaitedStore();
  const h = await established({ store });
  const release = h.holdWrites();
  // Every batch is taken while the first write is held: each needs a buffer of its own.
  for (let i = 0; i < 12; i++) {
    await h.session.put(order(i));
    await h.settle();
  }
  assert.deepEqual(h.peer.take(), []);
  release();
  await h.settle();
  const got = h.peer.take();
  assert.equal(got.length, 12);
  got.forEach((m, i) => assert.match(m, new RegExp(`\\|34=${i + 2}\\|.*\\|11=o${i}\\|`)));
  // Once written they come back: the next batches take turns in two of them.
  const buffers = watchBuffers(h.conn);
  for (let i = 12; i < 30; i++) {
    await h.session.put(order(i));
    await h.settle();
  }
  assert.equal(h.peer.take().length, 18);
  assert.ok(buffers.size <= 2, `${buffers.size} buffers`);
  await h.close();
  await store.close();
});

Deno.test("a write still in flight on the last connection does not hold up the next one's", async () => {
  const h = await established();
  const release = h.holdWrites();
  // A write on this connection that does not end before the connection does.
  await h.session.put(order(0));
  await h.settle();
  await h.reconnect();
  // The next Logon's answer is written while that write is still in flight.
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 2 });
  h.peer.seq = 3;
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  release();
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.match(h.peer.take()[0], /^35=A\|/);
  // Both writes ended: nothing counts as a write in flight that the peer never takes (a
  // heartbeat timeout, 36 s, with one would drop the connection although the peer reads).
  for (let s = 0; s < 60; s += 10) {
    await h.clock.advance(10_000);
    await h.peer.send("0", []);
    await h.settle();
  }
  assert.equal(h.session.state, "established");
  assert.equal(h.events.some((e) => e.type === "disconnected" && e.atMs > T0), false);
  assert.ok(h.peer.take().some((m) => m.startsWith("35=0|")));
  await h.close();
});
