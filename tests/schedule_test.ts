import assert from "node:assert/strict";
import { parseScheduleProperties, parseWeekday, SessionSchedule } from "../src/schedule.ts";

const HOUR_MS = 3_600_000;
const DAY_MS = 24 * HOUR_MS;

/** An ISO 8601 instant with an explicit offset or Z, in epoch milliseconds. */
function at(text: string): number {
  assert.match(text, /(Z|[+-]\d{2}:\d{2})$/, `instant "${text}" needs an offset`);
  const ms = Date.parse(text);
  assert.ok(!Number.isNaN(ms), `instant "${text}" does not parse`);
  return ms;
}

/** Checks `isInSession` at each instant against the expected answer. */
function checkInSession(schedule: SessionSchedule, expected: Record<string, boolean>): void {
  for (const [text, inSession] of Object.entries(expected)) {
    assert.equal(schedule.isInSession(at(text)), inSession, `isInSession at ${text}`);
  }
}

/**
 * Checks the methods against each other at every step from `fromMs` to `toMs`: the period
 * containing an instant starts at or before it and ends after it, the boundaries reported next
 * are boundaries, and two instants are in the same period exactly when they share its start.
 */
function checkConsistent(
  schedule: SessionSchedule,
  fromMs: number,
  toMs: number,
  stepMs: number,
): void {
  for (let t = fromMs; t < toMs; t += stepMs) {
    const start = schedule.periodStartMs(t);
    const end = schedule.nextEndMs(t);
    const next = schedule.nextStartMs(t);
    assert.ok(end !== undefined && next !== undefined);
    assert.ok(end > t && next > t, `next boundaries after ${new Date(t).toISOString()}`);
    assert.equal(schedule.isInSession(t), start !== undefined);
    if (start !== undefined) {
      assert.ok(start <= t);
      assert.equal(schedule.periodStartMs(start), start, "a period contains its start");
      assert.equal(schedule.periodStartMs(end - 1), start, "a period runs to its end");
      assert.ok(schedule.isSamePeriod(start, t) && schedule.isSamePeriod(t, end - 1));
      assert.ok(!schedule.isSamePeriod(t, end));
      assert.ok(next >= end, "the next start is not before the current end");
    } else {
      assert.ok(next <= end, "outside a session the next start comes first");
      assert.equal(schedule.isInSession(next - 1), false);
      assert.ok(!schedule.isSamePeriod(t, t));
    }
    assert.equal(schedule.periodStartMs(next), next, "the next start opens a period");
  }
}

Deno.test("daily session in UTC is in session from StartTime included to EndTime excluded", () => {
  const s = new SessionSchedule({ startTime: "08:00:00", endTime: "17:00:00" });
  assert.equal(s.kind, "daily");
  assert.equal(s.timeZone, "UTC");
  checkInSession(s, {
    "2026-01-05T07:59:59.999Z": false,
    "2026-01-05T08:00:00Z": true,
    "2026-01-05T16:59:59.999Z": true,
    "2026-01-05T17:00:00Z": false,
  });
  assert.equal(s.periodStartMs(at("2026-01-05T12:00:00Z")), at("2026-01-05T08:00:00Z"));
  assert.equal(s.periodStartMs(at("2026-01-05T08:00:00Z")), at("2026-01-05T08:00:00Z"));
  assert.equal(s.periodStartMs(at("2026-01-05T17:00:00Z")), undefined);
  assert.equal(s.nextStartMs(at("2026-01-05T07:59:59.999Z")), at("2026-01-05T08:00:00Z"));
  assert.equal(s.nextStartMs(at("2026-01-05T08:00:00Z")), at("2026-01-06T08:00:00Z"));
  assert.equal(s.nextEndMs(at("2026-01-05T07:00:00Z")), at("2026-01-05T17:00:00Z"));
  assert.equal(s.nextEndMs(at("2026-01-05T12:00:00Z")), at("2026-01-05T17:00:00Z"));
  assert.equal(s.nextEndMs(at("2026-01-05T17:00:00Z")), at("2026-01-06T17:00:00Z"));
  assert.equal(s.isSamePeriod(at("2026-01-05T09:00:00Z"), at("2026-01-05T16:00:00Z")), true);
  assert.equal(s.isSamePeriod(at("2026-01-05T09:00:00Z"), at("2026-01-06T09:00:00Z")), false);
  assert.equal(s.isSamePeriod(at("2026-01-05T18:00:00Z"), at("2026-01-05T18:00:00Z")), false);
  checkConsistent(s, at("2026-01-04T00:00:00Z"), at("2026-01-08T00:00:00Z"), 15 * 60_000);
});

Deno.test("daily session whose EndTime is earlier than StartTime spans midnight", () => {
  const s = new SessionSchedule({ startTime: "22:00:00", endTime: "06:00:00" });
  checkInSession(s, {
    "2026-01-05T21:59:59.999Z": false,
    "2026-01-05T22:00:00Z": true,
    "2026-01-06T00:00:00Z": true,
    "2026-01-06T05:59:59.999Z": true,
    "2026-01-06T06:00:00Z": false,
    "2026-01-06T12:00:00Z": false,
  });
  assert.equal(s.periodStartMs(at("2026-01-06T03:00:00Z")), at("2026-01-05T22:00:00Z"));
  assert.equal(s.nextStartMs(at("2026-01-06T03:00:00Z")), at("2026-01-06T22:00:00Z"));
  assert.equal(s.nextEndMs(at("2026-01-05T23:00:00Z")), at("2026-01-06T06:00:00Z"));
  assert.equal(s.nextEndMs(at("2026-01-06T12:00:00Z")), at("2026-01-07T06:00:00Z"));
  assert.equal(s.isSamePeriod(at("2026-01-05T23:00:00Z"), at("2026-01-06T05:00:00Z")), true);
  assert.equal(s.isSamePeriod(at("2026-01-06T05:00:00Z"), at("2026-01-06T23:00:00Z")), false);
  checkConsistent(s, at("2026-01-04T00:00:00Z"), at("2026-01-08T00:00:00Z"), 15 * 60_000);
});

Deno.test("equal StartTime and EndTime: always in session, a new period at that time daily", () => {
  const s = new SessionSchedule({
    startTime: "17:00:00",
    endTime: "17:00:00",
    timeZone: "America/New_York",
  });
  for (let t = at("2026-03-06T00:00:00Z"); t < at("2026-03-11T00:00:00Z"); t += 10 * 60_000) {
    assert.equal(s.isInSession(t), true);
  }
  checkInSession(s, { "2026-11-01T06:00:00Z": true, "2026-11-01T21:59:59.999Z": true });
  // Around the spring-forward Sunday the period is 23 hours long.
  const sunday = at("2026-03-08T12:00:00-04:00");
  assert.equal(s.periodStartMs(sunday), at("2026-03-07T17:00:00-05:00"));
  assert.equal(s.nextStartMs(sunday), at("2026-03-08T17:00:00-04:00"));
  assert.equal(s.nextEndMs(sunday), at("2026-03-08T17:00:00-04:00"));
  assert.equal(s.nextEndMs(sunday)! - s.periodStartMs(sunday)!, 23 * HOUR_MS);
  // Around the fall-back Sunday it is 25 hours long.
  const fallBack = at("2026-11-01T12:00:00-05:00");
  assert.equal(s.periodStartMs(fallBack), at("2026-10-31T17:00:00-04:00"));
  assert.equal(s.nextEndMs(fallBack)! - s.periodStartMs(fallBack)!, 25 * HOUR_MS);
  // The reset at 17:00: the store created before it belongs to the previous period.
  assert.equal(
    s.isSamePeriod(at("2026-03-07T17:00:00-05:00"), at("2026-03-08T16:59:59.999-04:00")),
    true,
  );
  assert.equal(
    s.isSamePeriod(at("2026-03-08T16:59:59.999-04:00"), at("2026-03-08T17:00:00-04:00")),
    false,
  );
  assert.equal(s.periodStartMs(at("2026-03-08T17:00:00-04:00")), at("2026-03-08T17:00:00-04:00"));
  checkConsistent(s, at("2026-03-05T00:00:00Z"), at("2026-03-11T00:00:00Z"), 20 * 60_000);
  checkConsistent(s, at("2026-10-29T00:00:00Z"), at("2026-11-04T00:00:00Z"), 20 * 60_000);
});

Deno.test("weekly FX session Sunday 17:00 to Friday 17:00 New York across the week boundary", () => {
  const s = new SessionSchedule({
    startDay: "Sunday",
    startTime: "17:00:00",
    endDay: "Friday",
    endTime: "17:00:00",
    timeZone: "America/New_York",
  });
  assert.equal(s.kind, "weekly");
  checkInSession(s, {
    "2026-01-04T16:59:59.999-05:00": false, // Sunday
    "2026-01-04T17:00:00-05:00": true,
    "2026-01-06T03:00:00-05:00": true, // Tuesday night: no daily break
    "2026-01-09T16:59:59.999-05:00": true, // Friday
    "2026-01-09T17:00:00-05:00": false,
    "2026-01-10T12:00:00-05:00": false, // Saturday
    "2026-01-11T16:59:59.999-05:00": false, // Sunday
    "2026-01-11T17:00:00-05:00": true,
  });
  const wednesday = at("2026-01-07T12:00:00-05:00");
  const saturday = at("2026-01-10T12:00:00-05:00");
  assert.equal(s.periodStartMs(wednesday), at("2026-01-04T17:00:00-05:00"));
  assert.equal(s.periodStartMs(saturday), undefined);
  assert.equal(s.nextEndMs(wednesday), at("2026-01-09T17:00:00-05:00"));
  assert.equal(s.nextStartMs(wednesday), at("2026-01-11T17:00:00-05:00"));
  assert.equal(s.nextStartMs(saturday), at("2026-01-11T17:00:00-05:00"));
  assert.equal(s.nextEndMs(saturday), at("2026-01-16T17:00:00-05:00"));
  assert.equal(
    s.isSamePeriod(at("2026-01-04T18:00:00-05:00"), at("2026-01-09T16:00:00-05:00")),
    true,
  );
  assert.equal(
    s.isSamePeriod(at("2026-01-09T16:00:00-05:00"), at("2026-01-11T18:00:00-05:00")),
    false,
  );
  // The week opening on the spring-forward Sunday opens at 17:00 EDT; the one before closed
  // at 17:00 EST.
  assert.equal(s.nextEndMs(at("2026-03-04T12:00:00-05:00")), at("2026-03-06T17:00:00-05:00"));
  assert.equal(s.nextStartMs(at("2026-03-07T12:00:00-05:00")), at("2026-03-08T17:00:00-04:00"));
  checkInSession(s, {
    "2026-03-08T16:59:59.999-04:00": false,
    "2026-03-08T17:00:00-04:00": true,
  });
  // And the week opening on the fall-back Sunday at 17:00 EST, after a Friday close in EDT.
  assert.equal(s.nextEndMs(at("2026-10-28T12:00:00-04:00")), at("2026-10-30T17:00:00-04:00"));
  assert.equal(s.nextStartMs(at("2026-10-31T12:00:00-04:00")), at("2026-11-01T17:00:00-05:00"));
  assert.equal(s.nextEndMs(at("2026-11-02T12:00:00-05:00")), at("2026-11-06T17:00:00-05:00"));
  checkConsistent(s, at("2026-03-01T00:00:00Z"), at("2026-03-16T00:00:00Z"), HOUR_MS);
  checkConsistent(s, at("2026-10-25T00:00:00Z"), at("2026-11-09T00:00:00Z"), HOUR_MS);
});

Deno.test("weekly session wrapping the end of the week: Friday 22:00 to Monday 06:00 UTC", () => {
  const s = new SessionSchedule({
    startDay: "Friday",
    startTime: "22:00:00",
    endDay: "Monday",
    endTime: "06:00:00",
  });
  checkInSession(s, {
    "2026-01-09T21:59:59.999Z": false, // Friday
    "2026-01-09T22:00:00Z": true,
    "2026-01-10T12:00:00Z": true, // Saturday
    "2026-01-11T23:00:00Z": true, // Sunday
    "2026-01-12T05:59:59.999Z": true, // Monday
    "2026-01-12T06:00:00Z": false,
    "2026-01-14T12:00:00Z": false, // Wednesday
  });
  assert.equal(s.periodStartMs(at("2026-01-11T23:00:00Z")), at("2026-01-09T22:00:00Z"));
  assert.equal(s.nextStartMs(at("2026-01-12T06:00:00Z")), at("2026-01-16T22:00:00Z"));
  assert.equal(s.nextEndMs(at("2026-01-10T12:00:00Z")), at("2026-01-12T06:00:00Z"));
  checkConsistent(s, at("2026-01-01T00:00:00Z"), at("2026-01-20T00:00:00Z"), HOUR_MS);
});

Deno.test("weekly session with StartDay equal to EndDay", async (t) => {
  await t.step("a later EndTime is a window on that one day", () => {
    const s = new SessionSchedule({
      startDay: "Wednesday",
      startTime: "09:00:00",
      endDay: "Wednesday",
      endTime: "17:00:00",
    });
    checkInSession(s, {
      "2026-01-07T08:59:59.999Z": false,
      "2026-01-07T09:00:00Z": true,
      "2026-01-07T16:59:59.999Z": true,
      "2026-01-07T17:00:00Z": false,
      "2026-01-08T12:00:00Z": false,
    });
    assert.equal(s.nextStartMs(at("2026-01-07T17:00:00Z")), at("2026-01-14T09:00:00Z"));
  });
  await t.step("equal times make one week-long period, reset weekly", () => {
    const s = new SessionSchedule({
      startDay: "Monday",
      startTime: "08:00:00",
      endDay: "Monday",
      endTime: "08:00:00",
    });
    const monday = at("2026-01-05T08:00:00Z");
    for (let t = monday - DAY_MS; t < monday + 15 * DAY_MS; t += HOUR_MS) {
      assert.equal(s.isInSession(t), true);
    }
    assert.equal(s.periodStartMs(monday + 3 * DAY_MS), monday);
    assert.equal(s.nextEndMs(monday), monday + 7 * DAY_MS);
    assert.equal(s.isSamePeriod(monday - 1, monday), false);
    assert.equal(s.isSamePeriod(monday, monday + 7 * DAY_MS - 1), true);
  });
  await t.step("an earlier EndTime runs into the next week", () => {
    const s = new SessionSchedule({
      startDay: "Monday",
      startTime: "08:00:00",
      endDay: "Monday",
      endTime: "07:00:00",
    });
    assert.equal(s.nextEndMs(at("2026-01-05T08:00:00Z")), at("2026-01-12T07:00:00Z"));
    checkInSession(s, { "2026-01-12T07:30:00Z": false, "2026-01-12T08:00:00Z": true });
  });
});

Deno.test("daily 00:30-23:30 in New York across the 2026 DST changes", () => {
  const s = new SessionSchedule({
    startTime: "00:30:00",
    endTime: "23:30:00",
    timeZone: "America/New_York",
  });
  // Spring forward, Sunday 2026-03-08 02:00 EST -> 03:00 EDT.
  checkInSession(s, {
    "2026-03-07T23:29:59.999-05:00": true,
    "2026-03-07T23:30:00-05:00": false,
    "2026-03-08T00:29:59.999-05:00": false,
    "2026-03-08T00:30:00-05:00": true,
    "2026-03-08T03:00:00-04:00": true,
    "2026-03-08T23:29:59.999-04:00": true,
    "2026-03-08T23:30:00-04:00": false,
    "2026-03-09T00:30:00-04:00": true,
  });
  assert.equal(s.nextStartMs(at("2026-03-07T23:30:00-05:00")), at("2026-03-08T05:30:00Z"));
  assert.equal(s.nextEndMs(at("2026-03-08T00:30:00-05:00")), at("2026-03-09T03:30:00Z"));
  assert.equal(s.nextStartMs(at("2026-03-08T23:30:00-04:00")), at("2026-03-09T04:30:00Z"));
  assert.equal(
    s.nextEndMs(at("2026-03-08T05:30:00Z"))! - s.periodStartMs(at("2026-03-08T05:30:00Z"))!,
    22 * HOUR_MS,
  );
  // Fall back, Sunday 2026-11-01 02:00 EDT -> 01:00 EST.
  checkInSession(s, {
    "2026-10-31T23:29:59.999-04:00": true,
    "2026-10-31T23:30:00-04:00": false,
    "2026-11-01T00:29:59.999-04:00": false,
    "2026-11-01T00:30:00-04:00": true,
    "2026-11-01T01:30:00-04:00": true,
    "2026-11-01T01:30:00-05:00": true,
    "2026-11-01T23:29:59.999-05:00": true,
    "2026-11-01T23:30:00-05:00": false,
    "2026-11-02T00:30:00-05:00": true,
  });
  assert.equal(s.nextStartMs(at("2026-10-31T23:30:00-04:00")), at("2026-11-01T04:30:00Z"));
  assert.equal(s.nextEndMs(at("2026-11-01T04:30:00Z")), at("2026-11-02T04:30:00Z"));
  assert.equal(s.nextStartMs(at("2026-11-02T04:30:00Z")), at("2026-11-02T05:30:00Z"));
  assert.equal(
    s.isSamePeriod(at("2026-11-01T01:30:00-04:00"), at("2026-11-01T01:30:00-05:00")),
    true,
  );
  // Either side of the nightly break: different periods.
  assert.equal(
    s.isSamePeriod(at("2026-11-01T23:00:00-05:00"), at("2026-11-02T01:00:00-05:00")),
    false,
  );
  checkConsistent(s, at("2026-03-06T00:00:00Z"), at("2026-03-11T00:00:00Z"), 10 * 60_000);
  checkConsistent(s, at("2026-10-30T00:00:00Z"), at("2026-11-04T00:00:00Z"), 10 * 60_000);
});

Deno.test("daily 00:30-23:30 in London across the 2026 DST changes", () => {
  const s = new SessionSchedule({
    startTime: "00:30:00",
    endTime: "23:30:00",
    timeZone: "Europe/London",
  });
  // Spring forward, Sunday 2026-03-29 01:00 GMT -> 02:00 BST.
  checkInSession(s, {
    "2026-03-28T23:29:59.999Z": true,
    "2026-03-28T23:30:00Z": false,
    "2026-03-29T00:29:59.999Z": false,
    "2026-03-29T00:30:00Z": true,
    "2026-03-29T22:29:59.999Z": true,
    "2026-03-29T22:30:00Z": false, // 23:30 BST
    "2026-03-29T23:30:00Z": true, // 00:30 BST on Monday
  });
  assert.equal(s.nextEndMs(at("2026-03-29T00:30:00Z")), at("2026-03-29T23:30:00+01:00"));
  assert.equal(s.nextStartMs(at("2026-03-29T22:30:00Z")), at("2026-03-30T00:30:00+01:00"));
  // Fall back, Sunday 2026-10-25 02:00 BST -> 01:00 GMT.
  checkInSession(s, {
    "2026-10-24T22:29:59.999Z": true,
    "2026-10-24T22:30:00Z": false, // 23:30 BST
    "2026-10-24T23:29:59.999Z": false,
    "2026-10-24T23:30:00Z": true, // 00:30 BST on Sunday
    "2026-10-25T23:29:59.999Z": true,
    "2026-10-25T23:30:00Z": false, // 23:30 GMT
    "2026-10-26T00:30:00Z": true,
  });
  assert.equal(s.nextStartMs(at("2026-10-24T22:30:00Z")), at("2026-10-25T00:30:00+01:00"));
  assert.equal(s.nextEndMs(at("2026-10-24T23:30:00Z")), at("2026-10-25T23:30:00Z"));
  assert.equal(
    s.isSamePeriod(at("2026-10-25T01:30:00+01:00"), at("2026-10-25T01:30:00Z")),
    true,
  );
  checkConsistent(s, at("2026-03-27T00:00:00Z"), at("2026-04-01T00:00:00Z"), 10 * 60_000);
  checkConsistent(s, at("2026-10-23T00:00:00Z"), at("2026-10-28T00:00:00Z"), 10 * 60_000);
});

Deno.test("StartTime in the skipped hour starts at the change, the first valid instant", () => {
  const ny = new SessionSchedule({
    startTime: "02:30:00",
    endTime: "18:00:00",
    timeZone: "America/New_York",
  });
  assert.equal(ny.nextStartMs(at("2026-03-07T01:00:00-05:00")), at("2026-03-07T02:30:00-05:00"));
  // 2026-03-08 02:30 does not exist in New York: 03:00 EDT, 07:00 UTC.
  assert.equal(ny.nextStartMs(at("2026-03-07T20:00:00-05:00")), at("2026-03-08T07:00:00Z"));
  checkInSession(ny, { "2026-03-08T06:59:59.999Z": false, "2026-03-08T07:00:00Z": true });
  assert.equal(ny.periodStartMs(at("2026-03-08T12:00:00-04:00")), at("2026-03-08T03:00:00-04:00"));
  assert.equal(ny.nextEndMs(at("2026-03-08T12:00:00-04:00")), at("2026-03-08T18:00:00-04:00"));
  assert.equal(ny.nextStartMs(at("2026-03-08T20:00:00-04:00")), at("2026-03-09T02:30:00-04:00"));

  const london = new SessionSchedule({
    startTime: "01:30:00",
    endTime: "18:00:00",
    timeZone: "Europe/London",
  });
  // 2026-03-29 01:30 does not exist in London: 02:00 BST, 01:00 UTC.
  assert.equal(london.nextStartMs(at("2026-03-28T22:00:00Z")), at("2026-03-29T01:00:00Z"));
  checkInSession(london, { "2026-03-29T00:59:59.999Z": false, "2026-03-29T01:00:00Z": true });
  checkConsistent(ny, at("2026-03-06T00:00:00Z"), at("2026-03-11T00:00:00Z"), 10 * 60_000);
  checkConsistent(london, at("2026-03-27T00:00:00Z"), at("2026-04-01T00:00:00Z"), 10 * 60_000);
});

Deno.test("a time in the repeated hour is its first occurrence, and a session does not reopen", async (t) => {
  await t.step("StartTime 01:30 on the fall-back day starts at 01:30 EDT", () => {
    const s = new SessionSchedule({
      startTime: "01:30:00",
      endTime: "18:00:00",
      timeZone: "America/New_York",
    });
    assert.equal(s.nextStartMs(at("2026-10-31T20:00:00-04:00")), at("2026-11-01T01:30:00-04:00"));
    checkInSession(s, {
      "2026-11-01T01:29:59.999-04:00": false,
      "2026-11-01T01:30:00-04:00": true,
      "2026-11-01T01:00:00-05:00": true, // the clock reads 01:00 again, still in session
    });
    assert.equal(s.periodStartMs(at("2026-11-01T01:30:00-05:00")), at("2026-11-01T05:30:00Z"));
    checkConsistent(s, at("2026-10-30T00:00:00Z"), at("2026-11-04T00:00:00Z"), 10 * 60_000);
  });
  await t.step("EndTime 01:30 on the fall-back day ends at 01:30 EDT for good", () => {
    const s = new SessionSchedule({
      startTime: "18:00:00",
      endTime: "01:30:00",
      timeZone: "America/New_York",
    });
    assert.equal(s.nextEndMs(at("2026-10-31T23:00:00-04:00")), at("2026-11-01T01:30:00-04:00"));
    checkInSession(s, {
      "2026-11-01T01:29:59.999-04:00": true,
      "2026-11-01T01:30:00-04:00": false,
      "2026-11-01T01:00:00-05:00": false, // 01:00 again: not reopened
      "2026-11-01T01:29:59.999-05:00": false,
    });
    assert.equal(s.nextStartMs(at("2026-11-01T01:00:00-05:00")), at("2026-11-01T18:00:00-05:00"));
    checkConsistent(s, at("2026-10-30T00:00:00Z"), at("2026-11-04T00:00:00Z"), 10 * 60_000);
  });
  await t.step("StartTime 01:30 on London's fall-back day starts at 01:30 BST", () => {
    const s = new SessionSchedule({
      startTime: "01:30:00",
      endTime: "18:00:00",
      timeZone: "Europe/London",
    });
    assert.equal(s.nextStartMs(at("2026-10-24T20:00:00Z")), at("2026-10-25T00:30:00Z"));
    checkInSession(s, { "2026-10-25T00:29:59.999Z": false, "2026-10-25T00:30:00Z": true });
  });
});

Deno.test("a period with both ends in the skipped hour is empty and skipped", () => {
  const s = new SessionSchedule({
    startTime: "02:10:00",
    endTime: "02:50:00",
    timeZone: "America/New_York",
  });
  const saturdayEvening = at("2026-03-07T20:00:00-05:00");
  assert.equal(s.nextStartMs(saturdayEvening), at("2026-03-09T02:10:00-04:00"));
  assert.equal(s.nextEndMs(saturdayEvening), at("2026-03-09T02:50:00-04:00"));
  for (let t = saturdayEvening; t < at("2026-03-09T02:10:00-04:00"); t += 60_000) {
    assert.equal(s.isInSession(t), false);
  }
  assert.equal(s.periodStartMs(at("2026-03-08T07:00:00Z")), undefined);
  checkConsistent(s, at("2026-03-06T00:00:00Z"), at("2026-03-11T00:00:00Z"), 10 * 60_000);
});

Deno.test("Asia/Tokyo (no DST) keeps the same UTC instants all year", () => {
  const s = new SessionSchedule({
    startTime: "08:00:00",
    endTime: "17:00:00",
    timeZone: "Asia/Tokyo",
  });
  assert.equal(s.timeZone, "Asia/Tokyo");
  for (
    const date of [
      "2026-01-15",
      "2026-03-08",
      "2026-03-29",
      "2026-07-01",
      "2026-10-25",
      "2026-11-01",
    ]
  ) {
    const noon = at(`${date}T12:00:00+09:00`);
    assert.equal(s.periodStartMs(noon), at(`${date}T08:00:00+09:00`), date);
    assert.equal(s.nextEndMs(noon), at(`${date}T17:00:00+09:00`), date);
    assert.equal(s.nextEndMs(noon)! - s.periodStartMs(noon)!, 9 * HOUR_MS, date);
    assert.equal(s.nextStartMs(noon), at(`${date}T08:00:00+09:00`) + DAY_MS, date);
  }
  checkInSession(s, {
    "2026-03-07T22:59:59.999Z": false,
    "2026-03-07T23:00:00Z": true,
    "2026-03-08T07:59:59.999Z": true,
    "2026-03-08T08:00:00Z": false,
  });
  checkConsistent(s, at("2026-03-06T00:00:00Z"), at("2026-03-11T00:00:00Z"), 10 * 60_000);
});

Deno.test("non-stop session is always in session and never resets", () => {
  for (
    const s of [
      new SessionSchedule(),
      new SessionSchedule({}),
      new SessionSchedule({ nonStop: true, timeZone: "Asia/Tokyo" }),
    ]
  ) {
    assert.equal(s.kind, "nonStop");
    for (const t of [0, at("2026-03-08T07:00:00Z"), at("2026-11-01T06:00:00Z")]) {
      assert.equal(s.isInSession(t), true);
      assert.equal(s.periodStartMs(t), Number.NEGATIVE_INFINITY);
      assert.equal(s.nextStartMs(t), undefined);
      assert.equal(s.nextEndMs(t), undefined);
    }
    assert.equal(s.isSamePeriod(0, at("2026-11-01T06:00:00Z")), true);
  }
});

Deno.test("day names are read as QuickFIX reads them", () => {
  for (const name of ["Sunday", "Sun", "su", "SU", "sUnDaY", " sunday "]) {
    assert.equal(parseWeekday(name), "Sunday", name);
  }
  assert.equal(parseWeekday("tu"), "Tuesday");
  assert.equal(parseWeekday("th"), "Thursday");
  assert.equal(parseWeekday("Sat"), "Saturday");
  assert.equal(parseWeekday("Wed"), "Wednesday");
  for (const bad of ["t", "s", "", "Sundays", "Funday", "1", "dimanche"]) {
    assert.throws(() => parseWeekday(bad), RangeError, bad);
  }
  assert.throws(() => parseWeekday("x"), {
    name: "RangeError",
    message:
      'Cannot parse day of the week: day "x" is not a day of the week (expected Sunday to Saturday, or a prefix of two letters or more such as "Su" or "Sun")',
  });
});

Deno.test("session schedule rejects bad settings with clear messages", () => {
  const daily = { startTime: "08:00:00", endTime: "17:00:00" };
  assert.throws(() => new SessionSchedule({ ...daily, startTime: "25:00:00" }), {
    name: "RangeError",
    message:
      'Cannot create session schedule: startTime "25:00:00" is not a time of day (expected HH:MM:SS from 00:00:00 to 23:59:59)',
  });
  for (
    const bad of [
      "8:00:00",
      "08:00",
      "08:00:60",
      "08:60:00",
      "24:00:00",
      " 08:00:00",
      "08:00:00.000",
      "",
    ]
  ) {
    assert.throws(() => new SessionSchedule({ ...daily, endTime: bad }), RangeError, bad);
  }
  assert.throws(
    () => new SessionSchedule({ ...daily, startTime: 800 as unknown as string }),
    {
      name: "TypeError",
      message: "Cannot create session schedule: startTime must be a string, got number",
    },
  );
  assert.throws(
    () => new SessionSchedule({ ...daily, startDay: "Funday" as "Sunday", endDay: "Friday" }),
    {
      name: "RangeError",
      message:
        'Cannot create session schedule: startDay "Funday" is not a day of the week (expected Sunday to Saturday, or a prefix of two letters or more such as "Su" or "Sun")',
    },
  );
  assert.throws(() => new SessionSchedule({ ...daily, timeZone: "Mars/Olympus" }), (e) => {
    assert.ok(e instanceof RangeError);
    assert.equal(
      e.message,
      'Cannot create session schedule: timeZone "Mars/Olympus" is not a known time zone (expected an IANA name such as "America/New_York", or "UTC")',
    );
    assert.ok(e.cause instanceof RangeError);
    return true;
  });
  assert.throws(() => new SessionSchedule({ ...daily, timeZone: "" }), RangeError);
  assert.throws(() => new SessionSchedule({ startTime: "08:00:00" }), {
    name: "TypeError",
    message:
      "Cannot create session schedule: endTime is missing (startTime and endTime go together)",
  });
  assert.throws(() => new SessionSchedule({ ...daily, startDay: "Monday" }), {
    name: "TypeError",
    message: "Cannot create session schedule: endDay is missing (startDay and endDay go together)",
  });
  assert.throws(() => new SessionSchedule({ startDay: "Monday", endDay: "Friday" }), {
    name: "TypeError",
    message: "Cannot create session schedule: startDay and endDay need startTime and endTime",
  });
  assert.throws(() => new SessionSchedule({ ...daily, nonStop: true }), {
    name: "TypeError",
    message:
      "Cannot create session schedule: nonStop excludes startTime, endTime, startDay and endDay",
  });
  assert.throws(() => new SessionSchedule({ nonStop: false }), {
    name: "TypeError",
    message: "Cannot create session schedule: startTime and endTime are required unless nonStop",
  });
  const s = new SessionSchedule(daily);
  for (const bad of [NaN, Infinity, -Infinity, 9e15]) {
    assert.throws(() => s.isInSession(bad), RangeError, String(bad));
    assert.throws(() => s.nextStartMs(bad), RangeError, String(bad));
  }
  assert.throws(() => s.isSamePeriod(0, NaN), {
    name: "RangeError",
    message: "Cannot evaluate session schedule: second time NaN is not an epoch millisecond time",
  });
  assert.throws(() => s.periodStartMs("0" as unknown as number), TypeError);
});

Deno.test("schedule properties map onto the options", async (t) => {
  await t.step("a weekly London session from QuickFIX properties", () => {
    const options = parseScheduleProperties({
      StartTime: "08:00:00",
      EndTime: "17:00:00",
      TimeZone: "Europe/London",
      StartDay: "Mon",
      EndDay: "Fri",
    });
    assert.deepEqual(options, {
      startTime: "08:00:00",
      endTime: "17:00:00",
      startDay: "Monday",
      endDay: "Friday",
      timeZone: "Europe/London",
    });
    // Weekly means one period from Monday 08:00 to Friday 17:00, nights included.
    const s = new SessionSchedule(options);
    checkInSession(s, {
      "2026-06-29T07:59:59.999+01:00": false, // Monday
      "2026-06-29T08:00:00+01:00": true,
      "2026-06-30T03:00:00+01:00": true, // Tuesday night
      "2026-07-03T16:59:59.999+01:00": true, // Friday
      "2026-07-03T17:00:00+01:00": false,
      "2026-07-04T12:00:00+01:00": false, // Saturday
    });
    assert.equal(s.periodStartMs(at("2026-07-01T12:00:00+01:00")), at("2026-06-29T08:00:00+01:00"));
  });
  await t.step("absent, empty and unrelated keys", () => {
    assert.deepEqual(parseScheduleProperties({}), {});
    assert.deepEqual(
      parseScheduleProperties({
        StartTime: " 08:00:00 ",
        EndTime: "17:00:00",
        StartDay: "",
        EndDay: " ",
        TimeZone: "",
        HeartbeatInterval: "30",
        SenderCompID: "A",
      }),
      { startTime: "08:00:00", endTime: "17:00:00" },
    );
  });
  await t.step("NonStopSession", () => {
    assert.deepEqual(
      parseScheduleProperties({ NonStopSession: "Y", StartTime: "08:00:00", EndTime: "17:00:00" }),
      { nonStop: true },
    );
    assert.deepEqual(
      parseScheduleProperties({ NonStopSession: "y", TimeZone: "Asia/Tokyo", StartDay: "Mon" }),
      { nonStop: true, timeZone: "Asia/Tokyo" },
    );
    assert.deepEqual(
      parseScheduleProperties({ NonStopSession: "N", StartTime: "08:00:00", EndTime: "17:00:00" }),
      { nonStop: false, startTime: "08:00:00", endTime: "17:00:00" },
    );
    assert.throws(() => parseScheduleProperties({ NonStopSession: "N" }), {
      name: "TypeError",
      message:
        "Cannot read session schedule properties: StartTime and EndTime are required when NonStopSession is N",
    });
    assert.throws(() => parseScheduleProperties({ NonStopSession: "maybe" }), {
      name: "RangeError",
      message:
        'Cannot read session schedule properties: NonStopSession "maybe" is not a flag (expected Y or N)',
    });
  });
  await t.step("QuickFIX/J zone suffixes on the times", () => {
    assert.deepEqual(
      parseScheduleProperties({
        StartTime: "08:00:00 America/New_York",
        EndTime: "17:00:00 America/New_York",
      }),
      { startTime: "08:00:00", endTime: "17:00:00", timeZone: "America/New_York" },
    );
    assert.throws(
      () =>
        parseScheduleProperties({
          StartTime: "08:00:00 Europe/London",
          EndTime: "17:00:00",
          TimeZone: "America/New_York",
        }),
      {
        name: "TypeError",
        message:
          'Cannot read session schedule properties: TimeZone names zone "America/New_York" and StartTime names "Europe/London" (one zone per session is supported)',
      },
    );
  });
  await t.step("unsupported QuickFIX settings are refused, not ignored", () => {
    assert.throws(
      () =>
        parseScheduleProperties({
          StartTime: "08:00:00",
          EndTime: "17:00:00",
          Weekdays: "Mon,Tue",
        }),
      {
        name: "TypeError",
        message:
          'Cannot read session schedule properties: Weekdays "Mon,Tue" is not supported (use StartDay and EndDay for a weekly session)',
      },
    );
    assert.throws(
      () =>
        parseScheduleProperties({ StartTime: "08:00:00", EndTime: "17:00:00", UseLocalTime: "Y" }),
      {
        name: "TypeError",
        message:
          'Cannot read session schedule properties: UseLocalTime "Y" is not supported (name the zone with TimeZone, such as "Europe/London")',
      },
    );
    assert.deepEqual(
      parseScheduleProperties({
        StartTime: "08:00:00",
        EndTime: "17:00:00",
        UseLocalTime: "Y",
        TimeZone: "Europe/London",
      }),
      { startTime: "08:00:00", endTime: "17:00:00", timeZone: "Europe/London" },
    );
    assert.deepEqual(
      parseScheduleProperties({ StartTime: "08:00:00", EndTime: "17:00:00", UseLocalTime: "N" }),
      { startTime: "08:00:00", endTime: "17:00:00" },
    );
  });
  await t.step("bad values name the property", () => {
    assert.throws(() => parseScheduleProperties({ StartTime: "08:00:00" }), {
      name: "TypeError",
      message:
        "Cannot read session schedule properties: EndTime is missing (StartTime and EndTime go together)",
    });
    assert.throws(() => parseScheduleProperties({ StartTime: "8am", EndTime: "17:00:00" }), {
      name: "RangeError",
      message:
        'Cannot read session schedule properties: StartTime "8am" is not a time of day (expected HH:MM:SS from 00:00:00 to 23:59:59)',
    });
    assert.throws(
      () =>
        parseScheduleProperties({
          StartTime: "08:00:00",
          EndTime: "17:00:00",
          StartDay: "Xx",
          EndDay: "Fr",
        }),
      {
        name: "RangeError",
        message:
          'Cannot read session schedule properties: StartDay "Xx" is not a day of the week (expected Sunday to Saturday, or a prefix of two letters or more such as "Su" or "Sun")',
      },
    );
    assert.throws(
      () => parseScheduleProperties({ StartTime: "08:00:00", EndTime: "17:00:00", EndDay: "Fr" }),
      {
        name: "TypeError",
        message:
          "Cannot read session schedule properties: StartDay is missing (StartDay and EndDay go together)",
      },
    );
    assert.throws(() => parseScheduleProperties({ StartDay: "Mo", EndDay: "Fr" }), {
      name: "TypeError",
      message:
        "Cannot read session schedule properties: StartDay and EndDay need StartTime and EndTime",
    });
    assert.throws(() => parseScheduleProperties({ TimeZone: "Nowhere/Land" }), {
      name: "RangeError",
      message:
        'Cannot read session schedule properties: TimeZone "Nowhere/Land" is not a known time zone (expected an IANA name such as "America/New_York", or "UTC")',
    });
  });
});
