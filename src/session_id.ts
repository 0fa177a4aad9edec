/**
 * Session identity.
 *
 * @module
 */

/** A CompID or qualifier: non-empty, no control characters, `=`, `/` or `\`. */
function validPart(v: unknown): boolean {
  if (typeof v !== "string" || v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 61 || c === 47 || c === 92) return false;
  }
  return true;
}

/** Escaped anywhere in a key: the separator, and what Windows forbids in a name. */
const KEY_ESCAPED = new Set(["-", "<", ">", ":", '"', "|", "?", "*"]);
/** Windows device names: `CON.X` names the console whatever follows the dot. */
const WINDOWS_DEVICE = /^(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/i;

function hex(byte: number): string {
  return "=" + byte.toString(16).toUpperCase().padStart(2, "0");
}

/**
 * `=XX` for each byte of the code point in UTF-8. A lone surrogate gets the three bytes UTF-8
 * would give its number (as WTF-8 does), so every JavaScript string has an encoding.
 */
function escapeCodePoint(cp: number): string {
  if (cp < 0x80) return hex(cp);
  if (cp < 0x800) return hex(0xc0 | cp >> 6) + hex(0x80 | cp & 63);
  if (cp < 0x10000) return hex(0xe0 | cp >> 12) + hex(0x80 | cp >> 6 & 63) + hex(0x80 | cp & 63);
  return hex(0xf0 | cp >> 18) + hex(0x80 | cp >> 12 & 63) + hex(0x80 | cp >> 6 & 63) +
    hex(0x80 | cp & 63);
}

/** One part of a key; `first` is the sender, `last` the part the key ends with. */
function keyPart(part: string, first: boolean, last: boolean): string {
  let device = -1;
  if (first) {
    const dot = part.indexOf(".");
    if (dot > 0 && WINDOWS_DEVICE.test(part.slice(0, dot).trimEnd())) device = dot;
  }
  let out = "";
  for (let i = 0; i < part.length; i++) {
    const cp = part.codePointAt(i)!;
    const c = part[i];
    const escape = cp >= 0x7f || KEY_ESCAPED.has(c) || i === device ||
      // Windows drops a name's trailing dots and spaces.
      (last && i === part.length - 1 && (c === "." || c === " "));
    out += escape ? escapeCodePoint(cp) : c;
    if (cp > 0xffff) i++;
  }
  return out;
}

/** Decodes `=XX` escapes (UTF-8, or WTF-8 for lone surrogates); undefined when malformed. */
function unescapeKeyPart(text: string): string | undefined {
  let out = "";
  let i = 0;
  while (i < text.length) {
    if (text[i] !== "=") {
      out += text[i++];
      continue;
    }
    const bytes: number[] = [];
    while (text[i] === "=") {
      const h = text.slice(i + 1, i + 3);
      if (!/^[0-9A-F]{2}$/.test(h)) return undefined;
      bytes.push(parseInt(h, 16));
      i += 3;
    }
    for (let b = 0; b < bytes.length;) {
      const lead = bytes[b];
      const n = lead < 0x80 ? 1 : lead < 0xc0 ? 0 : lead < 0xe0 ? 2 : lead < 0xf0 ? 3 : 4;
      if (n === 0 || b + n > bytes.length) return undefined;
      let cp = n === 1 ? lead : lead & (0xff >> (n + 1));
      for (let k = 1; k < n; k++) {
        if ((bytes[b + k] & 0xc0) !== 0x80) return undefined;
        cp = cp << 6 | bytes[b + k] & 63;
      }
      if (cp > 0x10ffff) return undefined;
      out += String.fromCodePoint(cp);
      b += n;
    }
  }
  return out;
}

/** One part of the readable form: `>` and `:` get a `\` (never in a CompID) before them. */
function textPart(part: string): string {
  return part.replace(/[>:]/g, "\\$&");
}

/**
 * Identifies a FIX session by our SenderCompID, the counterparty's TargetCompID and an optional
 * qualifier (to run several sessions between the same pair of CompIDs).
 *
 * Two ids are equal when their three parts are, and then only: {@linkcode SessionId.key} and
 * {@linkcode SessionId.toString} are both injective, and {@linkcode SessionId.fromKey} and
 * {@linkcode SessionId.parse} read them back.
 *
 * @example
 * ```ts
 * import { SessionId } from "@fixwire/engine";
 * const id = new SessionId("TEST1", "TEST2");
 * id.toString(); // "TEST1->TEST2"
 * id.key; // "TEST1-TEST2"
 * ```
 */
export class SessionId {
  /** Our SenderCompID(49). */
  readonly sender: string;
  /** The counterparty's CompID, our TargetCompID(56). */
  readonly target: string;
  /** An optional qualifier distinguishing sessions between the same CompIDs. */
  readonly qualifier: string | undefined;

  /**
   * Creates an instance.
   * @param sender Our SenderCompID.
   * @param target The counterparty's CompID.
   * @param qualifier An optional session qualifier.
   * @throws {TypeError} If a CompID is empty or contains a control character, `=` or a path
   *   separator (`/`, `\`).
   */
  constructor(sender: string, target: string, qualifier?: string) {
    for (const [name, v] of [["sender", sender], ["target", target]] as const) {
      if (!validPart(v)) {
        throw new TypeError(`Cannot create session id: ${name} CompID "${v}" is empty or invalid`);
      }
    }
    if (qualifier !== undefined && !validPart(qualifier)) {
      throw new TypeError(`Cannot create session id: qualifier "${qualifier}" is empty or invalid`);
    }
    this.sender = sender;
    this.target = target;
    this.qualifier = qualifier;
  }

  /**
   * A file-name-safe key, unique per session: `SENDER-TARGET` or `SENDER-TARGET-QUALIFIER`, the
   * name of the session's store folder (file store) and its key part (KV store).
   *
   * Within a part, a character is written as `=XX` per byte of its UTF-8 form (hex, upper
   * case) when it is the separator `-`, one of `<>:"|?*` (Windows forbids them in names), DEL or
   * not ASCII, or a `.` or space ending the key (Windows drops those), or the first `.` of a
   * sender such as `CON.X` that Windows reads as a device name. Nothing else changes, so
   * letters, digits, `_`, `.`, spaces and the like look as they always did (`TEST1-TEST2`), and
   * `=` never occurs in a CompID, so the escapes are unambiguous: ids with different parts have
   * different keys, and {@linkcode SessionId.fromKey} reads a key back. `BROKER-1`, `EXCH` is
   * `BROKER=2D1-EXCH`; `BROKER`, `1-EXCH` is `BROKER-1=2DEXCH`.
   *
   * A key holds only printable ASCII and is a valid name on Linux, macOS and Windows. It keeps
   * the case of the CompIDs, which FIX compares case-sensitively: on a case-insensitive file
   * system `abc-X` and `ABC-X` name one folder, which the file store detects and refuses.
   *
   * @returns The key.
   */
  get key(): string {
    const q = this.qualifier;
    const tail = q === undefined
      ? keyPart(this.target, false, true)
      : `${keyPart(this.target, false, false)}-${keyPart(q, false, true)}`;
    return `${keyPart(this.sender, true, false)}-${tail}`;
  }

  /**
   * Whether another id names the same session.
   *
   * @param other The id to compare.
   * @returns True when sender, target and qualifier are equal.
   */
  equals(other: SessionId): boolean {
    return this.sender === other.sender && this.target === other.target &&
      this.qualifier === other.qualifier;
  }

  /**
   * Readable form: `SENDER->TARGET` or `SENDER->TARGET:QUALIFIER`, unique per session. A `>` or
   * `:` inside a part is written `\>`, `\:` (a CompID never holds `\`), so `A`, `B:C` is
   * `A->B\:C` while `A`, `B`, `C` is `A->B:C`. {@linkcode SessionId.parse} reads it back.
   *
   * @returns The text.
   */
  toString(): string {
    const head = `${textPart(this.sender)}->${textPart(this.target)}`;
    return this.qualifier === undefined ? head : `${head}:${textPart(this.qualifier)}`;
  }

  /**
   * Reads back the id whose {@linkcode SessionId.key} is `key`.
   *
   * @param key A key, as `key` writes it.
   * @returns The id.
   * @throws {SyntaxError} When `key` is not the key of any id (not two or three parts, a bad
   *   escape, or not written the way `key` writes it).
   * @example
   * ```ts
   * import { SessionId } from "@fixwire/engine";
   * const id = SessionId.fromKey("BROKER=2D1-EXCH");
   * id.sender; // "BROKER-1"
   * ```
   */
  static fromKey(key: string): SessionId {
    const fail = (why: string) => new SyntaxError(`Cannot read session key "${key}": ${why}`);
    const pieces = key.split("-");
    if (pieces.length !== 2 && pieces.length !== 3) throw fail("it does not have 2 or 3 parts");
    const parts = pieces.map(unescapeKeyPart);
    if (parts.some((p) => p === undefined)) throw fail("an escape is malformed");
    let id: SessionId;
    try {
      id = new SessionId(parts[0]!, parts[1]!, parts[2]);
    } catch {
      throw fail("a part is empty or invalid");
    }
    if (id.key !== key) throw fail("it is not written the way keys are");
    return id;
  }

  /**
   * Reads back the id whose {@linkcode SessionId.toString} is `text`.
   *
   * @param text `SENDER->TARGET` or `SENDER->TARGET:QUALIFIER`, as `toString` writes it.
   * @returns The id.
   * @throws {SyntaxError} When `text` is not the text of any id.
   * @example
   * ```ts
   * import { SessionId } from "@fixwire/engine";
   * SessionId.parse("TEST1->TEST2:Q").qualifier; // "Q"
   * SessionId.parse("A->B\\:C").target; // "B:C"
   * ```
   */
  static parse(text: string): SessionId {
    const parts = [""];
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === "\\") parts[parts.length - 1] += text[++i] ?? "";
      else if (parts.length === 1 && c === "-" && text[i + 1] === ">") {
        parts.push("");
        i++;
      } else if (parts.length === 2 && c === ":") parts.push("");
      else parts[parts.length - 1] += c;
    }
    let id: SessionId | undefined;
    try {
      if (parts.length > 1) id = new SessionId(parts[0], parts[1], parts[2]);
    } catch {
      // Reported below.
    }
    if (id === undefined || id.toString() !== text) {
      throw new SyntaxError(
        `Cannot read session id "${text}": it is not SENDER->TARGET[:QUALIFIER]`,
      );
    }
    return id;
  }
}
