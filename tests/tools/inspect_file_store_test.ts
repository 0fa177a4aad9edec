// inspect_store on file stores: what it says and how it exits when there is nothing to inspect
// or a log ends with a torn write, and the logs a reset archived.
import assert from "node:assert/strict";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { SessionId } from "../../src/session_id.ts";
import { fixBytes } from "../store/contract.ts";

const TOOL = new URL("../../tools/inspect_store.ts", import.meta.url).pathname;
const ID = new SessionId("A", "B");

async function inspect(
  permissions: string[],
  ...args: string[]
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...permissions, TOOL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
  };
}

const READ = ["--allow-read"];

Deno.test("inspect_store exits with 1 and says why when there is no store to inspect", async (t) => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(ID, { nowMs: 0 });
    await s.close();

    await t.step("a path that does not exist", async () => {
      const r = await inspect(READ, `${dir}/A-C`);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `Cannot inspect store: "${dir}/A-C" does not exist\n`);
      assert.equal(r.stdout, "");
    });

    await t.step("a file, not a folder", async () => {
      const r = await inspect(READ, `${dir}/A-B/state.txt`);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `Cannot inspect store: "${dir}/A-B/state.txt" is not a folder\n`);
    });

    await t.step("the store's root folder instead of a session's", async () => {
      const r = await inspect(READ, dir);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(
        r.stderr,
        /^Cannot inspect store: ".*" is not a session's store folder \(no state\.txt, no outgoing\.log\); give <store-dir>\/<SENDER-TARGET>\n$/,
      );
    });

    await t.step("no path at all", async () => {
      const r = await inspect(READ);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stderr, /^usage: inspect_store\.ts /);
    });

    await t.step("a KV file that does not exist, which is not created", async () => {
      const r = await inspect(
        ["--allow-read", "--allow-write", "--unstable-kv"],
        "--kv",
        `${dir}/missing.kv`,
        "A",
        "B",
      );
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.equal(r.stderr, `Cannot inspect store: "${dir}/missing.kv" does not exist\n`);
      assert.throws(() => Deno.statSync(`${dir}/missing.kv`), Deno.errors.NotFound);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect_store exits with 2 and names the log whose last record is torn", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(ID, { nowMs: 0 });
    s.appendOutgoing(1, fixBytes(1));
    s.appendOutgoing(2, fixBytes(2));
    await s.close();
    Deno.writeFileSync(`${dir}/A-B/outgoing.log`, fixBytes(3).subarray(0, 30), { append: true });
    const r = await inspect(READ, `${dir}/A-B`);
    assert.equal(r.code, 2, r.stdout + r.stderr);
    assert.match(r.stdout, /^stored messages: 2$/m);
    assert.match(
      r.stdout,
      /^torn last write: outgoing\.log ends with 30 bytes after its last complete message; the engine cuts them off when it opens the store$/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect_store prints the logs a reset archived, oldest first", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(ID, {
      nowMs: Date.UTC(2026, 10, 24),
    });
    s.appendOutgoing(1, fixBytes(1));
    s.appendOutgoing(2, fixBytes(2));
    await s.reset(Date.UTC(2026, 10, 25));
    s.appendOutgoing(1, fixBytes(1, "58=second\x01"));
    await s.reset(Date.UTC(2026, 10, 26));
    s.appendOutgoing(1, fixBytes(1, "58=current\x01"));
    await s.close();

    const r = await inspect(READ, `${dir}/A-B`);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    const lines = r.stdout.trimEnd().split("\n");
    const at = (prefix: string) => lines.findIndex((l) => l.startsWith(prefix));
    assert.equal(lines[at("created: ")], "created: 20261126-00:00:00.000");
    assert.equal(lines[at("stored messages: ")], "stored messages: 1");
    assert.match(lines[at("stored messages: ") + 1], /^1: .*Text\(58\)=current\|/);
    const first = at("archived log outgoing.1795478400000.log");
    const second = at("archived log outgoing.1795564800000.log");
    assert.equal(
      lines[first],
      "archived log outgoing.1795478400000.log: sequence created 20261124-00:00:00.000, stored messages: 2",
    );
    assert.match(lines[first + 1], /^1: .*ClOrdID\(11\)=ord1\|/);
    assert.match(lines[first + 2], /^2: .*ClOrdID\(11\)=ord2\|/);
    assert.equal(
      lines[second],
      "archived log outgoing.1795564800000.log: sequence created 20261125-00:00:00.000, stored messages: 1",
    );
    assert.match(lines[second + 1], /^1: .*Text\(58\)=second\|/);
    assert.equal(second, first + 3);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
