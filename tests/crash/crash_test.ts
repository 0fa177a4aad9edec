// Crash tests: a child process sends orders and is killed with SIGKILL, then restarted from its
// store. The counterparty's application must see every message the child persisted exactly
// once, and nothing else: no loss, no duplicates, gaps resent with PossDupFlag.
// Kills alternate between a random moment while orders flow, and the moment right after a batch
// was persisted and before it was sent (the child's link stops draining and it says so): that
// batch reaches the parent only by resend, so every such kill must produce PossDup deliveries.
import assert from "node:assert/strict";
import { readFileStore } from "../../adapters/file_store.ts";
import { readKvStore } from "../../adapters/kv_store.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { Inbox } from "../engine/_waits.ts";

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
    stdout: "piped",
    stderr: "piped",
  }).spawn();
}

/** Resolves once the child printed `line`; rejects if it exits first or on `signal`. */
async function untilLine(child: Deno.ChildProcess, line: string, signal: AbortSignal) {
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const abort = () => reader.cancel(signal.reason);
  signal.addEventListener("abort", abort, { once: true });
  try {
    let text = "";
    while (!text.split("\n").includes(line)) {
      const { value, done } = await reader.read();
      if (done) throw signal.aborted ? signal.reason : new Error(`child exited before "${line}"`);
      text += value;
    }
  } finally {
    signal.removeEventListener("abort", abort);
    await reader.cancel();
  }
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
    const { messages } = await readKvStore(kv, new SessionId("CHILD", "PARENT"));
    for (const m of messages) take(m.bytes);
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
    let stalls = 0;
    const parent = engine.createSession(new SessionId("PARENT", "CHILD"), "", FIXVersion.FIX44);
    const inbox = new Inbox();
    parent.setListener({
      onMessage: (m) => {
        if (m.get(43) === "Y") possDups++;
        received.push(m.get(11)!);
        inbox.push(m);
      },
    });
    await parent.connect();
    const port = engine.listenAddresses[0].port;
    try {
      const iterations = kind === "file" ? 8 : 6;
      for (let it = 0; it < iterations; it++) {
        const stall = it % 2 === 1;
        const child = spawn(port, dir, kind, stall ? "stall" : "run");
        const before = received.length;
        await parent.waitFor("established", { signal: AbortSignal.timeout(20_000) });
        if (stall) {
          // Kill between "persisted" and "sent".
          await untilLine(child, "stalled", AbortSignal.timeout(20_000));
          stalls++;
        } else {
          // Kill at a random moment once orders flow.
          const target = before + 50 + Math.floor(Math.random() * 400);
          await inbox.waitFor(target, { signal: AbortSignal.timeout(20_000) });
          await child.stdout.cancel();
        }
        child.kill("SIGKILL");
        await child.status;
        await child.stderr.cancel();
        await parent.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
      }
      const last = spawn(port, dir, kind, "final");
      await last.stdout.cancel();
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
      // Each stalled batch held at least one order the parent had never seen: it came by resend,
      // with PossDupFlag. (Random kills may add more.)
      assert.equal(stalls, iterations / 2);
      assert.ok(possDups >= stalls, `${possDups} PossDup deliveries for ${stalls} stalled kills`);
    } finally {
      await engine.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
