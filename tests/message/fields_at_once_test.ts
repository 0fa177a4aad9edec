// messageOfFields, newGroupEntry and appendGroup: a message's fields, or a group, at once.
import assert from "node:assert/strict";
import { encodeMessage } from "../../src/message/encoder.ts";
import { decodeMessage } from "../../src/message/framer.ts";
import {
  appendGroup,
  FieldMap,
  FixMessage,
  messageOfFields,
  newGroupEntry,
} from "../../src/message/fix_message.ts";

Deno.test("messageOfFields makes the message adding each field would", () => {
  const m = messageOfFields([35, 11, 54], ["D", "o", "1"]);
  const want = new FixMessage("D").set(11, "o").set(54, "1");
  assert.deepEqual(encodeMessage(m), encodeMessage(want));
  m.set(11, "p").add(58, "t");
  assert.deepEqual([...m], [[35, "D"], [11, "p"], [54, "1"], [58, "t"]]);
  assert.equal(m.msgType, "D");
});

Deno.test("messageOfFields copies the tags: the caller uses them again", () => {
  const tags = [35, 11];
  const a = messageOfFields(tags, ["D", "a"]);
  const b = messageOfFields(tags, ["D", "b"]);
  a.add(58, "only a");
  tags[1] = 1;
  assert.deepEqual([...a], [[35, "D"], [11, "a"], [58, "only a"]]);
  assert.deepEqual([...b], [[35, "D"], [11, "b"]]);
});

Deno.test("messageOfFields refuses bad tags, values that are not text, lengths that differ", () => {
  assert.throws(() => messageOfFields([35, 0], ["D", "x"]), RangeError);
  assert.throws(() => messageOfFields([35, 1.5], ["D", "x"]), RangeError);
  assert.throws(() => messageOfFields([35, 11], ["D"]), RangeError);
  assert.throws(() => messageOfFields([35, 11], ["D", 5 as unknown as string]), TypeError);
});

Deno.test("messageOfFields refuses a tag given twice and a first tag other than MsgType(35)", () => {
  assert.throws(() => messageOfFields([35, 11, 54, 11], ["D", "a", "1", "b"]), {
    name: "RangeError",
    message: "Cannot make message: tag 11 is there twice",
  });
  // Tags too high for the table of marks are checked too.
  assert.throws(() => messageOfFields([35, 20_000, 20_000], ["D", "a", "b"]), {
    message: "Cannot make message: tag 20000 is there twice",
  });
  assert.throws(() => messageOfFields([11, 35], ["a", "D"]), {
    message: "Cannot make message: its first tag must be MsgType(35), not 11",
  });
  assert.throws(() => messageOfFields([], []), {
    message: "Cannot make message: its first tag must be MsgType(35), not none",
  });
  // Each call has its own marks: the same tags again are fine.
  for (let i = 0; i < 3; i++) {
    assert.equal(messageOfFields([35, 11], ["D", `${i}`]).get(11), `${i}`);
  }
});

Deno.test("appendGroup adds NumInGroup and the entries as addGroupEntry would", () => {
  const m = new FixMessage("D").set(11, "o");
  const a = newGroupEntry(m).set(448, "A");
  appendGroup(a, 802, [newGroupEntry(a).set(523, "desk")]);
  assert.equal(appendGroup(m, 453, [a, newGroupEntry(m).set(448, "B")]), true);
  m.set(54, "1");
  const want = new FixMessage("D").set(11, "o");
  want.addGroupEntry(453).set(448, "A").addGroupEntry(802).set(523, "desk");
  want.addGroupEntry(453).set(448, "B");
  want.set(54, "1");
  assert.deepEqual(encodeMessage(m), encodeMessage(want));
  assert.equal(m.fieldCount, want.fieldCount);
  // A flattened view taken before an entry changes is rebuilt after.
  assert.equal(m.tagAt(6), 448);
  m.getGroups(453)[1].set(447, "D");
  assert.equal(m.tagAt(7), 447);
});

Deno.test("appendGroup leaves a group already there to addGroupEntry, and refuses misuse", () => {
  const m = new FixMessage("D");
  assert.equal(appendGroup(m, 453, [newGroupEntry(m).set(448, "A")]), true);
  assert.equal(appendGroup(m, 453, [newGroupEntry(m).set(448, "B")]), false);
  assert.equal(m.getGroups(453).length, 1);
  assert.throws(() => appendGroup(m, 454, []), RangeError);
  assert.throws(() => appendGroup(m, -1, [newGroupEntry(m)]), RangeError);
  assert.throws(() => appendGroup(m, 454, [new FieldMap()]), TypeError);
  const other = new FixMessage("D");
  assert.throws(() => appendGroup(m, 454, [newGroupEntry(other)]), TypeError);
  assert.equal(m.has(454), false);
});

Deno.test("appendGroup on a decoded message, and on a new one untouched so far", () => {
  const bytes = encodeMessage(
    new FixMessage("D").set(49, "A").set(56, "B").set(34, 2).set(11, "o").set(54, "1"),
    "FIX.4.4",
  );
  const decoded = decodeMessage(bytes);
  assert.equal(appendGroup(decoded, 453, [newGroupEntry(decoded).set(448, "X").set(452, 1)]), true);
  assert.equal(decoded.get(11), "o");
  assert.equal(decoded.getGroups(453)[0].get(448), "X");
  const again = decodeMessage(encodeMessage(decoded, "FIX.4.4"), undefined);
  assert.deepEqual(
    [...again].filter(([t]) => t !== 9 && t !== 10),
    [...decoded].filter(([t]) => t !== 9 && t !== 10),
  );
  const fresh = new FieldMap();
  assert.equal(appendGroup(fresh, 453, [newGroupEntry(fresh).set(448, "Y")]), true);
  assert.deepEqual([...fresh], [[453, "1"], [448, "Y"]]);
  // Another new map is still empty: nothing leaked through shared arrays.
  assert.deepEqual([...new FieldMap()], []);
});
