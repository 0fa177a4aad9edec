/**
 * Does one session's durable store stall the others? A 1 ms timer (another session's heartbeat
 * check) measures its own lateness while one store syncs every message (`"message"`) or every
 * batch (`"batch"`) as fast as it can, in the same process, through:
 *
 * - `sync path`: what the file store did before (`writeSync`, then `syncDataSync`, on the event
 *   loop), reproduced here with the same calls, or, with `--baseline <module>`, that earlier file
 *   store itself (`bench/file_store_compare.ts` passes the one before the sparse index);
 * - `async path`: the file store now (`FsFile.write` and `FsFile.syncData` on Deno's blocking
 *   thread pool), through the `SeqStore` API;
 *
 * and, first, with no store at all. Each store turn stores `--per-turn` messages (default 10)
 * of about 170 bytes, flushes, then yields to the event loop (as a session waits for its socket).
 * `--rounds` repeats the store rows, alternating the two paths; `--json` prints the rows as JSON
 * lines instead of a table.
 *
 *     deno run --allow-read --allow-write bench/file_store_latency.ts [--seconds 3] \
 *       [--per-turn 10] [--rounds 1] [--baseline <module exporting FileSeqStoreFactory>] [--json]
 *
 * @module
 */

import { FileSeqStoreFactory, type FileSyncMode } from "../adapters/file_store.ts";
import { SessionId } from "../src/session_id.ts";
import type { SeqStore, SeqStoreFactory } from "../src/store.ts";
import { MessageMaker, print, printTable } from "./file_store_messages.ts";

function option(name: string, fallback: number): number {
  const i = Deno.args.indexOf(name);
  return i >= 0 ? Number(Deno.args[i + 1]) : fallback;
}

const SECONDS = option("--seconds", 3);
const PER_TURN = option("--per-turn", 10);
const ROUNDS = option("--rounds", 1);
const at = Deno.args.indexOf("--baseline");
const BASELINE = at >= 0 ? Deno.args[at + 1] : undefined;
const maker = new MessageMaker(170);
const nextTurn = () => new Promise<void>((resolve) => setTimeout(resolve, 0));

/** The store's write path before this change, as it was: synchronous calls on the event loop. */
class SyncPath {
  readonly #file: Deno.FsFile;
  readonly #perMessage: boolean;
  #pending = new Uint8Array(64 * 1024);
  #len = 0;
  #ends: number[] = [];

  constructor(path: string, perMessage: boolean) {
    this.#file = Deno.openSync(path, { append: true, create: true });
    this.#perMessage = perMessage;
  }

  append(bytes: Uint8Array): void {
    if (this.#len + bytes.length > this.#pending.length) {
      const next = new Uint8Array(2 * (this.#len + bytes.length));
      next.set(this.#pending.subarray(0, this.#len));
      this.#pending = next;
    }
    this.#pending.set(bytes, this.#len);
    this.#len += bytes.length;
    this.#ends.push(this.#len);
  }

  #write(bytes: Uint8Array): void {
    let off = 0;
    while (off < bytes.length) off += this.#file.writeSync(bytes.subarray(off));
  }

  flush(): Promise<void> {
    if (this.#perMessage) {
      let from = 0;
      for (const end of this.#ends) {
        this.#write(this.#pending.subarray(from, end));
        this.#file.syncDataSync();
        from = end;
      }
    } else {
      this.#write(this.#pending.subarray(0, this.#len));
      this.#file.syncDataSync();
    }
    this.#len = 0;
    this.#ends.length = 0;
    return Promise.resolve();
  }

  close(): void {
    this.#file.close();
  }
}

interface Store {
  append(seq: number, bytes: Uint8Array): void;
  flush(): Promise<void>;
  close(): Promise<void> | void;
}

/** Runs the 1 ms timer (and the store, if any) for SECONDS; returns the timer's lateness. */
async function phase(store: Store | undefined): Promise<Record<string, string | number>> {
  const lateness: number[] = [];
  let running = true;
  const timer = new Promise<void>((done) => {
    let due = performance.now() + 1;
    const tick = () => {
      const now = performance.now();
      lateness.push(now - due);
      if (!running) return done();
      due = now + 1;
      setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
  });
  let stored = 0;
  const session = (async () => {
    if (!store) return;
    while (running) {
      for (let i = 0; i < PER_TURN; i++) store.append(++stored, maker.make(stored));
      await store.flush();
      await nextTurn();
    }
  })();
  await new Promise((resolve) => setTimeout(resolve, SECONDS * 1000));
  running = false;
  await Promise.all([timer, session]);
  await store?.close();
  lateness.sort((a, b) => a - b);
  const at = (q: number) =>
    lateness[Math.min(lateness.length - 1, Math.floor(q * lateness.length))];
  const ms = (v: number) => v.toFixed(2);
  return {
    "timer ticks": lateness.length,
    "late p50 ms": ms(at(0.5)),
    "late p99 ms": ms(at(0.99)),
    "late p99.9 ms": ms(at(0.999)),
    "late max ms": ms(lateness.at(-1)!),
    "stored msg/s": Math.round(stored / SECONDS),
  };
}

type Factory = new (o: { directory: string; sync: FileSyncMode }) => SeqStoreFactory;
const previous: Factory | undefined = BASELINE === undefined
  ? undefined
  : (await import(BASELINE)).FileSeqStoreFactory;

/** A store through the `SeqStore` API, flushed as the session flushes. */
function session(store: SeqStore): Store {
  return {
    append: (seq, bytes) => store.appendOutgoing(seq, bytes),
    flush: async () => {
      // As the session does: the messages before the socket write, the rest after.
      await (store.flushOutgoing ? store.flushOutgoing() : store.flush());
      await store.flush();
    },
    close: () => store.close(),
  };
}

const dir = await Deno.makeTempDir({ prefix: "fixwire-store-latency-" });
try {
  const rows: Record<string, string | number>[] = [];
  rows.push({ store: "none (timer alone)", ...await phase(undefined) });
  let n = 0;
  for (const sync of ["message", "batch"] as const) {
    for (let round = 1; round <= ROUNDS; round++) {
      const id = () => new SessionId("S", `T${n++}`);
      let old: Store;
      if (previous) {
        const s = await new previous({ directory: `${dir}/previous`, sync }).open(id(), {
          nowMs: Date.now(),
        });
        old = session(s);
      } else {
        const path = new SyncPath(`${dir}/sync-${sync}-${round}.log`, sync === "message");
        old = {
          append: (_seq, bytes) => path.append(bytes),
          flush: () => path.flush(),
          close: () => path.close(),
        };
      }
      const label = previous ? "previous store" : "sync path";
      rows.push({ store: `${label}, "${sync}"`, round, ...await phase(old) });
      const store = await new FileSeqStoreFactory({ directory: `${dir}/async`, sync })
        .open(id(), { nowMs: Date.now() });
      rows.push({ store: `async path, "${sync}"`, round, ...await phase(session(store)) });
    }
  }
  if (Deno.args.includes("--json")) {
    for (const row of rows) print(JSON.stringify(row));
  } else {
    print(
      `A 1 ms timer's lateness while one store syncs, ${SECONDS} s per row, ${PER_TURN} ` +
        `messages of ~170 bytes per turn (Deno ${Deno.version.deno}, ${Deno.build.os})`,
    );
    printTable(rows);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
