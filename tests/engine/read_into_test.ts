// Reading a connection with a sink object: over `readInto` where the connection offers it (the
// engine then never iterates it), else over its async iterator with for-await's rules (leaving
// early closes the iteration, a failed read or a failing sink ends the reading once).
import assert from "node:assert/strict";
import { ChunkReader } from "../../src/engine/_read.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { MemoryTransport } from "../../src/testing.ts";
import type { ChunkSink, Connection } from "../../src/transport.ts";
import { wrapConnection, WrappedTransport } from "../_wrapped_transport.ts";
import { timeout } from "./_waits.ts";
import { enginePair, order } from "./_pair.ts";

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);

/** Records what a reader hears, reading again after each chunk (or throwing, if told to). */
class Recorder extends ChunkReader {
  readonly heard: string[] = [];
  readonly ended = Promise.withResolvers<void>();
  constructor(conn: Connection, readonly onChunkThrows = false) {
    super(conn);
  }
  onChunk(chunk: Uint8Array): void {
    this.heard.push(text(chunk));
    if (this.onChunkThrows) throw new Error("sink broke");
    this.readNext();
  }
  onEnd(error?: unknown): void {
    this.heard.push(error === undefined ? "end" : `end: ${(error as Error).message}`);
    this.ended.resolve();
  }
}

/** Hands an iteration step to a sink, as a connection's `readInto` does. */
function deliver(step: Promise<IteratorResult<Uint8Array>>, sink: ChunkSink): void {
  step.then((r) => r.done ? sink.onEnd() : sink.onChunk(r.value), (e) => sink.onEnd(e));
}

/** A connection over a script of reads, with or without `readInto`, counting both ways. */
function scripted(reads: (string | Error)[], withReadInto: boolean) {
  let i = 0;
  const stats = { readInto: 0, next: 0, returned: 0, closedWith: undefined as string | undefined };
  const nextRead = (): Promise<IteratorResult<Uint8Array>> => {
    const r = reads[i++];
    if (r === undefined) return Promise.resolve({ done: true, value: undefined });
    if (r instanceof Error) return Promise.reject(r);
    return Promise.resolve({ done: false, value: bytes(r) });
  };
  const conn: Connection = {
    localAddr: "l:1",
    remoteAddr: "r:2",
    remoteHost: "r",
    closed: Promise.resolve("closed"),
    write: () => Promise.resolve(),
    close: (reason?: string) => {
      stats.closedWith ??= reason;
    },
    [Symbol.asyncDispose]: () => Promise.resolve(),
    [Symbol.asyncIterator]: () => ({
      next: () => (stats.next++, nextRead()),
      return: () => {
        stats.returned++;
        return Promise.resolve({ done: true, value: undefined });
      },
    }),
  };
  if (withReadInto) {
    conn.readInto = (sink: ChunkSink) => {
      stats.readInto++;
      deliver(nextRead(), sink);
    };
  }
  return { conn, stats };
}

Deno.test("ChunkReader: over readInto when offered, the iterator never touched", async () => {
  const { conn, stats } = scripted(["a", "b"], true);
  const r = new Recorder(conn);
  r.readNext();
  assert.deepEqual(r.heard, [], "never during the call");
  await r.ended.promise;
  assert.deepEqual(r.heard, ["a", "b", "end"]);
  assert.equal(stats.readInto, 3);
  assert.equal(stats.next, 0);
  assert.equal(r.stop(), undefined);
  assert.equal(stats.returned, 0);
});

Deno.test("ChunkReader: over the iterator otherwise; leaving early closes it", async () => {
  const { conn, stats } = scripted(["a", "b"], false);
  const r = new Recorder(conn);
  r.readNext();
  await r.ended.promise;
  assert.deepEqual(r.heard, ["a", "b", "end"]);
  assert.equal(stats.next, 3);
  await r.stop();
  assert.equal(stats.returned, 1);
});

Deno.test("ChunkReader: a failed read ends the reading with its error, once", async () => {
  const { conn } = scripted(["a", new Error("reset")], false);
  const r = new Recorder(conn);
  r.readNext();
  await r.ended.promise;
  assert.deepEqual(r.heard, ["a", "end: reset"]);
});

Deno.test("ChunkReader: a failing sink closes the connection and ends the reading", async () => {
  const { conn, stats } = scripted(["a", "b"], false);
  const r = new Recorder(conn, true);
  r.readNext();
  await r.ended.promise;
  assert.deepEqual(r.heard, ["a", "end: sink broke"]);
  assert.equal(stats.closedWith, "reading failed: sink broke");
});

/** The memory transport's connections given `readInto`; iterating them fails the test. */
class ReadIntoTransport extends WrappedTransport {
  readIntos = 0;

  constructor() {
    super(new MemoryTransport(), (inner) => {
      const it = inner[Symbol.asyncIterator]();
      return {
        ...wrapConnection(inner, {}),
        [Symbol.asyncIterator]: () => {
          throw new Error("the engine iterated a connection that offers readInto");
        },
        readInto: (sink: ChunkSink) => {
          this.readIntos++;
          deliver(it.next(), sink);
        },
      };
    });
  }
}

Deno.test("engine: connections that offer readInto are read with it, from Logon to Logout", async () => {
  const transport = new ReadIntoTransport();
  const { acceptor, initiator, received, port, stop } = await enginePair(transport);
  const errors: unknown[] = [];
  for (const s of [acceptor, initiator]) {
    s.setListener({ ...s.listener, onEvent: (e) => e.type === "error" && errors.push(e.error) });
  }
  await initiator.connect(30, "127.0.0.1", port);
  await initiator.waitFor("established", timeout());
  for (const id of ["a", "b", "c"]) await initiator.put(order(id));
  await received.waitFor(3, timeout());
  assert.deepEqual(received.ids, ["a", "b", "c"]);
  await initiator.disconnect("done");
  // The acceptor read the Logout, answered it and waits for the next Logon.
  await acceptor.waitFor("waitingForLogon", timeout());
  // The first Logon (engine) and every later read (both sessions) went through readInto.
  assert.ok(transport.readIntos >= 6, `readInto calls: ${transport.readIntos}`);
  assert.deepEqual(errors, []);
  await stop();
});

for (const kind of ["readInto", "iteration"] as const) {
  Deno.test(`engine: what follows the Logon in the same chunk reaches the session (${kind})`, async () => {
    const transport = kind === "readInto" ? new ReadIntoTransport() : new MemoryTransport();
    // The initiator session stays unused: the test writes its bytes itself.
    const { acceptor, received, port, stop } = await enginePair(transport);
    const conn = await transport.connect({ host: "127.0.0.1", port });
    const now = formatUtcTimestamp(Date.now(), "ms");
    const header = (m: FixMessage, seq: number) =>
      encodeMessage(m.set(49, "INI").set(56, "ACC").set(34, seq).set(52, now), "FIX.4.4");
    const logon = header(new FixMessage("A").set(98, 0).set(108, 30), 1);
    const orderFrame = header(
      new FixMessage("D").set(11, "same-chunk").set(21, "1").set(55, "X").set(54, "1")
        .set(60, now).set(38, 100).set(40, "1"),
      2,
    );
    // One write: the engine's first read takes both.
    const both = new Uint8Array(logon.length + orderFrame.length);
    both.set(logon);
    both.set(orderFrame, logon.length);
    await conn.write(both);
    await received.waitFor(1, timeout());
    assert.deepEqual(received.ids, ["same-chunk"]);
    assert.equal(acceptor.state, "established");
    conn.close();
    await stop();
  });
}
