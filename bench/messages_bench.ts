// Typed builders against building the same FixMessage by hand, same fields, same run: a FIX.4.4
// NewOrderSingle without and with Parties entries, and a FIX.5.0 SP2 one without and with
// (whose dictionary is ten times larger: a build costs the same). Both sides take each order's
// values from the application's own order objects, two of them in turn, as an application does:
// with literal values V8 would compute part of the hand-built side (a decimal's check) at
// compile time.
// Every bench is warmed up first, all of them, then measured: the generated fill functions are
// large, V8 takes 5-10 ms to compile one with TurboFan in the background, and deno bench's own
// warm-up can end before that (a builder then measured at 1.3x its steady cost, in some runs and
// not others); the Parties rows also change what the fills have seen.
// Run: deno bench bench/messages_bench.ts
import { FixMessage } from "../src/message/fix_message.ts";
import * as fix44 from "../src/messages/fix44.ts";
import * as fix50sp2 from "../src/messages/fix50sp2.ts";

/** The benches, registered after the warm-up (see the end). */
const benches: Deno.BenchDefinition[] = [];
const bench = (b: Deno.BenchDefinition): void => void benches.push(b);

interface Order {
  id: string;
  account: string;
  symbol: string;
  side: "1" | "2";
  at: string;
  qty: fix44.Decimal;
  price: fix44.Decimal;
  broker: string;
  trader: string;
}

const ORDERS: Order[] = [
  {
    id: "ord-1",
    account: "ACC-7",
    symbol: "ACME",
    side: "1",
    at: "20260101-12:00:00.000",
    qty: "100",
    price: "101.25",
    broker: "BROKER-1",
    trader: "TRADER-9",
  },
  {
    id: "ord-2",
    account: "ACC-8",
    symbol: "INIT",
    side: "2",
    at: "20260101-12:00:00.001",
    qty: "250",
    price: "99.5",
    broker: "BROKER-2",
    trader: "TRADER-3",
  },
];
let next = 0;

function byHand(): void {
  const o = ORDERS[next++ & 1];
  new FixMessage("D")
    .set(11, o.id)
    .set(1, o.account)
    .set(21, "1")
    .set(55, o.symbol)
    .set(54, o.side)
    .set(60, o.at)
    .setDecimal(38, o.qty)
    .set(40, "2")
    .setDecimal(44, o.price)
    .set(59, "0");
}

/** An order with two Parties entries, by hand (both versions build the same message). */
function partiesByHand(): void {
  const o = ORDERS[next++ & 1];
  const m = new FixMessage("D").set(11, o.id);
  m.addGroupEntry(453).set(448, o.broker).set(447, "D").set(452, 1);
  m.addGroupEntry(453).set(448, o.trader).set(447, "D").set(452, 11);
  m.set(1, o.account).set(21, "1").set(55, o.symbol).set(54, o.side).set(60, o.at)
    .setDecimal(38, o.qty).set(40, "2").setDecimal(44, o.price).set(59, "0");
}

/** The same order's fields for a typed builder (one call site, as an application has). */
const withParties = (o: Order) => ({
  clOrdID: o.id,
  noPartyIDs: [
    { partyID: o.broker, partyIDSource: "D" as const, partyRole: 1 as const },
    { partyID: o.trader, partyIDSource: "D" as const, partyRole: 11 as const },
  ],
  account: o.account,
  handlInst: "1" as const,
  symbol: o.symbol,
  side: o.side,
  transactTime: o.at,
  orderQty: o.qty,
  ordType: "2" as const,
  price: o.price,
  timeInForce: "0" as const,
});

bench({ name: "FIX.4.4 NewOrderSingle by hand", group: "fix44", baseline: true, fn: byHand });

bench({
  name: "FIX.4.4 NewOrderSingle typed builder",
  group: "fix44",
  fn: () => {
    const o = ORDERS[next++ & 1];
    fix44.newOrderSingle({
      clOrdID: o.id,
      account: o.account,
      handlInst: "1",
      symbol: o.symbol,
      side: o.side,
      transactTime: o.at,
      orderQty: o.qty,
      ordType: "2",
      price: o.price,
      timeInForce: "0",
    });
  },
});

bench({
  name: "FIX.4.4 NewOrderSingle with Parties by hand",
  group: "fix44 parties",
  baseline: true,
  fn: partiesByHand,
});

bench({
  name: "FIX.4.4 NewOrderSingle with Parties typed builder",
  group: "fix44 parties",
  fn: () => {
    fix44.newOrderSingle(withParties(ORDERS[next++ & 1]));
  },
});

bench({
  name: "FIX.5.0SP2 NewOrderSingle by hand",
  group: "fix50sp2",
  baseline: true,
  fn: byHand,
});

bench({
  name: "FIX.5.0SP2 NewOrderSingle typed builder",
  group: "fix50sp2",
  fn: () => {
    const o = ORDERS[next++ & 1];
    fix50sp2.newOrderSingle({
      clOrdID: o.id,
      account: o.account,
      handlInst: "1",
      symbol: o.symbol,
      side: o.side,
      transactTime: o.at,
      orderQty: o.qty,
      ordType: "2",
      price: o.price,
      timeInForce: "0",
    });
  },
});

// Eight call sites passing eight shapes of fields object (the keys in other orders): the first
// four shapes go through the straight code, the others through the plan. Without that split,
// V8's property caches would go megamorphic and each of the message's hundreds of reads would
// cost a hash probe (measured: 11x a hand-built message here, over 25x for FIX.5.0 SP2's).
const SHAPES: ((o: Order) => fix44.NewOrderSingle)[] = [
  (o) => ({
    clOrdID: o.id,
    account: o.account,
    symbol: o.symbol,
    side: o.side,
    transactTime: o.at,
    orderQty: o.qty,
    ordType: "2",
    price: o.price,
  }),
  (o) => ({
    account: o.account,
    clOrdID: o.id,
    symbol: o.symbol,
    side: o.side,
    transactTime: o.at,
    orderQty: o.qty,
    ordType: "2",
    price: o.price,
  }),
  (o) => ({
    symbol: o.symbol,
    clOrdID: o.id,
    account: o.account,
    side: o.side,
    transactTime: o.at,
    orderQty: o.qty,
    ordType: "2",
    price: o.price,
  }),
  (o) => ({
    side: o.side,
    clOrdID: o.id,
    account: o.account,
    symbol: o.symbol,
    transactTime: o.at,
    orderQty: o.qty,
    ordType: "2",
    price: o.price,
  }),
  (o) => ({
    transactTime: o.at,
    clOrdID: o.id,
    account: o.account,
    symbol: o.symbol,
    side: o.side,
    orderQty: o.qty,
    ordType: "2",
    price: o.price,
  }),
  (o) => ({
    orderQty: o.qty,
    clOrdID: o.id,
    account: o.account,
    symbol: o.symbol,
    side: o.side,
    transactTime: o.at,
    ordType: "2",
    price: o.price,
  }),
  (o) => ({
    ordType: "2",
    clOrdID: o.id,
    account: o.account,
    symbol: o.symbol,
    side: o.side,
    transactTime: o.at,
    orderQty: o.qty,
    price: o.price,
  }),
  (o) => ({
    price: o.price,
    clOrdID: o.id,
    account: o.account,
    symbol: o.symbol,
    side: o.side,
    transactTime: o.at,
    orderQty: o.qty,
    ordType: "2",
  }),
];

bench({
  name: "FIX.4.4 NewOrderSingle by hand (eight callers)",
  group: "fix44 eight shapes",
  baseline: true,
  fn: () => {
    const o = ORDERS[next & 1];
    SHAPES[next++ & 7](o);
    new FixMessage("D").set(11, o.id).set(1, o.account).set(55, o.symbol).set(54, o.side)
      .set(60, o.at).setDecimal(38, o.qty).set(40, "2").setDecimal(44, o.price);
  },
});

bench({
  name: "FIX.4.4 NewOrderSingle typed builder (eight callers)",
  group: "fix44 eight shapes",
  fn: () => {
    fix44.newOrderSingle(SHAPES[next & 7](ORDERS[next++ & 1]));
  },
});

bench({
  name: "FIX.5.0SP2 NewOrderSingle with Parties by hand",
  group: "fix50sp2 parties",
  baseline: true,
  fn: partiesByHand,
});

bench({
  name: "FIX.5.0SP2 NewOrderSingle with Parties typed builder",
  group: "fix50sp2 parties",
  fn: () => {
    fix50sp2.newOrderSingle(withParties(ORDERS[next++ & 1]));
  },
});

// The warm-up: every bench, twice, with a pause for the background compiles to land.
for (let round = 0; round < 2; round++) {
  for (const b of benches) for (let i = 0; i < 200_000; i++) (b.fn as () => void)();
  await new Promise((r) => setTimeout(r, 200));
}
for (const b of benches) Deno.bench(b);
