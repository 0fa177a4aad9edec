import assert from "node:assert/strict";
import { DEFAULT_VALIDATION_SETTINGS } from "../../src/config/settings.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { validateMessage } from "../../src/dictionary/validator.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { MessageProblem } from "../../src/session/core.ts";
import { established, harness, storeAt, T0, ts } from "./_harness.ts";

/** The session's events as `from->to` for state changes and the type for the others. */
function trail(events: SessionEvent[]): string[] {
  return events.map((e) => e.type === "stateChanged" ? `${e.from}->${e.to}` : e.type);
}

async function fix44Validator(): Promise<(m: FixMessage) => MessageProblem[]> {
  const dict = await loadDictionary("FIX.4.4");
  return (m) => validateMessage(m, dict, DEFAULT_VALIDATION_SETTINGS);
}

// ---------------------------------------------------------------------------------------------
// Refusals before the Logon is accepted keep the peer's number and what the store holds; a
// Logout to the authenticated counterparty takes our next number (it counts it, as QuickFIX
// does), one to an unauthenticated peer is numbered 1 and takes none

Deno.test("acceptor refuses an invalid HeartBtInt with a Logout that takes its next number", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ store });
  await h.peer.send("A", [[98, 0], [108, "x"]], { seq: 9 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=7|52=${ts(0)}|58=Invalid HeartBtInt(108)|`,
  ]);
  assert.equal(await h.done, "Invalid HeartBtInt(108)");
  assert.equal(store.state.nextSenderSeqNum, 8);
  assert.equal(store.state.nextTargetSeqNum, 9);
  await h.close();
  await store.close();
});

Deno.test("acceptor checks credentials before HeartBtInt", async () => {
  const h = await harness({ settings: { password: "pw" } });
  await h.peer.send("A", [[98, 0], [108, "x"], [554, "bad"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=1|52=${ts(0)}|58=Invalid username or password|`,
  ]);
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

Deno.test("acceptor refuses a Logon with the wrong BeginString with an unsequenced Logout", async () => {
  const h = await harness();
  await h.peer.sendMessage(h.peer.build("A", [[98, 0], [108, 30]]).set(8, "FIX.4.2"));
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=1|52=${
      ts(0)
    }|58=Incorrect BeginString: expected FIX.4.4, received FIX.4.2|`,
  ]);
  assert.equal(await h.done, "Incorrect BeginString: expected FIX.4.4, received FIX.4.2");
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

Deno.test("acceptor disconnects a Logon with the wrong CompIDs without touching the store", async () => {
  for (const [tag, value] of [[49, "OTHER"], [56, "OTHER"]] as const) {
    const h = await harness();
    await h.peer.sendMessage(h.peer.build("A", [[98, 0], [108, 30]]).set(tag, value));
    await h.settle();
    assert.deepEqual(h.peer.take(), [], `${tag}`);
    assert.equal(await h.done, "CompID problem");
    assert.equal(h.store.state.nextSenderSeqNum, 1);
    assert.equal(h.store.state.nextTargetSeqNum, 1);
    assert.equal(h.session.state, "nonGracefullyTerminated");
    await h.close();
  }
});

Deno.test("a Logon with ResetSeqNumFlag and MsgSeqNum above 1 is refused before any reset", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ store });
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 9 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=7|52=${
      ts(0)
    }|58=Logon with ResetSeqNumFlag must have MsgSeqNum 1, received 9|`,
  ]);
  assert.equal(store.state.nextSenderSeqNum, 8);
  assert.equal(store.state.nextTargetSeqNum, 9);
  await h.close();
  await store.close();
});

Deno.test("a Logon with SendingTime out of range is refused by a disconnect without a Logout", async () => {
  const h = await harness();
  await h.peer.send("A", [[98, 0], [108, 30]], { sendingTime: T0 - 120_001 });
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(await h.done, "SendingTime accuracy problem");
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

Deno.test("a Logon with SendingTime exactly ReasonableDelayInMs away is accepted", async () => {
  const h = await harness({ settings: { reasonableDelayMs: 5000 } });
  await h.peer.send("A", [[98, 0], [108, 30]], { sendingTime: T0 + 5000 });
  await h.settle();
  assert.equal(h.session.state, "established");
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// Acceptor logon

Deno.test("acceptor disconnects without a Logout when no Logon arrives within LogonTimeFrame", async () => {
  const h = await harness({ settings: { logonTimeoutMs: 5000 } });
  assert.equal(h.clock.nextTimerAtMs, T0 + 5000);
  await h.clock.advance(4999);
  assert.equal(h.session.state, "waitingForLogon");
  await h.clock.advance(1);
  assert.equal(await h.done, "Logon timeout");
  assert.deepEqual(h.peer.take(), []);
  assert.equal(h.session.state, "nonGracefullyTerminated");
  await h.close();
});

Deno.test("acceptor disconnects without a Logout when the first message is not a Logon", async () => {
  const h = await harness();
  await h.peer.send("D", [[11, "x"]]);
  await h.settle();
  assert.equal(await h.done, "First message is not a Logon (MsgType D)");
  assert.deepEqual(h.peer.take(), []);
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  assert.deepEqual(trail(h.events), [
    "initial->waitingForLogon",
    "waitingForLogon->nonGracefullyTerminated",
    "disconnected",
  ]);
  await h.close();
});

Deno.test("initiator disconnects when the answer to its Logon is not a Logon", async () => {
  const h = await harness({ role: "initiator" });
  h.peer.take();
  await h.peer.send("0");
  await h.settle();
  assert.equal(await h.done, "First message is not a Logon (MsgType 0)");
  assert.deepEqual(h.peer.take(), []);
  assert.equal(h.store.state.nextSenderSeqNum, 2);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

Deno.test("the authenticate hook sees the Logon and may accept it", async () => {
  const seen: string[] = [];
  const h = await harness({
    handler: { authenticate: (m) => void seen.push(m.get(553)!) },
  });
  await h.peer.send("A", [[98, 0], [108, 30], [553, "alice"]]);
  await h.settle();
  assert.deepEqual(seen, ["alice"]);
  assert.equal(h.session.state, "established");
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|`]);
  await h.close();
});

Deno.test("the authenticate hook refuses a Logon with its reason and leaves the store untouched", async () => {
  const h = await harness({
    handler: { authenticate: (m) => m.get(553) === "alice" ? undefined : "Unknown user" },
  });
  await h.peer.send("A", [[98, 0], [108, 30], [553, "mallory"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=1|52=${ts(0)}|58=Unknown user|`]);
  assert.equal(await h.done, "Unknown user");
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// ForceSeqNumReset and ResetSeqNumFlag

Deno.test("ForceSeqNumReset=always makes the acceptor reset and answer with ResetSeqNumFlag", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ store, settings: { forceSeqNumReset: "always" } });
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  assert.equal(store.state.nextSenderSeqNum, 2);
  assert.equal(store.state.nextTargetSeqNum, 2);
  const logon = h.events.find((e) => e.type === "logon");
  assert.deepEqual(logon, { type: "logon", atMs: T0, reset: true });
  await h.close();
  await store.close();
});

Deno.test("acceptor: the peer's Logon confirming a reset it did not ask for is not answered", async () => {
  // QuickFIX resets on an unrequested ResetSeqNumFlag in the Logon answer and confirms with a
  // Logon of its own; answered as a new reset, each side kept confirming the other's.
  const store = await storeAt(7, 9);
  const h = await harness({ store, settings: { forceSeqNumReset: "always" } });
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(h.session.state, "established");
  assert.equal(store.state.nextSenderSeqNum, 2);
  assert.equal(store.state.nextTargetSeqNum, 2);
  assert.deepEqual(h.events.filter((e) => e.type === "logon").length, 1);
  // The numbers go on from there; a reset the peer asks for later is answered.
  await h.peer.send("0", [], { seq: 2 });
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  assert.equal(store.state.nextSenderSeqNum, 2);
  assert.equal(store.state.nextTargetSeqNum, 2);
  await h.close();
  await store.close();
});

Deno.test("acceptor: the peer's confirmation of our reset voids the gap its old numbers made", async () => {
  // A counterparty that did not reset (no session time of its own) logs on with its old
  // number: a gap for our fresh numbers. Its confirmation restarts its numbers at 1: nothing is
  // missing then, and its next message is 2.
  const store = await storeAt(7, 9);
  const delivered: string[] = [];
  const h = await harness({
    store,
    settings: { forceSeqNumReset: "always" },
    handler: { onMessage: (m) => void delivered.push(m.get(11)!) },
  });
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 9 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`,
    `35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=1|16=0|`,
  ]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.peer.send("0", [], { seq: 2 });
  await h.peer.send("D", [[11, "x"]], { seq: 3 });
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.deepEqual(delivered, ["x"]);
  assert.equal(store.state.nextTargetSeqNum, 4);
  assert.equal(h.session.state, "established");
  // Nothing is missing: its Logout ends the session correctly.
  await h.peer.send("5", [], { seq: 4 });
  await h.settle();
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(store.state.correctlyTerminated, true);
  await h.close();
  await store.close();
});

Deno.test("acceptor: a reset the peer asked for is confirmed once; its next reset is answered", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ store });
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  assert.equal(h.events.filter((e) => e.type === "logon").length, 2);
  await h.close();
  await store.close();
});

Deno.test("ForceSeqNumReset=never refuses the same Logon as too low", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ store, settings: { forceSeqNumReset: "never" } });
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=7|52=${ts(0)}|58=MsgSeqNum too low, expecting 9 but received 1|`,
  ]);
  assert.equal(store.state.nextSenderSeqNum, 8);
  assert.equal(store.state.nextTargetSeqNum, 9);
  await h.close();
  await store.close();
});

Deno.test("initiator receiving an unrequested ResetSeqNumFlag resets both numbers and confirms", async () => {
  // ResetSeqNumFlag resets both sides: ours restart at 1 too, confirmed with a Logon, as QuickFIX
  // does; messages put meanwhile are renumbered after it. An acceptor that answers the
  // confirmation as a new reset is not answered again.
  const store = await storeAt(7, 9);
  const h = await harness({ role: "initiator", store });
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=7|52=${ts(0)}|98=0|108=30|`]);
  h.session.put(new FixMessage("D").set(11, "late"));
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|11=late|`,
  ]);
  assert.equal(store.state.nextTargetSeqNum, 2);
  assert.equal(store.state.nextSenderSeqNum, 3);
  assert.deepEqual(h.events.filter((e) => e.type === "logon"), [
    { type: "logon", atMs: T0, reset: true },
  ]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.peer.send("0", [], { seq: 2 });
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(store.state.nextTargetSeqNum, 3);
  assert.equal(h.session.state, "established");
  await h.close();
  await store.close();
});

Deno.test("initiator sends ResendRequest when the Logon answer's MsgSeqNum is too high", async () => {
  const h = await harness({ role: "initiator" });
  h.peer.take();
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 5 });
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=1|16=0|`]);
  assert.equal(h.session.nextTargetSeqNum, 1);
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// NextExpectedMsgSeqNum(789)

Deno.test("initiator sends NextExpectedMsgSeqNum in its Logon for FIX.4.4 and FIXT.1.1", async () => {
  for (const [begin, extra] of [["FIX.4.4", ""], ["FIXT.1.1", "1137=9|"]]) {
    const store = await storeAt(3, 5);
    const h = await harness({
      role: "initiator",
      begin,
      store,
      settings: { enableNextExpectedMsgSeqNum: true },
    });
    assert.deepEqual(h.peer.take(), [
      `35=A|49=FW|56=PEER|34=3|52=${ts(0)}|98=0|108=30|${extra}789=5|`,
    ], begin);
    await h.close();
    await store.close();
  }
});

Deno.test("FIX.4.2 omits NextExpectedMsgSeqNum from Logon and its answer", async () => {
  const initiator = await harness({
    role: "initiator",
    begin: "FIX.4.2",
    settings: { enableNextExpectedMsgSeqNum: true },
  });
  assert.deepEqual(initiator.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|`]);
  await initiator.close();
  const acceptor = await harness({
    begin: "FIX.4.2",
    settings: { enableNextExpectedMsgSeqNum: true },
  });
  await acceptor.peer.send("A", [[98, 0], [108, 30], [789, 1]]);
  await acceptor.settle();
  assert.deepEqual(acceptor.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|`]);
  await acceptor.close();
});

Deno.test("FIXT.1.1 acceptor answers Logon with DefaultApplVerID and NextExpectedMsgSeqNum", async () => {
  const h = await harness({ begin: "FIXT.1.1", settings: { enableNextExpectedMsgSeqNum: true } });
  await h.peer.send("A", [[98, 0], [108, 30], [1137, "9"], [789, 1]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|1137=9|789=2|`,
  ]);
  await h.close();
});

Deno.test("initiator resends what the peer's NextExpectedMsgSeqNum shows it missed", async () => {
  const h = await harness({ role: "initiator", settings: { enableNextExpectedMsgSeqNum: true } });
  await h.peer.send("A", [[98, 0], [108, 30], [789, 2]]);
  await h.settle();
  await h.session.put(new FixMessage("D").set(11, "a")); // 2
  await h.session.put(new FixMessage("D").set(11, "b")); // 3
  await h.settle();
  await h.reconnect();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=4|52=${ts(0)}|98=0|108=30|789=2|`]);
  h.peer.seq = 2;
  // The peer received 2 but not 3.
  await h.peer.send("A", [[98, 0], [108, 30], [789, 3]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=D|49=FW|56=PEER|34=3|52=${ts(0)}|43=Y|122=${ts(0)}|11=b|`]);
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// State changes

Deno.test("initiator logon goes initial, waitingForConfirmLogon, established", async () => {
  const h = await harness({ role: "initiator" });
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  assert.deepEqual(trail(h.events), [
    "initial->waitingForConfirmLogon",
    "waitingForConfirmLogon->established",
    "logon",
  ]);
  assert.deepEqual(h.events[1], {
    type: "stateChanged",
    from: "waitingForConfirmLogon",
    to: "established",
    atMs: T0,
  });
  await h.close();
});

Deno.test("a Logout started by us goes through waitingForConfirmLogout to correctlyTerminated", async () => {
  const h = await established();
  const out = h.session.logout();
  await h.clock.advance(10);
  await h.peer.send("5");
  await out;
  await h.settle();
  assert.deepEqual(trail(h.events), [
    "initial->waitingForLogon",
    "waitingForLogon->established",
    "logon",
    "established->waitingForConfirmLogout",
    "waitingForConfirmLogout->correctlyTerminated",
    "logout",
    "disconnected",
  ]);
  assert.deepEqual(h.events.at(-1), {
    type: "disconnected",
    atMs: T0 + 10,
    reason: "logout confirmed",
    graceful: true,
  });
  await h.close();
});

Deno.test("a Logout started by the peer goes from established to correctlyTerminated", async () => {
  const h = await established();
  await h.peer.send("5");
  await h.settle();
  await h.done;
  assert.deepEqual(trail(h.events), [
    "initial->waitingForLogon",
    "waitingForLogon->established",
    "logon",
    "established->correctlyTerminated",
    "logout",
    "disconnected",
  ]);
  assert.equal(h.store.state.correctlyTerminated, true);
  await h.close();
});

Deno.test("a dropped connection goes from established to nonGracefullyTerminated", async () => {
  const h = await established();
  h.peer.conn.close("cable cut");
  assert.equal(await h.done, "peer closed");
  assert.deepEqual(trail(h.events), [
    "initial->waitingForLogon",
    "waitingForLogon->established",
    "logon",
    "established->nonGracefullyTerminated",
    "disconnected",
  ]);
  assert.equal(h.store.state.correctlyTerminated, false);
  await h.close();
});

// ---------------------------------------------------------------------------------------------
// Validation of session messages

Deno.test("a Logon failing validation is refused by a disconnect without a Logout", async () => {
  const h = await harness({ validate: await fix44Validator() });
  await h.peer.send("A", [[108, 30]]); // no EncryptMethod(98)
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(await h.done, "Required tag missing (EncryptMethod(98))");
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

Deno.test("with the FIX.4.4 dictionary, logon, heartbeats and resends flow as usual", async () => {
  const h = await established({ validate: await fix44Validator() });
  await h.session.put(new FixMessage("0")); // stored but gap filled
  await h.peer.send("1", [[112, "t1"]]);
  await h.peer.send("0");
  await h.peer.send("2", [[7, 1], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=0|49=FW|56=PEER|34=2|52=${ts(0)}|`,
    `35=0|49=FW|56=PEER|34=3|52=${ts(0)}|112=t1|`,
    `35=4|49=FW|56=PEER|34=1|52=${ts(0)}|43=Y|122=${ts(0)}|123=Y|36=4|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 5);
  await h.close();
});

Deno.test("a TestRequest failing validation gets a Reject and no Heartbeat", async () => {
  const h = await established({ validate: await fix44Validator() });
  await h.peer.send("1"); // no TestReqID(112)
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|45=2|371=112|372=1|373=1|58=Required tag missing (TestReqID(112))|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 3);
  assert.equal(h.session.state, "established");
  await h.close();
});

Deno.test("a ResendRequest failing validation gets a Reject and is not answered", async () => {
  const h = await established({ validate: await fix44Validator() });
  await h.session.put(new FixMessage("D").set(11, "a"));
  await h.settle();
  h.peer.take();
  await h.peer.send("2", [[7, 2]]); // no EndSeqNo(16)
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=3|52=${
      ts(0)
    }|45=2|371=16|372=2|373=1|58=Required tag missing (EndSeqNo(16))|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 3);
  await h.close();
});
