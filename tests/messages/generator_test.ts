import assert from "node:assert/strict";
import { HAVE_SPECS, SPEC_DIR } from "../_spec_dir.ts";
import { DictionaryError } from "../../src/dictionary/xml.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import * as root from "../../mod.ts";
import {
  camelName,
  generate,
  generateFromXml,
  MESSAGE_VERSIONS,
  renderMessages,
  renderRuntime,
} from "../../tools/gen_messages.ts";

const VENUE_XML = `<fix type='FIX' major='4' minor='4' servicepack='0'>
 <header>
  <field name='BeginString' required='Y'/>
  <field name='BodyLength' required='Y'/>
  <field name='MsgType' required='Y'/>
  <field name='SenderCompID' required='Y'/>
  <field name='TargetCompID' required='Y'/>
  <field name='OnBehalfOfCompID' required='N'/>
  <field name='MsgSeqNum' required='Y'/>
  <field name='SendingTime' required='Y'/>
 </header>
 <trailer><field name='CheckSum' required='Y'/></trailer>
 <messages>
  <message name='VenueOrder' msgtype='U1' msgcat='app'>
   <field name='ClOrdID' required='Y'/>
   <field name='Urgency' required='N'/>
   <component name='Legs' required='Y'/>
   <field name='Price' required='N'/>
   <field name='BlobLen' required='N'/>
   <field name='Blob' required='N'/>
  </message>
 </messages>
 <components>
  <component name='Legs'>
   <group name='NoVenueLegs' required='Y'>
    <field name='LegRef' required='N'/>
    <field name='LegQty' required='N'/>
   </group>
  </component>
 </components>
 <fields>
  <field number='8' name='BeginString' type='STRING'/>
  <field number='9' name='BodyLength' type='LENGTH'/>
  <field number='10' name='CheckSum' type='STRING'/>
  <field number='11' name='ClOrdID' type='STRING'/>
  <field number='34' name='MsgSeqNum' type='SEQNUM'/>
  <field number='35' name='MsgType' type='STRING'/>
  <field number='44' name='Price' type='PRICE'/>
  <field number='49' name='SenderCompID' type='STRING'/>
  <field number='52' name='SendingTime' type='UTCTIMESTAMP'/>
  <field number='56' name='TargetCompID' type='STRING'/>
  <field number='115' name='OnBehalfOfCompID' type='STRING'/>
  <field number='5001' name='Urgency' type='CHAR'>
   <value enum='L' description='LOW'/>
   <value enum='H' description='HIGH'/>
  </field>
  <field number='5002' name='NoVenueLegs' type='NUMINGROUP'/>
  <field number='5003' name='LegRef' type='STRING'/>
  <field number='5004' name='LegQty' type='QTY'/>
  <field number='5005' name='BlobLen' type='LENGTH'/>
  <field number='5006' name='Blob' type='DATA'/>
 </fields>
</fix>
`;

const CONSUMER = `import { venueOrder, type VenueOrder } from "./venue.ts";
const order: VenueOrder = { clOrdID: "a", urgency: "H", noVenueLegs: [{ legRef: "x" }] };
venueOrder(order);
// @ts-expect-error "X" is not an Urgency of this venue
order.urgency = "X";
// @ts-expect-error ClOrdID is required
const noId: VenueOrder = { noVenueLegs: [{ legRef: "x" }] };
// @ts-expect-error LegRef starts every NoVenueLegs entry
const noRef: VenueOrder = { clOrdID: "a", noVenueLegs: [{ legQty: 1 }] };
// @ts-expect-error BlobLen is set from Blob
const withLength: VenueOrder = { clOrdID: "a", noVenueLegs: [{ legRef: "x" }], blobLen: 3 };
export { noId, noRef, withLength };
`;

/** What a venue's module and its helpers import, as "@fixwire/engine" exports it. */
async function writeEngine(dir: string): Promise<void> {
  const src = new URL("../../src/message/", import.meta.url).href;
  await Deno.writeTextFile(
    `${dir}/engine.ts`,
    `export * from "${src}fix_message.ts";\nexport * from "${src}timestamps.ts";\n`,
  );
}

Deno.test({
  name: "the generator reproduces the committed typed messages byte for byte",
  // Shown as "ignored" rather than passed when the FIX XML is not checked out next to the repo.
  ignore: !HAVE_SPECS,
  fn: async () => {
    const out = await Deno.makeTempDir();
    try {
      await generate(SPEC_DIR, out);
      for (const [, file] of MESSAGE_VERSIONS) {
        const committed = await Deno.readTextFile(
          new URL(`../../src/messages/${file}`, import.meta.url),
        );
        assert.ok((await Deno.readTextFile(`${out}/${file}`)) === committed, file);
      }
    } finally {
      await Deno.remove(out, { recursive: true });
    }
  },
});

Deno.test("property names are the spec names in camelCase, acronyms included", () => {
  const cases: [string, string][] = [
    ["ClOrdID", "clOrdID"],
    ["MDReqID", "mdReqID"],
    ["IOIID", "ioiid"],
    ["NoMDEntries", "noMDEntries"],
    ["CFICode", "cfiCode"],
    ["Side", "side"],
    ["URLLink", "urlLink"],
  ];
  for (const [name, prop] of cases) assert.equal(camelName(name), prop, name);
});

Deno.test("a venue's dictionary gives a module that builds its own messages", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const xml = `${dir}/Venue.xml`;
    await Deno.writeTextFile(xml, VENUE_XML);
    await writeEngine(dir);
    const written = await generateFromXml({ xml, out: dir, engine: "./engine.ts" });
    assert.deepEqual(written, [`${dir}/venue.ts`, `${dir}/_runtime.ts`]);
    const venue = await import(`file://${dir}/venue.ts`);
    const typed: FixMessage = venue.venueOrder({
      blob: "a\x01b",
      price: "9.5",
      noVenueLegs: [{ legRef: "L1", legQty: 2 }],
      urgency: "H",
      clOrdID: "v-1",
      header: { onBehalfOfCompID: "DESK" },
    });
    const hand = new FixMessage("U1").set(115, "DESK").set(11, "v-1").set(5001, "H");
    hand.addGroupEntry(5002).set(5003, "L1").set(5004, 2);
    hand.set(44, "9.5").set(5005, 3).set(5006, "a\x01b");
    const dataFields = new Map([[5005, 5006]]);
    assert.deepEqual(
      encodeMessage(typed, "FIX.4.4", { dataFields }),
      encodeMessage(hand, "FIX.4.4", { dataFields }),
    );
    assert.throws(() => venue.venueOrder({ clOrdID: "v-1" }), {
      name: "TypeError",
      message: "Cannot build VenueOrder: required group NoVenueLegs(5002) is missing",
    });
    // The types are as strict as the committed versions': `deno check` proves it.
    await Deno.writeTextFile(`${dir}/consumer.ts`, CONSUMER);
    const check = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "consumer.ts"],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(check.code, 0, new TextDecoder().decode(check.stderr));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the package root exports what a venue's module imports", () => {
  const names = [
    "FixMessage",
    "FieldMap",
    "numberToFixText",
    "formatUtcTimestamp",
    "messageOfFields",
    "newGroupEntry",
    "appendGroup",
  ];
  for (const name of names) {
    assert.equal(typeof (root as Record<string, unknown>)[name], "function", name);
  }
});

Deno.test("the command line generates a venue's module", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/venue.xml`, VENUE_XML);
    const tool = new URL("../../tools/gen_messages.ts", import.meta.url).pathname;
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "--allow-read",
        "--allow-write",
        tool,
        "--xml",
        `${dir}/venue.xml`,
        "--out",
        `${dir}/gen`,
        "--name",
        "acme",
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(run.code, 0, new TextDecoder().decode(run.stderr));
    const module = await Deno.readTextFile(`${dir}/gen/acme.ts`);
    assert.match(module, /^\/\/ Generated by tools\/gen_messages\.ts from venue\.xml/);
    assert.match(module, /import type \{ FieldMap, FixMessage \} from "@fixwire\/engine";/);
    assert.match(await Deno.readTextFile(`${dir}/gen/_runtime.ts`), /from "@fixwire\/engine"/);
    const bad = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-read", "--allow-write", tool, "--xml"],
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.notEqual(bad.code, 0);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a FIX.5.0 venue takes its header from the transport dictionary", () => {
  const transport = `<fix type='FIXT' major='1' minor='1' servicepack='0'>
 <header>
  <field name='BeginString' required='Y'/>
  <field name='MsgType' required='Y'/>
  <field name='ApplVerID' required='N'/>
 </header>
 <trailer><field name='CheckSum' required='Y'/></trailer>
 <messages/><components/>
 <fields>
  <field number='8' name='BeginString' type='STRING'/>
  <field number='10' name='CheckSum' type='STRING'/>
  <field number='35' name='MsgType' type='STRING'/>
  <field number='1128' name='ApplVerID' type='STRING'><value enum='9' description='FIX50SP2'/></field>
 </fields>
</fix>`;
  const app = VENUE_XML.replace(
    "major='4' minor='4' servicepack='0'",
    "major='5' minor='0' servicepack='2'",
  )
    .replace(/<header>[^]*<\/header>/, "<header/>").replace(/<trailer>.*<\/trailer>/, "<trailer/>");
  const text = renderMessages(app, {
    source: "venue50.xml",
    transport: { xml: transport, source: "fixt.xml" },
  });
  assert.match(
    text,
    /export interface StandardHeader \{\n {2}\/\*\* ApplVerID\(1128\)\. \*\/\n {2}applVerID\?: ApplVerIDValue;\n\}/,
  );
  assert.match(text, /export type ApplVerIDValue = "9";/);
  assert.match(text, /Typed FIX\.5\.0SP2 messages/);
});

Deno.test("names a module cannot use get a suffix", async () => {
  const xml = `<fix type='FIX' major='4' minor='4'><header/><trailer/>
 <messages>
  <message name='Delete' msgtype='U7'><component name='Partial' required='Y'/></message>
 </messages>
 <components><component name='Partial'><field name='Ref' required='Y'/></component></components>
 <fields><field number='5010' name='Ref' type='STRING'/></fields>
</fix>`;
  const text = renderMessages(xml, { source: "odd.xml", engine: "./engine.ts" });
  assert.match(text, /export function deleteMessage\(f: Delete\): FixMessage/);
  assert.match(text, /export interface Delete extends PartialComponent \{/);
  const dir = await Deno.makeTempDir();
  try {
    await writeEngine(dir);
    await Deno.writeTextFile(`${dir}/odd.ts`, text);
    await Deno.writeTextFile(`${dir}/_runtime.ts`, await renderRuntime("./engine.ts"));
    const odd = await import(`file://${dir}/odd.ts`);
    assert.equal(odd.deleteMessage({ ref: "r" }).get(5010), "r");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the generator names the file and line of a broken dictionary", () => {
  const broken = VENUE_XML.replace("<field name='Urgency' required='N'/>", "<field name='Nope'/>");
  assert.throws(() => renderMessages(broken, { source: "venue.xml" }), (err: unknown) => {
    assert.ok(err instanceof DictionaryError);
    assert.match(err.message, /venue\.xml/);
    assert.match(err.message, /Nope/);
    return true;
  });
});
