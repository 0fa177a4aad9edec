// A TCP transport for the interop tests that can hide plain Heartbeats (those answering no
// TestRequest) in either direction, so each engine sees a silent counterparty and must probe it
// with a TestRequest. It records the Heartbeats and TestRequests that pass.
import { TcpTransport } from "../../adapters/tcp.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import type {
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  Transport,
} from "../../src/transport.ts";

/** A Heartbeat or TestRequest seen on the wire: its MsgType and TestReqID. */
export interface Probe {
  type: "0" | "1";
  testReqId: string | undefined;
}

function probeOf(frame: Uint8Array): Probe | undefined {
  const m = decodeMessage(frame.slice());
  const type = m.msgType;
  if (type !== "0" && type !== "1") return undefined;
  return { type, testReqId: m.get(112) };
}

/** TCP with switches that drop plain Heartbeats sent or received by fixwire. */
export class MutingTransport implements Transport {
  /** Drop fixwire's own Heartbeats that answer no TestRequest. */
  muteOut = false;
  /** Drop the counterparty's Heartbeats that answer no TestRequest. */
  muteIn = false;
  /** Heartbeats and TestRequests fixwire sent (after muting). */
  readonly sent: Probe[] = [];
  /** Heartbeats and TestRequests fixwire received (after muting). */
  readonly received: Probe[] = [];
  readonly #tcp = new TcpTransport();

  async connect(endpoint: Endpoint, options?: ConnectOptions): Promise<Connection> {
    return new MutingConnection(await this.#tcp.connect(endpoint, options), this);
  }

  async listen(endpoint: Endpoint): Promise<Listener> {
    const inner = await this.#tcp.listen(endpoint);
    const wrap = (c: Connection) => new MutingConnection(c, this);
    return {
      addr: inner.addr,
      close: () => inner.close(),
      async *[Symbol.asyncIterator]() {
        for await (const c of inner) yield wrap(c);
      },
      [Symbol.asyncDispose]: async () => await inner[Symbol.asyncDispose](),
    };
  }
}

/** Drops muted frames; frames are whole in writes and re-framed on reads. */
class MutingConnection implements Connection {
  readonly #inner: Connection;
  readonly #t: MutingTransport;

  constructor(inner: Connection, t: MutingTransport) {
    this.#inner = inner;
    this.#t = t;
  }

  get localAddr(): string {
    return this.#inner.localAddr;
  }
  get remoteAddr(): string {
    return this.#inner.remoteAddr;
  }
  get remoteHost(): string {
    return this.#inner.remoteHost;
  }
  get closed(): Promise<string> {
    return this.#inner.closed;
  }

  /** Keeps a frame unless it is a plain Heartbeat in a muted direction; records probes. */
  #keep(frame: Uint8Array, muted: boolean, log: Probe[]): boolean {
    const p = probeOf(frame);
    if (!p) return true;
    if (muted && p.type === "0" && p.testReqId === undefined) return false;
    log.push(p);
    return true;
  }

  write(bytes: Uint8Array): Promise<void> {
    const framer = new FixFramer();
    framer.push(bytes);
    const kept: Uint8Array[] = [];
    let size = 0;
    for (let f = framer.next(); f !== undefined; f = framer.next()) {
      if (!(f instanceof Uint8Array)) return this.#inner.write(bytes); // not ours to judge
      if (this.#keep(f, this.#t.muteOut, this.#t.sent)) {
        kept.push(f.slice());
        size += f.length;
      }
    }
    if (kept.length === 1) return this.#inner.write(kept[0]);
    const out = new Uint8Array(size);
    let at = 0;
    for (const f of kept) {
      out.set(f, at);
      at += f.length;
    }
    return size === 0 ? Promise.resolve() : this.#inner.write(out);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const framer = new FixFramer();
    for await (const chunk of this.#inner) {
      framer.push(chunk);
      for (let f = framer.next(); f !== undefined; f = framer.next()) {
        if (!(f instanceof Uint8Array)) continue;
        if (this.#keep(f, this.#t.muteIn, this.#t.received)) yield f.slice();
      }
    }
  }

  close(reason?: string): void {
    this.#inner.close(reason);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.#inner[Symbol.asyncDispose]();
  }
}
