/**
 * Domain errors. Misuse throws built-ins (`TypeError`, `RangeError`); parse failures throw
 * {@linkcode FixParseError} (in the codec); the classes here cover connection, logon,
 * session lookup and message rejection.
 *
 * @module
 */

/**
 * A connection could not be opened or was lost.
 *
 * @example
 * ```ts
 * import { ConnectionError } from "@fixwire/engine";
 * const err = new ConnectionError("Cannot connect: refused");
 * ```
 */
export class ConnectionError extends Error {
  /**
   * Creates an instance.
   * @param message What failed.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ConnectionError";
  }
}

/**
 * A Logon was refused (credentials, CompIDs, sessions manager) or timed out.
 *
 * @example
 * ```ts
 * import { LogonRejectedError } from "@fixwire/engine";
 * const err = new LogonRejectedError("Logon refused: bad password");
 * ```
 */
export class LogonRejectedError extends Error {
  /**
   * Creates an instance.
   * @param message Why the logon failed.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "LogonRejectedError";
  }
}

/**
 * No session with the given id exists.
 *
 * @example
 * ```ts
 * import { SessionNotFoundError } from "@fixwire/engine";
 * const err = new SessionNotFoundError('Cannot find session "A->B"');
 * ```
 */
export class SessionNotFoundError extends Error {
  /**
   * Creates an instance.
   * @param message Which session was not found.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SessionNotFoundError";
  }
}

/**
 * Thrown by an application handler to make the engine answer an inbound message with a session
 * Reject(3) carrying the given SessionRejectReason(373) and RefTagID(371).
 *
 * @example
 * ```ts
 * import { MessageRejectError } from "@fixwire/engine";
 * const err = new MessageRejectError("Value is incorrect for tag 54", { reason: 5, refTagId: 54 });
 * // throw err from a session listener's onMessage to send a Reject
 * ```
 */
export class MessageRejectError extends Error {
  /** SessionRejectReason(373). */
  readonly reason: number;
  /** RefTagID(371), when one tag is at fault. */
  readonly refTagId: number | undefined;
  /**
   * Creates an instance.
   * @param message Text(58) of the Reject.
   * @param options The reject reason, the tag and the cause.
   */
  constructor(
    message: string,
    options: { reason: number; refTagId?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "MessageRejectError";
    this.reason = options.reason;
    this.refTagId = options.refTagId;
  }
}

/**
 * Thrown by an application handler to answer an inbound message with a
 * BusinessMessageReject(j) carrying BusinessRejectReason(380).
 *
 * @example
 * ```ts
 * import { BusinessRejectError } from "@fixwire/engine";
 * const err = new BusinessRejectError("Unknown security", { reason: 2, refTagId: 55 });
 * // throw err from a session listener's onMessage to send a BusinessMessageReject
 * ```
 */
export class BusinessRejectError extends Error {
  /** BusinessRejectReason(380). */
  readonly reason: number;
  /** RefTagID(371), when one tag is at fault. */
  readonly refTagId: number | undefined;
  /**
   * Creates an instance.
   * @param message Text(58) of the BusinessMessageReject.
   * @param options The reject reason, the tag and the cause.
   */
  constructor(
    message: string,
    options: { reason: number; refTagId?: number; cause?: unknown },
  ) {
    super(message, { cause: options.cause });
    this.name = "BusinessRejectError";
    this.reason = options.reason;
    this.refTagId = options.refTagId;
  }
}
