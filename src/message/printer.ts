/**
 * Readable printing of FIX messages for logs and tools. Passwords are masked.
 *
 * @module
 */

import { maskSecrets } from "../logger.ts";
import type { FieldMap } from "./fix_message.ts";

/** Anything that names tags, such as a `Dictionary`. */
export interface TagNamer {
  /**
   * The name of a tag.
   *
   * @param tag The tag.
   * @returns The spec name, or `undefined` when unknown.
   */
  fieldName(tag: number): string | undefined;
}

/** Options of {@linkcode formatMessage}. */
export interface FormatOptions {
  /** Names tags as `MsgSeqNum(34)=5`. */
  names?: TagNamer;
  /** Field separator (default `|`). */
  separator?: string;
}

const SECRET = new Set([554, 925, 1402, 1404]);
const LATIN1 = new TextDecoder("latin1");

/**
 * Formats a message or raw bytes readably: `|` for SOH, optionally with tag names, and
 * passwords masked.
 *
 * @param message A message, or the raw bytes of one or more messages.
 * @param options Tag names and separator.
 * @returns The text.
 * @example
 * ```ts
 * import { FixMessage, formatMessage } from "@fixwire/engine";
 * formatMessage(new FixMessage("0").set(34, 5)); // "35=0|34=5|"
 * ```
 */
export function formatMessage(message: FieldMap | Uint8Array, options: FormatOptions = {}): string {
  const sep = options.separator ?? "|";
  const names = options.names;
  let out = "";
  if (message instanceof Uint8Array) {
    if (!names) return maskSecrets(LATIN1.decode(message).replaceAll("\x01", sep));
    for (const field of new TextDecoder().decode(message).split("\x01")) {
      if (field === "") continue;
      const eq = field.indexOf("=");
      const tag = Number(field.slice(0, eq));
      const name = Number.isInteger(tag) ? names.fieldName(tag) : undefined;
      const value = SECRET.has(tag) ? "=***" : field.slice(eq);
      out += (name ? `${name}(${field.slice(0, eq)})` : field.slice(0, eq)) + value + sep;
    }
    return out;
  }
  for (const [tag, value] of message) {
    const name = names?.fieldName(tag);
    out += `${name ? `${name}(${tag})` : tag}=${SECRET.has(tag) ? "***" : value}${sep}`;
  }
  return out;
}
