import assert from "node:assert/strict";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { KvSeqStoreFactory } from "../../adapters/kv_store.ts";
import { SessionId } from "../../src/session_id.ts";
import { fixBytes } from "../store/contract.ts";

Deno.test("inspect_store prints state and messages with tag names", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(new SessionId("A", "B"), {
      nowMs: Date.UTC(2026, 10, 24),
    });
    s.appendOutgoing(1, fixBytes(1));
    s.appendOutgoing(2, fixBytes(2));
    s.setNextTargetSeqNum(7);
    await s.close();
    Deno.writeFileSync(`${dir}/A-B/outgoing.log`, new TextEncoder().encode("8=FIX.4.4\x019=9"), {
      append: true,
    });
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        new URL("../../tools/inspect_store.ts", import.meta.url).pathname,
        `${dir}/A-B`,
      ],
      stdout: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 2, "a torn last write exits with 2");
    assert.match(text, /next sender MsgSeqNum: 3/);
    assert.match(text, /next target MsgSeqNum: 7/);
    assert.match(text, /created: 20261124-00:00:00\.000/);
    assert.match(text, /stored messages: 2/);
    assert.match(
      text,
      /^2: BeginString\(8\)=FIX\.4\.4\|BodyLength\(9\)=\d+\|MsgType\(35\)=D\|.*MsgSeqNum\(34\)=2\|.*ClOrdID\(11\)=ord2\|/m,
    );
    assert.match(
      text,
      /^torn last write: outgoing\.log ends with 13 bytes after its last complete message;/m,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const TOOL = new URL("../../tools/inspect_store.ts", import.meta.url).pathname;

async function inspect(...args: string[]): Promise<{ code: number; text: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--unstable-kv", TOOL, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    text: new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr),
  };
}

Deno.test("inspect_store --kv reads a running session without taking its lease", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/fix.kv`);
  const id = new SessionId("A", "B");
  const s = await new KvSeqStoreFactory(kv, { ownerId: "engine-1", leaseMs: 60_000 })
    .open(id, { nowMs: Date.UTC(2026, 10, 24) });
  try {
    s.appendOutgoing(1, fixBytes(1));
    s.appendOutgoing(2, fixBytes(2));
    s.setNextTargetSeqNum(7);
    await s.flush();
    const ownerKey = ["fixwire", id.key, "owner"];
    const before = await kv.get(ownerKey);
    const { code, text } = await inspect("--kv", `${dir}/fix.kv`, "A", "B");
    assert.equal(code, 0, text);
    assert.match(text, /next sender MsgSeqNum: 3/);
    assert.match(text, /next target MsgSeqNum: 7/);
    assert.match(text, /created: 20261124-00:00:00\.000/);
    assert.match(text, /stored messages: 2/);
    assert.match(text, /^1: BeginString\(8\)=FIX\.4\.4\|.*ClOrdID\(11\)=ord1\|/m);
    assert.match(text, /^owner: engine-1 \(lease expires \d{8}-/m);
    // The owner record is untouched, and the engine's next flush goes through.
    assert.equal((await kv.get(ownerKey)).versionstamp, before.versionstamp);
    s.appendOutgoing(3, fixBytes(3));
    await s.flush();
  } finally {
    await s.close();
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect_store --kv reads a session with a qualifier and a custom prefix", async () => {
  const dir = await Deno.makeTempDir();
  const kv = await Deno.openKv(`${dir}/fix.kv`);
  try {
    const s = await new KvSeqStoreFactory(kv, { prefix: ["fix", "prod"] })
      .open(new SessionId("A", "B", "q1"), { nowMs: 0 });
    s.appendOutgoing(1, fixBytes(1, `58=${"z".repeat(100_000)}\x01`)); // chunked
    await s.close();
    const { code, text } = await inspect(
      "--kv",
      `${dir}/fix.kv`,
      "A",
      "B",
      "q1",
      "--prefix",
      "fix,prod",
    );
    assert.equal(code, 0, text);
    assert.match(text, /stored messages: 1/);
    assert.match(text, /Text\(58\)=z{100000}\|/);
    assert.match(text, /^owner: none$/m);
  } finally {
    kv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("inspect_store reports a store damaged in the middle and exits with 1", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const s = await new FileSeqStoreFactory({ directory: dir }).open(new SessionId("A", "B"), {
      nowMs: 0,
    });
    for (let i = 1; i <= 3; i++) s.appendOutgoing(i, fixBytes(i));
    await s.close();
    const log = `${dir}/A-B/outgoing.log`;
    const bytes = Deno.readFileSync(log);
    bytes[fixBytes(1).length + 40] = 88;
    Deno.writeFileSync(log, bytes);
    const { code, text } = await inspect(`${dir}/A-B`);
    assert.equal(code, 1, text);
    assert.match(text, /is corrupt at byte \d+: CheckSum\(10\) does not match/);
    assert.doesNotMatch(text, /torn write/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
