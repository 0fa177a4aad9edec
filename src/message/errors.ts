/**
 * The codec's error type.
 *
 * @module
 */

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
   * Creates an instance.
   * @param reason What is wrong.
   * @param options Where it is.
   */
  constructor(reason: string, options: { offset: number; tag?: number }) {
    super(
      options.tag === undefined
        ? `Cannot parse FIX message: ${reason} at offset ${options.offset}`
        : `Cannot parse FIX message: ${reason} at offset ${options.offset} (tag ${options.tag})`,
    );
    this.name = "FixParseError";
    this.offset = options.offset;
    this.tag = options.tag;
    this.reason = reason;
  }
}
