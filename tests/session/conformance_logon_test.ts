// FIX session-layer conformance (FIX 4.4 Vol 2 / FIXT.1.1 "Session test cases"): invalid
// Logons, heartbeats around an unanswered TestRequest, and QuickFIX's ResetOnLogon,
// ResetOnLogout and ResetOnDisconnect, on every FIX version.
import assert from "node:assert/strict";
import { Configuration } from "../../src/config/resolve.ts";
import { established, harness, storeAt, T0, ts } from "./_harness.ts";

const VERSIONS = ["FIX.4.0", "FIX.4.1", "FIX.4.2", "FIX.4.3", "FIX.4.4", "FIXT.1.1"];

/** The Logon fields a peer of `begin` sends. */
function logon(
  begin: string,
  extra: [number, string | number][] = [],
): [number, string | number][] {
  const fixt: [number, string][] = begin === "FIXT.1.1" ? [[1137, "9"]] : [];
  return [[98, 0], [108, 30], ...fixt, ...extra];
}

Deno.test("a Logon with SendingTime out of range is disconnected without a Logout, as QuickFIX does", async () => {
  for (const begin of VERSIONS) {
    const h = await harness({ begin });
    await h.peer.send("A", logon(begin), { sendingTime: T0 - 120_001 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [], begin);
    assert.equal(await h.done, "SendingTime accuracy problem", begin);
    assert.equal(h.store.state.nextSenderSeqNum, 1, begin);
    assert.equal(h.store.state.nextTargetSeqNum, 1, begin);
    await h.close();
  }
});

Deno.test("a FIXT.1.1 Logon without DefaultApplVerID is disconnected without a Logout", async () => {
  const h = await harness({ begin: "FIXT.1.1" });
  await h.peer.send("A", [[98, 0], [108, 30]]);
  await h.settle();
  assert.deepEqual(h.peer.take(), []);
  assert.equal(await h.done, "Required tag missing: DefaultApplVerID(1137)");
  assert.equal(h.session.state, "nonGracefullyTerminated");
  await h.close();
});

Deno.test("no Heartbeat of ours while our TestRequest is outstanding; its deadline ends the session", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    await h.clock.advance(30_000);
    assert.deepEqual(h.peer.take(), [`35=0|49=FW|56=PEER|34=2|52=${ts(30_000, begin)}|`], begin);
    await h.clock.advance(6_000);
    assert.deepEqual(h.peer.take(), [
      `35=1|49=FW|56=PEER|34=3|52=${ts(36_000, begin)}|112=TEST-1-${T0 + 36_000}|`,
    ], begin);
    // HeartBtInt after the TestRequest: no Heartbeat while it waits for its answer.
    await h.clock.advance(30_000);
    assert.deepEqual(h.peer.take(), [], begin);
    await h.clock.advance(5_999);
    assert.deepEqual(h.peer.take(), [], begin);
    await h.clock.advance(1);
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=5|49=FW|56=PEER|34=4|52=${
        ts(72_000, begin)
      }|58=Heartbeat timeout: no answer to TestRequest|`,
    ], begin);
    await h.done;
    await h.close();
    // Answered, it lets our Heartbeats run again: the next is due HeartBtInt after the
    // TestRequest, our last message.
    const h2 = await established({ begin });
    await h2.clock.advance(36_000);
    h2.peer.take();
    await h2.clock.advance(1_000);
    await h2.peer.send("0", [[112, `TEST-1-${T0 + 36_000}`]], { sendingTime: T0 + 37_000 });
    await h2.settle();
    await h2.clock.advance(28_999);
    assert.deepEqual(h2.peer.take(), [], begin);
    await h2.clock.advance(1);
    assert.deepEqual(h2.peer.take(), [`35=0|49=FW|56=PEER|34=4|52=${ts(66_000, begin)}|`], begin);
    await h2.close();
  }
});

Deno.test("ResetOnLogon: an acceptor resets to 1 when a Logon arrives and answers with ResetSeqNumFlag only if the Logon had it", async () => {
  for (const begin of VERSIONS) {
    const store = await storeAt(5, 7);
    const h = await harness({ begin, store, settings: { resetOnLogon: true } });
    await h.peer.send("A", logon(begin), { seq: 1 });
    await h.settle();
    const extra = begin === "FIXT.1.1" ? "1137=9|" : "";
    assert.deepEqual(h.peer.take(), [
      `35=A|49=FW|56=PEER|34=1|52=${ts(0, begin)}|98=0|108=30|${extra}`,
    ], begin);
    assert.equal(h.session.state, "established", begin);
    assert.equal(store.state.nextSenderSeqNum, 2, begin);
    assert.equal(store.state.nextTargetSeqNum, 2, begin);
    await h.close();
    await store.close();
    // A Logon with ResetSeqNumFlag is answered with it (FIX.4.0 defines no 141: none).
    const store2 = await storeAt(5, 7);
    const h2 = await harness({ begin, store: store2, settings: { resetOnLogon: true } });
    await h2.peer.send("A", logon(begin, [[141, "Y"]]), { seq: 1 });
    await h2.settle();
    const flag = begin === "FIX.4.0" ? "" : "141=Y|";
    assert.deepEqual(h2.peer.take(), [
      `35=A|49=FW|56=PEER|34=1|52=${ts(0, begin)}|98=0|108=30|${flag}${extra}`,
    ], begin);
    await h2.close();
    await store2.close();
  }
});

Deno.test("ResetOnLogout: both numbers restart at 1 once the Logout exchange completes", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin, settings: { resetOnLogout: true } });
    await h.peer.send("0", [], { seq: 2 });
    await h.peer.send("5", [], { seq: 3 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [`35=5|49=FW|56=PEER|34=2|52=${ts(0, begin)}|`], begin);
    await h.done;
    await h.settle();
    assert.equal(h.store.state.nextSenderSeqNum, 1, begin);
    assert.equal(h.store.state.nextTargetSeqNum, 1, begin);
    assert.equal(h.store.state.correctlyTerminated, true, begin);
    await h.close();
  }
});

Deno.test("ResetOnDisconnect: both numbers restart at 1 when the connection ends", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin, settings: { resetOnDisconnect: true } });
    await h.peer.send("0", [], { seq: 2 });
    await h.settle();
    assert.equal(h.store.state.nextTargetSeqNum, 3, begin);
    await h.reconnect();
    assert.equal(h.store.state.nextSenderSeqNum, 1, begin);
    assert.equal(h.store.state.nextTargetSeqNum, 1, begin);
    await h.peer.send("A", logon(begin), { seq: 1 });
    await h.settle();
    assert.equal(h.session.state, "established", begin);
    assert.match(h.peer.take()[0], /^35=A\|49=FW\|56=PEER\|34=1\|/, begin);
    await h.close();
  }
});

Deno.test("ResetOnLogon, ResetOnLogout and ResetOnDisconnect are read from the properties", () => {
  const cfg = Configuration.fromText(
    ["ResetOnLogon=Y", "Session.FW/PEER.ResetOnLogout=true", "ResetOnDisconnect=N"].join("\n"),
  );
  const s = cfg.sessionSettings("FW", "PEER");
  assert.deepEqual([s.resetOnLogon, s.resetOnLogout, s.resetOnDisconnect], [true, true, false]);
  const d = cfg.sessionSettings("A", "B");
  assert.deepEqual([d.resetOnLogon, d.resetOnLogout, d.resetOnDisconnect], [true, false, false]);
});
