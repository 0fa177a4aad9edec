/**
 * Private: a logger that tells each message at most once per interval, for what peers that have
 * not logged on can make happen once per connection (garbage, silence, refused Logons): a flood
 * of connections would otherwise write a line each.
 *
 * @module
 */
import type { LogFields, Logger } from "../logger.ts";
import type { TimerHandle } from "../clock.ts";
import type { TimerScheduler } from "./scheduler.ts";

type Level = keyof Logger;

interface Told {
  level: Level;
  /** When the message was last written. */
  atMs: number;
  /** Times it came since, not written yet. */
  suppressed: number;
  /** The fields of the last of those. */
  fields: LogFields | undefined;
}

/**
 * Writes a message the first time, then at most once per `intervalMs`: what comes between is
 * counted, and the next line of that message (when one comes after the interval, when the
 * interval ends, or at `flush`) stands for all of them: its `times` field counts them, its other
 * fields are the last one's. Messages are the fixed texts of the code, so what it keeps is
 * bounded.
 */
export class RepeatLimitedLogger implements Logger {
  readonly #to: Logger;
  readonly #scheduler: TimerScheduler;
  readonly #intervalMs: number;
  readonly #told = new Map<string, Told>();
  /** Writes the counts due first, at `#timerAtMs`. */
  #timer: TimerHandle | undefined;
  #timerAtMs = Number.POSITIVE_INFINITY;
  /** Closed (the engine stopped): every line is written at once, no timer is set. */
  #closed = false;

  /**
   * Creates an instance.
   *
   * @param to Where lines are written.
   * @param scheduler The engine's clock and timers.
   * @param intervalMs How often at most a message is written.
   */
  constructor(to: Logger, scheduler: TimerScheduler, intervalMs: number) {
    this.#to = to;
    this.#scheduler = scheduler;
    this.#intervalMs = intervalMs;
  }

  /** Writes or counts a debug line. */
  debug(message: string, fields?: LogFields): void {
    this.#tell("debug", message, fields);
  }
  /** Writes or counts an info line. */
  info(message: string, fields?: LogFields): void {
    this.#tell("info", message, fields);
  }
  /** Writes or counts a warn line. */
  warn(message: string, fields?: LogFields): void {
    this.#tell("warn", message, fields);
  }
  /** Writes or counts an error line. */
  error(message: string, fields?: LogFields): void {
    this.#tell("error", message, fields);
  }

  /** Writes what is counted and not yet written, a line per message; stops the timer. */
  flush(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
    const now = this.#scheduler.now();
    for (const [message, t] of this.#told) {
      if (t.suppressed > 0) this.#write(message, t, now, t.fields);
    }
  }

  /**
   * Flushes, then writes every later line at once: after the engine's stop its scheduler sets no
   * timer, and what a late first read logs (a connection ending as the engine stops) would
   * otherwise stay counted and never be written.
   */
  close(): void {
    this.flush();
    this.#closed = true;
  }

  #tell(level: Level, message: string, fields: LogFields | undefined): void {
    if (this.#closed) {
      this.#to[level](message, fields);
      return;
    }
    const now = this.#scheduler.now();
    const t = this.#told.get(message);
    if (t === undefined) {
      this.#told.set(message, { level, atMs: now, suppressed: 0, fields: undefined });
      this.#to[level](message, fields);
    } else if (now - t.atMs >= this.#intervalMs) {
      t.level = level;
      this.#write(message, t, now, fields, 1);
    } else {
      t.level = level;
      t.suppressed++;
      t.fields = fields;
      this.#wakeAt(t.atMs + this.#intervalMs);
    }
  }

  /** Writes `message` for what came since its last line, `extra` (0 or 1) of it just now. */
  #write(message: string, t: Told, now: number, fields: LogFields | undefined, extra = 0): void {
    const times = t.suppressed + extra;
    t.suppressed = 0;
    t.fields = undefined;
    t.atMs = now;
    this.#to[t.level](message, times > 1 ? { ...fields, times } : fields);
  }

  /** Makes the timer fire by `atMs`. */
  #wakeAt(atMs: number): void {
    if (atMs >= this.#timerAtMs) return;
    this.#timer?.cancel();
    this.#timerAtMs = atMs;
    this.#timer = this.#scheduler.setTimer(atMs, this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    this.#timerAtMs = Number.POSITIVE_INFINITY;
    const now = this.#scheduler.now();
    for (const [message, t] of this.#told) {
      if (t.suppressed === 0) continue;
      if (now - t.atMs >= this.#intervalMs) this.#write(message, t, now, t.fields);
      else this.#wakeAt(t.atMs + this.#intervalMs);
    }
  };
}
