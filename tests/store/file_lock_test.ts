import assert from "node:assert/strict";
import { FileSeqStoreFactory, StoreLockedError } from "../../adapters/file_store.ts";
import type { Logger } from "../../src/logger.ts";
import { SessionId } from "../../src/session_id.ts";

const CHILD = new URL("./_lock_child.ts", import.meta.url).pathname;
const ID = new SessionId("A", "B");

function warnings(): { logger: Logger; lines: [string, unknown][] } {
  const lines: [string, unknown][] = [];
  const noop = () => {};
  return {
    lines,
    logger: { debug: noop, info: noop, error: noop, warn: (m, f) => lines.push([m, f]) },
  };
}

/** The first line the child prints; rejects if it exits first or on `signal`. */
async function firstLine(child: Deno.ChildProcess, signal: AbortSignal): Promise<string> {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const abort = () => reader.cancel(signal.reason);
  signal.addEventListener("abort", abort, { once: true });
  try {
    let text = "";
    while (!text.includes("\n")) {
      const { value, done } = await reader.read();
      if (done) throw signal.aborted ? signal.reason : new Error("child exited before its line");
      text += value;
    }
    return text.slice(0, text.indexOf("\n"));
  } finally {
    signal.removeEventListener("abort", abort);
    await reader.cancel();
  }
}

Deno.test("file store refuses a session another process owns, and opens once that process is killed", async () => {
  const dir = await Deno.makeTempDir();
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", CHILD, dir],
    stdin: "piped",
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let exited = false;
  try {
    assert.equal(await firstLine(child, AbortSignal.timeout(20_000)), `open ${child.pid}`);
    const factory = new FileSeqStoreFactory({ directory: dir });
    const refused = await factory.open(ID, { nowMs: 2 }).then(
      async (s) => {
        await s.close();
        return undefined;
      },
      (e: unknown) => e,
    );
    assert.notEqual(refused, undefined, "opened a store that a live process owns");
    assert.ok(refused instanceof StoreLockedError, `refused with ${refused}`);
    assert.equal(refused.name, "StoreLockedError");
    assert.equal(
      refused.message,
      `Cannot open store: "${dir}/A-B" is owned by another process (pid ${child.pid})`,
    );
    assert.equal(refused.dir, `${dir}/A-B`);
    assert.equal(refused.ownerPid, child.pid);
    // Refused again: the failed attempt took nothing over.
    await assert.rejects(factory.open(ID, { nowMs: 2 }), StoreLockedError);

    child.kill("SIGKILL");
    const status = await child.status;
    exited = true;
    assert.equal(status.signal, "SIGKILL");

    // The OS dropped the dead process's lock: the store opens, with what the child stored, and
    // says whose lock it took over.
    const { logger, lines } = warnings();
    const s = await new FileSeqStoreFactory({ directory: dir, logger }).open(ID, { nowMs: 2 });
    try {
      assert.deepEqual(lines, [
        ["taking over a stale store lock", { dir: `${dir}/A-B`, stalePid: child.pid }],
      ]);
      assert.equal(s.state.nextSenderSeqNum, 2);
      assert.equal(s.state.creationTimeMs, 1);
      // A second open in this process is refused too, saying so.
      await assert.rejects(factory.open(ID, { nowMs: 2 }), (e) => {
        assert.ok(!(e instanceof StoreLockedError));
        assert.equal(
          (e as Error).message,
          `Cannot open store: "${dir}/A-B" is already open in this process`,
        );
        return true;
      });
    } finally {
      await s.close();
    }
  } finally {
    if (!exited) {
      try {
        child.kill("SIGKILL");
      } catch {
        // It exited on its own (its error is on stderr).
      }
      await child.status;
    }
    await child.stdin.close().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store opens with no warning after a clean close, and the lock file stays", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(ID, { nowMs: 1 });
    assert.equal(Deno.readTextFileSync(`${dir}/A-B/owner.lock`).trim(), String(Deno.pid));
    await s.close();
    // Emptied, not removed: removing a lock file lets two processes lock two different files.
    assert.equal(Deno.readTextFileSync(`${dir}/A-B/owner.lock`), "");
    const { logger, lines } = warnings();
    const again = await new FileSeqStoreFactory({ directory: dir, logger }).open(ID, { nowMs: 1 });
    await again.close();
    assert.deepEqual(lines, []);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file store opened twice in one process under two spellings of its folder is refused", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(ID, { nowMs: 1 });
    try {
      await assert.rejects(
        new FileSeqStoreFactory({ directory: `${dir}/.` }).open(ID, { nowMs: 1 }),
        (e) => {
          assert.ok(!(e instanceof StoreLockedError));
          assert.equal(
            (e as Error).message,
            `Cannot open store: "${dir}/./A-B" is already open in this process`,
          );
          return true;
        },
      );
    } finally {
      await s.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
