// Codec benchmarks. Each group has a baseline: a plain loop that only scans the same bytes for
// SOH. Run: deno task bench (or deno bench bench/codec_bench.ts).
import { encodeMessage, FixEncoder } from "../src/message/encoder.ts";
import { FixMessage } from "../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../src/message/framer.ts";
import { loadDictionary } from "../src/dictionary/load.ts";

const BATCH = 1000;

function newOrder(i: number): FixMessage {
  return new FixMessage("D")
    .set(49, "TEST1").set(56, "TEST2").set(34, i).set(52, "20261124-10:00:00.000")
    .set(11, `ord-${i}`).set(21, "1").set(55, "EUR/USD").set(54, "1")
    .set(60, "20261124-10:00:00.000").set(38, "1000").set(40, "2").set(44, "1.08215")
    .set(59, "0");
}

function execReport(i: number): FixMessage {
  const m = new FixMessage("8")
    .set(49, "TEST2").set(56, "TEST1").set(34, i).set(52, "20261124-10:00:00.000")
    .set(37, `o-${i}`).set(11, `ord-${i}`).set(17, `e-${i}`).set(150, "0").set(39, "0")
    .set(55, "EUR/USD").set(54, "1").set(38, "1000").set(151, "1000").set(14, "0").set(6, "0");
  for (const [id, role] of [["BRK", 1], ["CLT", 3], ["EXCH", 22]] as const) {
    m.addGroupEntry(453).set(448, id).set(447, "D").set(452, role);
  }
  return m.set(60, "20261124-10:00:00.000");
}

function stream(make: (i: number) => FixMessage): Uint8Array {
  const enc = new FixEncoder("FIX.4.4", 1 << 20);
  for (let i = 1; i <= BATCH; i++) enc.append(make(i));
  return enc.take();
}

const orders = stream(newOrder);
const reports = stream(execReport);
let sink = 0;

function scan(bytes: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < bytes.length; i++) if (bytes[i] === 1) n++;
  return n;
}

/**
 * Frames every message in `bytes`, decodes it (in one pass, as the session's read loop does),
 * and sums what `read` takes from it.
 */
function decodeAll(bytes: Uint8Array, read: (m: FixMessage) => number): number {
  const f = new FixFramer();
  f.push(bytes);
  let n = 0;
  for (let r = f.nextMessage(); r !== undefined; r = f.nextMessage()) {
    if (!(r instanceof FixMessage)) throw r;
    n += read(r);
  }
  return n;
}

/** Field access a session and an application do: header plus a few body fields. */
function readOrder(m: FixMessage): number {
  return m.intOr(34, 0) + m.msgType.length + (m.get(49)?.length ?? 0) +
    (m.get(11)?.length ?? 0) + (m.get(55)?.length ?? 0) + (m.get(44)?.length ?? 0);
}

const PARTIES = (await loadDictionary("FIX.4.4")).groupLayout("8", 453)!;
if (decodeMessage(encodeMessage(execReport(1))).getGroups(453, PARTIES).length !== 3) {
  throw new Error("the parties group layout does not match the ExecutionReport");
}
const REPORT_TAGS = [8, 9, 49, 56, 52, 37, 11, 17, 150, 39, 55, 54, 38, 151, 14, 6, 60, 10];

/** Every field the report carries, the parties group entries included. */
function readReport(m: FixMessage): number {
  let n = m.intOr(34, 0) + m.msgType.length;
  for (const t of REPORT_TAGS) n += m.get(t)?.length ?? 0;
  for (const p of m.getGroups(453, PARTIES)) {
    n += (p.get(448)?.length ?? 0) + (p.get(447)?.length ?? 0) + p.intOr(452, 0);
  }
  return n;
}

Deno.bench("baseline: scan NewOrderSingle bytes for SOH (x1000)", {
  group: "decode NewOrderSingle",
  baseline: true,
}, () => {
  sink += scan(orders);
});
Deno.bench("frame + checksum + decode + field access (x1000)", {
  group: "decode NewOrderSingle",
}, () => {
  sink += decodeAll(orders, readOrder);
});

Deno.bench("baseline: scan ExecutionReport bytes for SOH (x1000)", {
  group: "decode ExecutionReport with parties",
  baseline: true,
}, () => {
  sink += scan(reports);
});
Deno.bench("frame + checksum + decode + field access (x1000)", {
  group: "decode ExecutionReport with parties",
}, () => {
  sink += decodeAll(reports, readReport);
});

/** An ExecutionReport whose IDs are long, as many venues' are (UUIDs, dated IDs). */
function longIdReport(i: number): FixMessage {
  const hex = i.toString(16).padStart(12, "0");
  return new FixMessage("8")
    .set(49, "TEST2").set(56, "TEST1").set(34, i).set(52, "20261124-10:00:00.000")
    .set(37, `20261124-ORD-${hex}`).set(11, `6f1c2a9e-4b7d-4e21-9c3a-${hex}`)
    .set(17, `20261124-EXEC-${hex}`).set(150, "F").set(39, "2").set(55, "EUR/USD")
    .set(54, "1").set(38, "1000").set(151, "0").set(14, "1000").set(6, "1.08215")
    .set(1, "ACCOUNT-0042-EUR").set(60, "20261124-10:00:00.000");
}
const longIdReports = stream(longIdReport);

/** The IDs and times an application reads from a fill: values of 16 to 36 bytes. */
function readLongIds(m: FixMessage): number {
  return (m.get(37)?.length ?? 0) + (m.get(11)?.length ?? 0) + (m.get(17)?.length ?? 0) +
    (m.get(1)?.length ?? 0) + (m.get(60)?.length ?? 0);
}

Deno.bench("baseline: scan ExecutionReport with long IDs for SOH (x1000)", {
  group: "decode ExecutionReport with long IDs",
  baseline: true,
}, () => {
  sink += scan(longIdReports);
});
Deno.bench("frame + checksum + decode + read its IDs and TransactTime (x1000)", {
  group: "decode ExecutionReport with long IDs",
}, () => {
  sink += decodeAll(longIdReports, readLongIds);
});

const prebuiltOrder = newOrder(1);
const prebuiltReport = execReport(1);
// The baselines of the encode groups scan exactly the bytes the encoder writes.
const orderBatch = stream(() => prebuiltOrder);
const reportBatch = stream(() => prebuiltReport);
const enc = new FixEncoder("FIX.4.4", 1 << 20);
Deno.bench("baseline: scan NewOrderSingle bytes for SOH (x1000)", {
  group: "encode NewOrderSingle",
  baseline: true,
}, () => {
  sink += scan(orderBatch);
});
Deno.bench("encode NewOrderSingle into a reused buffer (x1000)", {
  group: "encode NewOrderSingle",
}, () => {
  enc.reset();
  for (let i = 0; i < BATCH; i++) enc.append(prebuiltOrder);
  sink += enc.length;
});
Deno.bench("encodeMessage NewOrderSingle to a fresh array (x1000)", {
  group: "encode NewOrderSingle",
}, () => {
  for (let i = 0; i < BATCH; i++) sink += encodeMessage(prebuiltOrder).length;
});

Deno.bench("baseline: scan ExecutionReport bytes for SOH (x1000)", {
  group: "encode ExecutionReport with parties",
  baseline: true,
}, () => {
  sink += scan(reportBatch);
});
Deno.bench("encode ExecutionReport with parties into a reused buffer (x1000)", {
  group: "encode ExecutionReport with parties",
}, () => {
  enc.reset();
  for (let i = 0; i < BATCH; i++) enc.append(prebuiltReport);
  sink += enc.length;
});

globalThis.addEventListener("unload", () => {
  if (sink === -1) throw new Error("unreachable");
});
