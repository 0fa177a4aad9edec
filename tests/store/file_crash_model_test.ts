// The file store against a model, over seeded random histories: messages of all sizes and
// bursts (so the log crosses its checkpoints), inbound numbers that move up by one, jump or go back, sender
// numbers taken by admin messages, the terminated marker, resets, closes and reopens. After
// every commit a crash is simulated (the files copied as they are, no close) at random: the
// copy must open to exactly the state and messages committed, whichever of the state line and
// the log's target records holds the inbound number.
import assert from "node:assert/strict";
import { FileSeqStoreFactory, type FileSyncMode } from "../../adapters/file_store.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SeqState, SeqStore } from "../../src/store.ts";
import { Rng } from "../fuzz/_prng.ts";
import { fixBytesOfSize } from "./contract.ts";
import { afterCrash } from "./_dirs.ts";

const ID = new SessionId("A", "B");

async function seqNums(s: SeqStore): Promise<number[]> {
  const out: number[] = [];
  for await (const m of s.readOutgoing(1, Number.MAX_SAFE_INTEGER)) out.push(m.seqNum);
  return out;
}

/** What a crash now leaves: the reopened copy's state and stored MsgSeqNums. */
function crashed(dir: string, sync: FileSyncMode): Promise<{ state: SeqState; seqs: number[] }> {
  return afterCrash(dir, ID, async (s) => ({ state: { ...s.state }, seqs: await seqNums(s) }), {
    sync,
  });
}

async function history(seed: number, steps: number, sync: FileSyncMode): Promise<void> {
  const rng = new Rng(seed);
  const dir = await Deno.makeTempDir();
  const factory = new FileSeqStoreFactory({ directory: dir, sync });
  let s = await factory.open(ID, { nowMs: 0 });
  // The model: what is committed once a flush resolved.
  let stored: number[] = [];
  let state: SeqState = { ...s.state };
  // The inbound numbers and markers held since the last full commit (that one's included).
  let since = { targets: new Set([state.nextTargetSeqNum]), marks: new Set([false]) };
  const committed = () => {
    since = {
      targets: new Set([state.nextTargetSeqNum]),
      marks: new Set([state.correctlyTerminated]),
    };
  };
  let creation = 0;
  const where = (step: number, what: string) => `seed ${seed}, step ${step} (${sync}): ${what}`;
  try {
    for (let step = 0; step < steps; step++) {
      const op = rng.int(100);
      if (op < 45) {
        // Messages sent: small ones mostly, now and then large enough to pass checkpoints.
        for (let k = rng.int(4); k > 0; k--) {
          const seq = state.nextSenderSeqNum;
          s.appendOutgoing(seq, fixBytesOfSize(seq, rng.chance(0.1) ? 40_000 : 150));
          stored.push(seq);
          state.nextSenderSeqNum = seq + 1;
        }
      } else if (op < 75) {
        // A message received (one up), a gap filled (a jump), an operator's change (back).
        const t = state.nextTargetSeqNum;
        const next = rng.chance(0.8) ? t + 1 : rng.chance(0.5) ? t + rng.range(2, 50) : 1 +
          rng.int(t);
        s.setNextTargetSeqNum(next);
        state.nextTargetSeqNum = next;
        since.targets.add(next);
      } else if (op < 77) {
        // A burst sent with nothing received: past a checkpoint (every 1 MiB of log) with the
        // inbound number still where the last target record or state line put it.
        for (let k = 0; k < 30; k++) {
          const seq = state.nextSenderSeqNum;
          s.appendOutgoing(seq, fixBytesOfSize(seq, 40_000));
          stored.push(seq);
          state.nextSenderSeqNum = seq + 1;
        }
        await s.flush();
        committed();
      } else if (op < 80) {
        // An admin message took a number and was not stored.
        s.setNextSenderSeqNum(state.nextSenderSeqNum + 1);
        state.nextSenderSeqNum++;
      } else if (op < 83) {
        const v = rng.chance(0.5);
        s.setCorrectlyTerminated(v);
        state.correctlyTerminated = v;
        since.marks.add(v);
      } else if (op < 84) {
        creation++;
        await s.reset(creation);
        stored = [];
        state = {
          nextSenderSeqNum: 1,
          nextTargetSeqNum: 1,
          creationTimeMs: creation,
          correctlyTerminated: false,
        };
        committed();
      } else if (op < 86) {
        await s.close();
        s = await factory.open(ID, { nowMs: 0 });
        assert.deepEqual(s.state, state, where(step, "reopened"));
        committed();
      } else if (op < 90 && sync === "none") {
        // What sending waits for (the link's first commit of a turn): the messages and the
        // sender number. The inbound number and the marker may wait for the full commit; a
        // crash now finds each at a value it had since the last full commit.
        assert.equal(s.flushSync!(true), true);
        const found = await crashed(dir, sync);
        const { nextTargetSeqNum, correctlyTerminated, ...rest } = found.state;
        const { nextTargetSeqNum: t, correctlyTerminated: e, ...expected } = state;
        assert.deepEqual(rest, expected, where(step, "outgoing only: state after a crash"));
        assert.deepEqual(found.seqs, stored, where(step, "outgoing only: messages after a crash"));
        assert.ok(
          since.targets.has(nextTargetSeqNum),
          where(step, `outgoing only: target ${nextTargetSeqNum}, now ${t}`),
        );
        assert.ok(since.marks.has(correctlyTerminated), where(step, `marker, now ${e}`));
      } else {
        if (rng.chance(0.5) && s.flushSync) {
          if (!s.flushSync(false)) await s.flush();
        } else {
          await s.flush();
        }
        committed();
        if (rng.chance(0.3)) {
          const found = await crashed(dir, sync);
          assert.deepEqual(found.state, state, where(step, "state after a crash"));
          assert.deepEqual(found.seqs, stored, where(step, "messages after a crash"));
        }
      }
    }
    await s.flush();
    const found = await crashed(dir, sync);
    assert.deepEqual(found.state, state, where(steps, "state at the end"));
    assert.deepEqual(found.seqs, stored, where(steps, "messages at the end"));
    await s.close();
    const again = await factory.open(ID, { nowMs: 0 });
    assert.deepEqual(again.state, state, where(steps, "after close"));
    assert.deepEqual(await seqNums(again), stored, where(steps, "messages after close"));
    await again.close();
  } finally {
    await s.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("file store (sync none) recovers exactly what was committed, over 12 seeded histories", async () => {
  for (let seed = 1; seed <= 12; seed++) await history(20261207 + seed, 400, "none");
});

Deno.test("file store (sync batch) recovers exactly what was committed, over 3 seeded histories", async () => {
  for (let seed = 1; seed <= 3; seed++) await history(20261307 + seed, 200, "batch");
});
