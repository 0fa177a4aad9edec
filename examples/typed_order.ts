// Typed messages: a FIX.4.4 NewOrderSingle built from an object the compiler checks (required
// fields present, Side and OrdType among the values FIX.4.4 defines, Parties as an array of
// entries) and printed as it would go on the wire. In an application the message goes to
// `session.put(order)`, which adds the header the session owns (34, 49, 52, 56).
//
// Run: deno run examples/typed_order.ts
import { encodeMessage, formatMessage } from "@fixwire/engine";
import { type NewOrderSingle, newOrderSingle } from "@fixwire/engine/fix44";

const print = (line: string): void => {
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
};

const fields: NewOrderSingle = {
  clOrdID: "ord-1",
  noPartyIDs: [
    { partyID: "BROKER-1", partyIDSource: "D", partyRole: 1 },
    { partyID: "TRADER-9", partyIDSource: "D", partyRole: 11 },
  ],
  account: "ACC-7",
  symbol: "ACME",
  side: "1", // Buy; `side: "Z"` would not compile
  transactTime: new Date(),
  orderQty: 100,
  ordType: "2", // Limit
  price: "101.25", // decimal text is kept as written
  timeInForce: "0",
};
const order = newOrderSingle(fields);
print(formatMessage(encodeMessage(order, "FIX.4.4")));

// Plain JavaScript callers and data from outside get the same check at run time.
try {
  newOrderSingle(JSON.parse('{"clOrdID": "ord-2", "side": "2", "ordType": "1"}'));
} catch (err) {
  print(`${err}`); // TypeError: Cannot build NewOrderSingle: required field TransactTime(60) ...
}
