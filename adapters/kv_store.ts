/**
 * A store on Deno KV (`Deno.openKv(path)` locally, or a KV Connect URL).
 *
 * - Every flush is one atomic commit holding the batch's messages and the sequence numbers,
 *   checked against the owner record. A batch beyond KV's per-commit limits (1000 mutations,
 *   800 KiB) is committed in several atomic steps, in order; each step holds whole messages and
 *   the sender number that goes with them, so after a crash the store holds a prefix of the
 *   batch and a matching next sender number.
 * - Commits are pipelined: a flush starts its commits while those of earlier flushes are in
 *   flight (up to `commitsInFlight`), and resolves once they all are done; KV applies one
 *   handle's commits in the order they were made, so a crash leaves a prefix of them.
 * - Messages above KV's 64 KiB value limit are split into 60 KiB chunks, committed with the
 *   message. One message must fit one commit: a message over {@linkcode KV_MAX_MESSAGE_BYTES}
 *   is refused (the flush rejects and nothing of its batch is committed).
 * - Single owner: a versionstamp check on the owner key guarantees that two engine processes
 *   never own the same session. The owner lease is renewed at a third of the lease, by the flush
 *   that comes then or by a timer, so an idle session stays owned; a crashed owner's lease runs
 *   out after `leaseMs`. (A renewal changes the owner record's versionstamp, which the next
 *   commits check: it is the one commit that waits for the ones before.)
 * - With `logIncoming`, inbound messages are kept too (read them with `readIncoming()`).
 * - {@linkcode readKvStore} reads a session without taking its lease, for operator tools.
 * - A session's keys start with the prefix and `SessionId.key`, unique per session. A session
 *   whose key changed when keys became unique (a CompID with `-`, `:`, `*`, non-ASCII ...) has
 *   its data moved from the old key when it opens, if it is provably its own; see
 *   {@linkcode KvSeqStoreFactory.open}.
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

import type { Clock, TimerHandle } from "../src/clock.ts";
import { StoreLockedError } from "../src/errors.ts";
import { type Logger, SILENT_LOGGER } from "../src/logger.ts";
import type { SessionId } from "../src/session_id.ts";
import { legacyKey, legacyKeyIsOnly, sentBy } from "./_store_key.ts";
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
  /**
   * How long an owner lease lasts, ms (default 15000). The lease is renewed every `leaseMs / 3`
   * while the store is open, so another process can take the session over only once this one
   * closed it, or crashed (or stalled) for `leaseMs`.
   */
  leaseMs?: number;
  /**
   * Time source and timer for leases (default: the system clock, with timers that do not keep
   * the process alive).
   */
  clock?: Clock;
  /** Where lease problems are logged. */
  logger?: Logger;
  /**
   * The most commits a session's store has in flight at once (default 4): a flush starts its
   * commit while earlier ones are still in flight, and resolves once they are all done. Deno's
   * local database (SQLite) applies one `Deno.Kv` handle's commits in the order they were made;
   * a remote database (KV Connect) may not, as its commits travel as separate requests: set 1
   * there, each commit then waits for the one before.
   */
  commitsInFlight?: number;
}

/**
 * The largest message the KV store accepts, in bytes (768 KiB): one message and its chunks must
 * fit in one KV commit (800 KiB with keys). A very long key prefix lowers it slightly; the
 * store's `maxMessageBytes` tells the exact value.
 */
export const KV_MAX_MESSAGE_BYTES: number = 768 * 1024;

const CHUNK = 60 * 1024;
/** See `KvStoreOptions.commitsInFlight`. */
const DEFAULT_COMMITS_IN_FLIGHT = 4;
// Deno KV's limits per atomic commit.
const KV_MAX_MUTATIONS = 1000;
const KV_MAX_MUTATION_BYTES = 800 * 1024;
const KV_MAX_KEY_BYTES = 80 * 1024;
// Room left for estimation error (object values are V8-serialized; we estimate their size).
const MARGIN_BYTES = 4 * 1024;
const OBJECT_VALUE_BYTES = 256;
const enc = new TextEncoder();
const RESOLVED: Promise<void> = Promise.resolve();

/** The owner record of a session. */
export interface KvOwner {
  /** The owning process's id. */
  ownerId: string;
  /** When the lease runs out unless renewed (epoch ms, owner's clock). */
  expiresAtMs: number;
}

interface Chunked {
  chunks: number;
  length: number;
}

/** A set (or, with `remove`, a delete) and the value's estimated size. */
type Mutation = { key: Deno.KvKey; value: unknown; bytes: number; remove?: true };

/** What a flush commits: taken when it is called. */
interface Taken {
  batch: StoredMessage[];
  inbound: { n: number; bytes: Uint8Array }[];
  /** The state to commit with the batch's last step. */
  final: SeqState;
  /** The resets called before it was taken. */
  resets: number;
}

/** Mutations that must commit together, and their estimated cost. */
interface Unit {
  mutations: Mutation[];
  bytes: number;
  keyBytes: number;
  /** The outgoing MsgSeqNum it stores, if any. */
  seqNum?: number;
}

/** The units' mutations, in order. */
function mutationsOf(units: Unit[]): Mutation[] {
  const out: Mutation[] = [];
  for (const u of units) for (const m of u.mutations) out.push(m);
  return out;
}

/** An upper estimate of a key's encoded size (KV's tuple encoding). */
function keySize(key: Deno.KvKey): number {
  let n = 0;
  for (const part of key) {
    if (typeof part === "string") n += enc.encode(part).length * 2 + 2;
    else if (part instanceof Uint8Array) n += part.length * 2 + 2;
    else if (typeof part === "bigint") n += 2 + Math.ceil(part.toString(16).length / 2);
    else n += 9;
  }
  return n;
}

function mutation(key: Deno.KvKey, value: unknown): Mutation {
  const bytes = value instanceof Uint8Array ? value.length : OBJECT_VALUE_BYTES;
  return { key, value, bytes };
}

function unitOf(mutations: Mutation[], seqNum?: number): Unit {
  let bytes = 0, keyBytes = 0;
  for (const m of mutations) {
    const k = keySize(m.key);
    keyBytes += k;
    bytes += 2 * k + m.bytes;
  }
  return { mutations, bytes, keyBytes, seqNum };
}

/** The mutations storing one message at `[...base, kind, n]`, chunked above the value limit. */
function messageMutations(
  base: Deno.KvKey,
  kind: "msg" | "in",
  n: number,
  bytes: Uint8Array,
): { head: Mutation; chunks: Mutation[] } {
  const key = [...base, kind, n];
  if (bytes.length <= CHUNK) return { head: mutation(key, bytes), chunks: [] };
  const count = Math.ceil(bytes.length / CHUNK);
  const chunks: Mutation[] = [];
  for (let i = 0; i < count; i++) {
    chunks.push(
      mutation(
        [...base, kind === "msg" ? "chunk" : "inchunk", n, i],
        bytes.subarray(i * CHUNK, (i + 1) * CHUNK),
      ),
    );
  }
  return { head: mutation(key, { chunks: count, length: bytes.length } satisfies Chunked), chunks };
}

/** Reads one stored value (a message, or the head of a chunked one) back into bytes. */
async function assemble(
  kv: Deno.Kv,
  base: Deno.KvKey,
  kind: "msg" | "in",
  n: number,
  value: Uint8Array | Chunked,
): Promise<Uint8Array> {
  if (value instanceof Uint8Array) return value;
  const out = new Uint8Array(value.length);
  const part = kind === "msg" ? "chunk" : "inchunk";
  for (let i = 0; i < value.chunks; i++) {
    const c = await kv.get<Uint8Array>([...base, part, n, i]);
    if (!c.value) {
      throw new Error(
        `Cannot read store: chunk ${i} of ${
          kind === "msg" ? "message" : "inbound message"
        } ${n} is missing`,
      );
    }
    out.set(c.value, i * CHUNK);
  }
  return out;
}

/** Lists the stored messages of one kind with `from <= n <= to`, ascending. */
async function* listMessages(
  kv: Deno.Kv,
  base: Deno.KvKey,
  kind: "msg" | "in",
  from: number,
  to: number,
): AsyncIterable<{ n: number; bytes: Uint8Array }> {
  const iter = kv.list<Uint8Array | Chunked>({
    start: [...base, kind, from],
    end: [...base, kind, to + 1],
  });
  for await (const e of iter) {
    const n = e.key.at(-1) as number;
    yield { n, bytes: await assemble(kv, base, kind, n, e.value) };
  }
}

async function lastNumber(kv: Deno.Kv, base: Deno.KvKey, kind: "msg" | "in"): Promise<number> {
  for await (const e of kv.list({ prefix: [...base, kind] }, { reverse: true, limit: 1 })) {
    return e.key.at(-1) as number;
  }
  return 0;
}

/** The system clock, with timers that do not keep the process alive. */
const SYSTEM_CLOCK: Clock = {
  now: () => Date.now(),
  setTimer(atMs: number, fn: () => void): TimerHandle {
    const id = setTimeout(fn, Math.max(0, atMs - Date.now()));
    Deno.unrefTimer(id);
    return { cancel: () => clearTimeout(id) };
  },
};

/** One session's KV store. Open it with {@linkcode KvSeqStoreFactory}. */
export class KvSeqStore implements SeqStore {
  readonly #kv: Deno.Kv;
  readonly #base: Deno.KvKey;
  readonly #session: string;
  readonly #owner: string;
  readonly #leaseMs: number;
  readonly #renewEveryMs: number;
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #logIncoming: boolean;
  readonly #fixedUnit: Unit;
  readonly #maxMessageBytes: number;
  /** The encoded size of a message's key (see `keySize`): the same for every number. */
  readonly #msgKeyBytes: number;
  #state: SeqState;
  /** The state as of the last commit submitted (KV applies them in submission order). */
  #submitted: SeqState;
  #versionstamp: string;
  #pending: StoredMessage[] = [];
  /** Batches taken by commits that have not finished: still served by `readOutgoing`. */
  #inFlight: StoredMessage[][] = [];
  #inPending: { n: number; bytes: Uint8Array }[] = [];
  #inInFlight: { n: number; bytes: Uint8Array }[][] = [];
  #nextIn: number;
  #dirty = false;
  #closed = false;
  /** Submissions (and resets, renewals, the release at close), one at a time, in call order. */
  #chain: Promise<unknown> = RESOLVED;
  /** The most commits in flight at once. */
  readonly #depth: number;
  /** The commits in flight, oldest first (settled ones leave). */
  #flying: Promise<void>[] = [];
  /**
   * Settles once the last commit submitted and every one in flight with it succeeded; rejects
   * when one of them failed. Back to resolved once it settled: a failure fails the commits that
   * were in flight with it, not the ones submitted after it was known.
   */
  #last: Promise<void> = RESOLVED;
  #timer: TimerHandle | undefined;
  #renewedAtMs: number;
  #renewQueued = false;
  #leaseLost = false;
  /** Resets called: a batch taken before one is dropped by it. */
  #resets = 0;
  /** Batches taken by flushes whose commits have not started. */
  #unsubmitted = new Set<Taken>();

  /**
   * Wraps an opened, owned store. Use the factory.
   *
   * @param kv The database.
   * @param base The session's key prefix.
   * @param state The recovered state.
   * @param options Session name, owner id, lease, clock, versionstamp of the claim, logger,
   *   inbound log switch, the next inbound log number and the most commits in flight.
   */
  constructor(
    kv: Deno.Kv,
    base: Deno.KvKey,
    state: SeqState,
    options: {
      session: string;
      ownerId: string;
      leaseMs: number;
      clock: Clock;
      versionstamp: string;
      claimedAtMs: number;
      logger: Logger;
      logIncoming: boolean;
      nextIncoming: number;
      commitsInFlight: number;
    },
  ) {
    this.#kv = kv;
    this.#base = base;
    this.#state = state;
    this.#submitted = { ...state };
    this.#depth = options.commitsInFlight;
    this.#session = options.session;
    this.#owner = options.ownerId;
    this.#leaseMs = options.leaseMs;
    this.#renewEveryMs = Math.max(1, Math.floor(options.leaseMs / 3));
    this.#clock = options.clock;
    this.#versionstamp = options.versionstamp;
    this.#renewedAtMs = options.claimedAtMs;
    this.#log = options.logger;
    this.#logIncoming = options.logIncoming;
    this.#nextIn = options.nextIncoming;
    this.#msgKeyBytes = keySize([...base, "msg", 0]);
    this.#fixedUnit = unitOf([
      mutation([...base, "owner"], null),
      mutation([...base, "state"], null),
    ]);
    // The owner check's key counts once.
    this.#fixedUnit.bytes += keySize([...base, "owner"]);
    this.#fixedUnit.keyBytes += keySize([...base, "owner"]);
    let max = KV_MAX_MESSAGE_BYTES;
    while (max > 0 && !this.#fits(this.#messageUnit(Number.MAX_SAFE_INTEGER, max))) {
      max -= 1024;
    }
    this.#maxMessageBytes = max;
    this.#schedule();
  }

  /** The current state. */
  get state(): Readonly<SeqState> {
    return this.#state;
  }

  /** The largest outgoing message this store accepts, in bytes. */
  get maxMessageBytes(): number {
    return this.#maxMessageBytes;
  }

  #assertOpen(): void {
    if (this.#closed) throw new Error(`Cannot use store: session "${this.#session}" is closed`);
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

  /**
   * Buffers an inbound message until `flush` when the store was opened with `logIncoming`.
   * Ignored once closed (a read loop may still be delivering).
   *
   * @param bytes The raw message.
   */
  appendIncoming(bytes: Uint8Array): void {
    if (this.#logIncoming && !this.#closed) {
      this.#inPending.push({ n: this.#nextIn++, bytes: bytes.slice() });
    }
  }

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
   * How many `flush()` calls may be in flight at once: each starts its commit as it is called
   * (up to this many commits in flight), and resolves once it and every earlier one committed.
   */
  get flushesInFlight(): number {
    return this.#depth;
  }

  /** Runs tasks one at a time, in call order: a commit task only waits for its submission. */
  #enqueue<T>(task: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(task);
    this.#chain = run.catch(() => {});
    return run;
  }

  /**
   * Commits the batch atomically; beyond KV's per-commit limits, in several atomic commits, each
   * with whole messages and the matching sender number, the complete state with the last one.
   * A flush commits what was appended and set before the call. Its commits start at once, with
   * those of earlier flushes still in flight (up to `flushesInFlight`; beyond, they wait for
   * room); KV applies one handle's commits in the order they were made, so a crash leaves a
   * prefix of them. A flush whose commit has not started when `reset` is called writes nothing:
   * the reset dropped what it had to write, and commits what is appended after it, once it has
   * deleted the stored messages.
   *
   * @returns Resolves when committed, and every earlier flush too.
   * @throws {RangeError} When a message is over `maxMessageBytes`; nothing of the batch is
   *   committed, its messages are dropped and their numbers stay used (gap-filled on resend).
   * @throws {Error} When another process took the session over, or an earlier flush still in
   *   flight failed.
   */
  flush(): Promise<void> {
    let taken: Taken | undefined;
    try {
      taken = this.#take();
    } catch (e) {
      return Promise.reject(e);
    }
    return this.#enqueue(() => this.#commit(taken)).then((c) => c.done);
  }

  #messageUnit(seqNum: number, length: number, bytes?: Uint8Array): Unit {
    const size = bytes?.length ?? length;
    if (size <= CHUNK) {
      // One value under one key of a known size: what unitOf would count, without encoding
      // the key's strings again for every message.
      const k = this.#msgKeyBytes;
      const value = bytes ?? new Uint8Array(length);
      const key = [...this.#base, "msg", seqNum];
      return { mutations: [{ key, value, bytes: size }], bytes: 2 * k + size, keyBytes: k, seqNum };
    }
    const { head, chunks } = messageMutations(
      this.#base,
      "msg",
      seqNum,
      bytes ?? new Uint8Array(length),
    );
    return unitOf([head, ...chunks], seqNum);
  }

  #fits(unit: Unit, used?: { count: number; bytes: number; keyBytes: number }): boolean {
    const f = this.#fixedUnit;
    const count = (used?.count ?? 0) + f.mutations.length + unit.mutations.length;
    const bytes = (used?.bytes ?? 0) + f.bytes + unit.bytes;
    const keyBytes = (used?.keyBytes ?? 0) + f.keyBytes + unit.keyBytes;
    return count <= KV_MAX_MUTATIONS && bytes <= KV_MAX_MUTATION_BYTES - MARGIN_BYTES &&
      keyBytes <= KV_MAX_KEY_BYTES - MARGIN_BYTES;
  }

  /** Splits units into commits within KV's limits, in order (at least one, maybe empty). */
  #group(units: Unit[]): Unit[][] {
    let group: Unit[] = [];
    const groups: Unit[][] = [group];
    const used = { count: 0, bytes: 0, keyBytes: 0 };
    for (const u of units) {
      if (group.length > 0 && !this.#fits(u, used)) {
        group = [];
        groups.push(group);
        used.count = used.bytes = used.keyBytes = 0;
      }
      group.push(u);
      used.count += u.mutations.length;
      used.bytes += u.bytes;
      used.keyBytes += u.keyBytes;
    }
    return groups;
  }

  /**
   * Takes what is pending for a commit: the messages, the inbound log and the state as they
   * are now (`undefined`: nothing to commit).
   *
   * @throws {RangeError} When a message is over `maxMessageBytes` (nothing is taken).
   */
  #take(): Taken | undefined {
    if (!this.#dirty && this.#pending.length === 0 && this.#inPending.length === 0) {
      return undefined;
    }
    const batch = this.#pending;
    const inbound = this.#inPending;
    this.#pending = [];
    this.#inPending = [];
    // Refuse before committing anything.
    for (const m of batch) {
      if (m.bytes.length > this.#maxMessageBytes) {
        this.#inPending = [...inbound, ...this.#inPending];
        throw new RangeError(
          `Cannot store message: MsgSeqNum ${m.seqNum} of session "${this.#session}" is ${m.bytes.length} bytes, over the KV store's limit of ${this.#maxMessageBytes} bytes`,
        );
      }
    }
    this.#dirty = false;
    this.#inFlight.push(batch);
    this.#inInFlight.push(inbound);
    const taken = { batch, inbound, final: { ...this.#state }, resets: this.#resets };
    this.#unsubmitted.add(taken);
    return taken;
  }

  /**
   * Submits a taken batch's commits (waiting for room under `flushesInFlight`, and for a
   * commit that renews the lease: the next ones check the versionstamp it returns); `done`
   * settles once they and every earlier commit are done.
   */
  async #commit(taken: Taken | undefined): Promise<{ done: Promise<void> }> {
    if (!taken) return { done: this.#last };
    this.#unsubmitted.delete(taken);
    const { batch, inbound, final } = taken;
    // A reset was called after this batch was taken: the reset dropped its messages (what was
    // appended after the reset is committed after the reset's deletes); committing them would
    // store messages of the old sequence in the new one. Its inbound log goes on with the reset.
    if (taken.resets !== this.#resets) {
      this.#landed(batch, inbound);
      this.#inPending = [...inbound, ...this.#inPending];
      return { done: this.#last };
    }
    let done: Promise<void> = this.#last;
    try {
      const units: Unit[] = batch.map((m) => this.#messageUnit(m.seqNum, 0, m.bytes));
      for (const m of inbound) {
        const { head, chunks } = messageMutations(this.#base, "in", m.n, m.bytes);
        const whole = unitOf([head, ...chunks]);
        if (this.#fits(whole)) units.push(whole);
        else {
          // Too big for one commit: the chunks first, the head last, so it is never half read.
          for (const c of chunks) units.push(unitOf([c]));
          units.push(unitOf([head]));
        }
      }
      const groups = this.#group(units);
      for (let i = 0; i < groups.length; i++) {
        let state: SeqState;
        if (i === groups.length - 1) state = final;
        else {
          let last = 0;
          for (const u of groups[i]) if (u.seqNum !== undefined && u.seqNum > last) last = u.seqNum;
          state = {
            ...this.#submitted,
            nextSenderSeqNum: Math.max(this.#submitted.nextSenderSeqNum, last + 1),
          };
        }
        done = (await this.#submit(mutationsOf(groups[i]), state)).done;
      }
    } catch (e) {
      // Not submitted (KV refused the commit as it was made): nothing of it reached KV.
      this.#dirty = true;
      this.#landed(batch, inbound);
      throw e;
    }
    done.then(() => this.#landed(batch, inbound), (e) => {
      this.#dirty = true;
      this.#landed(batch, inbound);
      throw e;
    }).catch(() => {});
    return { done };
  }

  /** A batch's commits are done: `readOutgoing` reads it from KV now (or it failed). */
  #landed(batch: StoredMessage[], inbound: { n: number; bytes: Uint8Array }[]): void {
    const i = this.#inFlight.indexOf(batch);
    if (i >= 0) this.#inFlight.splice(i, 1);
    const j = this.#inInFlight.indexOf(inbound);
    if (j >= 0) this.#inInFlight.splice(j, 1);
  }

  /**
   * Makes one commit once there is room under `flushesInFlight`, and returns when it is made,
   * with `done`: settles once it and every commit in flight before it are done. A commit that
   * renews the lease is awaited before this returns: the next ones check its versionstamp.
   */
  async #submit(
    mutations: Mutation[],
    state: SeqState | undefined,
  ): Promise<{ done: Promise<void> }> {
    while (this.#flying.length >= this.#depth) await this.#flying[0];
    const renew = this.#renewDue();
    const own = this.#write(mutations, state, renew);
    this.#submitted = state ?? this.#submitted;
    const flying = own.catch(() => {});
    this.#flying.push(flying);
    flying.then(() => {
      const i = this.#flying.indexOf(flying);
      if (i >= 0) this.#flying.splice(i, 1);
    });
    const before = this.#last;
    const done = own.then(() => before);
    done.catch(() => {});
    this.#last = done;
    done.catch(() => {}).then(() => {
      if (this.#last === done) this.#last = RESOLVED;
    });
    if (renew) await flying;
    return { done };
  }

  /**
   * Whether the lease is due for renewal (at a third of it). Renewals are made one at a time:
   * each is awaited in the submission chain (see `#submit`, `#renew`).
   */
  #renewDue(): boolean {
    return this.#clock.now() >= this.#renewedAtMs + this.#renewEveryMs;
  }

  /** Resolves once every commit in flight is done (failed ones included). */
  async #drain(): Promise<void> {
    while (this.#flying.length > 0) await this.#flying[0];
  }

  /**
   * One atomic commit: the mutations, the state (if any), checked against the owner record,
   * and with `renew` a renewed owner lease. Its versionstamp is the next commits' check, so a
   * renewing commit is awaited before the next one is made (see `#submit`).
   */
  async #write(mutations: Mutation[], state: SeqState | undefined, renew: boolean): Promise<void> {
    const op = this.#kv.atomic().check({
      key: [...this.#base, "owner"],
      versionstamp: this.#versionstamp,
    });
    for (const m of mutations) {
      if (m.remove) op.delete(m.key);
      else op.set(m.key, m.value);
    }
    if (state) op.set([...this.#base, "state"], state);
    const now = this.#clock.now();
    if (renew) {
      op.set(
        [...this.#base, "owner"],
        { ownerId: this.#owner, expiresAtMs: now + this.#leaseMs } satisfies KvOwner,
      );
    }
    const res = await op.commit();
    if (!res.ok) {
      this.#leaseLost = true;
      throw new Error(
        `Cannot write store: session "${this.#session}" is now owned by another process`,
      );
    }
    if (renew) {
      this.#versionstamp = res.versionstamp;
      this.#renewedAtMs = now;
    }
  }

  #stopTimer(): void {
    this.#timer?.cancel();
    this.#timer = undefined;
  }

  #schedule(): void {
    this.#timer = this.#clock.setTimer(this.#renewedAtMs + this.#renewEveryMs, this.#onTimer);
  }

  readonly #onTimer = (): void => {
    this.#timer = undefined;
    if (this.#closed || this.#leaseLost) return;
    const now = this.#clock.now();
    const dueAtMs = this.#renewedAtMs + this.#renewEveryMs;
    if (now < dueAtMs) {
      // A flush renewed the lease in the meantime.
      this.#timer = this.#clock.setTimer(dueAtMs, this.#onTimer);
      return;
    }
    if (!this.#renewQueued) {
      this.#renewQueued = true;
      this.#enqueue(() => this.#renew());
    }
    this.#timer = this.#clock.setTimer(now + this.#renewEveryMs, this.#onTimer);
  };

  /** Renews the lease; never rejects (it runs from a timer). */
  async #renew(): Promise<void> {
    this.#renewQueued = false;
    if (this.#closed || this.#leaseLost) return;
    if (this.#clock.now() < this.#renewedAtMs + this.#renewEveryMs) return;
    try {
      await this.#write([], undefined, true);
    } catch (e) {
      if (this.#leaseLost) {
        this.#stopTimer();
        this.#log.error("store lease lost to another process", { session: this.#session });
      } else {
        this.#log.warn("store lease renewal failed; retrying", {
          session: this.#session,
          error: `${e}`,
        });
      }
    }
  }

  /**
   * Reads stored messages in a range (unflushed ones included).
   *
   * @param from First number.
   * @param to Last number.
   * @returns The messages, ascending.
   */
  async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
    const pending = new Map<number, Uint8Array>();
    for (const m of [...this.#inFlight.flat(), ...this.#pending]) pending.set(m.seqNum, m.bytes);
    const seen = new Set<number>();
    for await (const { n, bytes } of listMessages(this.#kv, this.#base, "msg", from, to)) {
      seen.add(n);
      yield { seqNum: n, bytes: pending.get(n) ?? bytes };
    }
    const rest = [...pending].filter(([n]) => n >= from && n <= to && !seen.has(n));
    rest.sort((a, b) => a[0] - b[0]);
    for (const [seqNum, bytes] of rest) yield { seqNum, bytes };
  }

  /**
   * Reads the inbound log (unflushed messages included).
   *
   * @returns The inbound messages, in arrival order.
   */
  async *readIncoming(): AsyncIterable<Uint8Array> {
    const pending = [...this.#inInFlight.flat(), ...this.#inPending];
    const seen = new Set<number>();
    for await (
      const { n, bytes } of listMessages(this.#kv, this.#base, "in", 1, Number.MAX_SAFE_INTEGER)
    ) {
      seen.add(n);
      yield bytes;
    }
    for (const m of pending) if (!seen.has(m.n)) yield m.bytes;
  }

  /**
   * Deletes stored outgoing messages and starts at 1/1 (the inbound log is kept).
   *
   * @param creationTimeMs The new creation time.
   * @returns Resolves when committed.
   * @throws {Error} When another process took the session over.
   */
  reset(creationTimeMs: number): Promise<void> {
    this.#assertOpen();
    this.#pending = [];
    this.#state = {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs,
      correctlyTerminated: false,
    };
    this.#dirty = true;
    const fresh = { ...this.#state };
    this.#resets++;
    // The messages of flushes not started yet are dropped (see `#commit`): no longer read.
    for (const t of this.#unsubmitted) this.#landed(t.batch, []);
    return this.#enqueue(async () => {
      // The commits in flight land first: the deletes below must see their messages.
      await this.#drain();
      // Their failures were theirs: the reset does not fail with them.
      this.#last = RESOLVED;
      const units: Unit[] = [];
      for (const part of ["msg", "chunk"]) {
        for await (const e of this.#kv.list({ prefix: [...this.#base, part] })) {
          units.push(unitOf([{ key: e.key, value: undefined, bytes: 0, remove: true }]));
        }
      }
      // The new state commits with the last deletes. A crash before leaves the old numbers with
      // fewer messages: gap-filled on resend.
      const groups = this.#group(units);
      for (let i = 0; i < groups.length; i++) {
        const last = i === groups.length - 1;
        const mutations = mutationsOf(groups[i]);
        await (await this.#submit(mutations, last ? fresh : undefined)).done;
      }
      this.#submitted = fresh;
      await (await this.#commit(this.#take())).done;
    });
  }

  /** Flushes, stops renewing and releases ownership. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#stopTimer();
    try {
      await this.flush();
    } finally {
      this.#closed = true;
      this.#stopTimer();
      await this.#chain;
      await this.#drain();
      if (!this.#leaseLost) {
        await this.#kv.atomic()
          .check({ key: [...this.#base, "owner"], versionstamp: this.#versionstamp })
          .delete([...this.#base, "owner"])
          .commit();
      }
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
  readonly #clock: Clock;
  readonly #log: Logger;
  readonly #commitsInFlight: number;

  /**
   * Creates the factory.
   *
   * @param kv An open database.
   * @param options Prefix, owner id, lease, clock, logger and commits in flight.
   * @throws {RangeError} When `leaseMs` is not a positive number, or `commitsInFlight` not a
   *   positive integer.
   */
  constructor(kv: Deno.Kv, options: KvStoreOptions = {}) {
    this.#kv = kv;
    this.#prefix = options.prefix ?? ["fixwire"];
    this.#ownerId = options.ownerId ?? crypto.randomUUID();
    this.#leaseMs = options.leaseMs ?? 15_000;
    if (!(this.#leaseMs > 0)) {
      throw new RangeError(
        `Cannot create KV store factory: leaseMs "${this.#leaseMs}" is not positive`,
      );
    }
    this.#clock = options.clock ?? SYSTEM_CLOCK;
    this.#log = options.logger ?? SILENT_LOGGER;
    this.#commitsInFlight = options.commitsInFlight ?? DEFAULT_COMMITS_IN_FLIGHT;
    if (!Number.isInteger(this.#commitsInFlight) || this.#commitsInFlight < 1) {
      throw new RangeError(
        `Cannot create KV store factory: commitsInFlight "${this.#commitsInFlight}" is not a positive integer`,
      );
    }
  }

  /**
   * Opens and takes ownership of a session's store, under `[...prefix, id.key]`. When the key
   * changed as keys became unique (its old key, the parts joined by `-` as they are, may be
   * another session's too) and nothing was stored under the new one yet, the data under the old
   * key is moved over (logged) if it is provably this session's: no other session had that key,
   * or every outgoing message stored there has this session's SenderCompID and TargetCompID.
   * Otherwise it is left alone, with a warning, and the session starts afresh.
   *
   * @param id The session.
   * @param options Creation time for a new store, inbound log switch.
   * @returns The store.
   * @throws {Error} When another live owner holds the session, or its old key.
   */
  async open(id: SessionId, options: SeqStoreOpenOptions): Promise<SeqStore> {
    const base = [...this.#prefix, id.key];
    const ownerKey = [...base, "owner"];
    const current = await this.#kv.get<KvOwner>(ownerKey);
    if (current.value && current.value.expiresAtMs > this.#clock.now()) {
      throw new StoreLockedError(id.toString(), { ownerId: current.value.ownerId });
    }
    if (current.value) {
      this.#log.warn("taking over an expired store lease", {
        session: id.toString(),
        previousOwner: current.value.ownerId,
      });
    }
    const claimedAtMs = this.#clock.now();
    const claim = await this.#kv.atomic().check(current).set(
      ownerKey,
      { ownerId: this.#ownerId, expiresAtMs: claimedAtMs + this.#leaseMs } satisfies KvOwner,
    ).commit();
    if (!claim.ok) {
      throw new StoreLockedError(id.toString());
    }
    await this.#adoptLegacy(id, base, claim.versionstamp);
    const saved = await this.#kv.get<SeqState>([...base, "state"]);
    const state: SeqState = saved.value ? { ...saved.value } : {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs: options.nowMs,
      correctlyTerminated: false,
    };
    const last = await lastNumber(this.#kv, base, "msg");
    if (last + 1 > state.nextSenderSeqNum) state.nextSenderSeqNum = last + 1;
    return new KvSeqStore(this.#kv, base, state, {
      session: id.toString(),
      ownerId: this.#ownerId,
      leaseMs: this.#leaseMs,
      clock: this.#clock,
      versionstamp: claim.versionstamp,
      claimedAtMs,
      logger: this.#log,
      logIncoming: options.logIncoming ?? false,
      nextIncoming: (await lastNumber(this.#kv, base, "in")) + 1,
      commitsInFlight: this.#commitsInFlight,
    });
  }

  /**
   * Moves a session's data from the key it had before keys were injective (its parts joined by
   * `-`) to `base`, when the two keys differ, `base` holds no state yet, and the data is
   * provably this session's: no other session had that key, or every outgoing message stored
   * there (and already moved) has this session's SenderCompID and TargetCompID. Otherwise the
   * data is left where it is, with a warning. Each commit moves whole messages and checks both
   * owner records; the state moves last, so a crash midway resumes on the next open.
   *
   * @throws {Error} When a live owner holds the old key, or either owner record changes while
   *   the data moves.
   */
  async #adoptLegacy(id: SessionId, base: Deno.KvKey, claim: string): Promise<void> {
    const kv = this.#kv;
    const legacy = legacyKey(id);
    if (legacy === id.key) return;
    const old = [...this.#prefix, legacy];
    const [state, oldOwner] = await kv.getMany<[SeqState, KvOwner]>([
      [...base, "state"],
      [...old, "owner"],
    ]);
    if (state.value) return;
    let found = false;
    // Two entries: of those, only one can be the owner record, which is not data.
    for await (const e of kv.list({ prefix: old }, { limit: 2 })) {
      if (e.key[old.length] !== "owner") found = true;
    }
    if (!found) return;
    // Messages already moved count: a crash may have interrupted a move.
    if (!legacyKeyIsOnly(id) && !(await sentOnlyBy(kv, [old, base], id))) {
      this.#log.warn("store data of the old session key left alone: it may be another session's", {
        session: id.toString(),
        key: legacy,
      });
      return;
    }
    if (oldOwner.value && oldOwner.value.expiresAtMs > this.#clock.now()) {
      throw new StoreLockedError(id.toString(), {
        ownerId: oldOwner.value.ownerId,
        detail: ` under its old key "${legacy}"`,
      });
    }
    const commit = async (fill: (op: Deno.AtomicOperation) => void): Promise<void> => {
      const op = kv.atomic()
        .check({ key: [...base, "owner"], versionstamp: claim })
        .check(oldOwner);
      fill(op);
      if (!(await op.commit()).ok) {
        throw new Error(
          `Cannot open store: session "${id}" was opened elsewhere while its data moved to its new key`,
        );
      }
    };
    let batch: Entries = [];
    let count = 0, bytes = 0, keyBytes = 0;
    const move = (): Promise<void> =>
      commit((op) => {
        for (const e of batch) op.set([...base, ...e.key.slice(old.length)], e.value).delete(e.key);
      });
    for await (const group of legacyEntries(kv, old)) {
      let k = 0, v = 0;
      for (const e of group) {
        k += 2 * keySize(e.key) + keySize(base);
        v += e.value instanceof Uint8Array ? e.value.length : OBJECT_VALUE_BYTES;
      }
      const full = count + 2 * group.length > KV_MAX_MUTATIONS - 4 ||
        bytes + 2 * k + v > KV_MAX_MUTATION_BYTES - MARGIN_BYTES ||
        keyBytes + k > KV_MAX_KEY_BYTES - MARGIN_BYTES;
      if (batch.length > 0 && full) {
        await move();
        batch = [];
        count = bytes = keyBytes = 0;
      }
      batch.push(...group);
      count += 2 * group.length;
      bytes += 2 * k + v;
      keyBytes += k;
    }
    if (batch.length > 0) await move();
    // Last, the state and the old owner record: the move is done.
    const oldState = await kv.get<SeqState>([...old, "state"]);
    await commit((op) => {
      if (oldState.value) op.set([...base, "state"], oldState.value).delete(oldState.key);
      op.delete([...old, "owner"]);
    });
    this.#log.warn("store data moved to the new session key", {
      session: id.toString(),
      from: legacy,
      to: id.key,
    });
  }
}

/** A message's head and its chunks, or an entry on its own: moved in one commit. */
type Entries = Deno.KvEntry<unknown>[];

/** Whether the outgoing messages under `bases` were all sent by `id`, and there is one. */
async function sentOnlyBy(kv: Deno.Kv, bases: Deno.KvKey[], id: SessionId): Promise<boolean> {
  let seen = false;
  for (const base of bases) {
    for await (const { bytes } of listMessages(kv, base, "msg", 1, Number.MAX_SAFE_INTEGER)) {
      if (!sentBy(bytes, id)) return false;
      seen = true;
    }
  }
  return seen;
}

/** The entries under `old` but its owner and state, each message with its chunks. */
async function* legacyEntries(kv: Deno.Kv, old: Deno.KvKey): AsyncIterable<Entries> {
  for (const kind of ["msg", "in"] as const) {
    for await (const e of kv.list<Uint8Array | Chunked>({ prefix: [...old, kind] })) {
      const group: Entries = [e];
      if (!(e.value instanceof Uint8Array)) {
        const part = kind === "msg" ? "chunk" : "inchunk";
        for await (const c of kv.list({ prefix: [...old, part, e.key.at(-1)!] })) group.push(c);
      }
      yield group;
    }
  }
  // What is left: chunks a crash left without their message.
  for await (const e of kv.list({ prefix: old })) {
    const part = e.key[old.length];
    if (part !== "owner" && part !== "state") yield [e];
  }
}

/** What {@linkcode readKvStore} found for a session. */
export interface KvStoreContents {
  /** The committed state, or `undefined` for a session never stored. */
  state: SeqState | undefined;
  /** The stored outgoing messages, ascending. */
  messages: StoredMessage[];
  /** The current owner record, if the session is owned (its lease may have run out). */
  owner: KvOwner | undefined;
}

/**
 * Reads a session's KV store without taking its lease or writing anything, so it works on a
 * session that is running: for operator tools. It reads under `id.key`; data still under an
 * id's old key (see {@linkcode KvSeqStoreFactory.open}) shows once the session has opened.
 *
 * @param kv An open database.
 * @param id The session.
 * @param options The key prefix used by the engine (default `["fixwire"]`).
 * @returns The state, the stored messages and the owner.
 * @example
 * ```ts
 * import { readKvStore } from "@fixwire/engine/kv-store";
 * import { SessionId } from "@fixwire/engine";
 * const kv = await Deno.openKv(":memory:");
 * const { state, messages } = await readKvStore(kv, new SessionId("A", "B"));
 * kv.close();
 * ```
 */
export async function readKvStore(
  kv: Deno.Kv,
  id: SessionId,
  options: { prefix?: Deno.KvKeyPart[] } = {},
): Promise<KvStoreContents> {
  const base = [...(options.prefix ?? ["fixwire"]), id.key];
  const [state, owner] = await kv.getMany<[SeqState, KvOwner]>([
    [...base, "state"],
    [...base, "owner"],
  ]);
  const messages: StoredMessage[] = [];
  for await (const { n, bytes } of listMessages(kv, base, "msg", 1, Number.MAX_SAFE_INTEGER)) {
    messages.push({ seqNum: n, bytes });
  }
  return { state: state.value ?? undefined, messages, owner: owner.value ?? undefined };
}
