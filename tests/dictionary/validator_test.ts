import assert from "node:assert/strict";
import { DEFAULT_VALIDATION_SETTINGS, type ValidationSettings } from "../../src/config/settings.ts";
import { loadDictionary, parseDictionaryXml } from "../../src/dictionary/load.ts";
import {
  type FieldView,
  isValidFormat,
  validateMessage,
  type ValidatorOptions,
} from "../../src/dictionary/validator.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage } from "../../src/message/framer.ts";

function view(pairs: [number, string | number][]): FieldView {
  return {
    fieldCount: pairs.length,
    tagAt: (i) => pairs[i][0],
    valueAt: (i) => String(pairs[i][1]),
  };
}

const HEADER: [number, string | number][] = [
  [8, "FIX.4.4"],
  [9, 100],
  [35, "D"],
  [49, "A"],
  [56, "B"],
  [34, 2],
  [52, "20261124-10:00:00.000"],
];
const BODY: [number, string | number][] = [
  [11, "ord-1"],
  [21, "1"],
  [55, "EUR/USD"],
  [54, "1"],
  [60, "20261124-10:00:00.000"],
  [38, "1000"],
  [40, "2"],
  [44, "1.08215"],
];
const TRAILER: [number, string | number][] = [[10, "000"]];

async function check(
  body: [number, string | number][],
  opts: Partial<ValidationSettings> = {},
  header = HEADER,
) {
  const dict = await loadDictionary("FIX.4.4");
  return validateMessage(view([...header, ...body, ...TRAILER]), dict, {
    ...DEFAULT_VALIDATION_SETTINGS,
    ...opts,
  }).map((p) => [p.reason, p.tag]);
}

const replace = (tag: number, value: string): [number, string | number][] =>
  BODY.map(([t, v]) => [t, t === tag ? value : v]);

Deno.test("a valid NewOrderSingle has no problems", async () => {
  assert.deepEqual(await check(BODY), []);
});

Deno.test("validation reports every reject reason with its tag", async () => {
  assert.deepEqual(await check(BODY.filter(([t]) => t !== 54)), [[1, 54]]);
  assert.deepEqual(
    await check([...BODY, [58, "x"], [9999, "y"]], { prohibitUndefinedTags: true }),
    [[3, 9999]],
  );
  assert.deepEqual(await check([...BODY, [4999, "y"]], { prohibitUndefinedTags: true }), [[
    0,
    4999,
  ]]);
  assert.deepEqual(await check([...BODY, [112, "x"]], { prohibitUnknownTags: true }), [[2, 112]]);
  assert.deepEqual(await check(replace(11, "")), [[4, 11]]);
  assert.deepEqual(await check(replace(54, "Z")), [[5, 54]]);
  assert.deepEqual(await check(replace(38, "1e3")), [[6, 38]]);
  assert.deepEqual(await check(replace(60, "2026-11-24")), [[6, 60]]);
  assert.deepEqual(await check([...BODY, [11, "again"]]), [[13, 11]]);
  assert.deepEqual(await check(BODY, {}, [...HEADER.slice(0, 6)]).then((p) => p), [[1, 52]]);
  assert.deepEqual(await check([...BODY, [52, "20261124-10:00:00.000"]], {}, HEADER.slice(0, 6)), [[
    14,
    52,
  ]]);
  assert.deepEqual(await check([...BODY, [58, "a\x01b"]]), [[17, 58]]);
  assert.deepEqual(
    await check([...BODY, [453, 2], [448, "A"], [447, "D"], [452, 1]]),
    [[16, 453]],
  );
  assert.deepEqual(
    await check([...BODY, [453, 1], [447, "D"], [448, "A"], [452, 1]]),
    [[15, 447], [16, 453]],
  );
  const dict = await loadDictionary("FIX.4.4");
  const bad = validateMessage(
    view([
      ...HEADER.map(([t, v]): [number, string | number] => [t, t === 35 ? "ZZ" : v]),
      ...TRAILER,
    ]),
    dict,
    DEFAULT_VALIDATION_SETTINGS,
  );
  assert.deepEqual(bad.map((p) => [p.reason, p.tag]), [[11, 35]]);
});

Deno.test("nested groups are walked and counted", async () => {
  const parties: [number, string | number][] = [
    [453, 2],
    [448, "A"],
    [447, "D"],
    [452, 1],
    [802, 2],
    [523, "s1"],
    [803, 1],
    [523, "s2"],
    [803, 2],
    [448, "B"],
    [447, "D"],
    [452, 3],
  ];
  assert.deepEqual(await check([...BODY, ...parties]), []);
  const wrongNested = parties.map(([t, v]): [number, string | number] => [t, t === 802 ? 3 : v]);
  assert.deepEqual(await check([...BODY, ...wrongNested]), [[16, 802]]);
});

type Pairs = [number, string | number][];

async function checkAll(pairs: Pairs, opts: Partial<ValidatorOptions> = {}) {
  const dict = await loadDictionary("FIX.4.4");
  return validateMessage(view(pairs), dict, { ...DEFAULT_VALIDATION_SETTINGS, ...opts })
    .map((p) => [p.reason, p.tag]);
}

const full = (body: Pairs = BODY, header: Pairs = HEADER): Pairs => [
  ...header,
  ...body,
  ...TRAILER,
];
const VALUE_PROBLEMS = full([
  ...BODY.map(([t, v]): [number, string | number] => [
    t,
    t === 54 ? "Z" : t === 38 ? "1e3" : v,
  ]),
  [58, "a\x01b"],
]);

Deno.test("each validation switch is proven on (reported) and off (not reported)", async (t) => {
  const cases: {
    name: keyof ValidatorOptions;
    pairs: Pairs;
    on: (number | undefined)[][];
    off?: (number | undefined)[][];
  }[] = [
    { name: "enabled", pairs: full(replace(54, "Z")), on: [[5, 54]] },
    { name: "checkRequiredTags", pairs: full(BODY.filter(([t]) => t !== 54)), on: [[1, 54]] },
    { name: "checkRequiredTags", pairs: [...HEADER, ...BODY], on: [[1, 10]] },
    { name: "prohibitUnknownTags", pairs: full([...BODY, [112, "x"]]), on: [[2, 112]] },
    { name: "prohibitUndefinedTags", pairs: full([...BODY, [9999, "y"]]), on: [[3, 9999]] },
    { name: "prohibitUndefinedTags", pairs: full([...BODY, [4999, "y"]]), on: [[0, 4999]] },
    { name: "prohibitTagsWithoutValue", pairs: full(replace(11, "")), on: [[4, 11]] },
    { name: "verifyTagsValues", pairs: VALUE_PROBLEMS, on: [[5, 54], [6, 38], [17, 58]] },
    {
      name: "verifyTagsFormat",
      pairs: VALUE_PROBLEMS,
      on: [[5, 54], [6, 38], [17, 58]],
      off: [[5, 54], [17, 58]],
    },
    {
      name: "verifyTagsEnumerations",
      pairs: VALUE_PROBLEMS,
      on: [[5, 54], [6, 38], [17, 58]],
      off: [[6, 38], [17, 58]],
    },
    {
      name: "prohibitDelimiterInValues",
      pairs: VALUE_PROBLEMS,
      on: [[5, 54], [6, 38], [17, 58]],
      off: [[5, 54], [6, 38]],
    },
    {
      name: "verifyMsgType",
      pairs: full([], HEADER.map(([t, v]): [number, string | number] => [t, t === 35 ? "ZZ" : v])),
      on: [[11, 35]],
    },
    { name: "prohibitDuplicatedTags", pairs: full([...BODY, [11, "again"]]), on: [[13, 11]] },
    {
      name: "verifyFieldsOrder",
      pairs: full([...BODY, [52, "20261124-10:00:00.000"]], HEADER.slice(0, 6)),
      on: [[14, 52]],
    },
    {
      name: "verifyFieldsOrder",
      pairs: full(BODY, [HEADER[1], HEADER[0], ...HEADER.slice(2)]),
      on: [[14, 8]],
    },
    {
      name: "verifyRepeatingGroupBounds",
      pairs: full([...BODY, [453, 2], [448, "A"], [447, "D"], [452, 1]]),
      on: [[16, 453]],
    },
  ];
  for (const c of cases) {
    await t.step(`${c.name}: ${JSON.stringify(c.on)}`, async () => {
      assert.deepEqual(await checkAll(c.pairs, { [c.name]: true }), c.on, "on");
      assert.deepEqual(await checkAll(c.pairs, { [c.name]: false }), c.off ?? [], "off");
    });
  }
  // The defaults: unknown and undefined tags are allowed, every other check is on.
  assert.deepEqual(await checkAll(full([...BODY, [9999, "y"], [112, "x"]])), []);
  assert.deepEqual(await checkAll(VALUE_PROBLEMS), [[5, 54], [6, 38], [17, 58]]);
  // verifyTagsValues still turns every value check off, whatever the finer switches say.
  assert.deepEqual(
    await checkAll(VALUE_PROBLEMS, {
      verifyTagsValues: false,
      verifyTagsFormat: true,
      verifyTagsEnumerations: true,
      prohibitDelimiterInValues: true,
    }),
    [],
  );
});

Deno.test("8, 9 and 35 must be the first three fields in order and 10 the last", async () => {
  const [b, l, t] = HEADER;
  const rest = HEADER.slice(3);
  assert.deepEqual(await checkAll(full(BODY, [b, t, l, ...rest])), [[14, 9]]);
  assert.deepEqual(await checkAll(full(BODY, [b, l, rest[0], t, ...rest.slice(1)])), [[14, 35]]);
  assert.deepEqual(await checkAll(full(BODY, [l, b, t, ...rest])), [[14, 8]]);
  assert.deepEqual(await checkAll(full(BODY, [rest[0], b, l, t, ...rest.slice(1)])), [
    [14, 8],
    [14, 9],
    [14, 35],
  ]);
  // CheckSum before the last field: it is out of order, and so is the body field after it.
  assert.deepEqual(await checkAll([...HEADER, ...BODY, ...TRAILER, [58, "x"]]), [
    [14, 10],
    [14, 58],
  ]);
  assert.deepEqual(
    await checkAll([...HEADER, ...BODY, ...TRAILER, [58, "x"]], { verifyFieldsOrder: false }),
    [],
  );
});

Deno.test("missing BeginString, BodyLength and CheckSum are reported as required tags", async () => {
  assert.deepEqual(await checkAll(full(BODY, HEADER.slice(1))), [[1, 8]]);
  assert.deepEqual(await checkAll(full(BODY, [HEADER[0], ...HEADER.slice(2)])), [[1, 9]]);
  assert.deepEqual(await checkAll([...HEADER, ...BODY]), [[1, 10]]);
  assert.deepEqual(await checkAll(HEADER.slice(2).concat(BODY)), [[1, 8], [1, 9], [1, 10]]);
  assert.deepEqual(
    await checkAll(HEADER.slice(2).concat(BODY), { checkRequiredTags: false }),
    [],
  );
  // A required trailer field of a custom dictionary.
  const dict = parseDictionaryXml(
    `<fix type='FIX' major='4' minor='4'>
      <header><field name='BeginString' required='Y'/><field name='BodyLength' required='Y'/>
       <field name='MsgType' required='Y'/></header>
      <trailer><field name='SignatureLength' required='Y'/><field name='Signature' required='Y'/>
       <field name='CheckSum' required='Y'/></trailer>
      <messages><message name='Heartbeat' msgtype='0' msgcat='admin'/></messages>
      <fields><field number='8' name='BeginString' type='STRING'/>
       <field number='9' name='BodyLength' type='LENGTH'/>
       <field number='35' name='MsgType' type='STRING'/>
       <field number='93' name='SignatureLength' type='LENGTH'/>
       <field number='89' name='Signature' type='DATA'/>
       <field number='10' name='CheckSum' type='STRING'/></fields>
    </fix>`,
    "signed.xml",
  );
  const hb: Pairs = [[8, "FIX.4.4"], [9, 5], [35, "0"]];
  const problems = (pairs: Pairs) =>
    validateMessage(view(pairs), dict, DEFAULT_VALIDATION_SETTINGS).map((p) => [p.reason, p.tag]);
  assert.deepEqual(problems([...hb, [93, 1], [89, "s"], [10, "000"]]), []);
  assert.deepEqual(problems([...hb, [10, "000"]]), [[1, 93], [1, 89]]);
  assert.deepEqual(problems(hb), [[1, 93], [1, 89], [1, 10]]);
});

Deno.test("FIXT.1.1 validates application messages with the application dictionary", async () => {
  const t11 = await loadDictionary("FIXT.1.1");
  const sp2 = await loadDictionary("FIX.5.0SP2");
  const header: [number, string | number][] = [
    [8, "FIXT.1.1"],
    [9, 100],
    [35, "D"],
    [49, "A"],
    [56, "B"],
    [34, 2],
    [52, "20261124-10:00:00.000"],
    [1128, "9"],
  ];
  const ok = view([...header, ...BODY, ...TRAILER]);
  assert.deepEqual(validateMessage(ok, t11, DEFAULT_VALIDATION_SETTINGS, sp2), []);
  const bad = view([...header, ...BODY.filter(([t]) => t !== 40), ...TRAILER]);
  assert.deepEqual(validateMessage(bad, t11, DEFAULT_VALIDATION_SETTINGS, sp2).map((p) => p.tag), [
    40,
  ]);
  const hb = view([[8, "FIXT.1.1"], [9, 5], [35, "0"], [49, "A"], [56, "B"], [34, 3], [
    52,
    "20261124-10:00:00.000",
  ], [10, "000"]]);
  assert.deepEqual(validateMessage(hb, t11, DEFAULT_VALIDATION_SETTINGS, sp2), []);
});

Deno.test("FIX.4.0 and FIX.4.1 take their char-typed text fields as text; FIX.4.2 on, one character", async () => {
  for (const begin of ["FIX.4.0", "FIX.4.1"] as const) {
    const dict = await loadDictionary(begin);
    assert.equal(dict.field(11)?.type, "CHAR", "ClOrdID is typed char in the spec");
    const msg = view([
      [8, begin],
      [9, 100],
      [35, "D"],
      [49, "A"],
      [56, "B"],
      [34, 2],
      [52, "20261124-10:00:00"],
      [11, "ord-1"],
      [21, "1"],
      [55, "EUR/USD"],
      [54, "1"],
      [38, "1000"],
      [40, "1"],
      [10, "000"],
    ]);
    assert.deepEqual(validateMessage(msg, dict, DEFAULT_VALIDATION_SETTINGS), [], begin);
  }
  // From FIX.4.2 a CHAR is one character: a two-character Side is a format error.
  const problems = await check(replace(54, "12"));
  assert.deepEqual(problems, [[6, 54]]);
});

Deno.test("isValidFormat checks dates and times field by field", () => {
  const cases: [string, string, boolean][] = [
    ["UTCTIMESTAMP", "20261124-10:00:00", true],
    ["UTCTIMESTAMP", "20261124-10:00:00.000", true],
    ["UTCTIMESTAMP", "20261231-23:59:60.123456789", true],
    ["UTCTIMESTAMP", "20261324-10:00:00", false], // month 13
    ["UTCTIMESTAMP", "20261100-10:00:00", false], // day 0
    ["UTCTIMESTAMP", "20261132-10:00:00", false], // day 32
    ["UTCTIMESTAMP", "20261124-24:00:00", false],
    ["UTCTIMESTAMP", "20261124-10:60:00", false],
    ["UTCTIMESTAMP", "20261124-10:00:61", false],
    ["UTCTIMESTAMP", "20261124-10:00:00.", false],
    ["UTCTIMESTAMP", "20261124-10:00:00.1234567890", false], // 10 fraction digits
    ["UTCTIMESTAMP", "20261124-10:00:00,000", false],
    ["UTCTIMESTAMP", "20261124-1 :00:00", false],
    ["UTCTIMESTAMP", "2026112a-10:00:00", false],
    ["UTCTIMESTAMP", "20261124 10:00:00", false],
    ["UTCTIMESTAMP", "20261124-10:00", false],
    ["UTCTIMEONLY", "10:00:00.5", true],
    ["UTCTIMEONLY", "10:00", false],
    ["UTCDATEONLY", "20261124", true],
    ["UTCDATEONLY", "2026112", false],
    ["UTCDATEONLY", "2026-112", false],
    ["LOCALMKTDATE", "20260229", true], // calendar days are not checked, as QuickFIX
  ];
  for (const [type, value, ok] of cases) {
    assert.equal(isValidFormat(type, value), ok, `${type} ${value}`);
  }
});

Deno.test("decoded messages are checked on their bytes, with the same problems as text", async () => {
  const dict = await loadDictionary("FIX.4.4");
  const bodies: [number, string | number][][] = [
    BODY,
    replace(11, ""),
    replace(54, "Z"),
    replace(38, "1e3"),
    replace(38, "-12.5"),
    replace(44, "1..2"),
    replace(60, "2026-11-24"),
    replace(60, "20261124-10:00:00.1234567890"),
    replace(21, "12"),
    [...BODY, [18, "1 2 G"]],
    [...BODY, [18, "1 Z"]],
    [...BODY, [432, "20261124"]],
    [...BODY, [432, "2026112"]],
    [...BODY, [200, "202611w3"]],
    [...BODY, [200, "202611w9"]],
    [...BODY, [200, "202611"]],
    [...BODY, [110, "-5"]],
    [...BODY, [110, "5-"]],
    [...BODY, [114, "Y"]],
    [...BODY, [114, "y"]],
    [...BODY, [58, "ünïcode text"]],
    [...BODY, [11, "again"]],
    [...BODY, [453, 2], [448, "A"], [447, "D"], [452, 1]],
    [...BODY, [453, 1], [448, "A"], [447, "D"], [452, 1], [448, "B"]],
    [...BODY, [453, 1], [447, "D"], [448, "A"], [452, 1]],
  ];
  const opts = { ...DEFAULT_VALIDATION_SETTINGS };
  for (const body of bodies) {
    const bytes = encodeMessage(FixMessage.fromPairs([...HEADER.slice(2), ...body]));
    const decoded = decodeMessage(bytes);
    const asText = decodeMessage(bytes);
    const text = validateMessage(view([...asText]), dict, opts);
    const strings = new Set<number>();
    const counted: FieldView = {
      get fieldCount() {
        return decoded.fieldCount;
      },
      tagAt: (i) => decoded.tagAt(i),
      valueAt: (i) => (strings.add(decoded.tagAt(i)), decoded.valueAt(i)),
      valueBytesAt: (i, span) => decoded.valueBytesAt(i, span),
    };
    const onBytes = validateMessage(counted, dict, opts);
    const label = body.map(([t, v]) => `${t}=${v}`).join("|");
    assert.deepEqual(onBytes, text, label);
    if (body === BODY) {
      assert.deepEqual(onBytes, []);
      // Only MsgType became a string: the one-character enumerations (21, 54, 40) are
      // checked on their byte.
      assert.deepEqual([...strings], [35]);
    }
  }
  // A message with nothing to check on bytes gives the same answer through valueAt alone.
  assert.deepEqual(await check(replace(38, "1e3")), [[6, 38]]);
});
