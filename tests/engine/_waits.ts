// Event-driven waits for engine and integration tests: no sleeps, no polling.
import type { Session } from "../../src/engine/session.ts";
import type { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { Connection } from "../../src/transport.ts";

/** A fresh timeout signal for one wait. */
export function timeout(ms = 10_000): { signal: AbortSignal } {
  return { signal: AbortSignal.timeout(ms) };
}

type Match = (m: FixMessage) => boolean;
const ANY: Match = () => true;

/** Messages handed to a listener (or seen on a wire), with a wait for the n-th one. */
export class Inbox {
  readonly messages: FixMessage[] = [];
  #waiters: { n: number; match: Match; resolve: () => void }[] = [];

  /** Records a message; use as (or inside) `onMessage`. */
  push = (m: FixMessage): void => {
    this.messages.push(m);
    this.#waiters = this.#waiters.filter((w) => {
      if (this.count(w.match) < w.n) return true;
      w.resolve();
      return false;
    });
  };

  /** How many messages so far match. */
  count(match: Match = ANY): number {
    let n = 0;
    for (const m of this.messages) if (match(m)) n++;
    return n;
  }

  /** The ClOrdID(11) of every message so far. */
  get ids(): string[] {
    return this.messages.map((m) => m.get(11) ?? "");
  }

  /** Resolves once `n` messages (matching `match`) arrived; rejects when the signal aborts. */
  waitFor(n: number, { signal }: { signal: AbortSignal }, match: Match = ANY): Promise<void> {
    if (this.count(match) >= n) return Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const w = { n, match, resolve };
      this.#waiters.push(w);
      signal.addEventListener("abort", () => {
        if (!this.#waiters.includes(w)) return;
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(
          new Error(`Timed out waiting for ${n} messages (got ${this.count(match)})`, {
            cause: signal.reason,
          }),
        );
      }, { once: true });
    });
  }
}

/** Matches one MsgType(35). */
export function ofType(msgType: string): Match {
  return (m) => m.msgType === msgType;
}

/**
 * Subscribes now (synchronously) and resolves with the first event matching `match`.
 *
 * @returns The event; rejects with the signal's reason, or when the events end first.
 */
export function nextEvent<T extends SessionEvent["type"]>(
  session: Session,
  type: T,
  { signal }: { signal: AbortSignal },
  match: (e: Extract<SessionEvent, { type: T }>) => boolean = () => true,
): Promise<Extract<SessionEvent, { type: T }>> {
  const it = session.events();
  const aborted = new Promise<never>((_, reject) => {
    signal.addEventListener("abort", () => reject(signal.reason), { once: true });
  });
  aborted.catch(() => {});
  return (async () => {
    try {
      while (true) {
        const r = await Promise.race([it.next(), aborted]);
        if (r.done) throw new Error(`Session events ended before a "${type}" event`);
        const e = r.value;
        if (e.type === type && match(e as Extract<SessionEvent, { type: T }>)) {
          return e as Extract<SessionEvent, { type: T }>;
        }
      }
    } finally {
      await it.return?.();
    }
  })();
}

/** Every message a raw peer connection receives until the engine closes it. */
export async function answers(conn: Connection): Promise<FixMessage[]> {
  const framer = new FixFramer();
  const out: FixMessage[] = [];
  for await (const chunk of conn) {
    framer.push(chunk);
    for (let f = framer.next(); f !== undefined; f = framer.next()) {
      if (f instanceof Uint8Array) out.push(decodeMessage(f.slice()));
    }
  }
  return out;
}
