// Every message type of FIX.4.4 and FIX.5.0 SP2, built from the dictionary with every field it
// defines (groups with two entries), survives encode -> frame -> decode -> encode byte for byte
// and passes validation.
import assert from "node:assert/strict";
import { DEFAULT_VALIDATION_SETTINGS } from "../../src/config/settings.ts";
import type { Dictionary, GroupLayout, Layout } from "../../src/dictionary/dictionary.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { validateMessage } from "../../src/dictionary/validator.ts";
import { FixEncoder } from "../../src/message/encoder.ts";
import { type FieldMap, FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";

function sample(dict: Dictionary, tag: number): string {
  const f = dict.field(tag)!;
  if (f.values && f.values.size > 0) return f.values.keys().next().value!;
  switch (f.type) {
    case "INT":
    case "LENGTH":
    case "SEQNUM":
    case "NUMINGROUP":
    case "TAGNUM":
      return "1";
    case "DAYOFMONTH":
      return "15";
    case "FLOAT":
    case "QTY":
    case "PRICE":
    case "PRICEOFFSET":
    case "AMT":
    case "PERCENTAGE":
      return "12.5";
    case "CHAR":
      return "A";
    case "BOOLEAN":
      return "Y";
    case "UTCTIMESTAMP":
    case "TZTIMESTAMP":
      return "20261124-10:00:00.123";
    case "UTCTIMEONLY":
    case "TZTIMEONLY":
      return "10:00:00";
    case "UTCDATEONLY":
    case "UTCDATE":
    case "LOCALMKTDATE":
    case "DATE":
      return "20261124";
    case "MONTHYEAR":
      return "202612";
    case "DATA":
    case "XMLDATA":
      return "d\x01t";
    default:
      return `v${tag}`;
  }
}

const SKIP = new Set([8, 9, 10, 35, 49, 56, 34, 52]);

function fill(
  dict: Dictionary,
  target: FieldMap,
  layout: Layout | GroupLayout,
  data: Map<number, number>,
) {
  const groups = "groups" in layout ? layout.groups : layout.nested;
  const lengthFor = new Map([...data].map(([l, d]) => [d, l]));
  for (const tag of layout.memberTags) {
    if (SKIP.has(tag) || data.has(tag)) continue; // length fields are written with their data
    const g = groups.get(tag);
    if (g) {
      for (let k = 0; k < 2; k++) fill(dict, target.addGroupEntry(tag), g, data);
      continue;
    }
    const len = lengthFor.get(tag);
    if (len !== undefined) target.set(len, 3);
    target.set(tag, sample(dict, tag));
  }
}

for (const version of ["FIX.4.4", "FIX.5.0SP2"] as const) {
  Deno.test(`every ${version} message type round-trips byte for byte and validates`, async () => {
    const app = await loadDictionary(version);
    const transport = version === "FIX.4.4" ? app : await loadDictionary("FIXT.1.1");
    const begin = version === "FIX.4.4" ? "FIX.4.4" : "FIXT.1.1";
    const data = new Map([...app.dataFields(), ...transport.dataFields()]);
    let count = 0;
    for (const msgType of app.messageTypes()) {
      const def = transport.message(msgType) ?? app.message(msgType)!;
      const dict = transport.message(msgType) ? transport : app;
      const m = new FixMessage(msgType).set(49, "A").set(56, "B").set(34, 1)
        .set(52, "20261124-10:00:00.000");
      fill(dict, m, def, data);
      const enc = new FixEncoder(begin);
      enc.append(m);
      const bytes = enc.take();
      const framer = new FixFramer();
      framer.push(bytes);
      const frame = framer.next();
      assert.ok(frame instanceof Uint8Array, `${msgType}: ${frame}`);
      const decoded = decodeMessage(frame, data);
      const again = new FixEncoder(begin);
      again.append(decoded);
      assert.deepEqual(again.take(), bytes, msgType);
      const problems = validateMessage(
        decoded,
        transport,
        { ...DEFAULT_VALIDATION_SETTINGS, prohibitUnknownTags: true, prohibitUndefinedTags: true },
        app,
      );
      assert.deepEqual(problems, [], `${msgType}: ${JSON.stringify(problems)}`);
      count++;
    }
    assert.ok(count >= (version === "FIX.4.4" ? 90 : 100), `${count} message types`);
  });
}
