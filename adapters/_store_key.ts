/**
 * Where a session's store lives, and the data stores kept under the key a session had before
 * keys were injective. Private to `adapters/`.
 *
 * Before, a key was the session's parts joined by `-` as they were: `BROKER-1`, `EXCH` and
 * `BROKER`, `1-EXCH` (and `BROKER`, `1`, `EXCH`) shared `BROKER-1-EXCH`, so one store could
 * serve two counterparties. {@linkcode SessionId.key} now escapes what it must, and keeps every
 * other id's key as it was. An id whose key changed may still have data under its old key: it
 * is used only when it is provably that session's, since the old key may be another session's
 * too. It is when
 *
 * - no other id had that old key (a two-part id with no `-` in its CompIDs, say `A:1`, `B`), or
 * - every stored outgoing message there has this session's SenderCompID(49) and
 *   TargetCompID(56), and there is at least one: the ids sharing an old key all differ in
 *   sender or target (same sender and target, same old key, means the same qualifier too).
 *
 * Otherwise the data is left where it is, for the operator, with a warning. An escaped key
 * holds `=`, which no CompID holds, so an old key is never the new key of an id whose key
 * changed: it is at most the key of the one id among its owners whose key did not change.
 *
 * @module
 */

import type { Logger } from "../src/logger.ts";
import { tryDecodeMessage } from "../src/message/framer.ts";
import type { SessionId } from "../src/session_id.ts";
import { logMessages } from "./_log_format.ts";

/**
 * The key `id` had before keys were injective: its parts joined by `-`, as they are.
 *
 * @param id The session.
 * @returns The old key; equal to `id.key` for every id whose key did not change.
 */
export function legacyKey(id: SessionId): string {
  const parts = [id.sender, id.target];
  if (id.qualifier !== undefined) parts.push(id.qualifier);
  return parts.join("-");
}

/**
 * Whether `id` is the only id that had its old key: no other split of it at `-` into two or
 * three non-empty parts.
 *
 * @param id The session.
 * @returns True when the old key names no other session.
 */
export function legacyKeyIsOnly(id: SessionId): boolean {
  const key = legacyKey(id);
  const cuts: number[] = [];
  for (let i = 1; i < key.length - 1; i++) if (key[i] === "-") cuts.push(i);
  // Each cut gives a two-part id, each pair of cuts not side by side a three-part one.
  let ids = cuts.length;
  for (let a = 0; a < cuts.length; a++) {
    for (let b = a + 1; b < cuts.length; b++) if (cuts[b] > cuts[a] + 1) ids++;
  }
  return ids === 1;
}

/**
 * Whether a stored outgoing message was sent by `id`: its SenderCompID(49) and TargetCompID(56).
 *
 * @param bytes The message.
 * @param id The session.
 * @returns True when both match.
 */
export function sentBy(bytes: Uint8Array, id: SessionId): boolean {
  const m = tryDecodeMessage(bytes);
  return !(m instanceof Error) && m.get(49) === id.sender && m.get(56) === id.target;
}

/** Whether `path` names something, in any case (a case-insensitive file system folds it). */
function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/** Whether the logs of a store folder hold messages, all sent by `id`. */
function folderSentBy(dir: string, id: SessionId): boolean {
  let seen = 0;
  for (const e of Deno.readDirSync(dir)) {
    // `outgoing.log`, and the logs a reset archives (`outgoing.<time>.log`).
    if (!e.isFile || !/^outgoing(\..+)?\.log$/.test(e.name)) continue;
    const messages = logMessages(Deno.readFileSync(`${dir}/${e.name}`));
    if (!messages) return false;
    for (const m of messages) {
      if (!sentBy(m, id)) return false;
      seen++;
    }
  }
  return seen > 0;
}

/** Whether another open file (this process's or another's) holds the lock of a store folder. */
function locked(dir: string): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(`${dir}/owner.lock`, { read: true });
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  try {
    return !file.tryLockSync(true);
  } finally {
    file.close();
  }
}

/**
 * The folder of a session's file store under `root`: `root/<id.key>`.
 *
 * - A folder whose name differs from the key only in case (or Unicode form) answers for it on a
 *   case-insensitive file system (macOS, Windows): that is another session's, and the store is
 *   refused rather than shared.
 * - When the key changed and the folder of the old key holds this session's data (see the
 *   module doc), that folder is renamed to the key, with a warning; while another open store
 *   holds its lock it is left as it is and returned, so opening it is refused as owned, as
 *   before. When the old folder may be another session's, it is left alone, with a warning,
 *   and the session starts in a new folder.
 *
 * @param root The stores' root folder.
 * @param id The session.
 * @param log Where a renamed or left-alone folder is reported.
 * @returns The folder to open.
 * @throws {Error} When the folder is another session's on a case-insensitive file system.
 */
export function fileStoreFolder(root: string, id: SessionId, log: Logger): string {
  const key = id.key;
  const dir = `${root}/${key}`;
  const names = new Set<string>();
  try {
    for (const e of Deno.readDirSync(root)) names.add(e.name);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  if (names.has(key)) return dir;
  if (exists(dir)) {
    const other = [...names].find((n) => n.toLowerCase() === key.toLowerCase()) ?? "?";
    throw new Error(
      `Cannot open store: folder "${dir}" of session "${id}" is "${root}/${other}" of another session on this case-insensitive file system`,
    );
  }
  const old = legacyKey(id);
  if (old === key || !names.has(old)) return dir;
  const oldDir = `${root}/${old}`;
  if (!legacyKeyIsOnly(id) && !folderSentBy(oldDir, id)) {
    log.warn("store folder of the old session key left alone: it may be another session's", {
      session: id.toString(),
      folder: oldDir,
      newFolder: dir,
    });
    return dir;
  }
  if (locked(oldDir)) return oldDir;
  Deno.renameSync(oldDir, dir);
  log.warn("store folder renamed to the new session key", {
    session: id.toString(),
    from: oldDir,
    to: dir,
  });
  return dir;
}
