// Mutators: each takes a message's bytes and returns a damaged copy. Byte-level (bit flips,
// inserts, deletes, duplicates, SOH removal and insertion, truncation), framing-level
// (BodyLength, CheckSum), field-level (repeated, deleted, moved tags; tag 0, negative and huge
// tags; empty, huge, non-ASCII values; numbers at 2^53; NumInGroup mismatches; data lengths
// pointing past the end) and message-level (splicing two messages, changing MsgType or
// BeginString, pure garbage). `refresh` recomputes BodyLength(9) and CheckSum(10) so that half
// the mutants pass framing and reach the decoder, the validator and the session.

import { DEFAULT_DATA_FIELDS } from "../../src/message/data_fields.ts";
import { concat, encode, frame, render, type SessionVersion } from "./_corpus.ts";
import type { Rng } from "./_prng.ts";

const SOH = 1;
/** Most bytes a repetition adds (a repeated huge field stays below this). */
const MAX_GROWTH = 256 * 1024;
/** Largest mutant: a little above the framer's default MaxMessageSize. */
const MAX_MUTANT = (1 << 20) + 64 * 1024;
const TEXT = new TextEncoder();

/** A field's position: `[start, '=' index, SOH index (or the end)]`. */
type Span = [start: number, eq: number, end: number];

/** Splits at SOH, ignoring data fields (mutants are not well formed anyway). */
export function spans(b: Uint8Array): Span[] {
  const out: Span[] = [];
  let start = 0;
  let eq = -1;
  for (let i = 0; i < b.length; i++) {
    if (b[i] === 61 && eq < 0) eq = i;
    else if (b[i] === SOH) {
      out.push([start, eq < 0 ? i : eq, i]);
      start = i + 1;
      eq = -1;
    }
  }
  if (start < b.length) out.push([start, eq < 0 ? b.length : eq, b.length]);
  return out;
}

function tagOf(b: Uint8Array, s: Span): number {
  let t = 0;
  for (let i = s[0]; i < s[1]; i++) {
    const d = b[i] - 48;
    if (d < 0 || d > 9) return -1;
    t = t * 10 + d;
  }
  return s[1] > s[0] ? t : -1;
}

function replace(b: Uint8Array, from: number, to: number, insert: Uint8Array): Uint8Array {
  const out = new Uint8Array(b.length - (to - from) + insert.length);
  out.set(b.subarray(0, from));
  out.set(insert, from);
  out.set(b.subarray(to), from + insert.length);
  return out;
}

function randomBytes(rng: Rng, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = rng.u32() & 255;
  return out;
}

/** Bytes likely to matter to a FIX parser, and some that are just odd. */
const INTERESTING = [
  0,
  1,
  1,
  1,
  48,
  49,
  57,
  61,
  61,
  56,
  70,
  73,
  88,
  45,
  43,
  46,
  32,
  127,
  128,
  0xc3,
  0xff,
];

function interestingByte(rng: Rng): number {
  return rng.chance(0.5) ? rng.pick(INTERESTING) : rng.u32() & 255;
}

/** A value body (the part after `=`) of a field with one of the tags. */
function fieldWith(b: Uint8Array, tags: ReadonlySet<number>, rng: Rng): Span | undefined {
  const found = spans(b).filter((s) => tags.has(tagOf(b, s)));
  return found.length > 0 ? rng.pick(found) : undefined;
}

/** A field other than 8, 9 and 10 when there is one. */
function someField(b: Uint8Array, rng: Rng): Span | undefined {
  const all = spans(b);
  if (all.length === 0) return undefined;
  const inner = all.filter((s) => {
    const t = tagOf(b, s);
    return t !== 8 && t !== 9 && t !== 10;
  });
  return rng.pick(inner.length > 0 ? inner : all);
}

function setValue(b: Uint8Array, s: Span, value: Uint8Array): Uint8Array {
  if (s[1] >= s[2]) return replace(b, s[2], s[2], concat([TEXT.encode("="), value]));
  return replace(b, s[1] + 1, s[2], value);
}

const NUMBERS = [
  "9007199254740992",
  "9007199254740993",
  "9007199254740991",
  "-9007199254740993",
  "99999999999999999999999999",
  "9999999999999999",
  "4294967296",
  "4294967295",
  "2147483648",
  "2147483647",
  "1e308",
  "1e-308",
  "Infinity",
  "-Infinity",
  "NaN",
  "-0",
  "+5",
  "0x10",
  "1.5",
  " 7",
  "7 ",
  "",
  "0",
  "00",
  "-1",
  "0000000000000000000000001",
  "1,000",
  "١٢٣", // Arabic-Indic digits
];

const BAD_TAGS = [
  "0",
  "00",
  "-5",
  "-0",
  "-34",
  "x",
  "",
  " 34",
  "34 ",
  "+34",
  "034",
  "99999999999",
  "4294967296",
  "2147483648",
  "65536",
  "9007199254740993",
  "123456789012345678901234",
  "1" + "0".repeat(400), // beyond Number.MAX_VALUE: Infinity
  "1e3",
  "３４", // full-width digits
];

/** Tags whose values are counted or numbered: BodyLength, MsgSeqNum, NewSeqNo, ranges, HeartBtInt... */
const NUMERIC_TAGS = new Set([
  9,
  34,
  36,
  7,
  16,
  45,
  108,
  789,
  10,
  95,
  212,
  90,
  93,
  354,
  33,
  146,
  215,
  136,
  268,
  453,
  1475,
  38,
  44,
  14,
  151,
  6,
  31,
  32,
]);

/** NumInGroup tags that occur in the corpus. */
const COUNT_TAGS = new Set([33, 146, 215, 136, 268, 453, 1475, 454, 386, 382, 78]);

const DATA_PAIRS = [...DEFAULT_DATA_FIELDS];
const LENGTH_TAGS = new Set(DEFAULT_DATA_FIELDS.keys());

const MSG_TYPES = [
  "0",
  "1",
  "2",
  "3",
  "4",
  "5",
  "A",
  "D",
  "8",
  "B",
  "j",
  "W",
  "ZZ",
  "U1",
  "",
  "AAA",
  "\u00e9",
  "a",
];
const BEGINS = [
  "FIX.4.0",
  "FIX.4.1",
  "FIX.4.2",
  "FIX.4.3",
  "FIX.4.4",
  "FIXT.1.1",
  "FIX.5.0",
  "FIX.4.9",
  "FIX",
  "FIX.4.4.4.4.4.4.4.4",
  "",
];

/** One mutation: its name (for the report) and how it damages bytes. */
export interface Mutator {
  name: string;
  apply(b: Uint8Array, rng: Rng, other: () => Uint8Array): Uint8Array;
}

export const MUTATORS: readonly Mutator[] = [
  {
    name: "bitFlip",
    apply(b, rng) {
      const out = b.slice();
      if (out.length === 0) return out;
      for (let n = rng.small(8); n > 0; n--) out[rng.int(out.length)] ^= 1 << rng.int(8);
      return out;
    },
  },
  {
    name: "byteInsert",
    apply(b, rng) {
      const n = rng.small(6);
      const ins = new Uint8Array(n);
      for (let i = 0; i < n; i++) ins[i] = interestingByte(rng);
      const at = rng.int(b.length + 1);
      return replace(b, at, at, ins);
    },
  },
  {
    name: "byteDelete",
    apply(b, rng) {
      const at = rng.int(b.length);
      return replace(b, at, Math.min(b.length, at + rng.small(12)), new Uint8Array(0));
    },
  },
  {
    name: "byteDuplicate",
    apply(b, rng) {
      const at = rng.int(b.length);
      const end = Math.min(b.length, at + rng.range(1, 40));
      const to = rng.int(b.length + 1);
      return replace(b, to, to, b.slice(at, end));
    },
  },
  {
    name: "sohRemove",
    apply(b, rng) {
      const sohs: number[] = [];
      for (let i = 0; i < b.length; i++) if (b[i] === SOH) sohs.push(i);
      if (sohs.length === 0) return b.slice();
      const at = rng.pick(sohs);
      return rng.chance(0.5)
        ? replace(b, at, at + 1, new Uint8Array(0))
        : replace(b, at, at + 1, Uint8Array.of(rng.pick([124, 0, 2, 61, 48])));
    },
  },
  {
    name: "sohInsert",
    apply(b, rng) {
      const at = rng.int(b.length + 1);
      return replace(b, at, at, new Uint8Array(rng.small(3)).fill(SOH));
    },
  },
  {
    name: "truncate",
    apply(b, rng) {
      return b.slice(0, rng.int(b.length));
    },
  },
  {
    name: "bodyLength",
    apply(b, rng) {
      const s = fieldWith(b, new Set([9]), rng);
      if (!s) return b.slice();
      const current = Number(new TextDecoder().decode(b.subarray(s[1] + 1, s[2])));
      const value = rng.pick([
        String(current + rng.range(-3, 3)),
        String(current * 2),
        String(current + 1000),
        "0",
        "",
        "-1",
        "00" + current,
        "1" + "0".repeat(rng.range(6, 14)),
        "9007199254740993",
        "12x",
        String(rng.int(1 << 21)),
      ]);
      return setValue(b, s, TEXT.encode(value));
    },
  },
  {
    name: "checkSum",
    apply(b, rng) {
      const s = fieldWith(b, new Set([10]), rng);
      if (!s) return concat([b, TEXT.encode(`10=${rng.int(1000)}\x01`)]);
      const kind = rng.int(6);
      if (kind === 0) return b.slice(0, s[0]); // removed
      if (kind === 1) return concat([b, b.slice(s[0], Math.min(b.length, s[2] + 1))]); // twice
      const value = rng.pick([
        "000",
        "255",
        "1000",
        "-01",
        "abc",
        "",
        "0",
        "00",
        "0000",
        "٠٠٠",
        String(rng.int(1000)).padStart(3, "0"),
      ]);
      return setValue(b, s, TEXT.encode(value));
    },
  },
  {
    name: "splice",
    apply(b, rng, other) {
      const o = other();
      const cut = (x: Uint8Array) => {
        if (rng.chance(0.5)) return rng.int(x.length + 1);
        const sp = spans(x);
        return sp.length > 0 ? rng.pick(sp)[0] : 0;
      };
      return rng.chance(0.8) ? concat([b.subarray(0, cut(b)), o.subarray(cut(o))]) : concat([b, o]); // two messages back to back
    },
  },
  {
    name: "hugeValue",
    apply(b, rng) {
      const s = someField(b, rng);
      if (!s) return b.slice();
      // Mostly a few KiB; now and then up to, and above, the framer's 1 MiB default.
      const r = rng.float();
      const n = r < 0.005
        ? rng.range(1 << 20, (1 << 20) + 4096) // above the default MaxMessageSize
        : r < 0.03
        ? rng.range(70_000, (1 << 20) - 1024) // below it
        : r < 0.13
        ? rng.range(5000, 70_000)
        : rng.range(200, 5000);
      const v = new Uint8Array(n).fill(rng.pick([65, 48, 0xe2, 32]));
      return setValue(b, s, v);
    },
  },
  {
    name: "repeatTag",
    apply(b, rng) {
      const s = someField(b, rng);
      if (!s) return b.slice();
      const field = b.slice(s[0], Math.min(b.length, s[2] + 1));
      const many = rng.chance(0.1) ? rng.range(50, 2000) : rng.small(4);
      const times = Math.max(1, Math.min(many, Math.floor(MAX_GROWTH / field.length)));
      const copies = concat(new Array(times).fill(field));
      const at = rng.chance(0.5) ? s[2] + 1 : rng.pick(spans(b))[0];
      return replace(b, Math.min(at, b.length), Math.min(at, b.length), copies);
    },
  },
  {
    name: "badTag",
    apply(b, rng) {
      const s = someField(b, rng);
      if (!s) return b.slice();
      const tag = TEXT.encode(rng.pick(BAD_TAGS));
      if (rng.chance(0.3)) {
        // A whole new field with a bad tag.
        const f = concat([tag, TEXT.encode(`=${rng.pick(["1", "", "x", "Y"])}\x01`)]);
        return replace(b, s[0], s[0], f);
      }
      return replace(b, s[0], s[1], tag);
    },
  },
  {
    name: "nonAscii",
    apply(b, rng) {
      const s = someField(b, rng);
      if (!s) return b.slice();
      const v = rng.pick([
        TEXT.encode("€"),
        TEXT.encode("Grüße"),
        TEXT.encode("😀"),
        Uint8Array.of(0xff, 0xfe),
        Uint8Array.of(0xc3),
        Uint8Array.of(0xed, 0xa0, 0x80), // a UTF-16 surrogate in UTF-8
        Uint8Array.of(0xe2, 0x82),
        Uint8Array.of(0),
      ]);
      const at = rng.range(s[0], s[2]);
      return rng.chance(0.5) ? replace(b, at, at, v) : setValue(b, s, v);
    },
  },
  {
    name: "bigNumber",
    apply(b, rng) {
      const s = fieldWith(b, NUMERIC_TAGS, rng) ?? someField(b, rng);
      if (!s) return b.slice();
      return setValue(b, s, TEXT.encode(rng.pick(NUMBERS)));
    },
  },
  {
    name: "numInGroup",
    apply(b, rng) {
      const s = fieldWith(b, COUNT_TAGS, rng);
      if (!s) {
        // A NumInGroup with no entries at all.
        const f = someField(b, rng);
        if (!f) return b.slice();
        const tag = rng.pick([...COUNT_TAGS]);
        return replace(b, f[0], f[0], TEXT.encode(`${tag}=${rng.range(1, 5)}\x01`));
      }
      const n = Number(new TextDecoder().decode(b.subarray(s[1] + 1, s[2])));
      const kind = rng.int(3);
      if (kind === 0) {
        const v = rng.pick([n + 1, n - 1, 0, n + 100, 1 << 30, -1]);
        return setValue(b, s, TEXT.encode(String(v)));
      }
      const all = spans(b);
      const i = all.findIndex((x) => x[0] === s[0]);
      const next = all[i + 1];
      if (!next) return b.slice();
      if (kind === 1) {
        return replace(b, next[0], Math.min(b.length, next[2] + 1), new Uint8Array(0));
      }
      // An extra entry: the delimiter field again.
      const delim = b.slice(next[0], Math.min(b.length, next[2] + 1));
      return replace(b, next[0], next[0], delim);
    },
  },
  {
    name: "dataLength",
    apply(b, rng) {
      const s = fieldWith(b, LENGTH_TAGS, rng);
      const kind = rng.int(4);
      if (s && kind < 2) {
        const rest = b.length - s[2];
        const n = Number(new TextDecoder().decode(b.subarray(s[1] + 1, s[2])));
        const v = rng.pick([
          rest + rng.range(0, 20),
          rest - rng.range(1, 8),
          n + 1,
          n - 1,
          0,
          1 << 30,
          999999999,
          9999999999,
          -1,
        ]);
        return setValue(b, s, TEXT.encode(String(v)));
      }
      // A pair (any version's) put anywhere, with SOH and "10=" inside, or a lone half.
      const [len, data] = rng.pick(DATA_PAIRS);
      const f = someField(b, rng);
      const at = f ? f[0] : 0;
      const payload = TEXT.encode(rng.pick(["a\x01b", "10=000\x01", "x\x018=FIX.4.4\x01", ""]));
      const declared = kind === 2 ? payload.length : payload.length + rng.range(-2, 30);
      const parts = rng.chance(0.8)
        ? `${len}=${declared}\x01${data}=`
        : rng.chance(0.5)
        ? `${len}=${declared}\x01`
        : `${data}=`;
      return replace(b, at, at, concat([TEXT.encode(parts), payload, Uint8Array.of(SOH)]));
    },
  },
  {
    name: "fieldDelete",
    apply(b, rng) {
      const s = someField(b, rng);
      if (!s) return b.slice();
      return replace(b, s[0], Math.min(b.length, s[2] + 1), new Uint8Array(0));
    },
  },
  {
    name: "fieldMove",
    apply(b, rng) {
      const all = spans(b);
      if (all.length < 2) return b.slice();
      const s = rng.pick(all);
      const field = b.slice(s[0], Math.min(b.length, s[2] + 1));
      const without = replace(b, s[0], Math.min(b.length, s[2] + 1), new Uint8Array(0));
      const targets = spans(without);
      const at = targets.length > 0 ? rng.pick(targets)[0] : 0;
      return replace(without, at, at, field);
    },
  },
  {
    name: "emptyValue",
    apply(b, rng) {
      const s = someField(b, rng);
      return s ? setValue(b, s, new Uint8Array(0)) : b.slice();
    },
  },
  {
    name: "msgType",
    apply(b, rng) {
      const s = fieldWith(b, new Set([35]), rng);
      if (!s) return b.slice();
      return setValue(b, s, TEXT.encode(rng.pick(MSG_TYPES)));
    },
  },
  {
    name: "beginString",
    apply(b, rng) {
      const s = fieldWith(b, new Set([8]), rng);
      if (!s) return b.slice();
      return setValue(b, s, TEXT.encode(rng.pick(BEGINS)));
    },
  },
  {
    name: "garbage",
    apply(b, rng) {
      const junk = randomBytes(rng, rng.range(0, 300));
      const kind = rng.int(4);
      if (kind === 0) return junk;
      if (kind === 1) return concat([TEXT.encode("8=FIX.4.4\x019="), junk]);
      if (kind === 2) return concat([junk, b]);
      return concat([b, junk]);
    },
  },
];

/**
 * Applies one to four random mutators.
 *
 * @param b The message.
 * @param rng The generator.
 * @param other Another message, for splicing.
 * @param used Receives the names of the mutators applied.
 * @returns The mutant.
 */
export function mutate(
  b: Uint8Array,
  rng: Rng,
  other: () => Uint8Array,
  used: string[],
): Uint8Array {
  let out = b;
  for (let n = rng.small(4); n > 0; n--) {
    const m = rng.pick(MUTATORS);
    used.push(m.name);
    out = m.apply(out, rng, other);
    if (out.length > MAX_MUTANT) out = out.slice(0, MAX_MUTANT);
  }
  return out;
}

/**
 * Recomputes BodyLength(9) and CheckSum(10) around whatever lies between them, so a mutant
 * passes framing: the field before the first SOH is kept as BeginString, a `9=` field after it
 * is replaced, and a trailing `10=...` field is replaced (or one is added).
 *
 * @param b The mutant.
 * @returns The same fields, consistently framed.
 */
export function refresh(b: Uint8Array): Uint8Array {
  const first = b.indexOf(SOH);
  if (first < 0) return b;
  let body = b.subarray(first + 1);
  if (body[0] === 57 && body[1] === 61) {
    const end = body.indexOf(SOH);
    body = end < 0 ? new Uint8Array(0) : body.subarray(end + 1);
  }
  // A trailing CheckSum field: "10=" after the last-but-one SOH (or at the very start).
  let k = body.length - 1;
  if (body[k] === SOH) k--;
  while (k >= 0 && body[k] !== SOH) k--;
  const from = k + 1;
  if (body[from] === 49 && body[from + 1] === 48 && body[from + 2] === 61) {
    body = body.subarray(0, from);
  }
  return frame(b.subarray(0, first + 1), body, body.length);
}

/**
 * `count` messages of random templates of random versions, numbered from 1, a share of them
 * mutated (30%): a garbled stream's parts for the decoder tests.
 *
 * @param versions The corpus.
 * @param rng The random source.
 * @param count How many messages.
 * @param options `possDupEvery`: every n-th message is a PossDup; `refreshed`: the share of
 *   mutants made to pass framing again (1: all of them).
 * @returns The messages' bytes.
 */
export function garbledParts(
  versions: readonly SessionVersion[],
  rng: Rng,
  count: number,
  options: { possDupEvery?: number; refreshed?: number } = {},
): Uint8Array[] {
  const refreshed = options.refreshed ?? 1;
  const parts: Uint8Array[] = [];
  for (let i = 0; i < count; i++) {
    const v = rng.pick(versions);
    const seed = encode(render(v.begin, rng.pick(v.templates), {
      sender: "S",
      target: "T",
      seq: i + 1,
      sendingTimeMs: Date.UTC(2026, 11, 6),
      possDup: options.possDupEvery !== undefined && i % options.possDupEvery === 0,
    }));
    if (rng.chance(0.3)) {
      const m = mutate(seed, rng, () => seed, []);
      parts.push(refreshed >= 1 || rng.chance(refreshed) ? refresh(m) : m);
    } else parts.push(seed);
  }
  return parts;
}
