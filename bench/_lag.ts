// Shared by the load benches: how late the event loop runs, and how long this thread waited for a
// CPU (the time other processes ran, taken out of "own" figures).

/** How long this thread has waited for a CPU so far (Linux), ms; 0 where unknown. */
export function runQueueWaitMs(): number {
  try {
    return Number(Deno.readTextFileSync("/proc/thread-self/schedstat").split(" ")[1]) / 1e6;
  } catch {
    return 0;
  }
}

/**
 * Watches the event loop with a 1 ms timer: the longest it came late, and the same less the time
 * the thread waited for a CPU meanwhile. A probe's round trips (every 5 ms, each well under a
 * ms) miss the pauses that fall between them; this sees every pause over a ms or two.
 *
 * @returns Stops watching and gives the worst lateness and own lateness, ms.
 */
export function watchLag(): () => { maxMs: number; ownMs: number } {
  let maxMs = 0, ownMs = 0, stop = false;
  let last = performance.now(), lastWait = runQueueWaitMs();
  const tick = () => {
    const t = performance.now(), w = runQueueWaitMs();
    const late = t - last - 1;
    maxMs = Math.max(maxMs, late);
    ownMs = Math.max(ownMs, late - (w - lastWait));
    last = t;
    lastWait = w;
    if (!stop) setTimeout(tick, 1);
  };
  setTimeout(tick, 1);
  return () => {
    stop = true;
    return { maxMs, ownMs };
  };
}

/**
 * `command` run on the machine's last core (taskset), when `pin`: a load generator kept off the
 * cores of the process it loads (run that one with `taskset -c 0`).
 *
 * @returns The command, as `Deno.Command`'s name and arguments.
 */
export function onLastCore(command: string[], pin: boolean): { name: string; args: string[] } {
  if (!pin) return { name: command[0], args: command.slice(1) };
  // The machine's last core ("0-1" -> 1), not this process's: it may be pinned itself.
  const online = Deno.readTextFileSync("/sys/devices/system/cpu/online").trim();
  return { name: "taskset", args: ["-c", online.split(/[-,]/).at(-1)!, ...command] };
}
