// Folders for the file store tests: a temporary root removed afterwards, and a crash as the
// store's files show it (the session folder copied as it is, no close, the lock file left
// behind, then opened as the next process would).
import {
  type FileSeqStore,
  FileSeqStoreFactory,
  type FileSyncMode,
} from "../../adapters/file_store.ts";
import type { Logger } from "../../src/logger.ts";
import type { SessionId } from "../../src/session_id.ts";

/** Runs `fn` with a new temporary folder, removed afterwards whatever happens. */
export async function withDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir();
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** How the copy is opened. */
export interface CrashCopyOptions {
  /** Its sync mode (default "none"). */
  sync?: FileSyncMode;
  /** Where its recoveries are logged. */
  logger?: Logger;
  /** Changes made to the copied folder before it is opened (a torn write, damage). */
  damage?: (folder: string) => void | Promise<void>;
}

/**
 * Copies the folder of `id` under `root` to a new root, opens the copy, runs `fn` on it (which
 * may close it to look at its files), closes it and removes the copy.
 *
 * @param root The stores' root folder.
 * @param id The session.
 * @param fn What to check on the reopened store, given its folder.
 * @param options How the copy is opened.
 * @returns What `fn` returns.
 */
export async function afterCrash<T>(
  root: string,
  id: SessionId,
  fn: (store: FileSeqStore, folder: string) => Promise<T> | T,
  options: CrashCopyOptions = {},
): Promise<T> {
  const copy = await Deno.makeTempDir();
  try {
    const from = `${root}/${id.key}`, folder = `${copy}/${id.key}`;
    Deno.mkdirSync(folder);
    for (const e of Deno.readDirSync(from)) {
      if (e.isFile && e.name !== "owner.lock") {
        Deno.copyFileSync(`${from}/${e.name}`, `${folder}/${e.name}`);
      }
    }
    await options.damage?.(folder);
    const store = await new FileSeqStoreFactory({
      directory: copy,
      sync: options.sync,
      logger: options.logger,
    }).open(id, { nowMs: 0 });
    try {
      return await fn(store, folder);
    } finally {
      await store.close();
    }
  } finally {
    await Deno.remove(copy, { recursive: true });
  }
}
