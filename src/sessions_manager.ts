/**
 * Engine-wide hooks: deciding on unregistered acceptors and hearing about sessions.
 *
 * @module
 */

import type { SessionSettings } from "./config/settings.ts";
import type { FixMessage } from "./message/fix_message.ts";
import type { SessionId } from "./session_id.ts";
import type { SessionEvent } from "./session/events.ts";

/** What the engine knows about a Logon for which no acceptor is registered. */
export interface UnregisteredAcceptorRequest {
  /** The session it would be, from our side (our SenderCompID is the Logon's TargetCompID). */
  sessionId: SessionId;
  /** BeginString(8) of the Logon. */
  beginString: string;
  /** The Logon itself. */
  logon: FixMessage;
  /** The connection's remote address, `host:port`. */
  remoteAddress: string;
}

/** A session's application callbacks, as the engine's `Session` passes them. */
export interface SessionListener {
  /**
   * Receives inbound application messages in sequence order; awaited before the next one.
   * Throw `MessageRejectError` or `BusinessRejectError` to reject the message.
   */
  onMessage?(message: FixMessage): void | Promise<void>;
  /** Hears every session event synchronously, in order; must not throw. */
  onEvent?(event: SessionEvent): void;
  /** Return false to gap-fill a message instead of resending it. */
  onResend?(message: FixMessage): boolean;
  /**
   * Checks a counterparty's Logon (acceptors), after the configured Username and Password and
   * before anything is reset or stored; also asked for a reset Logon while established.
   * Return a reason to refuse it (sent in the Logout), or undefined to accept.
   */
  authenticate?(logon: FixMessage): string | undefined;
}

/** The answer to an unregistered acceptor. */
export type AcceptorDecision =
  | {
    /** Accept: the engine creates the acceptor session. */
    accept: true;
    /** Session settings that override the configuration. */
    settings?: Partial<SessionSettings>;
    /** The new session's listener. */
    listener?: SessionListener;
  }
  | {
    /** Refuse the connection. */
    accept: false;
    /** Why; logged and sent in the Logout. */
    reason: string;
  };

/**
 * Engine-wide hooks; every method is optional.
 *
 * @example
 * ```ts
 * import type { SessionsManager } from "@fixwire/engine";
 * const known = new Set(["CLIENT1", "CLIENT2"]);
 * const manager: SessionsManager = {
 *   onUnregisteredAcceptor: ({ sessionId }) =>
 *     known.has(sessionId.target)
 *       ? { accept: true }
 *       : { accept: false, reason: `Unknown counterparty ${sessionId.target}` },
 * };
 * ```
 */
export interface SessionsManager {
  /**
   * Decides on a Logon for which no acceptor is registered (only asked when
   * `CreateUnregisteredAcceptorSession` is true). May be async; the engine waits at most
   * `UnregisteredAcceptorDecisionTimeout` and aborts `signal` then.
   */
  onUnregisteredAcceptor?(
    request: UnregisteredAcceptorRequest,
    options: { signal: AbortSignal },
  ): AcceptorDecision | Promise<AcceptorDecision>;
  /** Hears that a session was created. */
  onSessionCreated?(sessionId: SessionId): void;
  /** Hears that a session was finalized. */
  onSessionDestroyed?(sessionId: SessionId): void;
}

/**
 * The default manager: accepts every unregistered acceptor (when the engine allows them).
 *
 * @example
 * ```ts
 * import { ACCEPT_ALL_SESSIONS_MANAGER } from "@fixwire/engine";
 * ACCEPT_ALL_SESSIONS_MANAGER.onUnregisteredAcceptor;
 * ```
 */
export const ACCEPT_ALL_SESSIONS_MANAGER: SessionsManager = Object.freeze({
  onUnregisteredAcceptor: (): AcceptorDecision => ({ accept: true }),
});
