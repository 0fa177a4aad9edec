// The generated builders' two ways of filling a message: straight code for the first shapes of
// fields object a part sees, the plan for the rest. Both must give the same fields.
import assert from "node:assert/strict";
import type { FieldMap } from "../../src/message/fix_message.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import {
  build,
  DEC,
  entry,
  group,
  message,
  type PlanBuilder,
  R,
  SMALL_PART,
  STRAIGHT_SHAPES,
} from "../../src/messages/_runtime.ts";
import * as fix44 from "../../src/messages/fix44.ts";

interface Order {
  clOrdID: string;
  account?: string;
  symbol?: string;
  price?: number | `${number}`;
}

function defOrder(d: PlanBuilder): void {
  d.field(11, "ClOrdID", R);
  d.field(1, "Account", 0);
  d.field(55, "Symbol", 0);
  d.field(44, "Price", DEC);
}

/** A part whose straight fill counts its calls (and writes what a generated one would). */
function countingPart(size: number) {
  const calls = { n: 0 };
  const fill = (m: FieldMap, f: Order): void => {
    calls.n++;
    m.add(11, f.clOrdID);
    if (f.account != null) m.add(1, f.account);
    if (f.symbol != null) m.add(55, f.symbol);
    if (f.price != null) m.add(44, String(f.price));
  };
  return { part: message("D", "Order", defOrder, fill, size), calls };
}

/** Objects with the same fields in as many key orders as asked. */
function shapes(count: number): Order[] {
  const entries: [keyof Order, string][] = [
    ["clOrdID", "o-1"],
    ["account", "A"],
    ["symbol", "S"],
    ["price", "1.5"],
  ];
  const out: Order[] = [];
  for (let i = 0; i < count; i++) {
    // Rotations and their reverses: distinct key orders.
    const rotated = [...entries.slice(i % 4), ...entries.slice(0, i % 4)];
    out.push(Object.fromEntries(i < 4 ? rotated : rotated.reverse()) as unknown as Order);
  }
  return out;
}

Deno.test("a large part fills straight for its first shapes and by plan for the others, alike", () => {
  const { part, calls } = countingPart(SMALL_PART + 1);
  const fields: [number, string][] = [[35, "D"], [11, "o-1"], [1, "A"], [55, "S"], [44, "1.5"]];
  const want = encodeMessage(FixMessage.fromPairs(fields));
  const objects = shapes(STRAIGHT_SHAPES + 2);
  for (let round = 0; round < 2; round++) {
    for (const [i, f] of objects.entries()) {
      assert.deepEqual(encodeMessage(build(part, f)), want, `shape ${i}, round ${round}`);
    }
  }
  // A message of single fields: its first shape straight, twice; the others by plan.
  assert.equal(calls.n, 2);
});

Deno.test("a large group entry fills straight for its first shapes and by plan for the others", () => {
  const calls = { n: 0 };
  const fill = (m: FieldMap, f: Order): void => {
    calls.n++;
    m.add(11, f.clOrdID);
    if (f.account != null) m.add(1, f.account);
    if (f.symbol != null) m.add(55, f.symbol);
    if (f.price != null) m.add(44, String(f.price));
  };
  const part = entry(73, "NoOrders", defOrder, fill, SMALL_PART + 1);
  const fields: [number, string][] = [[11, "o-1"], [1, "A"], [55, "S"], [44, "1.5"]];
  const want = encodeMessage(FixMessage.fromPairs([[35, "E"], [73, 2], ...fields, ...fields]));
  const objects = shapes(STRAIGHT_SHAPES + 2);
  for (let round = 0; round < 2; round++) {
    for (const [i, f] of objects.entries()) {
      const m = new FixMessage("E");
      group(m, [f, f], part, "List", 0);
      assert.deepEqual(encodeMessage(m), want, `shape ${i}, round ${round}`);
    }
  }
  // The first STRAIGHT_SHAPES shapes, two entries twice each; the two more went by plan.
  assert.equal(calls.n, STRAIGHT_SHAPES * 4);
});

Deno.test("a small part fills straight whatever the shape", () => {
  const { part, calls } = countingPart(SMALL_PART);
  for (const f of shapes(STRAIGHT_SHAPES + 2)) build(part, f);
  assert.equal(calls.n, STRAIGHT_SHAPES + 2);
});

Deno.test("the plan checks what the straight fill checks, with the same errors", () => {
  const { part } = countingPart(SMALL_PART + 1);
  // Use up the straight shapes, so the objects below go by plan.
  for (const f of shapes(STRAIGHT_SHAPES)) build(part, f);
  assert.throws(() => build(part, { symbol: "S", account: "A" } as unknown as Order), {
    name: "TypeError",
    message: "Cannot build Order: required field ClOrdID(11) is missing",
  });
  assert.throws(() => build(part, { price: "1e3", clOrdID: "o" } as unknown as Order), {
    message: 'Cannot set tag 44: "1e3" is not a decimal',
  });
});

Deno.test("a generated builder gives the same bytes by plan as straight, groups included", () => {
  const order = {
    clOrdID: "o",
    side: "1",
    transactTime: "20260101-12:00:00.000",
    ordType: "2",
    price: "101.25",
    noPartyIDs: [
      { partyID: "A", partyRole: 1, noPartySubIDs: [{ partySubID: "desk", partySubIDType: 4 }] },
      { partyID: "B", partyIDSource: "D" },
    ],
    header: { onBehalfOfCompID: "DESK" },
  } as const;
  const want = encodeMessage(fix44.newOrderSingle(order));
  // The same fields in many key orders: beyond the straight shapes, the plan builds them.
  const keys = Object.keys(order) as (keyof typeof order)[];
  for (let i = 0; i < 2 * keys.length; i++) {
    const rotated = [...keys.slice(i % keys.length), ...keys.slice(0, i % keys.length)];
    const ordered = i < keys.length ? rotated : rotated.reverse();
    const f = Object.fromEntries(ordered.map((k) => [k, order[k]]));
    assert.deepEqual(encodeMessage(fix44.newOrderSingle(f as never)), want, `order ${i}`);
  }
});

Deno.test("a part keeps filling alike past the shapes its plan keeps, straight ones straight", () => {
  const { part, calls } = countingPart(SMALL_PART + 1);
  const want = encodeMessage(
    FixMessage.fromPairs([[35, "D"], [11, "o-1"], [1, "A"], [55, "S"], [44, "1.5"]]),
  );
  // Twenty shapes starting with the same key (a property the plan does not know makes each
  // one distinct), more than the plan keeps: the plan evicts the oldest, the straight one
  // among them, and finds it again.
  const objects = Array.from({ length: 20 }, (_, i) =>
    ({
      clOrdID: "o-1",
      [`extra${i}`]: i,
      account: "A",
      symbol: "S",
      price: "1.5",
    }) as unknown as Order);
  for (let round = 0; round < 3; round++) {
    for (const [i, f] of objects.entries()) {
      assert.deepEqual(encodeMessage(build(part, f)), want, `shape ${i}, round ${round}`);
    }
    // Its first shape only (a message of single fields), found again each round.
    assert.equal(calls.n, round + 1, `round ${round}`);
  }
  // A throw by plan leaves nothing behind: the next build is whole.
  assert.throws(() => build(part, { account: "A", extra0: 0 } as unknown as Order), {
    message: "Cannot build Order: required field ClOrdID(11) is missing",
  });
  assert.deepEqual(encodeMessage(build(part, objects[19])), want);
});

Deno.test("shapes sharing their first key are told apart by the others", () => {
  const { part } = countingPart(SMALL_PART + 1);
  for (const f of shapes(STRAIGHT_SHAPES)) build(part, f);
  const a = { clOrdID: "a", account: "A", symbol: "S" } as Order;
  const b = { clOrdID: "b", symbol: "S", account: "A" } as Order;
  const c = { clOrdID: "c", symbol: "S" } as Order;
  const d = { clOrdID: "d", symbol: "S", price: 2 } as Order;
  for (let round = 0; round < 2; round++) {
    for (
      const [f, pairs] of [
        [a, [[11, "a"], [1, "A"], [55, "S"]]],
        [b, [[11, "b"], [1, "A"], [55, "S"]]],
        [c, [[11, "c"], [55, "S"]]],
        [d, [[11, "d"], [55, "S"], [44, "2"]]],
      ] as [Order, [number, string][]][]
    ) {
      const want = FixMessage.fromPairs([[35, "D"], ...pairs]);
      assert.deepEqual(encodeMessage(build(part, f)), encodeMessage(want), f.clOrdID);
    }
  }
});

Deno.test("a message of single fields by plan drops absent values and checks the rest", () => {
  const { part } = countingPart(SMALL_PART + 1);
  for (const f of shapes(STRAIGHT_SHAPES)) build(part, f);
  const cases: [Record<string, unknown>, [number, string][]][] = [
    [{ price: 2.5, symbol: "S", clOrdID: "a" }, [[11, "a"], [55, "S"], [44, "2.5"]]],
    [{ price: undefined, symbol: "S", clOrdID: "b" }, [[11, "b"], [55, "S"]]],
    [{ price: "3", account: null, clOrdID: "c" }, [[11, "c"], [44, "3"]]],
    [{ symbol: null, account: undefined, clOrdID: "d" }, [[11, "d"]]],
  ];
  for (let round = 0; round < 2; round++) {
    for (const [f, pairs] of cases) {
      const want = FixMessage.fromPairs([[35, "D"], ...pairs]);
      assert.deepEqual(encodeMessage(build(part, f as unknown as Order)), encodeMessage(want));
    }
  }
  assert.throws(() => build(part, { price: 1, clOrdID: null } as unknown as Order), {
    name: "TypeError",
    message: "Cannot build Order: required field ClOrdID(11) is missing",
  });
  assert.throws(() => build(part, { price: Infinity, clOrdID: "e" } as unknown as Order), {
    name: "RangeError",
  });
  // The message it makes is a message like any other: fields replaced, added, groups added.
  const m = build(part, { price: 2, clOrdID: "f", symbol: "S" } as unknown as Order);
  m.set(55, "T").add(58, "hi").addGroupEntry(453).set(448, "P");
  m.set(44, "2.25");
  assert.deepEqual(
    encodeMessage(m),
    encodeMessage(
      FixMessage.fromPairs([[35, "D"], [11, "f"], [55, "T"], [44, "2.25"], [58, "hi"], [453, 1], [
        448,
        "P",
      ]]),
    ),
  );
});

Deno.test("a group a builder adds at once is a group like one added entry by entry", () => {
  const built = fix44.newOrderSingle({
    clOrdID: "o",
    noPartyIDs: [
      { partyID: "A", partyRole: 1, noPartySubIDs: [{ partySubID: "desk", partySubIDType: 4 }] },
      { partyID: "B", partyIDSource: "D" },
    ],
    side: "1",
    transactTime: "20260101-12:00:00.000",
    ordType: "1",
  });
  const byHand = new FixMessage("D").set(11, "o");
  const a = byHand.addGroupEntry(453).set(448, "A").set(452, 1);
  a.addGroupEntry(802).set(523, "desk").set(803, 4);
  byHand.addGroupEntry(453).set(448, "B").set(447, "D");
  byHand.set(54, "1").set(60, "20260101-12:00:00.000").set(40, "1");
  assert.deepEqual(encodeMessage(built), encodeMessage(byHand));
  // Edited afterwards, both alike.
  for (const m of [built, byHand]) {
    assert.equal(m.fieldCount, 13);
    assert.equal(m.tagAt(2), 453);
    m.addGroupEntry(453).set(448, "C");
    m.getGroups(453)[0].getGroups(802)[0].set(523, "desk2");
    assert.throws(() => m.set(453, 5), RangeError);
    assert.equal(m.removeGroupEntry(453, 1), true);
    m.set(58, "text");
  }
  assert.deepEqual(encodeMessage(built), encodeMessage(byHand));
  assert.deepEqual(encodeMessage(built.clone()), encodeMessage(byHand));
  assert.equal(built.fieldCount, byHand.fieldCount);
  assert.deepEqual([...built.getGroups(453)[1]], [[448, "C"]]);
});

Deno.test("entries for a group the message holds already go into it", () => {
  const part = entry(453, "NoPartyIDs", (d) => d.field(448, "PartyID", 0), (m, f: {
    partyID: string;
  }) => {
    m.add(448, f.partyID);
  }, 1);
  const m = new FixMessage("D");
  group(m, [{ partyID: "A" }], part, "D", 0);
  group(m, [{ partyID: "B" }, { partyID: "C" }], part, "D", 0);
  const want = new FixMessage("D");
  for (const id of ["A", "B", "C"]) want.addGroupEntry(453).set(448, id);
  assert.deepEqual(encodeMessage(m), encodeMessage(want));
  assert.equal(m.get(453), "3");
});

Deno.test("a part guesses the shape that follows the last one, and checks the guess", () => {
  const { part } = countingPart(SMALL_PART + 1);
  build(part, { clOrdID: "first" } as Order);
  const objects: [Order, [number, string][]][] = [
    [{ account: "A", clOrdID: "a" } as Order, [[11, "a"], [1, "A"]]],
    [{ symbol: "S", clOrdID: "b" } as Order, [[11, "b"], [55, "S"]]],
    [{ account: "A", clOrdID: "c", symbol: "S" } as Order, [[11, "c"], [1, "A"], [55, "S"]]],
    [{ account: "A", symbol: "S", clOrdID: "d" } as Order, [[11, "d"], [1, "A"], [55, "S"]]],
    [{} as Order, []],
  ];
  // Orders in which the shape after each is sometimes the one that followed it last time,
  // sometimes one with the same first key only, sometimes another.
  const orders = [[0, 1, 2, 3, 4], [0, 1, 0, 2, 0, 3], [4, 0, 4, 1, 3, 2, 1, 0], [2, 3, 2, 0, 3]];
  for (const order of orders) {
    for (const k of order) {
      const [f, pairs] = objects[k];
      if (k === 4) {
        assert.throws(() => build(part, f), { message: /required field ClOrdID\(11\)/ });
        continue;
      }
      const want = FixMessage.fromPairs([[35, "D"], ...pairs]);
      assert.deepEqual(encodeMessage(build(part, f)), encodeMessage(want), `${order} ${k}`);
    }
  }
});
