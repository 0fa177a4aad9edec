import assert from "node:assert/strict";
import { formatUtcTimestamp, parseUtcTimestamp } from "../../src/message/timestamps.ts";

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
