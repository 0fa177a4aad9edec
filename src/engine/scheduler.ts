/**
 * The engine-wide timer: any number of session timers multiplexed onto one timer of the
 * underlying clock.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";

const NOOP = (): void => {};

/**
 * A timer in the heap, and its handle: one object per timer. A cancelled entry stays in the heap
 * until it reaches the top, without its callback (whatever the callback holds is freed at once:
 * a logon storm cancels thousands of Logon deadlines that were due seconds later).
 */
class Entry implements TimerHandle {
  atMs: number;
  order: number;
  fn: () => void;
  cancelled = false;

  constructor(atMs: number, order: number, fn: () => void) {
    this.atMs = atMs;
    this.order = order;
    this.fn = fn;
  }

  cancel(): void {
    this.cancelled = true;
    this.fn = NOOP;
  }
}

/** The handle of a timer set after `close`. */
const CLOSED: TimerHandle = { cancel() {} };

/**
 * Timer callbacks run back to back before the other sessions' reads get a turn: at most this
 * many, and for at most TIMERS_SLICE_MS. The timers of sessions that logged on together fall due
 * together (5,000 in a logon storm), and each heartbeat costs 40-80 µs. The rest fire at the
 * underlying clock's next timer, armed at once: a system clock sleeps 1-2 ms first, which lets
 * the loop poll the sockets (firing them at the next immediate instead starved the reads, and
 * 5,000 sessions went on sending TestRequests for heartbeats read late).
 */
const TIMERS_PER_TURN = 128;
/** The most time the timers of one turn take, ms (looked at every 8 timers). */
const TIMERS_SLICE_MS = 2;

function before(a: Entry, b: Entry): boolean {
  return a.atMs < b.atMs || (a.atMs === b.atMs && a.order < b.order);
}

/**
 * A {@linkcode Clock} that keeps its timers in a min-heap and arms exactly one timer of the
 * underlying clock, for the earliest. Sessions re-arm lazily (only when a timer fires), so
 * steady traffic costs no timer operations at all. At most 128 due timers, or 2 ms of them,
 * fire per turn; the others fire at the underlying clock's next timer (armed at once: 1-2 ms
 * later with a system clock, in order with a manual one).
 *
 * @example
 * ```ts
 * import { SystemClock } from "../clock.ts";
 * import { TimerScheduler } from "./scheduler.ts";
 * const scheduler = new TimerScheduler(new SystemClock());
 * const t = scheduler.setTimer(scheduler.now() + 1000, () => {});
 * t.cancel();
 * scheduler.close();
 * ```
 */
export class TimerScheduler implements Clock {
  readonly #clock: Clock;
  #heap: Entry[] = [];
  #order = 0;
  #armed: TimerHandle | undefined;
  #armedAtMs = Number.POSITIVE_INFINITY;
  #closed = false;

  /**
   * Creates a scheduler over a clock.
   *
   * @param clock The underlying clock.
   */
  constructor(clock: Clock) {
    this.#clock = clock;
  }

  /** Returns the underlying clock's time. */
  now(): number {
    return this.#clock.now();
  }

  /** Timers waiting (cancelled ones may be counted until they reach the top). */
  get size(): number {
    return this.#heap.length;
  }

  /**
   * Schedules `fn` at `atMs`.
   *
   * @param atMs Due time.
   * @param fn Callback; exceptions are swallowed so one session cannot stop the others.
   * @returns A cancellable handle.
   */
  setTimer(atMs: number, fn: () => void): TimerHandle {
    if (this.#closed) return CLOSED;
    const e = new Entry(atMs, this.#order++, fn);
    this.#push(e);
    this.#arm();
    return e;
  }

  /** Cancels everything; later timers are ignored. Idempotent. */
  close(): void {
    this.#closed = true;
    this.#heap = [];
    this.#armed?.cancel();
    this.#armed = undefined;
  }

  #arm(): void {
    while (this.#heap.length > 0 && this.#heap[0].cancelled) this.#pop();
    const top = this.#heap[0];
    if (!top) {
      this.#armed?.cancel();
      this.#armed = undefined;
      this.#armedAtMs = Number.POSITIVE_INFINITY;
      return;
    }
    if (this.#armed && this.#armedAtMs <= top.atMs) return;
    this.#armed?.cancel();
    this.#armedAtMs = top.atMs;
    this.#armed = this.#clock.setTimer(top.atMs, this.#fire);
  }

  readonly #fire = (): void => {
    this.#armed = undefined;
    this.#armedAtMs = Number.POSITIVE_INFINITY;
    const now = this.#clock.now();
    let fired = 0;
    while (this.#heap.length > 0 && !this.#closed) {
      const top = this.#heap[0];
      if (top.cancelled) {
        this.#pop();
        continue;
      }
      if (top.atMs > now) break;
      // Due timers left over are armed below: they fire once the other sessions have run.
      if (
        fired === TIMERS_PER_TURN ||
        (fired > 0 && fired % 8 === 0 && this.#clock.now() - now >= TIMERS_SLICE_MS)
      ) break;
      fired++;
      this.#pop();
      try {
        top.fn();
      } catch {
        // A timer callback must not throw; never let one stop the others.
      }
    }
    if (!this.#closed) this.#arm();
  };

  #push(e: Entry): void {
    const h = this.#heap;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      const t = h[i];
      h[i] = h[p];
      h[p] = t;
      i = p;
    }
  }

  #pop(): Entry | undefined {
    const h = this.#heap;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last) {
      h[0] = last;
      let i = 0;
      while (true) {
        const l = 2 * i + 1, r = l + 1;
        let m = i;
        if (l < h.length && before(h[l], h[m])) m = l;
        if (r < h.length && before(h[r], h[m])) m = r;
        if (m === i) break;
        const t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
      }
    }
    return top;
  }
}
