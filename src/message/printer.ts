/**
 * Readable printing of FIX messages for logs and tools. Passwords are masked.
 *
 * @module
 */

import { maskSecrets } from "../logger.ts";
import { DEFAULT_DATA_FIELDS } from "./data_fields.ts";
import { SECRET_TAGS } from "./mask.ts";
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

/**
 * Options of {@linkcode formatMessage}.
 *
 * @example
 * ```ts
 * import { FixMessage, formatMessage, loadDictionary } from "@fixwire/engine";
 * const names = await loadDictionary("FIX.4.4");
 * formatMessage(new FixMessage("0").set(34, 5), { names, separator: " " });
 * // "MsgType(35)=0 MsgSeqNum(34)=5 "
 * ```
 */
export interface FormatOptions {
  /** Names tags as `MsgSeqNum(34)=5`. */
  names?: TagNamer;
  /** Field separator (default `|`). */
  separator?: string;
  /**
   * LENGTH tag to DATA tag pairs, so that raw bytes are split into fields correctly when a data
   * value contains SOH (default {@linkcode DEFAULT_DATA_FIELDS}; pass `dictionary.dataFields()`
   * for custom pairs).
   */
  dataFields?: ReadonlyMap<number, number>;
}

const SOH = 1;
const SECRET = SECRET_TAGS;
const LATIN1 = new TextDecoder("latin1");
const UTF8 = new TextDecoder();

function showValue(value: string, sep: string): string {
  return value.indexOf("\x01") < 0 ? value : value.replaceAll("\x01", sep);
}

/** Walks the fields of raw bytes (data values read by their announced length) and names them. */
function formatNamed(
  bytes: Uint8Array,
  names: TagNamer,
  sep: string,
  dataFields: ReadonlyMap<number, number>,
): string {
  let out = "";
  const n = bytes.length;
  let p = 0;
  let dataTag = -1;
  let dataLen = 0;
  while (p < n) {
    const f = p;
    let tag = 0;
    let numeric = true;
    while (p < n && bytes[p] !== 61 && bytes[p] !== SOH) {
      const d = bytes[p] - 48;
      if (d < 0 || d > 9) numeric = false;
      else tag = tag * 10 + d;
      p++;
    }
    if (p >= n || bytes[p] === SOH || p === f || !numeric) {
      // Not a tag=value field: show the bytes up to the next SOH as they are.
      while (p < n && bytes[p] !== SOH) p++;
      if (p > f) out += showValue(UTF8.decode(bytes.subarray(f, p)), sep) + sep;
      p++;
      dataTag = -1;
      continue;
    }
    const v = p + 1;
    let e = v + dataLen;
    if (tag !== dataTag || e >= n || bytes[e] !== SOH) {
      e = v;
      while (e < n && bytes[e] !== SOH) e++;
    }
    dataTag = -1;
    const name = names.fieldName(tag);
    const tagText = LATIN1.decode(bytes.subarray(f, p));
    const value = SECRET.has(tag) ? "***" : showValue(UTF8.decode(bytes.subarray(v, e)), sep);
    out += `${name ? `${name}(${tagText})` : tagText}=${value}${sep}`;
    const linked = dataFields.get(tag);
    if (linked !== undefined && e > v && e - v < 10) {
      let len = 0;
      for (let i = v; i < e && len >= 0; i++) {
        const d = bytes[i] - 48;
        len = d < 0 || d > 9 ? -1 : len * 10 + d;
      }
      if (len >= 0) {
        dataTag = linked;
        dataLen = len;
      }
    }
    p = e + 1;
  }
  return out;
}

/**
 * Formats a message or raw bytes readably: `|` for SOH, optionally with tag names, and
 * passwords masked. Raw bytes are walked field by field, reading data fields (RawData,
 * XmlData...) by their announced length; an SOH inside a value is shown as the separator.
 *
 * @param message A message, or the raw bytes of one or more messages.
 * @param options Tag names, separator and data-field pairs.
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
  if (message instanceof Uint8Array) {
    if (!names) return maskSecrets(LATIN1.decode(message).replaceAll("\x01", sep));
    return formatNamed(message, names, sep, options.dataFields ?? DEFAULT_DATA_FIELDS);
  }
  let out = "";
  for (const [tag, value] of message) {
    const name = names?.fieldName(tag);
    out += `${name ? `${name}(${tag})` : tag}=${
      SECRET.has(tag) ? "***" : showValue(value, sep)
    }${sep}`;
  }
  return out;
}
