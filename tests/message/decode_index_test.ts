// The decoder builds one field index per message (tag, value start, value end in a shared slab) and
// scans up to the frame's last SOH without end checks; a decoded message expands that index into
// editable arrays on its first edit. These tests hold it to the decoder it replaced
// (_reference_decoder.ts, whose messages start out expanded): the same fields, values, byte spans
// and errors on the fuzz corpus, its mutants and edge cases, and the same results when decoded
// messages are read and edited.

import assert from "node:assert/strict";
import { FixParseError } from "../../src/message/errors.ts";
import { FieldMap, FixMessage, type GroupSpec } from "../../src/message/fix_message.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import { buildCorpus, encode, render } from "../fuzz/_corpus.ts";
import { garbledParts, mutate, refresh } from "../fuzz/_mutate.ts";
import { Rng } from "../fuzz/_prng.ts";
import { errorRecord } from "./_parse_error.ts";
import { referenceDecode } from "./_reference_decoder.ts";

const te = new TextEncoder();

function bytes(s: string): Uint8Array {
  return te.encode(s.replaceAll("|", "\x01"));
}

/** Every field of a map: tag, value, raw span (or null), and its groups' entries. */
function fieldsOf(m: FieldMap): unknown[] {
  const span = new Int32Array(2);
  const out: unknown[] = [];
  for (let i = 0; i < m.fieldCount; i++) {
    const raw = m.valueBytesAt(i, span);
    out.push([m.tagAt(i), m.valueAt(i), raw === undefined ? null : [span[0], span[1]]]);
  }
  return out;
}

/** What decoding gives: the fields, or the error with its fields and partial message. */
function outcome(decode: () => FixMessage): unknown {
  try {
    return { fields: fieldsOf(decode()) };
  } catch (e) {
    if (!(e instanceof FixParseError)) throw e;
    return errorRecord(e, fieldsOf);
  }
}

function assertSameDecode(frame: Uint8Array, label: string): void {
  assert.deepEqual(
    outcome(() => decodeMessage(frame)),
    outcome(() => referenceDecode(frame)),
    `${label}: ${JSON.stringify(new TextDecoder().decode(frame))}`,
  );
}

/** The same frame at offset `at` of a larger buffer, as the framer's frames are. */
function inBuffer(frame: Uint8Array, at: number): Uint8Array {
  const buf = new Uint8Array(at + frame.length + 5).fill(0x41);
  buf.set(frame, at);
  return buf.subarray(at, at + frame.length);
}

Deno.test("decoder matches the reference decoder on edge cases", () => {
  const cases = [
    "",
    "|",
    "=",
    "8",
    "8=FIX.4.4",
    "8=FIX.4.4|",
    "8=FIX.4.4|9=5|35=0|10=000|",
    "8=FIX.4.4|35=0|35=1|35=2|",
    "8=FIX.4.4|035=0|0049=A|",
    "8=FIX.4.4|1234567890=x|35=0|",
    "8=FIX.4.4|123456789=x|35=0|",
    "8=FIX.4.4|0=x|35=0|",
    "8=FIX.4.4|-5=x|35=0|",
    "8=FIX.4.4|x=1|35=0|0=2|",
    "8=FIX.4.4|=1|35=0|",
    "8=FIX.4.4|35|49=A|",
    "8=FIX.4.4|3x5|49=A|",
    "8=FIX.4.4|35=0|49=A",
    "8=FIX.4.4|35=0|49",
    "8=FIX.4.4|35=0|4x9",
    "8=FIX.4.4|35=0|x=",
    "8=FIX.4.4|35=0|=",
    "8=FIX.4.4|35=0|49=",
    "8=FIX.4.4|35=0|49=|56=|",
    "8=FIX.4.4|35=0|95=5|96=a|b|c|10=000|",
    "8=FIX.4.4|35=0|95=5|96=a|b|c",
    "8=FIX.4.4|35=0|95=5|96=a|b",
    "8=FIX.4.4|35=0|95=5|96=a|b|cd|",
    "8=FIX.4.4|35=0|95=0|96=|",
    "8=FIX.4.4|35=0|95=0|96=",
    "8=FIX.4.4|35=0|95=x|96=abc|",
    "8=FIX.4.4|35=0|95=|96=abc|",
    "8=FIX.4.4|35=0|95=12345678901|96=abc|",
    "8=FIX.4.4|35=0|95=3|97=abc|96=abc|",
    "8=FIX.4.4|35=0|95=3|96=a=c|",
    "8=FIX.4.4|35=0|x=1|95=3|96=a|c",
    "8=FIX.4.4|35=0|x=1|49=A",
    "8=FIX.4.4|35=0|0=1|49=A|58=\u00e9t\u00e9|",
    "8=FIX.4.4|35=D|453=2|448=A|447=D|452=1|448=B|447=D|452=3|10=000|",
    "|||",
    "8=FIX.4.4||35=0|",
    "8=FIX.4.4|35==|49=A=B|",
    // One- and two-digit tags, and what only looks like them.
    "8=FIX.4.4|05=A|5=B|99=C|10=|",
    "8=FIX.4.4|35=0|55",
    "8=FIX.4.4|35=0|55=",
    "8=FIX.4.4|35=0|5|",
    "8=FIX.4.4|35=0|55|",
    "8=FIX.4.4|35=0|1a=x|a1=y|",
    "8=FIX.4.4|35=0|00=x|",
    "8=FIX.4.4|35=0|5=|",
    "55=x|",
    "5=x|",
    "5|",
    "55",
  ];
  for (const c of cases) {
    const frame = bytes(c);
    assertSameDecode(frame, "own buffer");
    for (let at = 1; at < 4; at++) assertSameDecode(inBuffer(frame, at), `offset ${at}`);
  }
});

Deno.test("decoder matches the reference decoder on the fuzz corpus and its mutants", async () => {
  const versions = await buildCorpus();
  const rng = new Rng(20261206);
  const seeds: Uint8Array[] = [];
  for (const v of versions) {
    for (const t of v.templates) {
      seeds.push(encode(render(v.begin, t, {
        sender: "S",
        target: "T",
        seq: seeds.length + 1,
        sendingTimeMs: Date.UTC(2026, 11, 6),
        possDup: seeds.length % 3 === 0,
      })));
    }
  }
  const other = () => rng.pick(seeds);
  let errors = 0;
  for (const s of seeds) assertSameDecode(s, "seed");
  for (let i = 0; i < 20_000; i++) {
    const used: string[] = [];
    let m = mutate(rng.pick(seeds), rng, other, used);
    if (rng.chance(0.5)) m = refresh(m);
    const label = used.join(",");
    assertSameDecode(m, label);
    assertSameDecode(inBuffer(m, 1 + (i & 3)), label);
    if (!(outcome(() => decodeMessage(m)) as { fields?: unknown }).fields) errors++;
  }
  // Both outcomes were exercised.
  assert.ok(errors > 1000 && errors < 19_000, `${errors} errors`);
});

Deno.test("decoder matches the reference decoder on the frames of a garbled stream", async () => {
  const rng = new Rng(7);
  const parts = garbledParts(await buildCorpus(), rng, 3000);
  const framer = new FixFramer();
  let frames = 0;
  for (const p of parts) {
    // Pushed in pieces, so frames sit at every offset of the framer's blocks.
    const cut = rng.int(p.length);
    framer.push(p.subarray(0, cut));
    framer.push(p.subarray(cut));
    for (let f = framer.next(); f !== undefined; f = framer.next()) {
      if (f instanceof Uint8Array) {
        assertSameDecode(f, "frame");
        frames++;
      }
    }
  }
  assert.ok(frames > 2000, `${frames} frames`);
});

const PARTIES: GroupSpec = { delimiterTag: 448, memberTags: [448, 447, 452] };
const ORDER = bytes(
  "8=FIX.4.4|9=99|35=D|49=A|56=B|34=7|52=20261206-10:00:00.000|11=o1|453=2|448=X|447=D|452=1|" +
    "448=Y|447=D|452=3|95=3|96=a|c|55=EUR/USD|44=1.5|10=000|",
);

/** Each edit applied to a fresh message from each decoder must leave the same fields. */
const EDITS: [string, (m: FixMessage) => unknown][] = [
  ["set an existing tag", (m) => m.set(55, "GBP/USD")],
  ["set a new tag", (m) => m.set(58, "hi")],
  ["add a duplicate", (m) => m.add(49, "C")],
  ["remove", (m) => m.remove(34)],
  ["remove absent", (m) => m.remove(999)],
  ["read then set", (m) => [m.get(55), m.set(55, "X"), m.get(55)]],
  ["read a group", (m) => m.getGroups(453, PARTIES).map((e) => fieldsOf(e))],
  ["add a group entry", (m) => m.addGroupEntry(453, PARTIES).set(448, "Z")],
  ["remove a group entry", (m) => m.removeGroupEntry(453, 0)],
  ["clone", (m) => fieldsOf(m.clone())],
  ["clone then edit the clone", (m) => fieldsOf(m.clone().set(11, "o2"))],
  ["clone, then edit the original", (m) => {
    const c = m.clone();
    m.set(55, "Z").remove(34);
    return fieldsOf(c);
  }],
  ["read, clone, edit the clone", (m) => {
    m.get(55);
    const c = m.clone();
    c.set(55, "Q").add(58, "x");
    return [fieldsOf(c), m.get(55), m.getAll(58)];
  }],
  ["clone, then read its group", (m) => {
    const c = m.clone();
    return [c.getGroups(453, PARTIES).map((e) => fieldsOf(e)), fieldsOf(c), c.getAll(448)];
  }],
  ["getAll of a repeated tag", (m) => [m.getAll(448), m.getAll(447), m.getAll(1)]],
  ["iterate", (m) => [...m]],
  ["typed reads", (m) => [m.getInt(34), m.intOr(34, 0), m.timestampMsOr(52, 0), m.getAll(448)]],
  ["own fields", (m) => Array.from({ length: m.size }, (_, i) => [m.ownTagAt(i), m.ownValueAt(i)])],
  ["has and size", (m) => [m.has(96), m.has(97), m.size, m.fieldCount, m.msgType, m.seqNum]],
  ["setInt then read", (m) => [m.setInt(34, 8).getInt(34), m.intOr(34, 0)]],
  ["set the data field", (m) => m.set(96, "xyz")],
  ["to string", (m) => m.toString()],
  // A decoded message makes its value slots at the first read of a value longer than a
  // character, and compares with hasValue on the bytes until then.
  ["sizes before any read", (m) => [m.size, m.fieldCount, m.ownTagAt(3)]],
  ["one-character reads, then longer ones", (m) => [
    m.get(49),
    m.get(447),
    m.size,
    m.get(55),
    m.get(49),
    m.getAll(448),
    m.fieldCount,
  ]],
  ["hasValue", (m) => [
    m.hasValue(55, "EUR/USD"),
    m.hasValue(55, "EUR/US"),
    m.hasValue(55, "EUR/USDX"),
    m.hasValue(55, "EUR/USd"),
    m.hasValue(8, "FIX.4.4"),
    m.hasValue(49, "A"),
    m.hasValue(999, ""),
    m.hasValue(96, "a\x01c"),
    m.hasValue(55, "EUR/USD\u00dc"),
    m.get(55),
  ]],
  ["hasValue after a read and an edit", (m) => [
    m.get(55),
    m.hasValue(55, "EUR/USD"),
    m.set(55, "\u00dc").hasValue(55, "\u00dc"),
    m.hasValue(55, "EUR/USD"),
    m.hasValue(34, "7"),
  ]],
  ["clone before any read, then read both", (m) => {
    const c = m.clone();
    return [c.get(55), m.hasValue(55, "EUR/USD"), fieldsOf(c), fieldsOf(m), c.size];
  }],
];

Deno.test("a decoded message reads and edits as one decoded into arrays does", () => {
  for (const [name, edit] of EDITS) {
    const a = decodeMessage(ORDER);
    const b = referenceDecode(ORDER);
    assert.deepEqual(edit(a), edit(b), name);
    assert.deepEqual(fieldsOf(a), fieldsOf(b), name);
    // A second edit after the first works on the expanded arrays.
    a.set(1, "acct");
    b.set(1, "acct");
    assert.deepEqual(fieldsOf(a), fieldsOf(b), `${name}, then set`);
  }
});

Deno.test("decoder keeps no fields of a huge message for the next one", () => {
  const big = bytes("8=FIX.4.4|35=0|" + "58=x|".repeat(5000));
  assert.equal(decodeMessage(big).size, 5002);
  const small = decodeMessage(bytes("8=FIX.4.4|35=0|49=A|"));
  assert.deepEqual(fieldsOf(small), fieldsOf(referenceDecode(bytes("8=FIX.4.4|35=0|49=A|"))));
});

Deno.test("maps built from nothing keep their fields apart", () => {
  // Every new map starts on the same shared empty arrays: an edit gives it its own first.
  const a = new FixMessage("D");
  const b = new FixMessage();
  const c = new FieldMap();
  assert.equal(b.size, 0);
  assert.equal(c.size, 0);
  c.set(448, "X").add(447, "D");
  b.add(11, "o1");
  assert.deepEqual([...a], [[35, "D"]]);
  assert.deepEqual([...b], [[11, "o1"]]);
  assert.deepEqual([...c], [[448, "X"], [447, "D"]]);
  assert.equal(new FieldMap().remove(1), false);
  assert.deepEqual([...new FieldMap()], []);
  const e1 = a.addGroupEntry(453).set(448, "A");
  const e2 = a.addGroupEntry(453).set(448, "B");
  assert.deepEqual([...e1], [[448, "A"]]);
  assert.deepEqual([...e2], [[448, "B"]]);
  assert.deepEqual([...a], [[35, "D"], [453, "2"], [448, "A"], [448, "B"]]);
  // Entries split off a decoded group are maps of their own as well.
  const d = decodeMessage(ORDER);
  const [x, y] = d.getGroups(453, PARTIES);
  x.set(452, "9");
  assert.deepEqual([...y], [[448, "Y"], [447, "D"], [452, "3"]]);
  assert.deepEqual([...x], [[448, "X"], [447, "D"], [452, "9"]]);
  assert.deepEqual([...new FixMessage().clone()], []);
});

Deno.test("decoded values read as their UTF-8 text at every length and high-byte position", () => {
  const td = new TextDecoder();
  // Short values take their own paths up to 8 bytes, then an array kept per length up to 64,
  // then the runtime's: every length up to 12 and those around each boundary. Values of one
  // length follow each other, so a reused array that kept old bytes would show.
  const lengths = [...Array.from({ length: 13 }, (_, i) => i), 21, 36, 63, 64, 65, 100];
  for (const len of lengths) {
    // ASCII, then one byte of 128 or more at each position, then a valid two-byte character.
    const variants: number[][] = [Array.from({ length: len }, (_, i) => 65 + i)];
    for (let at = 0; at < len; at++) {
      variants.push(Array.from({ length: len }, (_, i) => (i === at ? 0xe9 : 48 + i)));
    }
    if (len >= 2) variants.push([0xc3, 0xa9, ...Array.from({ length: len - 2 }, () => 66)]);
    for (const value of variants) {
      const frame = new Uint8Array([...bytes("8=FIX.4.4|35=0|58="), ...value, 1]);
      const m = decodeMessage(frame);
      assert.equal(m.get(58), td.decode(new Uint8Array(value)), `${len}: ${value}`);
      assert.equal(referenceDecode(frame).get(58), m.get(58));
    }
  }
});

Deno.test("messages decoded across many index slabs each keep their own fields", () => {
  // Indexes are entries of shared slabs (about 900 messages each): every message kept must read
  // its own fields after thousands more were decoded, across slab changes, and a message with
  // more fields than a slab holds gets a slab of its own.
  const kept: [FixMessage, string][] = [];
  const big = 5_000; // 15,000 index entries: more than a slab
  for (let i = 0; i < 4_000; i++) {
    const m = new FixMessage("D").set(49, "S").set(56, "T").set(34, i + 1).set(11, `order-${i}`);
    if (i === 1_500) { for (let t = 0; t < big; t++) m.add(5000 + t, `v${t}`); }
    kept.push([decodeMessage(encodeMessage(m)), `order-${i}`]);
  }
  const fields = kept[0][0].fieldCount; // 8, 9, 35, 49, 56, 34, 11, 10
  assert.equal(fields, 8);
  for (const [i, [m, id]] of kept.entries()) {
    assert.equal(m.get(11), id);
    assert.equal(m.getInt(34), i + 1);
    assert.equal(m.fieldCount, i === 1_500 ? fields + big : fields);
  }
  const huge = kept[1_500][0];
  assert.equal(huge.get(5000), "v0");
  assert.equal(huge.get(5000 + big - 1), `v${big - 1}`);
});

Deno.test("hasValue compares a received value beyond ASCII as its UTF-8 text", () => {
  const m = decodeMessage(
    new Uint8Array([...bytes("8=FIX.4.4|9=5|35=0|58="), 0xc3, 0x9c, 0x78, 1, ...bytes("10=000|")]),
  );
  assert.equal(m.hasValue(58, "\u00dcx"), true);
  assert.equal(m.hasValue(58, "\u00dc"), false);
  assert.equal(m.hasValue(58, "Ux"), false);
  // As many ASCII characters as it has bytes: compared byte by byte.
  assert.equal(m.hasValue(58, "abx"), false);
  assert.equal(m.get(58), "\u00dcx");
});

Deno.test("values read again, short or long, read the same, and an edit after reads sticks", () => {
  const long = "6f1c2a9e-4b7d-4e21-9c3a-000000000042";
  const m = new FixMessage("D").set(49, "S").set(56, "T").set(34, 7).set(11, long)
    .set(55, "EUR/USD").set(44, "1.08215").set(58, "x");
  const frame = encodeMessage(m);
  const d = decodeMessage(frame);
  for (let round = 0; round < 3; round++) {
    assert.equal(d.get(11), long);
    assert.equal(d.get(55), "EUR/USD");
    assert.equal(d.get(44), "1.08215");
    assert.equal(d.get(58), "x");
    assert.equal(d.getInt(34), 7);
  }
  assert.deepEqual(encodeMessage(d), frame, "reads change nothing encoded");
  d.set(55, "GBP/USD");
  assert.equal(d.get(55), "GBP/USD");
  assert.equal(d.get(44), "1.08215");
  assert.equal(d.get(11), long);
  assert.equal(decodeMessage(encodeMessage(d)).get(55), "GBP/USD");
  const c = d.clone();
  assert.equal(c.get(44), "1.08215");
  assert.equal(c.get(55), "GBP/USD");
});
