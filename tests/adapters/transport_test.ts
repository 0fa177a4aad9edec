import assert from "node:assert/strict";
import { TcpTransport } from "../../adapters/tcp.ts";
import { TlsTransport } from "../../adapters/tls.ts";
import { ConnectionError } from "../../src/errors.ts";
import type { Connection, Listener, Transport } from "../../src/transport.ts";

const fixtures = new URL("../fixtures/tls/", import.meta.url);
const read = (n: string) => Deno.readTextFileSync(new URL(n, fixtures));

async function readAll(conn: Connection, bytes: number): Promise<Uint8Array> {
  const out = new Uint8Array(bytes);
  let n = 0;
  for await (const chunk of conn) {
    out.set(chunk, n);
    n += chunk.length;
    if (n >= bytes) break;
  }
  return out.subarray(0, n);
}

async function roundTrip(server: Transport, client: Transport, host: string) {
  const listener: Listener = await server.listen({ host: "127.0.0.1", port: 0 });
  assert.ok(listener.addr.port > 0);
  const accepted = (async () => {
    for await (const c of listener) return c;
    throw new Error("no connection");
  })();
  const c = await client.connect({ host, port: listener.addr.port });
  const s = await accepted;
  const big = new Uint8Array(5_000_000).map((_, i) => i % 251);
  const [, got] = await Promise.all([c.write(big), readAll(s, big.length)]);
  assert.deepEqual(got, big);
  await s.write(new TextEncoder().encode("pong"));
  assert.equal(new TextDecoder().decode(await readAll(c, 4)), "pong");
  assert.equal(s.remoteHost, "127.0.0.1");
  c.close("client done");
  assert.equal(await c.closed, "client done");
  // The server side sees EOF.
  for await (const _ of s) { /* drain */ }
  assert.equal(await s.closed, "peer closed");
  await assert.rejects(s.write(new Uint8Array([1])), ConnectionError);
  listener.close();
  listener.close();
}

Deno.test("tcp: round trip of 5 MB both ways, close, write after close", async () => {
  await roundTrip(new TcpTransport(), new TcpTransport(), "127.0.0.1");
});

Deno.test("tcp: connection refused is a ConnectionError", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  await assert.rejects(new TcpTransport().connect({ host: "127.0.0.1", port }), ConnectionError);
});

Deno.test("tcp: an aborted connect rejects with the signal's reason", async () => {
  const listener = await new TcpTransport().listen({ host: "127.0.0.1", port: 0 });
  const ac = new AbortController();
  ac.abort(new Error("stop"));
  await assert.rejects(
    new TcpTransport().connect(listener.addr, { signal: ac.signal }),
    /stop/,
  );
  listener.close();
});

Deno.test("tls: round trip with a CA-signed leaf; a client without the CA is refused", async () => {
  const server = new TlsTransport({ cert: read("server.pem"), key: read("server.key") });
  await roundTrip(server, new TlsTransport({ caCerts: [read("ca.pem")] }), "localhost");
  const listener = await server.listen({ host: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const c of listener) {
      for await (const _ of c) { /* handshake fails */ }
      c.close();
    }
  })();
  await assert.rejects(
    new TlsTransport({}).connect({ host: "localhost", port: listener.addr.port }),
    ConnectionError,
  );
  listener.close();
  await accepting;
});

/** A TCP listener on 127.0.0.1, a client connection `c` to it and the server side `s`. */
async function tcpPair(): Promise<{ listener: Listener; c: Connection; s: Connection }> {
  const listener = await new TcpTransport().listen({ host: "127.0.0.1", port: 0 });
  const accepted = (async () => {
    for await (const c of listener) return c;
    throw new Error("no connection");
  })();
  const c = await new TcpTransport().connect({ host: "127.0.0.1", port: listener.addr.port });
  return { listener, c, s: await accepted };
}

Deno.test("tcp: closed asked for before the close resolves with its reason, once", async () => {
  const { listener, c, s } = await tcpPair();
  // Made when first asked for: the same promise before and after the close.
  const early = c.closed;
  assert.equal(c.closed, early);
  await c.write(new Uint8Array([1, 2, 3]));
  c.close("first reason");
  c.close("second reason");
  assert.equal(await early, "first reason");
  assert.equal(c.closed, early);
  s.close();
  listener.close();
});

Deno.test("tcp: iterations and readInto share one buffer and go on where the last stopped", async () => {
  const { listener, c, s } = await tcpPair();
  // As the engine reads the first Logon, then the session's read loop the rest.
  const next = (): Promise<IteratorResult<Uint8Array>> => s[Symbol.asyncIterator]().next();
  await c.write(new TextEncoder().encode("first"));
  const first = await next();
  assert.equal(new TextDecoder().decode(first.value), "first");
  await c.write(new TextEncoder().encode("second"));
  const second = await next();
  assert.equal(new TextDecoder().decode(second.value), "second");
  // One read buffer per connection, not one per iteration.
  assert.equal(second.value.buffer, first.value.buffer);
  await c.write(new TextEncoder().encode("third"));
  const events: string[] = [];
  const sink = {
    onChunk: (chunk: Uint8Array) => {
      events.push(new TextDecoder().decode(chunk));
      assert.equal(chunk.buffer, first.value.buffer);
    },
    onEnd: (error?: unknown) => events.push(`end ${error}`),
  };
  await new Promise<void>((resolve) => {
    s.readInto!({ ...sink, onChunk: (chunk) => (sink.onChunk(chunk), resolve()) });
    // Never during the call.
    assert.deepEqual(events, []);
  });
  assert.deepEqual(events, ["third"]);
  c.close();
  await new Promise<void>((resolve) => {
    s.readInto!({ ...sink, onEnd: (e) => (sink.onEnd(e), resolve()) });
  });
  assert.deepEqual(events, ["third", "end undefined"]);
  assert.equal(await s.closed, "peer closed");
  // Read after the end: the end again, later.
  let ended = false;
  const again = new Promise<void>((resolve) => {
    s.readInto!({ onChunk: () => assert.fail("no chunk"), onEnd: () => (ended = true, resolve()) });
  });
  assert.equal(ended, false);
  await again;
  assert.equal((await next()).done, true);
  listener.close();
});
