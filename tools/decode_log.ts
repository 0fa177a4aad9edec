/**
 * Decodes FIX messages from a file or stdin and prints them readably, for operators reading a
 * log or a store after an incident.
 *
 *     deno run --allow-read jsr:@fixwire/engine/decode [options] [file]
 *
 * Reads (the kind is recognised from the content):
 * - a raw FIX stream, messages back to back with SOH (the file store's `outgoing.log` and
 *   `incoming.log`, their archives, a capture); a file named `incoming*` or `outgoing*` gives
 *   the direction;
 * - message logs, one message a line after a timestamp and an optional direction, with `|` or
 *   SOH between fields: fixwire's `messages.log` (`2026-12-06T09:30:00.123Z IN  8=FIX.4.4|...`)
 *   and QuickFIX's (`20261206-09:30:00.123 : 8=FIX.4.4<SOH>...`).
 *
 * Prints one message a line (`--names` adds tag names), or `--expand`: one field a line with tag
 * and enumeration names and group entries indented, or `--json`: one JSON object a message.
 * Names come from the dictionary of the message's BeginString (FIXT.1.1: of its ApplVerID, else
 * of the DefaultApplVerID of a Logon read before it, else FIX.5.0SP2), or of `--version` or
 * `--dictionary`. Credentials (553, 554, 925, 1400-1404 and the tags of `--mask`) are shown as
 * `***`. Filters: `--type D,8`, `--tag 11=abc` (repeatable; group fields count), `--from` and
 * `--to` (MsgSeqNum), `--direction in|out`.
 *
 * A garbled line or run of bytes is reported on stderr (line, reason, the start of it) and
 * skipped; the messages around it are printed.
 *
 * Exit status:
 * - 0: the input was decoded whole;
 * - 1: nothing decoded: a missing or unreadable file, input with no FIX message, bad arguments;
 * - 2: messages were decoded, and garbled input was reported and skipped.
 *
 * @example
 * ```ts
 * import { readLog } from "@fixwire/engine/decode";
 * const line = "2026-12-06T09:30:00.123Z OUT 8=FIX.4.4|9=5|35=0|10=163|\n";
 * const [entry] = readLog(new TextEncoder().encode(line));
 * if ("message" in entry) entry.message.msgType; // "0"
 * ```
 *
 * @module
 */

import { TARGET_RECORD_BYTES, targetRecordAt } from "../adapters/file_store.ts";
import type { Dictionary } from "../src/dictionary/dictionary.ts";
import {
  applVerIdToVersion,
  FIX_VERSION_NAMES,
  type FixVersionName,
  loadDictionary,
  loadDictionaryFile,
} from "../src/dictionary/load.ts";
import type { FixMessage } from "../src/message/fix_message.ts";
import { decodeMessage } from "../src/message/framer.ts";
import { SECRET_TAGS } from "../src/message/mask.ts";

/** Received (`in`) or sent (`out`). */
export type Direction = "in" | "out";

/** A message read from the input. */
export interface LogEntry {
  /** The input line it starts on (1 for the first). */
  line: number;
  /** Its byte offset in the input. */
  offset: number;
  /** The time its log line gives, as written, if any. */
  time?: string;
  /** Whether it was received or sent, when the log line or the file name says. */
  direction?: Direction;
  /** The message, from `8=` to the checksum's SOH, with SOH between fields. */
  frame: Uint8Array;
  /** The message decoded. */
  message: FixMessage;
}

/** A part of the input that is no FIX message: reported and skipped. */
export interface LogProblem {
  /** The input line it starts on. */
  line: number;
  /** Its byte offset in the input. */
  offset: number;
  /** What is wrong. */
  reason: string;
  /** Its first characters, SOH shown as `|`. */
  excerpt: string;
}

/** Options of {@linkcode readLog}. */
export interface ReadLogOptions {
  /** The direction of messages whose line does not give one (from a store file's name). */
  direction?: Direction;
}

const SOH = 1;
const BAR = 124;
const NL = 10;
const BEGIN = [56, 61, 70, 73, 88]; // "8=FIX"
const UTF8 = new TextDecoder();
const EXCERPT = 60;

function isBegin(b: Uint8Array, i: number): boolean {
  return b[i] === 56 && b[i + 1] === 61 && b[i + 2] === 70 && b[i + 3] === 73 && b[i + 4] === 88;
}

function indexOfBegin(b: Uint8Array, from: number, to: number): number {
  for (let i = from; i + BEGIN.length <= to; i++) if (isBegin(b, i)) return i;
  return -1;
}

function isBlank(b: Uint8Array, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = b[i];
    if (c !== 32 && c !== 9 && c !== 10 && c !== 13 && c !== 0) return false;
  }
  return true;
}

/**
 * Whether `b[from, to)` holds only blanks and the file store's target records (`#T <n>` lines
 * between the messages of `outgoing.log`, which carry its next target number): no garble.
 */
function onlyTargetRecords(b: Uint8Array, from: number, to: number): boolean {
  let p = from;
  while (p < to) {
    if (isBlank(b, p, p + 1)) {
      p++;
      continue;
    }
    if (p + TARGET_RECORD_BYTES > to || targetRecordAt(b, p) === 0) return false;
    p += TARGET_RECORD_BYTES;
  }
  return true;
}

function excerpt(b: Uint8Array, from: number, to: number): string {
  const end = Math.min(to, from + EXCERPT);
  let text = "";
  for (const c of UTF8.decode(b.subarray(from, end))) {
    const code = c.charCodeAt(0);
    text += code === SOH ? "|" : code < 32 || code === 127 ? "?" : c;
  }
  text = text.trimEnd();
  return end < to ? `${text}...` : text;
}

/**
 * The end (after the SOH) of the message starting at `start`: at its BodyLength(9) when a
 * CheckSum(10) field is there, else at the first CheckSum(10) field before the next `8=FIX`.
 * A masked credential leaves a wrong checksum: the value is not checked.
 */
function frameEnd(b: Uint8Array, start: number, to: number): number | string {
  let p = start + BEGIN.length;
  while (p < to && b[p] !== SOH) p++;
  if (p + 3 >= to || b[p + 1] !== 57 || b[p + 2] !== 61) {
    return "BodyLength(9) is not the second field";
  }
  let q = p + 3;
  let length = 0;
  while (q < to && b[q] >= 48 && b[q] <= 57 && q - p < 12) length = length * 10 + b[q++] - 48;
  if (q === p + 3 || q >= to || b[q] !== SOH) return "BodyLength(9) is not a number";
  const trailer = q + 1 + length;
  if (isCheckSum(b, trailer - 1, to)) return trailer + 7;
  const next = indexOfBegin(b, start + 1, to);
  const limit = next < 0 ? to : next;
  for (let i = q; i < limit; i++) if (isCheckSum(b, i, limit)) return i + 8;
  return next < 0
    ? "the message is cut short: no CheckSum(10)"
    : "no CheckSum(10) before the next message";
}

/** `<SOH>10=ddd<SOH>` at `i`. */
function isCheckSum(b: Uint8Array, i: number, to: number): boolean {
  if (i + 8 > to || b[i] !== SOH || b[i + 1] !== 49 || b[i + 2] !== 48 || b[i + 3] !== 61) {
    return false;
  }
  for (let k = i + 4; k < i + 7; k++) if (b[k] < 48 || b[k] > 57) return false;
  return b[i + 7] === SOH;
}

/** Counts lines as offsets go forward. */
class LineCounter {
  #b: Uint8Array;
  #at = 0;
  #line = 1;
  constructor(b: Uint8Array) {
    this.#b = b;
  }
  lineOf(offset: number): number {
    for (; this.#at < offset; this.#at++) if (this.#b[this.#at] === NL) this.#line++;
    return this.#line;
  }
}

/** The messages in `b[from, to)`, SOH-delimited: entries and problems, in order. */
function* frames(
  b: Uint8Array,
  from: number,
  to: number,
  lineOf: (offset: number) => number,
  meta: { time?: string; direction?: Direction },
  offsetBase: number,
): Generator<LogEntry | LogProblem> {
  let p = from;
  while (p < to) {
    const start = indexOfBegin(b, p, to);
    const stop = start < 0 ? to : start;
    if (!onlyTargetRecords(b, p, stop)) {
      while (isBlank(b, p, p + 1)) p++;
      yield {
        line: lineOf(p),
        offset: offsetBase + p,
        reason: "not a FIX message",
        excerpt: excerpt(b, p, stop),
      };
    }
    if (start < 0) return;
    const end = frameEnd(b, start, to);
    if (typeof end === "string") {
      const next = indexOfBegin(b, start + 1, to);
      const until = next < 0 ? to : next;
      yield {
        line: lineOf(start),
        offset: offsetBase + start,
        reason: end,
        excerpt: excerpt(b, start, until),
      };
      p = until;
      continue;
    }
    const frame = b.subarray(start, end);
    try {
      const message = decodeMessage(frame);
      yield { line: lineOf(start), offset: offsetBase + start, ...meta, frame, message };
    } catch (e) {
      yield {
        line: lineOf(start),
        offset: offsetBase + start,
        reason: e instanceof Error
          ? e.message.replace(/^Cannot parse FIX message: /, "")
          : String(e),
        excerpt: excerpt(b, start, end),
      };
    }
    p = end;
  }
}

const DIRECTIONS: Record<string, Direction> = {
  in: "in",
  out: "out",
  incoming: "in",
  outgoing: "out",
  received: "in",
  sent: "out",
};

/** An ISO 8601 or FIX UTCTimestamp time, as logs write them. */
const TIME = /^\d{4}-?\d{2}-?\d{2}(?:[T -]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?Z?)?$/;

/** A log line's prefix: its time and direction; anything else there is `junk`. */
function readPrefix(text: string): { time?: string; direction?: Direction; junk?: string } {
  const words = text.split(/\s+/).filter((w) => w !== "" && w !== ":" && w !== "-");
  let direction: Direction | undefined;
  const rest: string[] = [];
  for (const w of words) {
    const d = DIRECTIONS[w.toLowerCase().replace(/[:\[\]<>]/g, "")];
    if (d !== undefined && direction === undefined) direction = d;
    else rest.push(w.replace(/:$/, ""));
  }
  const joined = rest.join(" ");
  const time = TIME.test(joined) ? joined : undefined;
  return {
    ...(time !== undefined ? { time } : {}),
    ...(direction !== undefined ? { direction } : {}),
    ...(time === undefined && joined !== "" ? { junk: joined } : {}),
  };
}

/**
 * Reads FIX messages from a file's or stdin's bytes: a raw stream (messages back to back, as in
 * the file store's logs) when it starts with `8=FIX`, else log lines (a timestamp, a
 * direction, a message with `|` or SOH between fields). Garbled parts come back as problems,
 * in order with the messages, and nothing is thrown.
 *
 * @param input The bytes.
 * @param options The direction of messages whose line gives none.
 * @returns The messages and problems, in input order.
 * @example
 * ```ts
 * import { readLog } from "@fixwire/engine/decode";
 * const raw = new TextEncoder().encode("8=FIX.4.4\x019=5\x0135=0\x0110=163\x01");
 * for (const item of readLog(raw, { direction: "out" })) {
 *   if ("message" in item) item.message.msgType; // "0"
 *   else item.reason; // garbled input: why
 * }
 * ```
 */
export function* readLog(
  input: Uint8Array,
  options: ReadLogOptions = {},
): Generator<LogEntry | LogProblem> {
  const lines = new LineCounter(input);
  const lineOf = (offset: number) => lines.lineOf(offset);
  let first = 0;
  while (first < input.length && isBlank(input, first, first + 1)) first++;
  const raw = isBegin(input, first) &&
    input.subarray(first, Math.min(input.length, first + 64)).includes(SOH);
  if (raw) {
    yield* frames(input, 0, input.length, lineOf, { direction: options.direction }, 0);
    return;
  }
  let start = 0;
  while (start < input.length) {
    let end = input.indexOf(NL, start);
    if (end < 0) end = input.length;
    let stop = end;
    if (stop > start && input[stop - 1] === 13) stop--;
    if (!isBlank(input, start, stop)) yield* logLine(input, start, stop, lineOf, options);
    start = end + 1;
  }
}

function* logLine(
  input: Uint8Array,
  start: number,
  stop: number,
  lineOf: (offset: number) => number,
  options: ReadLogOptions,
): Generator<LogEntry | LogProblem> {
  const line = lineOf(start);
  const at = indexOfBegin(input, start, stop);
  if (at < 0) {
    yield {
      line,
      offset: start,
      reason: "no FIX message on the line",
      excerpt: excerpt(input, start, stop),
    };
    return;
  }
  const { junk, ...prefix } = readPrefix(UTF8.decode(input.subarray(start, at)));
  if (junk !== undefined) {
    // Bytes before the message that are no time or direction: reported, the message read.
    yield { line, offset: start, reason: "not a FIX message", excerpt: excerpt(input, start, at) };
  }
  // `|` for SOH, as fixwire's messages.log writes it: back to SOH (one byte for one).
  let body = input.subarray(at, stop);
  if (!body.includes(SOH)) body = body.map((c) => c === BAR ? SOH : c);
  const meta = { ...prefix, direction: prefix.direction ?? options.direction };
  if (meta.direction === undefined) delete meta.direction;
  yield* frames(body, 0, body.length, () => line, meta, at);
}

/** What {@linkcode matches} checks; every given criterion must hold. */
export interface LogFilter {
  /** MsgType(35) values. */
  types?: ReadonlySet<string>;
  /** Fields that must be present with these values (anywhere, group entries included). */
  tags?: readonly (readonly [number, string])[];
  /** Lowest MsgSeqNum(34). */
  from?: number;
  /** Highest MsgSeqNum(34). */
  to?: number;
  /** Received or sent. */
  direction?: Direction;
}

/**
 * Whether a message passes a filter.
 *
 * @param entry The message.
 * @param filter The criteria.
 * @returns True when every criterion given holds.
 * @example
 * ```ts
 * import { matches, readLog } from "@fixwire/engine/decode";
 * const raw = new TextEncoder().encode("8=FIX.4.4\x019=10\x0135=0\x0134=7\x0110=171\x01");
 * const [entry] = [...readLog(raw)];
 * if ("message" in entry) matches(entry, { types: new Set(["0"]), from: 5 }); // true
 * ```
 */
export function matches(entry: LogEntry, filter: LogFilter): boolean {
  const m = entry.message;
  if (filter.types && !filter.types.has(m.msgType)) return false;
  if (filter.direction && entry.direction !== filter.direction) return false;
  if (filter.from !== undefined || filter.to !== undefined) {
    const seq = m.seqNum;
    if (Number.isNaN(seq)) return false;
    if (filter.from !== undefined && seq < filter.from) return false;
    if (filter.to !== undefined && seq > filter.to) return false;
  }
  for (const [tag, value] of filter.tags ?? []) {
    let found = false;
    for (const [t, v] of m) {
      if (t === tag && v === value) {
        found = true;
        break;
      }
    }
    if (!found) return false;
  }
  return true;
}

/** Options of {@linkcode DictionaryChooser}. */
export interface ChooserOptions {
  /** The version whose dictionary names every message. */
  version?: FixVersionName;
  /** A dictionary of your own (a venue's XML), tried before the version's. */
  dictionary?: Dictionary;
}

/**
 * Picks the dictionaries that name a message's tags: its BeginString's, or for FIXT.1.1 its
 * ApplVerID's (else the DefaultApplVerID of the last Logon it was shown, else FIX.5.0SP2's)
 * and FIXT.1.1's.
 *
 * @example
 * ```ts
 * import { DictionaryChooser, readLog } from "@fixwire/engine/decode";
 * const chooser = new DictionaryChooser();
 * const raw = new TextEncoder().encode("8=FIX.4.2\x019=5\x0135=0\x0110=161\x01");
 * for (const item of readLog(raw)) {
 *   if ("message" in item) (await chooser.for(item.message))[0]?.fieldName(35); // "MsgType"
 * }
 * ```
 */
export class DictionaryChooser {
  readonly #options: ChooserOptions;
  #defaultApplVerId: string | undefined;

  /**
   * Creates an instance.
   *
   * @param options A version or a dictionary to use for every message.
   */
  constructor(options: ChooserOptions = {}) {
    this.#options = options;
  }

  /**
   * The dictionaries for a message, the most specific first.
   *
   * @param message The message.
   * @returns The dictionaries (none for an unknown BeginString).
   */
  async for(message: FixMessage): Promise<Dictionary[]> {
    const out: Dictionary[] = [];
    if (this.#options.dictionary) out.push(this.#options.dictionary);
    const begin = message.get(8);
    const fixt = begin === "FIXT.1.1";
    if (fixt && message.msgType === "A") this.#defaultApplVerId = message.get(1137);
    let version: FixVersionName | undefined = this.#options.version;
    if (version === undefined) {
      if (fixt) {
        const code = message.get(1128) ?? this.#defaultApplVerId;
        version = (code !== undefined ? applVerIdToVersion(code) : undefined) ?? "FIX.5.0SP2";
      } else if (begin !== undefined) version = applVerIdToVersion(begin);
    }
    if (version !== undefined) {
      const d = await loadDictionary(version).catch(() => undefined);
      if (d) out.push(d);
    }
    if (fixt && version !== "FIXT.1.1") out.push(await loadDictionary("FIXT.1.1"));
    return out;
  }
}

/** How {@linkcode formatEntry} prints. */
export type EntryStyle = "line" | "names" | "expand" | "json";

/** Options of {@linkcode formatEntry}. */
export interface FormatEntryOptions {
  /** One line (default), one line with tag names, one field a line, or JSON. */
  style?: EntryStyle;
  /** Dictionaries naming tags, message types and values, the most specific first. */
  dictionaries?: readonly Dictionary[];
  /** Tags shown as `***` (default {@linkcode SECRET_TAGS}). */
  secretTags?: ReadonlySet<number>;
}

function fieldName(dicts: readonly Dictionary[], tag: number): string | undefined {
  for (const d of dicts) {
    const n = d.fieldName(tag);
    if (n !== undefined) return n;
  }
  return undefined;
}

function valueName(dicts: readonly Dictionary[], tag: number, value: string): string | undefined {
  for (const d of dicts) {
    const f = d.field(tag);
    if (!f?.values) continue;
    const name = f.values.get(value);
    if (name !== undefined) return name;
    if (value.includes(" ") && f.type.startsWith("MULTIPLE")) {
      const names = value.split(" ").map((v) => f.values!.get(v) ?? v);
      return names.join(" ");
    }
    return undefined;
  }
  return undefined;
}

function messageName(dicts: readonly Dictionary[], msgType: string): string | undefined {
  for (const d of dicts) {
    const m = d.message(msgType);
    if (m) return m.name;
  }
  return undefined;
}

function show(value: string): string {
  return value.includes("\x01") ? value.replaceAll("\x01", "|") : value;
}

/**
 * Prints one message: `line` as the message log writes it (`time DIR 8=FIX.4.4|...|`),
 * `names` the same with tag names, `expand` a heading and one field a line with tag and
 * enumeration names and group entries indented, `json` one JSON object. Secrets are `***`.
 *
 * @param entry The message.
 * @param options The style, the dictionaries and the secret tags.
 * @returns The text (several lines for `expand`, without a final newline).
 * @example
 * ```ts
 * import { formatEntry, readLog } from "@fixwire/engine/decode";
 * import { loadDictionary } from "@fixwire/engine";
 * const raw = new TextEncoder().encode("8=FIX.4.4\x019=12\x0135=A\x01554=pw\x0110=165\x01");
 * const [entry] = [...readLog(raw)];
 * if ("message" in entry) {
 *   formatEntry(entry, { style: "names", dictionaries: [await loadDictionary("FIX.4.4")] });
 *   // "BeginString(8)=FIX.4.4|BodyLength(9)=12|MsgType(35)=A|Password(554)=***|CheckSum(10)=165|"
 * }
 * ```
 */
export function formatEntry(entry: LogEntry, options: FormatEntryOptions = {}): string {
  const style = options.style ?? "line";
  const dicts = options.dictionaries ?? [];
  const secret = options.secretTags ?? SECRET_TAGS;
  const m = entry.message;
  const value = (tag: number, v: string) => secret.has(tag) ? "***" : v;
  if (style === "json") {
    const fields = [...m].map(([tag, v]) => {
      const name = fieldName(dicts, tag);
      const shown = value(tag, v);
      const named = shown === v ? valueName(dicts, tag, v) : undefined;
      return {
        tag,
        ...(name ? { name } : {}),
        value: shown,
        ...(named ? { valueName: named } : {}),
      };
    });
    const typeName = messageName(dicts, m.msgType);
    const seq = m.seqNum;
    return JSON.stringify({
      line: entry.line,
      ...(entry.time !== undefined ? { time: entry.time } : {}),
      ...(entry.direction !== undefined ? { direction: entry.direction } : {}),
      msgType: m.msgType,
      ...(typeName ? { msgTypeName: typeName } : {}),
      ...(Number.isNaN(seq) ? {} : { seqNum: seq }),
      fields,
    });
  }
  if (style === "expand") return expand(entry, dicts, value);
  const head = [entry.time, entry.direction?.toUpperCase().padEnd(3)].filter((x) => x);
  let text = "";
  for (const [tag, v] of m) {
    const name = style === "names" ? fieldName(dicts, tag) : undefined;
    text += `${name ? `${name}(${tag})` : tag}=${show(value(tag, v))}|`;
  }
  return head.length > 0 ? `${head.join(" ")} ${text}` : text;
}

interface OpenGroup {
  layout: {
    delimiterTag: number;
    allTags: ReadonlySet<number>;
    nested: ReadonlyMap<number, unknown>;
  };
}

function expand(
  entry: LogEntry,
  dicts: readonly Dictionary[],
  value: (tag: number, v: string) => string,
): string {
  const m = entry.message;
  const typeName = messageName(dicts, m.msgType);
  const seq = m.seqNum;
  const head = [
    `line ${entry.line}`,
    entry.time,
    entry.direction?.toUpperCase(),
    typeName ? `${typeName} (${m.msgType})` : `MsgType ${m.msgType}`,
    Number.isNaN(seq) ? undefined : `MsgSeqNum ${seq}`,
  ].filter((x) => x !== undefined && x !== "");
  const lines = [`# ${head.join(" | ")}`];
  const open: OpenGroup[] = [];
  for (const [tag, v] of m) {
    while (open.length > 0 && !open[open.length - 1].layout.allTags.has(tag)) open.pop();
    const top = open[open.length - 1];
    const indent = "  ".repeat(open.length);
    const bullet = top && tag === top.layout.delimiterTag ? "- " : open.length > 0 ? "  " : "";
    const name = fieldName(dicts, tag);
    const shown = value(tag, v);
    const named = shown === v ? valueName(dicts, tag, v) : undefined;
    lines.push(
      `  ${indent}${bullet}${name ? `${name}(${tag})` : tag} = ${show(shown)}${
        named ? ` (${named})` : ""
      }`,
    );
    const layout = top
      ? top.layout.nested.get(tag)
      : dicts.map((d) => d.groupLayout(m.msgType, tag)).find((l) => l !== undefined);
    if (layout) open.push({ layout: layout as OpenGroup["layout"] });
  }
  return lines.join("\n");
}

/**
 * Prints a problem for stderr: `line 7: skipped: <reason>: <start of it>`.
 *
 * @param problem The problem.
 * @returns One line.
 * @example
 * ```ts
 * import { formatProblem } from "@fixwire/engine/decode";
 * formatProblem({ line: 7, offset: 0, reason: "not a FIX message", excerpt: "garbage" });
 * // "line 7: skipped: not a FIX message: garbage"
 * ```
 */
export function formatProblem(problem: LogProblem): string {
  return `line ${problem.line}: skipped: ${problem.reason}: ${problem.excerpt}`;
}

/** What {@linkcode decodeCommand} reads and writes: the process's, or a test's. */
export interface CommandIo {
  /**
   * Reads a file whole.
   *
   * @param path The path.
   * @returns Its bytes.
   */
  readFile(path: string): Promise<Uint8Array>;
  /**
   * Reads stdin to its end.
   *
   * @returns Its bytes.
   */
  readStdin(): Promise<Uint8Array>;
  /**
   * Writes to stdout (a newline is added).
   *
   * @param text The text.
   */
  out(text: string): void;
  /**
   * Writes to stderr (a newline is added).
   *
   * @param text The text.
   */
  err(text: string): void;
}

/** The `--help` text. */
export const USAGE = `usage: deno run --allow-read jsr:@fixwire/engine/decode [options] [file]
Prints the FIX messages of a file (stdin without one, or with "-"): a raw stream such as a
store's outgoing.log or incoming.log, or message log lines (messages.log, QuickFIX's).
  --names              tag names on each line
  --expand, -x         one field a line, with tag and value names; group entries indented
  --json               one JSON object a message
  --type D,8           only these MsgTypes
  --tag 11=abc         only messages with this field (repeat for more; group fields count)
  --from N, --to N     only MsgSeqNum N and above / N and below
  --direction in|out   only received / sent messages
  --version FIX.4.4    name tags from this version's dictionary (default: the message's)
  --dictionary FILE    name tags from a QuickFIX-format XML dictionary (a venue's own)
  --mask 9001,9002     more tags to show as *** (553, 554, 925, 1400-1404 always are)
  --help, -h           this text
Exit: 0 decoded whole; 1 nothing decoded (missing file, no FIX message, bad arguments);
2 decoded, with garbled input reported on stderr and skipped.`;

interface Parsed {
  file?: string;
  style: EntryStyle;
  filter: LogFilter;
  version?: FixVersionName;
  dictionary?: string;
  secretTags: Set<number>;
  help: boolean;
}

const VERSIONS: ReadonlySet<string> = new Set(FIX_VERSION_NAMES);

function positiveInt(option: string, text: string): number {
  if (!/^[0-9]{1,15}$/.test(text)) {
    throw new TypeError(`Cannot read ${option}: "${text}" is not a number`);
  }
  return Number(text);
}

function tagNumber(option: string, text: string): number {
  const n = positiveInt(option, text);
  if (n === 0) throw new TypeError(`Cannot read ${option}: "${text}" is not a tag`);
  return n;
}

/** Reads the command line; throws a TypeError naming the option that is wrong. */
function parseArgs(args: readonly string[]): Parsed {
  const p: Parsed = { style: "line", filter: {}, secretTags: new Set(SECRET_TAGS), help: false };
  const tags: [number, string][] = [];
  let files = 0;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i];
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takes = [
      "--type",
      "--tag",
      "--from",
      "--to",
      "--direction",
      "--version",
      "--dictionary",
      "--mask",
    ];
    let value: string | undefined;
    if (takes.includes(name)) {
      value = eq > 0 ? arg.slice(eq + 1) : args[++i];
      if (value === undefined) throw new TypeError(`Cannot read ${name}: a value is missing`);
    } else if (eq > 0) throw new TypeError(`Cannot read ${name}: it takes no value`);
    switch (name) {
      case "--help":
      case "-h":
        p.help = true;
        break;
      case "--names":
        p.style = "names";
        break;
      case "--expand":
      case "-x":
        p.style = "expand";
        break;
      case "--json":
        p.style = "json";
        break;
      case "--type":
        p.filter.types = new Set(value!.split(",").map((t) => t.trim()).filter((t) => t));
        break;
      case "--tag": {
        const at = value!.indexOf("=");
        if (at <= 0) throw new TypeError(`Cannot read --tag: "${value}" is not tag=value`);
        tags.push([tagNumber("--tag", value!.slice(0, at)), value!.slice(at + 1)]);
        break;
      }
      case "--from":
        p.filter.from = positiveInt(name, value!);
        break;
      case "--to":
        p.filter.to = positiveInt(name, value!);
        break;
      case "--direction":
        if (value !== "in" && value !== "out") {
          throw new TypeError(`Cannot read --direction: "${value}" is not in or out`);
        }
        p.filter.direction = value;
        break;
      case "--version":
        if (!VERSIONS.has(value!)) {
          throw new TypeError(
            `Cannot read --version: "${value}" is not one of ${[...VERSIONS].join(", ")}`,
          );
        }
        p.version = value as FixVersionName;
        break;
      case "--dictionary":
        p.dictionary = value;
        break;
      case "--mask":
        for (const t of value!.split(",")) p.secretTags.add(tagNumber("--mask", t.trim()));
        break;
      default:
        if (arg.startsWith("-") && arg !== "-") {
          throw new TypeError(`Cannot read arguments: unknown option ${name}`);
        }
        if (++files > 1) throw new TypeError("Cannot read arguments: give one file at most");
        p.file = arg;
    }
  }
  if (tags.length > 0) p.filter.tags = tags;
  return p;
}

/** The direction a store file's name gives its messages. */
function directionOfFile(path: string): Direction | undefined {
  const base = path.split(/[\\/]/).pop() ?? "";
  if (base.startsWith("incoming")) return "in";
  if (base.startsWith("outgoing")) return "out";
  return undefined;
}

/**
 * The command: reads the arguments, the file or stdin, prints the messages that pass the
 * filters and reports garbled input.
 *
 * @param args The command-line arguments.
 * @param io Where to read and write.
 * @returns The exit status: 0 decoded whole, 1 nothing decoded, 2 garbled input skipped.
 * @example
 * ```ts ignore
 * Deno.exit(await decodeCommand(["--expand", "messages.log"], io));
 * ```
 */
export async function decodeCommand(args: readonly string[], io: CommandIo): Promise<number> {
  let parsed: Parsed;
  try {
    parsed = parseArgs(args);
  } catch (e) {
    io.err(`${e instanceof Error ? e.message : e}\n\n${USAGE}`);
    return 1;
  }
  if (parsed.help) {
    io.out(USAGE);
    return 0;
  }
  const file = parsed.file === "-" ? undefined : parsed.file;
  let input: Uint8Array;
  try {
    input = file === undefined ? await io.readStdin() : await io.readFile(file);
  } catch (e) {
    io.err(readFailure("log", e, file ?? "stdin"));
    return 1;
  }
  let dictionary: Dictionary | undefined;
  if (parsed.dictionary !== undefined) {
    try {
      dictionary = await loadDictionaryFile(parsed.dictionary);
    } catch (e) {
      io.err(readFailure("dictionary", e, parsed.dictionary));
      return 1;
    }
  }
  const chooser = new DictionaryChooser({ version: parsed.version, dictionary });
  const direction = file === undefined ? undefined : directionOfFile(file);
  let decoded = 0;
  let problems = 0;
  for (const item of readLog(input, { direction })) {
    if (!("message" in item)) {
      problems++;
      io.err(formatProblem(item));
      continue;
    }
    decoded++;
    // Every message goes by the chooser: a Logon sets the DefaultApplVerID of those after it.
    const dictionaries = await chooser.for(item.message);
    if (!matches(item, parsed.filter)) continue;
    io.out(formatEntry(item, { style: parsed.style, dictionaries, secretTags: parsed.secretTags }));
    if (parsed.style === "expand") io.out("");
  }
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? "" : "s"}`;
  if (decoded === 0) {
    const where = file === undefined ? "stdin" : `"${file}"`;
    io.err(
      problems === 0
        ? `Cannot decode log: ${where} holds no FIX message`
        : `Cannot decode log: no FIX message in ${where}, ${
          count(problems, "garbled part")
        } skipped`,
    );
    return 1;
  }
  if (problems > 0) {
    io.err(`${count(decoded, "message")} decoded, ${count(problems, "garbled part")} skipped`);
    return 2;
  }
  return 0;
}

function readFailure(what: "log" | "dictionary", e: unknown, path: string): string {
  if (e instanceof Deno.errors.NotFound) return `Cannot decode log: "${path}" does not exist`;
  if (e instanceof Deno.errors.IsADirectory) {
    return what === "log"
      ? `Cannot decode log: "${path}" is a folder; give a log file (messages.log, ` +
        `outgoing.log, incoming.log)`
      : `Cannot decode log: "${path}" is a folder, not a dictionary`;
  }
  const reason = e instanceof Error ? e.message : String(e);
  return `Cannot decode log: cannot read ${what} "${path}": ${reason}`;
}

if (import.meta.main) {
  const encoder = new TextEncoder();
  let pending = "";
  const flush = () => {
    if (pending === "") return;
    const bytes = encoder.encode(pending);
    pending = "";
    for (let n = 0; n < bytes.length;) n += Deno.stdout.writeSync(bytes.subarray(n));
  };
  const io: CommandIo = {
    readFile: (path) => Deno.readFile(path),
    readStdin: async () => new Uint8Array(await new Response(Deno.stdin.readable).arrayBuffer()),
    out: (text) => {
      pending += text + "\n";
      if (pending.length > 1 << 16) flush();
    },
    err: (text) => {
      flush();
      Deno.stderr.writeSync(encoder.encode(text + "\n"));
    },
  };
  const status = await decodeCommand(Deno.args, io);
  flush();
  Deno.exit(status);
}
