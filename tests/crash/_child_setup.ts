// What every crash-test child sets up: an engine on the child's store folder, with the parent's
// clock tolerance and quick reconnects, and its session CHILD->PARENT; plus a line printer
// the parent reads (see _child_process.ts).
import {
  FixEngine,
  type FixEngineOptions,
  FIXVersion,
  type Session,
  SessionId,
} from "../../mod.ts";

const encoder = new TextEncoder();

/** Prints one line to the parent at once (synchronously, so a SIGKILL cannot lose it). */
export function say(line: string): void {
  Deno.stdout.writeSync(encoder.encode(`${line}\n`));
}

/**
 * The child's engine and session.
 *
 * @param dir The store folder (LogDirectory).
 * @param options More engine options (store, transport); `config` entries are added.
 * @returns The engine and its CHILD->PARENT session.
 */
export function childSession(
  dir: string,
  options: Omit<FixEngineOptions, "config"> & { config?: Record<string, string | number> } = {},
): { engine: FixEngine; session: Session } {
  const engine = new FixEngine({
    ...options,
    config: {
      LogDirectory: dir,
      ReasonableDelayInMs: 600_000,
      "Reconnect.Interval": 20,
      "Reconnect.MaxTries": 50,
      ...options.config,
    },
  });
  const session = engine.createSession(new SessionId("CHILD", "PARENT"), "", FIXVersion.FIX44);
  return { engine, session };
}
