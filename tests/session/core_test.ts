// The pure core on its own: feed an input with "now", compare the actions it returns. No
// connection, no store, no clock.
import assert from "node:assert/strict";
import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from "../../src/config/settings.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import { formatUtcTimestamp } from "../../src/message/timestamps.ts";
import type { Action } from "../../src/session/actions.ts";
import { SessionCore, type SessionRole } from "../../src/session/core.ts";
import type { Logger } from "../../src/logger.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { SessionId } from "../../src/session_id.ts";
import { body, T0 } from "./_harness.ts";

function core(
  role: SessionRole,
  settings: Partial<SessionSettings> = {},
  numbers = [1, 1],
  logger?: Logger,
) {
  return new SessionCore({
    logger,
    id: new SessionId("FW", "PEER"),
    beginString: "FIX.4.4",
    role,
    settings: { ...DEFAULT_SESSION_SETTINGS, ...settings },
    numbers: {
      nextSenderSeqNum: numbers[0],
      nextTargetSeqNum: numbers[1],
      creationTimeMs: 0,
      correctlyTerminated: false,
    },
  });
}

/** A message as it goes on the wire, without 8, 9 and 10. */
function wire(m: FixMessage): string {
  return body(decodeMessage(encodeMessage(m, "FIX.4.4")));
}

/** Actions in a readable form: messages as their fields, events as their type. */
function show(actions: Action[]): string[] {
  return actions.map((a) => {
    switch (a.type) {
      case "send":
        return `send ${a.store} ${wire(a.message)}`;
      case "persist":
        return `persist ${wire(a.message)}`;
      case "deliver":
        return `deliver ${wire(a.message)}`;
      case "event":
        return a.event.type === "stateChanged" ? `state ${a.event.to}` : `event ${a.event.type}`;
      case "timer":
        return `timer +${a.atMs - T0}`;
      case "setTarget":
      case "setSender":
        return `${a.type} ${a.seq}`;
      case "close":
        return `close ${a.reason}${a.flush ? " after writes" : ""}`;
      default:
        return a.type;
    }
  });
}

function fromPeer(msgType: string, seq: number, fields: [number, string | number][] = []) {
  const m = new FixMessage(msgType).set(8, "FIX.4.4").set(49, "PEER").set(56, "FW").set(34, seq)
    .set(52, formatUtcTimestamp(T0));
  for (const [t, v] of fields) m.set(t, v);
  return m;
}

const t = formatUtcTimestamp(T0);

Deno.test("core: an initiator's link opens with its Logon and the logon deadline", () => {
  const c = core("initiator", { logonTimeoutMs: 5000 });
  assert.deepEqual(show(c.connected(T0)), [
    "state waitingForConfirmLogon",
    `send advance 35=A|49=FW|56=PEER|34=1|52=${t}|98=0|108=30|`,
    "timer +5000",
  ]);
  assert.deepEqual(show(c.onTimer(T0 + 5000)), [
    "close Logon timeout after writes",
    "timer +10000", // what is queued gets LogoutTimeFrame to drain
  ]);
});

Deno.test("core: an acceptor admits a Logon, answers it and arms the heartbeat", () => {
  const c = core("acceptor");
  c.connected(T0);
  assert.deepEqual(show(c.admitLogon(fromPeer("A", 1, [[98, 0], [108, 20]]), T0)), [
    "setTerminated",
    `send advance 35=A|49=FW|56=PEER|34=1|52=${t}|98=0|108=20|`,
    "state established",
    "event logon",
    "setTarget 2",
  ]);
  // The logon deadline's timer (at +10 s) is still pending: it fires and re-arms for the
  // heartbeat, which then goes out at +20 s.
  assert.deepEqual(show(c.onTimer(T0 + 10_000)), ["timer +20000"]);
  assert.deepEqual(show(c.onTimer(T0 + 20_000)), [
    `send advance 35=0|49=FW|56=PEER|34=2|52=${formatUtcTimestamp(T0 + 20_000)}|`,
    "timer +24000",
  ]);
});

Deno.test("core: an application message is delivered before its number is persisted", () => {
  const c = core("acceptor");
  c.connected(T0);
  c.admitLogon(fromPeer("A", 1, [[98, 0], [108, 30]]), T0);
  assert.deepEqual(show(c.onMessage(fromPeer("D", 2, [[11, "a"]]), T0)), [
    `deliver 35=D|49=PEER|56=FW|34=2|52=${t}|11=a|`,
    "setTarget 3",
  ]);
  assert.equal(c.nextTargetSeqNum, 3);
});

Deno.test("core: a refused Logon returns only an unsequenced Logout and a close", () => {
  const c = core("acceptor", { password: "secret" }, [50, 40]);
  c.connected(T0);
  assert.deepEqual(show(c.admitLogon(fromPeer("A", 40, [[98, 0], [108, 30], [554, "x"]]), T0)), [
    `send none 35=5|49=FW|56=PEER|34=1|52=${t}|58=Invalid username or password|`,
    "close Invalid username or password after writes", // the pending +5 s timer bounds it
  ]);
  assert.deepEqual([c.nextSenderSeqNum, c.nextTargetSeqNum], [50, 40]);
});

Deno.test("core: a message put while disconnected is persisted, not written", () => {
  const c = core("initiator", {}, [7, 3]);
  assert.deepEqual(show(c.send(new FixMessage("D").set(11, "late"), T0)), [
    `persist 35=D|49=FW|56=PEER|34=7|52=${t}|11=late|`,
  ]);
  assert.equal(c.nextSenderSeqNum, 8);
  assert.equal(c.queuedMessages, 1);
});

Deno.test("core: a TestRequest with an empty TestReqID gets a Heartbeat without an empty 112", () => {
  const c = core("acceptor");
  c.connected(T0);
  c.admitLogon(fromPeer("A", 1, [[98, 0], [108, 30]]), T0);
  const out = show(c.onMessage(fromPeer("1", 2, [[112, ""]]), T0));
  assert.deepEqual(out, ["setTarget 3", `send advance 35=0|49=FW|56=PEER|34=2|52=${t}|`]);
});

Deno.test("core: a FIX.4.0 initiator resetting its numbers sends no ResetSeqNumFlag (4.0 has none)", () => {
  const c = new SessionCore({
    id: new SessionId("FW", "PEER"),
    beginString: "FIX.4.0",
    role: "initiator",
    settings: { ...DEFAULT_SESSION_SETTINGS, forceSeqNumReset: "always" },
    numbers: {
      nextSenderSeqNum: 9,
      nextTargetSeqNum: 4,
      creationTimeMs: 0,
      correctlyTerminated: false,
    },
  });
  const sends = c.connected(T0).filter((a) => a.type === "send");
  assert.equal(sends.length, 1);
  const logon = sends[0].type === "send" ? sends[0].message : undefined;
  assert.equal(logon?.get(141), undefined);
  assert.equal(logon?.get(34), "1");
});

Deno.test("core: a run of garbled messages is one log line, a count every 10 s and one at its end; each is still an event", () => {
  const lines: string[] = [];
  const log = (level: string) => (m: string, f?: Record<string, unknown>) => {
    const { session: _, error: _e, lastError: _l, ...rest } = f ?? {};
    lines.push(`${level} ${m}${Object.keys(rest).length > 0 ? " " + JSON.stringify(rest) : ""}`);
  };
  const logger: Logger = { debug() {}, info() {}, warn: log("warn"), error: log("error") };
  const c = core("acceptor", {}, [1, 1], logger);
  c.connected(T0);
  c.admitLogon(fromPeer("A", 1, [[98, 0], [108, 30]]), T0);
  const garbled = (at: number) =>
    show(c.onGarbled(new FixParseError("CheckSum(10) does not match", { offset: 0 }), at));
  // 1,000 garbled messages in 1 s: one line; each an event.
  for (let i = 0; i < 1000; i++) assert.deepEqual(garbled(T0 + i), ["event garbled"]);
  assert.deepEqual(lines, ["warn garbled message ignored"]);
  // The run goes on: 10 s past its last line, a line counts those since it (999 + 2).
  garbled(T0 + 9_999);
  assert.equal(lines.length, 1);
  garbled(T0 + 10_000);
  assert.deepEqual(lines.slice(1), [
    `warn garbled messages ignored {"count":1001,"sinceMs":10000}`,
  ]);
  garbled(T0 + 10_001);
  garbled(T0 + 10_002);
  // A message that is not garbled ends the run and tells the rest; it is processed as ever.
  assert.deepEqual(show(c.onMessage(fromPeer("0", 2), T0 + 10_500)), ["setTarget 3"]);
  assert.deepEqual(lines.slice(2), [`warn garbled messages ignored {"count":2,"sinceMs":500}`]);
  // A garbled message alone is one line, as before, and nothing more at the next message.
  garbled(T0 + 11_000);
  c.onMessage(fromPeer("0", 3), T0 + 11_001);
  assert.deepEqual(lines.slice(3), ["warn garbled message ignored"]);
  // The end of the connection ends a run too.
  garbled(T0 + 12_000);
  garbled(T0 + 12_001);
  c.disconnected("peer closed", T0 + 12_002);
  assert.deepEqual(lines.slice(4), [
    "warn garbled message ignored",
    `warn garbled messages ignored {"count":1,"sinceMs":2}`,
  ]);
  assert.equal(c.nextTargetSeqNum, 4, "no garbled message took a number");
});
