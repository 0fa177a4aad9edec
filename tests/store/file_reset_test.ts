// A reset whose rename fails must leave the file store usable with its old sequence, or closed
// with a clear error on every later use: never half-open.
import assert from "node:assert/strict";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";
import { fixBytes } from "./contract.ts";

const ID = new SessionId("A", "B");
const CREATED = Date.UTC(2026, 10, 24); // 13 digits in the archive name

function logged(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const noop = () => {};
  return {
    lines,
    logger: {
      debug: noop,
      info: noop,
      warn: (m) => lines.push(`warn: ${m}`),
      error: (m) => lines.push(`error: ${m}`),
    },
  };
}

/**
 * A store root under `base` whose session folder path is so long that `outgoing.log` and the
 * other files fit Linux's 4096-byte path limit but the archive `outgoing.<13 digits>.log` does
 * not: the reset's rename fails (ENAMETOOLONG), as a read-only folder would make it fail, and
 * that works as root too, where a read-only mode does not stop writes.
 */
function longRoot(base: string): string {
  const sessionDirLength = 4075; // + "/state.txt.tmp" = 4089 fits; + "/outgoing.<13>.log" does not
  let root = base;
  const want = sessionDirLength - "/A-B".length;
  while (root.length < want) root += "/" + "d".repeat(Math.min(200, want - root.length - 1));
  Deno.mkdirSync(root, { recursive: true });
  return root;
}

async function seqNums(
  s: { readOutgoing(a: number, b: number): AsyncIterable<{ seqNum: number; bytes: Uint8Array }> },
): Promise<number[]> {
  const out: number[] = [];
  for await (const m of s.readOutgoing(1, 100)) {
    assert.deepEqual(m.bytes, fixBytes(m.seqNum));
    out.push(m.seqNum);
  }
  return out;
}

Deno.test({
  name: "file store whose reset cannot archive the log keeps its old sequence and stays usable",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const base = await Deno.makeTempDir();
    try {
      const root = longRoot(base);
      const { logger, lines } = logged();
      const factory = new FileSeqStoreFactory({ directory: root, logger });
      const s = await factory.open(ID, { nowMs: CREATED });
      s.appendOutgoing(1, fixBytes(1));
      s.appendOutgoing(2, fixBytes(2));
      s.setNextTargetSeqNum(5);
      await s.flush();

      await assert.rejects(
        () => s.reset(CREATED + 1),
        (e: Error) => {
          assert.match(
            e.message,
            /^Cannot reset store: ".*\/A-B" keeps its old sequence \(.*File name too long/,
          );
          assert.ok(e.cause instanceof Error);
          return true;
        },
      );
      assert.deepEqual(lines, ["warn: store reset failed and was undone"]);
      assert.equal(s.state.nextSenderSeqNum, 3);
      assert.equal(s.state.nextTargetSeqNum, 5);
      assert.equal(s.state.creationTimeMs, CREATED);

      // Still usable: it stores, flushes and serves resends from the old log.
      s.appendOutgoing(3, fixBytes(3));
      await s.flush();
      assert.deepEqual(await seqNums(s), [1, 2, 3]);
      await s.close();
      assert.deepEqual(
        [...Deno.readDirSync(`${root}/A-B`)].map((e) => e.name).sort(),
        ["outgoing.idx", "outgoing.log", "owner.lock", "state.txt"],
      );

      // And the old sequence is what a restart finds.
      const again = await factory.open(ID, { nowMs: CREATED + 2 });
      assert.equal(again.state.nextSenderSeqNum, 4);
      assert.equal(again.state.nextTargetSeqNum, 5);
      assert.equal(again.state.creationTimeMs, CREATED);
      assert.deepEqual(await seqNums(again), [1, 2, 3]);
      await again.close();
    } finally {
      await Deno.remove(base, { recursive: true });
    }
  },
});

Deno.test("file store whose failed reset cannot be undone is closed, and every later use says why", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const { logger, lines } = logged();
    const factory = new FileSeqStoreFactory({ directory: dir, logger });
    const s = await factory.open(ID, { nowMs: CREATED, logIncoming: true });
    s.appendOutgoing(1, fixBytes(1));
    await s.flush();
    // An operator removed the log under the running session: the archive rename fails, and
    // the old log cannot be put back either.
    Deno.removeSync(`${dir}/A-B/outgoing.log`);

    const closed = new RegExp(
      `Cannot use store: "${RegExp.escape(`${dir}/A-B`)}" was closed because a reset failed ` +
        `\\(.*No such file or directory.*\\) and could not be undone \\(.*\\)$`,
    );
    await assert.rejects(() => s.reset(CREATED + 1), closed);
    assert.deepEqual(lines, ["error: store closed after a failure"]);

    assert.throws(() => s.appendOutgoing(2, fixBytes(2)), closed);
    assert.throws(() => s.appendIncoming(fixBytes(7)), closed);
    assert.throws(() => s.setNextSenderSeqNum(9), closed);
    assert.throws(() => s.setNextTargetSeqNum(9), closed);
    assert.throws(() => s.setCorrectlyTerminated(true), closed);
    await assert.rejects(() => s.flush(), closed);
    await assert.rejects(() => s.flushOutgoing!(), closed);
    await assert.rejects(() => s.reset(CREATED + 2), closed);
    await assert.rejects(() => seqNums(s), closed);
    await assert.rejects(async () => {
      for await (const _ of s.readIncoming()) { /* nothing */ }
    }, closed);
    // Closing is still fine (idempotent), and the lock was released: the session opens again.
    await s.close();
    await s.close();
    const again = await factory.open(ID, { nowMs: CREATED + 3 });
    assert.equal(again.state.creationTimeMs, CREATED);
    await again.close();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
