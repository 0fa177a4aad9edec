import assert from "node:assert/strict";
import { FileSeqStoreFactory } from "../../adapters/file_store.ts";
import { FileMessageLogFactory } from "../../adapters/message_log.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { maskFrame } from "../../src/message/mask.ts";
import { newOrderSingle } from "../../src/messages/fix44.ts";
import { SessionId } from "../../src/session_id.ts";
import {
  type CommandIo,
  decodeCommand,
  DictionaryChooser,
  formatEntry,
  type LogEntry,
  type LogProblem,
  matches,
  readLog,
  USAGE,
} from "../../tools/decode_log.ts";

const NOW = "20261206-09:30:00.000";
const TEXT = new TextEncoder();
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const bars = (b: Uint8Array) => text(b).replaceAll("\x01", "|");

function stamp(m: FixMessage, seq: number): FixMessage {
  return m.set(49, "BUY").set(56, "SELL").set(34, seq).set(52, NOW);
}

const LOGON = encodeMessage(
  stamp(new FixMessage("A").set(98, 0).set(108, 30).set(553, "user").set(554, "secret"), 1),
  "FIX.4.4",
);
const ORDER = encodeMessage(
  stamp(
    newOrderSingle({
      clOrdID: "ord-1",
      noPartyIDs: [
        { partyID: "BROKER-1", partyIDSource: "D", partyRole: 1 },
        { partyID: "TRADER-9", partyRole: 11 },
      ],
      execInst: ["1", "G"],
      symbol: "ACME",
      side: "1",
      transactTime: NOW,
      orderQty: 100,
      ordType: "2",
      price: "101.25",
    }),
    2,
  ),
  "FIX.4.4",
);
const HEARTBEAT = encodeMessage(stamp(new FixMessage("0"), 3), "FIX.4.4");

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

function split(items: (LogEntry | LogProblem)[]): [LogEntry[], LogProblem[]] {
  const entries: LogEntry[] = [];
  const problems: LogProblem[] = [];
  for (const i of items) ("message" in i ? entries : problems).push(i as never);
  return [entries, problems];
}

Deno.test("readLog reads a raw stream back to back, as the file store writes it", () => {
  const input = concat(LOGON, ORDER, HEARTBEAT);
  const [entries, problems] = split([...readLog(input, { direction: "out" })]);
  assert.deepEqual(problems, []);
  assert.deepEqual(entries.map((e) => [e.message.msgType, e.message.seqNum, e.direction]), [
    ["A", 1, "out"],
    ["D", 2, "out"],
    ["0", 3, "out"],
  ]);
  assert.deepEqual(entries.map((e) => e.offset), [0, LOGON.length, LOGON.length + ORDER.length]);
  assert.deepEqual(entries[1].frame, ORDER);
});

Deno.test("readLog reads message log lines with | or SOH, their time and direction", () => {
  const masked = maskFrame(LOGON); // as the log writes it: the checksum no longer matches
  const fixwire = [
    `2026-12-06T09:30:00.120Z OUT ${bars(masked)}`,
    `2026-12-06T09:30:00.121Z IN  ${bars(ORDER)}`,
  ].join("\n");
  const [entries, problems] = split([...readLog(TEXT.encode(fixwire + "\n"))]);
  assert.deepEqual(problems, []);
  assert.deepEqual(entries.map((e) => [e.line, e.time, e.direction, e.message.msgType]), [
    [1, "2026-12-06T09:30:00.120Z", "out", "A"],
    [2, "2026-12-06T09:30:00.121Z", "in", "D"],
  ]);
  assert.equal(entries[0].message.get(554), "******");
  assert.deepEqual(entries[1].frame, ORDER, "| is SOH again");
  // QuickFIX's FileLog: "<time> : <message with SOH>", no direction; CRLF line ends.
  const quickfix = `20261206-09:30:00.123 : ${text(ORDER)}\r\n20261206-09:30:01.000 : ${
    text(HEARTBEAT)
  }\r\n`;
  const [qf] = split([...readLog(TEXT.encode(quickfix))]);
  assert.deepEqual(qf.map((e) => [e.line, e.time, e.direction, e.message.msgType]), [
    [1, "20261206-09:30:00.123", undefined, "D"],
    [2, "20261206-09:30:01.000", undefined, "0"],
  ]);
});

Deno.test("readLog reports a garbled line or run and reads the messages around it", () => {
  const lines = [
    `2026-12-06T09:30:00.120Z OUT ${bars(LOGON)}`,
    "this line is garbage",
    `2026-12-06T09:30:00.121Z IN  8=FIX.4.4|9=5|35`, // cut short
    `not a time OUT ${bars(HEARTBEAT)}`, // junk before a message: reported, message read
    `2026-12-06T09:30:00.122Z IN  ${bars(ORDER)}`,
  ];
  const items = [...readLog(TEXT.encode(lines.join("\n")))];
  assert.deepEqual(
    items.map((i) => "message" in i ? `${i.line}: ${i.message.msgType}` : `${i.line}: ${i.reason}`),
    [
      "1: A",
      "2: no FIX message on the line",
      "3: the message is cut short: no CheckSum(10)",
      "4: not a FIX message",
      "4: 0",
      "5: D",
    ],
  );
  const garbage = items[1] as LogProblem;
  assert.equal(garbage.excerpt, "this line is garbage");
  // A raw stream with bytes between messages and a torn last write.
  const raw = concat(LOGON, TEXT.encode("\n\nxx\x01yy"), ORDER, HEARTBEAT.subarray(0, 20));
  const [entries, problems] = split([...readLog(raw)]);
  assert.deepEqual(entries.map((e) => e.message.msgType), ["A", "D"]);
  assert.deepEqual(problems.map((p) => [p.reason, p.excerpt]), [
    ["not a FIX message", "xx|yy"],
    ["the message is cut short: no CheckSum(10)", bars(HEARTBEAT.subarray(0, 20))],
  ]);
  // A message whose decoding fails (a field without "=") is reported, not thrown.
  const broken = TEXT.encode("8=FIX.4.4\x019=10\x0135=0\x01abc\x0110=000\x01");
  const [none, [bad]] = split([...readLog(broken)]);
  assert.deepEqual(none, []);
  assert.equal(bad.reason, "tag is not a number at offset 20");
});

Deno.test("matches filters by type, a field anywhere, sequence numbers and direction", () => {
  const [logon, order, heartbeat] = split([...readLog(concat(LOGON, ORDER, HEARTBEAT), {
    direction: "in",
  })])[0];
  const pick = (filter: Parameters<typeof matches>[1]) =>
    [logon, order, heartbeat].filter((e) => matches(e, filter)).map((e) => e.message.msgType);
  assert.deepEqual(pick({}), ["A", "D", "0"]);
  assert.deepEqual(pick({ types: new Set(["D", "0"]) }), ["D", "0"]);
  assert.deepEqual(pick({ tags: [[452, "11"]] }), ["D"], "a group entry's field counts");
  assert.deepEqual(pick({ tags: [[11, "ord-1"], [55, "OTHER"]] }), []);
  assert.deepEqual(pick({ from: 2 }), ["D", "0"]);
  assert.deepEqual(pick({ to: 2 }), ["A", "D"]);
  assert.deepEqual(pick({ from: 2, to: 2 }), ["D"]);
  assert.deepEqual(pick({ direction: "in" }), ["A", "D", "0"]);
  assert.deepEqual(pick({ direction: "out" }), []);
});

Deno.test("the dictionary is the BeginString's, for FIXT.1.1 the ApplVerID's or the Logon's", async () => {
  const chooser = new DictionaryChooser();
  const names = async (m: FixMessage) =>
    (await chooser.for(m)).map((d) => d.fieldName(1128) ?? d.message("D")?.name ?? "?");
  const fix42 = await loadDictionary("FIX.4.2");
  assert.deepEqual(await chooser.for(new FixMessage("0").set(8, "FIX.4.2")), [fix42]);
  assert.deepEqual(await chooser.for(new FixMessage("0").set(8, "FIX.9.9")), []);
  const fix50 = await loadDictionary("FIX.5.0");
  const fix50sp2 = await loadDictionary("FIX.5.0SP2");
  const fixt = await loadDictionary("FIXT.1.1");
  const report = () => new FixMessage("8").set(8, "FIXT.1.1");
  assert.deepEqual(await chooser.for(report()), [fix50sp2, fixt], "FIX.5.0SP2 by default");
  assert.deepEqual(await chooser.for(report().set(1128, "7")), [fix50, fixt]);
  // A Logon's DefaultApplVerID names the application messages after it.
  await chooser.for(new FixMessage("A").set(8, "FIXT.1.1").set(1137, "7"));
  assert.deepEqual(await chooser.for(report()), [fix50, fixt]);
  assert.equal((await names(report())).length, 2);
  const forced = new DictionaryChooser({ version: "FIX.4.2" });
  assert.deepEqual(await forced.for(new FixMessage("0").set(8, "FIX.4.4")), [fix42]);
});

Deno.test("formatEntry prints a line, names, an expanded view and JSON, credentials masked", async () => {
  const dictionaries = [await loadDictionary("FIX.4.4")];
  const [logon, order] = split([
    ...readLog(TEXT.encode(
      `2026-12-06T09:30:00.120Z OUT ${bars(LOGON)}\n2026-12-06T09:30:00.121Z IN  ${bars(ORDER)}\n`,
    )),
  ])[0];
  // The line form is the message log's own.
  assert.equal(
    formatEntry(logon),
    `2026-12-06T09:30:00.120Z OUT ${
      bars(LOGON).replace("553=user", "553=***")
        .replace("554=secret", "554=***")
    }`,
  );
  assert.equal(formatEntry({ ...order, time: undefined, direction: undefined }), bars(ORDER));
  const named = formatEntry(logon, { style: "names", dictionaries });
  assert.match(named, /^2026-12-06T09:30:00\.120Z OUT BeginString\(8\)=FIX\.4\.4\|/);
  assert.match(named, /\|Username\(553\)=\*\*\*\|Password\(554\)=\*\*\*\|/);
  const expanded = formatEntry(order, { style: "expand", dictionaries }).split("\n");
  assert.equal(
    expanded[0],
    "# line 2 | 2026-12-06T09:30:00.121Z | IN | NewOrderSingle (D) | MsgSeqNum 2",
  );
  const body = expanded.slice(1);
  for (
    const line of [
      "  MsgType(35) = D (NEW_ORDER_SINGLE)",
      "  NoPartyIDs(453) = 2",
      "    - PartyID(448) = BROKER-1",
      "      PartyIDSource(447) = D (PROPRIETARY)",
      "      PartyRole(452) = 1 (EXECUTING_FIRM)",
      "    - PartyID(448) = TRADER-9",
      "      PartyRole(452) = 11 (ORDER_ORIGINATION_TRADER)",
      "  ExecInst(18) = 1 G (NOT_HELD ALL_OR_NONE)",
      "  Side(54) = 1 (BUY)",
    ]
  ) assert.ok(body.includes(line), `${line}\n${body.join("\n")}`);
  assert.ok(
    body.indexOf("      PartyRole(452) = 11 (ORDER_ORIGINATION_TRADER)") <
      body.indexOf("  ExecInst(18) = 1 G (NOT_HELD ALL_OR_NONE)"),
    "the group ends where its fields do",
  );
  const json = JSON.parse(formatEntry(logon, { style: "json", dictionaries }));
  assert.deepEqual(
    { ...json, fields: undefined },
    {
      line: 1,
      time: "2026-12-06T09:30:00.120Z",
      direction: "out",
      msgType: "A",
      msgTypeName: "Logon",
      seqNum: 1,
      fields: undefined,
    },
  );
  assert.deepEqual(json.fields[2], {
    tag: 35,
    name: "MsgType",
    value: "A",
    valueName: "LOGON",
  });
  assert.deepEqual(json.fields.find((f: { tag: number }) => f.tag === 554), {
    tag: 554,
    name: "Password",
    value: "***",
  });
  assert.doesNotMatch(JSON.stringify(json), /secret|user"/);
  // Tags of a session's own (UsernameTag, PasswordTag) are masked when asked.
  const custom = formatEntry(order, { secretTags: new Set([11]) });
  assert.match(custom, /\|11=\*\*\*\|/);
});

/** A CommandIo over an in-memory file system, collecting stdout and stderr. */
function memoryIo(files: Record<string, Uint8Array>, stdin: Uint8Array = new Uint8Array()) {
  const out: string[] = [];
  const err: string[] = [];
  const io: CommandIo = {
    readFile: (path) => {
      const f = files[path];
      if (f) return Promise.resolve(f);
      return Promise.reject(new Deno.errors.NotFound(`No such file: ${path}`));
    },
    readStdin: () => Promise.resolve(stdin),
    out: (t) => out.push(t),
    err: (t) => err.push(t),
  };
  return { io, out, err };
}

Deno.test("the decode command prints, filters and says how it went in its exit status", async () => {
  const log = TEXT.encode(
    [
      `2026-12-06T09:30:00.120Z OUT ${bars(maskFrame(LOGON))}`,
      `2026-12-06T09:30:00.121Z IN  ${bars(ORDER)}`,
      `2026-12-06T09:30:00.122Z OUT ${bars(HEARTBEAT)}`,
    ].join("\n") + "\n",
  );
  const files = { "messages.log": log, "store/outgoing.log": concat(LOGON, HEARTBEAT) };
  {
    const { io, out, err } = memoryIo(files);
    assert.equal(await decodeCommand(["messages.log"], io), 0);
    assert.equal(out.length, 3);
    assert.deepEqual(err, []);
  }
  {
    const { io, out } = memoryIo(files);
    assert.equal(await decodeCommand(["--type=D,0", "--direction", "out", "messages.log"], io), 0);
    assert.deepEqual(out.map((l) => l.split(" ")[1]), ["OUT"]);
    assert.match(out[0], /35=0\|/);
  }
  {
    const { io, out } = memoryIo(files);
    assert.equal(await decodeCommand(["--tag", "448=TRADER-9", "--expand", "messages.log"], io), 0);
    assert.match(out[0], /^# line 2 \| .* \| NewOrderSingle \(D\) \| MsgSeqNum 2$/m);
    assert.equal(out.at(-1), "", "a blank line after each expanded message");
  }
  {
    // A store file: raw, its direction from its name.
    const { io, out } = memoryIo(files);
    assert.equal(await decodeCommand(["--json", "--from", "2", "store/outgoing.log"], io), 0);
    assert.deepEqual(out.map((l) => JSON.parse(l)).map((j) => [j.direction, j.seqNum]), [
      ["out", 3],
    ]);
  }
  {
    // stdin, with a garbled line: reported, skipped, exit 2.
    const { io, out, err } = memoryIo(files, concat(log, TEXT.encode("garbage\n")));
    assert.equal(await decodeCommand(["-"], io), 2);
    assert.equal(out.length, 3);
    assert.deepEqual(err, [
      "line 4: skipped: no FIX message on the line: garbage",
      "3 messages decoded, 1 garbled part skipped",
    ]);
  }
  {
    const { io, err } = memoryIo(files);
    assert.equal(await decodeCommand(["missing.log"], io), 1);
    assert.deepEqual(err, ['Cannot decode log: "missing.log" does not exist']);
  }
  {
    const { io, err } = memoryIo(files, TEXT.encode("no FIX here\n"));
    assert.equal(await decodeCommand([], io), 1);
    assert.equal(err.at(-1), "Cannot decode log: no FIX message in stdin, 1 garbled part skipped");
  }
  {
    const { io, err } = memoryIo(files, new Uint8Array());
    assert.equal(await decodeCommand([], io), 1);
    assert.deepEqual(err, ["Cannot decode log: stdin holds no FIX message"]);
  }
  for (
    const [args, message] of [
      [["--from", "x", "messages.log"], 'Cannot read --from: "x" is not a number'],
      [["--direction=up"], 'Cannot read --direction: "up" is not in or out'],
      [["--tag", "11"], 'Cannot read --tag: "11" is not tag=value'],
      [["--version", "FIX.9"], 'Cannot read --version: "FIX.9" is not one of'],
      [["--bogus"], "Cannot read arguments: unknown option --bogus"],
      [["a.log", "b.log"], "Cannot read arguments: give one file at most"],
      [["--type"], "Cannot read --type: a value is missing"],
    ] as const
  ) {
    const { io, err } = memoryIo(files);
    assert.equal(await decodeCommand(args, io), 1, args.join(" "));
    assert.ok(err[0].startsWith(message), err[0]);
    assert.ok(err[0].endsWith(USAGE));
  }
  {
    const { io, out } = memoryIo(files);
    assert.equal(await decodeCommand(["--help"], io), 0);
    assert.deepEqual(out, [USAGE]);
  }
});

Deno.test("jsr:@fixwire/engine/decode runs as a command on a session's files", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const id = new SessionId("BUY", "SELL");
    const store = await new FileSeqStoreFactory({ directory: dir }).open(id, { nowMs: 0 });
    store.appendOutgoing(1, LOGON);
    store.setNextTargetSeqNum(2); // the peer's Logon, answered
    await store.flush();
    store.appendOutgoing(2, ORDER);
    store.setNextTargetSeqNum(3);
    await store.close();
    assert.deepEqual(
      text(Deno.readFileSync(`${dir}/BUY-SELL/outgoing.log`)).match(/#T \d+/g),
      ["#T 2", "#T 3"],
      "the store's target records, between the messages",
    );
    const log = await new FileMessageLogFactory({ directory: dir }).open(id);
    log.append("out", Date.UTC(2026, 11, 6, 9, 30), maskFrame(LOGON));
    log.append("in", Date.UTC(2026, 11, 6, 9, 30, 1), HEARTBEAT);
    await log.close();
    const tool = new URL("../../tools/decode_log.ts", import.meta.url).pathname;
    const run = async (...args: string[]) => {
      const r = await new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-read", tool, ...args],
        stdout: "piped",
        stderr: "piped",
      }).output();
      return { code: r.code, out: text(r.stdout), err: text(r.stderr) };
    };
    const outgoing = await run("--names", `${dir}/BUY-SELL/outgoing.log`);
    assert.equal(outgoing.code, 0, outgoing.err);
    assert.equal(outgoing.err, "", "target records are no garble");
    assert.deepEqual(
      outgoing.out.trimEnd().split("\n").map((l) => l.slice(0, 27)),
      ["OUT BeginString(8)=FIX.4.4|", "OUT BeginString(8)=FIX.4.4|"],
    );
    assert.match(outgoing.out, /Password\(554\)=\*\*\*\|/);
    assert.doesNotMatch(outgoing.out, /secret/);
    const messages = await run(`${dir}/BUY-SELL/messages.log`);
    assert.equal(messages.code, 0, messages.err);
    assert.match(messages.out, /^2026-12-06T09:30:00\.000Z OUT 8=FIX\.4\.4\|.*\|554=\*\*\*\|/m);
    assert.match(messages.out, /^2026-12-06T09:30:01\.000Z IN {2}8=FIX\.4\.4\|9=\d+\|35=0\|/m);
    const missing = await run(`${dir}/nothing.log`);
    assert.equal(missing.code, 1);
    assert.equal(missing.err, `Cannot decode log: "${dir}/nothing.log" does not exist\n`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
