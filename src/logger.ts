/**
 * Structured logging port. Library code logs only through a {@linkcode Logger}; it never calls
 * `console`. The default logger is silent.
 *
 * @module
 */

/** Structured fields attached to a log line. */
export type LogFields = Record<string, unknown>;

/**
 * A structured logger. Every method receives a message and optional fields.
 *
 * @example
 * ```ts
 * import type { Logger } from "@fixwire/engine";
 * const lines: string[] = [];
 * const logger: Logger = {
 *   debug: () => {},
 *   info: (msg) => lines.push(msg),
 *   warn: (msg) => lines.push(msg),
 *   error: (msg) => lines.push(msg),
 * };
 * ```
 */
export interface Logger {
  /** Logs detail useful while debugging. */
  debug(message: string, fields?: LogFields): void;
  /** Logs a normal event. */
  info(message: string, fields?: LogFields): void;
  /** Logs a recoverable problem. */
  warn(message: string, fields?: LogFields): void;
  /** Logs a failure. */
  error(message: string, fields?: LogFields): void;
}

/**
 * A logger that discards everything: the default.
 *
 * @example
 * ```ts
 * import { SILENT_LOGGER } from "@fixwire/engine";
 * SILENT_LOGGER.info("ignored");
 * ```
 */
export const SILENT_LOGGER: Logger = Object.freeze({
  debug() {},
  info() {},
  warn() {},
  error() {},
});

// deno-lint-ignore no-control-regex
const SECRET_TAGS = /(\x01|\||^)(554|925|1402|1404)=[^\x01|]*/g;

/**
 * Masks passwords (Password 554, NewPassword 925, EncryptedPassword 1402 and
 * EncryptedNewPassword 1404) in a printable FIX message.
 *
 * @param text A FIX message as text, with SOH or `|` separators.
 * @returns The text with those values replaced by `***`.
 * @example
 * ```ts
 * import { maskSecrets } from "@fixwire/engine";
 * maskSecrets("553=u|554=secret|"); // "553=u|554=***|"
 * ```
 */
export function maskSecrets(text: string): string {
  return text.replace(SECRET_TAGS, (_m, sep: string, tag: string) => `${sep}${tag}=***`);
}

/**
 * A logger writing one JSON line per entry to a sink function, for applications that want logs
 * without writing their own logger.
 *
 * @param sink Receives each formatted line.
 * @param minLevel The lowest level written.
 * @returns A {@linkcode Logger}.
 * @example
 * ```ts
 * import { lineLogger } from "@fixwire/engine";
 * const lines: string[] = [];
 * const logger = lineLogger((line) => lines.push(line), "info");
 * logger.info("session established", { session: "TEST1->TEST2" });
 * ```
 */
export function lineLogger(
  sink: (line: string) => void,
  minLevel: "debug" | "info" | "warn" | "error" = "info",
): Logger {
  const order = { debug: 0, info: 1, warn: 2, error: 3 } as const;
  const min = order[minLevel];
  const write = (level: keyof typeof order, message: string, fields?: LogFields) => {
    if (order[level] < min) return;
    let extra = "";
    if (fields) {
      try {
        extra = " " + maskSecrets(JSON.stringify(fields));
      } catch {
        extra = " [unserializable fields]";
      }
    }
    sink(`${level.toUpperCase()} ${message}${extra}`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}
