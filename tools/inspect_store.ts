/**
 * Prints a session's stored state and messages readably, for operators investigating an
 * incident.
 *
 *     deno run --allow-read tools/inspect_store.ts <store-dir>/<SENDER-TARGET> [--version FIX.4.4]
 *     deno run --allow-read --allow-write --unstable-kv tools/inspect_store.ts --kv <file.kv> SENDER TARGET [QUALIFIER] [--prefix fix,prod]
 *
 * Tag names come from the dictionary of `--version` (default: the message's BeginString).
 *
 * Both modes only read: no lock and no KV lease is taken, so a running session can be inspected
 * and is not disturbed. A damaged store (not a torn last write) is reported and exits with 1.
 *
 * @module
 */

import { readFileStore, StoreCorruptError } from "../adapters/file_store.ts";
import { type KvOwner, readKvStore } from "../adapters/kv_store.ts";
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

/**
 * Describes a KV owner record.
 *
 * @param owner The owner, if any.
 * @param nowMs The current time.
 * @returns One line.
 */
export function renderOwner(owner: KvOwner | undefined, nowMs: number): string {
  if (!owner) return "owner: none";
  const lease = owner.expiresAtMs > nowMs ? "expires" : "expired";
  return `owner: ${owner.ownerId} (lease ${lease} ${formatUtcTimestamp(owner.expiresAtMs)})`;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
}

if (import.meta.main) {
  const args = [...Deno.args];
  const version = option(args, "--version") as FixVersionName | undefined;
  const prefix = option(args, "--prefix");
  const write = (text: string) => Deno.stdout.writeSync(new TextEncoder().encode(text + "\n"));
  if (args[0] === "--kv" && args.length >= 4) {
    const [, path, sender, target, qualifier] = args;
    const kv = await Deno.openKv(path);
    try {
      const { state, messages, owner } = await readKvStore(
        kv,
        new SessionId(sender, target, qualifier),
        { prefix: prefix?.split(",") },
      );
      write(await renderStore(state, messages, version) + "\n" + renderOwner(owner, Date.now()));
    } finally {
      kv.close();
    }
  } else if (args[0] && args[0] !== "--kv") {
    try {
      const { state, messages, tornBytes } = await readFileStore(args[0]);
      let out = await renderStore(state, messages, version);
      if (tornBytes > 0) out += `\n${tornBytes} bytes after the last complete message (torn write)`;
      write(out);
    } catch (e) {
      if (!(e instanceof StoreCorruptError)) throw e;
      write(
        `${e.message}\nthe store is damaged (not a torn last write); the engine will refuse it`,
      );
      Deno.exit(1);
    }
  } else {
    write(
      "usage: inspect_store.ts <store-dir>/<SENDER-TARGET> | --kv <file.kv> SENDER TARGET [QUALIFIER] [--prefix P]",
    );
  }
}
