import assert from "node:assert/strict";
import { DEFAULT_VALIDATION_SETTINGS, type ValidationSettings } from "../../src/config/settings.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { type FieldView, validateMessage } from "../../src/dictionary/validator.ts";

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

Deno.test("every check can be switched off", async () => {
  const off: Partial<ValidationSettings> = {
    checkRequiredTags: false,
    prohibitTagsWithoutValue: false,
    verifyTagsValues: false,
    prohibitDuplicatedTags: false,
    verifyFieldsOrder: false,
    verifyRepeatingGroupBounds: false,
  };
  assert.deepEqual(await check(BODY.filter(([t]) => t !== 54), off), []);
  assert.deepEqual(await check(replace(11, ""), off), []);
  assert.deepEqual(await check(replace(54, "Z"), off), []);
  assert.deepEqual(await check([...BODY, [11, "again"]], off), []);
  assert.deepEqual(await check([...BODY, [453, 2], [448, "A"]], off), []);
  assert.deepEqual(await check([...BODY, [9999, "y"]]), []); // undefined tags allowed by default
  assert.deepEqual(await check(replace(54, "Z"), { enabled: false }), []);
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
