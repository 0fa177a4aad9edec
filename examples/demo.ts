// The fixwire demo. Run: deno task demo
import { decodeMessage, encodeMessage, FixMessage, formatMessage, MsgType, Tag } from "../mod.ts";

const order = new FixMessage(MsgType.NewOrderSingle)
  .set(Tag.SenderCompID, "TEST1").set(Tag.TargetCompID, "TEST2").set(Tag.MsgSeqNum, 1)
  .set(Tag.SendingTime, "20261124-10:00:00.000").set(Tag.ClOrdID, "ord-1")
  .set(Tag.Symbol, "EUR/USD").set(Tag.Side, "1").setDecimal(Tag.OrderQty, "1000")
  .set(Tag.OrdType, "2").setDecimal(Tag.Price, "1.08215");
const bytes = encodeMessage(order, "FIX.4.4");
const back = decodeMessage(bytes);
// deno-lint-ignore no-console
console.log(formatMessage(back));
