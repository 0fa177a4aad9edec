import assert from "node:assert/strict";
import { TurnBudget, yieldToOthers } from "../../src/engine/_turns.ts";

Deno.test("a turn budget lets a batch of units run at once, then the rest in order, a batch per yield", async () => {
  const budget = new TurnBudget(3);
  const ran: number[] = [];
  const waits: Promise<void>[] = [];
  for (let i = 0; i < 8; i++) {
    const w = budget.take();
    if (w === undefined) ran.push(i);
    else waits.push(w.then(() => void ran.push(i)));
  }
  assert.deepEqual(ran, [0, 1, 2]);
  assert.equal(budget.waiting, 5);
  // Something queued before the waiters' first batch runs before it.
  let other = false;
  setImmediate(() => other = true);
  await waits[0];
  assert.equal(other, true);
  // Let go one at a time, each after the one before it ran.
  assert.deepEqual(ran, [0, 1, 2, 3]);
  await waits[2];
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5]);
  assert.equal(budget.waiting, 2);
  await Promise.all(waits);
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5, 6, 7]);
  // Units taken meanwhile count against the batch in progress (6 and 7 took 2 of 3).
  assert.equal(budget.take(), undefined);
  assert.notEqual(budget.take(), undefined);
  await yieldToOthers();
});

Deno.test("yieldToOthers lets immediates queued before it run first", async () => {
  const seen: string[] = [];
  setImmediate(() => seen.push("immediate"));
  await yieldToOthers();
  seen.push("after");
  assert.deepEqual(seen, ["immediate", "after"]);
});

Deno.test("a turn budget ends a batch once it has lasted its slice, also for units let go after a yield", async () => {
  let nowMs = 0;
  const budget = new TurnBudget(10, 2, () => nowMs);
  const ran: number[] = [];
  const waits: Promise<void>[] = [];
  // Each unit costs 1 ms: two fit a 2 ms slice, the third waits although the batch has room.
  const unit = (i: number) => {
    ran.push(i);
    nowMs += 1;
  };
  for (let i = 0; i < 6; i++) {
    const w = budget.take();
    if (w === undefined) unit(i);
    else waits.push(w.then(() => unit(i)));
  }
  assert.deepEqual(ran, [0, 1]);
  assert.equal(budget.waiting, 4);
  const turns: number[] = [];
  const watch = () => {
    turns.push(ran.length);
    if (ran.length < 6) setImmediate(watch);
  };
  setImmediate(watch);
  await Promise.all(waits);
  assert.deepEqual(ran, [0, 1, 2, 3, 4, 5]);
  // The others ran between the batches: never more than two units between two looks.
  for (let i = 1; i < turns.length; i++) assert.ok(turns[i] - turns[i - 1] <= 2, `${turns}`);
  assert.ok(turns.includes(4), `a look between the second and third batch: ${turns}`);
  // A unit taken long after the batch began yields once, then starts a batch of its own.
  nowMs += 100;
  const late = budget.take();
  assert.notEqual(late, undefined);
  await late;
  assert.equal(budget.take(), undefined);
});
