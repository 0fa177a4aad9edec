// A transport wrapper that decodes every inbound FIX message into an Inbox: tests wait on what
// crossed the wire (heartbeats, Logons, Logouts) instead of polling.
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import type { Connection, Transport } from "../../src/transport.ts";
import { wrapConnection, WrappedTransport } from "../_wrapped_transport.ts";
import { Inbox } from "../engine/_waits.ts";

/** Wraps a transport; `inbound` receives every message read by this side, decoded. */
export class TappedTransport extends WrappedTransport {
  readonly inbound: Inbox;
  /** Connections accepted (listen side) or opened (connect side), in order. */
  readonly connections: Connection[];

  constructor(inner: Transport) {
    const inbound = new Inbox();
    const connections: Connection[] = [];
    super(inner, (conn) => {
      connections.push(conn);
      const framer = new FixFramer();
      return wrapConnection(conn, {
        async *read(chunks) {
          for await (const chunk of chunks) {
            framer.push(chunk);
            for (let f = framer.next(); f !== undefined; f = framer.next()) {
              if (f instanceof Uint8Array) inbound.push(decodeMessage(f.slice()));
            }
            yield chunk;
          }
        },
      });
    });
    this.inbound = inbound;
    this.connections = connections;
  }
}
