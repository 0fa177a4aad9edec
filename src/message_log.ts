/**
 * Message log port: every message a session receives and sends, one line each, for operators
 * (QuickFIX's FileLog). The file adapter is `@fixwire/engine/message-log`.
 *
 * @module
 */

import type { SessionId } from "./session_id.ts";

/** A session's message log. Lines are buffered by `append` and written by `flush`. */
export interface MessageLog {
  /**
   * Adds one message (credentials already masked by the caller).
   *
   * @param direction `in` (received) or `out` (sent).
   * @param atMs When, epoch ms.
   * @param bytes The raw message, from `8=` to the checksum's SOH; copied.
   */
  append(direction: "in" | "out", atMs: number, bytes: Uint8Array): void;
  /**
   * Writes what was appended. Never rejects: a failure is the log's own to report.
   *
   * @returns Resolves once written.
   */
  flush(): Promise<void>;
  /**
   * Flushes and releases the log. Idempotent.
   *
   * @returns Resolves once closed.
   */
  close(): Promise<void>;
}

/** Opens the message log of one session. */
export interface MessageLogFactory {
  /**
   * Opens (creating if needed) a session's message log.
   *
   * @param id The session.
   * @returns The log.
   */
  open(id: SessionId): Promise<MessageLog>;
  /**
   * Optional: how many file descriptors an open log keeps at most. The engine makes room for
   * them ahead of time (see `Transport.reserve`).
   */
  readonly descriptorsPerSession?: number;
}
