// FIX session-layer conformance (FIX 4.4 Vol 2 / FIXT.1.1 "Session test cases"): garbled
// messages, invalid tags and CompIDs, MsgTypes, SessionRejectReason per version, reverse
// routing of answers and timestamp formats, on every FIX version.
import assert from "node:assert/strict";
import { MessageRejectError } from "../../src/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { renderTables, TABLE_SOURCES } from "../../tools/gen_session_tables.ts";
import { HAVE_SPECS, SPEC_DIR } from "../_spec_dir.ts";
import { established, ts } from "./_harness.ts";

const VERSIONS = ["FIX.4.0", "FIX.4.1", "FIX.4.2", "FIX.4.3", "FIX.4.4", "FIXT.1.1"];
const OLD = new Set(["FIX.4.0", "FIX.4.1"]);
const te = new TextEncoder();

/** A whole message with the right BodyLength and CheckSum; `body` starts after BodyLength. */
function frame(begin: string, body: string): string {
  const b = body.replaceAll("|", "\x01");
  const head = `8=${begin}\x019=${te.encode(b).length}\x01`;
  let sum = 0;
  for (const x of te.encode(head + b)) sum += x;
  return `${head}${b}10=${String(sum % 256).padStart(3, "0")}\x01`;
}

Deno.test("a message whose third field is not MsgType is garbled: ignored, number not consumed, no Reject", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    await h.peer.sendBytes(frame(begin, `49=PEER|35=0|56=FW|34=2|52=${ts(0)}|`));
    await h.settle();
    assert.deepEqual(h.peer.take(), [], begin);
    assert.equal(h.session.nextTargetSeqNum, 2, begin);
    assert.equal(h.events.filter((e) => e.type === "garbled").length, 1, begin);
    await h.peer.send("0", [], { seq: 2 });
    await h.settle();
    assert.deepEqual(h.peer.take(), [], begin);
    assert.equal(h.session.nextTargetSeqNum, 3, begin);
    await h.close();
  }
});

Deno.test("a BodyLength too long makes the message garbled and, as in QuickFIX, takes the next message with it", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    const body = (seq: number) => `35=0|49=PEER|56=FW|34=${seq}|52=${ts(0)}|`;
    // The first "9=" is BodyLength (no BeginString holds one).
    const tooLong = frame(begin, body(2)).replace(/9=(\d+)/, (_, n) => `9=${+n + 3}`);
    await h.peer.sendBytes(tooLong + frame(begin, body(3)));
    await h.settle();
    assert.deepEqual(h.peer.take(), [], begin);
    assert.equal(h.events.filter((e) => e.type === "garbled").length, 1, begin);
    assert.equal(h.session.nextTargetSeqNum, 2, begin);
    // Neither number was consumed: the next message opens a gap from 2.
    await h.peer.sendBytes(frame(begin, body(4)));
    await h.settle();
    const end = begin === "FIX.4.0" || begin === "FIX.4.1" ? 999999 : 0;
    assert.deepEqual(h.peer.take(), [
      `35=2|49=FW|56=PEER|34=2|52=${ts(0, begin)}|7=2|16=${end}|`,
    ], begin);
    await h.close();
  }
});

Deno.test("an invalid tag number (0, negative, not a number) gets a Reject with reason 0 and consumes the number", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    const head = (seq: number) => `35=0|49=PEER|56=FW|34=${seq}|52=${ts(0)}|`;
    await h.peer.sendBytes(frame(begin, `${head(2)}0=x|`));
    await h.peer.sendBytes(frame(begin, `${head(3)}-5=x|`));
    await h.peer.sendBytes(frame(begin, `${head(4)}x1=y|`));
    await h.settle();
    const t = ts(0, begin);
    assert.deepEqual(
      h.peer.take(),
      OLD.has(begin)
        ? [
          `35=3|49=FW|56=PEER|34=2|52=${t}|45=2|58=Invalid tag number (0)|`,
          `35=3|49=FW|56=PEER|34=3|52=${t}|45=3|58=Invalid tag number|`,
          `35=3|49=FW|56=PEER|34=4|52=${t}|45=4|58=Invalid tag number|`,
        ]
        : [
          `35=3|49=FW|56=PEER|34=2|52=${t}|45=2|371=0|372=0|373=0|58=Invalid tag number (0)|`,
          `35=3|49=FW|56=PEER|34=3|52=${t}|45=3|372=0|373=0|58=Invalid tag number|`,
          `35=3|49=FW|56=PEER|34=4|52=${t}|45=4|372=0|373=0|58=Invalid tag number|`,
        ],
      begin,
    );
    assert.equal(h.session.nextTargetSeqNum, 5, begin);
    assert.equal(h.session.state, "established", begin);
    await h.close();
  }
});

Deno.test("a missing or empty CompID gets a Reject (reason 1 or 4), consumes the number and the session goes on", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    const noSender = h.peer.build("0");
    noSender.remove(49);
    await h.peer.sendMessage(noSender);
    await h.peer.sendBytes(frame(begin, `35=1|49=PEER|56=|34=3|52=${ts(0)}|112=T|`));
    await h.settle();
    const t = ts(0, begin);
    assert.deepEqual(
      h.peer.take(),
      OLD.has(begin)
        ? [
          `35=3|49=FW|56=PEER|34=2|52=${t}|45=2|58=Required tag missing (SenderCompID(49))|`,
          `35=3|49=FW|56=PEER|34=3|52=${t}|45=3|58=Tag specified without a value (TargetCompID(56))|`,
        ]
        : [
          `35=3|49=FW|56=PEER|34=2|52=${t}|45=2|371=49|372=0|373=1|58=Required tag missing (SenderCompID(49))|`,
          `35=3|49=FW|56=PEER|34=3|52=${t}|45=3|371=56|372=1|373=4|58=Tag specified without a value (TargetCompID(56))|`,
        ],
      begin,
    );
    assert.equal(h.session.nextTargetSeqNum, 4, begin);
    assert.equal(h.session.state, "established", begin);
    await h.close();
  }
});

Deno.test("an undefined MsgType gets a Reject with reason 11; a defined one the application does not take a BusinessMessageReject", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin, supportsMsgType: (t) => t === "D" });
    await h.peer.send("ZZ", [[58, "x"]]);
    await h.peer.send("E", [[66, "list"]]);
    await h.settle();
    const t = ts(0, begin);
    assert.deepEqual(
      h.peer.take(),
      OLD.has(begin)
        ? [
          `35=3|49=FW|56=PEER|34=2|52=${t}|45=2|58=Invalid MsgType (ZZ)|`,
          `35=3|49=FW|56=PEER|34=3|52=${t}|45=3|58=Invalid MsgType "E"|`,
        ]
        : [
          `35=3|49=FW|56=PEER|34=2|52=${t}|45=2|371=35|372=ZZ|373=11|58=Invalid MsgType (ZZ)|`,
          `35=j|49=FW|56=PEER|34=3|52=${t}|45=3|372=E|380=3|58=Unsupported MsgType "E"|`,
        ],
      begin,
    );
    assert.equal(h.session.nextTargetSeqNum, 4, begin);
    await h.close();
  }
});

Deno.test("SessionRejectReason is sent only where the version defines the value", async () => {
  // 13 (tag appears more than once) from FIX.4.3, 99 (other) from FIX.4.4, 18 (invalid
  // application version) from FIXT.1.1; FIX.4.0 and FIX.4.1 have no SessionRejectReason.
  const expected: Record<string, [string, string, string]> = {
    "FIX.4.0": ["45=2|", "45=3|", "45=4|"],
    "FIX.4.1": ["45=2|", "45=3|", "45=4|"],
    "FIX.4.2": ["45=2|371=55|372=D|", "45=3|372=D|", "45=4|372=D|"],
    "FIX.4.3": ["45=2|371=55|372=D|373=13|", "45=3|372=D|", "45=4|372=D|"],
    "FIX.4.4": ["45=2|371=55|372=D|373=13|", "45=3|372=D|373=99|", "45=4|372=D|"],
    "FIXT.1.1": ["45=2|371=55|372=D|373=13|", "45=3|372=D|373=99|", "45=4|372=D|373=18|"],
  };
  for (const begin of VERSIONS) {
    const h = await established({
      begin,
      validate: (m) =>
        m.get(11) === "dup" ? [{ reason: 13, tag: 55, text: "Tag appears more than once" }] : [],
      handler: {
        onMessage: (m) => {
          const reason = m.get(11) === "other" ? 99 : 18;
          throw new MessageRejectError(`reason ${reason}`, { reason });
        },
      },
    });
    await h.peer.send("D", [[11, "dup"], [55, "A"]]);
    await h.peer.send("D", [[11, "other"]]);
    await h.peer.send("D", [[11, "version"]]);
    await h.settle();
    const t = ts(0, begin);
    const [a, b, c] = expected[begin];
    assert.deepEqual(h.peer.take(), [
      `35=3|49=FW|56=PEER|34=2|52=${t}|${a}58=Tag appears more than once|`,
      `35=3|49=FW|56=PEER|34=3|52=${t}|${b}58=reason 99|`,
      `35=3|49=FW|56=PEER|34=4|52=${t}|${c}58=reason 18|`,
    ], begin);
    await h.close();
  }
});

Deno.test("Reject and BusinessMessageReject carry the routing of the message they answer, reversed", async () => {
  const routing: [number, string][] = [
    [115, "CLIENT"],
    [116, "DESK"],
    [144, "NY"],
    [128, "VENUE"],
    [129, ""],
    [145, "LDN"],
  ];
  for (const begin of VERSIONS) {
    const h = await established({
      begin,
      supportsMsgType: (t) => t === "D",
      validate: (m) =>
        m.msgType === "D" ? [{ reason: 1, tag: 54, text: "Required tag missing" }] : [],
    });
    await h.peer.sendMessage(h.peer.build("D", [...routing, [11, "x"]]));
    await h.peer.sendMessage(h.peer.build("E", [...routing, [66, "x"]]));
    // A Heartbeat answering a TestRequest is not routed back (as QuickFIX).
    await h.peer.sendMessage(h.peer.build("1", [...routing, [112, "T"]]));
    await h.settle();
    const t = ts(0, begin);
    // OnBehalfOf -> DeliverTo and back; the empty DeliverToSubID is not copied; FIX.4.0 has
    // no LocationIDs.
    const route = begin === "FIX.4.0"
      ? "128=CLIENT|129=DESK|115=VENUE|"
      : "128=CLIENT|129=DESK|145=NY|115=VENUE|144=LDN|";
    assert.deepEqual(
      h.peer.take(),
      OLD.has(begin)
        ? [
          `35=3|49=FW|56=PEER|34=2|52=${t}|${route}45=2|58=Required tag missing|`,
          `35=3|49=FW|56=PEER|34=3|52=${t}|${route}45=3|58=Invalid MsgType "E"|`,
          `35=0|49=FW|56=PEER|34=4|52=${t}|112=T|`,
        ]
        : [
          `35=3|49=FW|56=PEER|34=2|52=${t}|${route}45=2|371=54|372=D|373=1|58=Required tag missing|`,
          `35=j|49=FW|56=PEER|34=3|52=${t}|${route}45=3|372=E|380=3|58=Unsupported MsgType "E"|`,
          `35=0|49=FW|56=PEER|34=4|52=${t}|112=T|`,
        ],
      begin,
    );
    await h.close();
  }
});

Deno.test("FIX.4.0 and FIX.4.1 write whole-second UTCTimestamps; later versions milliseconds", async () => {
  for (const begin of VERSIONS) {
    const h = await established({ begin });
    await h.clock.advance(123);
    await h.session.put(new FixMessage("D").set(11, "a"));
    await h.settle();
    await h.clock.advance(1000);
    await h.peer.send("2", [[7, 1], [16, 0]]);
    await h.settle();
    const t0 = ts(123, begin), t1 = ts(1123, begin);
    assert.deepEqual(h.peer.take(), [
      `35=D|49=FW|56=PEER|34=2|52=${t0}|11=a|`,
      `35=4|49=FW|56=PEER|34=1|52=${t1}|43=Y|122=${t1}|123=Y|36=2|`,
      `35=D|49=FW|56=PEER|34=2|52=${t1}|43=Y|122=${t0}|11=a|`,
    ], begin);
    assert.equal(t0.length, OLD.has(begin) ? 17 : 21, begin);
    await h.close();
  }
});

Deno.test(
  "the SessionRejectReason and MsgType table is what tools/gen_session_tables.ts makes of the dictionaries",
  { ignore: !HAVE_SPECS },
  async () => {
    const xmls: [string, string][] = [];
    for (const [file, key] of TABLE_SOURCES) {
      xmls.push([key, await Deno.readTextFile(`${SPEC_DIR}/${file}`)]);
    }
    const committed = await Deno.readTextFile(
      new URL("../../src/session/_tables.ts", import.meta.url),
    );
    assert.equal(renderTables(xmls), committed);
  },
);
