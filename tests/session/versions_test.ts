import assert from "node:assert/strict";
import { BusinessRejectError } from "../../src/errors.ts";
import { stampPrecision, versionNumber } from "../../src/session/admin.ts";
import { established, ts } from "./_harness.ts";

Deno.test("Reject carries RefTagID, RefMsgType and SessionRejectReason from FIX.4.2 on only", async () => {
  const text = "58=Required tag missing: OrigSendingTime(122)|";
  const cases: [string, string][] = [
    ["FIX.4.0", `45=2|${text}`],
    ["FIX.4.1", `45=2|${text}`],
    ["FIX.4.2", `45=2|371=122|372=D|373=1|${text}`],
  ];
  for (const [begin, fields] of cases) {
    const h = await established({ begin });
    await h.peer.send("D", [[11, "x"]], { possDup: true });
    await h.settle();
    assert.deepEqual(
      h.peer.take(),
      [`35=3|49=FW|56=PEER|34=2|52=${ts(0, begin)}|${fields}`],
      begin,
    );
    await h.close();
  }
});

Deno.test("a BusinessRejectError becomes a BusinessMessageReject in FIX.4.2 and FIXT.1.1", async () => {
  for (const begin of ["FIX.4.2", "FIXT.1.1"]) {
    const h = await established({
      begin,
      handler: {
        onMessage: () => {
          throw new BusinessRejectError("unknown security", { reason: 2, refTagId: 55 });
        },
      },
    });
    await h.peer.send("D", [[11, "x"]]);
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=j|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|372=D|380=2|371=55|58=unknown security|`,
    ], begin);
    assert.equal(h.session.nextTargetSeqNum, 3);
    await h.close();
  }
});

Deno.test("a handler throwing a plain Error gets BusinessMessageReject 380=4 and an error event", async () => {
  for (const begin of ["FIX.4.2", "FIX.4.4", "FIXT.1.1"]) {
    const failure = new Error("database down");
    const h = await established({
      begin,
      handler: {
        onMessage: () => {
          throw failure;
        },
      },
    });
    await h.peer.send("D", [[11, "x"]]);
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=j|49=FW|56=PEER|34=2|52=${ts(0)}|45=2|372=D|380=4|58=Application not available|`,
    ], begin);
    assert.deepEqual(h.events.filter((e) => e.type === "error"), [
      { type: "error", atMs: h.clock.now(), error: failure },
    ]);
    await h.close();
  }
});

Deno.test("FIX.4.0 and FIX.4.1 answer a handler's plain Error with a Reject and an error event", async () => {
  for (const begin of ["FIX.4.0", "FIX.4.1"]) {
    const failure = new Error("database down");
    const h = await established({
      begin,
      handler: {
        onMessage: () => Promise.reject(failure),
      },
    });
    await h.peer.send("D", [[11, "x"]]);
    await h.settle();
    assert.deepEqual(h.peer.take(), [
      `35=3|49=FW|56=PEER|34=2|52=${ts(0, begin)}|45=2|58=Application not available|`,
    ], begin);
    assert.deepEqual(h.events.filter((e) => e.type === "error"), [
      { type: "error", atMs: h.clock.now(), error: failure },
    ]);
    assert.equal(h.session.nextTargetSeqNum, 3);
    await h.close();
  }
});

Deno.test("versionNumber reads FIX.x.y BeginStrings and takes anything else as FIXT (5.0)", () => {
  const cases: [string, number][] = [
    ["FIX.4.0", 40],
    ["FIX.4.1", 41],
    ["FIX.4.2", 42],
    ["FIX.4.4", 44],
    ["FIXT.1.1", 50],
    ["FIX.4.x", 50],
    ["FIX.4.22", 50],
    ["FIX-4.2", 50],
    ["FIX.4/2", 50],
    ["fix.4.2", 50],
    ["", 50],
  ];
  for (const [begin, ver] of cases) assert.equal(versionNumber(begin), ver, begin);
  assert.equal(stampPrecision("FIX.4.1", "us"), "s");
  assert.equal(stampPrecision("FIX.4.2", "us"), "us");
  assert.equal(stampPrecision("FIXT.1.1", "ns"), "ns");
});
