// The logger that tells each message at most once per interval (warnings about connections that
// have not logged on): counts in between, the last fields, a timer for what is left, a flush.
import assert from "node:assert/strict";
import { RepeatLimitedLogger } from "../../src/engine/_repeat_log.ts";
import { TimerScheduler } from "../../src/engine/scheduler.ts";
import type { LogFields } from "../../src/logger.ts";
import { ManualClock } from "../../src/testing.ts";

function setup() {
  const clock = new ManualClock(0);
  const lines: [string, string, LogFields | undefined][] = [];
  const to = {
    debug: (m: string, f?: LogFields) => void lines.push(["debug", m, f]),
    info: (m: string, f?: LogFields) => void lines.push(["info", m, f]),
    warn: (m: string, f?: LogFields) => void lines.push(["warn", m, f]),
    error: (m: string, f?: LogFields) => void lines.push(["error", m, f]),
  };
  return { clock, lines, log: new RepeatLimitedLogger(to, new TimerScheduler(clock), 10_000) };
}

Deno.test("repeat-limited log: the first line of each message at once, the rest counted", async () => {
  const { clock, lines, log } = setup();
  log.warn("a", { n: 1 });
  log.error("b", { n: 1 });
  for (let n = 2; n <= 5; n++) log.warn("a", { n });
  log.error("b", { n: 2 });
  assert.deepEqual(lines, [["warn", "a", { n: 1 }], ["error", "b", { n: 1 }]]);
  // At 10 s the timer tells each message's count with its last fields; a single one plainly.
  await clock.advance(9_999);
  assert.equal(lines.length, 2);
  await clock.advance(1);
  assert.deepEqual(lines.slice(2), [["warn", "a", { n: 5, times: 4 }], ["error", "b", { n: 2 }]]);
  // Nothing more to tell: the timer is not set again.
  await clock.advance(60_000);
  assert.equal(lines.length, 4);
});

/** A scheduler whose timers never fire: its clock is set by hand, its timers only counted. */
function stillScheduler(): { scheduler: TimerScheduler; set(ms: number): void; timers(): number } {
  let now = 0;
  let timers = 0;
  const scheduler = {
    now: () => now,
    setTimer: () => {
      timers++;
      return { cancel() {} };
    },
  } as unknown as TimerScheduler;
  return { scheduler, set: (ms) => now = ms, timers: () => timers };
}

Deno.test("repeat-limited log: a line after the interval tells what came before it; flush tells the rest", () => {
  // A scheduler whose timer is late (it never fires here): the next line comes first.
  const still = stillScheduler();
  const lines: [string, LogFields | undefined][] = [];
  const noop = () => {};
  const to = {
    debug: (m: string, f?: LogFields) => void lines.push([m, f]),
    info: noop,
    warn: noop,
    error: noop,
  };
  const log = new RepeatLimitedLogger(to, still.scheduler, 10_000);
  log.debug("c", { n: 1 });
  still.set(10_000);
  // No count pending: written at once, plainly.
  log.debug("c", { n: 2 });
  log.debug("c", { n: 3 });
  log.debug("c", { n: 4 });
  assert.deepEqual(lines, [["c", { n: 1 }], ["c", { n: 2 }]]);
  assert.equal(still.timers(), 1);
  still.set(20_000);
  // This line stands for the 2 counted and itself.
  log.debug("c", { n: 5 });
  assert.deepEqual(lines[2], ["c", { n: 5, times: 3 }]);
  log.debug("c", { n: 6 });
  log.debug("c", { n: 7 });
  log.flush();
  assert.deepEqual(lines[3], ["c", { n: 7, times: 2 }]);
  log.flush();
  assert.equal(lines.length, 4);
});

Deno.test("repeat-limited log: each message's count is told when its own 10 s end", async () => {
  const { clock, lines, log } = setup();
  log.warn("a");
  await clock.advance(5_000);
  log.warn("b");
  await clock.advance(1_000);
  log.warn("b"); // due at 15 s
  await clock.advance(1_000);
  log.warn("a"); // due at 10 s: earlier than b's
  await clock.advance(3_000);
  assert.deepEqual(lines.slice(2), [["warn", "a", undefined]]);
  await clock.advance(5_000);
  assert.deepEqual(lines.slice(3), [["warn", "b", undefined]]);
});

Deno.test("repeat-limited log: after close, what was counted is written and every later line at once", () => {
  const still = stillScheduler();
  const lines: [string, LogFields | undefined][] = [];
  const noop = () => {};
  const to = {
    debug: noop,
    info: noop,
    warn: (m: string, f?: LogFields) => void lines.push([m, f]),
    error: noop,
  };
  const log = new RepeatLimitedLogger(to, still.scheduler, 10_000);
  log.warn("a", { n: 1 });
  log.warn("a", { n: 2 });
  log.warn("a", { n: 3 });
  assert.equal(still.timers(), 1);
  log.close();
  assert.deepEqual(lines, [["a", { n: 1 }], ["a", { n: 3, times: 2 }]]);
  // The engine has stopped: its scheduler sets no timer, so nothing may wait for one.
  log.warn("a", { n: 4 });
  log.warn("b", { n: 1 });
  log.warn("a", { n: 5 });
  assert.deepEqual(lines.slice(2), [["a", { n: 4 }], ["b", { n: 1 }], ["a", { n: 5 }]]);
  assert.equal(still.timers(), 1);
});
