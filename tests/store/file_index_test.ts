// The file store's bounded memory and lazy reads (a sparse index, not an entry per message;
// opening reads the log's tail only; a resend reads its range), its recovery of the index, and
// durability off the event loop in the "batch" and "message" modes.
import assert from "node:assert/strict";
import {
  FileSeqStoreFactory,
  type FileSyncMode,
  readFileStore,
  StoreCorruptError,
} from "../../adapters/file_store.ts";
import { SessionId } from "../../src/session_id.ts";
import { fixBytes, targetRecord } from "./contract.ts";
import { withDir } from "./_dirs.ts";
import { spyOnFiles } from "./_io_spy.ts";

const ID = new SessionId("A", "B");
const PAD = `58=${"x".repeat(62)}\x01`;
/** A stored message of about 170 bytes. */
const message = (seq: number) => fixBytes(seq, PAD);
/** `bytes` followed by the target record for `target` (`#T <n>`, padded to 24 bytes). */
function withTarget(bytes: Uint8Array, target: number): Uint8Array {
  const record = new TextEncoder().encode(targetRecord(target));
  const out = new Uint8Array(bytes.length + record.length);
  out.set(bytes);
  out.set(record, bytes.length);
  return out;
}

function open(dir: string, sync: FileSyncMode = "none", logIncoming = false) {
  return new FileSeqStoreFactory({ directory: dir, sync }).open(ID, { nowMs: 1, logIncoming });
}

async function seqNums(
  s: { readOutgoing(a: number, b: number): AsyncIterable<{ seqNum: number; bytes: Uint8Array }> },
  from: number,
  to: number,
): Promise<number[]> {
  const out: number[] = [];
  for await (const m of s.readOutgoing(from, to)) {
    assert.deepEqual(m.bytes, message(m.seqNum));
    out.push(m.seqNum);
  }
  return out;
}

const range = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("file store keeps an index entry per 4096 messages and reads only what it needs", async (t) => {
  await withDir(async (dir) => {
    const N = 200_000;
    const log = `${dir}/A-B/outgoing.log`;
    const spy = spyOnFiles("/outgoing.log");
    try {
      await t.step(
        "storing messages adds an index entry per 4096 of them, not one each",
        async () => {
          const s = await open(dir);
          try {
            for (let i = 1; i <= N; i++) {
              s.appendOutgoing(i, message(i));
              if (i % 1000 === 0) await s.flush();
              if (i % 50_000 === 0) assert.equal(s.stats?.indexEntries, Math.ceil(i / 4096));
            }
            assert.equal(s.stats.indexEntries, 49);
          } finally {
            for (let i = s.state.nextSenderSeqNum; i <= N; i++) s.appendOutgoing(i, message(i));
            await s.close();
          }
        },
      );

      const size = Deno.statSync(log).size;
      const segment = 4096 * message(N).length;
      await t.step("reopening reads the log from its last checkpoint only", async () => {
        spy.reset();
        const s = await open(dir);
        try {
          const read = spy.bytesRead();
          assert.ok(read <= segment, `${read} bytes read on open, of a ${size}-byte log`);
          assert.ok(read > 0);
          assert.equal(s.stats.bytesReadOnOpen, read);
          assert.equal(s.stats.indexEntries, 49);
          assert.equal(s.state.nextSenderSeqNum, N + 1);
        } finally {
          await s.close();
        }
      });

      await t.step("a resend from the middle reads its range's segment, not the log", async () => {
        const s = await open(dir);
        try {
          spy.reset();
          assert.deepEqual(await seqNums(s, 100_000, 100_099), range(100_000, 100_099));
          const read = spy.bytesRead();
          assert.ok(read <= segment + 256 * 1024, `${read} bytes read for 100 messages`);
          assert.deepEqual(await seqNums(s, N - 2, N + 5), [N - 2, N - 1, N]);
        } finally {
          await s.close();
        }
      });

      await t.step(
        "a lost index is rebuilt in one pass over the log, the same as before",
        async () => {
          const before = Deno.readFileSync(`${dir}/A-B/outgoing.idx`);
          Deno.removeSync(`${dir}/A-B/outgoing.idx`);
          spy.reset();
          const s = await open(dir);
          assert.equal(spy.bytesRead(), size);
          assert.equal(s.state.nextSenderSeqNum, N + 1);
          assert.equal(s.stats.indexEntries, 49);
          assert.deepEqual(Deno.readFileSync(`${dir}/A-B/outgoing.idx`), before);
          assert.deepEqual(await seqNums(s, 4095, 4098), [4095, 4096, 4097, 4098]);
          await s.close();
        },
      );
    } finally {
      spy.restore();
    }
  });
});

Deno.test("file store reopened with the inbound log reads only its tail", async () => {
  await withDir(async (dir) => {
    const s = await open(dir, "none", true);
    for (let i = 1; i <= 20_000; i++) s.appendIncoming(message(i));
    await s.close();
    const spy = spyOnFiles("/incoming.log");
    try {
      const again = await open(dir, "none", true);
      assert.ok(spy.bytesRead() <= 4096 * message(1).length, `${spy.bytesRead()} bytes`);
      again.appendIncoming(message(20_001));
      let n = 0;
      for await (const m of again.readIncoming()) assert.deepEqual(m, message(++n));
      assert.equal(n, 20_001);
      await again.close();
    } finally {
      spy.restore();
    }
  });
});

Deno.test("file store drops index lines that do not match the log and rebuilds from the last good one", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    for (let i = 1; i <= 10_000; i++) s.appendOutgoing(i, message(i));
    await s.close();
    const idx = `${dir}/A-B/outgoing.idx`;
    const good = Deno.readFileSync(idx);
    assert.equal(good.length, 32 * 4, "a header and 3 checkpoints: 1, 4097, 8193");
    // The last line points at the wrong byte, and garbage follows (a power cut).
    const text = new TextDecoder().decode(good);
    const bad = text.slice(0, 96) + text.slice(96, 111) + " " + "12345".padStart(15) + "\n" +
      "\0\0\0garbage";
    Deno.writeTextFileSync(idx, bad);
    const again = await open(dir);
    assert.equal(again.state.nextSenderSeqNum, 10_001);
    assert.equal(again.stats.indexEntries, 3);
    assert.deepEqual(Deno.readFileSync(idx), good, "rewritten from the log");
    assert.deepEqual(await seqNums(again, 8190, 8195), range(8190, 8195));
    await again.close();
  });
});

Deno.test("file store does not trust an index written for another sequence", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    for (let i = 1; i <= 9000; i++) s.appendOutgoing(i, message(i));
    await s.close();
    const stale = Deno.readFileSync(`${dir}/A-B/outgoing.idx`);
    const again = await open(dir);
    await again.reset(50);
    for (let i = 1; i <= 10; i++) again.appendOutgoing(i, message(i));
    await again.close();
    // A crash during the reset could leave the old index: its creation time gives it away.
    Deno.writeFileSync(`${dir}/A-B/outgoing.idx`, stale);
    const last = await open(dir);
    assert.equal(last.state.creationTimeMs, 50);
    assert.equal(last.state.nextSenderSeqNum, 11);
    assert.equal(last.stats.indexEntries, 1);
    assert.deepEqual(await seqNums(last, 1, 100), range(1, 10));
    await last.close();
  });
});

Deno.test("file store reports damage before the last checkpoint when a resend reads it", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    for (let i = 1; i <= 10_000; i++) s.appendOutgoing(i, message(i));
    await s.close();
    const log = `${dir}/A-B/outgoing.log`;
    const bytes = Deno.readFileSync(log);
    bytes[message(1).length + 40] = 88; // record 2's CheckSum no longer matches
    Deno.writeFileSync(log, bytes);
    // Opening reads from the last checkpoint on: it does not see the damage...
    const again = await open(dir);
    assert.equal(again.state.nextSenderSeqNum, 10_001);
    assert.deepEqual(await seqNums(again, 9000, 9001), [9000, 9001]);
    // ...a resend over it does, and so does the operators' reader.
    await assert.rejects(
      () => seqNums(again, 1, 5),
      (e) =>
        e instanceof StoreCorruptError && e.path === log && e.offset === message(1).length &&
        /^Cannot read store: .* CheckSum\(10\) does not match$/.test(e.message),
    );
    await again.close();
    await assert.rejects(readFileStore(`${dir}/A-B`), StoreCorruptError);
  });
});

Deno.test("file store drops an index entry a resend finds pointing at another record, and reads on", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    for (let i = 1; i <= 10_000; i++) s.appendOutgoing(i, message(i));
    await s.close();
    const idx = `${dir}/A-B/outgoing.idx`;
    const lines = Deno.readTextFileSync(idx).split("\n");
    // The checkpoint of 4097 points at 4098's record (still ascending, still in the log).
    const at = Number(lines[2].slice(16)) + message(4097).length;
    lines[2] = `${"4097".padStart(15)} ${String(at).padStart(15)}`;
    Deno.writeTextFileSync(idx, lines.join("\n"));
    const warned: [string, unknown][] = [];
    const noop = () => {};
    const again = await new FileSeqStoreFactory({
      directory: dir,
      logger: { debug: noop, info: noop, error: noop, warn: (m, f) => warned.push([m, f]) },
    }).open(ID, { nowMs: 1 });
    assert.equal(again.stats.indexEntries, 3, "only the last entry is checked on open");
    assert.deepEqual(await seqNums(again, 5000, 5001), [5000, 5001]);
    assert.deepEqual(warned, [[
      "store index entry does not match the log; dropped",
      { file: idx, key: 4097, offset: at },
    ]]);
    assert.equal(again.stats.indexEntries, 2);
    assert.deepEqual(
      Deno.readTextFileSync(idx).split("\n").filter((l) => l !== "").length,
      3,
      "rewritten without it",
    );
    assert.deepEqual(await seqNums(again, 9000, 9001), [9000, 9001]);
    await again.close();
  });
});

Deno.test("file store refuses a MsgSeqNum that does not ascend, or bytes that are not that message", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    s.appendOutgoing(5, message(5));
    assert.throws(() => s.appendOutgoing(5, message(5)), {
      name: "RangeError",
      message: "Cannot store message: MsgSeqNum 5 is not above 5, the last stored in this sequence",
    });
    assert.throws(() => s.appendOutgoing(3, message(3)), RangeError);
    assert.throws(() => s.appendOutgoing(6, message(7)), {
      name: "RangeError",
      message: "Cannot store message 6: its MsgSeqNum(34) is 7",
    });
    assert.throws(() => s.appendOutgoing(6, message(6).subarray(0, 50)), {
      name: "RangeError",
      message: "Cannot store message 6: BodyLength(9) does not match its length",
    });
    assert.throws(() => s.appendOutgoing(6, new TextEncoder().encode("hello")), RangeError);
    await s.close();
    const again = await open(dir);
    assert.deepEqual(await seqNums(again, 1, 10), [5]);
    again.appendOutgoing(6, message(6)); // after a reopen, the number goes on from the log
    await again.close();
  });
});

for (const sync of ["batch", "message"] as const) {
  Deno.test(`file store (sync ${sync}) never blocks the event loop on a sync`, async () => {
    await withDir(async (dir) => {
      const spy = spyOnFiles("/outgoing.log");
      try {
        const s = await open(dir, sync, true);
        for (let i = 1; i <= 3; i++) s.appendOutgoing(i, message(i));
        s.appendIncoming(message(1));
        await s.flushOutgoing();
        s.setNextSenderSeqNum(9);
        await s.flushOutgoing();
        // Past 1024 state lines: state.txt is compacted (a temporary file, a rename, syncs).
        for (let n = 2; n <= 1100; n++) {
          s.setNextTargetSeqNum(n);
          await s.flush();
        }
        await s.reset(7);
        s.appendOutgoing(1, message(1));
        await s.close();
        const again = await open(dir, sync);
        await again.close();
        const { blocking, async } = spy.syncs();
        assert.equal(blocking, 0, "no syncSync or syncDataSync");
        assert.ok(async > 1100, `${async} syncs off the event loop`);
      } finally {
        spy.restore();
      }
      const view = await readFileStore(`${dir}/A-B`);
      assert.equal(view.state?.creationTimeMs, 7);
      assert.deepEqual(view.messages.map((m) => m.seqNum), [1]);
    });
  });
}

Deno.test("file store (sync batch) gives flushes called during a write one shared write", async () => {
  await withDir(async (dir) => {
    const spy = spyOnFiles("/outgoing.log");
    try {
      const s = await open(dir, "batch");
      spy.reset();
      s.appendOutgoing(1, message(1));
      const first = s.flush();
      s.appendOutgoing(2, message(2));
      const second = s.flushOutgoing();
      s.appendOutgoing(3, message(3));
      const third = s.flush();
      assert.equal(second, third, "one commit for both");
      assert.deepEqual(await seqNums(s, 1, 3), [1, 2, 3], "readable while written");
      await Promise.all([first, second, third]);
      assert.equal(spy.writes(), 2);
      assert.equal(spy.syncs().async, 2);
      await s.close();
      const again = await open(dir, "batch");
      assert.deepEqual(await seqNums(again, 1, 3), [1, 2, 3]);
      await again.close();
    } finally {
      spy.restore();
    }
  });
});

Deno.test("file store (sync batch) cuts a failed write back and writes the batch with the next flush", async () => {
  await withDir(async (dir) => {
    const log = `${dir}/A-B/outgoing.log`;
    const spy = spyOnFiles("/outgoing.log");
    try {
      const s = await open(dir, "batch");
      s.appendOutgoing(1, message(1));
      await s.flush();
      const size = Deno.statSync(log).size;
      for (let i = 2; i <= 4; i++) s.appendOutgoing(i, message(i));
      spy.failNextWrite();
      await assert.rejects(s.flush(), Deno.errors.WriteZero);
      assert.equal(Deno.statSync(log).size, size, "the half-written batch was cut off");
      s.appendOutgoing(5, message(5));
      assert.deepEqual(await seqNums(s, 1, 10), [1, 2, 3, 4, 5], "kept in memory");
      await s.flush();
      await s.close();
      const again = await open(dir, "batch");
      assert.deepEqual(await seqNums(again, 1, 10), [1, 2, 3, 4, 5]);
      assert.equal(again.state.nextSenderSeqNum, 6);
      await again.close();
    } finally {
      spy.restore();
    }
  });
});

Deno.test("file store (sync batch) refuses writes while a reset runs, and reads wait for it", async () => {
  await withDir(async (dir) => {
    const s = await open(dir, "batch");
    for (let i = 1; i <= 3; i++) s.appendOutgoing(i, message(i));
    const reset = s.reset(9);
    assert.throws(
      () => s.appendOutgoing(4, message(4)),
      /^Error: Cannot use store: ".*A-B" is being reset; await reset\(\) first$/,
    );
    assert.throws(() => s.setNextTargetSeqNum(2), /is being reset/);
    assert.deepEqual(await seqNums(s, 1, 10), [], "read after the reset");
    await reset;
    s.appendOutgoing(1, message(1));
    await s.close();
    const again = await open(dir, "batch");
    assert.deepEqual(await seqNums(again, 1, 10), [1]);
    await again.close();
    assert.deepEqual(
      (await Deno.readFile(`${dir}/A-B/outgoing.1.log`)).length,
      message(1).length + message(2).length + message(3).length,
      "what was stored before the reset went to the old log",
    );
  });
});

Deno.test("readFileStore and the inspector keep only the range asked for, and count the rest", async () => {
  await withDir(async (dir) => {
    const { renderFileStore } = await import("../../tools/inspect_store.ts");
    const s = await open(dir);
    for (let i = 1; i <= 5; i++) s.appendOutgoing(i, message(i));
    await s.reset(Date.UTC(2026, 10, 25));
    for (let i = 1; i <= 10; i++) s.appendOutgoing(i, message(i));
    await s.close();
    const view = await readFileStore(`${dir}/A-B`, { from: 4, to: 6 });
    assert.equal(view.count, 10);
    assert.deepEqual(view.messages.map((m) => m.seqNum), [4, 5, 6]);
    assert.deepEqual(view.messages[0].bytes, message(4));
    const whole = await readFileStore(`${dir}/A-B`);
    assert.equal(whole.messages.length, 10);

    const { text, torn } = await renderFileStore(`${dir}/A-B`, undefined, { from: 4, to: 6 });
    assert.equal(torn, false);
    const lines = text.split("\n");
    const at = lines.indexOf("stored messages: 10 (MsgSeqNum 4..6: 3 shown)");
    assert.ok(at > 0, text);
    assert.deepEqual(lines.slice(at + 1, at + 4).map((l) => l.split(":")[0]), ["4", "5", "6"]);
    assert.equal(
      lines[at + 4],
      "archived log outgoing.1.log: sequence created 19700101-00:00:00.001, " +
        "stored messages: 5 (MsgSeqNum 4..6: 2 shown)",
    );
    assert.deepEqual(lines.slice(at + 5).map((l) => l.split(":")[0]), ["4", "5"]);
  });
});

Deno.test("file store (sync none) has written a flush when flush() returns, before any await", async () => {
  await withDir(async (dir) => {
    const s = await open(dir);
    s.appendOutgoing(1, message(1));
    s.setNextTargetSeqNum(5);
    const flushed = s.flush();
    // The target number goes with the message, in the same write.
    assert.deepEqual(Deno.readFileSync(`${dir}/A-B/outgoing.log`), withTarget(message(1), 5));
    s.setNextTargetSeqNum(6);
    assert.equal(s.flushSync(false), true);
    assert.match(
      Deno.readTextFileSync(`${dir}/A-B/state.txt`).trimEnd().split("\n").at(-1)!,
      / T 6 /,
      "no message to go with: a state line",
    );
    await flushed;
    const reset = s.reset(2);
    assert.deepEqual(Deno.readFileSync(`${dir}/A-B/outgoing.log`), new Uint8Array());
    await reset;
    await s.close();
  });
});

Deno.test("file store flushSync commits at once in sync none, and declines (writing nothing) when it would wait", async (t) => {
  await withDir(async (dir) => {
    const state = () => Deno.readTextFileSync(`${dir}/A-B/state.txt`).trimEnd().split("\n").at(-1)!;
    await t.step(
      "sync none: the messages with the target number, which without messages waits for all",
      async () => {
        const s = await open(dir);
        s.appendOutgoing(1, message(1));
        s.setNextTargetSeqNum(7);
        assert.equal(s.flushSync(true), true);
        assert.deepEqual(Deno.readFileSync(`${dir}/A-B/outgoing.log`), withTarget(message(1), 7));
        const line = state();
        assert.doesNotMatch(line, / T 7 /, "the record holds it: no state line");
        assert.equal(s.flushSync(false), true);
        assert.equal(state(), line, "nothing left to write");
        s.setNextTargetSeqNum(8);
        assert.equal(s.flushSync(true), true);
        assert.equal(state(), line, "outgoing only, no message: the target number waits");
        assert.equal(s.flushSync(false), true);
        assert.match(state(), / T 8 /);
        await s.reset(2);
        s.setNextTargetSeqNum(9);
        assert.equal(s.flushSync(false), true);
        assert.match(state(), / T 9 /);
        await s.close();
        assert.equal(s.flushSync(false), true, "closed: nothing to do");
      },
    );
    await t.step("sync message: declined, nothing written, flush() writes it", async () => {
      const s = await open(dir, "message");
      const before = Deno.readFileSync(`${dir}/A-B/outgoing.log`).length;
      s.appendOutgoing(1, message(1));
      assert.equal(s.flushSync(true), false);
      assert.equal(Deno.readFileSync(`${dir}/A-B/outgoing.log`).length, before);
      await s.flush();
      assert.equal(Deno.readFileSync(`${dir}/A-B/outgoing.log`).length, before + message(1).length);
      await s.close();
    });
  });
});
