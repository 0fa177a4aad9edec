// FixFramer.nextMessage frames and decodes in one pass: it sums the CheckSum as the decoder reads
// the fields, takes BeginString(8) and BodyLength(9) as the framer checked them, and its messages
// read their values in the framer's block (no view per frame). These tests hold it to `next`
// followed by `decodeMessage`, which it replaces in the session's read loop: the same messages,
// values and value bytes, the same errors in the same order, for every way the stream is cut.

import assert from "node:assert/strict";
import { DEFAULT_DATA_FIELDS } from "../../src/message/data_fields.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { type FieldMap, FixMessage, type GroupSpec } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import { buildCorpus, concat, TRICKY_DATA } from "../fuzz/_corpus.ts";
import { garbledParts } from "../fuzz/_mutate.ts";
import { Rng } from "../fuzz/_prng.ts";
import { errorRecord } from "./_parse_error.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** A frame built by hand from `8=...|9=...|` on, with a correct BodyLength and CheckSum. */
function raw(body: string, options: { begin?: string; sumDelta?: number } = {}): Uint8Array {
  const b = te.encode(body.replaceAll("|", "\x01"));
  const head = te.encode(`8=${options.begin ?? "FIX.4.4"}\x019=${b.length}\x01`);
  const all = new Uint8Array([...head, ...b]);
  let sum = options.sumDelta ?? 0;
  for (const x of all) sum += x;
  const tail = te.encode(`10=${String(((sum % 256) + 256) % 256).padStart(3, "0")}\x01`);
  return new Uint8Array([...all, ...tail]);
}

/** Every field of a map: tag, value, and the bytes its span points at (or null). */
function fieldsOf(m: FieldMap): unknown[] {
  const span = new Int32Array(2);
  const out: unknown[] = [];
  for (let i = 0; i < m.fieldCount; i++) {
    const bytes = m.valueBytesAt(i, span);
    out.push([
      m.tagAt(i),
      m.valueAt(i),
      bytes === undefined ? null : Array.from(bytes.subarray(span[0], span[1])),
    ]);
  }
  return out;
}

function errorOf(e: FixParseError): unknown {
  return errorRecord(e, fieldsOf);
}

/** What `next` then `decodeMessage` give for each frame, with the frame's bytes. */
function viaNext(f: FixFramer, dataFields: ReadonlyMap<number, number>): unknown[] {
  const out: unknown[] = [];
  for (let r = f.next(); r !== undefined; r = f.next()) {
    if (r instanceof FixParseError) {
      out.push(errorOf(r));
      continue;
    }
    try {
      out.push({ fields: fieldsOf(decodeMessage(r, dataFields)), frame: td.decode(r) });
    } catch (e) {
      if (!(e instanceof FixParseError)) throw e;
      out.push({ ...(errorOf(e) as object), frame: td.decode(r) });
    }
  }
  return out;
}

/** What `nextMessage` gives for each frame, with `lastFrame` where `next` gives a frame. */
function viaNextMessage(f: FixFramer, dataFields: ReadonlyMap<number, number>): unknown[] {
  const out: unknown[] = [];
  for (let r = f.nextMessage(dataFields); r !== undefined; r = f.nextMessage(dataFields)) {
    const frame = td.decode(f.lastFrame);
    assert.equal(f.lastFrameLength, f.lastFrame.length);
    if (r instanceof FixMessage) out.push({ fields: fieldsOf(r), frame });
    // Framing errors come before a frame is taken: `next` gives no frame for them either.
    else if (isFramingError(r)) out.push(errorOf(r));
    else out.push({ ...(errorOf(r) as object), frame });
  }
  return out;
}

/** An error `next` reports itself (no frame is handed to the decoder). */
function isFramingError(e: FixParseError): boolean {
  return e.reason.startsWith("message ") || e.reason.startsWith("BeginString") ||
    e.reason.startsWith("BodyLength") || e.reason.startsWith("CheckSum") ||
    e.reason.startsWith("MsgType(35) is not");
}

/** Pushes `stream` into two framers cut at the same places, and compares what they give. */
function assertSameStream(
  stream: Uint8Array,
  cuts: number[],
  label: string,
  dataFields: ReadonlyMap<number, number> = DEFAULT_DATA_FIELDS,
): number {
  const a = new FixFramer(), b = new FixFramer();
  const got: unknown[] = [], want: unknown[] = [];
  let at = 0;
  for (const cut of [...cuts, stream.length]) {
    const part = stream.subarray(at, cut);
    at = cut;
    a.push(part);
    b.push(part);
    want.push(...viaNext(a, dataFields));
    got.push(...viaNextMessage(b, dataFields));
  }
  assert.deepEqual(got, want, label);
  return got.length;
}

/** Frames that each take a different path through the one-pass decoder. */
const EDGES: [string, Uint8Array][] = [
  ["plain", raw("35=0|49=A|56=B|34=1|52=20261206-10:00:00.000|")],
  ["one-digit and long tags", raw("35=D|1=ACCT|6=1.5|11=o1|9999=x|123456789=y|")],
  ["leading zeros in a tag", raw("35=D|011=o1|0055=EUR|")],
  ["duplicate tags", raw("35=D|49=A|49=B|58=x|58=y|58=z|")],
  ["a group", raw("35=D|453=2|448=X|447=D|452=1|448=Y|447=D|452=3|55=EUR/USD|")],
  [
    "data field with SOH, 10= and 8=FIX inside",
    (() => {
      const head = te.encode(`35=n|212=${TRICKY_DATA.length}|213=`.replaceAll("|", "\x01"));
      const body = new Uint8Array([...head, ...TRICKY_DATA, 1, ...te.encode("58=after\x01")]);
      const h = te.encode(`8=FIX.4.4\x019=${body.length}\x01`);
      const all = new Uint8Array([...h, ...body]);
      let sum = 0;
      for (const x of all) sum += x;
      return new Uint8Array([...all, ...te.encode(`10=${String(sum % 256).padStart(3, "0")}\x01`)]);
    })(),
  ],
  ["high bytes in values", raw("35=B|148=ÿ€é|58=ÿÿÿÿÿÿÿÿÿÿ|354=4|355=ÿÿ|")],
  ["empty values", raw("35=0|58=|112=|")],
  ["bad CheckSum", raw("35=0|49=A|", { sumDelta: 1 })],
  ["bad CheckSum and a bad tag", raw("35=0|4x9=A|", { sumDelta: 7 })],
  ["bad CheckSum and no '='", raw("35=0|49A|", { sumDelta: 3 })],
  ["bad CheckSum and a data length too long", raw("35=n|212=9|213=ab|", { sumDelta: 1 })],
  ["MsgType not the third field", raw("49=A|35=0|")],
  ["MsgType not the third field and a bad tag", raw("49=A|x=1|35=0|")],
  ["tag 0", raw("35=0|0=x|49=A|")],
  ["a tag that is not a number", raw("35=0|4x9=A|56=B|")],
  ["negative tag", raw("35=0|-5=A|56=B|")],
  ["ten-digit tag", raw("35=0|1234567890=A|56=B|")],
  ["no '='", raw("35=0|49A|56=B|")],
  ["data length too long", raw("35=n|212=9|213=ab|58=x|")],
  ["data length too short", raw("35=n|212=1|213=ab|58=x|")],
  ["data length not a number", raw("35=n|212=x|213=ab|")],
  ["data length runs to the end", raw("35=n|212=2|")],
  ["empty body", raw("")],
  ["BeginString other than FIX.4.4", raw("35=0|49=A|", { begin: "FIXT.1.1" })],
];

Deno.test("nextMessage gives what next and decodeMessage give, on edge cases at every cut", () => {
  for (const [label, frame] of EDGES) {
    // After a frame of each length mod 4, so the edge case sits at every alignment.
    for (let lead = 0; lead < 4; lead++) {
      const first = encodeMessage(new FixMessage("0").set(112, "x".repeat(lead)));
      const stream = concat([first, frame, first]);
      for (let cut = 0; cut <= stream.length; cut++) {
        const n = assertSameStream(stream, [cut], `${label}, lead ${lead}, cut at ${cut}`);
        assert.equal(n, 3, label);
      }
    }
  }
});

Deno.test("nextMessage reads a frame's head itself when a data-field map makes 8 or 9 a LENGTH tag", () => {
  // With 9 a LENGTH tag, the field after BodyLength(9) must be the DATA field it announces.
  const maps: [string, ReadonlyMap<number, number>][] = [
    ["9 announces 35", new Map([[9, 35]])],
    ["9 announces 58", new Map([[9, 58]])],
    ["8 announces 9", new Map([[8, 9]])],
  ];
  for (const [label, map] of maps) {
    for (const [edge, frame] of EDGES) {
      const stream = concat([frame, frame]);
      assertSameStream(stream, [frame.length - 3], `${label}: ${edge}`, map);
    }
  }
  // The first map makes a good frame an error: the decoder read the head, not the framer.
  const f = new FixFramer();
  f.push(EDGES[0][1]);
  const r = f.nextMessage(maps[0][1]);
  assert.ok(r instanceof FixParseError);
  assert.equal(r.reason, "data field length does not match");
});

Deno.test("nextMessage gives what next and decodeMessage give, on a garbled stream in random chunks", async () => {
  const rng = new Rng(20261206);
  const parts = garbledParts(await buildCorpus(), rng, 3000, { possDupEvery: 3, refreshed: 0.7 });
  const stream = concat(parts);
  // Chunks of 1 to 300 bytes, then of 64 KiB as a socket gives them.
  const small: number[] = [];
  for (let at = rng.range(1, 300); at < stream.length; at += rng.range(1, 300)) small.push(at);
  const big: number[] = [];
  for (let at = 65536; at < stream.length; at += 65536) big.push(at);
  const n = assertSameStream(stream, small, "small chunks");
  assert.equal(assertSameStream(stream, big, "64 KiB chunks"), n);
  assert.ok(n > 2500, `${n} frames and errors`);
});

Deno.test("a message from nextMessage reads, edits and clones as one from decodeMessage does", () => {
  const parties: GroupSpec = { delimiterTag: 448, memberTags: [448, 447, 452] };
  const frame = EDGES[4][1];
  const edits: ((m: FixMessage) => unknown)[] = [
    (m) => [m.msgType, m.seqNum, m.get(55), m.getAll(448), m.intOr(453, 0), m.size],
    (m) => m.getGroups(453, parties).map((e) => fieldsOf(e)),
    (m) => fieldsOf(m.set(55, "GBP/USD").add(58, "x")),
    (m) => fieldsOf(m.clone()),
    (m) => {
      const c = m.clone();
      m.remove(448);
      return [fieldsOf(c), fieldsOf(m)];
    },
    (m) => td.decode(encodeMessage(m)),
    (m) => m.toString(),
  ];
  for (const edit of edits) {
    const f = new FixFramer();
    f.push(new Uint8Array(5).fill(1)); // garbage first: the frame is not at the block's start
    f.push(frame);
    const r = f.nextMessage();
    assert.ok(r instanceof FixParseError && r.reason.includes("8=FIX"));
    const m = f.nextMessage();
    assert.ok(m instanceof FixMessage);
    assert.deepEqual(edit(m), edit(decodeMessage(frame)));
  }
});

Deno.test("messages from nextMessage keep their bytes when the framer moves to a new block", () => {
  const frames = Array.from(
    { length: 200 },
    (_, i) => encodeMessage(new FixMessage("D").set(11, `o${i}`).set(58, "y".repeat(i * 7))),
  );
  const f = new FixFramer();
  const got: FixMessage[] = [];
  for (const fr of frames) {
    f.push(fr);
    const m = f.nextMessage();
    assert.ok(m instanceof FixMessage);
    got.push(m);
  }
  // Every message still reads its own values after the framer grew and left its old blocks.
  got.forEach((m, i) => {
    assert.equal(m.get(11), `o${i}`);
    assert.equal(m.get(58), "y".repeat(i * 7));
    assert.deepEqual(encodeMessage(m), frames[i]);
  });
});

Deno.test("a custom LENGTH tag of any size announces its data field, below 90 too", () => {
  // The decoder looks up no tag below a map's smallest LENGTH tag (90 in the default map).
  for (const [length, data] of [[5, 6], [89, 90], [95, 96], [70000, 70001]]) {
    const map = new Map([[length, data]]);
    const frame = raw(`35=n|${length}=3|${data}=a\x01b|58=x|`);
    const f = new FixFramer();
    f.push(frame);
    const m = f.nextMessage(map);
    assert.ok(m instanceof FixMessage, `${length}: ${m}`);
    assert.equal(m.get(data), "a\x01b");
    assert.equal(decodeMessage(frame, map).get(data), "a\x01b");
    // Without the map the SOH ends the value: "b" is no field.
    assert.throws(() => decodeMessage(frame, new Map()), FixParseError);
  }
});

Deno.test("nextMessage decodes with the framer's dataFields option unless given its own", () => {
  const frame = raw("35=n|5=3|6=a\x01b|58=x|");
  const custom = new Map([[5, 6]]);
  const withOption = new FixFramer({ dataFields: custom });
  withOption.push(frame);
  withOption.push(frame);
  const m = withOption.nextMessage();
  assert.ok(m instanceof FixMessage);
  assert.equal(m.get(6), "a\x01b");
  // A map given to the call wins: without 5 as a LENGTH tag, "b" is no field.
  assert.ok(withOption.nextMessage(DEFAULT_DATA_FIELDS) instanceof FixParseError);
  const plain = new FixFramer();
  plain.push(frame);
  assert.ok(plain.nextMessage() instanceof FixParseError);
});
