import assert from "node:assert/strict";
import { FixMessage } from "../../src/message/fix_message.ts";
import { MessageExpiredError, OutgoingBufferFullError } from "../../src/errors.ts";
import { established, type Harness, harness, storeAt, T0, ts } from "./_harness.ts";

Deno.test("FIX.4.0 and FIX.4.1 ResendRequests use EndSeqNo 999999", async () => {
  for (const begin of ["FIX.4.0", "FIX.4.1"]) {
    const h = await established({ begin });
    await h.peer.send("0", [], { seq: 4 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=2|49=FW|56=PEER|34=2|52=${ts(0, begin)}|7=2|16=999999|`,
    ], begin);
    await h.close();
  }
});

Deno.test("FIX.4.2, FIX.4.4 and FIXT.1.1 ResendRequests use EndSeqNo 0", async () => {
  for (const begin of ["FIX.4.2", "FIX.4.4", "FIXT.1.1"]) {
    const h = await established({ begin });
    await h.peer.send("0", [], { seq: 4 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`], begin);
    await h.close();
  }
});

Deno.test("ResendRequestBlockSize splits our ResendRequests", async () => {
  const h = await established({ settings: { resendRequestBlockSize: 2 } });
  await h.peer.send("0", [], { seq: 7 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=3|`]);
  await h.peer.send("0", [], { seq: 2, possDup: true, orig: T0 });
  await h.peer.send("0", [], { seq: 3, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=3|52=${ts(0)}|7=4|16=5|`]);
  await h.peer.send("4", [[123, "Y"], [36, 7]], { seq: 4, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(h.session.nextTargetSeqNum, 8);
  await h.close();
});

Deno.test("a Logon whose MsgSeqNum is too high is accepted and followed by a ResendRequest", async () => {
  const h = await harness();
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 5 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|`,
    `35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=1|16=0|`,
  ]);
  assert.equal(h.session.state, "established");
  await h.peer.send("4", [[123, "Y"], [36, 6]], { seq: 1, possDup: true, orig: T0 });
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 6);
  await h.close();
});

Deno.test("a Logon whose MsgSeqNum is too low is refused unless IgnoreSeqNumTooLowAtLogon", async () => {
  for (const ignore of [false, true]) {
    const h = await harness({ detached: true, settings: { ignoreSeqNumTooLowAtLogon: ignore } });
    h.store.setNextTargetSeqNum(10);
    await h.close({ keepStore: true });
    const h2 = await harness({ store: h.store, settings: { ignoreSeqNumTooLowAtLogon: ignore } });
    await h2.peer.send("A", [[98, 0], [108, 30]], { seq: 3 });
    await h2.settle();
    const out = h2.peer.take();
    if (ignore) assert.equal(h2.session.state, "established");
    else {
      assert.deepEqual(out, [
        `35=5|49=FW|56=PEER|34=1|52=${ts(0)}|58=MsgSeqNum too low, expecting 10 but received 3|`,
      ]);
    }
    await h2.close();
    await h.store.close();
  }
});

Deno.test("a Logout refusing a Logon numbered too low takes a number, never sent again", async () => {
  // The counterparty counts the Logout. Reused by the next Logout or Logon, the number would be
  // too low there, and it would end that Logon in turn (seen with QuickFIX in the interop suite).
  const store = await storeAt(7, 12);
  const h = await harness({ store });
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 9 });
  await h.settle();
  await h.reconnect();
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 10 });
  await h.settle();
  assert.deepEqual(h.written.flat(), [
    `35=5|49=FW|56=PEER|34=7|52=${ts(0)}|58=MsgSeqNum too low, expecting 12 but received 9|`,
    `35=5|49=FW|56=PEER|34=8|52=${ts(0)}|58=MsgSeqNum too low, expecting 12 but received 10|`,
  ]);
  assert.deepEqual([store.state.nextSenderSeqNum, store.state.nextTargetSeqNum], [9, 12]);
  // Realigned by hand, the next Logon is answered with the number after them.
  await h.session.setSequenceNumbers({ nextTargetSeqNum: 11 });
  await h.reconnect();
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 11 });
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=9|52=${ts(0)}|98=0|108=30|`]);
  await h.close();
  await store.close();
});

Deno.test("GapFill with NewSeqNo above expected moves expected forward", async () => {
  const h = await established();
  await h.peer.send("4", [[123, "Y"], [36, 10]], { seq: 2 });
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 10);
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("GapFill with NewSeqNo not above MsgSeqNum gets a Reject", async () => {
  const h = await established();
  await h.peer.send("4", [[123, "Y"], [36, 2]], { seq: 2 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|45=2|371=36|372=4|373=5|58=Value is incorrect (out of range) for this tag: NewSeqNo 2|`,
  ]);
  await h.close();
});

Deno.test("GapFill with a too-high MsgSeqNum is handled as a gap", async () => {
  const h = await established();
  await h.peer.send("4", [[123, "Y"], [36, 9]], { seq: 5 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`]);
  assert.equal(h.session.nextTargetSeqNum, 2);
  await h.close();
});

Deno.test("GapFill with a too-low MsgSeqNum and no PossDup ends the session", async () => {
  const h = await established();
  await h.peer.send("4", [[123, "Y"], [36, 9]], { seq: 1 });
  await h.settle();
  assert.match(h.peer.take()[0], /^35=5\|.*58=MsgSeqNum too low, expecting 2 but received 1\|$/);
  await h.done;
  await h.close();
});

Deno.test("SequenceReset-Reset ignores MsgSeqNum and moves expected up", async () => {
  const h = await established();
  await h.peer.send("4", [[36, 20]], { seq: 999 });
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 20);
  await h.peer.send("4", [[36, 20]], { seq: 1 });
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 20);
  assert.deepEqual(h.peer.take(), []);
  await h.peer.send("4", [[123, "N"], [36, 5]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|45=1|371=36|372=4|373=5|58=Value is incorrect (out of range) for this tag: NewSeqNo 5 < expected 20|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 20);
  await h.close();
});

Deno.test("OrigSendingTime later than SendingTime gets a Reject", async () => {
  const h = await established();
  await h.peer.send("D", [[11, "x"]], { possDup: true, orig: T0 + 1000 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|45=2|371=122|372=D|373=10|58=SendingTime accuracy problem: OrigSendingTime is later|`,
  ]);
  await h.close();
});

Deno.test("validation problems get a Reject and unsupported MsgTypes a BusinessMessageReject", async () => {
  const h = await established({
    validate: (m) =>
      m.msgType !== "D" || m.has(54) ? [] : [{ reason: 1, tag: 54, text: "Required tag missing" }],
    supportsMsgType: (t) => t === "D",
  });
  await h.peer.send("D", [[11, "x"]]);
  await h.peer.send("E", [[54, "1"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|371=54|372=D|373=1|58=Required tag missing|`,
    `35=j|49=FW|56=PEER|34=3|52=${ts(0)}|45=3|372=E|380=3|58=Unsupported MsgType "E"|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 4);
  await h.close();
});

Deno.test("garbled messages are ignored without advancing the sequence number", async () => {
  const h = await established();
  await h.peer.sendBytes("8=FIX.4.4|9=5|35=0|10=000|");
  await h.peer.sendBytes("junk|");
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 2);
  assert.equal(h.events.filter((e) => e.type === "garbled").length, 2);
  await h.peer.send("0");
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 3);
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("CompID mismatch gets Reject, Logout and disconnect", async () => {
  const h = await established();
  const m = h.peer.build("0").set(49, "OTHER");
  await h.peer.sendMessage(m);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|371=49|372=0|373=9|58=CompID problem|`,
    `35=5|49=FW|56=PEER|34=3|52=${ts(0)}|58=CompID problem|`,
  ]);
  await h.done;
  await h.close();
});

Deno.test("BeginString mismatch gets Logout and disconnect", async () => {
  const h = await established();
  await h.peer.sendMessage(h.peer.build("0").set(8, "FIX.4.2"));
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|58=Incorrect BeginString: expected FIX.4.4, received FIX.4.2|`,
  ]);
  await h.done;
  await h.close();
});

Deno.test("SendingTime outside the window gets Reject and Logout, unless switched off", async () => {
  const h = await established();
  await h.peer.send("0", [], { sendingTime: T0 - 121_000 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|371=52|372=0|373=10|58=SendingTime accuracy problem|`,
    `35=5|49=FW|56=PEER|34=3|52=${ts(0)}|58=SendingTime accuracy problem|`,
  ]);
  await h.close();
  const off = await established({ settings: { checkSendingTimeAccuracy: false } });
  await off.peer.send("0", [], { sendingTime: T0 - 121_000 });
  await off.settle();
  assert.deepEqual(off.peer.take(), []);
  assert.equal(off.session.state, "established");
  await off.close();
});

Deno.test("Logon with ResetSeqNumFlag resets both sides and is answered with 141=Y", async () => {
  const first = await established();
  await first.session.put(new FixMessage("D").set(11, "a"));
  await first.settle();
  first.session.dropConnection("drop");
  await first.done;
  const store = first.store;
  assert.equal(store.state.nextSenderSeqNum, 3);
  const h = await harness({ store });
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  assert.equal(h.session.nextSenderSeqNum, 2);
  assert.equal(h.session.nextTargetSeqNum, 2);
  await h.close();
});

Deno.test("an unauthenticated Logon with ResetSeqNumFlag never resets the store", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ store, settings: { password: "pw" } });
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"], [554, "bad"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=1|52=${ts(0)}|58=Invalid username or password|`,
  ]);
  assert.equal(h.store.state.nextSenderSeqNum, 7);
  assert.equal(h.store.state.nextTargetSeqNum, 9);
  await h.close();
  await store.close();
});

Deno.test("ForceSeqNumReset=always makes the initiator reset its store and send ResetSeqNumFlag", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ role: "initiator", store, settings: { forceSeqNumReset: "always" } });
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  assert.equal(store.state.nextSenderSeqNum, 2);
  assert.equal(store.state.nextTargetSeqNum, 1);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]]);
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.equal(store.state.nextTargetSeqNum, 2);
  // "always": the next logon resets again.
  h.peer.seq = 1;
  await h.reconnect();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  await h.close();
  await store.close();
});

Deno.test("a Logon with ResetSeqNumFlag while established resets sequence numbers", async () => {
  const h = await established();
  await h.peer.send("0");
  await h.settle();
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  assert.equal(h.session.nextTargetSeqNum, 2);
  assert.equal(h.session.nextSenderSeqNum, 2);
  await h.close();
});

Deno.test("NextExpectedMsgSeqNum in Logon triggers a resend of what the peer missed", async () => {
  const first = await established({ settings: { enableNextExpectedMsgSeqNum: true } });
  await first.session.put(new FixMessage("D").set(11, "a")); // 2
  await first.settle();
  first.session.dropConnection("drop");
  await first.done;
  const h = await harness({ store: first.store, settings: { enableNextExpectedMsgSeqNum: true } });
  h.peer.seq = 2;
  await h.peer.send("A", [[98, 0], [108, 30], [789, 2]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=3|52=${ts(0)}|98=0|108=30|789=3|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|43=Y|122=${ts(0)}|11=a|`,
  ]);
  await h.close();
});

Deno.test("messages put before logon are persisted and delivered by resend once established", async () => {
  const h = await harness();
  const p1 = h.session.put(new FixMessage("D").set(11, "a"));
  const p2 = h.session.put(new FixMessage("D").set(11, "b"));
  assert.equal(h.session.queuedMessages, 2);
  assert.equal(h.store.state.nextSenderSeqNum, 3); // persisted with their numbers
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=3|52=${ts(0)}|98=0|108=30|`]);
  await h.peer.send("2", [[7, 1], [16, 0]]);
  await h.settle();
  await Promise.all([p1, p2]);
  assert.deepEqual(h.peer.take(), [
    `35=D|49=FW|56=PEER|34=1|52=${ts(0)}|43=Y|122=${ts(0)}|11=a|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|43=Y|122=${ts(0)}|11=b|`,
    `35=4|49=FW|56=PEER|34=3|52=${ts(0)}|43=Y|122=${ts(0)}|123=Y|36=4|`,
  ]);
  assert.equal(h.session.queuedMessages, 0);
  await h.close();
});

Deno.test("LateDelivery=queue: messages put before logon are sent as new messages after the Logon", async () => {
  const h = await harness({ settings: { lateDelivery: "queue" } });
  const p1 = h.session.put(new FixMessage("D").set(11, "a"));
  const p2 = h.session.put(new FixMessage("D").set(11, "b"));
  await Promise.all([p1, p2]); // queued: a handler awaiting put() never waits for the link
  assert.equal(h.session.queuedMessages, 2);
  assert.equal(h.store.state.nextSenderSeqNum, 1, "no number used, nothing stored");
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|11=a|`,
    `35=D|49=FW|56=PEER|34=3|52=${ts(0)}|11=b|`,
  ]);
  assert.equal(h.session.queuedMessages, 0);
  await h.close();
});

for (const lateDelivery of ["resend", "queue"] as const) {
  Deno.test(`LateDelivery=${lateDelivery}: messages waiting for logon are bounded by MaxOutgoingBufferSize`, async () => {
    // Each of these orders is 76 bytes encoded: two fit in 160, a third does not.
    const h = await harness({ settings: { lateDelivery, maxOutgoingBufferBytes: 160 } });
    const put = (id: string) => h.session.put(new FixMessage("D").set(11, id));
    const waiting = [put("a"), put("b")];
    const numbered = h.store.state.nextSenderSeqNum;
    await assert.rejects(put("c"), (e: Error) => {
      assert.ok(e instanceof OutgoingBufferFullError);
      assert.match(e.message, /holds \d+ bytes of messages waiting for the session/);
      return true;
    });
    assert.equal(h.session.queuedMessages, 2);
    assert.equal(h.store.state.nextSenderSeqNum, numbered, "the refused one was not numbered");
    await h.peer.send("A", [[98, 0], [108, 30]]);
    await h.settle();
    if (lateDelivery === "resend") await h.peer.send("2", [[7, 1], [16, 0]]);
    await h.settle();
    await Promise.all(waiting);
    const ids = () => h.peer.take().map((m) => m.match(/\|11=(\w+)/)?.[1]).filter((x) => x);
    assert.deepEqual(ids(), ["a", "b"]);
    assert.equal(h.session.queuedMessages, 0);
    // Delivered: the room is free again, while established and after the next drop.
    await put("d");
    await h.settle();
    assert.deepEqual(ids(), ["d"]);
    h.session.dropConnection("test");
    await h.settle();
    await Promise.all([put("e"), put("f")]).catch(() => {});
    assert.equal(h.session.queuedMessages, 2);
    await h.close();
  });
}

Deno.test("LateDelivery=queue with RejectMessageWhileNoConnection: an expired message is rejected, never numbered", async () => {
  const h = await harness({
    settings: {
      lateDelivery: "queue",
      rejectMessageWhileNoConnection: true,
      messageTimeToLiveMs: 1000,
    },
  });
  const old = h.session.put(new FixMessage("D").set(11, "old"));
  await h.clock.advance(1500);
  const fresh = h.session.put(new FixMessage("D").set(11, "fresh"));
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  await assert.rejects(old, (e: Error) => {
    assert.ok(e instanceof MessageExpiredError);
    assert.match(
      e.message,
      /Cannot send message: message expired after 1500 ms while not connected/,
    );
    return true;
  });
  await fresh; // settles once sent
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(1500)}|98=0|108=30|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(1500)}|11=fresh|`,
  ]);
  assert.equal(h.events.filter((e) => e.type === "messageRejected").length, 1);
  await h.close();
});

Deno.test("RejectMessageWhileNoConnection: an expired late message is gap filled and rejected", async () => {
  const h = await harness({
    settings: { rejectMessageWhileNoConnection: true, messageTimeToLiveMs: 1000 },
  });
  const old = h.session.put(new FixMessage("D").set(11, "old"));
  await h.clock.advance(1500);
  const fresh = h.session.put(new FixMessage("D").set(11, "fresh"));
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  await h.peer.send("2", [[7, 1], [16, 0]]);
  await h.settle();
  await assert.rejects(old, MessageExpiredError);
  await fresh;
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=3|52=${ts(1500)}|98=0|108=30|`,
    `35=4|49=FW|56=PEER|34=1|52=${ts(1500)}|43=Y|122=${ts(1500)}|123=Y|36=2|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(1500)}|43=Y|122=${ts(1500)}|11=fresh|`,
    `35=4|49=FW|56=PEER|34=3|52=${ts(1500)}|43=Y|122=${ts(1500)}|123=Y|36=4|`,
  ]);
  assert.equal(h.events.filter((e) => e.type === "messageRejected").length, 1);
  await h.close();
});

Deno.test("late messages are re-sequenced after a ResetSeqNumFlag Logon", async () => {
  const h = await harness();
  const p = h.session.put(new FixMessage("D").set(11, "a"));
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]]);
  await h.settle();
  await p;
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|11=a|`,
  ]);
  await h.close();
});

Deno.test("resend answers honour ResendMessagesLimit, the veto hook and duplicate limits", async () => {
  const h = await established({
    settings: { resendMessagesLimit: 2, duplicateResendRequestLimit: 1 },
    handler: { onResend: (m) => m.get(11) !== "veto" },
  });
  for (const id of ["a", "veto", "c"]) await h.session.put(new FixMessage("D").set(11, id));
  await h.settle();
  h.peer.take();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|43=Y|122=${ts(0)}|11=a|`,
    `35=4|49=FW|56=PEER|34=3|52=${ts(0)}|43=Y|122=${ts(0)}|123=Y|36=4|`,
  ]);
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("ResendMessagesBlockSize writes one block and reads on only once it is accepted", async () => {
  for (const block of [2, 0]) {
    const h = await established({ settings: { resendMessagesBlockSize: block } });
    for (const id of ["a", "b", "c"]) await h.session.put(new FixMessage("D").set(11, id));
    await h.session.put(new FixMessage("0").set(112, "x")); // 5, a session message
    await h.settle();
    h.peer.take();
    const before = h.written.length;
    const release = h.holdWrites();
    await h.peer.send("2", [[7, 2], [16, 0]]);
    await h.settle();
    const resent = (id: string, seq: number) =>
      `35=D|49=FW|56=PEER|34=${seq}|52=${ts(0)}|43=Y|122=${ts(0)}|11=${id}|`;
    const fill = `35=4|49=FW|56=PEER|34=5|52=${ts(0)}|43=Y|122=${ts(0)}|123=Y|36=6|`;
    if (block === 2) {
      // The first write is still pending: only the first block has been handed over.
      assert.deepEqual(h.written.slice(before), [[resent("a", 2), resent("b", 3)]]);
      release();
      await h.settle();
      assert.deepEqual(h.written.slice(before), [
        [resent("a", 2), resent("b", 3)],
        [resent("c", 4), fill],
      ]);
    } else {
      // Unlimited: messages are queued as they are read, without waiting for a write.
      release();
      await h.settle();
      assert.deepEqual(h.written.slice(before).flat(), [
        resent("a", 2),
        resent("b", 3),
        resent("c", 4),
        fill,
      ]);
    }
    await h.close();
  }
});

Deno.test("FIXT.1.1 acceptor answers with DefaultApplVerID and application messages flow", async () => {
  const seen: string[] = [];
  const h = await harness({
    begin: "FIXT.1.1",
    handler: { onMessage: (m) => void seen.push(m.get(1128) ?? "default") },
  });
  await h.peer.send("A", [[98, 0], [108, 30], [1137, "9"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|1137=9|`]);
  await h.peer.send("D", [[1128, "9"], [11, "x"]]);
  await h.peer.send("D", [[11, "y"]]);
  await h.settle();
  assert.deepEqual(seen, ["9", "default"]);
  await h.close();
});

Deno.test("a Logout arriving with a gap gets the gap requested, then is answered", async () => {
  const seen: string[] = [];
  const h = await established({ handler: { onMessage: (m) => void seen.push(m.get(11)!) } });
  await h.peer.send("5", [], { seq: 4 });
  await h.settle();
  // No answer yet: the missing 2..3 are requested first.
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`]);
  assert.equal(h.session.state, "established");
  await h.peer.send("D", [[11, "a"]], { seq: 2, possDup: true, orig: T0 });
  await h.peer.send("D", [[11, "b"]], { seq: 3, possDup: true, orig: T0 });
  // The peer's own Logout comes back as a gap fill, as every engine resends session messages.
  await h.peer.send("4", [[123, "Y"], [36, 5]], { seq: 4, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(seen, ["a", "b"]);
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=3|52=${ts(0)}|`]);
  assert.match(await h.done, /logout by peer/);
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.nextTargetSeqNum, 5);
  await h.close();
});

Deno.test("a Logout arriving with a gap is answered after the application answered the gap's messages", async () => {
  // The orders that fill the gap are delivered; the reports the application puts for them go
  // out in this session, numbered and written before the Logout's answer.
  // The handler runs after `established` returns (no application message before the Logon).
  const h: Awaited<ReturnType<typeof established>> = await established({
    handler: {
      onMessage: (m) => void h.session.put(new FixMessage("8").set(11, m.get(11)!)),
    },
  });
  await h.peer.send("5", [], { seq: 4 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`]);
  await h.peer.send("D", [[11, "a"]], { seq: 2, possDup: true, orig: T0 });
  await h.peer.send("D", [[11, "b"]], { seq: 3, possDup: true, orig: T0 });
  await h.peer.send("4", [[123, "Y"], [36, 5]], { seq: 4, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=8|49=FW|56=PEER|34=3|52=${ts(0)}|11=a|`,
    `35=8|49=FW|56=PEER|34=4|52=${ts(0)}|11=b|`,
    `35=5|49=FW|56=PEER|34=5|52=${ts(0)}|`,
  ]);
  assert.match(await h.done, /logout by peer/);
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.nextSenderSeqNum, 6);
  await h.close();
});

Deno.test("a Logout whose gap fill waits for an async handler is answered after it", async () => {
  let release!: () => void;
  const slow = new Promise<void>((r) => release = r);
  // The handler runs after `established` returns (no application message before the Logon).
  const h: Awaited<ReturnType<typeof established>> = await established({
    handler: {
      onMessage: async (m) => {
        await slow;
        await h.session.put(new FixMessage("8").set(11, m.get(11)!));
      },
    },
  });
  await h.peer.send("5", [], { seq: 3 });
  await h.settle();
  h.peer.take();
  await h.peer.send("D", [[11, "a"]], { seq: 2, possDup: true, orig: T0 });
  await h.peer.send("4", [[123, "Y"], [36, 4]], { seq: 3, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [], "nothing before the handler settles");
  assert.equal(h.session.state, "established");
  release();
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=8|49=FW|56=PEER|34=3|52=${ts(0)}|11=a|`,
    `35=5|49=FW|56=PEER|34=4|52=${ts(0)}|`,
  ]);
  assert.match(await h.done, /logout by peer/);
  await h.close();
});

Deno.test("a message numbered after the peer's Logout is not handled before the Logout is answered", async () => {
  const seen: string[] = [];
  const h = await established({ handler: { onMessage: (m) => void seen.push(m.get(11)!) } });
  await h.peer.send("5", [], { seq: 3 });
  await h.peer.send("D", [[11, "after"]], { seq: 4 });
  await h.settle();
  h.peer.take();
  await h.peer.send("D", [[11, "a"]], { seq: 2, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(seen, ["a"]);
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=3|52=${ts(0)}|`]);
  assert.match(await h.done, /logout by peer/);
  await h.close();
});

Deno.test("a Logout arriving with a gap is answered in order when the gap is resent", async () => {
  const h = await established();
  await h.peer.send("5", [[58, "eod"]], { seq: 3 });
  await h.settle();
  h.peer.take();
  await h.peer.send("0", [], { seq: 2, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=3|52=${ts(0)}|`]);
  assert.match(await h.done, /logout by peer: eod/);
  assert.equal(h.store.state.nextTargetSeqNum, 4);
  await h.close();
});

Deno.test("a Logout arriving with a gap is answered at the logout timeout when the gap stays open", async () => {
  const h = await established({ settings: { logoutTimeoutMs: 2000 } });
  await h.peer.send("5", [], { seq: 9 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`]);
  await h.clock.advance(1999);
  assert.deepEqual(h.peer.take(), []);
  await h.clock.advance(1);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=3|52=${ts(2000)}|`]);
  await h.done;
  assert.equal(h.session.state, "correctlyTerminated");
  await h.close();
});

Deno.test("a confirming Logout with a gap ends the session at once", async () => {
  const h = await established();
  const out = h.session.logout("bye");
  await h.settle();
  h.peer.take();
  await h.peer.send("5", [], { seq: 7 });
  await h.settle();
  await out;
  assert.deepEqual(h.peer.take(), []);
  assert.equal(await h.done, "logout confirmed");
  assert.equal(h.session.state, "correctlyTerminated");
  await h.close();
});

/** Our Logout unanswered: still waiting 1 ms before `atMs`, closed for it at `atMs` exactly. */
async function logoutTimesOutAt(h: Harness, out: Promise<void>, atMs: number): Promise<void> {
  await h.clock.advance(atMs - 1 - h.clock.now());
  assert.equal(h.session.state, "waitingForConfirmLogout");
  await h.clock.advance(1);
  await h.settle();
  await out;
  assert.equal(await h.done, "Logout timeout");
  assert.equal(h.clock.now(), atMs);
}

Deno.test("Logout times out when the peer does not answer", async () => {
  const h = await established({ settings: { logoutTimeoutMs: 2000 } });
  const out = h.session.logout();
  await logoutTimesOutAt(h, out, T0 + 2000);
  await h.close();
});

Deno.test("the wait for the Logout answer restarts with each message the peer still sends, not with heartbeats", async () => {
  const delivered: string[] = [];
  const h = await established({
    settings: { logoutTimeoutMs: 2000 },
    handler: { onMessage: (m) => void delivered.push(m.get(11)!) },
  });
  const out = h.session.logout();
  await h.settle();
  h.peer.take();
  // The peer's backlog, sent before it read our Logout, keeps coming.
  await h.clock.advance(1500);
  await h.peer.send("D", [[11, "a"]]);
  await h.clock.advance(1900);
  await h.peer.send("D", [[11, "b"]]);
  await h.settle();
  // 2000 ms after the last order; a Heartbeat meanwhile does not restart the wait.
  await h.clock.advance(1000);
  await h.peer.send("0", []);
  assert.deepEqual(delivered, ["a", "b"]);
  await logoutTimesOutAt(h, out, T0 + 5400);
  await h.close();
});

Deno.test("a peer that streams on and never answers our Logout is closed at 10 LogoutTimeFrames", async () => {
  const h = await established({ settings: { logoutTimeoutMs: 2000 } });
  const out = h.session.logout();
  await h.settle();
  for (let t = 1900; t < 20_000; t += 1900) {
    await h.clock.advance(1900);
    await h.peer.send("D", [[11, `s${t}`]]);
  }
  await h.settle();
  // Last order at 19,000: without the limit the wait would end at 21,000.
  await logoutTimesOutAt(h, out, T0 + 20_000);
  await h.close();
});

Deno.test("AllowMessageWithoutPossDupFlag ignores too-low messages", async () => {
  const h = await established({ settings: { allowMessageWithoutPossDupFlag: true } });
  await h.peer.send("0", [], { seq: 1 });
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("an unanswered TestRequest disconnects without Logout when configured so", async () => {
  const h = await established({ settings: { logoutOnHeartbeatTimeout: false } });
  await h.clock.advance(36_000);
  h.peer.take();
  await h.clock.advance(36_000);
  await h.settle();
  assert.ok(h.peer.take().every((m) => !m.startsWith("35=5|")));
  assert.match(await h.done, /Heartbeat timeout/);
  await h.close();
});

Deno.test("FIX.4.1 ResendRequest with EndSeqNo 999999 means everything sent", async () => {
  const h = await established({ begin: "FIX.4.1" });
  await h.session.put(new FixMessage("D").set(11, "a"));
  await h.settle();
  h.peer.take();
  await h.peer.send("2", [[7, 2], [16, 999999]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=D|49=FW|56=PEER|34=2|52=${ts(0, "FIX.4.1")}|43=Y|122=${ts(0, "FIX.4.1")}|11=a|`,
  ]);
  await h.close();
});

Deno.test("ForceSeqNumReset=first resets on the first logon only", async () => {
  const store = await storeAt(7, 9);
  const h = await harness({ role: "initiator", store, settings: { forceSeqNumReset: "first" } });
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]]);
  await h.settle();
  assert.equal(h.session.state, "established");
  await h.reconnect();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=2|52=${ts(0)}|98=0|108=30|`]);
  assert.equal(store.state.nextTargetSeqNum, 2);
  await h.close();
  await store.close();
});

Deno.test("FIX.4.0 answers an unsupported MsgType with a Reject, not a BusinessMessageReject", async () => {
  const h = await established({ begin: "FIX.4.0", supportsMsgType: () => false });
  await h.peer.send("D", [[11, "x"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${ts(0, "FIX.4.0")}|45=2|58=Invalid MsgType "D"|`,
  ]);
  await h.close();
});

Deno.test("a ResendRequest repeated after a reconnect is answered, not dropped as a duplicate", async () => {
  const h = await established({ settings: { duplicateResendRequestLimit: 1 } });
  await h.session.put(new FixMessage("D").set(11, "a")); // 2
  await h.settle();
  h.peer.take();
  const resent = `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|43=Y|122=${ts(0)}|11=a|`;
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [resent]);
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), []); // over the limit on this connection
  await h.reconnect();
  h.peer.seq = 4;
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=3|52=${ts(0)}|98=0|108=30|`,
    resent,
    `35=4|49=FW|56=PEER|34=3|52=${ts(0)}|43=Y|122=${ts(0)}|123=Y|36=4|`,
  ]);
  await h.close();
});

Deno.test("IncomingQueueSize bounds held messages; the ones dropped are recovered by the resend", async () => {
  const seen: string[] = [];
  const h = await established({
    settings: { incomingQueueSize: 2 },
    handler: { onMessage: (m) => void seen.push(m.get(11)!) },
  });
  for (const [id, seq] of [["e", 5], ["f", 6], ["g", 7]] as const) {
    await h.peer.send("D", [[11, id]], { seq });
  }
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`]);
  for (const [id, seq] of [["b", 2], ["c", 3], ["d", 4]] as const) {
    await h.peer.send("D", [[11, id]], { seq, possDup: true, orig: T0 });
  }
  await h.settle();
  // 5 and 6 were held; 7 was beyond the queue and dropped.
  assert.deepEqual(seen, ["b", "c", "d", "e", "f"]);
  assert.equal(h.session.nextTargetSeqNum, 7);
  for (const [id, seq] of [["e", 5], ["f", 6], ["g", 7]] as const) {
    await h.peer.send("D", [[11, id]], { seq, possDup: true, orig: T0 });
  }
  await h.settle();
  assert.deepEqual(seen, ["b", "c", "d", "e", "f", "g"]);
  assert.equal(h.session.nextTargetSeqNum, 8);
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("a run of session messages in a resend range becomes one GapFill between resent messages", async () => {
  const h = await established();
  await h.session.put(new FixMessage("D").set(11, "a")); // 2
  for (const id of ["t1", "t2", "t3"]) await h.peer.send("1", [[112, id]]); // Heartbeats 3, 4, 5
  await h.settle();
  await h.session.put(new FixMessage("D").set(11, "b")); // 6
  await h.settle();
  assert.equal(h.peer.take().length, 5);
  await h.clock.advance(500);
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=D|49=FW|56=PEER|34=2|52=${ts(500)}|43=Y|122=${ts(0)}|11=a|`,
    `35=4|49=FW|56=PEER|34=3|52=${ts(500)}|43=Y|122=${ts(500)}|123=Y|36=6|`,
    `35=D|49=FW|56=PEER|34=6|52=${ts(500)}|43=Y|122=${ts(0)}|11=b|`,
  ]);
  await h.close();
});

Deno.test("MessageTimeToLive: a late message exactly TTL old is sent, one 1 ms older is not", async () => {
  const h = await harness({
    settings: { rejectMessageWhileNoConnection: true, messageTimeToLiveMs: 1000 },
  });
  const old = h.session.put(new FixMessage("D").set(11, "old")); // 1, put at T0
  await h.clock.advance(1);
  const edge = h.session.put(new FixMessage("D").set(11, "edge")); // 2, put at T0 + 1
  await h.clock.advance(1000);
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.peer.send("2", [[7, 1], [16, 0]]);
  await h.settle();
  await assert.rejects(old, {
    name: "MessageExpiredError",
    message: "Cannot send message: message 1 expired after 1001 ms while not connected",
  });
  await edge;
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=3|52=${ts(1001)}|98=0|108=30|`,
    `35=4|49=FW|56=PEER|34=1|52=${ts(1001)}|43=Y|122=${ts(1001)}|123=Y|36=2|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(1001)}|43=Y|122=${ts(1)}|11=edge|`,
    `35=4|49=FW|56=PEER|34=3|52=${ts(1001)}|43=Y|122=${ts(1001)}|123=Y|36=4|`,
  ]);
  await h.close();
});
