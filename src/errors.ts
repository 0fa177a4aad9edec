/**
 * Domain errors. Misuse throws built-ins (`TypeError`, `RangeError`); parse failures throw
 * {@linkcode FixParseError} (in the codec); the classes here are the errors a caller catches.
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

/**
 * A late message outlived `MessageTimeToLive` while the session was not established
 * (`RejectMessageWhileNoConnection`); its number was covered by a gap fill.
 *
 * @example
 * ```ts
 * import { MessageExpiredError } from "@fixwire/engine";
 * const err = new MessageExpiredError("Cannot send message: expired");
 * ```
 */
export class MessageExpiredError extends Error {
  /**
   * Creates an instance.
   * @param message What happened.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "MessageExpiredError";
  }
}

/**
 * A `put()` found more than `MaxOutgoingBufferSize` bytes waiting to be written (or waiting for
 * the session to be established): the message was not persisted and used no sequence number.
 * Retry once earlier `put()` promises have settled.
 *
 * @example
 * ```ts
 * import { OutgoingBufferFullError } from "@fixwire/engine";
 * const err = new OutgoingBufferFullError("Cannot send message: buffer full");
 * ```
 */
export class OutgoingBufferFullError extends Error {
  /**
   * Creates an instance.
   * @param message What happened.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "OutgoingBufferFullError";
  }
}

/**
 * `createSession` was called for an id that already has a session.
 *
 * @example
 * ```ts
 * import { SessionExistsError } from "@fixwire/engine";
 * const err = new SessionExistsError('Cannot create session: session "A->B" already exists');
 * ```
 */
export class SessionExistsError extends Error {
  /**
   * Creates an instance.
   * @param message What happened.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "SessionExistsError";
  }
}

/**
 * The engine was stopped: it creates and starts nothing any more.
 *
 * @example
 * ```ts
 * import { EngineStoppedError } from "@fixwire/engine";
 * const err = new EngineStoppedError("Cannot start: the engine is stopped");
 * ```
 */
export class EngineStoppedError extends Error {
  /**
   * Creates an instance.
   * @param message What happened.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "EngineStoppedError";
  }
}

/**
 * A sequence reset while established was not confirmed by the counterparty (no answer in time,
 * or the link ended first).
 *
 * @example
 * ```ts
 * import { ResetNotConfirmedError } from "@fixwire/engine";
 * const err = new ResetNotConfirmedError("Cannot reset sequence numbers: link ended");
 * ```
 */
export class ResetNotConfirmedError extends Error {
  /**
   * Creates an instance.
   * @param message What happened.
   * @param options The underlying cause.
   */
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ResetNotConfirmedError";
  }
}

/**
 * Another process owns the store: it holds the OS lock on the session folder's `owner.lock`.
 * The lock dies with its process, so the store opens again as soon as that process has ended,
 * however it ended.
 *
 * @example
 * ```ts
 * import { StoreLockedError } from "@fixwire/engine";
 * const e = new StoreLockedError("/data/A-B", { ownerPid: 4242 });
 * // e.message: 'Cannot open store: "/data/A-B" is owned by another process (pid 4242)'
 * ```
 */
export class StoreLockedError extends Error {
  /** The session's store folder. */
  readonly dir: string;
  /** The owner's process id, when `owner.lock` could be read (Windows may refuse the read). */
  readonly ownerPid: number | undefined;

  /**
   * Creates the error.
   *
   * @param dir The session's store folder.
   * @param options The owner's process id (file store) or owner id (KV lease), if known, more
   *   detail for the message, and the underlying cause.
   */
  constructor(
    dir: string,
    options: ErrorOptions & { ownerPid?: number; ownerId?: string; detail?: string } = {},
  ) {
    const owner = options.ownerPid !== undefined
      ? ` (pid ${options.ownerPid})`
      : options.ownerId !== undefined
      ? ` (${options.ownerId})`
      : "";
    super(
      `Cannot open store: "${dir}" is owned by another process${owner}${options.detail ?? ""}`,
      options,
    );
    this.name = "StoreLockedError";
    this.dir = dir;
    this.ownerPid = options.ownerPid;
  }
}
