// A full garbage collection for retention tests, through the inspector (no V8 flags needed).
import { Session } from "node:inspector";

/**
 * Ends the current job (a WeakRef keeps its target until the job that made it ends), then
 * collects garbage.
 */
export async function collectGarbage(): Promise<void> {
  await new Promise<void>((resolve) => setTimeout(resolve, 0));
  const s = new Session();
  s.connect();
  // The inspector's answer does not keep the event loop alive by itself.
  const alive = setTimeout(() => {}, 60_000);
  try {
    await new Promise<void>((resolve, reject) =>
      s.post("HeapProfiler.collectGarbage", (e: Error | null) => e ? reject(e) : resolve())
    );
  } finally {
    clearTimeout(alive);
    s.disconnect();
  }
}
