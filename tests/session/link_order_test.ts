// Ordering and bounds that hold by construction of the core and its link: handlers one at a
// time in sequence order, numbers persisted after the handler, a gap that spoils a "correct"
// termination, and ResendRequests that cannot pile up work.
import assert from "node:assert/strict";
import { FixEncoder } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { MemorySeqStore, type StoredMessage } from "../../src/store.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { MemoryConnection } from "../../src/testing.ts";
import { established, harness, T0, ts } from "./_harness.ts";

/** Reads events until one of `type` (5 s at most). */
async function untilEvent(
  events: AsyncIterator<SessionEvent>,
  type: SessionEvent["type"],
): Promise<void> {
  const signal = AbortSignal.timeout(5000);
  const aborted = new Promise<never>((_, reject) =>
    signal.addEventListener("abort", () => reject(signal.reason))
  );
  for (;;) {
    const e = await Promise.race([events.next(), aborted]);
    if (!e.done && e.value.type === type) return;
  }
}

Deno.test("handlers run one at a time, in order, also for messages released by a SequenceReset", async () => {
  const log: string[] = [];
  const gates = new Map<string, () => void>();
  const h = await established({
    handler: {
      onMessage: async (m) => {
        const id = m.get(11)!;
        log.push(`start ${id}`);
        await new Promise<void>((r) => gates.set(id, r));
        log.push(`end ${id}`);
      },
    },
  });
  // 2 is missing: 3 and 4 are held; a Reset-mode SequenceReset to 3 releases them; 5 follows.
  await h.peer.send("D", [[11, "c"]], { seq: 3 });
  await h.peer.send("D", [[11, "d"]], { seq: 4 });
  await h.peer.send("4", [[36, 3]], { seq: 5 });
  await h.peer.send("D", [[11, "e"]], { seq: 5 });
  await h.settle();
  assert.deepEqual(log, ["start c"]);
  // The expected number is persisted only once a handler has settled.
  assert.equal(h.store.state.nextTargetSeqNum, 3);
  gates.get("c")!();
  await h.settle();
  assert.deepEqual(log, ["start c", "end c", "start d"]);
  assert.equal(h.store.state.nextTargetSeqNum, 4);
  gates.get("d")!();
  await h.settle();
  assert.deepEqual(log, ["start c", "end c", "start d", "end d", "start e"]);
  gates.get("e")!();
  await h.settle();
  assert.equal(h.store.state.nextTargetSeqNum, 6);
  await h.close();
});

Deno.test("a Logout exchange with an unfilled inbound gap is not a correct termination", async () => {
  const h = await established();
  await h.peer.send("D", [[11, "x"]], { seq: 4 }); // 2 and 3 missing
  await h.settle();
  h.peer.take();
  const out = h.session.logout("eod");
  await h.settle();
  await h.peer.send("5", [], { seq: 5 });
  await out;
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.correctlyTerminated, false);
  assert.equal(h.store.state.nextTargetSeqNum, 2);
  // The next Logon keeps the numbers and asks for the gap.
  await h.reconnect();
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 6 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    `35=A|49=FW|56=PEER|34=4|52=${ts(0)}|98=0|108=30|`,
    `35=2|49=FW|56=PEER|34=5|52=${ts(0)}|7=2|16=0|`,
  ]);
  await h.close();
});

Deno.test("a Logout exchange without a gap is a correct termination", async () => {
  const h = await established();
  const out = h.session.logout("eod");
  await h.settle();
  await h.peer.send("5", [], { seq: 2 });
  await out;
  assert.equal(h.store.state.correctlyTerminated, true);
  await h.close();
});

Deno.test("a Logout answer that never reached the peer leaves the numbers to continue", async () => {
  const h = await harness({ role: "initiator" });
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  h.peer.take();
  // A zero window: our orders and the Logout answer after them stay in our buffer.
  h.conn.blockWrites();
  const puts = ["a", "b"].map((id) => h.session.put(new FixMessage("D").set(11, id)));
  await h.peer.send("5", [[58, "eod"]]);
  await h.settle();
  assert.equal(h.session.state, "correctlyTerminated");
  // The peer gives up waiting for our answer and closes: nothing of ours reached it.
  await h.peer.close();
  await Promise.all(puts);
  await h.done;
  await h.settle();
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.correctlyTerminated, false);
  // The next Logon continues the numbers (no reset): the orders are resent when asked for.
  await h.reconnect();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=5|52=${ts(0)}|98=0|108=30|`]);
  await h.close();
});

Deno.test("after answering the peer's Logout the session reads on until the peer closes", async () => {
  const delivered: string[] = [];
  const h = await established({
    settings: { logoutTimeoutMs: 5000 },
    handler: { onMessage: (m) => void delivered.push(m.get(11)!) },
  });
  h.peer.closesOnLogoutAnswer = false;
  let closedAt = -1;
  h.done.then(() => closedAt = h.clock.now());
  await h.peer.send("5", [[58, "eod"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=2|52=${ts(0)}|`]);
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.correctlyTerminated, true);
  // Still open: closing with the peer's bytes unread would reset the connection and discard
  // what the peer has not read yet.
  await h.clock.advance(1000);
  assert.equal(closedAt, -1);
  // The peer still answers what we sent before our answer: not handled, so the session is not
  // correctly terminated (the next Logon asks for it), and the wait restarts.
  await h.peer.send("8", [[11, "late"]]);
  await h.settle();
  assert.deepEqual(delivered, []);
  assert.equal(h.store.state.correctlyTerminated, false);
  await h.clock.advance(4999);
  assert.equal(closedAt, -1);
  await h.clock.advance(1);
  assert.match(await h.done, /logout by peer: eod/);
  assert.equal(closedAt, T0 + 6000);
  assert.equal(h.store.state.nextTargetSeqNum, 3, "the late report is asked for again");
  await h.close();
});

Deno.test("after our Logout answer only the peer's orderly close makes a correct termination", async () => {
  for (const end of ["close", "abort", "timeout", "drop"] as const) {
    const h = await established({ settings: { logoutTimeoutMs: 2000 } });
    h.peer.closesOnLogoutAnswer = false;
    await h.peer.send("5", []);
    await h.settle();
    assert.equal(h.store.state.correctlyTerminated, true);
    // A peer that gave up with our bytes unread resets the connection; one that read them
    // closes; one that does not close in time (or that we drop) may not have read them.
    const conn = h.peer.conn as MemoryConnection;
    if (end === "abort") conn.abort();
    else if (end === "close") conn.close();
    else if (end === "drop") h.session.dropConnection("operator");
    else await h.clock.advance(2000);
    await h.done;
    await h.settle();
    assert.equal(h.store.state.correctlyTerminated, end === "close", end);
    await h.close();
  }
});

Deno.test("a message the peer sends after confirming our Logout leaves the numbers to continue", async () => {
  const h = await established();
  const out = h.session.logout("eod");
  await h.settle();
  // The confirmation and an order after it in one chunk: the order is read, not handled.
  const enc = new FixEncoder("FIX.4.4");
  enc.append(h.peer.build("5", []));
  enc.append(h.peer.build("D", [[11, "late"]]));
  await h.peer.conn.write(enc.take());
  await out;
  await h.settle();
  assert.equal(h.session.state, "correctlyTerminated");
  assert.equal(h.store.state.nextTargetSeqNum, 3, "the order is asked for again");
  assert.equal(h.store.state.correctlyTerminated, false);
  await h.close();
});

Deno.test("overlapping ResendRequests merge into one waiting answer instead of piling up", async () => {
  const h = await established();
  for (const id of ["a", "b", "c", "d"]) await h.session.put(new FixMessage("D").set(11, id));
  await h.settle();
  h.peer.take();
  const release = h.holdWrites();
  await h.peer.send("2", [[7, 4], [16, 0]]);
  await h.peer.send("2", [[7, 3], [16, 4]]);
  await h.peer.send("2", [[7, 2], [16, 3]]);
  await h.peer.send("2", [[7, 4], [16, 5]]);
  await h.settle();
  release();
  await h.settle();
  const answers = h.events.flatMap((e) =>
    e.type === "resendAnswered" ? [[e.begin, e.end, e.resent]] : []
  );
  // The first answer ran; the three others became one answer for 2..5.
  assert.deepEqual(answers, [[4, 5, 2], [2, 5, 4]]);
  await h.close();
});

Deno.test("a resend answer is read in blocks bounded by MaxOutgoingBufferSize", async () => {
  const h = await established({ settings: { maxOutgoingBufferBytes: 200 } });
  for (const id of ["a", "b", "c", "d"]) await h.session.put(new FixMessage("D").set(11, id));
  await h.settle();
  h.peer.take();
  const before = h.written.length;
  const release = h.holdWrites();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  const resent = (id: string, seq: number) =>
    `35=D|49=FW|56=PEER|34=${seq}|52=${ts(0)}|43=Y|122=${ts(0)}|11=${id}|`;
  // About 75 bytes each: the first block holds two; the next is read once it is written.
  assert.deepEqual(h.written.slice(before), [[resent("a", 2), resent("b", 3)]]);
  release();
  await h.settle();
  assert.deepEqual(h.written.slice(before), [
    [resent("a", 2), resent("b", 3)],
    [resent("c", 4), resent("d", 5)],
  ]);
  await h.close();
});

Deno.test("a message stored in the same turn as a ResendRequest for it is resent, not gap-filled (file store)", async () => {
  const { FileSeqStoreFactory } = await import("../../adapters/file_store.ts");
  const { SessionId } = await import("../../src/session_id.ts");
  const dir = await Deno.makeTempDir();
  const store = await new FileSeqStoreFactory({ directory: dir }).open(
    new SessionId("FW", "PEER"),
    {
      nowMs: 0,
    },
  );
  try {
    const h = await established({ store });
    const events = h.session.events();
    // The order is stored (buffered in the store) and the request for it arrives at once.
    const put = h.session.put(new FixMessage("D").set(11, "fresh"));
    await h.peer.send("2", [[7, 2], [16, 0]]);
    await put;
    // The file store reads from disk: wait for the answer's event, not for microtasks.
    await untilEvent(events, "resendAnswered");
    await events.return?.();
    await h.settle();
    const resent = h.peer.take().filter((m) => m.includes("|43=Y|"));
    assert.equal(resent.length, 1, "the order is resent with PossDupFlag");
    assert.match(resent[0], /^35=D\|.*\|11=fresh\|$/);
    await h.close({ keepStore: true });
  } finally {
    await store.close();
    await Deno.remove(dir, { recursive: true });
  }
});

/** A memory store whose reads wait while `hold()` is in force: a slow disk, under test control. */
class SlowReadStore extends MemorySeqStore {
  #gate: Promise<void> = Promise.resolve();

  /** Holds every read started from now on until the returned function is called. */
  hold(): () => void {
    let release!: () => void;
    this.#gate = new Promise<void>((r) => release = r);
    return () => {
      this.#gate = Promise.resolve();
      release();
    };
  }

  override async *readOutgoing(from: number, to: number): AsyncIterable<StoredMessage> {
    await this.#gate;
    yield* super.readOutgoing(from, to);
  }
}

const order = (id: string) => new FixMessage("D").set(11, id);
const resentOrder = (id: string, seq: number) =>
  `35=D|49=FW|56=PEER|34=${seq}|52=${ts(0)}|43=Y|122=${ts(0)}|11=${id}|`;
const newOrder = (id: string, seq: number) => `35=D|49=FW|56=PEER|34=${seq}|52=${ts(0)}|11=${id}|`;

Deno.test("a message numbered while a resend answer is read from the store goes out after the answer", async () => {
  const store = new SlowReadStore(T0);
  const h = await established({ store });
  for (const id of ["a", "b"]) await h.session.put(order(id));
  await h.settle();
  h.peer.take();
  const release = store.hold();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  // The answer waits for the disk; the application sends meanwhile.
  let sent = false;
  const put = h.session.put(order("new")).then(() => sent = true);
  await h.settle();
  assert.deepEqual(h.peer.take(), [], "nothing numbered 4 overtakes the answer for 2..3");
  assert.equal(sent, false, "put() resolves once its message is written");
  assert.equal(h.store.state.nextSenderSeqNum, 5, "stored at once, though");
  release();
  await put;
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    resentOrder("a", 2),
    resentOrder("b", 3),
    newOrder("new", 4),
  ]);
  await h.close();
  await store.close();
});

Deno.test("a message numbered between two blocks of a resend answer goes out after the answer", async () => {
  const h = await established({ settings: { maxOutgoingBufferBytes: 200 } });
  for (const id of ["a", "b", "c", "d"]) await h.session.put(order(id));
  await h.settle();
  h.peer.take();
  const release = h.holdWrites();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  // The first block is being written; the second is read once it is. The application sends.
  const put = h.session.put(order("new"));
  await h.settle();
  release();
  await put;
  await h.settle();
  assert.deepEqual(h.peer.take(), [
    resentOrder("a", 2),
    resentOrder("b", 3),
    resentOrder("c", 4),
    resentOrder("d", 5),
    newOrder("new", 6),
  ]);
  await h.close();
});

Deno.test("a Logout received while a resend answer is read is answered at once", async () => {
  const store = new SlowReadStore(T0);
  const h = await established({ store });
  await h.session.put(order("a"));
  await h.settle();
  h.peer.take();
  const release = store.hold();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.peer.send("5", [[58, "bye"]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=3|52=${ts(0)}|`]);
  assert.equal(await h.done, "logout by peer: bye");
  release();
  await h.close();
  await store.close();
});

Deno.test("a new connection's Logon does not wait for a resend answer of the connection before", async () => {
  const store = new SlowReadStore(T0);
  const h = await established({ store });
  await h.session.put(order("a"));
  await h.settle();
  const release = store.hold();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  await h.reconnect();
  await h.peer.send("A", [[98, 0], [108, 30]], { seq: 3 });
  await h.settle();
  assert.deepEqual(h.peer.take(), [`35=A|49=FW|56=PEER|34=3|52=${ts(0)}|98=0|108=30|`]);
  assert.equal(h.session.state, "established");
  release();
  await h.settle();
  await h.close();
  await store.close();
});

Deno.test("a held message that a merged ResendRequest covers goes out before that answer, once", async () => {
  const store = new SlowReadStore(T0);
  const logged: string[] = [];
  const messageLog = {
    append: (direction: string, _atMs: number, bytes: Uint8Array) => {
      if (direction === "out") logged.push(new TextDecoder().decode(bytes));
    },
    flush: () => Promise.resolve(),
    close: () => Promise.resolve(),
  };
  const h = await established({ store, messageLog });
  for (const id of ["a", "b"]) await h.session.put(order(id));
  await h.settle();
  h.peer.take();
  const release = store.hold();
  await h.peer.send("2", [[7, 2], [16, 0]]);
  await h.settle();
  const x = h.session.put(order("x")); // 4: held behind the answer for 2..3
  await h.peer.send("2", [[7, 3], [16, 0]]); // merged: answered next, for 3..4
  await h.settle();
  const y = h.session.put(order("y")); // 5: after both answers
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  release();
  await Promise.all([x, y]);
  await h.settle();
  // x goes before the answer that resends it: never a number below one sent without PossDup.
  assert.deepEqual(h.peer.take(), [
    resentOrder("a", 2),
    resentOrder("b", 3),
    newOrder("x", 4),
    resentOrder("b", 3),
    resentOrder("x", 4),
    newOrder("y", 5),
  ]);
  // The message log has what was written, in the order written.
  const wire = h.peer.raw.slice(-12);
  assert.deepEqual(logged.slice(-12).map((l) => l.replaceAll("\x01", "|")), wire);
  await h.close();
  await store.close();
});

for (const kind of ["memory", "file"] as const) {
  Deno.test(`a report put for an order that came with a ResendRequest goes out after the answer (${kind} store)`, async () => {
    // The interop stall: QuickFIX asked for a range and sent orders at once; our reports to
    // them, numbered above the range, went out before the answer that the store was reading.
    const { FileSeqStoreFactory } = await import("../../adapters/file_store.ts");
    const { SessionId } = await import("../../src/session_id.ts");
    const dir = await Deno.makeTempDir();
    const store = kind === "file"
      ? await new FileSeqStoreFactory({ directory: dir }).open(new SessionId("FW", "PEER"), {
        nowMs: T0,
      })
      : new MemorySeqStore(T0);
    try {
      const put: Promise<void>[] = [];
      const to: { session?: { put(m: FixMessage): Promise<void> } } = {};
      const h = await established({
        store,
        handler: { onMessage: (m) => void put.push(to.session!.put(order(`r-${m.get(11)}`))) },
      });
      to.session = h.session;
      for (const id of ["a", "b"]) await h.session.put(order(id));
      await h.settle();
      h.peer.take();
      const events = h.session.events();
      const both = new FixEncoder("FIX.4.4");
      both.append(h.peer.build("2", [[7, 2], [16, 0]]));
      both.append(h.peer.build("D", [[11, "o"]]));
      await h.peer.conn.write(both.take());
      // A file store reads from disk: wait for the answer's event, not for microtasks.
      await untilEvent(events, "resendAnswered");
      await events.return?.();
      await Promise.all(put);
      await h.settle();
      assert.deepEqual(h.peer.take(), [
        resentOrder("a", 2),
        resentOrder("b", 3),
        newOrder("r-o", 4),
      ]);
      await h.close({ keepStore: true });
    } finally {
      await store.close();
      await Deno.remove(dir, { recursive: true });
    }
  });
}
