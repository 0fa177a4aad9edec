// Scheduled sessions on the manual clock: Logons only inside the session time, a Logout at its
// end at the exact instant, fresh numbers in each new period; across DST changes in two zones
// and across a week boundary.
import assert from "node:assert/strict";
import { SessionSchedule } from "../../src/schedule.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import { type Harness, harness } from "./_harness.ts";

const utc = (y: number, mo: number, d: number, h: number, mi = 0, s = 0) =>
  Date.UTC(y, mo - 1, d, h, mi, s);

/** The peer logs on (no heartbeats, so days can pass on the clock); returns what we answered. */
async function logOn(h: Harness, seq: number, reset = false): Promise<string[]> {
  const fields: [number, string | number][] = [[98, 0], [108, 0]];
  if (reset) fields.push([141, "Y"]);
  await h.peer.send("A", fields, { seq });
  h.peer.seq = seq + 1;
  await h.settle();
  return h.peer.take();
}

async function advanceTo(h: Harness, atMs: number): Promise<void> {
  await h.clock.advanceTo(atMs);
  await h.settle();
}

Deno.test("schedule: New York 08:00-17:00 across the fall-back change, numbers reset each day", async () => {
  const schedule = new SessionSchedule({
    startTime: "08:00:00",
    endTime: "17:00:00",
    timeZone: "America/New_York",
  });
  // Saturday 2026-10-31, EDT (UTC-4): the session runs 12:00-21:00 UTC.
  const h = await harness({ schedule, startMs: utc(2026, 10, 31, 11, 59, 59) });
  assert.deepEqual(await logOn(h, 1), [], "refused without a Logout before 08:00");
  assert.equal(await h.done, "Logon outside the session time");
  await h.clock.advanceTo(utc(2026, 10, 31, 12));
  await h.reconnect();
  const answer = await logOn(h, 1);
  assert.equal(answer.length, 1);
  assert.match(answer[0], /^35=A\|/);
  assert.equal(h.session.state, "established");
  await advanceTo(h, utc(2026, 10, 31, 20, 59, 59));
  assert.deepEqual(h.peer.take(), []);
  await advanceTo(h, utc(2026, 10, 31, 21));
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=2|52=${
      formatUtcTimestamp(utc(2026, 10, 31, 21))
    }|58=End of session time|`,
  ]);
  await h.peer.send("5", []);
  await h.settle();
  assert.equal(h.session.state, "correctlyTerminated");
  // Monday 2026-11-02, EST (UTC-5): 08:00 is 13:00 UTC; a new period: numbers restart, visibly.
  await h.clock.advanceTo(utc(2026, 11, 2, 12, 59, 59));
  await h.reconnect();
  assert.deepEqual(await logOn(h, 1, true), []);
  await h.clock.advanceTo(utc(2026, 11, 2, 13));
  await h.reconnect();
  const t = formatUtcTimestamp(utc(2026, 11, 2, 13));
  assert.deepEqual(await logOn(h, 1, true), [
    `35=A|49=FW|56=PEER|34=1|52=${t}|98=0|108=0|141=Y|`,
  ]);
  await advanceTo(h, utc(2026, 11, 2, 21, 59, 59));
  assert.deepEqual(h.peer.take(), []);
  await advanceTo(h, utc(2026, 11, 2, 22));
  assert.match(h.peer.take()[0] ?? "", /^35=5\|.*\|58=End of session time\|$/);
  await h.close();
});

Deno.test("schedule: a continuing Logon in a new period gets fresh numbers announced with ResetSeqNumFlag", async () => {
  const schedule = new SessionSchedule({
    startTime: "00:30:00",
    endTime: "23:30:00",
    timeZone: "Europe/London",
  });
  // Sunday 2026-03-29: GMT until 01:00 UTC, then BST. 00:30 local = 00:30 UTC; 23:30 BST = 22:30 UTC.
  const h = await harness({ schedule, startMs: utc(2026, 3, 28, 12) });
  await logOn(h, 1);
  await h.peer.send("0", []);
  await advanceTo(h, utc(2026, 3, 28, 23, 30));
  assert.match(h.peer.take()[0] ?? "", /58=End of session time/);
  await h.peer.send("5", []);
  await h.settle();
  await h.clock.advanceTo(utc(2026, 3, 29, 0, 30));
  await h.reconnect();
  // The peer continues its numbers; our numbers belong to yesterday's period: a visible reset.
  const answer = await logOn(h, 4);
  assert.match(answer[0], /^35=A\|49=FW\|56=PEER\|34=1\|.*\|141=Y\|$/);
  // Expecting 1 from the peer too, its 4 opens a gap: asked for at once.
  assert.match(answer[1], /^35=2\|49=FW\|56=PEER\|34=2\|.*\|7=1\|16=0\|$/);
  assert.equal(h.session.nextSenderSeqNum, 3);
  await advanceTo(h, utc(2026, 3, 29, 22, 29, 59));
  assert.deepEqual(h.peer.take().filter((m) => m.startsWith("35=5")), []);
  await advanceTo(h, utc(2026, 3, 29, 22, 30));
  assert.match(h.peer.take().at(-1) ?? "", /^35=5\|.*58=End of session time\|$/);
  await h.close();
});

Deno.test("schedule: the FX week, Sunday 17:00 to Friday 17:00 New York, across a week boundary", async () => {
  const schedule = new SessionSchedule({
    startTime: "17:00:00",
    endTime: "17:00:00",
    startDay: "Sunday",
    endDay: "Friday",
    timeZone: "America/New_York",
  });
  // Saturday 2026-11-28 (EST): outside; Sunday 17:00 EST is 22:00 UTC.
  const h = await harness({ schedule, startMs: utc(2026, 11, 28, 15) });
  assert.deepEqual(await logOn(h, 1), []);
  await h.clock.advanceTo(utc(2026, 11, 29, 21, 59, 59));
  await h.reconnect();
  assert.deepEqual(await logOn(h, 1), []);
  await h.clock.advanceTo(utc(2026, 11, 29, 22));
  await h.reconnect();
  assert.equal((await logOn(h, 1)).length, 1);
  // Established all week long: the Logout comes on Friday 17:00 EST = 22:00 UTC.
  await advanceTo(h, utc(2026, 12, 4, 21, 59, 59));
  assert.deepEqual(h.peer.take(), []);
  await advanceTo(h, utc(2026, 12, 4, 22));
  assert.match(h.peer.take()[0] ?? "", /58=End of session time/);
  await h.close();
});
