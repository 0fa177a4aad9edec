/**
 * Java-style `.properties` parsing, as FIX Antenna configuration files use it.
 *
 * @module
 */

/** One `key=value` entry with its 1-based line number. */
export interface PropertyEntry {
  /** The key. */
  key: string;
  /** The value, unescaped. */
  value: string;
  /** Line where the entry starts; `undefined` for entries not read from a file. */
  line: number | undefined;
}

/**
 * A configuration problem: a bad value or a malformed file.
 *
 * @example
 * ```ts
 * import { ConfigError } from "@fixwire/engine";
 * const err = new ConfigError("expected an integer", {
 *   key: "Reconnect.MaxTries",
 *   value: "abc",
 *   file: "engine.properties",
 *   line: 12,
 * });
 * err.message; // 'Invalid value "abc" for key "Reconnect.MaxTries" at engine.properties:12: expected an integer'
 * ```
 */
export class ConfigError extends Error {
  /** The key at fault. */
  readonly key: string;
  /** The value at fault. */
  readonly value: string;
  /** The file, when read from one. */
  readonly file: string | undefined;
  /** The 1-based line, when known. */
  readonly line: number | undefined;

  /**
   * Creates a configuration error.
   *
   * @param problem What is expected.
   * @param where Key, value, file and line.
   */
  constructor(
    problem: string,
    where: { key: string; value: string; file?: string; line?: number },
  ) {
    const at = where.file !== undefined || where.line !== undefined
      ? ` at ${where.file ?? "<config>"}${where.line !== undefined ? `:${where.line}` : ""}`
      : "";
    super(`Invalid value "${where.value}" for key "${where.key}"${at}: ${problem}`);
    this.name = "ConfigError";
    this.key = where.key;
    this.value = where.value;
    this.file = where.file;
    this.line = where.line;
  }
}

function unescape(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c !== "\\" || i + 1 >= s.length) {
      out += c;
      continue;
    }
    const n = s[++i];
    if (n === "t") out += "\t";
    else if (n === "n") out += "\n";
    else if (n === "r") out += "\r";
    else if (n === "f") out += "\f";
    else if (n === "u" && /^[0-9a-fA-F]{4}$/.test(s.slice(i + 1, i + 5))) {
      out += String.fromCharCode(parseInt(s.slice(i + 1, i + 5), 16));
      i += 4;
    } else out += n;
  }
  return out;
}

function endsWithOddBackslashes(s: string): boolean {
  let n = 0;
  for (let i = s.length - 1; i >= 0 && s[i] === "\\"; i--) n++;
  return n % 2 === 1;
}

/**
 * Parses properties text: `key=value`, `key: value` or `key value`; `#` and `!` comments;
 * backslash line continuation; `\t`, `\n`, `\\` and `\uXXXX` escapes.
 *
 * @param text The file's text.
 * @returns The entries in order; a later duplicate key wins when resolved.
 * @example
 * ```ts
 * import { parseProperties } from "@fixwire/engine";
 * parseProperties("# engine\nListenPort = 8901\n"); // [{ key: "ListenPort", value: "8901", line: 2 }]
 * ```
 */
export function parseProperties(text: string): PropertyEntry[] {
  const lines = text.split(/\r\n|\r|\n/);
  const out: PropertyEntry[] = [];
  for (let i = 0; i < lines.length; i++) {
    const start = i + 1;
    let logical = lines[i].replace(/^[ \t\f]+/, "");
    if (logical === "" || logical[0] === "#" || logical[0] === "!") continue;
    while (endsWithOddBackslashes(logical) && i + 1 < lines.length) {
      logical = logical.slice(0, -1) + lines[++i].replace(/^[ \t\f]+/, "");
    }
    let k = 0;
    let key = "";
    while (k < logical.length) {
      const c = logical[k];
      if (c === "\\" && k + 1 < logical.length) {
        key += logical[k] + logical[k + 1];
        k += 2;
        continue;
      }
      if (c === "=" || c === ":" || c === " " || c === "\t" || c === "\f") break;
      key += c;
      k++;
    }
    while (k < logical.length && /[ \t\f]/.test(logical[k])) k++;
    if (k < logical.length && (logical[k] === "=" || logical[k] === ":")) k++;
    while (k < logical.length && /[ \t\f]/.test(logical[k])) k++;
    out.push({ key: unescape(key), value: unescape(logical.slice(k)).trimEnd(), line: start });
  }
  return out;
}
