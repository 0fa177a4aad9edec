import assert from "node:assert/strict";
import { SessionId } from "../src/session_id.ts";

/** Windows refuses these in a name; `portableName` also allows printable ASCII only. */
const WINDOWS_FORBIDDEN = /[<>:"/\\|?*]/;
const WINDOWS_DEVICE = /^(?:CON|PRN|AUX|NUL|COM[0-9]|LPT[0-9])$/i;

/** Whether `name` is a valid folder name on Linux, macOS and Windows, in printable ASCII. */
function portableName(name: string): boolean {
  const stem = name.split(".")[0].trimEnd();
  return /^[\x20-\x7e]+$/.test(name) && !WINDOWS_FORBIDDEN.test(name) &&
    !/[. ]$/.test(name) && !WINDOWS_DEVICE.test(stem) && name !== "." && name !== "..";
}

/** A small seeded generator (mulberry32), so a failure replays. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Checks that distinct ids never share a key or a text, and that both read back: `seen` maps
 * each key and text met so far to its id.
 */
function checkInjective(
  id: SessionId,
  seen: { keys: Map<string, SessionId>; texts: Map<string, SessionId> },
): void {
  const key = id.key, text = id.toString();
  const k = seen.keys.get(key);
  if (k && !k.equals(id)) {
    assert.fail(`key "${key}" of ${JSON.stringify(id)} and ${JSON.stringify(k)}`);
  }
  const s = seen.texts.get(text);
  if (s && !s.equals(id)) {
    assert.fail(`text "${text}" of ${JSON.stringify(id)} and ${JSON.stringify(s)}`);
  }
  seen.keys.set(key, id);
  seen.texts.set(text, id);
  assert.ok(SessionId.fromKey(key).equals(id), `key "${key}" reads back`);
  assert.ok(SessionId.parse(text).equals(id), `text "${text}" reads back`);
  assert.ok(portableName(key), `key "${key}" is a portable name`);
}

Deno.test("session ids that used to share a key or a text no longer do", () => {
  const pairs: [SessionId, SessionId][] = [
    // One store folder and KV prefix: one counterparty's messages resent to the other.
    [new SessionId("BROKER-1", "EXCH"), new SessionId("BROKER", "1-EXCH")],
    [new SessionId("BROKER-1", "EXCH"), new SessionId("BROKER", "1", "EXCH")],
    [new SessionId("BROKER", "1-EXCH"), new SessionId("BROKER", "1", "EXCH")],
    [new SessionId("A", "B-C", "D"), new SessionId("A", "B", "C-D")],
    [new SessionId("A-", "B"), new SessionId("A", "-B")],
    // One acceptor routing entry.
    [new SessionId("A", "B:C"), new SessionId("A", "B", "C")],
    [new SessionId("A->B", "C"), new SessionId("A", "B->C")],
    [new SessionId("A:B", "C", "D"), new SessionId("A:B", "C:D")],
    [new SessionId("A", "B:C", "D"), new SessionId("A", "B", "C:D")],
  ];
  for (const [a, b] of pairs) {
    assert.notEqual(a.key, b.key, `${a.key}`);
    assert.notEqual(a.toString(), b.toString(), `${a}`);
  }
});

Deno.test("session keys and texts escape only separators and unsafe characters", async (t) => {
  const cases: [string[], string, string][] = [
    // Ordinary ids look as they always did: same store folders, same logs.
    [["TEST1", "TEST2"], "TEST1-TEST2", "TEST1->TEST2"],
    [["A", "B", "Q"], "A-B-Q", "A->B:Q"],
    [["FIRM_1.X", "a.b_c", "q.1"], "FIRM_1.X-a.b_c-q.1", "FIRM_1.X->a.b_c:q.1"],
    [["MY FIRM", "100%", "#1"], "MY FIRM-100%-#1", "MY FIRM->100%:#1"],
    [[".A", "B"], ".A-B", ".A->B"],
    // The key's separator, and its escape, written =XX (hex of the UTF-8 bytes).
    [["BROKER-1", "EXCH"], "BROKER=2D1-EXCH", "BROKER-1->EXCH"],
    [["BROKER", "1-EXCH"], "BROKER-1=2DEXCH", "BROKER->1-EXCH"],
    [["A-", "-B"], "A=2D-=2DB", "A-->-B"],
    // The text's separators, escaped with a backslash; Windows forbids them in names too.
    [["A", "B:C"], "A-B=3AC", "A->B\\:C"],
    [["A>B", "C", "D:E"], "A=3EB-C-D=3AE", "A\\>B->C:D\\:E"],
    [["A", 'x<"|?*'], "A-x=3C=22=7C=3F=2A", 'A->x<"|?*'],
    // Not ASCII, DEL and lone surrogates, so a name is the same on every file system.
    [["É", "B"], "=C3=89-B", "É->B"],
    [["A", "\u{1F600}"], "A-=F0=9F=98=80", "A->\u{1F600}"],
    [["A\u007f", "B"], "A=7F-B", "A\u007f->B"],
    [["\uD800x", "\uDC00"], "=ED=A0=80x-=ED=B0=80", "\uD800x->\uDC00"],
    // Windows drops a name's trailing dots and spaces, and reads CON.X as the console.
    [["A.", "B."], "A.-B=2E", "A.->B."],
    [["A", "B", "Q "], "A-B-Q=20", "A->B:Q "],
    [["CON.X", "B"], "CON=2EX-B", "CON.X->B"],
    [["lpt1 .X", "B"], "lpt1 =2EX-B", "lpt1 .X->B"],
    [["CONX.Y", "CON.Y"], "CONX.Y-CON.Y", "CONX.Y->CON.Y"],
  ];
  for (const [parts, key, text] of cases) {
    await t.step(`${JSON.stringify(parts)}`, () => {
      const id = new SessionId(parts[0], parts[1], parts[2]);
      assert.equal(id.key, key);
      assert.equal(id.toString(), text);
      assert.ok(portableName(key), key);
      assert.ok(SessionId.fromKey(key).equals(id));
      assert.ok(SessionId.parse(text).equals(id));
    });
  }
});

Deno.test("SessionId.fromKey and SessionId.parse refuse what no id writes", () => {
  for (
    const key of [
      "A", // one part
      "A-B-C-D", // four parts
      "-B", // an empty part
      "A-B=", // an escape cut short
      "A-B=4", // an escape cut short
      "A-B=3a", // lower-case hex
      "A=41-B", // an escape where none is needed
      "A:B-C", // a raw character that needs one
      "=3D-B", // `=`, never in a CompID
      "=2F-B", // `/`, never in a CompID
      "=C3-B", // UTF-8 cut short
      "=C0=81-B", // overlong UTF-8
      "=ED=A0=BD=ED=B8=80-B", // a surrogate pair spelled as two lone surrogates
      "=F4=90=80=80-B", // past U+10FFFF
      "A-B.", // Windows would drop the dot
    ]
  ) {
    assert.throws(() => SessionId.fromKey(key), SyntaxError, key);
  }
  for (
    const text of [
      "A",
      "A-B",
      "A->",
      "->B",
      "A->B:",
      "A->B:C:D", // the qualifier's `:` is escaped
      "A>B->C", // the sender's `>` is escaped
      "A->B\\", // a backslash ends it
      "A->B\\x", // only `>` and `:` are escaped
      "A->B=C", // `=` is never in a CompID
    ]
  ) {
    assert.throws(() => SessionId.parse(text), SyntaxError, text);
  }
});

Deno.test("no two session ids share a key or a text: every small id over separator characters", () => {
  // Every part of one to three characters from these, as sender, target and qualifier.
  const alphabet = ["a", "-", ">", ":", ".", " "];
  const parts: string[] = [...alphabet];
  for (const p of alphabet) for (const q of alphabet) parts.push(p + q);
  const short = [...parts];
  for (const p of short.slice(alphabet.length)) for (const q of alphabet) parts.push(p + q);
  const seen = { keys: new Map<string, SessionId>(), texts: new Map<string, SessionId>() };
  for (const s of parts) for (const t of parts) checkInjective(new SessionId(s, t), seen);
  for (const s of short) {
    for (const t of short) for (const q of short) checkInjective(new SessionId(s, t, q), seen);
  }
  assert.equal(seen.keys.size, parts.length ** 2 + short.length ** 3);
});

Deno.test("no two session ids share a key or a text: random CompIDs (seeded)", () => {
  // Separators, escape-like text (`2D`, `3A`: a CompID never holds `=` or `\`), characters
  // Windows refuses, non-ASCII in both Unicode forms, lone surrogates and device names.
  const pieces = [
    ..."AZaz09_.-> :%2DE3AF*?\"<|#~'\u007f",
    "->",
    "é",
    "É",
    "e\u0301",
    "\u{1F600}",
    "\uD800",
    "\uDC00",
    "CON.",
    "NUL",
  ];
  const next = random(20261205);
  const part = () => {
    let s = "";
    const n = 1 + Math.floor(next() * 6);
    for (let i = 0; i < n; i++) s += pieces[Math.floor(next() * pieces.length)];
    return s;
  };
  const seen = { keys: new Map<string, SessionId>(), texts: new Map<string, SessionId>() };
  for (let i = 0; i < 50_000; i++) {
    checkInjective(new SessionId(part(), part(), next() < 0.5 ? undefined : part()), seen);
  }
  assert.ok(seen.keys.size > 49_000, `${seen.keys.size}`);
});
