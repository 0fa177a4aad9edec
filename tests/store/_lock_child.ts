// Child process of file_lock_test.ts: opens the file store of session A->B under the folder
// given as its argument, stores one message, prints `open <pid>`, and keeps the store open until
// its stdin closes (or it is killed). Needs only --allow-read --allow-write.
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { SessionId } from "../../src/session_id.ts";
import { fixBytes } from "./contract.ts";

const store = await new FileSeqStoreFactory({ directory: Deno.args[0] }).open(
  new SessionId("A", "B"),
  { nowMs: 1 },
);
store.appendOutgoing(1, fixBytes(1));
await store.flush();
Deno.stdout.writeSync(new TextEncoder().encode(`open ${Deno.pid}\n`));
// Held until the parent closes our stdin (or dies): never left running behind a failed test.
for await (const _ of Deno.stdin.readable) {
  // Nothing is sent; only the end matters.
}
await store.close();
