import assert from "node:assert/strict";
import { encodeMessage, FixEncoder } from "../../src/message/encoder.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import {
  decodeMessage,
  FixFramer,
  type FramerOptions,
  tryDecodeMessage,
} from "../../src/message/framer.ts";
import { formatMessage } from "../../src/message/printer.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";

const te = new TextEncoder();
const td = new TextDecoder();

function raw(body: string, begin = "FIX.4.4"): Uint8Array {
  // Builds a message by hand, computing BodyLength and CheckSum over bytes.
  const b = te.encode(body.replaceAll("|", "\x01"));
  const head = te.encode(`8=${begin}\x019=${b.length}\x01`);
  const all = new Uint8Array(head.length + b.length);
  all.set(head);
  all.set(b, head.length);
  let sum = 0;
  for (const x of all) sum += x;
  const tail = te.encode(`10=${String(sum % 256).padStart(3, "0")}\x01`);
  const out = new Uint8Array(all.length + tail.length);
  out.set(all);
  out.set(tail, all.length);
  return out;
}

function text(bytes: Uint8Array): string {
  return td.decode(bytes).replaceAll("\x01", "|");
}

function order(): FixMessage {
  return new FixMessage("D")
    .set(49, "TEST1").set(56, "TEST2").set(34, 7).set(52, "20261124-10:00:00.000")
    .set(11, "ord-1").set(21, "1").set(55, "EUR/USD").set(54, "1")
    .set(60, "20261124-10:00:00.000").setDecimal(38, "1000").set(40, "2")
    .setDecimal(44, "1.08215");
}

Deno.test("encoder writes 8, 9, 35 first, header before body, 10 last", () => {
  const m = new FixMessage().set(11, "X").set(34, 3).set(35, "D").set(49, "A").set(56, "B")
    .set(52, "20261124-10:00:00.000");
  const s = text(encodeMessage(m));
  assert.match(
    s,
    /^8=FIX\.4\.4\|9=\d+\|35=D\|34=3\|49=A\|56=B\|52=20261124-10:00:00\.000\|11=X\|10=\d{3}\|$/,
  );
});

Deno.test("encoder computes BodyLength and CheckSum exactly", () => {
  const bytes = encodeMessage(new FixMessage("0").set(49, "A").set(56, "B").set(34, 1));
  assert.deepEqual(bytes, raw("35=0|49=A|56=B|34=1|"));
});

Deno.test("encoder counts non-ASCII bytes in BodyLength", () => {
  const m = new FixMessage("B").set(148, "x").set(354, 6).set(355, "äöü");
  const bytes = encodeMessage(m);
  assert.deepEqual(bytes, raw("35=B|148=x|354=6|355=äöü|"));
  const d = decodeMessage(bytes);
  assert.equal(d.get(355), "äöü");
  assert.equal(d.getInt(9), te.encode("35=B|148=x|354=6|355=äöü|").length);
});

Deno.test("encoder refuses SOH in a non-data value but allows it in a data field", () => {
  assert.throws(() => encodeMessage(new FixMessage("0").set(58, "a\x01b")), TypeError);
  const bytes = encodeMessage(new FixMessage("n").set(212, 3).set(213, "a\x01b"));
  const d = decodeMessage(bytes);
  assert.equal(d.get(213), "a\x01b");
  assert.equal(d.get(10)?.length, 3);
});

Deno.test("encoder's CheckSum and BodyLength match a byte count on every path", () => {
  // Each case against raw(), which sums the bytes written independently: header fields after
  // body fields in the message, group entries, trailer fields, UTF-8 text, a NUL character,
  // values still raw bytes from a decoded message, and bodies whose BodyLength has 1-5 digits.
  const parties = new FixMessage("D").set(11, "é1").set(55, "X");
  parties.addGroupEntry(453).set(448, "BRÖKER").set(447, "D").set(452, 1);
  parties.addGroupEntry(453).set(448, "B2").set(447, "D").set(452, 3);
  parties.set(34, 9).set(49, "Ä").set(93, 3).set(89, "sig").set(58, "a\x00b");
  assert.deepEqual(
    encodeMessage(parties, "FIXT.1.1"),
    raw(
      "35=D|34=9|49=Ä|11=é1|55=X|453=2|448=BRÖKER|447=D|452=1|448=B2|447=D|452=3|58=a\x00b|" +
        "93=3|89=sig|",
      "FIXT.1.1",
    ),
  );
  for (const len of [0, 5, 80, 980, 9_990, 12_000]) {
    const m = new FixMessage("0").set(58, "t".repeat(len)).set(34, 1);
    assert.deepEqual(encodeMessage(m), raw(`35=0|34=1|58=${"t".repeat(len)}|`), `text ${len}`);
  }
  // A decoded message writes its untouched values from its bytes, its changed ones as text.
  const decoded = decodeMessage(encodeMessage(order()));
  decoded.set(44, "1.5").set(58, "ü");
  assert.deepEqual(
    encodeMessage(decoded),
    raw(
      "35=D|49=TEST1|56=TEST2|34=7|52=20261124-10:00:00.000|11=ord-1|21=1|55=EUR/USD|54=1|" +
        "60=20261124-10:00:00.000|38=1000|40=2|44=1.5|58=ü|",
    ),
  );
});

Deno.test("encoder refuses SOH after a non-ASCII character too, and goes on after", () => {
  const enc = new FixEncoder("FIX.4.4");
  assert.throws(() => enc.append(new FixMessage("0").set(58, "é\x01b")), /tag 58/);
  enc.reset();
  enc.append(new FixMessage("0").set(34, 2));
  assert.deepEqual(enc.take(), raw("35=0|34=2|"));
  const data = decodeMessage(encodeMessage(new FixMessage("n").set(212, 4).set(213, "é\x01b")));
  assert.equal(data.get(213), "é\x01b");
});

Deno.test("encoder keeps several messages back to back in one batch", () => {
  const enc = new FixEncoder("FIX.4.2");
  const a = enc.append(new FixMessage("0").set(34, 1));
  const endA = enc.length;
  enc.append(new FixMessage("0").set(34, 2));
  const batch = enc.take();
  assert.deepEqual(batch.subarray(a, endA), raw("35=0|34=1|", "FIX.4.2"));
  assert.deepEqual(batch.subarray(endA), raw("35=0|34=2|", "FIX.4.2"));
  assert.equal(enc.length, 0);
});

Deno.test("decode then encode reproduces the bytes", () => {
  const bytes = encodeMessage(order());
  const again = encodeMessage(decodeMessage(bytes));
  assert.deepEqual(again, bytes);
});

Deno.test("decoded values of every length read back as the text written, ASCII or UTF-8", () => {
  const alphabet = "AZaz09 -./:=|~";
  for (let len = 0; len <= 40; len++) {
    let ascii = "";
    for (let i = 0; i < len; i++) ascii += alphabet[(i * 7 + len) % alphabet.length];
    const utf8 = len === 0 ? "" : `${ascii.slice(1)}é`;
    const m = new FixMessage("B").set(58, ascii.replaceAll("|", "/")).set(148, utf8 || "x");
    const encoded = `${"€".repeat(len % 4)}${ascii.slice(0, len % 9)}`;
    if (len > 0) m.set(354, te.encode(encoded).length).set(355, encoded);
    const back = decodeMessage(encodeMessage(m));
    assert.equal(back.get(58), ascii.replaceAll("|", "/"), `length ${len}`);
    assert.equal(back.get(148), utf8 || "x", `length ${len} with a non-ASCII byte`);
    if (len > 0) assert.equal(back.get(355), m.get(355), `EncodedText of length ${len}`);
  }
});

Deno.test("encoder writes BodyLength of every width, alone and back to back", () => {
  const enc = new FixEncoder("FIX.4.2");
  const lengths: number[] = [];
  for (const text of [0, 1, 5, 80, 85, 90, 95, 900, 985, 995, 9990, 99_990, 100_010]) {
    // 35=0| is 5 bytes; 58=...| adds 4 + text bytes: body lengths cross 10, 100, 1000, 10^4, 10^5.
    const m = new FixMessage("0");
    if (text > 0) m.set(58, "x".repeat(text));
    const one = encodeMessage(m, "FIX.4.2");
    const framer = new FixFramer({ maxMessageSize: 1 << 20 });
    framer.push(one);
    const frame = framer.next();
    assert.ok(frame instanceof Uint8Array, `a frame for ${text} characters`);
    assert.deepEqual(frame, one);
    const back = decodeMessage(frame);
    const bodyLength = Number(back.get(9));
    assert.equal(bodyLength, one.length - `8=FIX.4.2\x019=${bodyLength}\x01`.length - 7);
    assert.equal(back.get(58) ?? "", "x".repeat(text));
    lengths.push(bodyLength);
    enc.append(m);
  }
  assert.deepEqual(lengths.map((n) => String(n).length), [1, 2, 2, 2, 2, 2, 3, 3, 3, 4, 4, 5, 6]);
  const framer = new FixFramer({ maxMessageSize: 1 << 20 });
  framer.push(enc.take());
  let n = 0;
  for (let f = framer.next(); f !== undefined; f = framer.next()) {
    assert.ok(f instanceof Uint8Array);
    n++;
  }
  assert.equal(n, lengths.length);
});

Deno.test("framer checks the CheckSum at every alignment, length and byte value", () => {
  const te = new TextEncoder();
  for (const text of ["", "a", "ab", "abc", "ÿ".repeat(40), "ÿ€".repeat(300), "ÿ".repeat(40_000)]) {
    for (let shift = 0; shift < 4; shift++) {
      // A small message first moves the next one to another byte alignment.
      const lead = encodeMessage(new FixMessage("0").set(112, "x".repeat(shift)));
      const m = new FixMessage("B").set(148, "h");
      if (text) m.set(354, te.encode(text).length).set(355, text);
      const body = encodeMessage(m); // its CheckSum computed by the encoder, byte by byte
      const framer = new FixFramer();
      framer.push(lead);
      framer.push(body);
      assert.ok(framer.next() instanceof Uint8Array);
      assert.deepEqual(framer.next(), body, `${text.length} characters at shift ${shift}`);
      // One byte changed inside the body: the sum differs.
      const bad = body.slice();
      bad[bad.length - 9] ^= 0x40;
      const again = new FixFramer();
      again.push(lead);
      again.push(bad);
      again.next();
      const r = again.next();
      assert.ok(r instanceof FixParseError, `a changed byte is caught (${text.length}, ${shift})`);
      assert.equal(r.tag, 10);
    }
  }
});

Deno.test("framer returns whole frames for every split of a stream", () => {
  const msgs = [
    raw("35=0|49=A|56=B|34=1|"),
    raw("35=n|49=A|56=B|34=2|212=7|213=<a\x01/b>|"),
    raw("35=D|49=A|56=B|34=3|11=x|"),
  ];
  const stream = new Uint8Array(msgs.reduce((n, m) => n + m.length, 0));
  let off = 0;
  for (const m of msgs) {
    stream.set(m, off);
    off += m.length;
  }
  for (let i = 0; i <= stream.length; i++) {
    for (const j of [i, Math.min(stream.length, i + 1), Math.min(stream.length, i + 13)]) {
      const f = new FixFramer();
      const got: Uint8Array[] = [];
      for (const part of [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]) {
        f.push(part);
        for (let r = f.next(); r !== undefined; r = f.next()) {
          assert.ok(r instanceof Uint8Array, `split ${i}/${j}: ${r}`);
          got.push(r.slice());
        }
      }
      assert.deepEqual(got, msgs, `split at ${i} and ${j}`);
    }
  }
});

Deno.test("framer handles one byte at a time", () => {
  const m = raw("35=0|49=A|56=B|34=1|");
  const f = new FixFramer();
  const got: Uint8Array[] = [];
  for (let k = 0; k < 3; k++) {
    for (const b of m) {
      f.push(new Uint8Array([b]));
      const r = f.next();
      if (r instanceof Uint8Array) got.push(r);
      else assert.equal(r, undefined);
    }
  }
  assert.equal(got.length, 3);
  for (const g of got) assert.deepEqual(g, m);
});

function frames(f: FixFramer): (string | FixParseError)[] {
  const out: (string | FixParseError)[] = [];
  for (let r = f.next(); r !== undefined; r = f.next()) {
    out.push(r instanceof Uint8Array ? text(r) : r);
  }
  return out;
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** A frame as text, or an error as `{ reason, tag, offset }`. */
type Framed = string | { reason: string; tag: number | undefined; offset: number };

/** Feeds `stream` to a new framer in two chunks split at `at`, and returns what came out. */
function frameSplit(stream: Uint8Array, at: number, options?: FramerOptions): Framed[] {
  const f = new FixFramer(options);
  const out: Framed[] = [];
  for (const part of [stream.subarray(0, at), stream.subarray(at)]) {
    f.push(part);
    for (let r = f.next(); r !== undefined; r = f.next()) {
      out.push(
        r instanceof Uint8Array ? text(r) : { reason: r.reason, tag: r.tag, offset: r.offset },
      );
    }
  }
  return out;
}

/** Asserts that every split of `stream` yields exactly `expected`. */
function assertEverySplit(
  stream: Uint8Array,
  expected: Framed[],
  options?: FramerOptions,
  splits?: number[],
): void {
  for (const at of splits ?? Array.from({ length: stream.length + 1 }, (_, i) => i)) {
    assert.deepEqual(frameSplit(stream, at, options), expected, `split at ${at}`);
  }
}

const GOOD1 = raw("35=0|34=1|");
const GOOD2 = raw("35=0|34=2|");
const L = GOOD1.length;

function withLength(body: string, delta: number): Uint8Array {
  const s = text(raw(body)).replace(/9=(\d+)/, (_, n) => `9=${Number(n) + delta}`);
  return te.encode(s.replaceAll("|", "\x01"));
}

Deno.test("framer reports each garbled kind with reason, tag and offset, and keeps the next message", async (t) => {
  const between = (bad: Uint8Array) => concat(GOOD1, bad, GOOD2);
  const err = (reason: string, offset: number, tag: number) => ({
    reason,
    tag,
    offset,
  });
  await t.step("no 8=FIX at the start", () => {
    assertEverySplit(between(te.encode("garbage\x01more")), [
      text(GOOD1),
      err("message does not start with 8=FIX", L, 8),
      text(GOOD2),
    ]);
  });
  await t.step("garbage with a partial 8= in it is one error", () => {
    assertEverySplit(between(te.encode("x8=F\x018=FI8")), [
      text(GOOD1),
      err("message does not start with 8=FIX", L, 8),
      text(GOOD2),
    ]);
  });
  for (const delta of [-5, -3, -1]) {
    await t.step(`BodyLength ${delta}`, () => {
      // The offset is that of the BodyLength field, after "8=FIX.4.4<SOH>".
      const stream = between(withLength("35=0|34=9|58=hello|", delta));
      assertEverySplit(stream, [
        text(GOOD1),
        err("BodyLength(9) does not match the message", L + 10, 9),
        text(GOOD2),
      ]);
    });
  }
  for (const delta of [1, 3]) {
    await t.step(`BodyLength +${delta}: the next message goes with it, as in QuickFIX`, () => {
      // The message runs to the first CheckSum after its declared end: GOOD2's.
      const stream = concat(GOOD1, withLength("35=0|34=9|58=hello|", delta), GOOD2, GOOD1);
      assertEverySplit(stream, [
        text(GOOD1),
        err("BodyLength(9) does not match the message", L + 10, 9),
        text(GOOD1),
      ]);
    });
  }
  await t.step("BodyLength -3 with a long CheckSum value: the same however finely it drips", () => {
    // The CheckSum field's value arrives in pieces; the frame runs to its SOH, then GOOD2.
    const bad = te.encode("8=FIX.4.4\x019=3\x0135=0\x0110=" + "7".repeat(3000) + "\x01");
    const stream = between(bad);
    const expected = [
      text(GOOD1),
      err("BodyLength(9) does not match the message", L + 10, 9),
      text(GOOD2),
    ];
    for (const step of [1, 7, 64, 1000, stream.length]) {
      const f = new FixFramer();
      const out: Framed[] = [];
      for (let i = 0; i < stream.length; i += step) {
        f.push(stream.subarray(i, i + step));
        for (let r = f.next(); r !== undefined; r = f.next()) {
          out.push(
            r instanceof Uint8Array ? text(r) : { reason: r.reason, tag: r.tag, offset: r.offset },
          );
        }
      }
      assert.deepEqual(out, expected, `chunks of ${step}`);
    }
  });
  await t.step("BodyLength +100: the framer waits for the declared length", () => {
    const stream = between(withLength("35=0|34=9|58=hello|", 100));
    assert.deepEqual(frameSplit(stream, stream.length), [text(GOOD1)]);
    assert.deepEqual(frameSplit(stream, 0), [text(GOOD1)]);
  });
  await t.step("MsgType not the third field", () => {
    const bad = te.encode(
      text(raw("35=0|34=9|")).replace("35=0|34=9|", "34=9|35=0|").replaceAll("|", "\x01"),
    );
    assertEverySplit(between(bad), [
      text(GOOD1),
      err("MsgType(35) is not the third field", L + 15, 35),
      text(GOOD2),
    ]);
  });
  await t.step("bad CheckSum", () => {
    const bad = raw("35=0|34=9|");
    bad[bad.length - 2] = bad[bad.length - 2] === 48 ? 49 : 48;
    assertEverySplit(between(bad), [
      text(GOOD1),
      err("CheckSum(10) does not match", L + bad.length - 7, 10),
      text(GOOD2),
    ]);
  });
  await t.step("non-numeric CheckSum", () => {
    const bad = te.encode(
      text(raw("35=0|34=9|")).replace(/10=\d{3}/, "10=0x0").replaceAll(
        "|",
        "\x01",
      ),
    );
    assertEverySplit(between(bad), [
      text(GOOD1),
      err("CheckSum(10) does not match", L + bad.length - 7, 10),
      text(GOOD2),
    ]);
  });
  await t.step("missing CheckSum", () => {
    const bad = te.encode("8=FIX.4.4\x019=10\x0135=0\x0134=9\x01");
    assertEverySplit(between(bad), [
      text(GOOD1),
      err("CheckSum(10) is missing", L + bad.length, 10),
      text(GOOD2),
    ]);
    // With an empty field where the CheckSum should be.
    const bad2 = te.encode("8=FIX.4.4\x019=5\x0135=0\x01\x01");
    assertEverySplit(between(bad2), [
      text(GOOD1),
      err("CheckSum(10) is missing", L + bad2.length - 1, 10),
      text(GOOD2),
    ]);
  });
  await t.step("BodyLength not a number, empty, or not the second field", () => {
    assertEverySplit(between(te.encode("8=FIX.4.4\x019=x5\x0135=0\x0110=000\x01")), [
      text(GOOD1),
      err("BodyLength(9) is not a number", L + 12, 9),
      text(GOOD2),
    ]);
    assertEverySplit(between(te.encode("8=FIX.4.4\x019=\x0135=0\x0110=000\x01")), [
      text(GOOD1),
      err("BodyLength(9) is empty", L + 12, 9),
      text(GOOD2),
    ]);
    assertEverySplit(between(te.encode("8=FIX.4.4\x0135=0\x019=5\x0110=000\x01")), [
      text(GOOD1),
      err("BodyLength(9) is not the second field", L + 10, 9),
      text(GOOD2),
    ]);
  });
  await t.step("fake BeginStrings one after another are one garbled run", () => {
    // Each `8=FIX.4.` fails in its first two fields (BeginString too long, BodyLength not the
    // second field...): one error for the run, which ends at the next frame delimited.
    const fakes = te.encode(
      "8=FIX.4.".repeat(40) + "8=FIX.4.4\x019=x\x018=FIX.4.4\x0135=0\x01\x01",
    );
    assertEverySplit(between(fakes), [
      text(GOOD1),
      err("BeginString is too long", L, 8),
      text(GOOD2),
    ]);
    // Garbage before them starts the run; they add nothing to it.
    assertEverySplit(between(concat(te.encode("junk"), fakes)), [
      text(GOOD1),
      err("message does not start with 8=FIX", L, 8),
      text(GOOD2),
    ]);
    // A frame delimited ends the run, garbled as it is (here its CheckSum is wrong): the fakes
    // after it are a new run.
    const badSum = raw("35=0|34=9|");
    badSum[badSum.length - 2] = badSum[badSum.length - 2] === 48 ? 49 : 48;
    assertEverySplit(between(concat(fakes, badSum, fakes)), [
      text(GOOD1),
      err("BeginString is too long", L, 8),
      err("CheckSum(10) does not match", L + fakes.length + badSum.length - 7, 10),
      err("BeginString is too long", L + fakes.length + badSum.length, 8),
      text(GOOD2),
    ]);
    // BeginStrings whose frames end in no CheckSum belong to the run too.
    const noSums = te.encode("8=FIX.4.4\x019=5\x01".repeat(30));
    assertEverySplit(between(concat(te.encode("junk"), noSums)), [
      text(GOOD1),
      err("message does not start with 8=FIX", L, 8),
      text(GOOD2),
    ]);
    // Alone, the first of them starts the run with its own error.
    assertEverySplit(between(noSums), [
      text(GOOD1),
      err("CheckSum(10) is missing", L + 19, 10),
      text(GOOD2),
    ]);
    // A megabyte of them: one error, and the message after them.
    const f = new FixFramer();
    // (The SOH keeps the last one from taking GOOD1's BeginString as the rest of its own.)
    f.push(concat(te.encode("8=FIX.4.".repeat(131_072) + "\x01"), GOOD1));
    const out = frames(f);
    assert.equal(out.length, 2);
    assert.ok(out[0] instanceof FixParseError);
    assert.equal(out[1], text(GOOD1));
  });
  await t.step("non-numeric tag: framed, then refused by the decoder at its offset", () => {
    const bad = raw("35=0|3x=1|");
    const out = frameSplit(between(bad), 0);
    assert.deepEqual(out, [text(GOOD1), text(bad), text(GOOD2)]);
    const r = tryDecodeMessage(bad);
    assert.ok(r instanceof FixParseError);
    // "8=FIX.4.4|" 10, "9=10|" 5, "35=0|" 5, then "3x": the 'x' is at 21.
    assert.deepEqual([r.reason, r.tag, r.offset], ["tag is not a number", undefined, 21]);
    assert.equal(decodeMessage(GOOD2).get(34), "2");
  });
  await t.step("message over maxMessageSize", () => {
    const big = raw("35=0|58=" + "x".repeat(2000) + "|");
    assertEverySplit(between(big), [
      text(GOOD1),
      err("message exceeds the maximum size of 1000 bytes", L, 9),
      text(GOOD2),
    ], { maxMessageSize: 1000 });
  });
  await t.step("a garbled run ends at maxMessageSize, however it is chunked", () => {
    // BodyLength 5 ends the body at "58=": no CheckSum there. A CheckSum field that would end
    // the run past 1,000 bytes is not this message's, so the message right after it is kept
    // (a framer given the run in pieces gives up on it at 1,000 bytes held, and then finds
    // GOOD2; given it whole, it used to run to that CheckSum's end, in GOOD2's BeginString).
    const run = (xs: number) =>
      te.encode("8=FIX.4.4\x019=5\x0135=0\x0158=" + "x".repeat(xs) + "\x0110=");
    const cases = [
      // The CheckSum field starts past 1,000 bytes: no CheckSum within the limit.
      { xs: 1200, error: err("CheckSum(10) is missing", L + 19, 10) },
      // It starts within the limit (at 990) and would end at 1,004, in GOOD2's BeginString.
      { xs: 968, error: err("BodyLength(9) does not match the message", L + 10, 9) },
    ];
    for (const { xs, error } of cases) {
      assertEverySplit(concat(GOOD1, run(xs), GOOD2, GOOD1), [
        text(GOOD1),
        error,
        text(GOOD2),
        text(GOOD1),
      ], { maxMessageSize: 1000 });
    }
  });
  await t.step("the default maximum is 1 MiB, inclusive", () => {
    const sized = (total: number) => {
      const m = raw("35=0|58=" + "x".repeat(total - 36) + "|");
      assert.equal(m.length, total);
      return m;
    };
    const max = 1 << 20;
    const exact = sized(max);
    const over = sized(max + 1);
    const stream = concat(GOOD1, exact, over, GOOD2);
    const expected = [
      text(GOOD1),
      text(exact),
      err(`message exceeds the maximum size of ${max} bytes`, L + max, 9),
      text(GOOD2),
    ];
    for (const at of [0, L + 5, L + max, L + max + 30, L + 2 * max, stream.length - 3]) {
      const out = frameSplit(stream, at);
      assert.deepEqual(
        out.map((o) => typeof o === "string" ? o.length : o),
        expected.map((o) => typeof o === "string" ? o.length : o),
        `split at ${at}`,
      );
      assert.equal(out[1], expected[1]);
    }
  });
});

Deno.test("framer never takes 10=...8=FIX inside a data field for a message boundary", () => {
  const fake = "<x>\x0110=000\x018=FIX.4.4\x019=5\x0135=0\x0110=000\x01</x>";
  const n = te.encode(fake).length;
  const withXml = raw(`35=n|49=A|56=B|34=2|212=${n}|213=${fake}|`);
  const withRaw = raw(`35=D|49=A|56=B|34=3|95=${n}|96=${fake}|11=x|`);
  const stream = concat(GOOD1, withXml, withRaw, GOOD2);
  const expected = [text(GOOD1), text(withXml), text(withRaw), text(GOOD2)];
  assertEverySplit(stream, expected);
  // Every split into three chunks too.
  for (let i = 0; i <= stream.length; i += 3) {
    for (let j = i; j <= stream.length; j += 7) {
      const f = new FixFramer();
      const got: (string | FixParseError)[] = [];
      for (const part of [stream.subarray(0, i), stream.subarray(i, j), stream.subarray(j)]) {
        f.push(part);
        got.push(...frames(f));
      }
      assert.deepEqual(got, expected, `split at ${i} and ${j}`);
    }
  }
  assert.equal(decodeMessage(withXml).get(213), fake);
});

Deno.test("framer skips custom data fields given by its dataFields option", () => {
  const fake = "a\x0110=000\x018=FIX.4.4\x01b";
  const n = te.encode(fake).length;
  const msg = raw(`35=U1|5010=${n}|5011=${fake}|`);
  const stream = concat(msg, GOOD2);
  const at = msg.length - 10; // the custom data value has arrived, the real CheckSum has not
  const custom = new Map([[5010, 5011]]);
  assert.deepEqual(frameSplit(stream, at, { dataFields: custom }), [text(msg), text(GOOD2)]);
  assert.equal(decodeMessage(msg, custom).get(5011), fake);
  // Without the pair too: the framer trusts BodyLength and never looks inside values.
  assert.deepEqual(frameSplit(stream, at), [text(msg), text(GOOD2)]);
});

Deno.test("decoder rejects a non-numeric tag with FixParseError", () => {
  const r = tryDecodeMessage(raw("35=0|3x=1|"));
  assert.ok(r instanceof FixParseError);
  assert.equal(r.reason, "tag is not a number");
  assert.throws(() => decodeMessage(te.encode("8=FIX.4.4\x0135")), FixParseError);
});

Deno.test("decoder never throws anything but FixParseError on random input", () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base = raw("35=D|49=A|56=B|34=1|95=3|96=a\x01b|11=x|");
  for (let i = 0; i < 3000; i++) {
    const m = base.slice();
    for (let k = 0; k < 3; k++) m[Math.floor(rnd() * m.length)] = Math.floor(rnd() * 256);
    const f = new FixFramer();
    f.push(m);
    for (let r = f.next(); r !== undefined; r = f.next()) {
      if (r instanceof Uint8Array) {
        const d = tryDecodeMessage(r);
        assert.ok(d instanceof FixMessage || d instanceof FixParseError);
      }
    }
  }
});

Deno.test("typed getters and setters", () => {
  const m = new FixMessage("D")
    .setInt(38, 100).setDecimal(44, "101.2500").set(54, "1").set(43, true)
    .setUtcTimestamp(60, Date.UTC(2026, 10, 24, 10, 0, 0, 123), "us", 456_000)
    .setUtcDateOnly(75, Date.UTC(2026, 10, 24)).setLocalMktDate(64, "20261126")
    .setMonthYear(200, "202612w2").setMultipleValues(18, ["G", "6"]);
  const d = decodeMessage(encodeMessage(m));
  assert.equal(d.getInt(38), 100);
  assert.equal(d.getDecimal(44), "101.2500");
  assert.equal(d.getFloat(44), 101.25);
  assert.equal(d.getChar(54), "1");
  assert.equal(d.getBoolean(43), true);
  assert.equal(d.get(60), "20261124-10:00:00.123456");
  assert.deepEqual(d.getUtcTimestamp(60), {
    epochMs: Date.UTC(2026, 10, 24, 10, 0, 0, 123),
    subMsNanos: 456_000,
  });
  assert.equal(d.getUtcDateOnly(75), Date.UTC(2026, 10, 24));
  assert.equal(d.getLocalMktDate(64), "20261126");
  assert.equal(d.getMonthYear(200), "202612w2");
  assert.deepEqual(d.getMultipleValues(18), ["G", "6"]);
  assert.throws(() => d.getInt(44), TypeError);
  assert.throws(() => d.getBoolean(54), TypeError);
  assert.throws(() => new FixMessage().setMonthYear(200, "202613"), TypeError);
  assert.equal(new FixMessage().setDecimal(44, 1e-7).get(44), "0.0000001");
  assert.equal(new FixMessage().set(44, 1e21).get(44), "1000000000000000000000");
  assert.equal(d.getInt(999), undefined);
});

Deno.test("nested repeating groups keep counts consistent", () => {
  const m = new FixMessage("8").set(11, "a");
  const p1 = m.addGroupEntry(453).set(448, "BRK").set(447, "D").set(452, 1);
  p1.addGroupEntry(802).set(523, "sub1").set(803, 2);
  p1.addGroupEntry(802).set(523, "sub2").set(803, 3);
  m.addGroupEntry(453).set(448, "CLT").set(447, "D").set(452, 3);
  m.set(58, "after");
  assert.equal(m.get(453), "2");
  const s = text(encodeMessage(m));
  assert.match(
    s,
    /\|11=a\|453=2\|448=BRK\|447=D\|452=1\|802=2\|523=sub1\|803=2\|523=sub2\|803=3\|448=CLT\|447=D\|452=3\|58=after\|/,
  );
  const layout = {
    delimiterTag: 448,
    memberTags: [448, 447, 452, 802],
    nested: new Map([[802, { delimiterTag: 523, memberTags: [523, 803] }]]),
  };
  const d = decodeMessage(encodeMessage(m));
  const parties = d.getGroups(453, layout);
  assert.equal(parties.length, 2);
  assert.equal(parties[0].get(448), "BRK");
  assert.equal(parties[1].get(452), "3");
  const subs = parties[0].getGroups(802, layout.nested.get(802));
  assert.deepEqual(subs.map((e) => e.get(523)), ["sub1", "sub2"]);
  assert.equal(d.get(58), "after");
  // Removing an entry updates the count and the encoding.
  d.removeGroupEntry(453, 0);
  assert.equal(d.get(453), "1");
  assert.match(text(encodeMessage(d)), /\|453=1\|448=CLT\|447=D\|452=3\|58=after\|/);
  // The flat view expands groups in wire order.
  assert.deepEqual([...d].map(([t]) => t).filter((t) => t > 400 && t < 500), [453, 448, 447, 452]);
});

Deno.test("printer shows | for SOH, names tags and masks passwords", () => {
  const names = { fieldName: (t: number) => (t === 34 ? "MsgSeqNum" : undefined) };
  const bytes = raw("35=A|34=5|554=secret|");
  assert.match(formatMessage(bytes), /\|35=A\|34=5\|554=\*\*\*\|10=/);
  assert.match(formatMessage(decodeMessage(bytes), { names }), /\|MsgSeqNum\(34\)=5\|554=\*\*\*\|/);
});

Deno.test("printer names every field of raw bytes with a real dictionary, data fields included", async () => {
  const fix44 = await loadDictionary("FIX.4.4");
  const bytes = raw(
    "35=A|34=5|49=A|56=B|52=20261124-10:00:00.000|95=6|96=a\x0134=9|98=0|108=30|554=pw|",
  );
  assert.equal(
    formatMessage(bytes, { names: fix44 }),
    "BeginString(8)=FIX.4.4|BodyLength(9)=79|MsgType(35)=A|MsgSeqNum(34)=5|" +
      "SenderCompID(49)=A|TargetCompID(56)=B|SendingTime(52)=20261124-10:00:00.000|" +
      "RawDataLength(95)=6|RawData(96)=a|34=9|EncryptMethod(98)=0|HeartBtInt(108)=30|" +
      "Password(554)=***|CheckSum(10)=001|",
  );
  // The decoded message prints the same, and a custom separator replaces every SOH.
  assert.equal(
    formatMessage(decodeMessage(bytes), { names: fix44 }),
    formatMessage(bytes, { names: fix44 }),
  );
  assert.equal(
    formatMessage(bytes, { names: fix44, separator: " " }),
    formatMessage(bytes, { names: fix44 }).replaceAll("|", " "),
  );
  // Two messages back to back, an unknown tag, and a custom data pair.
  const custom = raw("35=U1|9001=x|5010=3|5011=c\x01d|");
  assert.match(
    formatMessage(concat(bytes, custom), {
      names: fix44,
      dataFields: new Map([...fix44.dataFields(), [5010, 5011]]),
    }),
    /\|CheckSum\(10\)=\d{3}\|BeginString\(8\)=FIX\.4\.4\|.*\|MsgType\(35\)=U1\|9001=x\|5010=3\|5011=c\|d\|CheckSum\(10\)=\d{3}\|$/,
  );
});

Deno.test("setting the NumInGroup tag of a structured group refuses a count that differs", () => {
  const m = new FixMessage("8").set(11, "a");
  m.addGroupEntry(453).set(448, "BRK").set(447, "D").set(452, 1);
  assert.throws(() => m.set(453, 5), (e) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /Cannot set tag 453 to "5": it counts a group of 1 entries/);
    return true;
  });
  assert.throws(() => m.setInt(453, 0), RangeError);
  m.set(453, 1); // the same count is accepted
  assert.match(text(encodeMessage(m)), /\|11=a\|453=1\|448=BRK\|447=D\|452=1\|10=/);
  m.addGroupEntry(453).set(448, "CLT");
  assert.equal(m.get(453), "2");
  // A decoded group, once structured, is guarded the same way; before that it is plain text.
  const d = decodeMessage(encodeMessage(m));
  d.set(453, 2);
  d.getGroups(453, { delimiterTag: 448, memberTags: [448, 447, 452] });
  assert.throws(() => d.set(453, 3), RangeError);
  assert.match(text(encodeMessage(d)), /\|453=2\|448=BRK\|447=D\|452=1\|448=CLT\|10=/);
});

Deno.test("an encoder makes its buffer at its first write (an idle session's costs none)", () => {
  const before = Deno.memoryUsage().external;
  const encoders = Array.from({ length: 1000 }, () => new FixEncoder("FIX.4.4", 4096));
  // Eager buffers would be 4 MB of array buffers.
  assert.ok(Deno.memoryUsage().external - before < 1024 * 1024);
  // The first write makes it, at the size asked for or what the message needs.
  const m = new FixMessage("0").set(49, "A").set(56, "B").set(34, 1)
    .set(52, "20261124-10:00:00.000").set(58, "x".repeat(10_000));
  for (const enc of encoders.slice(0, 2)) {
    enc.append(m);
    assert.deepEqual(enc.take(), encodeMessage(m, "FIX.4.4"));
  }
  const small = new FixEncoder("FIX.4.4", 1);
  small.append(new FixMessage("0").set(34, 1));
  assert.equal(decodeMessage(small.take()).msgType, "0");
});

Deno.test("an encoder lends its buffer without a copy and reuses one given back", () => {
  const enc = new FixEncoder("FIX.4.4", 4096);
  const m = (seq: number) =>
    new FixMessage("0").set(49, "A").set(56, "B").set(34, seq).set(52, "20261124-10:00:00.000");
  const same = (a: Uint8Array, b: Uint8Array) => assert.ok(a.buffer === b.buffer);
  const other = (a: Uint8Array, b: Uint8Array) => assert.ok(a.buffer !== b.buffer);
  enc.append(m(1));
  const first = enc.lend();
  assert.equal(enc.length, 0);
  assert.deepEqual(first, encodeMessage(m(1), "FIX.4.4"));
  // Lent bytes stay as they were while the encoder writes on elsewhere.
  enc.append(m(2));
  assert.deepEqual(first, encodeMessage(m(1), "FIX.4.4"));
  const second = enc.lend();
  other(second, first);
  // Given back, a buffer is written again by the next message.
  enc.recycle(first);
  enc.recycle(first); // twice: still one spare
  enc.append(m(3));
  const third = enc.lend();
  same(third, first);
  assert.deepEqual(third, encodeMessage(m(3), "FIX.4.4"));
  // Given back while a batch is being written: that batch goes on in its own buffer, the one
  // given back comes after the next lend.
  enc.append(m(4));
  enc.recycle(second);
  const fourth = enc.lend();
  other(fourth, second);
  enc.append(m(5));
  same(enc.lend(), second);
  // A buffer of another size (a grown one, a copy) is left to the GC; the one in use never
  // becomes the spare.
  enc.recycle(new Uint8Array(100));
  enc.recycle(third);
  enc.append(m(6));
  enc.recycle(fourth);
  enc.recycle(third);
  assert.deepEqual(enc.view(0, enc.length), encodeMessage(m(6), "FIX.4.4"));
  same(enc.lend(), third);
  enc.append(m(7));
  same(enc.lend(), fourth);
});

Deno.test("an encoder keeps a grown buffer: lent once one comes back, else copied", () => {
  const enc = new FixEncoder("FIX.4.4", 4096);
  const big = (seq: number, n: number) =>
    new FixMessage("0").set(34, seq).set(52, "20261124-10:00:00.000").set(58, "x".repeat(n));
  const current = () => enc.view(0, enc.length).buffer;
  // Batches that outgrew the initial size while none came back (a peer that does not read):
  // copies, and the encoder goes on in its grown buffer instead of growing one again.
  enc.append(big(1, 20_000));
  const grown = current();
  assert.ok(grown.byteLength > 4096);
  const first = enc.lend();
  assert.ok(first.buffer !== grown);
  assert.deepEqual(first, encodeMessage(big(1, 20_000), "FIX.4.4"));
  enc.append(big(2, 20_000));
  assert.ok(current() === grown);
  const second = enc.lend();
  assert.ok(second.buffer !== grown);
  // One given back: the grown buffer is lent without a copy, the next batch goes on in the
  // one given back.
  enc.recycle(second);
  enc.append(big(3, 20_000));
  const third = enc.lend();
  assert.ok(third.buffer === grown);
  assert.deepEqual(third, encodeMessage(big(3, 20_000), "FIX.4.4"));
  enc.append(big(4, 10));
  assert.ok(current() === second.buffer);
  // The largest given back is kept: the grown one replaces the smaller spare.
  enc.recycle(first);
  enc.recycle(third);
  enc.lend();
  enc.append(big(5, 20_000));
  assert.ok(current() === grown);
  // Over 1 MiB: left to the GC.
  enc.lend();
  const huge = new Uint8Array(2 * 1024 * 1024);
  enc.recycle(huge);
  enc.append(big(6, 10));
  assert.ok(current() !== huge.buffer);
});
