/**
 * The codec's error type.
 *
 * @module
 */

import type { FixMessage } from "./fix_message.ts";

/**
 * A FIX message could not be framed or decoded.
 *
 * @example
 * ```ts
 * import { FixParseError } from "@fixwire/engine";
 * const err = new FixParseError("CheckSum mismatch", { offset: 120, tag: 10 });
 * err.offset; // 120
 * ```
 */
export class FixParseError extends SyntaxError {
  /** Byte offset of the problem, in the stream (framer) or in the message (decoder). */
  readonly offset: number;
  /** The tag at fault, when known. */
  readonly tag: number | undefined;
  /** Short reason, the message without location. */
  readonly reason: string;
  /**
   * The decoder's only complaint is an invalid tag number (`0=`, `-5=`, `x=`) in a message
   * otherwise well formed: the message with that field left out, so a session can answer it
   * with a Reject (SessionRejectReason 0) instead of ignoring it as garbled.
   */
  readonly decoded: FixMessage | undefined;
  /**
   * Creates an instance.
   * @param reason What is wrong.
   * @param options Where it is, and the message decoded despite an invalid tag number.
   */
  constructor(reason: string, options: { offset: number; tag?: number; decoded?: FixMessage }) {
    super(
      options.tag === undefined
        ? `Cannot parse FIX message: ${reason} at offset ${options.offset}`
        : `Cannot parse FIX message: ${reason} at offset ${options.offset} (tag ${options.tag})`,
    );
    this.name = "FixParseError";
    this.offset = options.offset;
    this.tag = options.tag;
    this.reason = reason;
    this.decoded = options.decoded;
  }
}
