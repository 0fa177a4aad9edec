/**
 * Prints a session's stored state and messages readably, for operators investigating an
 * incident.
 *
 *     deno run --allow-read tools/inspect_store.ts <store-dir>/<SENDER-TARGET> [--version FIX.4.4]
 *     deno run --allow-read --allow-write --unstable-kv tools/inspect_store.ts --kv <file.kv> SENDER TARGET
 *
 * Tag names come from the dictionary of `--version` (default: the message's BeginString).
 *
 * @module
 */

import { readFileStore } from "../adapters/file_store.ts";
import { KvSeqStoreFactory } from "../adapters/kv_store.ts";
import type { Dictionary } from "../src/dictionary/dictionary.ts";
import { type FixVersionName, loadDictionary } from "../src/dictionary/load.ts";
import { decodeMessage } from "../src/message/framer.ts";
import { formatMessage } from "../src/message/printer.ts";
import { formatUtcTimestamp } from "../src/message/timestamps.ts";
import { SessionId } from "../src/session_id.ts";
import type { SeqState, StoredMessage } from "../src/store.ts";

/**
 * Renders a store's contents as text.
 *
 * @param state The persisted state, if any.
 * @param messages The stored messages.
 * @param version Dictionary for tag names; by default each message's BeginString.
 * @returns The report.
 */
export async function renderStore(
  state: SeqState | undefined,
  messages: StoredMessage[],
  version?: FixVersionName,
): Promise<string> {
  const lines: string[] = [];
  if (state) {
    lines.push(
      `next sender MsgSeqNum: ${state.nextSenderSeqNum}`,
      `next target MsgSeqNum: ${state.nextTargetSeqNum}`,
      `created: ${formatUtcTimestamp(state.creationTimeMs)}`,
      `correctly terminated: ${state.correctlyTerminated ? "yes" : "no"}`,
    );
  } else lines.push("no state file");
  lines.push(`stored messages: ${messages.length}`);
  const dicts = new Map<string, Dictionary | undefined>();
  for (const m of messages) {
    let names: Dictionary | undefined;
    try {
      const begin = version ?? decodeMessage(m.bytes).get(8) ?? "FIX.4.4";
      const key = begin === "FIXT.1.1" ? "FIX.5.0SP2" : begin;
      if (!dicts.has(key)) {
        dicts.set(key, await loadDictionary(key as FixVersionName).catch(() => undefined));
      }
      names = dicts.get(key);
    } catch {
      names = undefined;
    }
    lines.push(`${m.seqNum}: ${formatMessage(m.bytes, { names })}`);
  }
  return lines.join("\n");
}

if (import.meta.main) {
  const args = [...Deno.args];
  const vi = args.indexOf("--version");
  const version = vi >= 0 ? args.splice(vi, 2)[1] as FixVersionName : undefined;
  let out: string;
  if (args[0] === "--kv") {
    const [, path, sender, target] = args;
    const kv = await Deno.openKv(path);
    const store = await new KvSeqStoreFactory(kv, { ownerId: "inspect-store" })
      .open(new SessionId(sender, target), { nowMs: 0 });
    const messages: StoredMessage[] = [];
    for await (const m of store.readOutgoing(1, Number.MAX_SAFE_INTEGER)) messages.push(m);
    out = await renderStore({ ...store.state }, messages, version);
    await store.close();
    kv.close();
  } else if (args[0]) {
    const { state, messages, tornBytes } = await readFileStore(args[0]);
    out = await renderStore(state, messages, version);
    if (tornBytes > 0) out += `\n${tornBytes} bytes after the last complete message (torn write)`;
  } else {
    out = "usage: inspect_store.ts <store-dir>/<SENDER-TARGET> | --kv <file.kv> SENDER TARGET";
  }
  Deno.stdout.writeSync(new TextEncoder().encode(out + "\n"));
}
