/**
 * Prints a session's stored state and messages readably, for operators investigating an
 * incident.
 *
 *     deno run --allow-read tools/inspect_store.ts <store-dir>/<SENDER-TARGET> [--version FIX.4.4] [--from N] [--to M]
 *     deno run --allow-read --allow-write --unstable-kv tools/inspect_store.ts --kv <file.kv> SENDER TARGET [QUALIFIER] [--prefix fix,prod]
 *
 * Tag names come from the dictionary of `--version` (default: the message's BeginString). A file
 * store's report shows the current sequence, then each outgoing log a reset archived
 * (`outgoing.<creationTime>.log`), oldest first. `--from` and `--to` print only the messages with
 * MsgSeqNum in that range (each log is still read whole, in chunks, to be checked and counted):
 * give them for a long log, whose every message would not fit in memory.
 *
 * Both modes only read: no lock and no KV lease is taken, so a running session can be inspected
 * and is not disturbed.
 *
 * Exit status:
 * - 0: the store was read whole;
 * - 1: nothing to inspect (a missing path, a folder that is not a session's store, bad
 *   arguments) or a damaged store (not a torn last write: the engine will refuse it), with the
 *   reason on stderr;
 * - 2: the store was read, but a log ends with a torn last write (a crash mid-write); the report
 *   says which log and how many bytes, which the engine cuts off when it opens the store.
 *
 * @module
 */

import { readArchivedLogs, readFileStore, StoreCorruptError } from "../adapters/file_store.ts";
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
 * @param messages The stored messages (of the range, when one was read).
 * @param version Dictionary for tag names; by default each message's BeginString.
 * @param range How many messages the log holds, and the MsgSeqNum range read, when it was not
 *   read whole.
 * @returns The report.
 */
export async function renderStore(
  state: SeqState | undefined,
  messages: StoredMessage[],
  version?: FixVersionName,
  range?: MessageRange,
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
  lines.push(countLine(messages.length, range), ...await renderMessages(messages, version));
  return lines.join("\n");
}

/** The messages a report shows when a log was not read whole. */
export interface MessageRange {
  /** How many messages the log holds. */
  count: number;
  /** The first MsgSeqNum shown, if limited. */
  from?: number;
  /** The last MsgSeqNum shown, if limited. */
  to?: number;
}

function countLine(shown: number, range: MessageRange | undefined): string {
  if (!range || (range.from === undefined && range.to === undefined)) {
    return `stored messages: ${range?.count ?? shown}`;
  }
  return `stored messages: ${range.count} (MsgSeqNum ${range.from ?? 1}..${range.to ?? ""}: ` +
    `${shown} shown)`;
}

/** One line per message, `<MsgSeqNum>: <fields with tag names>`. */
async function renderMessages(
  messages: StoredMessage[],
  version: FixVersionName | undefined,
): Promise<string[]> {
  const lines: string[] = [];
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
  return lines;
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

/** What {@linkcode renderFileStore} returns. */
export interface FileStoreReport {
  /** The report. */
  text: string;
  /** Whether a log (current or archived) ends with a torn last write. */
  torn: boolean;
}

/**
 * Renders a file store folder: its current sequence, then each archived log, oldest first, and
 * a line per log that ends with a torn last write.
 *
 * @param dir The session's folder.
 * @param version Dictionary for tag names; by default each message's BeginString.
 * @param range The MsgSeqNum range to print (default every message).
 * @returns The report, and whether a log has a torn last write.
 * @throws {StoreCorruptError} When a log is damaged in the middle or `state.txt` is unreadable.
 * @throws {Error} When `dir` is missing, is not a folder, or holds no store files.
 * @example
 * ```ts ignore
 * const { text, torn } = await renderFileStore("./fixwire-store/TEST1-TEST2");
 * ```
 */
export async function renderFileStore(
  dir: string,
  version?: FixVersionName,
  range: { from?: number; to?: number } = {},
): Promise<FileStoreReport> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(dir);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(`Cannot inspect store: "${dir}" does not exist`);
    }
    throw e;
  }
  if (!info.isDirectory) throw new Error(`Cannot inspect store: "${dir}" is not a folder`);
  const names: string[] = [];
  for await (const e of Deno.readDir(dir)) names.push(e.name);
  if (!names.includes("state.txt") && !names.includes("outgoing.log")) {
    throw new Error(
      `Cannot inspect store: "${dir}" is not a session's store folder (no state.txt, no ` +
        `outgoing.log); give <store-dir>/<SENDER-TARGET>`,
    );
  }
  const current = await readFileStore(dir, range);
  const archives = await readArchivedLogs(dir, range);
  const parts = [
    await renderStore(current.state, current.messages, version, { ...range, count: current.count }),
  ];
  const torn: string[] = [];
  if (current.tornBytes > 0) torn.push(tornLine("outgoing.log", current.tornBytes));
  for (const a of archives) {
    parts.push(
      `archived log ${a.file}: sequence created ${formatUtcTimestamp(a.creationTimeMs)}, ` +
        countLine(a.messages.length, { ...range, count: a.count }),
    );
    parts.push(...await renderMessages(a.messages, version));
    if (a.tornBytes > 0) torn.push(tornLine(a.file, a.tornBytes));
  }
  return { text: [...parts, ...torn].join("\n"), torn: torn.length > 0 };
}

function tornLine(file: string, bytes: number): string {
  return `torn last write: ${file} ends with ${bytes} bytes after its last complete message; ` +
    `the engine cuts them off when it opens the store`;
}

function option(args: string[], name: string): string | undefined {
  const i = args.indexOf(name);
  return i >= 0 ? args.splice(i, 2)[1] : undefined;
}

const USAGE =
  "usage: inspect_store.ts <store-dir>/<SENDER-TARGET> [--version V] [--from N] [--to M] | --kv <file.kv> SENDER TARGET [QUALIFIER] [--prefix P]";

/** Writes `text` to stderr and exits with 1. */
function fail(text: string): never {
  Deno.stderr.writeSync(new TextEncoder().encode(text + "\n"));
  Deno.exit(1);
}

/** A KV path (not a URL) that does not exist: `Deno.openKv` would create it. */
async function missingKvFile(path: string): Promise<boolean> {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(path) || path === ":memory:") return false;
  try {
    await Deno.stat(path);
    return false;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return true;
    throw e;
  }
}

if (import.meta.main) {
  const args = [...Deno.args];
  const version = option(args, "--version") as FixVersionName | undefined;
  const prefix = option(args, "--prefix");
  const [from, to] = ["--from", "--to"].map((name) => {
    const text = option(args, name);
    if (text === undefined) return undefined;
    if (!/^\d+$/.test(text)) fail(`Cannot inspect store: ${name} "${text}" is not a MsgSeqNum`);
    return Number(text);
  });
  const encoder = new TextEncoder();
  const write = (text: string) => Deno.stdout.writeSync(encoder.encode(text + "\n"));
  if (args[0] === "--kv" && args.length >= 4) {
    const [, path, sender, target, qualifier] = args;
    if (await missingKvFile(path)) fail(`Cannot inspect store: "${path}" does not exist`);
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
    let report: FileStoreReport;
    try {
      report = await renderFileStore(args[0], version, { from, to });
    } catch (e) {
      if (e instanceof StoreCorruptError) {
        fail(
          `${e.message}\nthe store is damaged (not a torn last write); the engine will refuse it`,
        );
      }
      const text = e instanceof Error ? e.message : String(e);
      fail(text.startsWith("Cannot ") ? text : `Cannot inspect store: "${args[0]}": ${text}`);
    }
    write(report.text);
    if (report.torn) Deno.exit(2);
  } else {
    fail(USAGE);
  }
}
