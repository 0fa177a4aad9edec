// Test helper: a transport whose connections pass through hooks, for tests that watch or
// disturb what crosses the wire (taps, muted heartbeats, stalled writes).
import type {
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  Transport,
} from "../src/transport.ts";

/** What a wrapper changes on each connection; everything else is delegated. */
export interface ConnectionHooks {
  /** Replaces `write`; `inner` is the wrapped connection. */
  write?(bytes: Uint8Array, inner: Connection): Promise<void>;
  /** Replaces the inbound chunks: given the wrapped connection's chunks, yields the new ones. */
  read?(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array>;
}

/** A connection delegating to `inner` except where `hooks` say otherwise. */
export function wrapConnection(inner: Connection, hooks: ConnectionHooks): Connection {
  return {
    get localAddr() {
      return inner.localAddr;
    },
    get remoteAddr() {
      return inner.remoteAddr;
    },
    get remoteHost() {
      return inner.remoteHost;
    },
    get closed() {
      return inner.closed;
    },
    write: (bytes) => hooks.write ? hooks.write(bytes, inner) : inner.write(bytes),
    close: (reason) => inner.close(reason),
    [Symbol.asyncDispose]: () => inner[Symbol.asyncDispose](),
    [Symbol.asyncIterator]: () => (hooks.read ? hooks.read(inner) : inner)[Symbol.asyncIterator](),
    // Reads pass through as the connection offers them, unless the chunks are replaced.
    readInto: hooks.read || !inner.readInto ? undefined : (sink) => inner.readInto!(sink),
  };
}

/** A transport whose connections (opened and accepted) are wrapped by `wrap`. */
export class WrappedTransport implements Transport {
  readonly #inner: Transport;
  readonly #wrap: (c: Connection) => Connection;

  constructor(inner: Transport, wrap: (c: Connection) => Connection) {
    this.#inner = inner;
    this.#wrap = wrap;
  }

  async connect(endpoint: Endpoint, options?: ConnectOptions): Promise<Connection> {
    return this.#wrap(await this.#inner.connect(endpoint, options));
  }

  async listen(endpoint: Endpoint): Promise<Listener> {
    const inner = await this.#inner.listen(endpoint);
    const wrap = this.#wrap;
    return {
      get addr() {
        return inner.addr;
      },
      close: () => inner.close(),
      [Symbol.asyncDispose]: () => inner[Symbol.asyncDispose](),
      async *[Symbol.asyncIterator]() {
        for await (const c of inner) yield wrap(c);
      },
    };
  }
}
