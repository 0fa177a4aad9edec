// A TCP transport for the interop tests that can silence plain Heartbeats (those answering no
// TestRequest) in either direction, so each engine sees a silent counterparty and must probe it
// with a TestRequest, and lose chosen messages in either direction. It records the Heartbeats and
// TestRequests that pass.
//
// fixwire's own Heartbeats are held back, not dropped: they go out, in order, before the next
// message fixwire sends (as a stalled TCP link delivers them late), so QuickFIX's TestRequest is
// answered in sequence. Dropped, they left a gap that made the answer too high, and QuickFIX 1.15
// neither counts a message too high as heard from nor waits with its timeout check, which it runs
// after every message: its TestRequest may go at up to 2.2 s of silence (checks a second apart,
// HeartBtInt 1 s), leaving the answer 0.2 s before the 2.4 s timeout. The counterparty's
// Heartbeats are dropped: fixwire counts anything it receives as heard from, and asks for the gap.
import { TcpTransport } from "../../adapters/tcp.ts";
import type { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import type {
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  Transport,
} from "../../src/transport.ts";
import { wrapConnection, WrappedTransport } from "../_wrapped_transport.ts";

/** A Heartbeat or TestRequest seen on the wire: its MsgType and TestReqID. */
export interface Probe {
  type: "0" | "1";
  testReqId: string | undefined;
  /** When it passed (epoch ms): for a failure's timeline. */
  at: number;
}

function probeOf(frame: Uint8Array): Probe | undefined {
  const m = decodeMessage(frame.slice());
  const type = m.msgType;
  if (type !== "0" && type !== "1") return undefined;
  return { type, testReqId: m.get(112), at: Date.now() };
}

function isPlainHeartbeat(p: Probe | undefined): boolean {
  return p !== undefined && p.type === "0" && p.testReqId === undefined;
}

/** Keeps a frame unless it is a plain Heartbeat in a muted direction; records probes. */
function keep(frame: Uint8Array, muted: boolean, log: Probe[]): boolean {
  const p = probeOf(frame);
  if (!p) return true;
  if (muted && isPlainHeartbeat(p)) return false;
  log.push(p);
  return true;
}

/** Writes the frames kept, in one write (none: nothing). */
function writeAll(inner: Connection, kept: Uint8Array[]): Promise<void> {
  if (kept.length === 0) return Promise.resolve();
  const out = new Uint8Array(kept.reduce((n, f) => n + f.length, 0));
  let at = 0;
  for (const f of kept) {
    out.set(f, at);
    at += f.length;
  }
  return inner.write(out);
}

/** TCP with switches that hold back plain Heartbeats fixwire sends and drop those it receives. */
export class MutingTransport implements Transport {
  /** Hold back fixwire's own Heartbeats that answer no TestRequest (see the module's notes). */
  muteOut = false;
  /** Drop the counterparty's Heartbeats that answer no TestRequest. */
  muteIn = false;
  /** Lose each message received for which this returns true (a message lost on the way in). */
  loseIn: ((m: FixMessage) => boolean) | undefined;
  /** Lose each message fixwire sends for which this returns true (lost on the way out). */
  loseOut: ((m: FixMessage) => boolean) | undefined;
  /** The messages lost by `loseIn` and `loseOut`. */
  readonly lost: FixMessage[] = [];
  /** Heartbeats and TestRequests fixwire sent (after muting). */
  readonly sent: Probe[] = [];
  /** Heartbeats and TestRequests fixwire received (after muting). */
  readonly received: Probe[] = [];
  readonly #inner = new WrappedTransport(new TcpTransport(), (c) => this.#wrap(c));
  /** fixwire's Heartbeats held back while `muteOut`, per connection, in the order sent. */
  readonly #held = new WeakMap<Connection, Uint8Array[]>();

  connect(endpoint: Endpoint, options?: ConnectOptions): Promise<Connection> {
    return this.#inner.connect(endpoint, options);
  }

  listen(endpoint: Endpoint): Promise<Listener> {
    return this.#inner.listen(endpoint);
  }

  /** Writes hold whole frames; reads are re-framed. */
  #wrap(conn: Connection): Connection {
    return wrapConnection(conn, {
      write: (bytes, inner) => this.#filterOut(bytes, inner),
      read: (chunks) => this.#filterIn(chunks),
    });
  }

  /** Whether `lose` takes this frame's message; a lost one is kept in `lost`. */
  #loses(frame: Uint8Array, lose: ((m: FixMessage) => boolean) | undefined): boolean {
    if (!lose) return false;
    const m = decodeMessage(frame.slice());
    if (!lose(m)) return false;
    this.lost.push(m);
    return true;
  }

  #filterOut(bytes: Uint8Array, inner: Connection): Promise<void> {
    const framer = new FixFramer();
    framer.push(bytes);
    const frames: Uint8Array[] = [];
    const kept: Uint8Array[] = [];
    for (let f = framer.next(); f !== undefined; f = framer.next()) {
      if (!(f instanceof Uint8Array)) {
        // Not ours to judge: written as it came, after what was held back before.
        this.#release(inner, kept);
        kept.push(bytes);
        return writeAll(inner, kept);
      }
      frames.push(f);
    }
    for (const f of frames) {
      if (this.#loses(f, this.loseOut)) continue;
      const probe = probeOf(f);
      if (this.muteOut && isPlainHeartbeat(probe)) {
        const held = this.#held.get(inner);
        if (held) held.push(f.slice());
        else this.#held.set(inner, [f.slice()]);
        continue;
      }
      this.#release(inner, kept);
      if (probe) this.sent.push(probe);
      kept.push(f.slice());
    }
    if (!this.muteOut) this.#release(inner, kept);
    return writeAll(inner, kept);
  }

  /**
   * The Heartbeats held back on this connection go out now, ahead of what follows (a connection
   * that ends first loses them, as a broken link would).
   */
  #release(inner: Connection, kept: Uint8Array[]): void {
    const held = this.#held.get(inner);
    if (!held) return;
    this.#held.delete(inner);
    for (const f of held) {
      this.sent.push(probeOf(f)!);
      kept.push(f);
    }
  }

  async *#filterIn(chunks: AsyncIterable<Uint8Array>): AsyncIterable<Uint8Array> {
    const framer = new FixFramer();
    for await (const chunk of chunks) {
      framer.push(chunk);
      for (let f = framer.next(); f !== undefined; f = framer.next()) {
        if (!(f instanceof Uint8Array)) continue;
        if (this.#loses(f, this.loseIn)) continue;
        if (keep(f, this.muteIn, this.received)) yield f.slice();
      }
    }
  }
}
