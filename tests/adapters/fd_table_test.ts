// Growing the descriptor table ahead of a logon storm: the table grows (Linux reports its size
// as FDSize), every descriptor opened for it is closed again, and without read permission on
// /dev/null nothing happens (no prompt). Each case runs in a fresh process: the table is the
// process's and never shrinks.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemorySeqStoreFactory } from "../../src/store.ts";
import { MemoryTransport } from "../../src/testing.ts";

// The child reads its own /proc entries through cat and ls: Deno lets only --allow-all read them.
const CHILD = `
import { TcpTransport } from "${new URL("../../adapters/tcp.ts", import.meta.url).href}";
// stdin inherited: by default output() opens /dev/null for the run's stdin and closes it only
// once the run has started, so the ls run could list that descriptor too (strace shows the
// open and close around the spawn).
const run = async (cmd, ...args) => new TextDecoder().decode(
  (await new Deno.Command(cmd, { args, stdin: "inherit", stdout: "piped" }).output()).stdout,
);
const size = async () => Number((await run("cat", "/proc/" + Deno.pid + "/status")).match(/FDSize:\\s+(\\d+)/)[1]);
// Descriptors on /dev/null (what a reservation opens): not the pipes of the cat and ls runs,
// which the runtime may still be closing when the next one lists them.
const open = async () => (await run("ls", "-l", "/proc/" + Deno.pid + "/fd")).split("\\n").filter((l) => l.endsWith(" -> /dev/null")).length;
const before = { size: await size(), open: await open() };
await new TcpTransport().reserve(Number(Deno.args[0]));
console.log(JSON.stringify({ before, after: { size: await size(), open: await open() } }));
`;

/**
 * Runs `source` in a fresh Deno process with `permissions` and `args` (both given the temporary
 * folder it runs in), and returns the JSON it prints.
 */
async function runChild(
  source: string,
  run: (dir: string) => { permissions: string[]; args: string[] },
  openFilesLimit?: number,
): Promise<Record<string, unknown>> {
  const dir = await Deno.makeTempDir();
  const file = `${dir}/child.ts`;
  await Deno.writeTextFile(file, source);
  const { permissions, args } = run(dir);
  const deno = [Deno.execPath(), "run", "--no-prompt", ...permissions, file, ...args];
  // A lower open-files limit through the shell: `ulimit -n` then the same command.
  const command = openFilesLimit === undefined
    ? deno
    : ["sh", "-c", `ulimit -n ${openFilesLimit} && exec "$@"`, "sh", ...deno];
  const out = await new Deno.Command(command[0], {
    args: command.slice(1),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.remove(dir, { recursive: true });
  assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
  return JSON.parse(new TextDecoder().decode(out.stdout));
}

/** The descriptor table's size and the descriptors open before and after a reservation. */
async function child(descriptors: number, permissions: string[], openFilesLimit?: number) {
  const run = () => ({ permissions, args: [String(descriptors)] });
  return await runChild(CHILD, run, openFilesLimit) as {
    before: { size: number; open: number };
    after: { size: number; open: number };
  };
}

const linux = Deno.build.os === "linux";

Deno.test({
  name: "TCP reserve grows the descriptor table and leaves nothing open",
  ignore: !linux,
  fn: async () => {
    const r = await child(300, ["--allow-read=/dev/null", "--allow-run=cat,ls"]);
    assert.ok(r.before.size < 300, `a fresh process starts with a small table: ${r.before.size}`);
    assert.ok(r.after.size >= 300, `room for 300 after: ${r.after.size}`);
    assert.equal(r.after.open, r.before.open);
  },
});

Deno.test({
  name: "TCP reserve stops at the open-files limit and still closes everything it opened",
  ignore: !linux,
  fn: async () => {
    // 5,000 asked under a limit of 600: the opens fail past it, the table holds 600 at most.
    const r = await child(5000, ["--allow-read=/dev/null", "--allow-run=cat,ls"], 600);
    assert.ok(r.after.size > r.before.size, `grew as far as the limit allows: ${r.after.size}`);
    assert.ok(r.after.size <= 1024, `no further than the limit: ${r.after.size}`);
    assert.equal(r.after.open, r.before.open);
  },
});

Deno.test({
  name: "TCP reserve without read permission on /dev/null does nothing",
  ignore: !linux,
  fn: async () => {
    const r = await child(300, ["--allow-run=cat,ls"]);
    assert.equal(r.after.size, r.before.size);
    assert.equal(r.after.open, r.before.open);
  },
});

Deno.test("the engine asks its transport for room as acceptors register and sessions connect, a power of two at a time, and waits for it when stopping", async () => {
  const asked: number[] = [];
  let release!: () => void;
  const held = new Promise<void>((r) => release = r);
  class Reserving extends MemoryTransport {
    reserve(descriptors: number): Promise<void> {
      asked.push(descriptors);
      return held;
    }
  }
  const noop = () => {};
  const engine = new FixEngine({
    transport: new Reserving(),
    logger: { debug: noop, info: noop, warn: noop, error: noop },
    // A store that keeps 5 descriptors open: 6 a session with its connection.
    storeFactory: new (class extends MemorySeqStoreFactory {
      readonly descriptorsPerSession = 5;
    })(),
    config: { ListenPort: 0, ListenAddress: "127.0.0.1" },
  });
  for (let i = 0; i < 40; i++) {
    await engine.createSession(new SessionId("ACC", `I${i}`), "", FIXVersion.FIX44).connect();
  }
  // 6 per acceptor and 64 spare: 70 asks 128, 11 acceptors (130) ask 256, 33 (262) ask 512.
  assert.deepEqual(asked, [128, 256, 512]);
  // Initiators ask as they first connect: 100 sessions, 664 descriptors, ask 1024.
  for (let i = 0; i < 60; i++) {
    const s = engine.createSession(new SessionId(`I${i}`, "ACC"), "", FIXVersion.FIX44);
    await s.connect(30, "127.0.0.1", 1);
  }
  assert.deepEqual(asked, [128, 256, 512, 1024]);
  let stopped = false;
  const stopping = engine.stop().then(() => stopped = true);
  for (let i = 0; i < 5; i++) await new Promise((r) => setTimeout(r, 0));
  assert.equal(stopped, false, "stop waits for the reservation in progress");
  release();
  await stopping;
  assert.equal(stopped, true);
});

const STORE_CHILD = `
import { FileSeqStoreFactory } from "${
  new URL("../../adapters/file_store.ts", import.meta.url).href
}";
import { FileMessageLogFactory } from "${
  new URL("../../adapters/message_log.ts", import.meta.url).href
}";
import { SessionId } from "${new URL("../../src/session_id.ts", import.meta.url).href}";
import { encodeMessage } from "${new URL("../../src/message/encoder.ts", import.meta.url).href}";
import { FixMessage } from "${new URL("../../src/message/fix_message.ts", import.meta.url).href}";
const directory = Deno.args[0];
// Descriptors on files in the store's folder: not the pipes of the ls runs, which the runtime
// may still be closing when the next one lists them (under load it did).
const inFolder = " -> " + Deno.realPathSync(directory) + "/";
const open = async () => new TextDecoder().decode(
  (await new Deno.Command("ls", { args: ["-l", "/proc/" + Deno.pid + "/fd"], stdout: "piped" }).output()).stdout,
).split("\\n").filter((l) => l.includes(inFolder)).length;
const stores = new FileSeqStoreFactory({ directory });
const logs = new FileMessageLogFactory({ directory });
const id = new SessionId("A", "B");
const before = await open();
const store = await stores.open(id, { nowMs: Date.now(), logIncoming: true });
const bytes = encodeMessage(new FixMessage("0").set(49, "A").set(56, "B").set(34, 1).set(52, "20261206-10:00:00.000"));
store.appendOutgoing(1, bytes);
store.appendIncoming(bytes);
await store.flush();
for await (const _ of store.readOutgoing(1, 1)) { /* a resend opens its reader */ }
const storeFds = (await open()) - before;
const log = await logs.open(id);
log.append("out", Date.now(), bytes);
log.append("in", Date.now(), bytes);
await log.flush();
console.log(JSON.stringify({
  storeFds, declaredStore: stores.descriptorsPerSession,
  logFds: (await open()) - before - storeFds, declaredLog: logs.descriptorsPerSession,
}));
`;

Deno.test({
  name: "the file store and the message log keep no more descriptors than they declare",
  ignore: !linux,
  fn: async () => {
    const r = await runChild(STORE_CHILD, (dir) => ({
      permissions: [`--allow-read=${dir}`, `--allow-write=${dir}`, "--allow-run=ls"],
      args: [dir],
    })) as { storeFds: number; declaredStore: number; logFds: number; declaredLog: number };
    assert.ok(r.storeFds > 0 && r.storeFds <= r.declaredStore, JSON.stringify(r));
    assert.ok(r.logFds > 0 && r.logFds <= r.declaredLog, JSON.stringify(r));
  },
});
