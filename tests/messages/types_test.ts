// The types reject what the dictionary does not allow. Each `@ts-expect-error` line must be an
// error: were the types looser, `deno check` (and `deno test`, which checks first) would fail
// with "Unused '@ts-expect-error' directive". The lines that would run are run, and throw.
import assert from "node:assert/strict";
import * as fix42 from "../../src/messages/fix42.ts";
import * as fix44 from "../../src/messages/fix44.ts";
import * as fix50sp2 from "../../src/messages/fix50sp2.ts";

const NOW = "20260101-12:00:00.000";

Deno.test("enumerated fields take only their version's values", () => {
  const order: fix44.NewOrderSingle = { clOrdID: "o", side: "1", transactTime: NOW, ordType: "2" };
  order.side = "G"; // Cross short exempt: a Side in FIX.4.4
  // @ts-expect-error "H" is not a Side in FIX.4.4
  order.side = "H";
  // @ts-expect-error "5" (Market on close) is not an OrdType in FIX.4.4 any more
  order.ordType = "5";
  // @ts-expect-error PartyRole is an INT enumeration: numbers, not text
  order.noPartyIDs = [{ partyID: "A", partyRole: "1" }];
  // @ts-expect-error 999 is not a PartyRole
  order.noPartyIDs = [{ partyID: "A", partyRole: 999 }];
  // @ts-expect-error "T" is not an ExecInst value in FIX.4.4
  order.execInst = ["1", "T"];
  // @ts-expect-error a multiple-value field with values takes them as an array
  order.execInst = "1 2";

  // "G" is a Side in FIX.4.4 but not in FIX.4.2; "H" is one in FIX.5.0 SP2.
  const nos42: fix42.NewOrderSingle = {
    clOrdID: "o",
    handlInst: "1",
    symbol: "S",
    // @ts-expect-error "G" is not a Side in FIX.4.2
    side: "G",
    transactTime: NOW,
    ordType: "1",
  };
  const nos50: fix50sp2.NewOrderSingle = {
    clOrdID: "o",
    side: "H",
    transactTime: NOW,
    ordType: "1",
  };
  assert.equal(fix50sp2.newOrderSingle(nos50).get(54), "H");
  assert.equal(fix42.newOrderSingle(nos42).get(54), "G");

  const sideOf44: fix44.SideValue = "1";
  // @ts-expect-error the union is exported per field, per version
  const sideOf42: fix42.SideValue = "G";
  assert.deepEqual([sideOf44, sideOf42], ["1", "G"]);
});

Deno.test("required fields are required properties", () => {
  assert.throws(
    // @ts-expect-error TransactTime is required in a FIX.4.4 NewOrderSingle
    () => fix44.newOrderSingle({ clOrdID: "o", side: "1", ordType: "2" }),
    { message: "Cannot build NewOrderSingle: required field TransactTime(60) is missing" },
  );
  assert.throws(
    // @ts-expect-error HandlInst and Symbol are required in FIX.4.2, not in FIX.4.4
    () => fix42.newOrderSingle({ clOrdID: "o", side: "1", transactTime: NOW, ordType: "2" }),
    TypeError,
  );
  assert.throws(
    () =>
      fix42.marketDataRequest({
        mdReqID: "m",
        subscriptionRequestType: "0",
        marketDepth: 1,
        noMDEntryTypes: [{ mdEntryType: "0" }],
        // @ts-expect-error Symbol is required in each NoRelatedSym entry of FIX.4.2
        noRelatedSym: [{ securityID: "X" }],
      }),
    TypeError,
  );
  assert.throws(
    () =>
      // @ts-expect-error NoRelatedSym is a required group of a FIX.4.2 MarketDataRequest
      fix42.marketDataRequest({
        mdReqID: "m",
        subscriptionRequestType: "0",
        marketDepth: 1,
        noMDEntryTypes: [],
      }),
    TypeError,
  );
  assert.throws(
    () =>
      fix44.newOrderSingle({
        clOrdID: "o",
        side: "1",
        transactTime: NOW,
        ordType: "2",
        // @ts-expect-error the first field of an entry (PartyID) starts every entry
        noPartyIDs: [{ partyRole: 1 }],
      }),
    TypeError,
  );
  const leg: fix44.LegOrdGrpNoLegsEntry = { legSymbol: "L" };
  // @ts-expect-error LegSymbol starts every NoLegs entry, though InstrumentLeg is optional
  const noSymbol: fix44.LegOrdGrpNoLegsEntry = { legSide: "1" };
  assert.deepEqual([leg.legSymbol, noSymbol.legSide], ["L", "1"]);
});

Deno.test("fields take their FIX type", () => {
  const order: fix44.NewOrderSingle = { clOrdID: "o", side: "1", transactTime: NOW, ordType: "2" };
  order.price = 101.25;
  order.price = "101.250";
  // @ts-expect-error a decimal is a number or decimal text
  order.price = "cheap";
  order.transactTime = new Date();
  // @ts-expect-error a UTCTimestamp is text or a Date
  order.transactTime = 1767268800000;
  order.locateReqd = true;
  order.locateReqd = "N";
  // @ts-expect-error a boolean is true/false or "Y"/"N"
  order.locateReqd = "yes";
  // @ts-expect-error an INT field takes a number
  order.noPartyIDs = [{ partyID: "A", noPartySubIDs: [{ partySubID: "x", partySubIDType: "4" }] }];
  assert.throws(
    // @ts-expect-error a property the dictionary does not have (a misspelt ClOrdID)
    () => fix44.newOrderSingle({ clOrdId: "o", side: "1", transactTime: NOW, ordType: "2" }),
    TypeError,
  );
  assert.throws(
    // @ts-expect-error a required field cannot be set to undefined either
    () => fix44.newOrderSingle({ clOrdID: undefined, side: "1", transactTime: NOW, ordType: "2" }),
    TypeError,
  );
});

Deno.test("the header takes only what the session does not set", () => {
  const order: fix50sp2.NewOrderSingle = {
    clOrdID: "o",
    side: "1",
    transactTime: NOW,
    ordType: "2",
    header: { applVerID: "9", onBehalfOfCompID: "DESK" },
  };
  // @ts-expect-error the session sets MsgSeqNum
  order.header = { msgSeqNum: 5 };
  // @ts-expect-error "99" is not an ApplVerID
  order.header = { applVerID: "99" };
  // @ts-expect-error the session sets SenderCompID
  const h44: fix44.StandardHeader = { senderCompID: "ME" };
  assert.equal(fix50sp2.newOrderSingle(order).get(1128), "99");
  assert.equal(Object.keys(h44).length, 1);
});
