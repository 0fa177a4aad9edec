// Private: the memory store's messages by sequence number. Each message's bytes are copied into
// a shared slab, and where they are (slab, offset, length) goes into a typed array indexed by
// the number, from the first number kept: storing a message makes no JavaScript object. A view
// per message (about 130 bytes of heap), kept for the session's life, survived young GCs and was
// promoted: each scavenge copied what the last few hundred messages left, 0.3-0.5 ms instead of
// 0.1 (bench/e2e.ts --memory). Numbers arrive mostly ascending and dense (a session's
// outgoing messages); the rare number far from the dense run (after a SequenceReset or a number
// set by hand) goes into a map.

/** How far past the dense range a number may land and still extend it. */
const MAX_HOLE = 4096;
/** Slots (a number's slab, offset and length) made room for at first. */
const FIRST_SLOTS = 16;
/** Slab number of a slot with no message. */
const EMPTY = -1;

/** Copies of byte arrays by sequence number, iterated in ascending order. */
export class SeqBytes {
  readonly #slabSize: number;
  /** Every slab in use, by number; a copy larger than a quarter of a slab has one of its own. */
  #slabs: Uint8Array[] = [];
  /** The slab copies go into, and how much of it is used. */
  #slab: Uint8Array | undefined;
  #slabNo = -1;
  #used = 0;
  /** The first number of the dense run, and how many slots it has. */
  #base = 0;
  #length = 0;
  /** Three entries a slot: slab number (EMPTY: none), offset, length. */
  #where = new Int32Array(0);
  /** Messages in the dense run. */
  #count = 0;
  #far: Map<number, Uint8Array> | undefined;

  /** @param slabSize Bytes per slab. */
  constructor(slabSize = 256 * 1024) {
    this.#slabSize = slabSize;
  }

  /** Number of messages kept. */
  get size(): number {
    return this.#count + (this.#far?.size ?? 0);
  }

  /** Keeps a copy of `bytes` for `seq`, replacing what was kept for it. */
  set(seq: number, bytes: Uint8Array): void {
    if (this.#length === 0 && this.#count === 0) this.#base = seq;
    const i = seq - this.#base;
    if (i >= 0 && i <= this.#length + MAX_HOLE) {
      if (i >= this.#length) this.#extend(i + 1);
      const w = this.#where;
      const k = 3 * i;
      if (w[k] === EMPTY) this.#count++;
      this.#copy(bytes, w, k);
      this.#far?.delete(seq);
      return;
    }
    (this.#far ??= new Map()).set(seq, bytes.slice());
  }

  /** The bytes kept for `seq` (a view: not to be written). */
  get(seq: number): Uint8Array | undefined {
    const i = seq - this.#base;
    if (i >= 0 && i < this.#length) {
      const w = this.#where;
      const k = 3 * i;
      const slab = w[k];
      if (slab !== EMPTY) return this.#slabs[slab].subarray(w[k + 1], w[k + 1] + w[k + 2]);
    }
    return this.#far?.get(seq);
  }

  /** The numbers kept with `from <= seq <= to`, ascending. */
  keysBetween(from: number, to: number): number[] {
    const out: number[] = [];
    const w = this.#where, base = this.#base;
    const last = Math.min(to, base + this.#length - 1);
    for (let s = Math.max(from, base); s <= last; s++) {
      if (w[3 * (s - base)] !== EMPTY) out.push(s);
    }
    if (this.#far !== undefined && this.#far.size > 0) {
      for (const k of this.#far.keys()) if (k >= from && k <= to) out.push(k);
      out.sort((a, b) => a - b);
    }
    return out;
  }

  /** The largest number kept, or 0. */
  maxKey(): number {
    let max = 0;
    for (let i = this.#length - 1; i >= 0; i--) {
      if (this.#where[3 * i] !== EMPTY) {
        max = this.#base + i;
        break;
      }
    }
    if (this.#far) { for (const k of this.#far.keys()) if (k > max) max = k; }
    return max;
  }

  /** Forgets everything (the slabs too). */
  clear(): void {
    this.#slabs = [];
    this.#slab = undefined;
    this.#slabNo = -1;
    this.#used = 0;
    this.#length = 0;
    this.#where = new Int32Array(0);
    this.#count = 0;
    this.#far = undefined;
  }

  /** The dense run grows to `n` slots, the new ones empty. */
  #extend(n: number): void {
    let w = this.#where;
    if (3 * n > w.length) {
      let slots = Math.max(FIRST_SLOTS, w.length / 3);
      while (slots < n) slots *= 2;
      const next = new Int32Array(3 * slots);
      next.set(w.subarray(0, 3 * this.#length));
      this.#where = w = next;
    }
    for (let k = 3 * this.#length; k < 3 * n; k += 3) w[k] = EMPTY;
    this.#length = n;
  }

  /** Copies `bytes` into a slab and notes where in `w` at `k`. */
  #copy(bytes: Uint8Array, w: Int32Array, k: number): void {
    const n = bytes.length;
    if (n > this.#slabSize / 4) {
      // Its own slab (the current one goes on being filled).
      w[k] = this.#slabs.push(bytes.slice()) - 1;
      w[k + 1] = 0;
      w[k + 2] = n;
      return;
    }
    if (this.#slab === undefined || this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#slabNo = this.#slabs.push(this.#slab) - 1;
      this.#used = 0;
    }
    const at = this.#used;
    this.#slab.set(bytes, at);
    this.#used = at + n;
    w[k] = this.#slabNo;
    w[k + 1] = at;
    w[k + 2] = n;
  }
}
