/**
 * A store on Deno KV (`Deno.openKv(path)` locally, or a KV Connect URL). Every flush is one
 * atomic commit holding the batch's messages, the sequence numbers and the owner lease, so they
 * commit together; a versionstamp check on the owner key guarantees that two engine processes
 * never own the same session. Messages above KV's 64 KiB value limit are split into chunks.
 *
 * Needs `--unstable-kv`. Importing the root module never does.
 *
 * @example
 * ```ts
 * import { KvSeqStoreFactory } from "@fixwire/engine/kv-store";
 * import { SessionId } from "@fixwire/engine";
 * const kv = await Deno.openKv(":memory:");
 * const store = await new KvSeqStoreFactory(kv).open(new SessionId("A", "B"), { nowMs: Date.now() });
 * await store.close();
 * kv.close();
 * ```
 *
 * @module
 */

import { type Logger, SILENT_LOGGER } from "../src/logger.ts";
import type { SessionId } from "../src/session_id.ts";
import type {
  SeqState,
  SeqStore,
  SeqStoreFactory,
  SeqStoreOpenOptions,
  StoredMessage,
} from "../src/store.ts";

/** Options of {@linkcode KvSeqStoreFactory}. */
export interface KvStoreOptions {
  /** Key prefix (default `["fixwire"]`). */
  prefix?: Deno.KvKeyPart[];
  /** This process's owner id (default: random). */
  ownerId?: string;
  /** How long an owner lease lasts without a flush, ms (default 15000). */
  leaseMs?: number;
  /** Time source for leases (default `Date.now`). */
  now?: () => number;
  /** Logger. */
  logger?: Logger;
}

const CHUNK = 60 * 1024;
const MAX_MUTATIONS = 900;
const MAX_BYTES = 700 * 1024;

interface Owner {
  ownerId: string;
  expiresAtMs: number;
}

/** One session's KV store. Open it with {@linkcode KvSeqStoreFactory}. */
export class KvSeqStore implements SeqStore {
  readonly #kv: Deno.Kv;
  readonly #base: Deno.KvKey;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #now: () => number;
  #state: SeqState;
  #versionstamp: string;
  #pending: StoredMessage[] = [];
  #dirty = false;
  #closed = false;
  #chain: Promise<void> = Promise.resolve();

  /**
   * Wraps an opened, owned store. Use the factory.
   *
   * @param kv The database.
   * @param base The session's key prefix.
   * @param state The recovered state.
   * @param owner Owner id, lease and versionstamp.
   */
  constructor(
    kv: Deno.Kv,
    base: Deno.KvKey,
    state: SeqState,
    owner: { ownerId: string; leaseMs: number; now: () => number; versionstamp: string },
  ) {
    this.#kv = kv;
    this.#base = base;
    this.#state = state;
    this.#owner = owner.ownerId;
    this.#leaseMs = owner.leaseMs;
    this.#now = owner.now;
    this.#versionstamp = owner.versionstamp;
  }

  /** The current state. */
  get state(): Readonly<SeqState> {
    return this.#state;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error("Cannot use store: it is closed");
  }

  /**
   * Buffers a message until `flush`.
   *
   * @param seqNum MsgSeqNum.
   * @param bytes The message.
   */
  appendOutgoing(seqNum: number, bytes: Uint8Array): void {
    this.#assertOpen();
    this.#pending.push({ seqNum, bytes: bytes.slice() });
    this.#state.nextSenderSeqNum = seqNum + 1;
    this.#dirty = true;
  }

  /** The KV store keeps no inbound log. */
  appendIncoming(): void {}

  /**
   * Sets the next sender number.
   *
   * @param seqNum The number.
   */
  setNextSenderSeqNum(seqNum: number): void {
    this.#assertOpen();
    this.#state.nextSenderSeqNum = seqNum;
    this.#dirty = true;
  }

  /**
   * Sets the next target number.
   *
   * @param seqNum The number.
   */
  setNextTargetSeqNum(seqNum: number): void {
    this.#assertOpen();
    this.#state.nextTargetSeqNum = seqNum;
    this.#dirty = true;
  }

  /**
   * Sets the correctly-terminated marker.
   *
   * @param value The marker.
   */
  setCorrectlyTerminated(value: boolean): void {
    this.#assertOpen();
    this.#state.correctlyTerminated = value;
    this.#dirty = true;
  }

  /**
   * Commits the batch atomically (split into several commits only beyond KV's limits, the state
   * with the last one).
   *
   * @returns Resolves when committed.
   * @throws {Error} When another process took the session over.
   */
  flush(): Promise<void> {
    const run = this.#chain.then(() => this.#commit());
    this.#chain = run.catch(() => {});
    return run;
  }

  async #commit(): Promise<void> {
    if (!this.#dirty && this.#pending.length === 0) return;
    const batch = this.#pending;
    this.#pending = [];
    this.#dirty = false;
    const groups: [Deno.KvKey, unknown][][] = [[]];
    let bytes = 0;
    for (const m of batch) {
      const muts = this.#messageMutations(m);
      const size = m.bytes.length + 64 * muts.length;
      const cur = groups.at(-1)!;
      if (cur.length + muts.length > MAX_MUTATIONS || bytes + size > MAX_BYTES) {
        groups.push([]);
        bytes = 0;
      }
      groups.at(-1)!.push(...muts);
      bytes += size;
    }
    for (let i = 0; i < groups.length; i++) {
      const last = i === groups.length - 1;
      const op = this.#kv.atomic().check({
        key: [...this.#base, "owner"],
        versionstamp: this.#versionstamp,
      });
      for (const [k, v] of groups[i]) op.set(k, v);
      if (last) op.set([...this.#base, "state"], { ...this.#state });
      op.set(
        [...this.#base, "owner"],
        {
          ownerId: this.#owner,
          expiresAtMs: this.#now() + this.#leaseMs,
        } satisfies Owner,
      );
      const res = await op.commit();
      if (!res.ok) {
        throw new Error(
          `Cannot write store: session "${
            String(this.#base.at(-1))
          }" is now owned by another process`,
        );
      }
      this.#versionstamp = res.versionstamp;
    }
  }

  #messageMutations(m: StoredMessage): [Deno.KvKey, unknown][] {
    const key = [...this.#base, "msg", m.seqNum];
    if (m.bytes.length <= CHUNK) return [[key, m.bytes]];
    const n = Math.ceil(m.bytes.length / CHUNK);
    const out: [Deno.KvKey, unknown][] = [[key, { chunks: n, length: m.bytes.length }]];
    for (let i = 0; i < n; i++) {
      out.push([
        [...this.#base, "chunk", m.seqNum, i],
        m.bytes.subarray(i * CHUNK, (i + 1) * CHUNK),
      ]);
    }
    return out;
  }

  /**
   * Reads stored messages in a range (unflushed ones included).
   *
   * @param from First number.
   * @param to Last number.
   * @returns The messages, ascending.
   */
  async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
    const pending = new Map(this.#pending.map((m) => [m.seqNum, m.bytes]));
    const iter = this.#kv.list<Uint8Array | { chunks: number; length: number }>({
      start: [...this.#base, "msg", from],
      end: [...this.#base, "msg", to + 1],
    });
    const seen = new Set<number>();
    for await (const e of iter) {
      const seq = e.key.at(-1) as number;
      seen.add(seq);
      const p = pending.get(seq);
      if (p) {
        yield { seqNum: seq, bytes: p };
        continue;
      }
      if (e.value instanceof Uint8Array) {
        yield { seqNum: seq, bytes: e.value };
        continue;
      }
      const out = new Uint8Array(e.value.length);
      for (let i = 0; i < e.value.chunks; i++) {
        const c = await this.#kv.get<Uint8Array>([...this.#base, "chunk", seq, i]);
        if (!c.value) throw new Error(`Cannot read store: chunk ${i} of message ${seq} is missing`);
        out.set(c.value, i * CHUNK);
      }
      yield { seqNum: seq, bytes: out };
    }
    for (const m of this.#pending) {
      if (m.seqNum >= from && m.seqNum <= to && !seen.has(m.seqNum)) yield m;
    }
  }

  /**
   * Deletes stored messages and starts at 1/1.
   *
   * @param creationTimeMs The new creation time.
   */
  async reset(creationTimeMs: number): Promise<void> {
    this.#assertOpen();
    await this.#chain;
    this.#pending = [];
    const keys: Deno.KvKey[] = [];
    for (const part of ["msg", "chunk"]) {
      for await (const e of this.#kv.list({ prefix: [...this.#base, part] })) keys.push(e.key);
    }
    for (let i = 0; i < keys.length; i += MAX_MUTATIONS) {
      const op = this.#kv.atomic().check({
        key: [...this.#base, "owner"],
        versionstamp: this.#versionstamp,
      });
      for (const k of keys.slice(i, i + MAX_MUTATIONS)) op.delete(k);
      op.set([...this.#base, "owner"], {
        ownerId: this.#owner,
        expiresAtMs: this.#now() + this.#leaseMs,
      });
      const res = await op.commit();
      if (!res.ok) throw new Error("Cannot reset store: the session is owned by another process");
      this.#versionstamp = res.versionstamp;
    }
    this.#state = {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs,
      correctlyTerminated: false,
    };
    this.#dirty = true;
    await this.flush();
  }

  /** Flushes and releases ownership. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      await this.#kv.atomic()
        .check({ key: [...this.#base, "owner"], versionstamp: this.#versionstamp })
        .delete([...this.#base, "owner"])
        .commit();
    }
  }

  /** Same as `close`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Opens KV stores in one database.
 *
 * @example
 * ```ts
 * import { KvSeqStoreFactory } from "@fixwire/engine/kv-store";
 * const kv = await Deno.openKv(":memory:");
 * const factory = new KvSeqStoreFactory(kv, { prefix: ["fix", "prod"] });
 * kv.close();
 * ```
 */
export class KvSeqStoreFactory implements SeqStoreFactory {
  readonly #kv: Deno.Kv;
  readonly #prefix: Deno.KvKeyPart[];
  readonly #ownerId: string;
  readonly #leaseMs: number;
  readonly #now: () => number;
  readonly #log: Logger;

  /**
   * Creates the factory.
   *
   * @param kv An open database.
   * @param options Prefix, owner id, lease and logger.
   */
  constructor(kv: Deno.Kv, options: KvStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["fixwire"];
    this.#ownerId = options.ownerId ?? crypto.randomUUID();
    this.#leaseMs = options.leaseMs ?? 15_000;
    this.#now = options.now ?? Date.now;
    this.#log = options.logger ?? SILENT_LOGGER;
  }

  /**
   * Opens and takes ownership of a session's store.
   *
   * @param id The session.
   * @param options Creation time for a new store.
   * @returns The store.
   * @throws {Error} When another live owner holds the session.
   */
  async open(id: SessionId, options: SeqStoreOpenOptions): Promise<SeqStore> {
    const base = [...this.#prefix, id.key];
    const ownerKey = [...base, "owner"];
    const current = await this.#kv.get<Owner>(ownerKey);
    if (current.value && current.value.expiresAtMs > this.#now()) {
      throw new Error(
        `Cannot open store: session "${id}" is owned by another process (${current.value.ownerId})`,
      );
    }
    if (current.value) {
      this.#log.warn("taking over an expired store lease", {
        session: id.toString(),
        previousOwner: current.value.ownerId,
      });
    }
    const claim = await this.#kv.atomic().check(current).set(
      ownerKey,
      {
        ownerId: this.#ownerId,
        expiresAtMs: this.#now() + this.#leaseMs,
      } satisfies Owner,
    ).commit();
    if (!claim.ok) {
      throw new Error(`Cannot open store: session "${id}" is owned by another process`);
    }
    const saved = await this.#kv.get<SeqState>([...base, "state"]);
    const state: SeqState = saved.value ? { ...saved.value } : {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs: options.nowMs,
      correctlyTerminated: false,
    };
    for await (
      const last of this.#kv.list({ prefix: [...base, "msg"] }, { reverse: true, limit: 1 })
    ) {
      const seq = last.key.at(-1) as number;
      if (seq + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = seq + 1;
    }
    return new KvSeqStore(this.#kv, base, state, {
      ownerId: this.#ownerId,
      leaseMs: this.#leaseMs,
      now: this.#now,
      versionstamp: claim.versionstamp,
    });
  }
}
