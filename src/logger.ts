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

// Passwords (and usernames) in SOH-, "|"- or JSON-escaped-SOH-delimited text.
// deno-lint-ignore no-control-regex
const SECRET_TAGS = /(\x01|\||\\u0001|^)(553|554|925|140[0-4])=(?:(?!\\u0001)[^\x01|"])*/g;

/**
 * Masks credentials (Username 553, Password 554, NewPassword 925 and the FIX.5.0 encrypted
 * password fields 1400-1404) in a printable FIX message, also inside JSON text where SOH
 * appears as `\u0001`.
 *
 * @param text A FIX message as text, with SOH, `|` or `\u0001` separators.
 * @returns The text with those values replaced by `***`.
 * @example
 * ```ts
 * import { maskSecrets } from "@fixwire/engine";
 * maskSecrets("553=u|554=secret|"); // "553=***|554=***|"
 * ```
 */
export function maskSecrets(text: string): string {
  return text.replace(SECRET_TAGS, (_m, sep: string, tag: string) => `${sep}${tag}=***`);
}

/** The lowest level a logger writes, or `off`. */
export type LogLevel = "debug" | "info" | "warn" | "error" | "off";

/** Options of {@linkcode lineLogger}. */
export interface LineLoggerOptions {
  /** The current time, epoch ms: each line then starts with it as an ISO timestamp. */
  now?: () => number;
}

const ORDER = { debug: 0, info: 1, warn: 2, error: 3, off: 4 } as const;

/**
 * A logger writing one line per entry to a sink function: an optional ISO timestamp, the
 * level, the session in brackets when the fields name one, the message and the other fields
 * as JSON, with credentials masked.
 *
 * @param sink Receives each formatted line.
 * @param minLevel The lowest level written (`off`: nothing).
 * @param options A time source for timestamps.
 * @returns A {@linkcode Logger}.
 * @example
 * ```ts
 * import { lineLogger } from "@fixwire/engine";
 * const lines: string[] = [];
 * const logger = lineLogger((line) => lines.push(line), "info", { now: () => 0 });
 * logger.info("session established", { session: "TEST1->TEST2", heartbeat: 30 });
 * lines[0]; // '1970-01-01T00:00:00.000Z INFO [TEST1->TEST2] session established {"heartbeat":30}'
 * ```
 */
export function lineLogger(
  sink: (line: string) => void,
  minLevel: LogLevel = "info",
  options: LineLoggerOptions = {},
): Logger {
  const min = ORDER[minLevel];
  const now = options.now;
  const write = (level: "debug" | "info" | "warn" | "error", message: string, f?: LogFields) => {
    if (ORDER[level] < min) return;
    let head = now
      ? `${new Date(now()).toISOString()} ${level.toUpperCase()}`
      : level.toUpperCase();
    let extra = "";
    if (f) {
      let fields = f;
      if (typeof f.session === "string") {
        head += ` [${f.session}]`;
        const { session: _, ...rest } = f;
        fields = rest;
      }
      if (Object.keys(fields).length > 0) {
        try {
          extra = " " + maskSecrets(JSON.stringify(fields));
        } catch {
          extra = " [unserializable fields]";
        }
      }
    }
    sink(`${head} ${maskSecrets(message)}${extra}`);
  };
  return {
    debug: (m, f) => write("debug", m, f),
    info: (m, f) => write("info", m, f),
    warn: (m, f) => write("warn", m, f),
    error: (m, f) => write("error", m, f),
  };
}

const ENCODER = new TextEncoder();

/**
 * The engine's default logger: timestamped lines on stderr (see {@linkcode lineLogger}).
 *
 * @param minLevel The lowest level written; `info` by default.
 * @returns A {@linkcode Logger}.
 * @example
 * ```ts
 * import { stderrLogger } from "@fixwire/engine";
 * const logger = stderrLogger("warn");
 * logger.info("not written"); // below warn
 * ```
 */
export function stderrLogger(minLevel: LogLevel = "info"): Logger {
  return lineLogger(
    (line) => {
      try {
        Deno.stderr.writeSync(ENCODER.encode(line + "\n"));
      } catch {
        // stderr closed: nothing else to tell.
      }
    },
    minLevel,
    { now: Date.now },
  );
}
