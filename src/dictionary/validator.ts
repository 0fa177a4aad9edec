/**
 * Validation of a message against a dictionary. Returns every problem found, each with its
 * SessionRejectReason(373) code and tag, so the session can answer with a Reject.
 *
 * @module
 */

import type { ValidationSettings } from "../config/settings.ts";
import type { Dictionary, FieldDef, GroupLayout, Layout, MessageDef } from "./dictionary.ts";

/** A flat view of a message's fields in wire order (a `FixMessage` is one). */
export interface FieldView {
  /** Number of fields. */
  readonly fieldCount: number;
  /**
   * The tag at an index.
   *
   * @param index 0-based.
   */
  tagAt(index: number): number;
  /**
   * The value at an index.
   *
   * @param index 0-based.
   */
  valueAt(index: number): string;
  /**
   * Optional: the undecoded bytes of the value at an index, so checks that need no string
   * build none. Writes the value's start and end offsets into `span[0]` and `span[1]`.
   *
   * @param index 0-based.
   * @param span Receives the value's offsets.
   * @returns The bytes holding the value, or `undefined` when only `valueAt` has it.
   */
  valueBytesAt?(index: number, span: Int32Array): Uint8Array | undefined;
}

/**
 * Validation switches: the session's {@linkcode ValidationSettings} plus finer switches within
 * `verifyTagsValues`. `verifyTagsValues: false` still turns off every value check; with it on,
 * each finer switch (default `true`) turns off its own check.
 *
 * @example
 * ```ts
 * import { DEFAULT_VALIDATION_SETTINGS, FixMessage, loadDictionary, validateMessage } from "@fixwire/engine";
 * const dict = await loadDictionary("FIX.4.4");
 * const m = FixMessage.fromPairs([[8, "FIX.4.4"], [9, "5"], [35, "0"], [49, "A"], [56, "B"],
 *   [34, 1], [52, "20261124-10:00:00"], [10, "000"]]);
 * validateMessage(m, dict, { ...DEFAULT_VALIDATION_SETTINGS, verifyTagsEnumerations: false });
 * ```
 */
export type ValidatorOptions = ValidationSettings;

/** One problem found by validation. */
export interface ValidationProblem {
  /** SessionRejectReason(373). */
  reason: number;
  /** The tag at fault, RefTagID(371). */
  tag: number | undefined;
  /** A readable description, for Text(58). */
  text: string;
}

/** SessionRejectReason(373) codes used by validation. */
export const RejectReason = {
  InvalidTagNumber: 0,
  RequiredTagMissing: 1,
  TagNotDefinedForMessageType: 2,
  UndefinedTag: 3,
  TagWithoutValue: 4,
  ValueIncorrect: 5,
  IncorrectDataFormat: 6,
  CompIdProblem: 9,
  SendingTimeAccuracy: 10,
  InvalidMsgType: 11,
  TagAppearsMoreThanOnce: 13,
  TagOutOfOrder: 14,
  RepeatingGroupOutOfOrder: 15,
  IncorrectNumInGroup: 16,
  DelimiterInValue: 17,
} as const;

function digitsOnly(b: Uint8Array, s: number, e: number): boolean {
  if (e <= s) return false;
  for (let i = s; i < e; i++) {
    const c = b[i];
    if (c < 48 || c > 57) return false;
  }
  return true;
}

function isDecimal(b: Uint8Array, s: number, e: number): boolean {
  let i = b[s] === 45 ? s + 1 : s;
  let digits = 0, dot = false;
  for (; i < e; i++) {
    const c = b[i];
    if (c === 46 && !dot) dot = true;
    else if (c >= 48 && c <= 57) digits++;
    else return false;
  }
  return digits > 0;
}

/** The digit at `i` (0-9), or -1. */
function digitAt(b: Uint8Array, i: number): number {
  const d = b[i] - 48;
  return d >= 0 && d <= 9 ? d : -1;
}

function twoDigits(b: Uint8Array, i: number): number {
  const x = digitAt(b, i), y = digitAt(b, i + 1);
  return x < 0 || y < 0 ? -1 : x * 10 + y;
}

/** YYYYMMDD at `at`, within `[at, e)`. */
function isDate(b: Uint8Array, at: number, e: number): boolean {
  if (e < at + 8) return false;
  for (let i = at; i < at + 4; i++) if (digitAt(b, i) < 0) return false;
  const m = twoDigits(b, at + 4), d = twoDigits(b, at + 6);
  return m >= 1 && m <= 12 && d >= 1 && d <= 31;
}

/** HH:MM:SS[.s to .sssssssss] from `at` to `e`. */
function isTime(b: Uint8Array, at: number, e: number): boolean {
  if (e < at + 8 || b[at + 2] !== 58 || b[at + 5] !== 58) return false;
  const h = twoDigits(b, at), mi = twoDigits(b, at + 3), sec = twoDigits(b, at + 6);
  if (h < 0 || mi < 0 || sec < 0 || h > 23 || mi > 59 || sec > 60) return false;
  const rest = e - (at + 8);
  if (rest === 0) return true;
  if (b[at + 8] !== 46 || rest < 2 || rest > 10) return false;
  for (let i = at + 9; i < e; i++) if (digitAt(b, i) < 0) return false;
  return true;
}

/** Format checks by number, resolved once per field (see `fieldCheck`). */
const K_NONE = 0,
  K_INT = 1,
  K_DIGITS = 2,
  K_DECIMAL = 3,
  K_CHAR = 4,
  K_BOOLEAN = 5,
  K_TIMESTAMP = 6,
  K_TIMEONLY = 7,
  K_DATE = 8,
  K_MONTHYEAR = 9;

function kindOf(type: string): number {
  switch (type) {
    case "INT":
      return K_INT;
    case "LENGTH":
    case "NUMINGROUP":
    case "SEQNUM":
    case "TAGNUM":
    case "DAYOFMONTH":
      return K_DIGITS;
    case "FLOAT":
    case "QTY":
    case "PRICE":
    case "PRICEOFFSET":
    case "AMT":
    case "PERCENTAGE":
      return K_DECIMAL;
    case "CHAR":
      return K_CHAR;
    case "BOOLEAN":
      return K_BOOLEAN;
    case "UTCTIMESTAMP":
    case "TIME":
      return K_TIMESTAMP;
    case "UTCTIMEONLY":
      return K_TIMEONLY;
    case "UTCDATEONLY":
    case "UTCDATE":
    case "LOCALMKTDATE":
    case "DATE":
      return K_DATE;
    case "MONTHYEAR":
      return K_MONTHYEAR;
    default:
      return K_NONE;
  }
}

/** Whether the bytes `[s, e)` are a value of the format `kind` (see {@linkcode isValidFormat}). */
function isValidKindBytes(kind: number, b: Uint8Array, s: number, e: number): boolean {
  switch (kind) {
    case K_INT:
      return digitsOnly(b, b[s] === 45 ? s + 1 : s, e);
    case K_DIGITS:
      return digitsOnly(b, s, e);
    case K_DECIMAL:
      return isDecimal(b, s, e);
    case K_CHAR:
      return e - s === 1 || (e - s <= 4 && b[s] >= 0xc0 && utf8Chars(b, s, e) === 1);
    case K_BOOLEAN:
      return e - s === 1 && (b[s] === 89 || b[s] === 78);
    case K_TIMESTAMP:
      return e - s >= 17 && b[s + 8] === 45 && isDate(b, s, e) && isTime(b, s + 9, e);
    case K_TIMEONLY:
      return isTime(b, s, e);
    case K_DATE:
      return e - s === 8 && isDate(b, s, e);
    case K_MONTHYEAR:
      return (e - s === 6 && digitsOnly(b, s, e)) ||
        (e - s === 8 &&
          (isDate(b, s, e) ||
            (digitsOnly(b, s, s + 6) && b[s + 6] === 119 && b[s + 7] >= 49 && b[s + 7] <= 53)));
    default:
      return true;
  }
}

function hasSoh(b: Uint8Array, s: number, e: number): boolean {
  for (let i = s; i < e; i++) if (b[i] === 1) return true;
  return false;
}

/** Characters (code points) in UTF-8 bytes: every byte but continuation bytes. */
function utf8Chars(b: Uint8Array, s: number, e: number): number {
  let n = 0;
  for (let i = s; i < e; i++) if ((b[i] & 0xc0) !== 0x80) n++;
  return n;
}

/** A reused buffer for checking a string value with the byte checks. */
let scratch = new Uint8Array(256);
const ENCODER = new TextEncoder();

/** Copies `value` into the scratch buffer as UTF-8; returns its length in bytes. */
function toScratch(value: string): number {
  const n = value.length;
  if (n * 3 > scratch.length) scratch = new Uint8Array(n * 3);
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c >= 128) return ENCODER.encodeInto(value, scratch).written;
    scratch[i] = c;
  }
  return n;
}

/**
 * Checks a value's format against a FIX type.
 *
 * @param type The FIX type, e.g. `INT`, `PRICE`, `UTCTIMESTAMP`.
 * @param value The value.
 * @returns True when the value has the right format.
 * @example
 * ```ts
 * import { isValidFormat } from "@fixwire/engine";
 * isValidFormat("UTCTIMESTAMP", "20261124-10:00:00.000"); // true
 * isValidFormat("INT", "1.5"); // false
 * ```
 */
export function isValidFormat(type: string, value: string): boolean {
  return isValidKindBytes(kindOf(type), scratch, 0, toScratch(value));
}

const FIRST_NAMES = ["BeginString", "BodyLength", "MsgType"];
const FIELD_NAMES: Record<number, string> = { 8: "BeginString", 9: "BodyLength", 10: "CheckSum" };

const MULTI = new Set(["MULTIPLEVALUESTRING", "MULTIPLECHARVALUE", "MULTIPLESTRINGVALUE"]);

/** What checking a field's value needs, resolved once per field. */
interface FieldCheck {
  readonly def: FieldDef;
  /** The format check (K_*). */
  readonly kind: number;
  /** DATA and XMLDATA values may hold SOH. */
  readonly data: boolean;
  /** Space-separated values, each from the enumeration. */
  readonly multi: boolean;
  /** For an enumeration of one-character ASCII values only: a byte -> allowed map. */
  readonly bits: Uint8Array | undefined;
}

const FIELD_CHECKS = new WeakMap<FieldDef, FieldCheck>();

function fieldCheck(def: FieldDef): FieldCheck {
  let c = FIELD_CHECKS.get(def);
  if (c === undefined) {
    const multi = MULTI.has(def.type);
    let bits: Uint8Array | undefined;
    if (def.values && !multi) {
      bits = new Uint8Array(256);
      for (const v of def.values.keys()) {
        if (v.length !== 1 || v.charCodeAt(0) >= 128) {
          bits = undefined;
          break;
        }
        bits[v.charCodeAt(0)] = 1;
      }
    }
    c = {
      def,
      kind: kindOf(def.type),
      data: def.type === "DATA" || def.type === "XMLDATA",
      multi,
      bits,
    };
    FIELD_CHECKS.set(def, c);
  }
  return c;
}

/** Receives a value's offsets from `FieldView.valueBytesAt`. */
const SPAN = new Int32Array(2);
const PART_BITS = [1, 2, 4] as const;

/**
 * A set of tags with a few bits each, emptied in constant time by a generation stamp, so a
 * message is checked for repeated tags without allocating. Tags of 65536 and above, rare,
 * fall back to a map.
 */
class TagStamps {
  #gen = new Uint32Array(65536);
  #bits = new Uint8Array(65536);
  #g = 0;
  #big = new Map<number, number>();

  clear(): void {
    if (++this.#g === 0xffffffff) {
      this.#gen.fill(0);
      this.#g = 1;
    }
    if (this.#big.size > 0) this.#big.clear();
  }

  /** Marks `bit` for `tag`; returns whether it was marked already. */
  add(tag: number, bit: number): boolean {
    if (tag < 65536) {
      if (this.#gen[tag] !== this.#g) {
        this.#gen[tag] = this.#g;
        this.#bits[tag] = bit;
        return false;
      }
      const had = (this.#bits[tag] & bit) !== 0;
      this.#bits[tag] |= bit;
      return had;
    }
    const had = this.#big.get(tag) ?? 0;
    this.#big.set(tag, had | bit);
    return (had & bit) !== 0;
  }

  /** Whether `bit` is marked for `tag`. */
  has(tag: number, bit: number): boolean {
    if (tag < 65536) return this.#gen[tag] === this.#g && (this.#bits[tag] & bit) !== 0;
    return ((this.#big.get(tag) ?? 0) & bit) !== 0;
  }
}

/** One stamp set per nesting level: the message, then each level of groups. */
const STAMPS: TagStamps[] = [];

function tagStamps(depth: number): TagStamps {
  return STAMPS[depth] ??= new TagStamps();
}

class Walker {
  readonly problems: ValidationProblem[] = [];
  i = 0;
  readonly checkFormat: boolean;
  readonly checkEnums: boolean;
  readonly checkDelimiter: boolean;
  /** FIX.4.0 and 4.1 type free text as "char": only FIX.4.2 on means one character. */
  readonly charIsText: boolean;
  constructor(
    readonly msg: FieldView,
    readonly transport: Dictionary,
    readonly app: Dictionary,
    readonly o: ValidatorOptions,
  ) {
    this.checkFormat = o.verifyTagsValues && o.verifyTagsFormat !== false;
    this.checkEnums = o.verifyTagsValues && o.verifyTagsEnumerations !== false;
    this.checkDelimiter = o.verifyTagsValues && o.prohibitDelimiterInValues !== false;
    this.charIsText = app.beginString === "FIX.4.0" || app.beginString === "FIX.4.1";
  }

  add(reason: number, tag: number | undefined, text: string): void {
    this.problems.push({ reason, tag, text });
  }

  def(tag: number, inBody: boolean): FieldDef | undefined {
    return (inBody ? this.app : this.transport).field(tag) ?? this.app.field(tag) ??
      this.transport.field(tag);
  }

  /**
   * Checks the value of field `index`. Works on the undecoded bytes when the view has them;
   * the value becomes a string only for an enumeration check or a problem's text.
   */
  checkValue(tag: number, index: number, check: FieldCheck | undefined): void {
    const msg = this.msg;
    let b = msg.valueBytesAt?.(index, SPAN);
    let s = 0, e: number;
    if (b !== undefined) {
      s = SPAN[0];
      e = SPAN[1];
    } else {
      e = toScratch(msg.valueAt(index));
      b = scratch;
    }
    if (e === s) {
      if (this.o.prohibitTagsWithoutValue) {
        this.add(4, tag, `Tag specified without a value (${tag})`);
      }
      return;
    }
    if (check === undefined) return;
    const def = check.def;
    if (!check.data && hasSoh(b, s, e)) {
      if (this.checkDelimiter) {
        this.add(17, tag, `Non-data value includes field delimiter (${tag})`);
      }
      return;
    }
    const kind = check.kind === K_CHAR && this.charIsText ? K_NONE : check.kind;
    if (this.checkFormat && kind !== K_NONE && !isValidKindBytes(kind, b, s, e)) {
      const value = msg.valueAt(index);
      this.add(6, tag, `Incorrect data format for value (${def.name}(${tag})=${value})`);
      return;
    }
    if (def.values && this.checkEnums) {
      // One-character enumerations (Side, OrdType, ExecType...) are checked on the byte.
      const bits = check.bits;
      if (bits !== undefined && e - s === 1 && bits[b[s]] === 1) return;
      const value = msg.valueAt(index);
      const values = def.values;
      const known = check.multi
        ? value.split(" ").every((part) => values.has(part))
        : values.has(value);
      if (!known) {
        this.add(
          5,
          tag,
          `Value is incorrect (out of range) for this tag (${def.name}(${tag})=${value})`,
        );
      }
    }
  }

  /** Walks one group starting at the field after its count field. */
  group(g: GroupLayout, count: number, inBody: boolean, depth: number): void {
    const msg = this.msg;
    let entries = 0;
    while (this.i < msg.fieldCount) {
      const tag = msg.tagAt(this.i);
      if (tag !== g.delimiterTag) {
        if (entries === 0 && count > 0 && g.allTags.has(tag)) {
          this.add(
            15,
            tag,
            `Repeating group fields out of order (group ${g.countTag} must start with ${g.delimiterTag})`,
          );
          // Skip the misordered fields of this group.
          while (this.i < msg.fieldCount && g.allTags.has(msg.tagAt(this.i))) this.i++;
        }
        break;
      }
      entries++;
      const seen = tagStamps(depth);
      seen.clear();
      do {
        const t = msg.tagAt(this.i);
        if (seen.add(t, 1) && this.o.prohibitDuplicatedTags) {
          this.add(13, t, `Tag appears more than once (${t})`);
        }
        const d = this.def(t, inBody);
        this.checkValue(t, this.i, d === undefined ? undefined : fieldCheck(d));
        const nested = g.nested.get(t);
        this.i++;
        if (nested) this.group(nested, Number(msg.valueAt(this.i - 1)), inBody, depth + 1);
      } while (
        this.i < msg.fieldCount && msg.tagAt(this.i) !== g.delimiterTag &&
        g.memberTags.includes(msg.tagAt(this.i))
      );
      if (this.o.checkRequiredTags) {
        for (const r of g.requiredTags) {
          if (!seen.has(r, 1)) {
            this.add(1, r, `Required tag missing (${r} in group ${g.countTag})`);
          }
        }
      }
    }
    if (this.o.verifyRepeatingGroupBounds && entries !== count) {
      this.add(
        16,
        g.countTag,
        `Incorrect NumInGroup count for repeating group (${g.countTag}: ${count} declared, ${entries} found)`,
      );
    }
  }
}

/** Where a tag belongs in one message type, resolved once per dictionary pair and type. */
interface TagInfo {
  /** 0 header, 1 body, 2 trailer. */
  readonly part: 0 | 1 | 2;
  /** Whether the message type defines the tag at its top level. */
  readonly inMessage: boolean;
  /** The field, from the dictionary that owns that part. */
  readonly def: FieldDef | undefined;
  /** How its value is checked. */
  readonly check: FieldCheck | undefined;
  /** The group the tag counts, at that level. */
  readonly group: GroupLayout | undefined;
}

/** Tags below this are found by index; the rare larger ones in a map. */
const DIRECT_TAGS = 8192;

/** The tags of one message type, resolved: by index for common tags, a map for the rest. */
class TagTable {
  readonly direct: (TagInfo | undefined)[] = [];
  readonly other = new Map<number, TagInfo>();
  size = 0;

  get(tag: number): TagInfo | undefined {
    return tag < DIRECT_TAGS ? this.direct[tag] : this.other.get(tag);
  }

  set(tag: number, info: TagInfo): void {
    if (tag < DIRECT_TAGS) {
      const d = this.direct;
      while (d.length <= tag) d.push(undefined);
      d[tag] = info;
    } else this.other.set(tag, info);
    this.size++;
  }
}

/** Tags resolved per transport dictionary, application dictionary and MsgType. */
const TAG_TABLES = new WeakMap<
  Dictionary,
  WeakMap<Dictionary, Map<string, TagTable>>
>();
/** Tags remembered per table: a peer sending endless undefined tags cannot grow it further. */
const TAG_TABLE_LIMIT = 2048;

/** The last table looked up: consecutive messages are mostly of one type. */
let lastTable: { dict: Dictionary; app: Dictionary; msgType: string; table: TagTable } | undefined;

function tagTable(dict: Dictionary, app: Dictionary, msgType: string): TagTable {
  const l = lastTable;
  if (l !== undefined && l.dict === dict && l.app === app && l.msgType === msgType) {
    return l.table;
  }
  let byApp = TAG_TABLES.get(dict);
  if (byApp === undefined) TAG_TABLES.set(dict, byApp = new WeakMap());
  let byType = byApp.get(app);
  if (byType === undefined) byApp.set(app, byType = new Map());
  let table = byType.get(msgType);
  if (table === undefined) byType.set(msgType, table = new TagTable());
  lastTable = { dict, app, msgType, table };
  return table;
}

function tagInfo(
  table: TagTable,
  tag: number,
  dict: Dictionary,
  app: Dictionary,
  def: MessageDef,
): TagInfo {
  let info = table.get(tag);
  if (info !== undefined) return info;
  const inMessage = def.tags.has(tag);
  const part = dict.isHeaderTag(tag) && !inMessage
    ? 0
    : tag === 10 || dict.isTrailerTag(tag)
    ? 2
    : 1;
  const layout: Layout = part === 0 ? dict.header : part === 2 ? dict.trailer : def;
  const inBody = part === 1;
  const fdef = (inBody ? app : dict).field(tag) ?? app.field(tag) ?? dict.field(tag);
  info = {
    part,
    inMessage,
    def: fdef,
    check: fdef === undefined ? undefined : fieldCheck(fdef),
    group: layout.groups.get(tag),
  };
  if (table.size < TAG_TABLE_LIMIT) table.set(tag, info);
  return info;
}

/**
 * Validates a message. For FIXT.1.1 pass the transport dictionary as `dict` and the
 * application dictionary (from ApplVerID or DefaultApplVerID) as `appDict`.
 *
 * @param msg The message (a `FixMessage` or any `FieldView`).
 * @param dict The dictionary (transport dictionary for FIXT.1.1).
 * @param options Which checks run (a session's `ValidationSettings` or finer switches).
 * @param appDict The application dictionary for FIXT.1.1 application messages.
 * @returns Every problem found; empty when valid.
 * @example
 * ```ts
 * import { DEFAULT_VALIDATION_SETTINGS, FixMessage, loadDictionary, validateMessage } from "@fixwire/engine";
 * const dict = await loadDictionary("FIX.4.4");
 * const m = FixMessage.fromPairs([[8, "FIX.4.4"], [9, "5"], [35, "D"], [49, "A"], [56, "B"],
 *   [34, 1], [52, "20261124-10:00:00"], [11, "x"], [10, "000"]]);
 * validateMessage(m, dict, DEFAULT_VALIDATION_SETTINGS).map((p) => p.reason); // [1, 1, 1]
 * ```
 */
export function validateMessage(
  msg: FieldView,
  dict: Dictionary,
  options: ValidatorOptions,
  appDict?: Dictionary,
): ValidationProblem[] {
  if (!options.enabled) return [];
  let msgType: string | undefined;
  for (let k = 0; k < msg.fieldCount && k < 4; k++) {
    if (msg.tagAt(k) === 35) msgType = msg.valueAt(k);
  }
  if (msgType === undefined) {
    for (let k = 0; k < msg.fieldCount; k++) if (msg.tagAt(k) === 35) msgType = msg.valueAt(k);
  }
  const transportMsg = msgType === undefined ? undefined : dict.message(msgType);
  const app = transportMsg || !appDict ? dict : appDict;
  const def = msgType === undefined ? undefined : app.message(msgType);
  const w = new Walker(msg, dict, app, options);
  if (msgType === undefined) {
    w.add(1, 35, "Required tag missing (MsgType(35))");
    return w.problems;
  }
  if (!def) {
    if (options.verifyMsgType !== false) w.add(11, 35, `Invalid MsgType (${msgType})`);
    return w.problems;
  }
  const table = tagTable(dict, app, msgType);
  // Bits per tag: 1 seen in the header, 2 in the body, 4 in the trailer.
  const seen = tagStamps(0);
  seen.clear();
  let phase = 0; // 0 header, 1 body, 2 trailer
  let leading = true; // every field so far is 8, 9 or 35, in that order
  let lastRank = -1;
  const last = msg.fieldCount - 1;
  while (w.i < msg.fieldCount) {
    const tag = msg.tagAt(w.i);
    const rank = tag === 8 ? 0 : tag === 9 ? 1 : tag === 35 ? 2 : -1;
    if (rank >= 0) {
      if ((!leading || rank <= lastRank) && options.verifyFieldsOrder) {
        w.add(
          14,
          tag,
          `Tag specified out of required order (${FIRST_NAMES[rank]}(${tag}) must be field ${
            rank + 1
          })`,
        );
      }
      lastRank = rank;
    } else {
      leading = false;
      if (tag === 10 && w.i !== last && options.verifyFieldsOrder) {
        w.add(14, 10, "Tag specified out of required order (CheckSum(10) must be the last field)");
      }
    }
    const info = tagInfo(table, tag, dict, app, def);
    if (info.part === 0) {
      if (phase > 0 && options.verifyFieldsOrder) {
        w.add(14, tag, `Tag specified out of required order (header tag ${tag} after the body)`);
      }
    } else if (info.part === 2) {
      phase = 2;
    } else {
      if (phase === 2 && options.verifyFieldsOrder) {
        w.add(14, tag, `Tag specified out of required order (body tag ${tag} after the trailer)`);
      }
      phase = Math.max(phase, 1);
    }
    if (seen.add(tag, PART_BITS[info.part]) && options.prohibitDuplicatedTags) {
      w.add(13, tag, `Tag appears more than once (${tag})`);
    }
    const fdef = info.def;
    if (!fdef) {
      if (options.prohibitUndefinedTags) {
        w.add(
          tag >= 5000 ? 3 : 0,
          tag,
          tag >= 5000 ? `Undefined tag (${tag})` : `Invalid tag number (${tag})`,
        );
      }
    } else if (info.part === 1 && !info.inMessage && options.prohibitUnknownTags) {
      w.add(2, tag, `Tag not defined for this message type (${fdef.name}(${tag}) in ${msgType})`);
    }
    w.checkValue(tag, w.i, info.check);
    w.i++;
    if (info.group) w.group(info.group, Number(msg.valueAt(w.i - 1)), info.part === 1, 1);
  }
  if (options.checkRequiredTags) {
    const missing = (r: number, d: Dictionary) =>
      w.add(1, r, `Required tag missing (${d.fieldName(r) ?? FIELD_NAMES[r] ?? r}(${r}))`);
    if (!seen.has(8, 1)) missing(8, dict);
    if (!seen.has(9, 1)) missing(9, dict);
    for (const r of dict.header.requiredTags) {
      if (!seen.has(r, 1) && r !== 8 && r !== 9 && r !== 35) missing(r, dict);
    }
    for (const r of def.requiredTags) if (!seen.has(r, 2)) missing(r, app);
    for (const r of dict.trailer.requiredTags) {
      if (!seen.has(r, 4) && r !== 10) missing(r, dict);
    }
    if (!seen.has(10, 4)) missing(10, dict);
  }
  return w.problems;
}
