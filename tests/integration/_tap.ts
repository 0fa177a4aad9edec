// A transport wrapper that decodes every inbound FIX message into an Inbox: tests wait on what
// crossed the wire (heartbeats, Logons, Logouts) instead of polling.
import { FixFramer } from "../../src/message/framer.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import type {
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  Transport,
} from "../../src/transport.ts";
import { Inbox } from "../engine/_waits.ts";

/** Wraps a transport; `inbound` receives every message read by this side, decoded. */
export class TappedTransport implements Transport {
  readonly inbound: Inbox = new Inbox();
  /** Connections accepted (listen side) or opened (connect side), in order. */
  readonly connections: Connection[] = [];
  readonly #inner: Transport;

  constructor(inner: Transport) {
    this.#inner = inner;
  }

  async connect(endpoint: Endpoint, options?: ConnectOptions): Promise<Connection> {
    return this.#wrap(await this.#inner.connect(endpoint, options));
  }

  async listen(endpoint: Endpoint): Promise<Listener> {
    const inner = await this.#inner.listen(endpoint);
    const wrap = (c: Connection) => this.#wrap(c);
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

  #wrap(conn: Connection): Connection {
    this.connections.push(conn);
    const framer = new FixFramer();
    const inbound = this.inbound;
    return {
      localAddr: conn.localAddr,
      remoteAddr: conn.remoteAddr,
      remoteHost: conn.remoteHost,
      closed: conn.closed,
      write: (bytes) => conn.write(bytes),
      close: (reason) => conn.close(reason),
      [Symbol.asyncDispose]: () => conn[Symbol.asyncDispose](),
      async *[Symbol.asyncIterator]() {
        for await (const chunk of conn) {
          framer.push(chunk);
          for (let f = framer.next(); f !== undefined; f = framer.next()) {
            if (f instanceof Uint8Array) inbound.push(decodeMessage(f));
          }
          yield chunk;
        }
      },
    };
  }
}
