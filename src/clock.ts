/**
 * Time for the engine: the only place that reads the wall clock or sets real timers.
 * The session core receives a {@linkcode Clock} and never reads time any other way.
 *
 * @module
 */

/** A scheduled callback that can be cancelled before it fires. */
export interface TimerHandle {
  /** Cancels the timer. Idempotent; a no-op after it fired. */
  cancel(): void;
}

/**
 * A source of time and timers, injected into every session.
 *
 * @example
 * ```ts
 * import { SystemClock } from "@fixwire/engine";
 * const clock = new SystemClock();
 * const handle = clock.setTimer(clock.now() + 1000, () => {});
 * handle.cancel();
 * ```
 */
export interface Clock {
  /** Returns the current time in epoch milliseconds. */
  now(): number;
  /**
   * Calls `fn` once at `atMs` (epoch milliseconds), or as soon as possible if that is past.
   *
   * @param atMs When to fire, in epoch milliseconds.
   * @param fn The callback; it must not throw.
   * @returns A handle that cancels the timer.
   */
  setTimer(atMs: number, fn: () => void): TimerHandle;
}

/** The longest delay `setTimeout` holds, ms (about 24.8 days). */
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The real clock: `Date.now()` and `setTimeout`.
 *
 * @example
 * ```ts
 * import { SystemClock } from "@fixwire/engine";
 * const now = new SystemClock().now();
 * ```
 */
export class SystemClock implements Clock {
  /** Returns `Date.now()`. */
  now(): number {
    return Date.now();
  }

  /**
   * Schedules `fn` with `setTimeout` at `atMs`.
   *
   * @param atMs When to fire, in epoch milliseconds.
   * @param fn The callback.
   * @returns A handle that cancels the timer.
   */
  setTimer(atMs: number, fn: () => void): TimerHandle {
    // setTimeout fires at once for a delay above its limit: clamp (a later time re-arms).
    const id = setTimeout(fn, Math.min(Math.max(0, atMs - Date.now()), MAX_TIMER_MS));
    return { cancel: () => clearTimeout(id) };
  }
}
