// Private: values kept by sequence number. Numbers arrive mostly ascending and dense (a
// session's outgoing messages), so they live in an array from the first number kept, with a
// map for the rare number far from it (after a SequenceReset or a number set by hand). No
// map insert, no rehash and no boxed entry per message.

/** How far past the dense range a number may land and still extend it. */
const MAX_HOLE = 4096;

/** Values by sequence number, iterated in ascending order. */
export class SeqSlots<T> {
  #base = 0;
  #dense: (T | undefined)[] = [];
  #count = 0;
  #far: Map<number, T> | undefined;

  /** Number of values kept. */
  get size(): number {
    return this.#count + (this.#far?.size ?? 0);
  }

  /** Keeps `value` for `seq`, replacing what was kept for it. */
  set(seq: number, value: T): void {
    const dense = this.#dense;
    if (dense.length === 0 && this.#count === 0) this.#base = seq;
    const i = seq - this.#base;
    if (i >= 0 && i <= dense.length + MAX_HOLE) {
      if (i >= dense.length) {
        while (dense.length < i) dense.push(undefined);
        dense.push(value);
        this.#count++;
      } else {
        if (dense[i] === undefined) this.#count++;
        dense[i] = value;
      }
      this.#far?.delete(seq);
      return;
    }
    (this.#far ??= new Map()).set(seq, value);
  }

  /** The value kept for `seq`. */
  get(seq: number): T | undefined {
    const i = seq - this.#base;
    if (i >= 0 && i < this.#dense.length) {
      const v = this.#dense[i];
      if (v !== undefined) return v;
    }
    return this.#far?.get(seq);
  }

  /** The numbers kept with `from <= seq <= to`, ascending. */
  keysBetween(from: number, to: number): number[] {
    const out: number[] = [];
    const dense = this.#dense, base = this.#base;
    const last = Math.min(to, base + dense.length - 1);
    for (let s = Math.max(from, base); s <= last; s++) {
      if (dense[s - base] !== undefined) out.push(s);
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
    for (let i = this.#dense.length - 1; i >= 0; i--) {
      if (this.#dense[i] !== undefined) {
        max = this.#base + i;
        break;
      }
    }
    if (this.#far) { for (const k of this.#far.keys()) if (k > max) max = k; }
    return max;
  }

  /** Forgets everything. */
  clear(): void {
    this.#dense = [];
    this.#count = 0;
    this.#far = undefined;
  }
}

/** Copies small byte arrays into shared slabs: one allocation per slab, not per copy. */
export class SlabCopier {
  readonly #slabSize: number;
  #slab: Uint8Array;
  #used = 0;

  /** @param slabSize Bytes per slab; a larger copy gets a slab of its own. */
  constructor(slabSize = 256 * 1024) {
    this.#slabSize = slabSize;
    this.#slab = new Uint8Array(0);
  }

  /** A copy of `bytes`, a view on a slab that is never written again at that range. */
  copy(bytes: Uint8Array): Uint8Array {
    const n = bytes.length;
    if (n > this.#slabSize / 4) return bytes.slice();
    if (this.#used + n > this.#slab.length) {
      this.#slab = new Uint8Array(this.#slabSize);
      this.#used = 0;
    }
    const at = this.#used;
    this.#slab.set(bytes, at);
    this.#used = at + n;
    return this.#slab.subarray(at, at + n);
  }
}
