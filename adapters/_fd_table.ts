// Private: grows the process's file-descriptor table ahead of a logon storm.
//
// Linux grows a process's descriptor table when a new descriptor does not fit (at 256, 512,
// 1024... descriptors), and in a multi-threaded process it then waits for an RCU grace period:
// the accept that needed the room blocks the event loop for 10-20 ms (measured with
// `perf trace` during bench/load.ts --storm: accept4 took 12.9-19.0 ms exactly when it returned
// descriptor 256, 512, 1024, 2048 and 4096). The table never shrinks, so opening enough
// descriptors once, from the runtime's blocking threads (async opens), then closing them moves
// those waits off the event loop and before the connections come.

/** Descriptors the table already has room for (process-wide: the table is the process's). */
let roomFor = 0;
/** The growth in progress; the next one starts after it. */
let growing: Promise<void> = Promise.resolve();

/** Opens at once: each open that grows the table waits on one of the runtime's threads. */
const PARALLEL_OPENS = 16;

/**
 * Makes room in the descriptor table for `count` descriptors open at once. Best effort: stops at
 * the open-files limit, does nothing without read permission on `/dev/null` (never prompts) or
 * off Linux and macOS; never rejects.
 *
 * @param count Descriptors wanted.
 * @returns Resolves once the descriptors opened for it are closed again.
 */
export function growDescriptorTable(count: number): Promise<void> {
  asked = Math.max(asked, count);
  growing = growing.then(grow);
  return growing;
}

/** The most asked for so far: a growth that starts late does the room asked meanwhile at once. */
let asked = 0;

async function grow(): Promise<void> {
  const wanted = asked;
  if (wanted <= roomFor || !mayOpenDevNull()) return;
  // Never more than half the open-files limit at once: the process's other opens and accepts
  // meanwhile still find descriptors.
  const count = Math.min(wanted, Math.floor(openFilesLimit() / 2));
  if (count <= roomFor) return;
  const files: Deno.FsFile[] = [];
  let failed = false;
  try {
    while (files.length < count && !failed) {
      const opens: Promise<Deno.FsFile | undefined>[] = [];
      for (let i = 0; i < PARALLEL_OPENS && files.length + opens.length < count; i++) {
        opens.push(
          Deno.open("/dev/null").catch(() => {
            failed = true; // EMFILE: as much room as the limit allows
            return undefined;
          }),
        );
      }
      for (const f of await Promise.all(opens)) if (f) files.push(f);
    }
    // At the limit, as much room as it allows: not tried again for as many.
    roomFor = Math.max(roomFor, failed ? count : files.length);
  } finally {
    for (const f of files) f.close();
  }
}

/**
 * The soft limit on open files (`ulimit -n`), from /proc (Deno lets only --allow-all read it);
 * unknown, unbounded: the engine asks for what its sessions will open anyway, and an open that
 * fails at the limit ends the growth at once.
 */
function openFilesLimit(): number {
  try {
    // Asked first: reading without permission would prompt on a terminal.
    const path = "/proc/self/limits";
    if (Deno.permissions.querySync({ name: "read", path }).state !== "granted") {
      return Number.POSITIVE_INFINITY;
    }
    const line = Deno.readTextFileSync(path).split("\n")
      .find((l) => l.startsWith("Max open files"));
    const soft = Number(line?.split(/\s+/)[3]);
    return Number.isFinite(soft) && soft > 0 ? soft : Number.POSITIVE_INFINITY;
  } catch {
    return Number.POSITIVE_INFINITY;
  }
}

function mayOpenDevNull(): boolean {
  if (Deno.build.os !== "linux" && Deno.build.os !== "darwin") return false;
  try {
    return Deno.permissions.querySync({ name: "read", path: "/dev/null" }).state === "granted";
  } catch {
    return false;
  }
}
