import assert from "node:assert/strict";
import type { Clock } from "../../src/clock.ts";
import { TimerScheduler } from "../../src/engine/scheduler.ts";
import { ManualClock } from "../../src/testing.ts";

Deno.test("scheduler multiplexes many timers onto one underlying timer, in order", async () => {
  const clock = new ManualClock(0);
  const s = new TimerScheduler(clock);
  const fired: string[] = [];
  s.setTimer(300, () => fired.push("c"));
  s.setTimer(100, () => fired.push("a"));
  s.setTimer(200, () => fired.push("b1"));
  s.setTimer(200, () => fired.push("b2"));
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextTimerAtMs, 100);
  await clock.advance(200);
  assert.deepEqual(fired, ["a", "b1", "b2"]);
  assert.equal(clock.pendingTimers, 1);
  assert.equal(clock.nextTimerAtMs, 300);
  await clock.advance(100);
  assert.deepEqual(fired, ["a", "b1", "b2", "c"]);
  assert.equal(clock.pendingTimers, 0);
  s.close();
});

Deno.test("scheduler re-arms for an earlier timer and skips cancelled ones", async () => {
  const clock = new ManualClock(0);
  const s = new TimerScheduler(clock);
  const fired: number[] = [];
  const late = s.setTimer(1000, () => fired.push(1000));
  s.setTimer(500, () => fired.push(clock.now()));
  assert.equal(clock.nextTimerAtMs, 500);
  assert.equal(clock.pendingTimers, 1);
  late.cancel();
  s.setTimer(700, () => s.setTimer(clock.now() + 1, () => fired.push(clock.now())));
  await clock.advance(2000);
  assert.deepEqual(fired, [500, 701]);
  assert.equal(clock.pendingTimers, 0);
  s.close();
});

Deno.test("a throwing timer does not stop the others; close cancels everything", async () => {
  const clock = new ManualClock(0);
  const s = new TimerScheduler(clock);
  const fired: number[] = [];
  s.setTimer(10, () => {
    throw new Error("boom");
  });
  s.setTimer(10, () => fired.push(1));
  s.setTimer(50, () => fired.push(2));
  await clock.advance(10);
  assert.deepEqual(fired, [1]);
  s.close();
  await clock.advance(100);
  assert.deepEqual(fired, [1]);
  assert.equal(clock.pendingTimers, 0);
});

/** An underlying clock fired by hand: each fire is one turn; `step` ms pass at each reading. */
function handClock(step = 0) {
  let armed: { atMs: number; fn: () => void; cancelled: boolean }[] = [];
  let t = 10;
  const clock: Clock = {
    now: () => (t += step) - step,
    setTimer(atMs, fn) {
      const timer = { atMs, fn, cancelled: false };
      armed.push(timer);
      return { cancel: () => void (timer.cancelled = true) };
    },
  };
  const fire = (): number => {
    const due = armed.filter((x) => !x.cancelled);
    armed = [];
    assert.equal(due.length, 1);
    due[0].fn();
    return due[0].atMs;
  };
  return { clock, fire };
}

Deno.test("scheduler fires at most 128 due timers per turn of the underlying clock, the rest at the next", () => {
  const { clock, fire } = handClock();
  const s = new TimerScheduler(clock);
  const fired: number[] = [];
  for (let i = 0; i < 200; i++) s.setTimer(5, () => fired.push(i));
  s.setTimer(20, () => fired.push(-1));
  fire();
  assert.equal(fired.length, 128);
  // The rest is due: armed again at once, not at the next timer's time.
  assert.equal(fire(), 5);
  assert.deepEqual(fired, Array.from({ length: 200 }, (_, i) => i));
  s.close();
});

Deno.test("scheduler stops firing due timers once 2 ms of them have gone by, at its next look (every 8)", () => {
  // 1 ms passes each time the time is read: each timer takes 1 ms.
  const { clock, fire } = handClock(1);
  const s = new TimerScheduler(clock);
  const fired: number[] = [];
  for (let i = 0; i < 20; i++) s.setTimer(5, () => void fired.push(i, clock.now()));
  const ids = () => fired.filter((_, i) => i % 2 === 0);
  fire();
  assert.equal(ids().length, 8);
  fire();
  assert.equal(ids().length, 16);
  fire();
  assert.deepEqual(ids(), Array.from({ length: 20 }, (_, i) => i));
  s.close();
});

Deno.test("scheduler fires what is left after cancels anywhere in the heap, in order", async () => {
  const clock = new ManualClock(0);
  const s = new TimerScheduler(clock);
  // A fixed pseudo-random sequence (xorshift): due times with ties, cancels at every depth.
  let x = 2463534242;
  const rand = (n: number) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
  const fired: number[] = [];
  const timers: { id: number; atMs: number; handle: { cancel(): void } }[] = [];
  for (let id = 0; id < 500; id++) {
    const atMs = 1 + rand(200);
    timers.push({ id, atMs, handle: s.setTimer(atMs, () => fired.push(id)) });
  }
  const cancelled = new Set<number>();
  for (let k = 0; k < 250; k++) {
    const t = timers[rand(timers.length)];
    t.handle.cancel();
    cancelled.add(t.id);
  }
  assert.equal(s.size, 500 - cancelled.size);
  const expected = timers.filter((t) => !cancelled.has(t.id))
    .sort((a, b) => a.atMs - b.atMs || a.id - b.id).map((t) => t.id);
  await clock.advance(300);
  assert.deepEqual(fired, expected);
  assert.equal(s.size, 0);
  // Cancelling what already fired or was cancelled changes nothing.
  for (const t of timers) t.handle.cancel();
  assert.equal(s.size, 0);
  s.close();
});
