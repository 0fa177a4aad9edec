import assert from "node:assert/strict";
import { ConnectionError } from "../../src/errors.ts";
import type { Connection } from "../../src/transport.ts";
import {
  ManualClock,
  MemoryConnection,
  memoryConnectionPair,
  MemoryTransport,
} from "../../src/testing.ts";

/** Reads `conn` in the background until it ends; `chunks` grows as chunks arrive. */
function collect(conn: Connection): { chunks: number[][]; done: Promise<void> } {
  const chunks: number[][] = [];
  const done = (async () => {
    for await (const chunk of conn) chunks.push([...chunk]);
  })();
  return { chunks, done };
}

interface Tracked {
  state: "pending" | "resolved" | "rejected";
  error: unknown;
  atMs: number | undefined;
}

/** Records how and when (on `clock`) a promise settles. */
function track(p: Promise<void>, clock?: ManualClock): Tracked {
  const t: Tracked = { state: "pending", error: undefined, atMs: undefined };
  p.then(
    () => {
      t.state = "resolved";
      t.atMs = clock?.now();
    },
    (err) => {
      t.state = "rejected";
      t.error = err;
      t.atMs = clock?.now();
    },
  );
  return t;
}

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("memoryConnectionPair returns two MemoryConnections that deliver a write at once", async () => {
  const [a, b] = memoryConnectionPair();
  assert.ok(a instanceof MemoryConnection);
  assert.ok(b instanceof MemoryConnection);
  const read = collect(b);
  const w = a.write(bytes(1, 2, 3));
  assert.equal(a.pendingWrites, 0);
  assert.equal(a.bytesWritten, 3);
  await w;
  a.close("done");
  await read.done;
  assert.deepEqual(read.chunks, [[1, 2, 3]]);
  assert.equal(await a.closed, "done");
  assert.equal(await b.closed, "peer closed");
});

Deno.test("memory connection keeps bytes delivered before close readable", async () => {
  const [a, b] = memoryConnectionPair({ chunkSize: 2 });
  await a.write(bytes(1, 2, 3));
  a.close();
  const read = collect(b);
  await read.done;
  assert.deepEqual(read.chunks, [[1, 2], [3]]);
  await assert.rejects(a.write(bytes(4)), ConnectionError);
  await assert.rejects(b.write(bytes(4)), ConnectionError);
});

Deno.test("memory connection holds a blocked write pending and undelivered until unblocked", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const read = collect(b);
  a.blockWrites();
  const first = track(a.write(bytes(1)));
  const second = track(a.write(bytes(2, 3)));
  await clock.advance(60_000);
  assert.equal(first.state, "pending");
  assert.equal(second.state, "pending");
  assert.equal(a.pendingWrites, 2);
  assert.equal(a.bytesWritten, 0);
  assert.deepEqual(read.chunks, []);

  const order: string[] = [];
  const p1 = a.write(bytes(4)).then(() => order.push("third"));
  a.unblockWrites();
  assert.equal(a.pendingWrites, 0);
  assert.equal(a.bytesWritten, 4);
  await clock.advance(0);
  assert.equal(first.state, "resolved");
  assert.equal(second.state, "resolved");
  await p1;
  assert.deepEqual(order, ["third"]);
  assert.deepEqual(read.chunks, [[1], [2, 3], [4]]);
  a.close();
  await read.done;
});

Deno.test("memory connection resolves writes held by blockWrites in order", async () => {
  const [a, b] = memoryConnectionPair();
  const read = collect(b);
  const order: number[] = [];
  await a.write(bytes(0)).then(() => order.push(0));
  a.blockWrites();
  const held = [1, 2, 3].map((n) => a.write(bytes(n)).then(() => order.push(n)));
  a.unblockWrites();
  const after = a.write(bytes(4)).then(() => order.push(4));
  await Promise.all([...held, after]);
  assert.deepEqual(order, [0, 1, 2, 3, 4]);
  a.close();
  await read.done;
  assert.deepEqual(read.chunks, [[0], [1], [2], [3], [4]]);
});

Deno.test("memory connection close rejects a blocked write and completes at once", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const read = collect(b);
  a.blockWrites();
  const pending = track(a.write(bytes(1, 2)));
  a.close("bye");
  assert.equal(a.pendingWrites, 0);
  await clock.advance(0);
  assert.equal(pending.state, "rejected");
  assert.ok(pending.error instanceof ConnectionError);
  assert.equal(
    (pending.error as Error).message,
    "Cannot write: connection to 127.0.0.1:50002 is closed",
  );
  assert.equal(await a.closed, "bye");
  assert.equal(await b.closed, "peer closed");
  await read.done;
  assert.deepEqual(read.chunks, []);
  assert.equal(a.bytesWritten, 0);
});

Deno.test("memory connection rejects pending writes on the side whose peer closes", async () => {
  const [a, b] = memoryConnectionPair();
  a.blockWrites();
  const pending = a.write(bytes(1));
  b.close();
  await assert.rejects(pending, ConnectionError);
  assert.equal(await a.closed, "peer closed");
});

Deno.test("memory connection with write latency delivers and resolves exactly at now + ms", async () => {
  const clock = new ManualClock(1_000);
  const [a, b] = memoryConnectionPair({ clock });
  const read = collect(b);
  a.setWriteLatency(50);
  const w = track(a.write(bytes(7)), clock);
  assert.equal(clock.nextTimerAtMs, 1_050);
  await clock.advance(49);
  assert.equal(w.state, "pending");
  assert.equal(a.pendingWrites, 1);
  assert.deepEqual(read.chunks, []);
  await clock.advance(1);
  assert.equal(w.state, "resolved");
  assert.equal(w.atMs, 1_050);
  assert.deepEqual(read.chunks, [[7]]);
  assert.equal(a.pendingWrites, 0);
  assert.equal(a.bytesWritten, 1);
  a.close();
  await read.done;
});

Deno.test("memory connection keeps write order when the latency is lowered", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const read = collect(b);
  a.setWriteLatency(100);
  const slow = track(a.write(bytes(1)), clock);
  a.setWriteLatency(10);
  const fast = track(a.write(bytes(2)), clock);
  a.setWriteLatency(0);
  const instant = track(a.write(bytes(3)), clock);
  await clock.advance(99);
  assert.deepEqual([slow.state, fast.state, instant.state], ["pending", "pending", "pending"]);
  assert.deepEqual(read.chunks, []);
  await clock.advance(1);
  assert.deepEqual([slow.atMs, fast.atMs, instant.atMs], [100, 100, 100]);
  assert.deepEqual(read.chunks, [[1], [2], [3]]);
  a.close();
  await read.done;
});

Deno.test("memory connection holds a due delayed write while blocked", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const read = collect(b);
  a.setWriteLatency(20);
  const w = track(a.write(bytes(1)), clock);
  a.blockWrites();
  await clock.advance(30);
  assert.equal(w.state, "pending");
  a.unblockWrites();
  await clock.advance(0);
  assert.equal(w.state, "resolved");
  assert.equal(w.atMs, 30);
  assert.deepEqual(read.chunks, [[1]]);
  a.close();
  await read.done;
});

Deno.test("memory connection close rejects a delayed write and cancels its timer", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  a.setWriteLatency(20);
  const pending = a.write(bytes(1));
  assert.equal(clock.pendingTimers, 1);
  a.close();
  assert.equal(clock.pendingTimers, 0);
  await assert.rejects(pending, ConnectionError);
  assert.equal(await b.closed, "peer closed");
});

Deno.test("memory connection setWriteLatency checks its argument and needs a clock", () => {
  const [a, b] = memoryConnectionPair();
  assert.throws(
    () => a.setWriteLatency(5),
    new TypeError(
      "Cannot set write latency: the pair was created without a clock (pass `clock` to memoryConnectionPair)",
    ),
  );
  a.setWriteLatency(0);
  const [c, d] = memoryConnectionPair({ clock: new ManualClock(0) });
  assert.throws(() => c.setWriteLatency(-1), RangeError);
  assert.throws(() => c.setWriteLatency(Infinity), RangeError);
  assert.throws(() => c.setWriteLatency(NaN), RangeError);
  a.close();
  c.close();
  b.close();
  d.close();
});

Deno.test("memory connection half-open swallows writes both ways and stays open", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  await b.write(bytes(9));
  a.halfOpen();
  const readA = collect(a);
  const readB = collect(b);
  await a.write(bytes(1, 2, 3));
  await b.write(bytes(4));
  assert.equal(a.bytesWritten, 3);
  assert.equal(b.bytesWritten, 2);
  await clock.advance(60_000);
  assert.deepEqual(readA.chunks, [[9]], "bytes delivered before stay readable");
  assert.deepEqual(readB.chunks, []);

  const closedB = track(b.closed.then(() => {}));
  a.close("gave up");
  assert.equal(await a.closed, "gave up");
  await readA.done;
  await clock.advance(0);
  assert.equal(closedB.state, "pending", "the vanished side never hears the close");
  await b.write(bytes(5));
  b.abort();
  assert.equal(await b.closed, "aborted");
  await readB.done;
  assert.deepEqual(readB.chunks, []);
});

Deno.test("memory connection half-open with a window blocks writes once it is full", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  a.halfOpen({ windowBytes: 5 });
  const first = track(a.write(bytes(1, 2, 3)));
  const second = track(a.write(bytes(4, 5, 6)));
  const third = track(a.write(bytes(7)));
  a.unblockWrites();
  await clock.advance(60_000);
  assert.equal(first.state, "resolved");
  assert.equal(second.state, "pending");
  assert.equal(third.state, "pending", "a later write never overtakes");
  assert.equal(a.pendingWrites, 2);
  assert.equal(a.bytesWritten, 3);
  a.close();
  await clock.advance(0);
  assert.equal(second.state, "rejected");
  assert.equal(third.state, "rejected");
  assert.ok(second.error instanceof ConnectionError);
  b.close();
  assert.throws(() => a.halfOpen({ windowBytes: -1 }), RangeError);
});

Deno.test("memory connection abort discards unread bytes and rejects pending writes on both sides", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  await a.write(bytes(1));
  await a.write(bytes(2));
  await b.write(bytes(3));
  a.blockWrites();
  b.blockWrites();
  const pendingA = track(a.write(bytes(4)));
  const pendingB = track(b.write(bytes(5)));
  a.abort();
  await clock.advance(0);
  assert.equal(pendingA.state, "rejected");
  assert.equal(pendingB.state, "rejected");
  assert.equal(
    (pendingA.error as Error).message,
    "Cannot write: connection to 127.0.0.1:50002 was reset",
  );
  assert.equal(await a.closed, "aborted");
  assert.equal(await b.closed, "connection reset");
  const readA = collect(a);
  const readB = collect(b);
  await readA.done;
  await readB.done;
  assert.deepEqual(readA.chunks, []);
  assert.deepEqual(readB.chunks, []);
  await assert.rejects(a.write(bytes(6)), ConnectionError);
});

Deno.test("memory connection abort ends a waiting reader with the given reason", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const read = collect(b);
  await a.write(bytes(1));
  await clock.advance(0);
  b.abort("test reset");
  await read.done;
  assert.deepEqual(read.chunks, [[1]]);
  assert.equal(await b.closed, "test reset");
  assert.equal(await a.closed, "connection reset");
  a.abort();
  assert.equal(await a.closed, "connection reset", "abort is idempotent");
});

Deno.test("memory connection async dispose closes both sides", async () => {
  const [a, b] = memoryConnectionPair();
  {
    await using _side = a;
  }
  assert.equal(await a.closed, "closed");
  assert.equal(await b.closed, "peer closed");
});

Deno.test("MemoryTransport gives MemoryConnections that time latency on its clock", async () => {
  const clock = new ManualClock(0);
  const transport = new MemoryTransport({ clock });
  const listener = await transport.listen({ host: "127.0.0.1", port: 0 });
  const client = await transport.connect(listener.addr);
  const accepted = listener[Symbol.asyncIterator]();
  const server = (await accepted.next()).value as Connection;
  const read = collect(server);
  client.setWriteLatency(25);
  const w = track(client.write(bytes(1)), clock);
  await clock.advance(25);
  assert.equal(w.atMs, 25);
  assert.deepEqual(read.chunks, [[1]]);
  client.close();
  await read.done;
  listener.close();
  await accepted.return?.();
});
