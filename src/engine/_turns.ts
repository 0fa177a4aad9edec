/**
 * Sharing the event loop: a yield that lets every ready socket in, and a budget that bounds
 * bursts of work (a logon storm) per turn of the event loop.
 *
 * @module
 */

/**
 * Event-loop turns one yield lasts. A turn of a loop that always has work (immediates) does not
 * poll the sockets; Deno's runtime (tokio) polls them after 61 such turns, so 64 let every ready
 * socket in (about 80 µs when nothing else runs). Ending a yield sooner (after a time, or at a
 * timer) lets two busy sessions take turns without the sockets ever being polled.
 */
const YIELD_TURNS = 64;

/**
 * Resolves once other connections' reads, timers and callbacks have run. A message on a channel
 * or a single immediate is delivered before pending socket reads are looked at: neither lets the
 * other sessions in by itself; a timer sleeps 1-2 ms even when nothing else runs. While other
 * sessions are busy, the 64 turns last as long as their work: for bursts only.
 *
 * @returns Resolves after the other work.
 */
export function yieldToOthers(): Promise<void> {
  return new Promise((resolve) => {
    let turns = 0;
    const turn = (): void => {
      if (++turns < YIELD_TURNS) setImmediate(turn);
      else resolve();
    };
    setImmediate(turn);
  });
}

/**
 * Bounds a burst of units of work (connections accepted, Logons admitted) that would otherwise
 * all run in one turn of the event loop: the sockets that become ready together are handed over
 * together (up to 128 at a time), and each unit then runs to its end without a turn in between.
 * Up to `batch` units run back to back, and no more once the batch has lasted `sliceMs` (the
 * first Logons of a storm run before the code is optimized, several times slower than later
 * ones); later units wait, in order, until the other sessions have run (see
 * {@linkcode yieldToOthers}), then are let go one at a time, each after the one before it ran,
 * on the same terms.
 */
export class TurnBudget {
  readonly #batch: number;
  readonly #sliceMs: number;
  readonly #now: () => number;
  #used = 0;
  #startedAtMs = 0;
  #waiting: (() => void)[] = [];
  /** A yield is under way; the waiting units go when it ends. */
  #yieldPending = false;
  /** A unit was just let go; the next one goes after it has run. */
  #nextQueued = false;

  /**
   * Creates a budget. Every `batch` units, even spread over hours, yield once (about 80 µs),
   * which keeps the bound whatever pauses (GC) come between units; so does a unit taken once
   * the batch is `sliceMs` old.
   *
   * @param batch Units per batch.
   * @param sliceMs How long a batch may last, by `now` (unbounded by default).
   * @param now The time, ms (the engine's clock).
   */
  constructor(batch: number, sliceMs = Number.POSITIVE_INFINITY, now: () => number = Date.now) {
    this.#batch = batch;
    this.#sliceMs = sliceMs;
    this.#now = now;
  }

  /** Units waiting for their batch. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Takes one unit.
   *
   * @returns `undefined` when the unit may run now, else a promise that resolves when its batch
   * comes.
   */
  take(): Promise<void> | undefined {
    if (this.#waiting.length === 0 && this.#mayRun()) {
      this.#used++;
      return undefined;
    }
    const p = new Promise<void>((resolve) => this.#waiting.push(resolve));
    // While units are being let go, this one waits its turn behind them.
    if (!this.#nextQueued) this.#yield();
    return p;
  }

  /** Whether one more unit fits the batch in progress (a first unit starts a new one). */
  #mayRun(): boolean {
    if (this.#used === 0) {
      this.#startedAtMs = this.#now();
      return true;
    }
    return this.#used < this.#batch && this.#now() - this.#startedAtMs < this.#sliceMs;
  }

  #yield(): void {
    if (this.#yieldPending) return;
    this.#yieldPending = true;
    yieldToOthers().then(this.#newBatch);
  }

  readonly #newBatch = (): void => {
    this.#yieldPending = false;
    this.#used = 0;
    this.#next();
  };

  /** Lets the next waiting unit go if the batch has room, once the one before it has run. */
  readonly #next = (): void => {
    this.#nextQueued = false;
    if (this.#waiting.length === 0 || this.#yieldPending) return;
    if (!this.#mayRun()) return this.#yield();
    this.#used++;
    this.#waiting.shift()!();
    // Queued after the unit's continuation: runs once the unit has run up to its first wait.
    this.#nextQueued = true;
    queueMicrotask(this.#next);
  };
}
