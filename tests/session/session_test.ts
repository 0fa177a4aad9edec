import assert from "node:assert/strict";
import { BusinessRejectError, MessageRejectError } from "../../src/errors.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { OutgoingBufferFullError } from "../../src/errors.ts";
import type { Link as FixSession } from "../../src/engine/link.ts";
import { established, harness, T0, ts } from "./_harness.ts";
import { MemorySeqStoreFactory, type SeqStore } from "../../src/store.ts";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { SessionId } from "../../src/session_id.ts";

Deno.test("initiator sends Logon with HeartBtInt, EncryptMethod and credentials", async () => {
  const h = await harness({
    role: "initiator",
    settings: { username: "user", password: "pw" },
  });
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|553=user|554=pw|`,
  ]);
  assert.equal(h.session.state, "waitingForConfirmLogon");
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  assert.equal(h.session.state, "established");
  assert.equal(h.session.nextTargetSeqNum, 2);
  await h.close();
});

Deno.test("initiator for FIXT.1.1 sends DefaultApplVerID", async () => {
  const h = await harness({ role: "initiator", begin: "FIXT.1.1" });
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=30|1137=9|`]);
  await h.close();
});

Deno.test("initiator disconnects when the confirming Logon does not come in time", async () => {
  const h = await harness({ role: "initiator", settings: { logonTimeoutMs: 5000 } });
  await h.clock.advance(4999);
  assert.equal(h.session.state, "waitingForConfirmLogon");
  await h.clock.advance(1);
  await h.settle();
  assert.equal(await h.done, "Logon timeout");
  assert.equal(h.session.state, "nonGracefullyTerminated");
  await h.close();
});

Deno.test("acceptor answers Logon with the same HeartBtInt", async () => {
  const h = await harness();
  await h.peer.send("A", [[98, 0], [108, 45]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=1|52=${ts(0)}|98=0|108=45|`]);
  assert.equal(h.session.heartbeatIntervalSeconds, 45);
  assert.deepEqual(
    h.events.filter((e) => e.type === "stateChanged").map((e) => e.type === "stateChanged" && e.to),
    ["waitingForLogon", "established"],
  );
  await h.close();
});

Deno.test("acceptor refuses wrong credentials with Logout and leaves the store untouched", async () => {
  const h = await harness({ settings: { username: "u", password: "right" } });
  await h.peer.send("A", [[98, 0], [108, 30], [553, "u"], [554, "wrong"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=1|52=${ts(0)}|58=Invalid username or password|`,
  ]);
  assert.equal(await h.done, "Invalid username or password");
  assert.equal(h.store.state.nextSenderSeqNum, 1);
  assert.equal(h.store.state.nextTargetSeqNum, 1);
  await h.close();
});

Deno.test("session sends a Heartbeat after HeartBtInt seconds of silence", async () => {
  const h = await established();
  await h.clock.advance(29_999);
  assert.deepEqual(h.peer.take(), []);
  await h.clock.advance(1);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=0|49=FW|56=PEER|34=2|52=${ts(30_000)}|`]);
  await h.close();
});

Deno.test("session sends TestRequest after HeartBtInt plus transmission time, then disconnects", async () => {
  const h = await established();
  await h.clock.advance(30_000); // our heartbeat
  h.peer.take();
  await h.clock.advance(6_000); // 36 s = 30 s * 120 %
  await h.settle();
  const [tr] = h.peer.take();
  assert.match(
    tr,
    new RegExp(`^35=1\\|49=FW\\|56=PEER\\|34=3\\|52=${ts(36_000)}\\|112=TEST-1-\\d+\\|$`),
  );
  await h.clock.advance(36_000);
  await h.settle();
  const out = h.peer.take();
  assert.equal(
    out.at(-1),
    `35=5|49=FW|56=PEER|34=${out.length + 3}|52=${
      ts(72_000)
    }|58=Heartbeat timeout: no answer to TestRequest|`,
  );
  assert.match(await h.done, /Heartbeat timeout/);
  await h.close();
});

Deno.test("session answers TestRequest with a Heartbeat echoing TestReqID", async () => {
  const h = await established();
  await h.peer.send("1", [[112, "abc"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=0|49=FW|56=PEER|34=2|52=${ts(0)}|112=abc|`]);
  await h.close();
});

Deno.test("session sends ResendRequest when MsgSeqNum is too high, once per gap", async () => {
  const h = await established();
  await h.peer.send("D", [[11, "a"]], { seq: 5 });
  await h.peer.send("D", [[11, "b"]], { seq: 6 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=2|49=FW|56=PEER|34=2|52=${ts(0)}|7=2|16=0|`]);
  assert.equal(h.session.nextTargetSeqNum, 2);
  await h.close();
});

Deno.test("held messages are delivered in order once the gap is filled", async () => {
  const seen: string[] = [];
  const h = await established({
    handler: { onMessage: (m) => void seen.push(m.get(11)!) },
  });
  await h.peer.send("D", [[11, "c"]], { seq: 4 });
  await h.settle();
  await h.peer.send("D", [[11, "a"]], { seq: 2, possDup: true, orig: T0 });
  await h.peer.send("D", [[11, "b"]], { seq: 3, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(seen, ["a", "b", "c"]);
  assert.equal(h.session.nextTargetSeqNum, 5);
  await h.close();
});

Deno.test("MsgSeqNum too low without PossDupFlag ends the session with Logout", async () => {
  const h = await established();
  await h.peer.send("0", [], { seq: 1 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=5|49=FW|56=PEER|34=2|52=${ts(0)}|58=MsgSeqNum too low, expecting 2 but received 1|`,
  ]);
  await h.done;
  await h.close();
});

Deno.test("MsgSeqNum too low with PossDupFlag is ignored", async () => {
  const h = await established();
  await h.peer.send("D", [[11, "x"]], { seq: 1, possDup: true, orig: T0 });
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(h.session.state, "established");
  await h.close();
});

Deno.test("PossDup without OrigSendingTime gets a Reject and advances", async () => {
  const h = await established();
  await h.peer.send("D", [[11, "x"]], { possDup: true });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${
      ts(0)
    }|45=2|371=122|372=D|373=1|58=Required tag missing: OrigSendingTime(122)|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 3);
  await h.close();
});

Deno.test("session answers ResendRequest with PossDup resends and merged gap fills", async () => {
  const h = await established();
  await h.session.put(new FixMessage("D").set(11, "o1")); // 2
  await h.clock.advance(30_000); // heartbeat 3
  await h.session.put(new FixMessage("D").set(11, "o2")); // 4
  await h.settle();
  h.peer.take();
  await h.clock.advance(1000);
  await h.peer.send("2", [[7, 1], [16, 0]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=4|49=FW|56=PEER|34=1|52=${ts(31_000)}|43=Y|122=${ts(31_000)}|123=Y|36=2|`,
    `35=D|49=FW|56=PEER|34=2|52=${ts(31_000)}|43=Y|122=${ts(0)}|11=o1|`,
    `35=4|49=FW|56=PEER|34=3|52=${ts(31_000)}|43=Y|122=${ts(31_000)}|123=Y|36=4|`,
    `35=D|49=FW|56=PEER|34=4|52=${ts(31_000)}|43=Y|122=${ts(30_000)}|11=o2|`,
  ]);
  await h.close();
});

Deno.test("application handler rejections become Reject and BusinessMessageReject", async () => {
  const h = await established({
    handler: {
      onMessage: (m) => {
        if (m.get(11) === "r") {
          throw new MessageRejectError("bad side", { reason: 5, refTagId: 54 });
        }
        throw new BusinessRejectError("unknown security", { reason: 2, refTagId: 55 });
      },
    },
  });
  await h.peer.send("D", [[11, "r"]]);
  await h.peer.send("D", [[11, "b"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|371=54|372=D|373=5|58=bad side|`,
    `35=j|49=FW|56=PEER|34=3|52=${ts(0)}|45=3|372=D|380=2|371=55|58=unknown security|`,
  ]);
  assert.equal(h.session.nextTargetSeqNum, 4);
  await h.close();
});

Deno.test("Logout started by us waits for the answer and ends correctly terminated", async () => {
  const h = await established();
  const out = h.session.logout("bye");
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=2|52=${ts(0)}|58=bye|`]);
  assert.equal(h.session.state, "waitingForConfirmLogout");
  await h.peer.send("5");
  await h.settle();
  await out;
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.correctlyTerminated, true);
  await h.close();
});

Deno.test("Logout started by the peer is answered", async () => {
  const h = await established();
  await h.peer.send("5", [[58, "eod"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=2|52=${ts(0)}|`]);
  assert.match(await h.done, /logout by peer: eod/);
  assert.equal(h.session.state, "correctlyTerminated");
  await h.close();
});

Deno.test("the application handler is awaited before the next message is delivered", async () => {
  const log: string[] = [];
  let release!: () => void;
  const gate = new Promise<void>((r) => release = r);
  const h = await established({
    handler: {
      onMessage: async (m) => {
        log.push(`start ${m.get(11)}`);
        if (m.get(11) === "a") await gate;
        log.push(`end ${m.get(11)}`);
      },
    },
  });
  await h.peer.send("D", [[11, "a"]]);
  await h.peer.send("D", [[11, "b"]]);
  await h.settle();
  assert.deepEqual(log, ["start a"]);
  release();
  await h.settle();
  assert.deepEqual(log, ["start a", "end a", "start b", "end b"]);
  await h.close();
});

Deno.test("messages put in one turn go out in one write, persisted first", async () => {
  const h = await established();
  const writesBefore = h.counter.writes;
  const p = Promise.all([1, 2, 3].map((i) => h.session.put(new FixMessage("D").set(11, `m${i}`))));
  assert.equal(h.store.state.nextSenderSeqNum, 5);
  await p;
  await h.settle();
  assert.equal(h.counter.writes - writesBefore, 1);
  assert.equal(h.peer.take().length, 3);
  const stored: number[] = [];
  for await (const m of h.store.readOutgoing(1, 10)) stored.push(m.seqNum);
  assert.deepEqual(stored, [2, 3, 4]);
  await h.close();
});

Deno.test("initiator reports a Logout answering its Logon as a rejected logon", async () => {
  const h = await harness({ role: "initiator" });
  h.peer.take();
  await h.peer.send("5", [[58, "Invalid password"]]);
  await h.settle();
  assert.equal(await h.done, "Logon rejected: Invalid password");
  const logout = h.events.find((e) => e.type === "logout");
  assert.ok(logout && logout.type === "logout" && logout.text === "Invalid password");
  await h.close();
});

Deno.test("each TestRequest carries a new TestReqID", async () => {
  const h = await established();
  await h.clock.advance(36_000); // Heartbeat at 30 s, TestRequest at 36 s
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=0|49=FW|56=PEER|34=2|52=${ts(30_000)}|`,
    `35=1|49=FW|56=PEER|34=3|52=${ts(36_000)}|112=TEST-1-${T0 + 36_000}|`,
  ]);
  await h.peer.send("0", [[112, `TEST-1-${T0 + 36_000}`]]);
  await h.clock.advance(36_000); // Heartbeat at 66 s, TestRequest at 72 s
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=0|49=FW|56=PEER|34=4|52=${ts(66_000)}|`,
    `35=1|49=FW|56=PEER|34=5|52=${ts(72_000)}|112=TEST-2-${T0 + 72_000}|`,
  ]);
  assert.equal(h.session.state, "established");
  await h.close();
});

/** A Heartbeat from the peer with BodyLength(9) off by `delta` and a correct CheckSum(10). */
function withBodyLengthOff(h: { peer: { build(t: string): FixMessage } }, delta: number): string {
  const m = h.peer.build("0");
  let body = "";
  for (const [t, v] of m) if (t !== 8 && t !== 9 && t !== 10) body += `${t}=${v}\x01`;
  const head = `8=FIX.4.4\x019=${body.length + delta}\x01${body}`;
  let sum = 0;
  for (let i = 0; i < head.length; i++) sum += head.charCodeAt(i);
  return `${head}10=${String(sum % 256).padStart(3, "0")}\x01`;
}

Deno.test("a message with only a wrong BodyLength is ignored without advancing MsgSeqNum", async () => {
  const h = await established();
  await h.peer.sendBytes(withBodyLengthOff(h, -1));
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 2);
  assert.deepEqual(h.events.filter((e) => e.type === "garbled").length, 1);
  h.peer.seq = 2;
  await h.peer.send("0");
  await h.settle();
  assert.equal(h.session.nextTargetSeqNum, 3);
  assert.deepEqual(h.peer.take(), []); // no Reject, no ResendRequest
  assert.equal(h.session.state, "established");
  await h.close();
});

Deno.test("TargetCompID mismatch gets Reject with RefTagID 56, Logout and disconnect", async () => {
  const h = await established();
  await h.peer.sendMessage(h.peer.build("0").set(56, "OTHER"));
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=3|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|371=56|372=0|373=9|58=CompID problem|`,
    `35=5|49=FW|56=PEER|34=3|52=${ts(0)}|58=CompID problem|`,
  ]);
  assert.equal(await h.done, "CompID problem");
  await h.close();
});

Deno.test("SendingTime exactly ReasonableDelayInMs away is accepted, 1 ms more is rejected", async () => {
  for (const delay of [120_000, 5_000]) {
    const h = await established(
      delay === 120_000 ? {} : { settings: { reasonableDelayMs: delay } },
    );
    await h.peer.send("0", [], { sendingTime: T0 - delay });
    await h.peer.send("0", [], { sendingTime: T0 + delay });
    await h.settle();
    assert.deepEqual(h.peer.take(), [], `${delay}`);
    assert.equal(h.session.nextTargetSeqNum, 4);
    await h.peer.send("0", [], { sendingTime: T0 + delay + 1 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=3|49=FW|56=PEER|34=2|52=${
        ts(0)
      }|45=4|371=52|372=0|373=10|58=SendingTime accuracy problem|`,
      `35=5|49=FW|56=PEER|34=3|52=${ts(0)}|58=SendingTime accuracy problem|`,
    ], `${delay}`);
    assert.equal(await h.done, "SendingTime accuracy problem");
    await h.close();
  }
});

Deno.test("session frames, decodes and encodes a venue's own data field holding SOH", async () => {
  // A venue dictionary pairs LENGTH 5020 with DATA 5021; its value holds SOH and "10=".
  const dataFields = new Map([[5020, 5021]]);
  const seen: string[] = [];
  const value = "a\x0110=000\x01b";
  const ref: { session?: FixSession } = {};
  const h = await established({
    dataFields,
    handler: {
      onMessage: (m) => {
        seen.push(m.get(5021)!);
        void ref.session!.put(
          new FixMessage("8").set(11, "x").set(5020, value.length).set(5021, value),
        );
      },
    },
  });
  ref.session = h.session;
  const m = h.peer.build("D", [[11, "x"], [5020, value.length], [5021, value]]);
  await h.peer.conn.write(encodeMessage(m, "FIX.4.4", { dataFields }));
  await h.settle();
  assert.deepEqual(seen, [value]);
  assert.equal(h.store.state.nextTargetSeqNum, 3);
  // The answer went out with the SOH inside the value, framed whole by a framer that knows it.
  const answer = h.peer.received.find((r) => r.msgType === "8");
  assert.equal(answer?.get(5021), value);
  await h.close();
});

/** An order of about 95 bytes encoded. */
const order = (id: string) =>
  new FixMessage("D").set(11, id).set(21, "1").set(55, "X").set(54, "1").set(38, 1).set(40, "1");

/** Established, MaxOutgoingBufferSize 150 bytes, writes held until `release()`. */
async function slowConnection() {
  const h = await established({ settings: { maxOutgoingBufferBytes: 150 } });
  return { h, release: h.holdWrites() };
}

Deno.test("tryPut fails fast when a slow connection leaves too many bytes waiting, persisting nothing", async () => {
  const { h, release } = await slowConnection();
  // An order is about 95 bytes: "a" is written to the held connection, "b" is persisted and
  // queued behind it (190 bytes waiting), and "c" finds no room.
  const first = h.session.put(order("a"));
  await h.settle();
  const second = h.session.tryPut(order("b"));
  await assert.rejects(h.session.tryPut(order("c")), (e: Error) => {
    assert.ok(e instanceof OutgoingBufferFullError);
    assert.match(e.message, /Cannot send message: session ".*" has \d+ bytes waiting/);
    return true;
  });
  // "c" used no sequence number and was not stored.
  assert.equal(h.store.state.nextSenderSeqNum, 4);
  release();
  await Promise.all([first, second]);
  await h.settle();
  assert.deepEqual(h.peer.take().map((m) => m.match(/11=(\w)/)?.[1]), ["a", "b"]);
  // Drained: put works again and continues the numbers.
  await h.session.put(order("e"));
  await h.settle();
  assert.deepEqual(h.peer.take().map((m) => m.match(/34=(\d+)/)?.[1]), ["4"]);
  await h.close();
});

Deno.test("put waits for room over MaxOutgoingBufferSize, in order, and never refuses", async () => {
  const { h, release } = await slowConnection();
  const settled: string[] = [];
  const put = (id: string) => h.session.put(order(id)).then(() => settled.push(id));
  // About 95 bytes an order: "a" and "b" are persisted and written to the held connection
  // (190 bytes waiting); "c", "d" and "e" wait for room.
  const first = put("a");
  await h.settle();
  const rest = ["b", "c", "d", "e"].map(put);
  await h.settle();
  assert.deepEqual(settled, ["a", "b"], "persisted, writes issued; the rest wait");
  assert.equal(h.store.state.nextSenderSeqNum, 4, "c, d and e are not numbered yet");
  // A tryPut behind waiting puts is refused: it would overtake them.
  await assert.rejects(h.session.tryPut(order("x")), OutgoingBufferFullError);
  release();
  await Promise.all([first, ...rest]);
  await h.settle();
  assert.deepEqual(settled, ["a", "b", "c", "d", "e"]);
  assert.deepEqual(h.peer.take().map((m) => m.match(/34=(\d+)\|.*11=(\w)/)?.slice(1).join("")), [
    "2a",
    "3b",
    "4c",
    "5d",
    "6e",
  ]);
  await h.close();
});

Deno.test("puts waiting for room take the late route when the connection drops: stored, resent after the next Logon", async () => {
  const { h, release } = await slowConnection();
  const first = h.session.put(order("a"));
  await h.settle();
  const rest = ["b", "c"].map((id) => h.session.put(order(id)));
  await h.settle();
  assert.equal(h.store.state.nextSenderSeqNum, 4, "c waits for room, unnumbered");
  h.session.dropConnection("test drop");
  release();
  await h.settle();
  await Promise.all([first, ...rest]);
  // c was numbered and stored on the late route (bounded by the same MaxOutgoingBufferSize):
  // the next Logon's resend carries it.
  assert.equal(h.store.state.nextSenderSeqNum, 5);
  const stored: string[] = [];
  for await (const m of h.store.readOutgoing(1, 10)) {
    stored.push(
      new TextDecoder().decode(m.bytes).split("\x01").find((f) => f.startsWith("11="))?.slice(3) ??
        "?",
    );
  }
  assert.deepEqual(stored, ["a", "b", "c"]);
  await h.close();
});

Deno.test("a put waiting for room is rejected, not left pending, when its store is gone at the drop", async () => {
  const { h, release } = await slowConnection();
  const first = h.session.put(order("a"));
  await h.settle();
  const second = h.session.put(order("b"));
  const waiting = h.session.put(order("c"));
  await h.settle();
  await h.store.close();
  h.session.dropConnection("finalized");
  release();
  await assert.rejects(waiting, /closed/);
  await Promise.allSettled([first, second]);
  await h.settle();
});

Deno.test("put refuses a message over the store's size limit alone, before numbering it", async () => {
  const store = await new MemorySeqStoreFactory().open(new SessionId("FW", "PEER"), { nowMs: T0 });
  Object.defineProperty(store, "maxMessageBytes", { value: 200 });
  const h = await established({ store });
  const big = new FixMessage("D").set(11, "big").set(58, "x".repeat(300));
  await assert.rejects(
    h.session.put(big),
    /Cannot send message: \d+ bytes exceed the store's limit of 200/,
  );
  assert.equal(h.store.state.nextSenderSeqNum, 2);
  assert.equal(h.session.state, "established");
  await h.session.put(new FixMessage("D").set(11, "small"));
  await h.settle();
  assert.deepEqual(h.peer.take().map((m) => m.match(/34=(\d+)\|.*11=(\w+)/)?.slice(1)), [[
    "2",
    "small",
  ]]);
  await h.close();
  await store.close();
});

// With `flushSync` (the file store commits synchronously without fsync) and without it (awaited).
for (const quick of [true, false]) {
  Deno.test(
    `file store: an answer and the inbound number take one write before the answer goes out, a session message after its number (${
      quick ? "synchronous commits" : "awaited commits"
    })`,
    async () => {
      const dir = await Deno.makeTempDir();
      const file = await new FileSeqStoreFactory({ directory: dir }).open(
        new SessionId("FW", "PEER"),
        {
          nowMs: T0,
        },
      );
      const stateLine = () =>
        Deno.readTextFileSync(`${dir}/FW-PEER/state.txt`).trimEnd().split("\n").at(-1)!;
      // Each store write is recorded with the number of connection writes made before it and the
      // state line and the outgoing log it left.
      const outgoing = () =>
        new TextDecoder().decode(Deno.readFileSync(`${dir}/FW-PEER/outgoing.log`))
          .replaceAll("\x01", "|");
      const log: { op: string; writesBefore: number; state: string; outgoing: string }[] = [];
      let writes = () => 0;
      const recorded = (op: "flush" | "flushOutgoing") => async () => {
        const writesBefore = writes();
        await (op === "flush" ? file.flush() : file.flushOutgoing!());
        log.push({ op, writesBefore, state: stateLine(), outgoing: outgoing() });
      };
      const recordedSync = (outgoingOnly: boolean) => {
        const writesBefore = writes();
        const done = file.flushSync!(outgoingOnly);
        if (done) {
          log.push({
            op: outgoingOnly ? "flushOutgoing" : "flush",
            writesBefore,
            state: stateLine(),
            outgoing: outgoing(),
          });
        }
        return done;
      };
      const spy = new Proxy(file, {
        get(target, key) {
          if (key === "flush" || key === "flushOutgoing") return recorded(key);
          if (key === "flushSync") return quick ? recordedSync : undefined;
          const v = Reflect.get(target, key, target);
          return typeof v === "function" ? v.bind(target) : v;
        },
      }) as SeqStore;
      const h = await established({
        store: spy,
        handler: {
          onMessage: (m) => {
            if (m.get(11) === "answer me") {
              void h.session.put(new FixMessage("8").set(11, "answer me").set(150, "0"));
            }
          },
        },
      });
      writes = () => h.written.length;
      try {
        // An order answered at once: the report and the order's number (a target record after
        // it in the log) are stored in one write, right before the report goes out; no state
        // line for the number.
        log.length = 0;
        const lineBefore = stateLine();
        await h.peer.send("D", [[11, "answer me"]]);
        await h.settle();
        const sentAt = h.written.findIndex((w) => w.some((m) => m.includes("11=answer me")));
        assert.ok(sentAt >= 0, "the report was written");
        const before = log.find((l) => l.op === "flushOutgoing")!;
        assert.equal(before.writesBefore, sentAt, "stored right before the write");
        assert.match(
          before.outgoing,
          /11=answer me\|[^#]*10=\d{3}\|#T 3 +\n$/,
          "the order's number in the write before the report went out",
        );
        assert.equal(stateLine(), lineBefore, "no state line");
        // An inbound message that gets no answer is recorded all the same.
        await h.peer.send("D", [[11, "no answer"]]);
        await h.settle();
        assert.match(stateLine(), / T 4 /);
        // A session message takes a number the log does not hold: written before it is sent.
        log.length = 0;
        await h.peer.send("1", [[112, "probe"]]);
        await h.settle();
        const hb = h.written.findIndex((w) => w.some((m) => m.includes("112=probe")));
        const stored = log.find((l) => l.op === "flushOutgoing" && l.writesBefore === hb)!;
        assert.match(
          stored.state,
          /^S 4 /,
          "the Heartbeat's number was written before it was sent",
        );
      } finally {
        await h.close();
        await file.close();
        await Deno.remove(dir, { recursive: true });
      }
    },
  );
}

Deno.test("a change made while a store write is in progress is written by the same flush going round again", async () => {
  const memory = await new MemorySeqStoreFactory().open(new SessionId("FW", "PEER"), { nowMs: T0 });
  const flushedTargets: number[] = [];
  let gate: Promise<void> | undefined;
  const slow = new Proxy(memory, {
    get(target, key) {
      if (key === "flush") {
        return async () => {
          flushedTargets.push(target.state.nextTargetSeqNum);
          if (gate) await gate;
        };
      }
      // Every commit through the slow flush.
      if (key === "flushSync") return undefined;
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as SeqStore;
  const h = await established({ store: slow });
  try {
    let release!: () => void;
    gate = new Promise((r) => release = r);
    flushedTargets.length = 0;
    await h.peer.send("D", [[11, "first"]]); // no answer: only its number is written
    await h.settle();
    assert.deepEqual(flushedTargets, [3], "the write for the first message is in progress");
    await h.peer.send("D", [[11, "second"]]);
    await h.settle();
    assert.equal(memory.state.nextTargetSeqNum, 4);
    gate = undefined;
    release();
    await h.settle();
    assert.deepEqual(flushedTargets, [3, 4], "the second number was written without a new trigger");
  } finally {
    await h.close();
    await memory.close();
  }
});

Deno.test("a store that declines some synchronous commits: every message goes out once, in order, each put settled", async () => {
  const memory = await new MemorySeqStoreFactory().open(new SessionId("FW", "PEER"), { nowMs: T0 });
  let calls = 0;
  let declined = 0;
  const mixed = new Proxy(memory, {
    get(target, key) {
      if (key === "flushSync") {
        // Every third commit has to be awaited.
        return (outgoingOnly: boolean) => {
          if (++calls % 3 === 0) {
            declined++;
            return false;
          }
          return target.flushSync!(outgoingOnly);
        };
      }
      const v = Reflect.get(target, key, target);
      return typeof v === "function" ? v.bind(target) : v;
    },
  }) as SeqStore;
  const h = await established({ store: mixed });
  try {
    h.peer.take();
    const puts: Promise<void>[] = [];
    for (let i = 0; i < 30; i++) {
      puts.push(h.session.put(order(`o${i}`)));
      // Some in the same turn, some awaited one by one.
      if (i % 4 !== 0) await puts[i];
    }
    await Promise.all(puts);
    await h.settle();
    assert.ok(declined > 0, "some commits were awaited");
    const sent = h.peer.take().map((m) => m.match(/34=(\d+)\|.*11=(\w+)/)!.slice(1).join(" "));
    assert.deepEqual(sent, Array.from({ length: 30 }, (_, i) => `${i + 2} o${i}`));
    assert.equal(memory.state.nextSenderSeqNum, 32);
  } finally {
    await h.close();
    await memory.close();
  }
});
