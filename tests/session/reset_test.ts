import assert from "node:assert/strict";
import { FixMessage } from "../../src/message/fix_message.ts";
import { established, harness, ts } from "./_harness.ts";

const RESET_LOGON = `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|`;

Deno.test("resetSequences sends Logon 141=Y 34=1 and resolves on the peer's reset Logon", async () => {
  const h = await established();
  await h.session.put(new FixMessage("D").set(11, "a")); // 2
  await h.peer.send("0"); // 2
  await h.settle();
  h.peer.take();
  let confirmed = false;
  const reset = h.session.resetSequences().then(() => confirmed = true);
  await h.settle();
  assert.deepEqual(h.peer.take(), [RESET_LOGON]);
  assert.equal(h.store.state.nextSenderSeqNum, 2);
  // Until the peer answers, its messages keep their old numbers.
  assert.equal(h.store.state.nextTargetSeqNum, 3);
  await h.peer.send("0"); // 3, sent before it saw our Logon
  await h.settle();
  assert.equal(confirmed, false);
  assert.equal(h.store.state.nextTargetSeqNum, 4);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await reset;
  assert.equal(h.store.state.nextTargetSeqNum, 2);
  assert.deepEqual(h.peer.take(), []); // the answer is not answered again
  assert.deepEqual(h.events.filter((e) => e.type === "logon").at(-1), {
    type: "logon",
    atMs: h.clock.now(),
    reset: true,
  });
  await h.session.put(new FixMessage("D").set(11, "b"));
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=D|49=FW|56=PEER|34=2|52=${ts(0)}|11=b|`]);
  const stored: number[] = [];
  for await (const m of h.store.readOutgoing(1, 100)) stored.push(m.seqNum);
  assert.deepEqual(stored, [2]); // the old messages are gone
  await h.close();
});

Deno.test("resetSequences sends messages put during the store reset after its Logon", async () => {
  const h = await established();
  const reset = h.session.resetSequences();
  const put = h.session.put(new FixMessage("D").set(11, "x"));
  await h.settle();
  await put;
  assert.deepEqual(h.peer.take(), [RESET_LOGON, `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|11=x|`]);
  assert.equal(h.store.state.nextSenderSeqNum, 3);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await reset;
  await h.close();
});

Deno.test("initiator's reset Logon carries its credentials", async () => {
  const h = await harness({ role: "initiator", settings: { username: "user", password: "pw" } });
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  h.peer.take();
  const reset = h.session.resetSequences();
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|141=Y|553=user|554=pw|`,
  ]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await reset;
  assert.equal(h.session.nextTargetSeqNum, 2);
  await h.close();
});

Deno.test("resetSequences ends the session with a Logout when no answer comes in LogonTimeFrame", async () => {
  const h = await established({ settings: { logonTimeoutMs: 5000 } });
  const failed = assert.rejects(h.session.resetSequences(), {
    message: "Cannot reset sequence numbers: Logon timeout: sequence reset not confirmed",
  });
  await h.clock.advance(4999);
  assert.equal(h.session.state, "established");
  assert.deepEqual(h.peer.take(), [RESET_LOGON]);
  await h.clock.advance(1);
  await failed;
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=2|52=${ts(5000)}|58=Logon timeout: sequence reset not confirmed|`,
  ]);
  assert.equal(await h.done, "Logon timeout: sequence reset not confirmed");
  await h.close();
});

Deno.test("resetSequences stops waiting when its signal aborts; the reset still completes", async () => {
  const h = await established();
  const controller = new AbortController();
  const reset = h.session.resetSequences({ signal: controller.signal });
  await h.settle();
  const reason = new Error("stop waiting");
  controller.abort(reason);
  await assert.rejects(reset, reason);
  assert.deepEqual(h.peer.take(), [RESET_LOGON]);
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 1 });
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 2);
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("resetSequences rejects when the session is not established", async () => {
  const h = await harness();
  await assert.rejects(h.session.resetSequences(), {
    message: 'Cannot reset sequence numbers: session "FW->PEER" is not established',
  });
  assert.deepEqual(h.peer.take(), []);
  await h.close();
});

Deno.test("a peer's reset Logon while established must have MsgSeqNum 1", async () => {
  const h = await established();
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]], { seq: 5 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|58=Logon with ResetSeqNumFlag must have MsgSeqNum 1, received 5|`,
  ]);
  assert.match(await h.done, /must have MsgSeqNum 1/);
  assert.equal(h.store.state.nextSenderSeqNum, 3);
  assert.equal(h.store.state.nextTargetSeqNum, 2);
  await h.close();
});

Deno.test("a peer's reset Logon while established has its credentials checked", async () => {
  for (const password of ["bad", "pw"]) {
    const h = await harness({ settings: { password: "pw" } });
    await h.peer.send("A", [[98, 0], [108, 30], [554, "pw"]]);
    await h.peer.send("0");
    await h.settle();
    h.peer.take();
    await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"], [554, password]], { seq: 1 });
    await h.settle();
    if (password === "bad") {
      assert.deepEqual(h.peer.take(), [
        `35=5|49=FW|56=PEER|34=2|52=${ts(0)}|58=Invalid username or password|`,
      ]);
      assert.equal(await h.done, "Invalid username or password");
      assert.equal(h.store.state.nextTargetSeqNum, 3); // not reset
    } else {
      assert.deepEqual(h.peer.take(), [RESET_LOGON]);
      assert.equal(h.store.state.nextSenderSeqNum, 2);
      assert.equal(h.store.state.nextTargetSeqNum, 2);
    }
    await h.close();
  }
});

Deno.test("a ResendRequest repeated after a sequence reset is answered, not dropped", async () => {
  const h = await established({ settings: { duplicateResendRequestLimit: 1 } });
  await h.session.put(new FixMessage("D").set(11, "a")); // 2
  await h.settle();
  h.peer.take();
  await h.peer.send("2", [[7, 2], [16, 2]]);
  await h.peer.send("2", [[7, 2], [16, 2]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|43=Y|122=${ts(0)}|11=a|`,
  ]);
  h.peer.seq = 1;
  await h.peer.send("A", [[98, 0], [108, 30], [141, "Y"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [RESET_LOGON]);
  await h.session.put(new FixMessage("D").set(11, "b")); // 2 again
  await h.peer.send("2", [[7, 2], [16, 2]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|11=b|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(0)}|43=Y|122=${ts(0)}|11=b|`,
  ]);
  await h.close();
});
