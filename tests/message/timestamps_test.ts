import assert from "node:assert/strict";
import {
  formatUtcTimestamp,
  parseUtcTimestamp,
  parseUtcTimestampBytes,
} from "../../src/message/timestamps.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import { FixMessage } from "../../src/message/fix_message.ts";

const AT = Date.UTC(2026, 10, 24, 10, 0, 5, 123); // 2026-11-24 10:00:05.123 UTC

Deno.test("formatUtcTimestamp writes every precision exactly", () => {
  assert.equal(formatUtcTimestamp(AT, "s"), "20261124-10:00:05");
  assert.equal(formatUtcTimestamp(AT, "s", 456_789), "20261124-10:00:05");
  assert.equal(formatUtcTimestamp(AT, "ms"), "20261124-10:00:05.123");
  assert.equal(formatUtcTimestamp(AT, "us", 456_789), "20261124-10:00:05.123456");
  assert.equal(formatUtcTimestamp(AT, "ns", 456_789), "20261124-10:00:05.123456789");
  assert.equal(formatUtcTimestamp(AT, "ns", 7), "20261124-10:00:05.123000007");
  assert.equal(formatUtcTimestamp(AT, "ns"), "20261124-10:00:05.123000000");
  assert.equal(
    formatUtcTimestamp(Date.UTC(2026, 0, 2, 3, 4, 5, 6), "ns", 999_999),
    "20260102-03:04:05.006999999",
  );
  assert.equal(formatUtcTimestamp(0, "s"), "19700101-00:00:00");
  // The cached second prefix is not reused across seconds.
  assert.equal(formatUtcTimestamp(AT + 1000, "s"), "20261124-10:00:06");
  assert.throws(() => formatUtcTimestamp(Number.NaN, "s"), RangeError);
});

/** The UTCTimestamp of `ms` to the millisecond, from `Date`'s ISO text. */
function isoStamp(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-24T10:00:05.123Z
  return `${iso.slice(0, 4)}${iso.slice(5, 7)}${iso.slice(8, 10)}-${iso.slice(11, 23)}`;
}

Deno.test("formatUtcTimestamp writes every millisecond of two seconds and their microseconds", () => {
  const base = Date.UTC(2026, 11, 31, 23, 59, 59, 0); // the last second of a year, then the next
  for (let ms = 0; ms < 2000; ms++) {
    // Interleaved with another day's stamp: the cached prefix is kept per second, and made
    // again every 64th call (see formatUtcTimestamp).
    assert.equal(formatUtcTimestamp(base + ms, "ms"), isoStamp(base + ms));
    assert.equal(formatUtcTimestamp(AT, "ms"), "20261124-10:00:05.123");
    const sub = (ms * 7919) % 1_000_000;
    assert.equal(
      formatUtcTimestamp(base + ms, "us", sub),
      isoStamp(base + ms) + String(Math.floor(sub / 1000)).padStart(3, "0"),
    );
  }
  assert.equal(formatUtcTimestamp(base + 1005, "ms"), "20270101-00:00:00.005");
  assert.equal(formatUtcTimestamp(base + 1050, "us", 9_999), "20270101-00:00:00.050009");
});

Deno.test("parseUtcTimestamp reads 9 fraction digits and other lengths exactly", () => {
  assert.deepEqual(parseUtcTimestamp("20261124-10:00:05.123456789"), {
    epochMs: AT,
    subMsNanos: 456_789,
  });
  assert.deepEqual(parseUtcTimestamp("20261124-10:00:05.000000001"), {
    epochMs: AT - 123,
    subMsNanos: 1,
  });
  assert.deepEqual(parseUtcTimestamp("20261124-10:00:05.999999999"), {
    epochMs: AT - 123 + 999,
    subMsNanos: 999_999,
  });
  assert.deepEqual(parseUtcTimestamp("20261124-10:00:05"), { epochMs: AT - 123, subMsNanos: 0 });
  assert.deepEqual(parseUtcTimestamp("20261124-10:00:05.1"), {
    epochMs: AT - 23,
    subMsNanos: 0,
  });
  assert.deepEqual(parseUtcTimestamp("20261124-10:00:05.123456"), {
    epochMs: AT,
    subMsNanos: 456_000,
  });
  for (
    const bad of ["20261124-10:00:05.1234567890", "20261124-10:00:05.", "20261124-10:00:05.12x"]
  ) {
    assert.equal(parseUtcTimestamp(bad), undefined, bad);
  }
  // Formatting what was parsed gives back the same text.
  const t = parseUtcTimestamp("20261124-10:00:05.123456789")!;
  assert.equal(formatUtcTimestamp(t.epochMs, "ns", t.subMsNanos), "20261124-10:00:05.123456789");
});

Deno.test("both parsers read a fraction of every length from 1 to 9 digits", () => {
  const te = new TextEncoder();
  for (let k = 1; k <= 9; k++) {
    // "987654321" cut to k digits: the nanoseconds are those digits followed by 9 - k zeros.
    const digits = "987654321".slice(0, k);
    const nanos = Number(digits.padEnd(9, "0"));
    const text = `20261124-10:00:05.${digits}`;
    const ms = AT - 123 + Math.floor(nanos / 1_000_000);
    assert.deepEqual(
      parseUtcTimestamp(text),
      { epochMs: ms, subMsNanos: nanos % 1_000_000 },
      text,
    );
    const b = te.encode(`=${text}\x01`);
    assert.equal(parseUtcTimestampBytes(b, 1, b.length - 1), ms, text);
  }
});

Deno.test("parseUtcTimestampBytes agrees with Date for every kind of day, leap years included", () => {
  const te = new TextEncoder();
  const cases: [string, number][] = [
    ["19700101-00:00:00", 0],
    ["20000229-23:59:59.999", Date.UTC(2000, 1, 29, 23, 59, 59, 999)],
    ["20240229-12:00:00.5", Date.UTC(2024, 1, 29, 12, 0, 0, 500)],
    ["21001231-01:02:03.123456789", Date.UTC(2100, 11, 31, 1, 2, 3, 123)],
    ["19691231-23:59:59", -1000],
    // A leap second counts as the next second, as parseUtcTimestamp does.
    ["20161231-23:59:60", Date.UTC(2017, 0, 1)],
  ];
  for (const [text, ms] of cases) {
    const b = te.encode(`=${text}\x01`);
    assert.equal(parseUtcTimestampBytes(b, 1, b.length - 1), ms, text);
    assert.equal(parseUtcTimestamp(text)?.epochMs, ms, text);
  }
  for (
    const bad of [
      "21000229-00:00:00", // 2100 is not a leap year
      "20230229-00:00:00",
      "20260431-00:00:00",
      "20261301-00:00:00",
      "20261124-24:00:00",
      "20261124-10:60:00",
      "20261124-10:00:61",
      "20261124-10:00:00.",
      "20261124-10:00:00.1234567890",
      "20261124 10:00:00",
      "2026112-10:00:00",
      "20261124-10:00:0x",
    ]
  ) {
    const b = te.encode(bad);
    assert.ok(Number.isNaN(parseUtcTimestampBytes(b, 0, b.length)), bad);
    assert.equal(parseUtcTimestamp(bad), undefined, bad);
  }
});

Deno.test("timestampMsOr reads a decoded value from its bytes and a set value from its text", () => {
  const wire = new TextEncoder().encode(
    "8=FIX.4.4\x019=5\x0135=0\x0152=20261124-10:00:05.250\x0110=000\x01",
  );
  const decoded = decodeMessage(wire);
  assert.equal(decoded.timestampMsOr(52, -1), Date.UTC(2026, 10, 24, 10, 0, 5, 250));
  assert.equal(decoded.timestampMsOr(122, -1), -1);
  decoded.set(52, "20261124-10:00:06");
  assert.equal(decoded.timestampMsOr(52, -1), Date.UTC(2026, 10, 24, 10, 0, 6));
  assert.ok(Number.isNaN(new FixMessage("0").set(52, "yesterday").timestampMsOr(52, -1)));
});
