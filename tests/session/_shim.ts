// Temporary test doubles until src/testing.ts lands.
// deno-lint-ignore-file
import type { Clock, TimerHandle } from "../../src/clock.ts";
import type { Connection } from "../../src/transport.ts";
import { ConnectionError } from "../../src/errors.ts";
export class ManualClock implements Clock {
  #now: number;
  #timers: { at: number; fn: () => void; id: number; dead: boolean }[] = [];
  #id = 0;
  constructor(start = 0) {
    this.#now = start;
  }
  now() {
    return this.#now;
  }
  setTimer(at: number, fn: () => void): TimerHandle {
    const t = { at, fn, id: this.#id++, dead: false };
    this.#timers.push(t);
    return {
      cancel: () => {
        t.dead = true;
      },
    };
  }
  async advance(ms: number) {
    const end = this.#now + ms;
    for (let i = 0; i < 20; i++) await Promise.resolve();
    while (true) {
      this.#timers = this.#timers.filter((t) => !t.dead);
      this.#timers.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.#timers[0];
      if (!t || t.at > end) break;
      this.#timers.shift();
      this.#now = Math.max(this.#now, t.at);
      t.fn();
      for (let i = 0; i < 20; i++) await Promise.resolve();
    }
    this.#now = end;
    for (let i = 0; i < 20; i++) await Promise.resolve();
  }
}
class Side implements Connection {
  peer!: Side;
  q: Uint8Array[] = [];
  w: (() => void) | undefined;
  done = false;
  localAddr = "mem:1";
  remoteAddr = "mem:2";
  remoteHost = "mem";
  #res!: (r: string) => void;
  closed: Promise<string> = new Promise((r) => this.#res = r);
  write(b: Uint8Array) {
    if (this.done) return Promise.reject(new ConnectionError("closed"));
    this.peer.q.push(b.slice());
    this.peer.w?.();
    return Promise.resolve();
  }
  close(reason = "closed") {
    if (this.done) return;
    this.done = true;
    this.#res(reason);
    this.w?.();
    this.peer.close("peer closed");
  }
  async *[Symbol.asyncIterator]() {
    while (true) {
      if (this.q.length) {
        yield this.q.shift()!;
        continue;
      }
      if (this.done) return;
      await new Promise<void>((r) => this.w = r);
      this.w = undefined;
    }
  }
  [Symbol.asyncDispose]() {
    this.close();
    return Promise.resolve();
  }
}
export function memoryConnectionPair(): [Connection, Connection] {
  const a = new Side(), b = new Side();
  a.peer = b;
  b.peer = a;
  return [a, b];
}
import type { SeqState, SeqStore, StoredMessage } from "../../src/store.ts";
import type { SessionId } from "../../src/session_id.ts";
export class MemorySeqStoreFactory {
  open(_id: SessionId, o: { nowMs: number }): Promise<SeqStore> {
    const state: SeqState = {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs: o.nowMs,
      correctlyTerminated: false,
    };
    const msgs = new Map<number, Uint8Array>();
    return Promise.resolve({
      state,
      appendOutgoing(seq: number, b: Uint8Array) {
        msgs.set(seq, b.slice());
        state.nextSenderSeqNum = seq + 1;
      },
      appendIncoming() {},
      setNextSenderSeqNum(n: number) {
        state.nextSenderSeqNum = n;
      },
      setNextTargetSeqNum(n: number) {
        state.nextTargetSeqNum = n;
      },
      setCorrectlyTerminated(v: boolean) {
        state.correctlyTerminated = v;
      },
      flush: () => Promise.resolve(),
      async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
        for (const k of [...msgs.keys()].sort((a, b) => a - b)) {
          if (k >= from && k <= to) yield { seqNum: k, bytes: msgs.get(k)! };
        }
      },
      reset(t: number) {
        msgs.clear();
        state.nextSenderSeqNum = 1;
        state.nextTargetSeqNum = 1;
        state.creationTimeMs = t;
        return Promise.resolve();
      },
      close: () => Promise.resolve(),
      [Symbol.asyncDispose]: () => Promise.resolve(),
    });
  }
}
