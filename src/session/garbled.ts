/**
 * The log lines of garbled messages: a run of them (garbled messages with none between them that
 * is not) is told in a few lines, not one per message.
 *
 * @module
 */

import type { Logger } from "../logger.ts";

/** How often a run of garbled messages is told in the log while it lasts. */
export const GARBLED_LOG_INTERVAL_MS = 10_000;

/**
 * One line for the first garbled message of a run, then one every `GARBLED_LOG_INTERVAL_MS` that
 * counts the others, and one when the run ends: a peer sending garbage made a line per garbled
 * run, as often as one per 8 bytes.
 */
export class GarbledRuns {
  /** The last message read was garbled. */
  inRun = false;
  /** Garbled messages of the run not told in a log line yet. */
  #untold = 0;
  /** When the run's last log line was written. */
  #toldAtMs = 0;

  /**
   * Counts a garbled message, and logs what is due.
   *
   * @param log The session's logger.
   * @param session The session's name.
   * @param error What was wrong.
   * @param nowMs The current time.
   */
  add(log: Logger, session: string, error: Error, nowMs: number): void {
    if (!this.inRun) {
      this.inRun = true;
      this.#toldAtMs = nowMs;
      log.warn("garbled message ignored", { session, error: error.message });
      return;
    }
    this.#untold++;
    if (nowMs - this.#toldAtMs >= GARBLED_LOG_INTERVAL_MS) {
      this.#tell(log, session, nowMs, error.message);
    }
  }

  /**
   * A message that is not garbled, or the connection's end, ends the run: what is left is told.
   *
   * @param log The session's logger.
   * @param session The session's name.
   * @param nowMs The current time.
   */
  end(log: Logger, session: string, nowMs: number): void {
    this.#tell(log, session, nowMs);
    this.inRun = false;
  }

  #tell(log: Logger, session: string, nowMs: number, lastError?: string): void {
    if (this.#untold === 0) return;
    log.warn("garbled messages ignored", {
      session,
      count: this.#untold,
      sinceMs: nowMs - this.#toldAtMs,
      ...(lastError === undefined ? {} : { lastError }),
    });
    this.#untold = 0;
    this.#toldAtMs = nowMs;
  }
}
