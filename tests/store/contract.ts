// One contract suite, run unchanged against every SeqStore adapter.
import assert from "node:assert/strict";
import { SessionId } from "../../src/session_id.ts";
import type { SeqStore, SeqStoreFactory } from "../../src/store.ts";

const te = new TextEncoder();

/** A raw FIX message with correct BodyLength and CheckSum. */
export function fixBytes(seq: number, extra = ""): Uint8Array {
  const body =
    `35=D\x0149=A\x0156=B\x0134=${seq}\x0152=20261124-10:00:00.000\x0111=ord${seq}\x01${extra}`;
  const head = `8=FIX.4.4\x019=${te.encode(body).length}\x01`;
  const all = te.encode(head + body);
  let sum = 0;
  for (const b of all) sum += b;
  const out = new Uint8Array(all.length + 7);
  out.set(all);
  out.set(te.encode(`10=${String(sum % 256).padStart(3, "0")}\x01`), all.length);
  return out;
}

/** The file store's target record for `target` as text: `#T <n>`, padded to 24 bytes. */
export function targetRecord(target: number): string {
  return `#T ${target}`.padEnd(23, " ") + "\n";
}

/** A raw FIX message of exactly `size` bytes (padded with a Text(58) field). */
export function fixBytesOfSize(seq: number, size: number): Uint8Array {
  let pad = Math.max(0, size - fixBytes(seq, "58=\x01").length);
  for (;;) {
    const m = fixBytes(seq, `58=${"x".repeat(pad)}\x01`);
    if (m.length === size) return m;
    pad += size - m.length;
  }
}

async function incoming(store: SeqStore): Promise<Uint8Array[]> {
  const out: Uint8Array[] = [];
  for await (const m of store.readIncoming()) out.push(m);
  return out;
}

async function read(store: SeqStore, from: number, to: number): Promise<number[]> {
  const out: number[] = [];
  for await (const m of store.readOutgoing(from, to)) {
    assert.deepEqual(m.bytes, fixBytes(m.seqNum));
    out.push(m.seqNum);
  }
  return out;
}

export interface ContractTarget {
  /** Returns a factory over the same underlying storage each time (a "restart"). */
  factory(): SeqStoreFactory;
  /** Whether a second open of the same session while open must be refused. */
  exclusive: boolean;
}

export function runSeqStoreContract(
  name: string,
  setup: () => Promise<ContractTarget & { cleanup(): Promise<void> }>,
): void {
  Deno.test(`${name} store contract`, async (t) => {
    const target = await setup();
    const id = new SessionId("A", "B");
    try {
      await t.step("a new store starts at 1/1 with its creation time", async () => {
        const s = await target.factory().open(new SessionId("NEW", "X"), { nowMs: 1234 });
        assert.equal(s.state.nextSenderSeqNum, 1);
        assert.equal(s.state.nextTargetSeqNum, 1);
        assert.equal(s.state.creationTimeMs, 1234);
        assert.equal(s.state.correctlyTerminated, false);
        await s.close();
      });

      await t.step("messages and numbers survive a reopen", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        for (let i = 1; i <= 5; i++) s.appendOutgoing(i, fixBytes(i));
        s.setNextTargetSeqNum(42);
        await s.flush();
        assert.equal(s.state.nextSenderSeqNum, 6);
        await s.close();
        const again = await target.factory().open(id, { nowMs: 99 });
        assert.equal(again.state.nextSenderSeqNum, 6);
        assert.equal(again.state.nextTargetSeqNum, 42);
        assert.equal(again.state.creationTimeMs, 1);
        assert.deepEqual(await read(again, 1, 5), [1, 2, 3, 4, 5]);
        await again.close();
      });

      await t.step("readOutgoing serves a range and skips numbers with no message", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        s.setNextSenderSeqNum(8); // 6 and 7 were session messages, not stored
        s.appendOutgoing(8, fixBytes(8));
        await s.flush();
        assert.deepEqual(await read(s, 4, 100), [4, 5, 8]);
        assert.deepEqual(await read(s, 6, 7), []);
        assert.equal(s.state.nextSenderSeqNum, 9);
        await s.close();
      });

      await t.step("unflushed messages are readable too", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        s.appendOutgoing(9, fixBytes(9));
        assert.deepEqual(await read(s, 9, 9), [9]);
        await s.close(); // close flushes
        const again = await target.factory().open(id, { nowMs: 1 });
        assert.deepEqual(await read(again, 9, 9), [9]);
        await again.close();
      });

      await t.step("messages of a flush still in progress are readable", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        s.appendOutgoing(10, fixBytes(10));
        const flushed = s.flush();
        assert.deepEqual(await read(s, 9, 10), [9, 10]);
        await flushed;
        assert.deepEqual(await read(s, 9, 10), [9, 10]);
        await s.close();
      });

      await t.step("messages stored while a flush is in progress go with the next", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        s.appendOutgoing(11, fixBytes(11));
        const first = s.flush();
        s.appendOutgoing(12, fixBytes(12));
        s.setNextTargetSeqNum(43);
        const second = s.flush();
        const third = s.flush(); // called meanwhile: may share the second's write
        assert.deepEqual(await read(s, 10, 20), [10, 11, 12]);
        await Promise.all([first, second, third]);
        assert.equal(s.state.nextSenderSeqNum, 13);
        await s.close();
        const again = await target.factory().open(id, { nowMs: 1 });
        assert.deepEqual(await read(again, 10, 20), [10, 11, 12]);
        assert.equal(again.state.nextSenderSeqNum, 13);
        assert.equal(again.state.nextTargetSeqNum, 43);
        await again.close();
      });

      await t.step(
        "each batch's messages are readable before and after it is written",
        async () => {
          // Every batch starts with no record of the one written before it (the file store
          // reuses a written batch's list of message ends for the next).
          const s = await target.factory().open(new SessionId("A", "ENDS"), { nowMs: 1 });
          for (let seq = 1; seq < 13; seq += 3) {
            s.appendOutgoing(seq, fixBytes(seq));
            s.appendOutgoing(seq + 1, fixBytes(seq + 1, "58=longer\x01"));
            s.appendOutgoing(seq + 2, fixBytes(seq + 2));
            const served: Uint8Array[] = [];
            for await (const m of s.readOutgoing(seq, seq + 2)) served.push(m.bytes);
            assert.deepEqual(served, [
              fixBytes(seq),
              fixBytes(seq + 1, "58=longer\x01"),
              fixBytes(seq + 2),
            ]);
            await s.flush();
            assert.deepEqual(await read(s, seq + 2, seq + 2), [seq + 2]);
          }
          await s.close();
        },
      );

      await t.step("the inbound log keeps every message in arrival order", async () => {
        const inId = new SessionId("IN", "X");
        const big = fixBytes(3, `58=${"y".repeat(150_000)}\x01`);
        const s = await target.factory().open(inId, { nowMs: 1, logIncoming: true });
        s.appendIncoming(fixBytes(2));
        s.appendIncoming(fixBytes(1)); // arrival order, not MsgSeqNum order
        assert.deepEqual(await incoming(s), [fixBytes(2), fixBytes(1)], "unflushed");
        await s.flush();
        s.appendIncoming(big);
        s.appendIncoming(fixBytes(2)); // a duplicate is logged again
        await s.close();
        const expected = [fixBytes(2), fixBytes(1), big, fixBytes(2)];
        // Opened without the inbound log: earlier messages stay readable, new ones are not kept.
        const off = await target.factory().open(inId, { nowMs: 1 });
        assert.deepEqual(await incoming(off), expected);
        off.appendIncoming(fixBytes(9));
        assert.deepEqual(await incoming(off), expected);
        await off.close();
        const on = await target.factory().open(inId, { nowMs: 1, logIncoming: true });
        assert.deepEqual(await incoming(on), expected);
        on.appendIncoming(fixBytes(4));
        await on.reset(5); // the inbound log is an audit trail: a reset keeps it
        assert.deepEqual(await incoming(on), [...expected, fixBytes(4)]);
        await on.close();
        const last = await target.factory().open(inId, { nowMs: 1 });
        assert.deepEqual(await incoming(last), [...expected, fixBytes(4)]);
        assert.deepEqual(await read(last, 1, 100), []);
        await last.close();
      });

      await t.step("the correctly-terminated marker persists", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        s.setCorrectlyTerminated(true);
        await s.flush();
        await s.close();
        const again = await target.factory().open(id, { nowMs: 1 });
        assert.equal(again.state.correctlyTerminated, true);
        again.setCorrectlyTerminated(false);
        await again.close();
      });

      await t.step("a large batch and a large message round-trip", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        for (let i = 13; i < 1013; i++) s.appendOutgoing(i, fixBytes(i));
        const big = fixBytes(1013, `58=${"x".repeat(200_000)}\x01`);
        s.appendOutgoing(1013, big);
        await s.flush();
        await s.close();
        const again = await target.factory().open(id, { nowMs: 1 });
        assert.equal(again.state.nextSenderSeqNum, 1014);
        const got: Uint8Array[] = [];
        for await (const m of again.readOutgoing(1008, 1013)) got.push(m.bytes);
        assert.equal(got.length, 6);
        assert.deepEqual(got[5], big);
        await again.close();
      });

      await t.step("reset starts at 1/1 and forgets messages", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        await s.reset(777);
        assert.equal(s.state.nextSenderSeqNum, 1);
        assert.equal(s.state.nextTargetSeqNum, 1);
        assert.equal(s.state.creationTimeMs, 777);
        assert.deepEqual(await read(s, 1, 2000), []);
        s.appendOutgoing(1, fixBytes(1));
        await s.close();
        const again = await target.factory().open(id, { nowMs: 1 });
        assert.equal(again.state.creationTimeMs, 777);
        assert.deepEqual(await read(again, 1, 2000), [1]);
        await again.close();
      });

      await t.step("close is idempotent", async () => {
        const s = await target.factory().open(id, { nowMs: 1 });
        await s.close();
        await s.close();
      });

      if (target.exclusive) {
        await t.step("a second owner of the same session is refused", async () => {
          const s = await target.factory().open(id, { nowMs: 1 });
          await assert.rejects(target.factory().open(id, { nowMs: 1 }), /Cannot open store/);
          await s.close();
          const again = await target.factory().open(id, { nowMs: 1 });
          await again.close();
        });
      }
    } finally {
      await target.cleanup();
    }
  });
}
