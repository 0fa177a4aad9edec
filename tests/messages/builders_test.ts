import assert from "node:assert/strict";
import type { Dictionary } from "../../src/dictionary/dictionary.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { validateMessage } from "../../src/dictionary/validator.ts";
import { DEFAULT_VALIDATION_SETTINGS } from "../../src/config/settings.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import * as fix40 from "../../src/messages/fix40.ts";
import * as fix42 from "../../src/messages/fix42.ts";
import * as fix44 from "../../src/messages/fix44.ts";
import * as fix50sp2 from "../../src/messages/fix50sp2.ts";

const NOW = "20260101-12:00:00.000";
const text = (bytes: Uint8Array) => new TextDecoder().decode(bytes).replaceAll("\x01", "|");

/** What the session adds before sending: the same on both sides of a comparison. */
function stamp(m: FixMessage): FixMessage {
  return m.set(49, "BUY").set(56, "SELL").set(34, 7).set(52, NOW);
}

/** Encodes, decodes and validates against the version's dictionary: no problem expected. */
async function assertValid(m: FixMessage, begin: string, app?: string): Promise<void> {
  const dict = await loadDictionary(begin as "FIX.4.4");
  const appDict: Dictionary | undefined = app ? await loadDictionary(app as "FIX.4.4") : undefined;
  const decoded = decodeMessage(encodeMessage(stamp(m), begin));
  assert.deepEqual(validateMessage(decoded, dict, DEFAULT_VALIDATION_SETTINGS, appDict), []);
}

Deno.test("a FIX.4.4 NewOrderSingle built typed has the bytes of the one built by hand", async () => {
  // Properties in any order; the builder writes them in dictionary order.
  const typed = fix44.newOrderSingle({
    price: "101.25",
    ordType: "2",
    orderQty: 100,
    transactTime: NOW,
    side: "1",
    symbol: "ACME",
    execInst: ["G", "6"],
    handlInst: "1",
    account: "ACC-7",
    clOrdID: "ord-1",
    noPartyIDs: [
      { partyID: "BROKER-1", partyIDSource: "D", partyRole: 1 },
      {
        partyID: "TRADER-9",
        partyIDSource: "D",
        partyRole: 11,
        noPartySubIDs: [{ partySubID: "desk-2", partySubIDType: 4 }],
      },
    ],
    timeInForce: "0",
    locateReqd: true,
    text: "hello",
    encodedText: "héllo",
    header: { onBehalfOfCompID: "DESK" },
  });
  const hand = new FixMessage("D").set(115, "DESK").set(11, "ord-1");
  hand.addGroupEntry(453).set(448, "BROKER-1").set(447, "D").set(452, 1);
  const trader = hand.addGroupEntry(453).set(448, "TRADER-9").set(447, "D").set(452, 11);
  trader.addGroupEntry(802).set(523, "desk-2").set(803, 4);
  hand.set(1, "ACC-7").set(21, "1").set(18, "G 6").set(55, "ACME").set(54, "1").set(114, "Y")
    .set(60, NOW).setDecimal(38, 100).set(40, "2").setDecimal(44, "101.25").set(59, "0")
    .set(58, "hello").set(354, 6).set(355, "héllo");
  const a = encodeMessage(stamp(typed), "FIX.4.4");
  assert.equal(text(a), text(encodeMessage(stamp(hand), "FIX.4.4")));
  assert.deepEqual(a, encodeMessage(stamp(hand), "FIX.4.4"));
  await assertValid(typed, "FIX.4.4");
});

Deno.test("a FIX.4.2 MarketDataRequest writes its required groups entry by entry", async () => {
  const typed = fix42.marketDataRequest({
    mdReqID: "md-1",
    subscriptionRequestType: "1",
    marketDepth: 0,
    noMDEntryTypes: [{ mdEntryType: "0" }, { mdEntryType: "1" }],
    noRelatedSym: [{ symbol: "ACME" }, { symbol: "INIT", securityExchange: "XNYS" }],
  });
  const hand = new FixMessage("V").set(262, "md-1").set(263, "1").set(264, 0);
  hand.addGroupEntry(267).set(269, "0");
  hand.addGroupEntry(267).set(269, "1");
  hand.addGroupEntry(146).set(55, "ACME");
  hand.addGroupEntry(146).set(55, "INIT").set(207, "XNYS");
  assert.deepEqual(encodeMessage(typed, "FIX.4.2"), encodeMessage(hand, "FIX.4.2"));
  await assertValid(typed, "FIX.4.2");
  const ok = { mdReqID: "md-1", subscriptionRequestType: "1", marketDepth: 0 } as const;
  assert.throws(
    () => fix42.marketDataRequest({ ...ok, noMDEntryTypes: [{ mdEntryType: "0" }] } as never),
    {
      name: "TypeError",
      message: "Cannot build MarketDataRequest: required group NoRelatedSym(146) is missing",
    },
  );
  assert.throws(
    () => fix42.marketDataRequest({ ...ok, noMDEntryTypes: [], noRelatedSym: [{ symbol: "A" }] }),
    { message: "Cannot build MarketDataRequest: required group NoMDEntryTypes(267) is missing" },
  );
});

Deno.test("a FIX.5.0SP2 NewOrderSingle carries its ApplVerID in the FIXT.1.1 header", async () => {
  const typed = fix50sp2.newOrderSingle({
    header: { applVerID: "9" },
    clOrdID: "ord-1",
    noPartyIDs: [{ partyID: "BROKER-1", partyIDSource: "D", partyRole: 1 }],
    symbol: "ACME",
    side: "1",
    transactTime: new Date(Date.UTC(2026, 0, 1, 12)),
    orderQty: 100,
    ordType: "2",
    price: 101.25,
  });
  const hand = new FixMessage("D").set(1128, "9").set(11, "ord-1");
  hand.addGroupEntry(453).set(448, "BROKER-1").set(447, "D").set(452, 1);
  hand.set(55, "ACME").set(54, "1").set(60, NOW).setDecimal(38, 100).set(40, "2")
    .setDecimal(44, 101.25);
  assert.deepEqual(encodeMessage(typed, "FIXT.1.1"), encodeMessage(hand, "FIXT.1.1"));
  await assertValid(typed, "FIXT.1.1", "FIX.5.0SP2");
});

Deno.test("a builder names the required field that is missing", () => {
  const order = { clOrdID: "ord-1", handlInst: "1", symbol: "ACME", side: "1", ordType: "2" };
  assert.throws(() => fix42.newOrderSingle(order as fix42.NewOrderSingle), {
    name: "TypeError",
    message: "Cannot build NewOrderSingle: required field TransactTime(60) is missing",
  });
  // null counts as absent, for data from JSON.
  assert.throws(
    () => fix42.newOrderSingle({ ...order, transactTime: NOW, clOrdID: null } as never),
    { message: "Cannot build NewOrderSingle: required field ClOrdID(11) is missing" },
  );
  // The first missing one in dictionary order.
  assert.throws(() => fix44.newOrderSingle({} as fix44.NewOrderSingle), {
    message: "Cannot build NewOrderSingle: required field ClOrdID(11) is missing",
  });
});

Deno.test("a builder names the group entry that lacks a required field", () => {
  const base = { clOrdID: "o", side: "1", transactTime: NOW, ordType: "1" } as const;
  // The first field of an entry is required in every entry, even where the dictionary says not.
  assert.throws(
    () =>
      fix44.newOrderSingle({
        ...base,
        noPartyIDs: [{ partyID: "A" }, { partyRole: 1 } as never],
      }),
    {
      message:
        "Cannot build NewOrderSingle: required field PartyID(448) is missing in NoPartyIDs(453) entry 1",
    },
  );
  assert.throws(
    () =>
      fix44.newOrderSingle({
        ...base,
        noPartyIDs: [{ partyID: "A", noPartySubIDs: [{ partySubIDType: 1 } as never] }],
      }),
    {
      message:
        "Cannot build NewOrderSingle: required field PartySubID(523) is missing in NoPartySubIDs(802) entry 0 in NoPartyIDs(453) entry 0",
    },
  );
  // An entry starting with a component's field (InstrumentLeg's LegSymbol) needs it too.
  const leg = { legSymbol: "ACME-1", legSide: "1" } as const;
  const multileg = {
    clOrdID: "m-1",
    side: "1",
    transactTime: NOW,
    ordType: "2",
    noLegs: [leg],
  } as const;
  assert.equal(fix44.newOrderMultileg(multileg).getGroups(555)[0].get(600), "ACME-1");
  assert.throws(
    () => fix44.newOrderMultileg({ ...multileg, noLegs: [{ legSide: "1" } as never] }),
    {
      message:
        "Cannot build NewOrderMultileg: required field LegSymbol(600) is missing in NoLegs(555) entry 0",
    },
  );
  assert.throws(
    () => fix44.newOrderSingle({ ...base, noPartyIDs: { partyID: "A" } as never }),
    { message: "Cannot build NewOrderSingle: group NoPartyIDs(453) is not an array" },
  );
});

Deno.test("a builder converts decimals, timestamps, lists, booleans and data fields", () => {
  const m = fix44.newOrderSingle({
    clOrdID: "o",
    side: "1",
    transactTime: new Date(Date.UTC(2026, 1, 3, 4, 5, 6, 7)),
    ordType: "2",
    orderQty: 1e21,
    price: 0.0000001,
    stopPx: "-0.50",
    locateReqd: "N",
    execInst: ["1"],
    orderRestrictions: ["1", "A"],
    encodedText: "日本",
  });
  assert.equal(m.get(60), "20260203-04:05:06.007");
  assert.equal(m.get(38), "1000000000000000000000");
  assert.equal(m.get(44), "0.0000001");
  assert.equal(m.get(99), "-0.50");
  assert.equal(m.get(114), "N");
  assert.equal(m.get(18), "1");
  assert.equal(m.get(529), "1 A");
  assert.equal(m.get(354), "6");
  const base = { clOrdID: "o", side: "1", transactTime: NOW, ordType: "2" } as const;
  assert.throws(() => fix44.newOrderSingle({ ...base, price: "1e3" as never }), {
    name: "TypeError",
    message: 'Cannot set tag 44: "1e3" is not a decimal',
  });
  assert.throws(() => fix44.newOrderSingle({ ...base, price: Number.NaN }), RangeError);
  assert.throws(
    () => fix44.newOrderSingle({ ...base, transactTime: new Date(Number.NaN) }),
    { name: "RangeError", message: 'Cannot set tag 60: "Invalid Date" is not a valid Date' },
  );
});

Deno.test("FIX.4.0 and FIX.4.1 builders write a Date in whole seconds", () => {
  const at = new Date(Date.UTC(2026, 0, 1, 12, 0, 0, 123));
  const order = { clOrdID: "o", handlInst: "1", symbol: "S", side: "1", ordType: "1" } as const;
  assert.equal(
    fix40.newOrderSingle({ ...order, orderQty: 1, expireTime: at }).get(126),
    "20260101-12:00:00",
  );
  assert.equal(
    fix42.newOrderSingle({ ...order, transactTime: at }).get(60),
    "20260101-12:00:00.123",
  );
});

Deno.test("a builder ignores properties the dictionary does not know", () => {
  const order = {
    clOrdID: "o",
    side: "1",
    transactTime: NOW,
    ordType: "2",
    internalNote: "not FIX",
  } as const;
  const m = fix44.newOrderSingle(order);
  assert.deepEqual([...m].map(([t]) => t), [35, 11, 54, 60, 40]);
});

Deno.test("a builder gives the same bytes whatever shapes its callers pass, in any order", () => {
  const fields: [string, number, string | number][] = [
    ["clOrdID", 11, "o"],
    ["account", 1, "A"],
    ["symbol", 55, "S"],
    ["side", 54, "2"],
    ["transactTime", 60, NOW],
    ["orderQty", 38, 5],
    ["ordType", 40, "1"],
    ["timeInForce", 59, "0"],
  ];
  const optional = [undefined, "account", "symbol", "orderQty", "timeInForce"];
  // Ten shapes, more than a plan keeps, twice over: shapes are evicted and found again.
  for (let round = 0; round < 2; round++) {
    for (const left of optional) {
      for (const reverse of [false, true]) {
        const kept = fields.filter(([name]) => name !== left);
        const input = Object.fromEntries(
          (reverse ? [...kept].reverse() : kept).map(([name, , v]) => [name, v]),
        );
        const want = FixMessage.fromPairs([[35, "D"], ...kept.map(([, t, v]) => [t, v] as const)]);
        assert.deepEqual(
          encodeMessage(fix44.newOrderSingle(input as never)),
          encodeMessage(want),
          `round ${round}, without ${left}, reversed ${reverse}`,
        );
      }
    }
  }
});

Deno.test("a builder reads an object whose keys are the start of the last one's", () => {
  const order = { clOrdID: "o", side: "1", transactTime: NOW, ordType: "2" } as const;
  const full = fix44.newOrderSingle({ ...order, timeInForce: "0" });
  fix44.heartbeat({ testReqID: "between" });
  const prefix = fix44.newOrderSingle(order);
  assert.deepEqual([...full].map(([t]) => t), [35, 11, 54, 60, 40, 59]);
  assert.deepEqual([...prefix].map(([t]) => t), [35, 11, 54, 60, 40]);
  const entries = fix44.newOrderSingle({
    ...order,
    noPartyIDs: [{ partyID: "A", partyRole: 1 }, { partyID: "B" }],
  }).getGroups(453);
  assert.deepEqual(entries.map((e) => [...e]), [[[448, "A"], [452, "1"]], [[448, "B"]]]);
});

Deno.test("a builder can be called again after it threw", () => {
  const ok = { clOrdID: "o", side: "1", transactTime: NOW, ordType: "2" } as const;
  for (let i = 0; i < 3; i++) {
    assert.throws(() =>
      fix44.newOrderSingle({ ...ok, noPartyIDs: [{ partyID: "A" }, {} as never] })
    );
    assert.equal(fix44.newOrderSingle(ok).get(11), "o");
  }
});

Deno.test("a builder gives the same bytes by plan as straight for every kind of single field", () => {
  const order = {
    clOrdID: "o",
    account: "A",
    execInst: ["1", "G"],
    minQty: 5,
    side: "1",
    locateReqd: true,
    transactTime: new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 6)),
    orderQty: "100",
    ordType: "2",
    price: 101.25,
    text: undefined,
    orderRestrictions: "A B",
    solicitedFlag: false,
    expireTime: "20260101-12:00:00.000",
  } as const;
  // orderRestrictions as text: the types ask for an array, the builder takes text too.
  const want = encodeMessage(fix44.newOrderSingle(order as never));
  assert.ok(new TextDecoder().decode(want).includes("\x0118=1 G\x01"));
  // The same fields in many key orders: beyond the straight shapes, the plan builds them.
  const keys = Object.keys(order) as (keyof typeof order)[];
  for (let i = 0; i < 2 * keys.length; i++) {
    const rotated = [...keys.slice(i % keys.length), ...keys.slice(0, i % keys.length)];
    const ordered = i < keys.length ? rotated : rotated.reverse();
    const f = Object.fromEntries(ordered.map((k) => [k, order[k]]));
    assert.deepEqual(encodeMessage(fix44.newOrderSingle(f as never)), want, `order ${i}`);
  }
});
