// The fuzz seed corpus, generated from the dictionaries rather than stored as files: for every
// session version (FIX.4.0 to FIX.4.4, and FIXT.1.1 carrying FIX.5.0 SP2), valid Logon,
// Heartbeat, TestRequest, ResendRequest, Reject, SequenceReset (reset and gap fill), Logout,
// NewOrderSingle and ExecutionReport, one message with a repeating group and one with a data
// field (RawData 95/96, whose value holds SOH, "10=" and "8=FIX"). Each template is the body
// after MsgType(35); `render` adds the header for a given session and number, `encode` adds
// BodyLength(9) and CheckSum(10).

import type { Dictionary, GroupLayout, Layout } from "../../src/dictionary/dictionary.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";

/** One field: a tag and its value as text or as raw bytes (data fields). */
export type Field = readonly [tag: number, value: string | Uint8Array];

/** A session version: its BeginString and the dictionaries that check it. */
export interface SessionVersion {
  /** BeginString(8). */
  begin: string;
  /** The session-level dictionary (FIXT.1.1 for FIXT sessions). */
  transport: Dictionary;
  /** The application dictionary (FIX.5.0 SP2 for FIXT sessions, else `transport`). */
  app: Dictionary;
  /** Every template of this version. */
  templates: Template[];
}

/** A message template: what follows MsgType(35), the header left to `render`. */
export interface Template {
  /** A readable name, e.g. `Logon`, `News+group`. */
  name: string;
  /** MsgType(35). */
  msgType: string;
  /** Body fields, in dictionary order. */
  body: Field[];
}

/** Where a rendered message comes from and goes to. */
export interface RenderOptions {
  /** SenderCompID(49). */
  sender: string;
  /** TargetCompID(56). */
  target: string;
  /** MsgSeqNum(34). */
  seq: number;
  /** SendingTime(52), epoch ms. */
  sendingTimeMs: number;
  /** PossDupFlag(43)=Y with OrigSendingTime(122) one second earlier. */
  possDup?: boolean;
  /** FIXT.1.1 application messages: ApplVerID(1128) in the header. */
  applVerId?: string;
}

/** The session versions of the corpus. */
export const SESSION_VERSIONS = [
  "FIX.4.0",
  "FIX.4.1",
  "FIX.4.2",
  "FIX.4.3",
  "FIX.4.4",
  "FIXT.1.1",
] as const;

const TEXT = new TextEncoder();

/** A data value that a naive framer would take for a boundary: SOH, `10=`, `8=FIX`, 0x00, 0xff. */
export const TRICKY_DATA: Uint8Array = Uint8Array.from([
  ...TEXT.encode("bin\x01ary\x0110=000\x018=FIX.4.4\x019=5\x01"),
  0,
  0xff,
  0x80,
  1,
]);

/** Values that make the generated messages realistic and pass the session's own checks. */
const VALUES: Record<number, string> = {
  1: "ACCT-7",
  6: "0",
  7: "1",
  11: "ORD-1",
  14: "0",
  16: "0",
  17: "1001",
  20: "0",
  31: "0",
  32: "0",
  36: "100",
  37: "OID-1",
  38: "1000",
  44: "1.08215",
  45: "1",
  55: "EUR/USD",
  58: "Grüße €", // non-ASCII, UTF-8 on the wire
  98: "0",
  108: "30",
  112: "TEST-1",
  148: "Headline",
  151: "1000",
  371: "55",
  372: "D",
  373: "5",
  380: "3",
  1137: "9",
};

/** Optional tags each template includes besides the required ones. */
const WANTED: Record<string, readonly number[]> = {
  "A": [],
  "0": [112],
  "2": [],
  "3": [371, 372, 373, 58],
  "4": [],
  "5": [58],
  "D": [1, 38, 44, 59, 58],
  "8": [11, 44, 58],
  "B": [],
};

function valueFor(dict: Dictionary, tag: number, entry: number): string {
  const fixed = VALUES[tag];
  if (fixed !== undefined) return tag === 11 || tag === 37 ? `${fixed}-${entry}` : fixed;
  const def = dict.field(tag);
  if (def?.values && def.values.size > 0) return def.values.keys().next().value!;
  switch (def?.type) {
    case "INT":
    case "LENGTH":
    case "NUMINGROUP":
    case "SEQNUM":
    case "TAGNUM":
    case "DAYOFMONTH":
      return "1";
    case "FLOAT":
    case "QTY":
    case "PRICE":
    case "PRICEOFFSET":
    case "AMT":
    case "PERCENTAGE":
      return "1.5";
    case "CHAR":
      return "A";
    case "BOOLEAN":
      return "Y";
    case "UTCTIMESTAMP":
    case "TIME":
      return "20261124-10:00:00";
    case "UTCTIMEONLY":
      return "10:00:00";
    case "UTCDATE":
    case "UTCDATEONLY":
    case "LOCALMKTDATE":
    case "DATE":
      return "20261124";
    case "MONTHYEAR":
      return "202611";
    default:
      return `V${tag}-${entry}`;
  }
}

/** Fields of a layout: required members, the wanted ones, and groups of two entries. */
function fill(
  dict: Dictionary,
  layout: Layout | GroupLayout,
  want: ReadonlySet<number>,
  entry: number,
  out: Field[],
): void {
  const groups = "groups" in layout ? layout.groups : layout.nested;
  const dataOf = dict.dataFields();
  const lengthOf = new Map([...dataOf].map(([len, data]) => [data, len]));
  const delimiter = "delimiterTag" in layout ? layout.delimiterTag : -1;
  for (const tag of layout.memberTags) {
    const required = layout.requiredTags.includes(tag) || tag === delimiter;
    if (!required && !want.has(tag)) continue;
    const group = groups.get(tag);
    if (group) {
      out.push([tag, "2"]);
      for (let e = 1; e <= 2; e++) fill(dict, group, want, e, out);
      continue;
    }
    if (dataOf.has(tag)) continue; // written with its DATA field
    const len = lengthOf.get(tag);
    if (len !== undefined) {
      out.push([len, String(TRICKY_DATA.length)], [tag, TRICKY_DATA]);
      continue;
    }
    out.push([tag, valueFor(dict, tag, entry)]);
  }
}

function template(
  dict: Dictionary,
  msgType: string,
  name: string,
  extra: readonly number[] = [],
): Template | undefined {
  const def = dict.message(msgType);
  if (!def) return undefined;
  const want = new Set([...(WANTED[msgType] ?? []), ...extra]);
  const body: Field[] = [];
  fill(dict, def, want, 1, body);
  return { name, msgType, body };
}

/** The first group of a message that has one, for the "repeating group" template. */
function groupTemplate(dict: Dictionary): Template | undefined {
  for (const msgType of ["B", "W", "8", "D"]) {
    const def = dict.message(msgType);
    if (!def || def.groups.size === 0) continue;
    const countTag = def.groups.keys().next().value!;
    return template(dict, msgType, `${def.name}+group${countTag}`, [countTag]);
  }
  return undefined;
}

/** The templates of one session version. */
function templatesOf(transport: Dictionary, app: Dictionary): Template[] {
  const out: (Template | undefined)[] = [
    template(transport, "A", "Logon"),
    template(transport, "A", "Logon+RawData", [95, 96]),
    template(transport, "0", "Heartbeat"),
    template(transport, "1", "TestRequest"),
    template(transport, "2", "ResendRequest"),
    template(transport, "3", "Reject"),
    template(transport, "4", "SequenceReset"),
    template(transport, "4", "SequenceReset+GapFill", [123]),
    template(transport, "5", "Logout"),
    template(app, "D", "NewOrderSingle"),
    template(app, "8", "ExecutionReport"),
    groupTemplate(app),
    template(app, "B", "News+RawData", [95, 96]),
  ];
  for (const t of out) {
    if (t === undefined) throw new Error("Cannot build corpus: a template is missing");
    if (t.msgType === "4" && t.name.endsWith("GapFill")) {
      const i = t.body.findIndex(([tag]) => tag === 123);
      if (i >= 0) t.body[i] = [123, "Y"];
    }
  }
  return out as Template[];
}

/**
 * Loads the dictionaries and builds the corpus: every session version with its templates.
 *
 * @returns The versions, in `SESSION_VERSIONS` order.
 */
export async function buildCorpus(): Promise<SessionVersion[]> {
  const out: SessionVersion[] = [];
  for (const begin of SESSION_VERSIONS) {
    const transport = await loadDictionary(begin);
    const app = begin === "FIXT.1.1" ? await loadDictionary("FIX.5.0SP2") : transport;
    out.push({ begin, transport, app, templates: templatesOf(transport, app) });
  }
  return out;
}

/** Whether a MsgType is a session-level message (carries no ApplVerID). */
export function isAdmin(msgType: string): boolean {
  return msgType.length === 1 && "012345A".includes(msgType);
}

/**
 * A template as the fields of a whole message, without BodyLength(9) and CheckSum(10).
 *
 * @param begin BeginString(8).
 * @param t The template.
 * @param o Header values.
 * @returns The fields.
 */
export function render(begin: string, t: Template, o: RenderOptions): Field[] {
  const fields: Field[] = [[8, begin], [35, t.msgType]];
  if (o.applVerId !== undefined && !isAdmin(t.msgType)) fields.push([1128, o.applVerId]);
  fields.push([49, o.sender], [56, o.target], [34, String(o.seq)]);
  const precision = begin === "FIX.4.0" || begin === "FIX.4.1" ? "s" : "ms";
  if (o.possDup) fields.push([43, "Y"]);
  fields.push([52, formatUtcTimestamp(o.sendingTimeMs, precision)]);
  if (o.possDup) fields.push([122, formatUtcTimestamp(o.sendingTimeMs - 1000, precision)]);
  for (const f of t.body) fields.push(f);
  return fields;
}

/**
 * Encodes fields as a message: BodyLength(9) after the first field, CheckSum(10) at the end.
 *
 * @param fields The fields, BeginString first.
 * @returns The bytes.
 */
export function encode(fields: readonly Field[]): Uint8Array {
  const parts: Uint8Array[] = [];
  let bodyLength = 0;
  for (let i = 1; i < fields.length; i++) {
    const p = fieldBytes(fields[i]);
    parts.push(p);
    bodyLength += p.length;
  }
  return frame(fieldBytes(fields[0]), concat(parts), bodyLength);
}

function fieldBytes([tag, value]: Field): Uint8Array {
  const v = typeof value === "string" ? TEXT.encode(value) : value;
  const prefix = TEXT.encode(`${tag}=`);
  const out = new Uint8Array(prefix.length + v.length + 1);
  out.set(prefix);
  out.set(v, prefix.length);
  out[out.length - 1] = 1;
  return out;
}

/** Joins byte arrays. */
export function concat(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/** `first` (the BeginString field), `9=<bodyLength>`, `body`, then the CheckSum over all. */
export function frame(first: Uint8Array, body: Uint8Array, bodyLength: number): Uint8Array {
  const nine = TEXT.encode(`9=${bodyLength}\x01`);
  const out = new Uint8Array(first.length + nine.length + body.length + 7);
  out.set(first);
  out.set(nine, first.length);
  out.set(body, first.length + nine.length);
  const end = out.length - 7;
  let sum = 0;
  for (let i = 0; i < end; i++) sum += out[i];
  sum &= 255;
  out.set(TEXT.encode(`10=${String(sum).padStart(3, "0")}\x01`), end);
  return out;
}
