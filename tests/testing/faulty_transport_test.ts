import assert from "node:assert/strict";
import { ConnectionError } from "../../src/errors.ts";
import type { Connection, Listener } from "../../src/transport.ts";
import {
  type FaultEvent,
  FaultyConnection,
  FaultyTransport,
  type FaultyTransportOptions,
  ManualClock,
  memoryConnectionPair,
  MemoryTransport,
} from "../../src/testing.ts";
import { wrapConnection, WrappedTransport } from "../_wrapped_transport.ts";

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
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => from + i);

/** A listener, a client connected to it, and the accepted server side. */
async function open(transport: FaultyTransport): Promise<{
  listener: Listener;
  client: FaultyConnection;
  server: FaultyConnection;
  dispose: () => Promise<void>;
}> {
  const listener = await transport.listen({ host: "127.0.0.1", port: 0 });
  const client = await transport.connect(listener.addr);
  const accepted = listener[Symbol.asyncIterator]();
  const server = (await accepted.next()).value as FaultyConnection;
  return {
    listener,
    client,
    server,
    dispose: async () => {
      client.close();
      server.close();
      listener.close();
      await accepted.return?.();
    },
  };
}

const MIXED: FaultyTransportOptions = {
  dropRate: 0.2,
  reorderRate: 0.2,
  splitRate: 0.3,
  delayRate: 0.2,
  delayMs: 10,
  sides: "connected",
};

/** Twelve 4-byte writes through a faulty client; returns its fault log and what arrived. */
async function mixedRun(seed: number): Promise<{ faults: FaultEvent[]; chunks: number[][] }> {
  const clock = new ManualClock(0);
  const transport = new FaultyTransport(new MemoryTransport({ clock }), { ...MIXED, seed, clock });
  const { client, server, dispose } = await open(transport);
  const read = collect(server);
  const writes = range(0, 12).map((i) => client.write(bytes(i, i, i, i)));
  await clock.advance(100);
  await Promise.all(writes);
  await dispose();
  await read.done;
  return { faults: [...client.faults], chunks: read.chunks };
}

Deno.test("faulty transport with a fixed seed injects the same faults on every run", async () => {
  const first = await mixedRun(42);
  const second = await mixedRun(42);
  assert.deepEqual(second, first);
  assert.deepEqual(first.faults, [
    { type: "delay", write: 0, ms: 10 },
    { type: "delay", write: 2, ms: 10 },
    { type: "reorder", write: 4 },
    { type: "drop", write: 5 },
    { type: "drop", write: 6 },
    { type: "split", write: 7, offset: 2 },
    { type: "split", write: 8, offset: 1 },
    { type: "split", write: 9, offset: 1 },
    { type: "drop", write: 10 },
    { type: "drop", write: 11 },
  ]);
  assert.deepEqual(first.chunks, [
    [0, 0, 0, 0],
    [1, 1, 1, 1],
    [2, 2, 2, 2],
    [3, 3, 3, 3],
    [7, 7],
    [4, 4, 4, 4],
    [7, 7],
    [8],
    [8, 8, 8],
    [9],
    [9, 9, 9],
  ]);
  const other = await mixedRun(43);
  assert.notDeepEqual(other.faults, first.faults);
});

Deno.test("faulty transport gives connection k the seed plus k", async () => {
  const clock = new ManualClock(0);
  const options = { seed: 5, dropRate: 0.5, splitRate: 0.5 };
  const transport = new FaultyTransport(new MemoryTransport({ clock }), options);
  const { client, server, dispose } = await open(transport);
  assert.deepEqual(transport.connections, [client, server]);
  const alone = (seed: number) => {
    const [a, b] = memoryConnectionPair();
    const c = new FaultyConnection(a, { ...options, seed });
    return { c, b };
  };
  const [c5, c6] = [alone(5), alone(6)];
  const payload = bytes(1, 2, 3, 4, 5, 6);
  for (let i = 0; i < 8; i++) {
    await Promise.all([client, server, c5.c, c6.c].map((c) => c.write(payload)));
  }
  assert.deepEqual(client.faults, c5.c.faults);
  assert.deepEqual(server.faults, c6.c.faults);
  assert.notDeepEqual(client.faults, server.faults);
  await dispose();
  c5.c.close();
  c6.c.close();
});

Deno.test("faulty connection reset cuts the stream at the configured byte", async () => {
  const clock = new ManualClock(0);
  const transport = new FaultyTransport(new MemoryTransport({ clock }), { resetAfterBytes: 10 });
  const { client, server, dispose } = await open(transport);
  const read = collect(server);
  await client.write(bytes(...range(0, 8)));
  const cut = track(client.write(bytes(...range(8, 16))));
  const later = track(client.write(bytes(16)));
  await clock.advance(0);
  assert.equal(cut.state, "rejected");
  assert.ok(cut.error instanceof ConnectionError);
  assert.equal(
    (cut.error as Error).message,
    "Cannot write: connection to 127.0.0.1:40000 was reset",
  );
  assert.equal(later.state, "rejected");
  assert.deepEqual(client.faults, [{ type: "reset", write: 1, atByte: 10 }]);
  assert.equal(await client.closed, "connection reset");
  assert.equal(await server.closed, "connection reset");
  await read.done;
  assert.deepEqual(read.chunks.flat(), range(0, 10));
  assert.equal(client.bytesWritten, 8);
  await assert.rejects(client.write(bytes(1)), ConnectionError);
  await dispose();
});

Deno.test("faulty connection reset at a write boundary fires on the next write", async () => {
  const [a, b] = memoryConnectionPair();
  const faulty = new FaultyConnection(a, { resetAfterBytes: 3 });
  await faulty.write(bytes(1, 2, 3));
  await assert.rejects(faulty.write(bytes(4)), ConnectionError);
  assert.deepEqual(faulty.faults, [{ type: "reset", write: 1, atByte: 3 }]);
  assert.equal(await b.closed, "connection reset");
  const read = collect(b);
  await read.done;
  assert.deepEqual(read.chunks, [], "the reset discards the bytes b had not read");
});

Deno.test("faulty connection drop resolves the write and loses its bytes", async () => {
  const [a, b] = memoryConnectionPair();
  const faulty = new FaultyConnection(a, { dropRate: 1 });
  const read = collect(b);
  await faulty.write(bytes(1, 2));
  await faulty.write(bytes(3));
  assert.equal(faulty.bytesWritten, 3);
  assert.equal(a.bytesWritten, 0);
  assert.deepEqual(faulty.faults, [{ type: "drop", write: 0 }, { type: "drop", write: 1 }]);
  faulty.close();
  await read.done;
  assert.deepEqual(read.chunks, []);
});

Deno.test("faulty connection split sends a write as two chunks", async () => {
  const [a, b] = memoryConnectionPair();
  const faulty = new FaultyConnection(a, { splitRate: 1, seed: 9 });
  const read = collect(b);
  await faulty.write(bytes(1, 2, 3, 4, 5));
  await faulty.write(bytes(6));
  faulty.close();
  await read.done;
  const split = faulty.faults[0];
  assert.equal(faulty.faults.length, 1, "a single byte cannot be split");
  assert.ok(split.type === "split");
  assert.deepEqual(read.chunks, [
    range(1, 1 + split.offset),
    range(1 + split.offset, 6),
    [6],
  ]);
});

Deno.test("faulty connection reorder swaps adjacent writes", async () => {
  const [a, b] = memoryConnectionPair();
  const faulty = new FaultyConnection(a, { reorderRate: 1 });
  const read = collect(b);
  for (const n of [1, 2, 3, 4, 5]) await faulty.write(bytes(n));
  assert.deepEqual(faulty.faults, [
    { type: "reorder", write: 0 },
    { type: "reorder", write: 2 },
    { type: "reorder", write: 4 },
  ]);
  faulty.close();
  await read.done;
  assert.deepEqual(read.chunks, [[2], [1], [4], [3]], "the last held write is lost at close");
});

Deno.test("faulty connection delay sends a write exactly delayMs after it was written", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const faulty = new FaultyConnection(a, { delayRate: 1, delayMs: 30, clock });
  const read = collect(b);
  const first = track(faulty.write(bytes(1)), clock);
  await clock.advance(10);
  const second = track(faulty.write(bytes(2)), clock);
  await clock.advance(19);
  assert.equal(first.state, "pending");
  assert.equal(faulty.pendingWrites, 2);
  assert.deepEqual(read.chunks, []);
  await clock.advance(1);
  assert.equal(first.atMs, 30);
  assert.deepEqual(read.chunks, [[1]]);
  await clock.advance(10);
  assert.equal(second.atMs, 40);
  assert.deepEqual(read.chunks, [[1], [2]]);
  assert.equal(faulty.pendingWrites, 0);
  faulty.close();
  await read.done;
});

Deno.test("faulty connection close rejects queued and delayed writes at once", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const faulty = new FaultyConnection(a, { delayRate: 1, delayMs: 30, clock });
  const writes = [track(faulty.write(bytes(1))), track(faulty.write(bytes(2)))];
  await clock.advance(0);
  assert.equal(clock.pendingTimers, 1);
  faulty.close("bye");
  assert.equal(clock.pendingTimers, 0);
  await clock.advance(0);
  assert.deepEqual(writes.map((w) => w.state), ["rejected", "rejected"]);
  assert.ok(writes[0].error instanceof ConnectionError);
  assert.equal(faulty.pendingWrites, 0);
  assert.equal(await faulty.closed, "bye");
  assert.equal(await b.closed, "peer closed");
});

Deno.test("faulty connection half-open trigger swallows the bytes after it", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const faulty = new FaultyConnection(a, { halfOpenAfterBytes: 2 });
  const read = collect(b);
  await faulty.write(bytes(1, 2, 3));
  await faulty.write(bytes(4));
  assert.deepEqual(faulty.faults, [{ type: "halfOpen", write: 0, atByte: 2 }]);
  assert.equal(faulty.bytesWritten, 4);
  faulty.close();
  await clock.advance(0);
  assert.deepEqual(read.chunks, [[1, 2]]);
  const closedB = track(b.closed.then(() => {}));
  await clock.advance(0);
  assert.equal(closedB.state, "pending", "the vanished peer never hears the close");
  b.close();
  await read.done;
});

Deno.test("faulty connection block trigger holds the write carrying the byte", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const faulty = new FaultyConnection(a, { blockWritesAfterBytes: 2 });
  const read = collect(b);
  const w = track(faulty.write(bytes(1, 2, 3)));
  await clock.advance(60_000);
  assert.equal(w.state, "pending");
  assert.equal(faulty.pendingWrites, 1);
  assert.equal(a.pendingWrites, 1);
  assert.deepEqual(read.chunks, [[1, 2]]);
  faulty.unblockWrites();
  await clock.advance(0);
  assert.equal(w.state, "resolved");
  assert.deepEqual(read.chunks, [[1, 2], [3]]);
  faulty.blockWrites();
  const held = track(faulty.write(bytes(4)));
  faulty.close();
  await clock.advance(0);
  assert.equal(held.state, "rejected");
  await read.done;
});

Deno.test("faulty connection controls act on the wrapped memory connection", async () => {
  const clock = new ManualClock(0);
  const [a, b] = memoryConnectionPair({ clock });
  const faulty = new FaultyConnection(a);
  const read = collect(b);
  faulty.setWriteLatency(5);
  const w = track(faulty.write(bytes(1)), clock);
  await clock.advance(5);
  assert.equal(w.atMs, 5);
  faulty.setWriteLatency(0);
  faulty.halfOpen({ windowBytes: 0 });
  const stuck = track(faulty.write(bytes(2)));
  await clock.advance(0);
  assert.equal(stuck.state, "pending");
  faulty.abort("test");
  await clock.advance(0);
  assert.equal(stuck.state, "rejected");
  assert.equal(await faulty.closed, "test");
  b.close();
  await read.done;
  assert.deepEqual(read.chunks, [[1]]);
});

Deno.test("faulty connection controls need a wrapped connection that has them", async () => {
  const [a, b] = memoryConnectionPair();
  const plain = wrapConnection(a, {});
  const faulty = new FaultyConnection(plain);
  assert.throws(
    () => faulty.blockWrites(),
    new TypeError('Cannot block writes: the wrapped connection has no "blockWrites"'),
  );
  assert.throws(() => faulty.halfOpen(), TypeError);
  assert.throws(() => faulty.setWriteLatency(1), TypeError);
  assert.throws(
    () => new FaultyConnection(plain, { halfOpenAfterBytes: 1 }),
    new TypeError('Cannot inject faults: the wrapped connection has no "halfOpen"'),
  );
  faulty.abort("no reset here");
  assert.equal(await a.closed, "no reset here", "abort falls back to close");
  assert.equal(await b.closed, "peer closed");
});

Deno.test("faulty transport refuses a connection lacking a control its triggers need", async () => {
  const memory = new MemoryTransport();
  const plain = new WrappedTransport(memory, (c) => wrapConnection(c, {}));
  const transport = new FaultyTransport(plain, { blockWritesAfterBytes: 1 });
  const listener = await memory.listen({ host: "127.0.0.1", port: 0 });
  await assert.rejects(transport.connect(listener.addr), TypeError);
  const accepted = listener[Symbol.asyncIterator]();
  const server = (await accepted.next()).value as Connection;
  assert.equal(await server.closed, "peer closed", "the refused connection was closed");
  listener.close();
  await accepted.return?.();
});

Deno.test("faulty transport faults only the chosen sides but wraps both", async () => {
  const transport = new FaultyTransport(new MemoryTransport(), {
    dropRate: 1,
    sides: "accepted",
  });
  const { client, server, dispose } = await open(transport);
  const fromClient = collect(server);
  const fromServer = collect(client);
  await client.write(bytes(1));
  await server.write(bytes(2));
  assert.deepEqual(client.faults, []);
  assert.deepEqual(server.faults, [{ type: "drop", write: 0 }]);
  await dispose();
  await fromClient.done;
  await fromServer.done;
  assert.deepEqual(fromClient.chunks, [[1]]);
  assert.deepEqual(fromServer.chunks, []);
});

Deno.test("faulty transport checks its options", () => {
  const memory = new MemoryTransport();
  assert.throws(
    () => new FaultyTransport(memory, { dropRate: 2 }),
    new RangeError('Cannot inject faults: "dropRate" must be from 0 to 1, got "2"'),
  );
  assert.throws(
    () => new FaultyTransport(memory, { delayRate: 0.5 }),
    new TypeError('Cannot inject faults: "delayRate" needs a "clock"'),
  );
  assert.throws(() => new FaultyTransport(memory, { resetAfterBytes: -1 }), RangeError);
  assert.throws(() => new FaultyTransport(memory, { resetAfterBytes: 1.5 }), RangeError);
  assert.throws(() => new FaultyTransport(memory, { delayMs: 0 }), RangeError);
});
