// Typed builders against building the same FixMessage by hand, same fields, same run: a FIX.4.4
// NewOrderSingle without and with Parties entries, and a FIX.5.0 SP2 one (whose dictionary is
// ten times larger: a build walks the fields set, not the dictionary).
// Run: deno bench bench/messages_bench.ts
import { FixMessage } from "../src/message/fix_message.ts";
import * as fix44 from "../src/messages/fix44.ts";
import * as fix50sp2 from "../src/messages/fix50sp2.ts";

const NOW = "20260101-12:00:00.000";

function byHand(): void {
  new FixMessage("D")
    .set(11, "ord-1")
    .set(1, "ACC-7")
    .set(21, "1")
    .set(55, "ACME")
    .set(54, "1")
    .set(60, NOW)
    .setDecimal(38, "100")
    .set(40, "2")
    .setDecimal(44, "101.25")
    .set(59, "0");
}

Deno.bench({ name: "FIX.4.4 NewOrderSingle by hand", group: "fix44", baseline: true, fn: byHand });

Deno.bench({
  name: "FIX.4.4 NewOrderSingle typed builder",
  group: "fix44",
  fn: () => {
    fix44.newOrderSingle({
      clOrdID: "ord-1",
      account: "ACC-7",
      handlInst: "1",
      symbol: "ACME",
      side: "1",
      transactTime: NOW,
      orderQty: "100",
      ordType: "2",
      price: "101.25",
      timeInForce: "0",
    });
  },
});

Deno.bench({
  name: "FIX.4.4 NewOrderSingle with Parties by hand",
  group: "fix44 parties",
  baseline: true,
  fn: () => {
    const m = new FixMessage("D").set(11, "ord-1");
    m.addGroupEntry(453).set(448, "BROKER-1").set(447, "D").set(452, 1);
    m.addGroupEntry(453).set(448, "TRADER-9").set(447, "D").set(452, 11);
    m.set(1, "ACC-7").set(21, "1").set(55, "ACME").set(54, "1").set(60, NOW)
      .setDecimal(38, "100").set(40, "2").setDecimal(44, "101.25").set(59, "0");
  },
});

Deno.bench({
  name: "FIX.4.4 NewOrderSingle with Parties typed builder",
  group: "fix44 parties",
  fn: () => {
    fix44.newOrderSingle({
      clOrdID: "ord-1",
      noPartyIDs: [
        { partyID: "BROKER-1", partyIDSource: "D", partyRole: 1 },
        { partyID: "TRADER-9", partyIDSource: "D", partyRole: 11 },
      ],
      account: "ACC-7",
      handlInst: "1",
      symbol: "ACME",
      side: "1",
      transactTime: NOW,
      orderQty: "100",
      ordType: "2",
      price: "101.25",
      timeInForce: "0",
    });
  },
});

Deno.bench({
  name: "FIX.5.0SP2 NewOrderSingle by hand",
  group: "fix50sp2",
  baseline: true,
  fn: byHand,
});

Deno.bench({
  name: "FIX.5.0SP2 NewOrderSingle typed builder",
  group: "fix50sp2",
  fn: () => {
    fix50sp2.newOrderSingle({
      clOrdID: "ord-1",
      account: "ACC-7",
      handlInst: "1",
      symbol: "ACME",
      side: "1",
      transactTime: NOW,
      orderQty: "100",
      ordType: "2",
      price: "101.25",
      timeInForce: "0",
    });
  },
});
