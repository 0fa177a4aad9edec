import assert from "node:assert/strict";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
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
    assert.equal(out.code, 0);
    assert.match(text, /next sender MsgSeqNum: 3/);
    assert.match(text, /next target MsgSeqNum: 7/);
    assert.match(text, /created: 20261124-00:00:00\.000/);
    assert.match(text, /stored messages: 2/);
    assert.match(
      text,
      /^2: BeginString\(8\)=FIX\.4\.4\|BodyLength\(9\)=\d+\|MsgType\(35\)=D\|.*MsgSeqNum\(34\)=2\|.*ClOrdID\(11\)=ord2\|/m,
    );
    assert.match(text, /13 bytes after the last complete message \(torn write\)/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
