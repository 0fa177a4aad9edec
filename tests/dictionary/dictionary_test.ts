import assert from "node:assert/strict";
import { HAVE_SPECS, SPEC_DIR } from "../_spec_dir.ts";
import { Dictionary } from "../../src/dictionary/dictionary.ts";
import {
  applVerIdToVersion,
  FIX_VERSION_NAMES,
  type FixVersionName,
  loadDictionary,
  parseDictionaryXml,
} from "../../src/dictionary/load.ts";
import { DictionaryError } from "../../src/dictionary/xml.ts";
import { DEFAULT_DATA_FIELDS } from "../../src/message/data_fields.ts";
import { encodeMessage, FixEncoder } from "../../src/message/encoder.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer, tryDecodeMessage } from "../../src/message/framer.ts";
import { validateMessage } from "../../src/dictionary/validator.ts";
import { DEFAULT_VALIDATION_SETTINGS } from "../../src/config/settings.ts";
import { generate, VERSIONS } from "../../tools/gen_dictionaries.ts";

const ALL = FIX_VERSION_NAMES;

Deno.test({
  name: "the generator reproduces the committed dictionaries byte for byte",
  ignore: !HAVE_SPECS,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      await generate(SPEC_DIR, out);
      for (const [, file] of VERSIONS) {
        const committed = await Deno.readTextFile(
          new URL(`../../src/dictionary/generated/${file}`, import.meta.url),
        );
        assert.equal(await Deno.readTextFile(`${out}/${file}`), committed, file);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("every version loads, with its BeginString, and is cached", async () => {
  for (const v of ALL) {
    const d = await loadDictionary(v);
    assert.equal(d.beginString, v);
    assert.equal(await loadDictionary(v), d);
    assert.ok(d.messageTypes().length > 0, v);
  }
  assert.equal((await loadDictionary("FIXT.1.1")).isTransport, true);
  await assert.rejects(loadDictionary("FIX.9.9" as FixVersionName), RangeError);
});

Deno.test("field, message and group lookups", async () => {
  for (const v of ["FIX.4.4", "FIX.5.0SP2"] as const) {
    const d = await loadDictionary(v);
    assert.equal(d.tagOf("MsgSeqNum"), 34);
    assert.equal(d.fieldName(35), "MsgType");
    const nos = d.message("D")!;
    assert.equal(nos.name, "NewOrderSingle");
    assert.equal(nos.category, "app");
    for (const t of [11, 54, 60, 40]) assert.ok(nos.requiredTags.includes(t), `${v} ${t}`);
    const parties = d.groupLayout("D", 453)!;
    assert.equal(parties.delimiterTag, 448);
    assert.equal(parties.nested.get(802)?.delimiterTag, 523);
    assert.equal(d.field(54)?.values?.get("1"), "BUY");
  }
  const d44 = await loadDictionary("FIX.4.4");
  assert.ok(d44.isAdmin("A"));
  assert.ok(d44.isHeaderTag(52));
  assert.ok(d44.isTrailerTag(93));
  assert.equal(d44.groupLayout("A", 627)?.delimiterTag, 628); // header NoHops
});

Deno.test("DEFAULT_DATA_FIELDS is the union of every dictionary's LENGTH/DATA pairs", async () => {
  const union = new Map<number, number>();
  for (const v of ALL) for (const [l, d] of (await loadDictionary(v)).dataFields()) union.set(l, d);
  for (const [l, d] of union) assert.equal(DEFAULT_DATA_FIELDS.get(l), d, `LENGTH tag ${l}`);
});

Deno.test("ApplVerID codes map to versions", () => {
  assert.equal(applVerIdToVersion("9"), "FIX.5.0SP2");
  assert.equal(applVerIdToVersion("6"), "FIX.4.4");
  assert.equal(applVerIdToVersion("FIX.5.0"), "FIX.5.0");
  assert.equal(applVerIdToVersion("42"), undefined);
});

const VENUE = `<?xml version="1.0"?>
<!-- a venue dictionary -->
<fix type='FIX' major='4' minor='4' servicepack='0'>
 <header><field name='BeginString' required='Y'/><field name='MsgType' required='Y'/></header>
 <trailer><field name='CheckSum' required='Y'/></trailer>
 <messages>
  <message name='VenueOrder' msgtype='U1' msgcat='app'>
   <field name='VenueCode' required='Y'/>
   <group name='NoVenueLegs' required='N'>
    <field name='VenueLeg' required='Y'/>
    <field name='VenueQty' required='N'/>
   </group>
   <component name='Extra' required='N'/>
  </message>
 </messages>
 <components>
  <component name='Extra'><field name='VenueNote' required='Y'/></component>
 </components>
 <fields>
  <field number='8' name='BeginString' type='STRING'/>
  <field number='35' name='MsgType' type='STRING'/>
  <field number='10' name='CheckSum' type='STRING'/>
  <field number='5001' name='VenueCode' type='CHAR'><value enum='A' description='ALPHA &amp; CO'/></field>
  <field number='5002' name='NoVenueLegs' type='NUMINGROUP'/>
  <field number='5003' name='VenueLeg' type='STRING'/>
  <field number='5004' name='VenueQty' type='QTY'/>
  <field number='5005' name='VenueNote' type='STRING'/>
 </fields>
</fix>`;

Deno.test("a custom venue dictionary with custom fields, messages, groups and components", () => {
  const d = parseDictionaryXml(VENUE, "venue.xml");
  const m = d.message("U1")!;
  assert.deepEqual(m.requiredTags, [5001]);
  assert.deepEqual(m.memberTags, [5001, 5002, 5005]);
  assert.deepEqual(d.groupLayout("U1", 5002)?.requiredTags, [5003]);
  assert.equal(d.field(5001)?.values?.get("A"), "ALPHA & CO");
  assert.ok(d instanceof Dictionary);
});

Deno.test("broken dictionaries get errors naming the file, line and problem", () => {
  const cases: [string, RegExp][] = [
    [
      VENUE.replace("</message>", ""),
      /venue\.xml": line 15: closing tag <\/messages> does not match <message> from line 7/,
    ],
    [
      VENUE.replace("<field name='VenueCode' required='Y'/>", "<field name='Nope' required='Y'/>"),
      /line 8: unknown field "Nope" in <message>/,
    ],
    [VENUE.replace("number='5004'", "number='5003'"), /line 26: duplicate field tag 5003/],
    [VENUE.replace("msgcat='app'>", "msgcat='app' bad>"), /line 7: bad attribute in <message>/],
    ["<fix><unclosed></fix>", /closing tag <\/fix> does not match <unclosed>/],
  ];
  for (const [xml, re] of cases) {
    assert.throws(() => parseDictionaryXml(xml, "venue.xml"), (e) => {
      assert.ok(e instanceof DictionaryError, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("the encoder's header tags are exactly the union of every dictionary's header", async () => {
  const { isHeaderTag } = await import("../../src/message/encoder.ts");
  const union = new Set<number>();
  for (const v of ALL) {
    const d = await loadDictionary(v);
    for (const t of d.header.memberTags) union.add(t);
    for (const g of d.header.groups.values()) for (const t of g.allTags) union.add(t);
  }
  for (const t of union) assert.ok(isHeaderTag(t), `${t} is a header tag`);
  for (let t = 1; t < 2000; t++) {
    if (isHeaderTag(t)) assert.ok(union.has(t), `${t} is not a header tag`);
  }
});

const BLOB_VENUE = `<fix type='FIX' major='4' minor='4' servicepack='0'>
 <header>
  <field name='BeginString' required='Y'/><field name='BodyLength' required='Y'/>
  <field name='MsgType' required='Y'/>
 </header>
 <trailer><field name='CheckSum' required='Y'/></trailer>
 <messages>
  <message name='VenueBlob' msgtype='U2' msgcat='app'>
   <field name='VenueCode' required='Y'/>
   <field name='VenuePayloadSize' required='N'/>
   <field name='VenuePayload' required='N'/>
  </message>
 </messages>
 <fields>
  <field number='8' name='BeginString' type='STRING'/>
  <field number='9' name='BodyLength' type='LENGTH'/>
  <field number='35' name='MsgType' type='STRING'/>
  <field number='10' name='CheckSum' type='STRING'/>
  <field number='5001' name='VenueCode' type='STRING'/>
  <field number='5020' name='VenuePayloadSize' type='LENGTH'/>
  <field number='5021' name='VenuePayload' type='DATA'/>
 </fields>
</fix>`;

Deno.test("a custom LENGTH/DATA pair carries SOH through encode, frame and decode", () => {
  const d = parseDictionaryXml(BLOB_VENUE, "blob.xml");
  const dataFields = d.dataFields();
  assert.equal(dataFields.get(5020), 5021);
  assert.equal(DEFAULT_DATA_FIELDS.has(5020), false);
  const payload = "x\x0110=000\x018=FIX.4.4\x019=5\x01y";
  const m = new FixMessage("U2").set(5001, "V").set(5020, payload.length).set(5021, payload);
  // The standard pairs do not know the custom DATA tag: SOH in its value is refused.
  assert.throws(() => encodeMessage(m), TypeError);
  assert.throws(() => new FixEncoder("FIX.4.4").append(m), TypeError);
  const enc = new FixEncoder("FIX.4.4", 1024, { dataFields });
  enc.append(m);
  const firstEnd = enc.length;
  enc.append(new FixMessage("0").set(34, 2));
  const stream = enc.take();
  assert.deepEqual(
    encodeMessage(m, "FIX.4.4", { dataFields }),
    stream.subarray(0, firstEnd),
  );
  // Every split of the stream frames both messages; the decoder reads the payload whole.
  for (let at = 0; at <= stream.length; at++) {
    const framer = new FixFramer({ dataFields });
    const got: Uint8Array[] = [];
    for (const part of [stream.subarray(0, at), stream.subarray(at)]) {
      framer.push(part);
      for (let r = framer.next(); r !== undefined; r = framer.next()) {
        assert.ok(r instanceof Uint8Array, `split at ${at}: ${r}`);
        got.push(r);
      }
    }
    assert.equal(got.length, 2, `split at ${at}`);
    const decoded = decodeMessage(got[0], dataFields);
    assert.equal(decoded.get(5021), payload);
    assert.equal(decoded.get(5001), "V");
    assert.equal(decodeMessage(got[1], dataFields).get(34), "2");
  }
  // Without the pair the decoder splits the payload at its SOHs and meets "y" as a tag.
  const frame = new FixFramer({ dataFields });
  frame.push(stream);
  const first = frame.next() as Uint8Array;
  const broken = tryDecodeMessage(first);
  assert.ok(broken instanceof FixParseError);
  assert.equal(broken.reason, "tag is not a number");
  // And it validates clean against its dictionary.
  assert.deepEqual(
    validateMessage(decodeMessage(first, dataFields), d, DEFAULT_VALIDATION_SETTINGS),
    [],
  );
});
