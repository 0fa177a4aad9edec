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
 * Up to `batch` units run back to back; later ones wait, in order, until the other sessions have
 * run (see {@linkcode yieldToOthers}), then go on `batch` at a time.
 */
export class TurnBudget {
  readonly #batch: number;
  #used = 0;
  #waiting: (() => void)[] = [];
  #yielding = false;

  /**
   * Creates a budget. It counts units only: every `batch` units, even spread over hours, yield
   * once (about 80 µs), which keeps the bound whatever pauses (GC) come between units.
   *
   * @param batch Units per batch.
   */
  constructor(batch: number) {
    this.#batch = batch;
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
    if (!this.#yielding) {
      if (this.#used < this.#batch) {
        this.#used++;
        return undefined;
      }
      this.#yield();
    }
    return new Promise((resolve) => this.#waiting.push(resolve));
  }

  #yield(): void {
    this.#yielding = true;
    yieldToOthers().then(() => {
      const go = this.#waiting.splice(0, this.#batch);
      this.#used = go.length;
      if (this.#waiting.length > 0) this.#yield();
      else this.#yielding = false;
      for (const resolve of go) resolve();
    });
  }
}
