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
