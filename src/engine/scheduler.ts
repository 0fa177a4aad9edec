/**
 * The engine-wide timer: any number of session timers multiplexed onto one timer of the
 * underlying clock.
 *
 * @module
 */

import type { Clock, TimerHandle } from "../clock.ts";

const NOOP = (): void => {};

/**
 * A timer in the heap, and its handle: one object per timer. A cancelled entry leaves the heap
 * at once, and its callback with it (a logon storm cancels thousands of Logon deadlines due
 * seconds later: kept until due, they and what their callbacks hold were copied by young GCs).
 */
class Entry implements TimerHandle {
  atMs: number;
  order: number;
  fn: () => void;
  /** Where it is in the heap; -1 once fired or cancelled. */
  index = -1;
  readonly #remove: (e: Entry) => void;

  constructor(atMs: number, order: number, fn: () => void, remove: (e: Entry) => void) {
    this.atMs = atMs;
    this.order = order;
    this.fn = fn;
    this.#remove = remove;
  }

  cancel(): void {
    this.fn = NOOP;
    if (this.index >= 0) this.#remove(this);
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

  /** Timers waiting. */
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
    const e = new Entry(atMs, this.#order++, fn, this.#removeEntry);
    this.#push(e);
    this.#arm();
    return e;
  }

  /** Cancels everything; later timers are ignored. Idempotent. */
  close(): void {
    this.#closed = true;
    for (const e of this.#heap) e.index = -1;
    this.#heap = [];
    this.#armed?.cancel();
    this.#armed = undefined;
  }

  #arm(): void {
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
    this.#heap.push(e);
    e.index = this.#heap.length - 1;
    this.#up(e.index);
  }

  #pop(): Entry | undefined {
    const top = this.#heap[0];
    if (top) this.#removeAt(0);
    return top;
  }

  readonly #removeEntry = (e: Entry): void => {
    if (this.#heap[e.index] === e) this.#removeAt(e.index);
  };

  /** Takes the entry at `i` out of the heap: the last one takes its place, then moves. */
  #removeAt(i: number): void {
    const h = this.#heap;
    const gone = h[i];
    gone.index = -1;
    const last = h.pop()!;
    if (last === gone) return;
    h[i] = last;
    last.index = i;
    this.#down(i);
    if (last.index === i) this.#up(i);
  }

  #swap(i: number, j: number): void {
    const h = this.#heap;
    const t = h[i];
    h[i] = h[j];
    h[j] = t;
    h[i].index = i;
    h[j].index = j;
  }

  #up(i: number): void {
    const h = this.#heap;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!before(h[i], h[p])) break;
      this.#swap(i, p);
      i = p;
    }
  }

  #down(i: number): void {
    const h = this.#heap;
    while (true) {
      const l = 2 * i + 1, r = l + 1;
      let m = i;
      if (l < h.length && before(h[l], h[m])) m = l;
      if (r < h.length && before(h[r], h[m])) m = r;
      if (m === i) break;
      this.#swap(i, m);
      i = m;
    }
  }
}
