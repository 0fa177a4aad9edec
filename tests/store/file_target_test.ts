// The file store's target records: the next target number written with the stored messages of
// the same commit (one write for a round trip's two facts), and recovered from the log when it
// is newer than the state line.
import assert from "node:assert/strict";
import {
  FileSeqStoreFactory,
  type FileSyncMode,
  readArchivedLogs,
  readFileStore,
  StoreCorruptError,
  TARGET_RECORD_BYTES,
  targetRecordAt,
} from "../../adapters/file_store.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";
import { fixBytes, targetRecord as record } from "./contract.ts";
import { spyOnFiles } from "./_io_spy.ts";
import { afterCrash, withDir } from "./_dirs.ts";

const ID = new SessionId("A", "B");
const message = (seq: number) => fixBytes(seq, `58=${"x".repeat(60)}\x01`);

function open(dir: string, sync: FileSyncMode = "none", logger?: Logger) {
  return new FileSeqStoreFactory({ directory: dir, sync, logger }).open(ID, { nowMs: 1 });
}

async function seqNums(
  s: { readOutgoing(a: number, b: number): AsyncIterable<{ seqNum: number }> },
  from = 1,
  to = 1_000_000,
) {
  const out: number[] = [];
  for await (const m of s.readOutgoing(from, to)) out.push(m.seqNum);
  return out;
}

const text = (path: string) => new TextDecoder().decode(Deno.readFileSync(path));

for (const sync of ["none", "batch"] as const) {
  Deno.test(`file store (sync ${sync}): a round trip's message and target number take one write, and survive a crash`, async () => {
    await withDir(async (dir) => {
      const spy = spyOnFiles("/state.txt");
      let s;
      try {
        s = await open(dir, sync);
        spy.reset();
        const stateBefore = text(`${dir}/A-B/state.txt`);
        for (let i = 1; i <= 5; i++) {
          s.setNextTargetSeqNum(i + 1); // a message received...
          s.appendOutgoing(i, message(i)); // ...answered
          await s.flush();
        }
        assert.equal(text(`${dir}/A-B/state.txt`), stateBefore, "no state line");
        assert.equal(spy.writes(), 0);
      } finally {
        spy.restore();
      }
      const log = text(`${dir}/A-B/outgoing.log`);
      const expected = [1, 2, 3, 4, 5].map((i) =>
        new TextDecoder().decode(message(i)) + record(i + 1)
      );
      assert.equal(log, expected.join(""));
      assert.deepEqual(await seqNums(s), [1, 2, 3, 4, 5], "a resend steps over the records");
      assert.deepEqual(await seqNums(s, 3, 4), [3, 4]);
      const read = await readFileStore(`${dir}/A-B`);
      assert.equal(read.count, 5);
      assert.deepEqual(read.messages.map((m) => m.seqNum), [1, 2, 3, 4, 5]);
      assert.equal(read.state?.nextTargetSeqNum, 6, "readFileStore applies the newest record");
      await afterCrash(dir, ID, async (again, folder) => {
        assert.deepEqual(again.state, {
          nextSenderSeqNum: 6,
          nextTargetSeqNum: 6,
          creationTimeMs: 1,
          correctlyTerminated: false,
        });
        assert.deepEqual(await seqNums(again), [1, 2, 3, 4, 5]);
        await again.close();
        assert.match(text(`${folder}/state.txt`), /^S 6 T 6 C 1 E 0 L \d+ +\n$/);
      }, { sync });
      // The index lost: rebuilt from the log, over the records.
      await afterCrash(dir, ID, async (again) => {
        assert.equal(again.state.nextTargetSeqNum, 6);
        assert.equal(again.stats.indexEntries, 1);
        assert.deepEqual(await seqNums(again, 2, 5), [2, 3, 4, 5]);
      }, { sync, damage: (folder) => Deno.removeSync(`${folder}/outgoing.idx`) });
      await s.close();
      // Closed: state.txt holds the target number the records carried.
      assert.match(text(`${dir}/A-B/state.txt`), /^S 6 T 6 /);
    });
  });
}

Deno.test("file store (sync message): no target records, one write per message, the state line holds the number", async () => {
  await withDir(async (dir) => {
    const s = await open(dir, "message");
    s.setNextTargetSeqNum(4);
    s.appendOutgoing(1, message(1));
    await s.flush();
    assert.deepEqual(Deno.readFileSync(`${dir}/A-B/outgoing.log`), message(1));
    assert.match(text(`${dir}/A-B/state.txt`).trimEnd().split("\n").at(-1)!, / T 4 /);
    await s.close();
  });
});

Deno.test("file store: the newer of the state line and the last target record gives the target number", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    s.setNextTargetSeqNum(10);
    s.appendOutgoing(1, message(1));
    await s.flush(); // a record: 10
    s.setNextTargetSeqNum(4); // lowered (an operator's reset of the inbound number)
    await s.flush(); // no message: a state line, after the record
    await afterCrash(dir, ID, (again) => {
      assert.equal(again.state.nextTargetSeqNum, 4, "the line is newer than the record");
    });
    s.setNextTargetSeqNum(5);
    s.appendOutgoing(2, message(2));
    await s.flush(); // a record after that line
    await afterCrash(dir, ID, (again) => {
      assert.equal(again.state.nextTargetSeqNum, 5, "the record is newer than the line");
    });
    await s.close();
  });
});

Deno.test("file store: the newest target record is never before the last checkpoint, where opening reads from", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    s.setNextTargetSeqNum(77);
    s.appendOutgoing(1, message(1));
    await s.flush(); // the record: 77, newer than the state line
    // Messages alone past the next checkpoint (every 4,096 messages): the target number does
    // not move, so only the checkpoint's batch carries a record.
    for (let i = 2; i <= 5000; i++) {
      s.appendOutgoing(i, message(i));
      if (i % 100 === 0) await s.flush();
    }
    await s.flush();
    const records = text(`${dir}/A-B/outgoing.log`).match(/#T \d+/g);
    assert.deepEqual(records, ["#T 77", "#T 77"]);
    assert.ok(s.stats.indexEntries >= 2);
    await afterCrash(dir, ID, (again) => {
      assert.ok(again.stats.bytesReadOnOpen < 200_000, "read from the last checkpoint only");
      assert.equal(again.state.nextTargetSeqNum, 77);
      assert.equal(again.state.nextSenderSeqNum, 5001);
    });
    await s.close();
  });
});

Deno.test("file store (sync batch): a failed write puts its target record back; reads of the batch step over it", async () => {
  await withDir(async (dir) => {
    const spy = spyOnFiles("/outgoing.log");
    try {
      const s = await open(dir, "batch");
      s.appendOutgoing(1, message(1));
      await s.flush();
      for (let i = 2; i <= 4; i++) s.appendOutgoing(i, message(i));
      s.setNextTargetSeqNum(9);
      spy.failNextWrite();
      await assert.rejects(s.flush(), Deno.errors.WriteZero);
      s.appendOutgoing(5, message(5));
      assert.deepEqual(await seqNums(s), [1, 2, 3, 4, 5], "kept in memory, the record skipped");
      await s.flush();
      assert.deepEqual(await seqNums(s), [1, 2, 3, 4, 5]);
      await afterCrash(dir, ID, async (again) => {
        assert.deepEqual(await seqNums(again), [1, 2, 3, 4, 5]);
        assert.equal(again.state.nextTargetSeqNum, 9);
      }, { sync: "batch" });
      await s.close();
    } finally {
      spy.restore();
    }
  });
});

Deno.test("file store: a torn target record is cut off; damage in the middle is reported", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    s.setNextTargetSeqNum(3);
    s.appendOutgoing(1, message(1));
    await s.flush();
    s.setNextTargetSeqNum(8);
    s.appendOutgoing(2, message(2));
    await s.flush();
    const warned: string[] = [];
    const logger: Logger = {
      debug() {},
      info() {},
      warn: (m) => void warned.push(m),
      error() {},
    };
    await afterCrash(dir, ID, async (again) => {
      assert.deepEqual(warned, ["store recovered from a torn last write"]);
      assert.equal(again.state.nextTargetSeqNum, 3, "the record before it");
      assert.deepEqual(await seqNums(again), [1, 2]);
    }, {
      logger,
      damage: (folder) => {
        const log = `${folder}/outgoing.log`;
        Deno.truncateSync(log, Deno.statSync(log).size - 5); // the last record torn
      },
    });
    // A damaged record followed by a whole message: not a crash's doing.
    const damaged = afterCrash(dir, ID, () => {}, {
      damage: async (folder) => {
        const bytes = Deno.readFileSync(`${folder}/outgoing.log`);
        bytes[new TextDecoder().decode(bytes).indexOf("#T ") + 1] = 88; // "#X"
        Deno.writeFileSync(`${folder}/outgoing.log`, bytes);
        await assert.rejects(readFileStore(folder), StoreCorruptError);
      },
    });
    await assert.rejects(damaged, StoreCorruptError);
    await s.close();
  });
});

Deno.test("file store: a reset archives the records with the log; the archive reads as messages", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    for (let i = 1; i <= 3; i++) {
      s.setNextTargetSeqNum(i + 1);
      s.appendOutgoing(i, message(i));
      await s.flush();
    }
    await s.reset(2);
    assert.deepEqual(s.state, {
      nextSenderSeqNum: 1,
      nextTargetSeqNum: 1,
      creationTimeMs: 2,
      correctlyTerminated: false,
    });
    s.setNextTargetSeqNum(2);
    s.appendOutgoing(1, message(1));
    await s.flush();
    const [archived] = await readArchivedLogs(`${dir}/A-B`);
    assert.equal(archived.count, 3);
    assert.deepEqual(archived.messages.map((m) => m.seqNum), [1, 2, 3]);
    await afterCrash(dir, ID, (again) => {
      assert.equal(again.state.nextTargetSeqNum, 2);
      assert.equal(again.state.creationTimeMs, 2);
    });
    await s.close();
  });
});

Deno.test("file store opens a folder whose state line has no log length (written before target records)", async () => {
  await withDir(async (dir) => {
    Deno.mkdirSync(`${dir}/A-B`);
    Deno.writeFileSync(`${dir}/A-B/outgoing.log`, new Uint8Array([...message(1), ...message(2)]));
    Deno.writeTextFileSync(`${dir}/A-B/state.txt`, "S 3 T 5 C 1 E 0".padEnd(79, " ") + "\n");
    const s = await open(dir);
    assert.equal(s.state.nextTargetSeqNum, 5);
    assert.equal(s.state.nextSenderSeqNum, 3);
    s.setNextTargetSeqNum(6);
    s.appendOutgoing(3, message(3));
    await s.flush();
    await afterCrash(dir, ID, (again) => {
      assert.equal(again.state.nextTargetSeqNum, 6);
    });
    await s.close();
  });
});

Deno.test("targetRecordAt reads a whole target record where one starts, and nothing else", () => {
  const log = new TextEncoder().encode(record(42) + "8=FIX.4.4" + record(7).slice(0, 10));
  assert.equal(TARGET_RECORD_BYTES, 24);
  assert.equal(targetRecordAt(log, 0), 42);
  assert.equal(targetRecordAt(log, 1), 0, "not where a record starts");
  assert.equal(targetRecordAt(log, 24), 0, "a message");
  assert.equal(targetRecordAt(log, 33), 0, "cut short by the end");
  assert.equal(targetRecordAt(new TextEncoder().encode("#T 4x".padEnd(23) + "\n"), 0), 0);
});
