// FIX session-layer conformance (FIX 4.4 Vol 2 / FIXT.1.1 "Session test cases"): sequence
// numbers, SequenceReset, PossDup checks, ResendRequests and Logout, on every FIX version.
import assert from "node:assert/strict";
import { FixMessage } from "../../src/message/fix_message.ts";
import { established, T0, ts } from "./_harness.ts";

const VERSIONS = ["FIX.4.0", "FIX.4.1", "FIX.4.2", "FIX.4.3", "FIX.4.4", "FIXT.1.1"];

/** The fields of a Reject after RefSeqNum, as the version writes them. */
function rejectTail(
  begin: string,
  tag: number | undefined,
  msgType: string,
  reason: number,
  text: string,
): string {
  if (begin === "FIX.4.0" || begin === "FIX.4.1") return `58=${text}|`;
  return `${tag === undefined ? "" : `371=${tag}|`}372=${msgType}|373=${reason}|58=${text}|`;
}

Deno.test("SequenceReset-Reset is processed whatever its MsgSeqNum: missing, 0 or too low", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    const noSeq = h.peer.build("4", [[36, 10]], { seq: 0 });
    noSeq.remove(34);
    await h.peer.sendMessage(noSeq);
    await h.settle();
    assert.equal(h.session.nextTargetSeqNum, 10, begin);
    await h.peer.send("4", [[123, "N"], [36, 12]], { seq: 0 });
    await h.settle();
    assert.equal(h.session.nextTargetSeqNum, 12, begin);
    // Too low, without PossDup: not a sequence error; NewSeqNo equal to expected changes nothing.
    await h.peer.send("4", [[36, 12]], { seq: 1 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [], begin);
    // NewSeqNo lower than expected: Reject (value incorrect), the number stays.
    const low = h.peer.build("4", [[36, 5]], { seq: 0 });
    low.remove(34);
    await h.peer.sendMessage(low);
    await h.peer.send("4", [[36, 7]], { seq: 3 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=3|49=FW|56=PEER|34=2|52=${ts(0, begin)}|${
        rejectTail(
          begin,
          36,
          "4",
          5,
          "Value is incorrect (out of range) for this tag: NewSeqNo 5 < expected 12",
        )
      }`,
      `35=3|49=FW|56=PEER|34=3|52=${ts(0, begin)}|45=3|${
        rejectTail(
          begin,
          36,
          "4",
          5,
          "Value is incorrect (out of range) for this tag: NewSeqNo 7 < expected 12",
        )
      }`,
    ], begin);
    assert.equal(h.session.nextTargetSeqNum, 12, begin);
    assert.equal(h.session.state, "established", begin);
    await h.close();
  }
});

Deno.test("a PossDup message below the expected number without OrigSendingTime gets a Reject", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    await h.peer.send("0", [], { seq: 1, possDup: true });
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=3|49=FW|56=PEER|34=2|52=${ts(0, begin)}|45=1|${
        rejectTail(begin, 122, "0", 1, "Required tag missing: OrigSendingTime(122)")
      }`,
    ], begin);
    assert.equal(h.session.nextTargetSeqNum, 2, begin);
    assert.equal(h.session.state, "established", begin);
    // With a valid OrigSendingTime it is a duplicate, ignored.
    await h.peer.send("0", [], { seq: 1, possDup: true, orig: T0 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [], begin);
    await h.close();
  }
});

Deno.test("a PossDup message below the expected number with OrigSendingTime later than SendingTime gets Reject, Logout and disconnect", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    await h.peer.send("0", [], { seq: 1, possDup: true, orig: T0 + 1000 });
    await h.settle();
    const text = "SendingTime accuracy problem: OrigSendingTime is later";
    assert.deepEqual(h.peer.take(), [
      `35=3|49=FW|56=PEER|34=2|52=${ts(0, begin)}|45=1|${rejectTail(begin, 122, "0", 10, text)}`,
      `35=5|49=FW|56=PEER|34=3|52=${ts(0, begin)}|58=${text}|`,
    ], begin);
    assert.equal(await h.done, text, begin);
    assert.equal(h.store.state.nextTargetSeqNum, 2, begin);
    await h.close();
  }
});

Deno.test("a ResendRequest numbered too low is answered and the session goes on, as QuickFIX does", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    await h.session.put(new FixMessage("D").set(11, "a"));
    await h.settle();
    h.peer.take();
    await h.peer.send("2", [[7, 2], [16, 0]], { seq: 1 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=D|49=FW|56=PEER|34=2|52=${ts(0, begin)}|43=Y|122=${ts(0, begin)}|11=a|`,
    ], begin);
    assert.equal(h.session.state, "established", begin);
    assert.equal(h.session.nextTargetSeqNum, 2, begin);
    await h.close();
  }
});
