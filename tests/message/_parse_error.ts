// Test helper: a FixParseError as a plain record, to compare two decoders' errors with deepEqual.
import type { FixParseError } from "../../src/message/errors.ts";
import type { FieldMap } from "../../src/message/fix_message.ts";

/** The error's message, reason, offset, tag, and its partial message's fields by `fieldsOf`. */
export function errorRecord(e: FixParseError, fieldsOf: (m: FieldMap) => unknown[]): unknown {
  return {
    error: e.message,
    reason: e.reason,
    offset: e.offset,
    tag: e.tag,
    decoded: e.decoded === undefined ? undefined : fieldsOf(e.decoded),
  };
}
