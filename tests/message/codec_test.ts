import assert from "node:assert/strict";
import { encodeMessage, FixEncoder } from "../../src/message/encoder.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer, tryDecodeMessage } from "../../src/message/framer.ts";
import { formatMessage } from "../../src/message/printer.ts";

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

Deno.test("framer reports garbage before a message and resynchronises", () => {
  const f = new FixFramer();
  const good = raw("35=0|34=1|");
  f.push(te.encode("garbage\x01more"));
  f.push(good);
  const out = frames(f);
  assert.equal(out.length, 2);
  assert.ok(out[0] instanceof FixParseError);
  assert.equal((out[0] as FixParseError).offset, 0);
  assert.equal(out[1], text(good));
});

Deno.test("framer reports a bad CheckSum and keeps the next message", () => {
  const bad = raw("35=0|34=1|");
  bad[bad.length - 2] = bad[bad.length - 2] === 48 ? 49 : 48;
  const good = raw("35=0|34=2|");
  const f = new FixFramer();
  f.push(bad);
  f.push(good);
  const out = frames(f);
  assert.ok(out[0] instanceof FixParseError && out[0].tag === 10);
  assert.equal(out[1], text(good));
  assert.equal(out.length, 2);
});

Deno.test("framer reports a wrong BodyLength and keeps the next message", () => {
  const good = raw("35=0|34=2|");
  for (const delta of [-3, 3]) {
    const s = text(raw("35=0|34=1|")).replace(/9=(\d+)/, (_, n) => `9=${Number(n) + delta}`);
    const f = new FixFramer();
    f.push(te.encode(s.replaceAll("|", "\x01")));
    f.push(good);
    f.push(good);
    const out = frames(f);
    assert.ok(out[0] instanceof FixParseError, `delta ${delta}`);
    assert.equal((out[0] as FixParseError).tag, 9);
    assert.deepEqual(out.slice(1), [text(good), text(good)], `delta ${delta}`);
  }
});

Deno.test("framer reports a missing CheckSum, a non-numeric BodyLength and oversize", () => {
  const good = raw("35=0|34=2|");
  const cases = [
    te.encode("8=FIX.4.4\x019=5\x0135=0\x01\x01"), // 10= missing
    te.encode("8=FIX.4.4\x019=x5\x0135=0\x0110=000\x01"),
    raw("35=0|58=" + "x".repeat(2000) + "|"),
  ];
  for (const c of cases) {
    const f = new FixFramer({ maxMessageSize: 1000 });
    f.push(c);
    f.push(good);
    const out = frames(f);
    assert.ok(out[0] instanceof FixParseError, text(c).slice(0, 40));
    assert.equal(out.at(-1), text(good));
  }
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
