// fixwire's side of the codec rows of bench/vs_quickfix.ts. QuickFIX's side is
// tests/interop/peer/codec_bench.cpp, which does the same work on the same messages.
//
// Run: deno run -A bench/codec_rows.ts decode|decode-dict|encode COUNT [--orders FILE] [--warmup N]
//      deno run -A bench/codec_rows.ts write FILE [M]
//
// write        writes M (default 10,000) distinct NewOrderSingle frames back to back to FILE.
// decode       reads FILE again and again until COUNT messages are decoded. The bytes arrive in
//              64 KiB chunks into the session's framer (framing, BodyLength(9), CheckSum(10)),
//              each frame is decoded (FixFramer.nextMessage, as the session's read loop does),
//              and the fields a session and an application read are read.
// decode-dict  the same, each message also validated against the FIX.4.4 dictionary with the
//              session's default validation settings (as a session with validation on does).
// encode       builds COUNT NewOrderSingle from field values (header included) and encodes each
//              into an encoder reset every 64 KiB (the batch a session writes).
// The first N messages (--warmup, default 100,000) are not timed. Prints one JSON line:
//   {"task":"decode","count":COUNT,"ns":ELAPSED,"bytes":B,"check":C}
import { DEFAULT_VALIDATION_SETTINGS } from "../src/config/settings.ts";
import type { Dictionary } from "../src/dictionary/dictionary.ts";
import { loadDictionary } from "../src/dictionary/load.ts";
import { validateMessage } from "../src/dictionary/validator.ts";
import { FixEncoder } from "../src/message/encoder.ts";
import { FixMessage } from "../src/message/fix_message.ts";
import { FixFramer } from "../src/message/framer.ts";

const CHUNK = 64 * 1024;
const TIME = "20261124-10:00:00.000";

/** Messages handled, bytes taken or produced, and a sum that keeps the work observable. */
export interface Totals {
  messages: number;
  bytes: number;
  check: number;
}

/** The NewOrderSingle both codec programs (and bench/e2e.ts's trader) build, header included. */
export function order(i: number): FixMessage {
  return new FixMessage("D").set(49, "T").set(56, "V").set(34, i + 1).set(52, TIME)
    .set(11, `o${i}`).set(21, "1").set(55, "EUR/USD").set(54, "1").set(60, TIME)
    .set(38, 100).set(40, "2").set(44, 1.08215);
}

/**
 * `m` distinct orders encoded back to back.
 *
 * @param m How many.
 * @returns The frames.
 */
export function orderStream(m: number): Uint8Array {
  const enc = new FixEncoder("FIX.4.4", 1 << 20);
  for (let i = 0; i < m; i++) enc.append(order(i));
  return enc.take();
}

/** The fields a session and an application read (codec_bench.cpp reads the same). */
function readOrder(m: FixMessage): number {
  return m.intOr(34, 0) + m.msgType.length + (m.get(49)?.length ?? 0) +
    (m.get(11)?.length ?? 0) + (m.get(55)?.length ?? 0) + (m.get(44)?.length ?? 0);
}

/** Feeds `stream` in 64 KiB chunks, as often as needed, until `count` messages are decoded. */
function decode(stream: Uint8Array, count: number, dict: Dictionary | undefined, t: Totals) {
  const framer = new FixFramer();
  let at = 0;
  while (t.messages < count) {
    const n = Math.min(CHUNK, stream.length - at);
    framer.push(stream.subarray(at, at + n));
    at += n;
    if (at === stream.length) at = 0;
    t.bytes += n;
    while (t.messages < count) {
      // What the session's read loop does: frame and decode in one pass (FixFramer.nextMessage).
      const m = framer.nextMessage();
      if (m === undefined) break;
      if (!(m instanceof FixMessage)) throw m;
      if (dict !== undefined) {
        const problems = validateMessage(m, dict, DEFAULT_VALIDATION_SETTINGS);
        if (problems.length > 0) throw new Error(`Invalid order: ${problems[0].text}`);
      }
      t.check += readOrder(m);
      t.messages++;
    }
  }
}

function encode(count: number, first: number, t: Totals) {
  const enc = new FixEncoder("FIX.4.4", 2 * CHUNK);
  for (let i = first; i < first + count; i++) {
    enc.append(order(i));
    if (enc.length >= CHUNK) {
      t.bytes += enc.length;
      t.check += enc.view(enc.length - 2, enc.length - 1)[0];
      enc.reset();
    }
    t.messages++;
  }
  t.bytes += enc.length;
}

if (import.meta.main) {
  const [task, arg] = Deno.args;
  const option = (name: string, fallback: string) => {
    const i = Deno.args.indexOf(name);
    return i >= 0 ? Deno.args[i + 1] : fallback;
  };
  if (task === "write") {
    await Deno.writeFile(arg, orderStream(Number(Deno.args[2] ?? 10_000)));
    Deno.exit(0);
  }
  const count = Number(arg);
  const warmup = Number(option("--warmup", "100000"));
  const warm: Totals = { messages: 0, bytes: 0, check: 0 };
  const t: Totals = { messages: 0, bytes: 0, check: 0 };
  let t0: number;
  if (task === "encode") {
    encode(warmup, 0, warm);
    t0 = performance.now();
    encode(count, warmup, t);
  } else if (task === "decode" || task === "decode-dict") {
    const stream = await Deno.readFile(option("--orders", ""));
    const dict = task === "decode-dict" ? await loadDictionary("FIX.4.4") : undefined;
    decode(stream, warmup, dict, warm);
    t0 = performance.now();
    decode(stream, count, dict, t);
  } else {
    throw new TypeError(`Cannot run codec task: "${task}" is not decode, decode-dict or encode`);
  }
  const ns = Math.round((performance.now() - t0) * 1e6);
  const line = JSON.stringify({
    task,
    count: t.messages,
    ns,
    bytes: t.bytes,
    check: t.check + warm.check,
  });
  Deno.stdout.writeSync(new TextEncoder().encode(line + "\n"));
}
