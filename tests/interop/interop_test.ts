// Interoperability with QuickFIX C++ (Debian's libquickfix) as a real counterparty, in both
// directions, for FIX.4.2, FIX.4.4 and FIXT.1.1 (FIX.5.0 SP2). Run: deno task test:interop
import assert from "node:assert/strict";
import { TlsTransport } from "../../adapters/tls.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import type { Session } from "../../src/engine/session.ts";
import {
  appendGroup,
  type FieldMap,
  FixMessage,
  type GroupSpec,
  newGroupEntry,
} from "../../src/message/fix_message.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { SessionId } from "../../src/session_id.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import type { Transport } from "../../src/transport.ts";
import type { LogFields, Logger } from "../../src/logger.ts";
import { freePort, type PeerConfig, type PeerEvent, QuickFixPeer } from "./peer_process.ts";
import { MutingTransport } from "./_muting_transport.ts";

const VERSIONS = [
  ["FIX.4.2", FIXVersion.FIX42],
  ["FIX.4.4", FIXVersion.FIX44],
  ["FIXT.1.1", FIXVersion.FIX50SP2],
] as const;
type Begin = typeof VERSIONS[number][0];

const fixtures = new URL("../fixtures/tls/", import.meta.url).pathname;

async function until(
  cond: () => boolean,
  what: string,
  ms = 30_000,
  detail?: () => string,
): Promise<void> {
  const signal = AbortSignal.timeout(ms);
  while (!cond()) {
    if (signal.aborted) {
      throw new Error(`Timed out waiting for ${what}${detail ? `\n${detail()}` : ""}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Keeps fixwire's recent log lines, shown when a wait times out. */
class RecentLog implements Logger {
  readonly lines: string[] = [];
  #add(level: string, message: string, fields?: LogFields): void {
    this.lines.push(
      `${clockOf(Date.now())} ${level} ${message} ${fields ? JSON.stringify(fields) : ""}`,
    );
    if (this.lines.length > 200) this.lines.shift();
  }
  debug(): void {}
  info(m: string, f?: LogFields): void {
    this.#add("info", m, f);
  }
  warn(m: string, f?: LogFields): void {
    this.#add("warn", m, f);
  }
  error(m: string, f?: LogFields): void {
    this.#add("error", m, f);
  }
}

/** Seconds.milliseconds of the minute of an epoch time, for a failure's timeline. */
function clockOf(ms: number | undefined): string {
  return ms === undefined ? "?" : new Date(ms).toISOString().slice(17, 23);
}

/** The last of a list of timed records (QuickFIX's events, probes), their times as clockOf's. */
function timedTail(list: readonly { at?: number }[], n: number): string {
  return JSON.stringify(list.slice(-n).map((e) => ({ ...e, at: clockOf(e.at) })));
}

/** What fixwire's side looks like, for a timeout's message. */
function describe(side: Side): string {
  const s = side.session;
  return [
    `fixwire: state ${s.state}, next sender ${s.nextSenderSeqNum}, next target ${s.nextTargetSeqNum}`,
    // Times as seconds.milliseconds of the minute, as in the log lines and QuickFIX's events.
    `events: ${side.events.slice(-20).map((e) => `${e.type}@${clockOf(e.atMs)}`).join(" ")}`,
    ...side.log.lines.slice(-30),
  ].join("\n");
}

function order(id: string): FixMessage {
  return new FixMessage("D").set(11, id).set(21, "1").set(55, "EUR/USD").set(54, "1")
    .setUtcTimestamp(60, Date.now()).set(38, 100).set(40, "1");
}

function report(o: FixMessage, n: number): FixMessage {
  return new FixMessage("8").set(37, `O-${o.get(11)}`).set(17, `E-${n}`).set(11, o.get(11)!)
    .set(20, "0").set(150, "0").set(39, "0").set(55, o.get(55) ?? "X").set(54, "1")
    .set(151, o.get(38) ?? "0").set(14, "0").set(6, "0");
}

/** An order in `version`: FIX.4.0 and 4.1's NewOrderSingle has no TransactTime(60). */
function orderIn(version: FIXVersion, id: string): FixMessage {
  const m = order(id);
  if (version === FIXVersion.FIX40 || version === FIXVersion.FIX41) m.remove(60);
  return m;
}

/**
 * The report for `o` in `version`: FIX.4.2 keeps ExecTransType(20), later versions have none. An
 * order with repeating groups is answered as the QuickFIX peer answers it: its Parties back
 * (FIX.4.3 and later), with their PartySubIDs, and two ContraBrokers.
 */
function reportIn(version: FIXVersion, o: FixMessage, n: number): FixMessage {
  const r = report(o, n);
  const oldest = version === FIXVersion.FIX40 || version === FIXVersion.FIX41;
  if (version !== FIXVersion.FIX42 && !oldest) r.remove(20);
  // FIX.4.0 and 4.1 require OrderQty, LastShares and LastPx; FIX.4.0 has no ExecType or LeavesQty.
  if (oldest) r.set(38, o.get(38) ?? "0").set(32, 0).set(31, 0);
  if (version === FIXVersion.FIX40) {
    r.remove(150);
    r.remove(151);
    r.set(17, n); // FIX.4.0's ExecID is an INT.
  }
  if (o.has(355)) r.set(354, o.get(354)!).set(355, o.get(355)!);
  const layouts = LAYOUTS.get(version);
  if (!layouts || (!o.has(453) && !o.has(78))) return r;
  const parties = o.getGroups(453, layouts.parties).map((p) => {
    const entry = newGroupEntry(r).set(448, p.get(448)!).set(447, p.get(447)!)
      .set(452, p.get(452)!);
    const subs = p.getGroups(802, layouts.parties.nested?.get(802));
    if (subs.length > 0) {
      appendGroup(
        entry,
        802,
        subs.map((sub) => newGroupEntry(entry).set(523, sub.get(523)!).set(803, sub.get(803)!)),
      );
    }
    return entry;
  });
  if (parties.length > 0) appendGroup(r, 453, parties);
  appendGroup(r, 382, [
    newGroupEntry(r).set(375, "CB1").set(337, "T1").set(437, 40),
    newGroupEntry(r).set(375, "CB2").set(337, "T2").set(437, 60),
  ]);
  return r;
}

/** EncodedText(355) both ways: UTF-8, SOH and '=' in 10 bytes (peer.cpp's ENCODED_TEXT). */
const ENCODED_TEXT = "\u6ce8\u6587\x01=x9";
/** {@linkcode ENCODED_TEXT}'s bytes as the QuickFIX peer prints them. */
const ENCODED_TEXT_HEX = "e6b3a8e69687013d7839";

/** An order carrying {@linkcode ENCODED_TEXT}, as the QuickFIX peer's `data-orders` makes them. */
function dataOrder(id: string): FixMessage {
  return order(id).set(354, new TextEncoder().encode(ENCODED_TEXT).length).set(355, ENCODED_TEXT);
}

/** The groups an order carries and its report answers with, from each version's dictionary. */
interface GroupLayouts {
  parties: GroupSpec;
  allocs: GroupSpec;
  contraBrokers: GroupSpec;
}

const LAYOUTS = new Map<FIXVersion, GroupLayouts>();
for (const [begin, version] of VERSIONS) {
  const dict = await loadDictionary(begin === "FIXT.1.1" ? "FIX.5.0SP2" : begin);
  const none: GroupSpec = { delimiterTag: -1, memberTags: [] };
  LAYOUTS.set(version, {
    // FIX.4.2's NewOrderSingle has no Parties: its orders carry NoAllocs instead.
    parties: dict.groupLayout("D", 453) ?? none,
    allocs: dict.groupLayout("D", 78) ?? none,
    contraBrokers: dict.groupLayout("8", 382)!,
  });
}

/**
 * An order with repeating groups, as the QuickFIX peer's `group-orders` makes them: two Parties,
 * the first with two PartySubIDs, or in FIX.4.2 two NoAllocs entries.
 */
function groupOrder(version: FIXVersion, id: string, k: number): FixMessage {
  const m = order(id);
  if (version === FIXVersion.FIX42) {
    appendGroup(
      m,
      78,
      ["ACC1", "ACC2"].map((a) => newGroupEntry(m).set(79, `${a}-${k}`).set(80, 50)),
    );
    return m;
  }
  const trader = newGroupEntry(m).set(448, `TRADER-${k}`).set(447, "D").set(452, 11);
  appendGroup(
    trader,
    802,
    [["desk-a", "9"], ["room-3", "10"]].map(([v, t]) =>
      newGroupEntry(trader).set(523, v).set(803, t)
    ),
  );
  appendGroup(m, 453, [trader, newGroupEntry(m).set(448, "FIRM").set(447, "D").set(452, 1)]);
  return m;
}

/** The k-th group order's groups as the QuickFIX peer prints them. */
function orderGroupsText(version: FIXVersion, k: number): string {
  return version === FIXVersion.FIX42
    ? `78:ACC1-${k}/50,ACC2-${k}/50`
    : `453:TRADER-${k}/D/11[desk-a/9;room-3/10],FIRM/D/1`;
}

/** The groups of the report to the k-th group order, as the QuickFIX peer prints them. */
function reportGroupsText(version: FIXVersion, k: number): string {
  const brokers = "382:CB1/T1/40,CB2/T2/60";
  return version === FIXVersion.FIX42 ? brokers : `${orderGroupsText(version, k)}|${brokers}`;
}

/** A message's groups read by fixwire with the dictionary's layouts, printed as the peer does. */
function groupsText(version: FIXVersion, m: FixMessage): string {
  const l = LAYOUTS.get(version)!;
  const text = (entries: readonly FieldMap[], tags: number[], nested?: GroupSpec): string =>
    entries.map((e) => {
      const subs = nested ? e.getGroups(802, nested) : [];
      const inner = subs.map((sub) => `${sub.get(523)}/${sub.get(803)}`).join(";");
      return tags.map((t) => e.get(t) ?? "").join("/") + (inner ? `[${inner}]` : "");
    }).join(",");
  const parts: string[] = [];
  const parties = m.getGroups(453, l.parties);
  if (parties.length > 0) {
    parts.push(`453:${text(parties, [448, 447, 452], l.parties.nested?.get(802))}`);
  }
  const allocs = m.getGroups(78, l.allocs);
  if (allocs.length > 0) parts.push(`78:${text(allocs, [79, 80])}`);
  const brokers = m.getGroups(382, l.contraBrokers);
  if (brokers.length > 0) parts.push(`382:${text(brokers, [375, 337, 437])}`);
  return parts.join("|");
}

/** Every fixwire side made in this process, for {@linkcode assertNothingRejected}. */
const SIDES: Side[] = [];

interface Side {
  engine: FixEngine;
  session: Session;
  received: FixMessage[];
  events: SessionEvent[];
  port: number;
  log: RecentLog;
  /** A step's own pace (awaited after each message is handled): an acceptor's only. */
  hold?: (m: FixMessage) => Promise<void> | void;
}

/** fixwire as acceptor FW, answering orders from QF. */
async function fixwireAcceptor(
  dir: string,
  version: FIXVersion,
  opts: {
    config?: Record<string, string | number | boolean>;
    transport?: Transport;
    port?: number;
  } = {},
): Promise<Side> {
  const port = opts.port ?? freePort();
  const log = new RecentLog();
  const engine = new FixEngine({
    logger: log,
    transport: opts.transport,
    config: {
      ListenPort: port,
      ListenAddress: "127.0.0.1",
      LogDirectory: dir,
      IntradayLogoutTolerance: true, // as QuickFIX (ResetOnLogout=N)
      ...opts.config,
    },
  });
  const received: FixMessage[] = [];
  const events: SessionEvent[] = [];
  const session = engine.createSession(new SessionId("FW", "QF"), "", version);
  const side: Side = { engine, session, received, events, port, log };
  let n = 0;
  // Messages from QF in FIX.4.2 carry ExecTransType; harmless in later versions' reports.
  session.setListener({
    onMessage: (m) => {
      received.push(m);
      if (m.msgType === "D") {
        session.put(reportIn(version, m, ++n));
      }
      return side.hold?.(m);
    },
    onEvent: (e) => void events.push(e),
  });
  await session.connect();
  SIDES.push(side);
  return side;
}

/** fixwire as initiator FW connecting to QF. */
function fixwireInitiator(
  dir: string,
  version: FIXVersion,
  port: number,
  opts: { config?: Record<string, string | number | boolean>; transport?: Transport; hb?: number } =
    {},
): Side {
  const log = new RecentLog();
  const engine = new FixEngine({
    logger: log,
    transport: opts.transport,
    config: {
      LogDirectory: dir,
      "Reconnect.Interval": 200,
      "Reconnect.MaxTries": 50,
      // QuickFIX keeps sequence numbers across a Logout (ResetOnLogout=N): do the same.
      IntradayLogoutTolerance: true,
      ...opts.config,
    },
  });
  const received: FixMessage[] = [];
  const events: SessionEvent[] = [];
  const session = engine.createSession(new SessionId("FW", "QF"), "", version);
  session.setListener({
    onMessage: (m) => void received.push(m),
    onEvent: (e) => void events.push(e),
  });
  session.connect(opts.hb ?? 30, "127.0.0.1", port);
  const side = { engine, session, received, events, port, log };
  SIDES.push(side);
  return side;
}

/**
 * Each engine sees the other fall silent in turn (its plain Heartbeats are dropped) and must
 * probe it with a TestRequest; the answer is a Heartbeat echoing the TestReqID, and the session
 * stays up on both sides.
 */
async function testRequestsBothWays(
  mute: MutingTransport,
  qf: QuickFixPeer,
  side: Side,
): Promise<void> {
  const session = side.session;
  // Both sides' view when the session did not stay up.
  const up = () =>
    assert.equal(
      session.state,
      "established",
      `${describe(side)}\nQuickFIX: ${timedTail(qf.events, 15)}\n` +
        `probes sent: ${timedTail(mute.sent, 8)}\nprobes received: ${timedTail(mute.received, 8)}`,
    );
  const start = qf.events.length;
  const echoed = (probes: { type: string; testReqId?: string }[]) =>
    probes.filter((p) => p.type === "0" && p.testReqId !== undefined).map((p) => p.testReqId);
  const asked = (probes: { type: string; testReqId?: string }[]) =>
    probes.filter((p) => p.type === "1").map((p) => p.testReqId);
  // fixwire falls silent: QuickFIX sends a TestRequest, fixwire answers it.
  let sentFrom = mute.sent.length, receivedFrom = mute.received.length;
  mute.muteOut = true;
  await qf.waitFor((e) => e.ev === "admin_out" && e.type === "1", 10_000, start);
  await until(() => echoed(mute.sent.slice(sentFrom)).length > 0, "fixwire's answer", 10_000);
  mute.muteOut = false;
  const qfIds = asked(mute.received.slice(receivedFrom));
  assert.ok(qfIds.length > 0);
  assert.ok(echoed(mute.sent.slice(sentFrom)).every((id) => qfIds.includes(id)), "echo");
  up();
  // QuickFIX falls silent: fixwire sends a TestRequest, QuickFIX answers it.
  const from = qf.events.length;
  sentFrom = mute.sent.length;
  receivedFrom = mute.received.length;
  mute.muteIn = true;
  await qf.waitFor((e) => e.ev === "admin_in" && e.type === "1", 10_000, from);
  await until(() => echoed(mute.received.slice(receivedFrom)).length > 0, "QuickFIX's answer");
  mute.muteIn = false;
  const fwIds = asked(mute.sent.slice(sentFrom));
  assert.ok(fwIds.length > 0);
  assert.ok(echoed(mute.received.slice(receivedFrom)).every((id) => fwIds.includes(id)), "echo");
  up();
  assert.ok(!qf.events.slice(start).some((e) => e.ev === "logout"), "nobody logged out");
}

/**
 * No message was rejected on either side, by any peer started or fixwire side made since `before`
 * (counts of {@linkcode QuickFixPeer.started} and {@linkcode SIDES}): QuickFIX validates what fixwire sends against the standard
 * dictionary (`dictionary: true`) and answers what fails with a Reject or a
 * BusinessMessageReject; fixwire validates what QuickFIX sends with its own.
 */
function assertNothingRejected(before: { peers: number; sides: number }): void {
  const rejects = (e: PeerEvent) =>
    ((e.ev === "admin_out" || e.ev === "admin_in") && e.type === "3") ||
    ((e.ev === "app_out" || e.ev === "app_in") && e.type === "j");
  for (const peer of QuickFixPeer.started.slice(before.peers)) {
    const found = peer.events.filter(rejects);
    assert.deepEqual(found, [], `${peer.config.dir}: ${JSON.stringify(found)}`);
  }
  for (const side of SIDES.slice(before.sides)) {
    const found = side.events.filter((e) => e.type === "rejectSent" || e.type === "rejectReceived");
    assert.deepEqual(found, [], describe(side));
  }
}

/**
 * Freezes the peer (SIGSTOP) until fixwire gives it up: a TestRequest unanswered, the link
 * dropped. `meanwhile` runs while it is still frozen; it is resumed (SIGCONT) in any case.
 */
async function frozenUntilGivenUp(
  peer: QuickFixPeer,
  side: Side,
  mute: MutingTransport,
  meanwhile: () => void = () => {},
): Promise<void> {
  const sentFrom = mute.sent.length;
  const eventsFrom = side.events.length;
  peer.signal("SIGSTOP");
  try {
    await until(
      () => side.events.slice(eventsFrom).some((e) => e.type === "disconnected"),
      "fixwire to give the frozen peer up",
      15_000,
      () => describe(side),
    );
    assert.ok(mute.sent.slice(sentFrom).some((p) => p.type === "1"), "a TestRequest");
    meanwhile();
  } finally {
    peer.signal("SIGCONT");
  }
}

/**
 * A daily session time that ends about 4 s from now and starts again 3 s later (QuickFIX reads
 * times to the second and counts the end second in session: two whole seconds out of it), as
 * QuickFIX's `StartTime`/`EndTime` and as fixwire's configuration.
 */
function dailyWindow(): {
  times: { start: string; end: string };
  config: Record<string, string>;
  endMs: number;
  startMs: number;
} {
  const endMs = Math.ceil((Date.now() + 4000) / 1000) * 1000;
  const startMs = endMs + 3000;
  const hms = (ms: number) => new Date(ms).toISOString().slice(11, 19);
  const times = { start: hms(startMs), end: hms(endMs) };
  return { times, config: { StartTime: times.start, EndTime: times.end }, endMs, startMs };
}

/** Matches `pred`'s first match only: a message lost once, not its resend. */
function firstOnly(pred: (m: FixMessage) => boolean): (m: FixMessage) => boolean {
  let done = false;
  return (m) => !done && pred(m) && (done = true);
}

const isAppIn = (type: string) => (e: PeerEvent) => e.ev === "app_in" && e.type === type;

/** The messages whose ClOrdID(11) starts with `prefix`: one step's orders or their reports. */
function withPrefix(messages: FixMessage[], prefix: string): FixMessage[] {
  return messages.filter((m) => m.get(11)?.startsWith(prefix));
}

/**
 * QuickFIX's side of the session with fixwire (QF to FW, its files under `dir/qf`), validating
 * what it receives with its standard dictionary.
 */
function quickfix(
  role: "acceptor" | "initiator",
  beginString: PeerConfig["beginString"],
  port: number,
  dir: string,
  more: Partial<PeerConfig> = {},
): QuickFixPeer {
  return new QuickFixPeer({
    role,
    beginString,
    senderCompId: "QF",
    targetCompId: "FW",
    port,
    dir: `${dir}/qf`,
    dictionary: true,
    ...more,
  });
}

for (const [begin, version] of VERSIONS) {
  Deno.test(`interop ${begin}: fixwire initiator, QuickFIX acceptor`, async (t) => {
    const dir = await Deno.makeTempDir();
    const before = { peers: QuickFixPeer.started.length, sides: SIDES.length };
    const port = freePort();
    const qf = quickfix("acceptor", begin as Begin, port, dir);
    await qf.start();
    const mute = new MutingTransport();
    let fw = fixwireInitiator(`${dir}/fw`, version, port, { transport: mute });
    try {
      await t.step("logon, 10,000 orders answered in order, checked on arrival", async () => {
        await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
        await qf.waitFor((e) => e.ev === "logon");
        for (let i = 1; i <= 10_000; i++) fw.session.put(order(`f${i}`));
        await until(() => fw.received.length >= 10_000, "10,000 execution reports");
        const ids = fw.received.map((m) => m.get(11));
        assert.deepEqual(ids, Array.from({ length: 10_000 }, (_, i) => `f${i + 1}`));
        // QuickFIX's event lines come through a pipe, apart from the socket: they may trail.
        await qf.waitForCount(isAppIn("D"), 10_000, 5_000);
        const qfIds = qf.events.filter(isAppIn("D")).map((e) => e.clordid);
        assert.deepEqual(qfIds, ids);
      });

      await t.step(
        "repeating groups both ways (nested from FIX.4.4 on), each side parsing by its dictionary",
        async () => {
          const from = qf.events.length;
          const seen = fw.received.length;
          for (let k = 1; k <= 10; k++) fw.session.put(groupOrder(version, `P${k}`, k));
          await until(
            () => fw.received.length >= seen + 10,
            "the reports",
            10_000,
            () => describe(fw),
          );
          await qf.caughtUp();
          assert.deepEqual(
            qf.events.slice(from).filter(isAppIn("D")).map((e) => [e.clordid, e.groups]),
            Array.from({ length: 10 }, (_, i) => [`P${i + 1}`, orderGroupsText(version, i + 1)]),
          );
          assert.deepEqual(
            fw.received.slice(seen).map((m) => [m.get(11), groupsText(version, m)]),
            Array.from({ length: 10 }, (_, i) => [`P${i + 1}`, reportGroupsText(version, i + 1)]),
          );
        },
      );

      await t.step("a data field holding SOH, '=' and UTF-8 (EncodedText) both ways", async () => {
        const from = qf.events.length;
        const seen = fw.received.length;
        for (const id of ["X1", "X2", "X3"]) fw.session.put(dataOrder(id));
        await until(
          () => fw.received.length >= seen + 3,
          "the reports",
          10_000,
          () => describe(fw),
        );
        await qf.caughtUp();
        assert.deepEqual(
          qf.events.slice(from).filter(isAppIn("D")).map((e) => [e.clordid, e.data]),
          ["X1", "X2", "X3"].map((id) => [id, ENCODED_TEXT_HEX]),
        );
        assert.deepEqual(
          fw.received.slice(seen).map((m) => [m.get(11), m.get(354), m.get(355)]),
          ["X1", "X2", "X3"].map((id) => [id, "10", ENCODED_TEXT]),
        );
      });

      await t.step(
        "QuickFIX killed mid-flow and restarted: gap resent, every order exactly once",
        async () => {
          const before = qf.events.filter(isAppIn("D")).length;
          for (let i = 1; i <= 3000; i++) fw.session.put(order(`k${i}`));
          await qf.waitForCount(isAppIn("D"), before + 500);
          await qf.kill();
          await fw.session.waitFor("reconnecting", { signal: AbortSignal.timeout(10_000) });
          const restartAt = qf.events.length;
          await qf.start();
          await qf.waitFor((e) => e.ev === "logon", 20_000, restartAt);
          // Counted by ClOrdID: the steps before sent orders of other prefixes.
          const ks = () =>
            new Set(
              qf.events.filter(isAppIn("D")).map((e) => e.clordid).filter((id) => id?.[0] === "k"),
            ).size;
          await until(
            () => withPrefix(fw.received, "k").length >= 3000 || ks() >= 3000,
            "every order after the restart",
          );
          await until(() => ks() >= 3000, "QuickFIX to see every order");
          const seen = new Map<string, PeerEvent[]>();
          for (const e of qf.events.filter(isAppIn("D"))) {
            seen.set(e.clordid!, [...(seen.get(e.clordid!) ?? []), e]);
          }
          for (let i = 1; i <= 3000; i++) assert.ok(seen.has(`k${i}`), `k${i} lost`);
          for (const [id, es] of seen) {
            // A repeat can only be a resend the peer could not know it had processed.
            if (es.length > 1) assert.ok(es.slice(1).every((e) => e.possdup), `${id} duplicated`);
          }
          assert.ok(
            qf.events.slice(restartAt).some((e) => e.ev === "admin_out" && e.type === "2"),
            "QuickFIX requested the gap",
          );
          // fixwire delivered every QuickFIX message exactly once (by MsgSeqNum), and every order
          // got its report. (QuickFIX itself may answer an order twice: it cannot know it had
          // processed a resent order whose inbound number it had not persisted before the kill.)
          const seqs = fw.received.map((m) => m.get(34)!);
          assert.equal(new Set(seqs).size, seqs.length, "a message was delivered twice");
          await until(
            () =>
              new Set(fw.received.map((m) => m.get(11)!).filter((id) => id[0] === "k")).size ===
                3000,
            "a report for every order",
          );
        },
      );

      await t.step(
        "heartbeats and TestRequest with HeartBtInt 1 s over a quiet period",
        async () => {
          await fw.session.disconnect("switch to 1 s heartbeats");
          await qf.waitFor((e) => e.ev === "logout");
          const from = qf.events.length;
          fw.session.connect(1, "127.0.0.1", port);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          await qf.waitFor((e) => e.ev === "admin_in" && e.type === "0", 5_000, from);
          await qf.waitFor((e) => e.ev === "admin_out" && e.type === "0", 5_000, from);
          await testRequestsBothWays(mute, qf, fw);
          assert.ok(
            qf.events.slice(from).filter((e) => e.ev === "admin_in" && e.type === "0").length >= 2,
          );
        },
      );

      await t.step(
        "QuickFIX frozen (SIGSTOP): the TestRequest goes unanswered, the link is dropped, and after SIGCONT it logs on again with nothing lost",
        async () => {
          // HeartBtInt is 1 s since the step before. Orders put while the peer is gone wait
          // for the next Logon.
          const seen = fw.received.length;
          await frozenUntilGivenUp(qf, fw, mute, () => {
            for (let i = 1; i <= 5; i++) fw.session.put(order(`z${i}`));
          });
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(30_000) });
          await until(
            () => new Set(fw.received.slice(seen).map((m) => m.get(11))).size >= 5,
            "a report for each order put while the peer was frozen",
            15_000,
            () => describe(fw),
          );
          const reports = fw.received.slice(seen);
          assert.deepEqual([...new Set(reports.map((m) => m.get(11)))], [
            "z1",
            "z2",
            "z3",
            "z4",
            "z5",
          ]);
          const twice = reports.filter((m, i) =>
            reports.findIndex((r) => r.get(11) === m.get(11)) < i
          );
          assert.ok(
            twice.every((m) => m.get(43) === "Y"),
            "a report twice only as a PossDup resend",
          );
        },
      );

      await t.step(
        "an order lost on its way out right before our Logout reaches QuickFIX by resend",
        async () => {
          mute.loseOut = firstOnly((m) => m.msgType === "D" && m.get(11) === "y2");
          const from = qf.events.length;
          const seen = fw.received.length;
          for (let i = 1; i <= 3; i++) fw.session.put(order(`y${i}`));
          await fw.session.disconnect("end of day");
          mute.loseOut = undefined;
          assert.equal(mute.lost.filter((m) => m.get(11) === "y2").length, 1);
          // Whether QuickFIX asked for y2 before it took our Logout or asks at the next Logon,
          // it gets it, once, as a resend.
          fw.session.connect(30, "127.0.0.1", port);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          const yOrders = () =>
            qf.events.slice(from).filter((e) => isAppIn("D")(e) && e.clordid!.startsWith("y"));
          await until(
            () => new Set(yOrders().map((e) => e.clordid)).size >= 3,
            "QuickFIX to see y1, y2 and y3",
            15_000,
            () => JSON.stringify(yOrders()),
          );
          const orders = yOrders();
          assert.deepEqual([...new Set(orders.map((e) => e.clordid))].sort(), ["y1", "y2", "y3"]);
          const y2 = orders.find((e) => e.clordid === "y2")!;
          assert.ok(y2.possdup, "y2 came as a PossDup resend");
          await until(
            () => new Set(fw.received.slice(seen).map((m) => m.get(11))).size >= 3,
            "a report for each y order",
            15_000,
            () => describe(fw),
          );
        },
      );

      await t.step(
        "SequenceReset-GapFill when the resent range holds session messages",
        async () => {
          // QuickFIX forgets what it received since a point (its expected number is set back,
          // its own numbers kept): it asks again for a range that holds our Logout and Logon,
          // which come as SequenceReset-GapFill, and the orders, resent with PossDupFlag.
          const store = `${dir}/qf/store`;
          const seqFile = async () => {
            for await (const f of Deno.readDir(store)) {
              if (f.name.endsWith(".seqnums")) return `${store}/${f.name}`;
            }
            throw new Error("no QuickFIX seqnums file");
          };
          const parse = async () =>
            (await Deno.readTextFile(await seqFile())).split(":").map((x) => Number(x.trim()));
          const [, expectedBefore] = await parse();
          await fw.session.disconnect("session messages for the range");
          await qf.waitFor((e) => e.ev === "logout", 5000, qf.events.length - 1);
          fw.session.connect(30, "127.0.0.1", port);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          const count = fw.received.length;
          for (let i = 1; i <= 5; i++) fw.session.put(order(`g${i}`));
          await until(() => fw.received.length >= count + 5, "5 reports");
          await qf.kill();
          const [sender] = await parse();
          const pad = (n: number) => String(n).padStart(10, "0");
          await Deno.writeTextFile(await seqFile(), `${pad(sender)} : ${pad(expectedBefore)}`);
          const from = qf.events.length;
          await qf.start();
          await qf.waitFor(
            (e) => e.ev === "admin_in" && e.type === "4" && e.gapfill === "Y",
            20_000,
            from,
          );
          await qf.waitForCount((e) => isAppIn("D")(e) && e.clordid!.startsWith("g"), 10);
          const again = qf.events.slice(from).filter((e) => isAppIn("D")(e));
          assert.deepEqual(again.map((e) => e.clordid), ["g1", "g2", "g3", "g4", "g5"]);
          assert.ok(again.every((e) => e.possdup), "resent with PossDupFlag");
          await until(() => fw.session.state === "established", "established again");
        },
      );

      await t.step(
        "fixwire stopped non-gracefully mid-flow and restarted from its file store",
        async () => {
          const seqBefore = fw.session.nextSenderSeqNum;
          const qfFrom = qf.events.length;
          for (let i = 1; i <= 3000; i++) fw.session.put(order(`c${i}`));
          const cs = () => withPrefix(fw.received, "c").length;
          await until(() => cs() >= 300, "part of the burst");
          await fw.session.disconnectNonGracefully("simulated crash");
          await fw.engine.stop();
          const kept = fw.received;
          fw = fixwireInitiator(`${dir}/fw`, version, port);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(20_000) });
          assert.ok(fw.session.nextSenderSeqNum > seqBefore, "sequence numbers continued");
          // QuickFIX got every order once (those it had not read came as PossDup resends) ...
          const qfOrders = () =>
            new Set(
              qf.events.slice(qfFrom).filter(isAppIn("D")).map((e) => e.clordid!).filter((id) =>
                id.startsWith("c")
              ),
            );
          await until(
            () => qfOrders().size >= 3000,
            "QuickFIX to see every order",
            30_000,
            () => `${qfOrders().size} orders at QuickFIX\n${describe(fw)}`,
          );
          // ... and fixwire's application a report for each, a repeat only as a PossDup resend.
          const reports = () => withPrefix([...kept, ...fw.received], "c");
          await until(
            () => new Set(reports().map((m) => m.get(11))).size >= 3000,
            "a report for every order",
            30_000,
            () => `${new Set(reports().map((m) => m.get(11))).size} reports\n${describe(fw)}`,
          );
          const again = fw.received.filter((m) => kept.some((k) => k.get(11) === m.get(11)));
          assert.ok(again.every((m) => m.get(43) === "Y"), "repeats only as PossDup resends");
          fw.session.put(order("after-restart"));
          await until(
            () => fw.received.some((m) => m.get(11) === "after-restart"),
            "report after restart",
          );
        },
      );

      await t.step(
        "numbers set by hand: skipped ones are gap-filled, a Logon numbered too low is refused",
        async () => {
          // fixwire's next outgoing number moved 10 ahead while disconnected (an operator's
          // setSequenceNumbers): QuickFIX asks for the 10 it never got; fixwire never sent them
          // and fills the gap with a SequenceReset-GapFill; orders go on.
          await fw.session.disconnect("numbers by hand");
          await qf.waitFor((e) => e.ev === "logout", 5000, qf.events.length - 1);
          const skipFrom = fw.session.nextSenderSeqNum;
          await fw.session.setSequenceNumbers({ nextSenderSeqNum: skipFrom + 10 });
          let from = qf.events.length;
          fw.session.connect(30, "127.0.0.1", port);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          const asked = await qf.waitFor((e) => e.ev === "admin_out" && e.type === "2", 5000, from);
          assert.ok(asked, "QuickFIX asked for the skipped numbers");
          const filled = await qf.waitFor(
            (e) => e.ev === "admin_in" && e.type === "4" && e.gapfill === "Y",
            5000,
            from,
          );
          assert.equal(filled.seq, skipFrom);
          assert.ok(Number(filled.newseqno) >= skipFrom + 10, JSON.stringify(filled));
          const count = fw.received.length;
          fw.session.put(order("after-gap"));
          await until(() => fw.received.length > count, "the report after the gap");
          assert.equal(fw.received.at(-1)!.get(11), "after-gap");
          // fixwire's expected number moved 5 ahead: QuickFIX's Logon answer is numbered below
          // it, which ends the session with a Logout saying so (as QuickFIX itself does).
          await fw.session.disconnect("numbers by hand, again");
          await qf.waitFor((e) => e.ev === "logout", 5000, qf.events.length - 1);
          const expected = fw.session.nextTargetSeqNum;
          await fw.session.setSequenceNumbers({ nextTargetSeqNum: expected + 5 });
          from = qf.events.length;
          fw.session.connect(30, "127.0.0.1", port);
          const refused = await qf.waitFor(
            (e) => e.ev === "admin_in" && e.type === "5",
            10_000,
            from,
          );
          assert.equal(
            refused.text,
            `MsgSeqNum too low, expecting ${expected + 5} but received ${expected}`,
          );
          assert.ok(!fw.events.some((e) => e.type === "rejectSent"));
          // Set back by hand, the session logs on again and goes on.
          await fw.session.disconnect("set back");
          await fw.session.setSequenceNumbers({
            nextTargetSeqNum: fw.session.nextTargetSeqNum - 5,
          });
          fw.session.connect(30, "127.0.0.1", port);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          const before = fw.received.length;
          fw.session.put(order("realigned"));
          await until(() => fw.received.length > before, "the report after realigning");
        },
      );

      await t.step(
        "an intraday reset: a Logon with ResetSeqNumFlag while established, confirmed",
        async () => {
          const from = qf.events.length;
          await fw.session.resetSequenceNumbers({ signal: AbortSignal.timeout(10_000) });
          const ours = await qf.waitFor((e) => e.ev === "admin_in" && e.type === "A", 5000, from);
          assert.equal(ours.seq, 1);
          const theirs = await qf.waitFor(
            (e) => e.ev === "admin_out" && e.type === "A",
            5000,
            from,
          );
          assert.deepEqual([theirs.seq, theirs.reset], [1, "Y"]);
          assert.equal(fw.session.state, "established");
          assert.deepEqual([fw.session.nextSenderSeqNum, fw.session.nextTargetSeqNum], [2, 2]);
          const count = fw.received.length;
          fw.session.put(order("after-reset"));
          await until(() => fw.received.length > count, "the report after the reset");
          const report = fw.received.at(-1)!;
          assert.deepEqual([report.get(11), report.get(34)], ["after-reset", "2"]);
        },
      );

      await t.step(
        "an intraday reset with orders in flight both ways: each handled once, in its sequence",
        async () => {
          // fixwire's orders to QuickFIX and QuickFIX's own orders to fixwire (unanswered) stream
          // while fixwire resets: what either side sent before the other's reset Logon is
          // handled in the old numbers, what follows in the new.
          const from = qf.events.length;
          const seen = fw.received.length;
          for (let i = 1; i <= 2000; i++) fw.session.put(order(`I${i}`));
          await qf.send("orders 2000 J");
          const js = () => withPrefix(fw.received.slice(seen), "J");
          await until(() => js().length >= 100, "QuickFIX's orders coming in");
          await fw.session.resetSequenceNumbers({ signal: AbortSignal.timeout(20_000) });
          const is = () =>
            new Set(qf.events.slice(from).filter(isAppIn("D")).map((e) => e.clordid));
          await until(() => is().size === 2000 && js().length >= 2000, "every order both ways");
          assert.deepEqual(
            js().map((m) => m.get(11)),
            Array.from({ length: 2000 }, (_, i) => `J${i + 1}`),
          );
          assert.equal(qf.events.slice(from).filter(isAppIn("D")).length, 2000, "none twice");
          await until(
            () => withPrefix(fw.received.slice(seen), "I").length === 2000,
            "a report for each",
          );
          assert.equal(fw.session.state, "established");
          // QuickFIX answered the reset Logon once (fixwire's reset was confirmed by it): counted
          // once its line has been read.
          await qf.caughtUp();
          assert.equal(
            qf.events.slice(from).filter((e) => e.ev === "admin_out" && e.type === "A").length,
            1,
          );
        },
      );

      await t.step("ResetSeqNumFlag at logon resets both sides", async () => {
        await fw.session.disconnect("reset next");
        await fw.engine.stop();
        const from = qf.events.length;
        fw = fixwireInitiator(`${dir}/fw`, version, port, {
          config: { ForceSeqNumReset: "always" },
        });
        // Put before the Logon: renumbered after the reset and sent after the Logon answer.
        for (const id of ["late1", "late2", "late3"]) fw.session.put(order(id));
        await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
        const logon = await qf.waitFor((e) => e.ev === "admin_out" && e.type === "A", 5000, from);
        assert.equal(logon.seq, 1);
        assert.equal(logon.reset, "Y");
        await until(() => fw.received.length >= 3, "the reports of the late orders");
        await qf.caughtUp();
        assert.deepEqual(
          qf.events.slice(from).filter(isAppIn("D")).map((e) => [e.clordid, e.seq]),
          [["late1", 2], ["late2", 3], ["late3", 4]],
        );
        assert.equal(fw.session.nextTargetSeqNum, 5);
      });

      await t.step(
        "QuickFIX logs out in the middle of a burst: every order reaches it, every report comes",
        async () => {
          // fixwire's default: a correct termination makes the next Logon reset the numbers.
          await fw.engine.stop();
          fw = fixwireInitiator(`${dir}/fw`, version, port, {
            config: { IntradayLogoutTolerance: false },
          });
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          const burst = 5000;
          const from = qf.events.length;
          const fwFrom = fw.events.length;
          const seen = fw.received.length;
          const puts = [];
          for (let i = 1; i <= burst; i++) puts.push(fw.session.put(order(`b${i}`)));
          const ordersIn = () => qf.events.slice(from).filter(isAppIn("D")).length;
          await until(() => ordersIn() >= 100, "QuickFIX's 100th order");
          await qf.send("logout");
          // QuickFIX's application answers every order, also after its Logout; fixwire answers
          // the Logout after its orders and reads on until QuickFIX has read them and closes.
          await until(
            () => fw.events.slice(fwFrom).some((e) => e.type === "disconnected"),
            "the end of the link",
            30_000,
            () => describe(fw),
          );
          await Promise.all(puts);
          await qf.waitFor((e) => e.ev === "admin_in" && e.type === "5", 10_000, from);
          assert.equal(ordersIn(), burst, "QuickFIX read every order before our Logout");
          const ended = fw.events.findLast((e) => e.type === "disconnected");
          assert.ok(ended?.type === "disconnected" && ended.graceful, JSON.stringify(ended));
          // Its reports after its Logout were not handled: the numbers continue.
          await fw.session.disconnect();
          assert.equal(fw.session.state, "correctlyTerminated");
          assert.equal(fw.session.correctlyTerminated, false);
          const logoutSeq = qf.events.slice(from).find((e) =>
            e.ev === "admin_out" && e.type === "5"
          )!.seq!;
          assert.ok(
            qf.events.slice(from).some((e) => e.ev === "app_out" && e.seq! > logoutSeq),
            "QuickFIX sent reports after its Logout",
          );
          // QuickFIX keeps a session it logged out disabled: start it again; fixwire logs on
          // without a reset, asks for the reports it did not handle and gets them resent.
          await qf.stop();
          const restart = qf.events.length;
          await qf.start();
          await fw.session.connect(30, "127.0.0.1", port);
          const logon = await qf.waitFor(
            (e) => e.ev === "admin_in" && e.type === "A",
            15_000,
            restart,
          );
          assert.notEqual(logon.reset, "Y");
          const reports = () =>
            new Set(
              fw.received.slice(seen).map((m) => m.get(11)).filter((id) => id?.startsWith("b")),
            );
          await until(() => reports().size === burst, "every report", 30_000, () => describe(fw));
        },
      );

      await t.step("logout on both sides", async () => {
        const from = qf.events.length;
        await fw.session.disconnect("done");
        assert.equal(fw.session.state, "correctlyTerminated");
        await qf.waitFor((e) => e.ev === "logout", 5000, from);
      });

      await t.step("QuickFIX refuses a wrong password and unknown CompIDs", async () => {
        await fw.engine.stop();
        await qf.stop();
        // Password(554) is a Logon field from FIX.4.3 on: QuickFIX validating with the FIX.4.2
        // dictionary drops such a Logon unanswered (fixwire's Logon timeout), before its
        // application could check the password. A FIX.4.2 venue that wants one names its own tag
        // (fixwire's PasswordTag); this peer reads 554, so it runs without its dictionary here.
        const strict = new QuickFixPeer({
          ...qf.config,
          dir: `${dir}/qf-strict`,
          dictionary: begin !== "FIX.4.2",
        }, [
          "--expect-password",
          "right",
        ]);
        await strict.start();
        try {
          const bad = fixwireInitiator(`${dir}/fw-bad`, version, port, {
            config: { Password: "wrong", "Reconnect.MaxTries": 0 },
          });
          await bad.session.waitFor("nonGracefullyTerminated", {
            signal: AbortSignal.timeout(15_000),
          });
          const logout = bad.events.find((e) => e.type === "logout");
          assert.ok(logout && logout.type === "logout", JSON.stringify(bad.events));
          assert.match(logout.text ?? "", /Invalid password/);
          assert.ok(!strict.events.some((e) => e.ev === "logon"));
          await bad.engine.stop();
          const engine = new FixEngine({
            logger: new RecentLog(),
            config: { LogDirectory: `${dir}/fw-stranger`, "Reconnect.MaxTries": 0 },
          });
          const stranger = engine.createSession(new SessionId("STRANGER", "QF"), "", version);
          const events: SessionEvent[] = [];
          stranger.setListener({ onEvent: (e) => void events.push(e) });
          await stranger.connect(30, "127.0.0.1", port);
          await stranger.waitFor("nonGracefullyTerminated", {
            signal: AbortSignal.timeout(15_000),
          });
          assert.ok(!events.some((e) => e.type === "logon"));
          await until(() => events.some((e) => e.type === "reconnectFailed"), "giving up");
          await engine.stop();
        } finally {
          await strict.stop();
        }
      });

      await t.step(
        "no message rejected on either side (QuickFIX validating with its dictionary)",
        () => {
          assertNothingRejected(before);
        },
      );
    } finally {
      await fw.engine.stop();
      await qf.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`interop ${begin}: QuickFIX initiator, fixwire acceptor`, async (t) => {
    const dir = await Deno.makeTempDir();
    const before = { peers: QuickFixPeer.started.length, sides: SIDES.length };
    const mute = new MutingTransport();
    let fw = await fixwireAcceptor(`${dir}/fw`, version, { transport: mute });
    const port = fw.port;
    const qf = quickfix("initiator", begin as Begin, port, dir);
    try {
      await qf.start();
      await t.step("logon, 10,000 orders answered in order, checked on arrival", async () => {
        await qf.waitFor((e) => e.ev === "logon");
        await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
        await qf.send("orders 10000 q");
        await qf.waitForCount(isAppIn("8"), 10_000);
        const expected = Array.from({ length: 10_000 }, (_, i) => `q${i + 1}`);
        assert.deepEqual(fw.received.map((m) => m.get(11)), expected);
        assert.deepEqual(qf.events.filter(isAppIn("8")).map((e) => e.clordid), expected);
      });

      await t.step(
        "repeating groups both ways (nested from FIX.4.4 on), each side parsing by its dictionary",
        async () => {
          const from = qf.events.length;
          const seen = fw.received.length;
          await qf.send("group-orders 10 P");
          await qf.waitForCount(isAppIn("8"), 10_010);
          assert.deepEqual(
            fw.received.slice(seen).map((m) => [m.get(11), groupsText(version, m)]),
            Array.from({ length: 10 }, (_, i) => [`P${i + 1}`, orderGroupsText(version, i + 1)]),
          );
          assert.deepEqual(
            qf.events.slice(from).filter(isAppIn("8")).map((e) => [e.clordid, e.groups]),
            Array.from({ length: 10 }, (_, i) => [`P${i + 1}`, reportGroupsText(version, i + 1)]),
          );
        },
      );

      await t.step("a data field holding SOH, '=' and UTF-8 (EncodedText) both ways", async () => {
        const from = qf.events.length;
        const seen = fw.received.length;
        await qf.send("data-orders 3 X");
        await qf.waitForCount(isAppIn("8"), 10_013);
        assert.deepEqual(
          fw.received.slice(seen).map((m) => [m.get(11), m.get(354), m.get(355)]),
          ["X1", "X2", "X3"].map((id) => [id, "10", ENCODED_TEXT]),
        );
        assert.deepEqual(
          qf.events.slice(from).filter(isAppIn("8")).map((e) => [e.clordid, e.data]),
          ["X1", "X2", "X3"].map((id) => [id, ENCODED_TEXT_HEX]),
        );
      });

      await t.step(
        "an order lost on the way in is asked for again: each order delivered once, in order",
        async () => {
          mute.loseIn = firstOnly((m) => m.msgType === "D" && m.get(11) === "m3");
          const from = qf.events.length;
          const seen = fw.received.length;
          await qf.send("orders 6 m");
          await until(
            () => fw.received.length >= seen + 6,
            "the m orders",
            15_000,
            () => describe(fw),
          );
          mute.loseIn = undefined;
          assert.equal(mute.lost.length, 1);
          const got = fw.received.slice(seen);
          assert.deepEqual(got.map((m) => m.get(11)), ["m1", "m2", "m3", "m4", "m5", "m6"]);
          assert.equal(got[2].get(43), "Y", "m3 came again as a PossDup resend");
          const asked = await qf.waitFor((e) => e.ev === "admin_in" && e.type === "2", 5000, from);
          assert.ok(asked);
          await qf.waitForCount((e) => isAppIn("8")(e) && e.clordid!.startsWith("m"), 6);
          // An order after them comes after the whole resend: nothing came twice before it.
          await qf.send("orders 1 after-m");
          await until(() => fw.received.at(-1)?.get(11) === "after-m1", "the order after them");
          assert.equal(fw.received.length, seen + 7, "no order delivered twice");
        },
      );

      await t.step("QuickFIX killed mid-flow and restarted: gaps resent both ways", async () => {
        const seqs = () => fw.received.map((m) => m.get(34)!);
        const before = fw.received.length;
        await qf.send("orders 3000 p");
        await until(() => fw.received.length >= before + 300, "part of the burst");
        await qf.kill();
        await fw.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
        const restartAt = qf.events.length;
        await qf.start();
        await qf.waitFor((e) => e.ev === "logon", 20_000, restartAt);
        await fw.session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
        await qf.send("orders 10 z");
        await qf.waitForCount((e) => isAppIn("8")(e) && e.clordid!.startsWith("z"), 10);
        assert.ok(fw.received.some((m) => m.get(11) === "z10"));
        // fixwire delivered every QuickFIX message exactly once, by MsgSeqNum.
        assert.equal(new Set(seqs()).size, seqs().length, "a message was delivered twice");
        // QuickFIX's orders reached the application once each and in order, those it had
        // stored before the kill through the gap fixwire requested at the new Logon.
        const ps = fw.received.map((m) => m.get(11)!).filter((id) => id.startsWith("p"));
        assert.ok(ps.length >= 300, `${ps.length} orders`);
        const nums = ps.map((id) => Number(id.slice(1)));
        assert.ok(nums.every((n, i) => i === 0 || n > nums[i - 1]), "orders out of order");
        assert.equal(new Set(nums).size, nums.length, "an order was delivered twice");
        // Reports QuickFIX never read before the kill were requested and resent by fixwire.
        const requested = qf.events.slice(restartAt).some((e) =>
          e.ev === "admin_out" && e.type === "2"
        );
        const resent = qf.events.slice(restartAt).some((e) =>
          (e.ev === "app_in" && e.possdup) || (e.ev === "admin_in" && e.type === "4")
        );
        assert.ok(!requested || resent, "a ResendRequest was answered");
      });

      await t.step(
        "HeartBtInt 1 s over a quiet period, TestRequests; a frozen QuickFIX given up, then back",
        async () => {
          await qf.stop();
          const quiet = new QuickFixPeer({ ...qf.config, heartbeatSeconds: 1 });
          await quiet.start();
          try {
            await quiet.waitFor((e) => e.ev === "logon", 15_000);
            await fw.session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
            // The acceptor adopted HeartBtInt 1 s: Heartbeats flow both ways.
            await quiet.waitForCount((e) => e.ev === "admin_in" && e.type === "0", 2, 10_000);
            await quiet.waitForCount((e) => e.ev === "admin_out" && e.type === "0", 2, 10_000);
            await testRequestsBothWays(mute, quiet, fw);
            assert.equal(fw.session.state, "established");
            // QuickFIX frozen (SIGSTOP): fixwire's TestRequest goes unanswered and it drops the
            // link; resumed, QuickFIX finds it closed, logs on again, and orders go on.
            let thawed = 0;
            await frozenUntilGivenUp(quiet, fw, mute, () => {
              assert.equal(fw.session.state, "waitingForLogon");
              thawed = quiet.events.length; // nothing comes from the frozen process
            });
            await fw.session.waitFor("established", { signal: AbortSignal.timeout(30_000) });
            // The peer sends orders on the sessions it saw log on: wait for its own logon line.
            await quiet.waitFor((e) => e.ev === "logon", 30_000, thawed);
            const seen = fw.received.length;
            await quiet.send("orders 3 thaw");
            await until(() => fw.received.length >= seen + 3, "the orders after thawing");
            assert.deepEqual(fw.received.slice(seen).map((m) => m.get(11)), [
              "thaw1",
              "thaw2",
              "thaw3",
            ]);
          } finally {
            await quiet.stop();
          }
        },
      );

      await t.step("ResetSeqNumFlag at logon from QuickFIX resets fixwire", async () => {
        // Reports put while QuickFIX is away are renumbered after the reset and sent after the
        // Logon answer.
        ["late1", "late2", "late3"].forEach((id, i) =>
          fw.session.put(reportIn(version, order(id), 900 + i))
        );
        const reset = new QuickFixPeer({ ...qf.config, resetOnLogon: true });
        await reset.start();
        try {
          await reset.waitFor((e) => e.ev === "logon", 15_000);
          const answer = await reset.waitFor((e) => e.ev === "admin_in" && e.type === "A", 5000);
          assert.equal(answer.seq, 1);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
          await reset.waitForCount(isAppIn("8"), 3, 10_000);
          assert.deepEqual(
            reset.events.filter(isAppIn("8")).map((e) => [e.clordid, e.seq, e.possdup]),
            [["late1", 2, false], ["late2", 3, false], ["late3", 4, false]],
          );
          assert.equal(fw.session.nextTargetSeqNum, 2);
          assert.equal(fw.session.nextSenderSeqNum, 5);
        } finally {
          await reset.stop();
        }
        const from = qf.events.length;
        await qf.start();
        await qf.waitFor((e) => e.ev === "logon", 15_000, from);
      });

      await t.step(
        "fixwire stopped non-gracefully mid-flow and restarted: nothing lost",
        async () => {
          await qf.send("orders 3000 r");
          // Counted by ClOrdID: the earlier steps delivered a varying number of orders, and a
          // kill before QuickFIX has started the burst would leave it nothing to send.
          const rs = () => withPrefix(fw.received, "r").length;
          await until(() => rs() >= 300, "some of the burst");
          const restartAt = qf.events.length;
          await fw.session.disconnectNonGracefully("simulated crash");
          await fw.engine.stop();
          const kept = fw.received;
          fw = await fixwireAcceptor(`${dir}/fw`, version, { port });
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(20_000) });
          const missing = () => {
            const ids = new Set([...kept, ...fw.received].map((m) => m.get(11)));
            const lost: string[] = [];
            for (let i = 1; i <= 3000; i++) if (!ids.has(`r${i}`)) lost.push(`r${i}`);
            return lost;
          };
          await until(
            () => missing().length === 0,
            "every order across the restart",
            30_000,
            () => {
              const lost = missing();
              const qfAdmin = qf.events.slice(restartAt).filter((e) => e.ev.startsWith("admin"))
                .map((e) => `${e.ev}:${e.type}:${e.seq}${e.gapfill ? `>${e.newseqno}` : ""}`);
              return [
                `${lost.length} missing, first ${lost.slice(0, 5).join(" ")}`,
                `QuickFIX admin since the kill: ${qfAdmin.slice(-40).join(" ")}`,
                describe(fw),
              ].join("\n");
            },
          );
          const all = [...kept, ...fw.received].map((m) => m.get(11)!);
          for (let i = 1; i <= 3000; i++) assert.ok(all.includes(`r${i}`), `r${i} lost`);
          const again = fw.received.filter((m) => kept.some((k) => k.get(11) === m.get(11)));
          assert.ok(again.every((m) => m.get(43) === "Y"), "repeats only as PossDup resends");
          await qf.waitForCount((e) => isAppIn("8")(e) && e.clordid!.startsWith("r"), 3000);
        },
      );

      await t.step("logout on both sides", async () => {
        const from = qf.events.length;
        const fwFrom = fw.events.length;
        await qf.send("logout");
        await qf.waitFor((e) => e.ev === "logout", 10_000, from);
        await until(
          () => fw.events.slice(fwFrom).some((e) => e.type === "logout" && !e.initiatedByUs),
          "fixwire's logout event",
        );
        assert.ok(qf.events.slice(from).some((e) => e.ev === "admin_in" && e.type === "5"));
        assert.ok(
          fw.events.slice(fwFrom).some((e) =>
            e.type === "stateChanged" && e.to === "correctlyTerminated"
          ),
        );
      });

      await t.step(
        "SequenceReset-GapFill from QuickFIX when the resent range holds session messages",
        async () => {
          // QuickFIX stays logged out after its Logout: start it again.
          await qf.stop();
          const restart = qf.events.length;
          await qf.start();
          await qf.waitFor((e) => e.ev === "logon", 15_000, restart);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          await qf.send("orders 3 t");
          await until(() => fw.received.some((m) => m.get(11) === "t3"), "the t orders");
          const first = Number(fw.received.find((m) => m.get(11) === "t1")!.get(34));
          const from = qf.events.length;
          await qf.stop(); // QuickFIX logs out: its Logout follows the orders
          await fw.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
          // fixwire forgets what it received from the first order on: at the next Logon it
          // asks again, QuickFIX resends the orders and gap-fills its Logout and Logon.
          await fw.session.setSequenceNumbers({ nextTargetSeqNum: first });
          const seen = fw.received.length;
          await qf.start();
          await qf.waitFor((e) => e.ev === "admin_in" && e.type === "2", 15_000, from);
          await qf.waitFor(
            (e) => e.ev === "admin_out" && e.type === "4" && e.gapfill === "Y",
            15_000,
            from,
          );
          await until(() => fw.received.length >= seen + 3, "the resent orders");
          const again = fw.received.slice(seen);
          assert.deepEqual(again.map((m) => m.get(11)), ["t1", "t2", "t3"]);
          assert.ok(again.every((m) => m.get(43) === "Y"), "resent with PossDupFlag");
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
        },
      );

      await t.step(
        "a Logon numbered too low is refused with a Logout QuickFIX counts; logged on again after",
        async () => {
          await qf.stop();
          await fw.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
          // fixwire's expected number moved 5 ahead by hand: QuickFIX's next Logon is numbered
          // below it, and fixwire answers with a Logout saying so, as QuickFIX itself does.
          const expected = fw.session.nextTargetSeqNum;
          const sender = fw.session.nextSenderSeqNum;
          await fw.session.setSequenceNumbers({ nextTargetSeqNum: expected + 5 });
          let from = qf.events.length;
          await qf.start();
          const refused = await qf.waitFor(
            (e) => e.ev === "admin_in" && e.type === "5",
            15_000,
            from,
          );
          assert.equal(
            refused.text,
            `MsgSeqNum too low, expecting ${expected + 5} but received ${expected}`,
          );
          assert.equal(refused.seq, sender);
          assert.ok(!qf.events.slice(from).some((e) => e.ev === "logon"));
          await qf.stop();
          await fw.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(10_000) });
          assert.equal(fw.session.nextTargetSeqNum, expected + 5, "the refused Logon kept none");
          assert.equal(fw.session.nextSenderSeqNum, sender + 1, "our Logout took its number");
          // Set back by hand. QuickFIX counted our Logout, so our Logon answer must come with
          // the number after it (the same number again was "too low" there); QuickFIX's refused
          // Logon and its Logout used two of its numbers, which fixwire asks for and QuickFIX
          // gap-fills.
          await fw.session.setSequenceNumbers({ nextTargetSeqNum: expected });
          from = qf.events.length;
          await qf.start();
          await qf.waitFor((e) => e.ev === "logon", 15_000, from);
          const answer = await qf.waitFor(
            (e) => e.ev === "admin_in" && e.type === "A",
            5_000,
            from,
          );
          assert.equal(answer.seq, sender + 1);
          await qf.waitFor((e) => e.ev === "admin_in" && e.type === "2", 15_000, from);
          const filled = await qf.waitFor(
            (e) => e.ev === "admin_out" && e.type === "4",
            15_000,
            from,
          );
          assert.equal(filled.seq, expected);
          assert.equal(filled.gapfill, "Y");
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
          const seen = fw.received.length;
          await qf.send("orders 1 z");
          await until(() => fw.received.length > seen, "an order after logging on again");
          assert.equal(fw.received.at(-1)!.get(11), "z1");
          assert.ok(
            !qf.events.slice(from).some((e) => e.ev === "admin_out" && e.type === "5"),
            "QuickFIX did not log out",
          );
        },
      );

      await t.step(
        "a Logout right after a lost order: the gap is filled before the Logout is confirmed",
        async () => {
          // fixwire again on a transport that can lose a message on its way in.
          await qf.stop();
          await fw.engine.stop();
          const lossy = new MutingTransport();
          fw = await fixwireAcceptor(`${dir}/fw`, version, { port, transport: lossy });
          let from = qf.events.length;
          await qf.start();
          await qf.waitFor((e) => e.ev === "logon", 15_000, from);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          lossy.loseIn = firstOnly((m) => m.msgType === "D" && m.get(11) === "k2");
          from = qf.events.length;
          await qf.send("orders 3 k");
          await qf.send("logout");
          await qf.waitFor((e) => e.ev === "logout", 15_000, from);
          // The acceptor waits for the next Logon; the Logout was answered once the gap was
          // filled, and the session ended correctly.
          await fw.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(15_000) });
          const ended = fw.events.findLast((e) => e.type === "disconnected");
          assert.ok(ended?.type === "disconnected" && ended.graceful, JSON.stringify(ended));
          assert.equal(lossy.lost.length, 1);
          assert.deepEqual(fw.received.map((m) => m.get(11)), ["k1", "k2", "k3"]);
          assert.equal(fw.received[1].get(43), "Y", "k2 came again as a PossDup resend");
          const asked = qf.events.slice(from).findIndex((e) =>
            e.ev === "admin_in" && e.type === "2"
          );
          const ourLogout = qf.events.slice(from).findIndex((e) =>
            e.ev === "admin_in" && e.type === "5"
          );
          assert.ok(
            asked >= 0 && ourLogout > asked,
            "the gap was asked for before the Logout answer",
          );
          // QuickFIX got the reports too, the last ones before its Logout was confirmed.
          await qf.waitForCount((e) => isAppIn("8")(e) && e.clordid!.startsWith("k"), 3);
        },
      );

      await t.step(
        "fixwire logs out in the middle of a burst and works through it before the confirmation",
        async () => {
          // A LogoutTimeFrame of 1 s and a handler that takes longer than that for the burst:
          // the wait for QuickFIX's Logout answer restarts with each of its orders still coming.
          await qf.stop();
          await fw.engine.stop();
          fw = await fixwireAcceptor(`${dir}/fw`, version, {
            port,
            config: { LogoutTimeFrame: 1000 },
          });
          let from = qf.events.length;
          await qf.start();
          await qf.waitFor((e) => e.ev === "logon", 15_000, from);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          const burst = 1500;
          let n = 0;
          fw.hold = async (m) => {
            if (m.msgType !== "D") return;
            if (++n === 100) void fw.session.disconnect("mid-burst");
            await new Promise((r) => setTimeout(r, 1));
          };
          const fwFrom = fw.events.length;
          from = qf.events.length;
          await qf.send(`orders ${burst} u`);
          await fw.session.waitFor("waitingForLogon", { signal: AbortSignal.timeout(30_000) });
          fw.hold = undefined;
          const states = fw.events.slice(fwFrom).flatMap((e) =>
            e.type === "stateChanged" ? [e.to] : []
          );
          assert.deepEqual(
            states,
            ["waitingForConfirmLogout", "correctlyTerminated", "waitingForLogon"],
            describe(fw),
          );
          assert.deepEqual(
            fw.received.slice(-burst).map((m) => m.get(11)),
            Array.from({ length: burst }, (_, i) => `u${i + 1}`),
          );
          await qf.caughtUp();
          assert.ok(qf.events.slice(from).some((e) => e.ev === "admin_in" && e.type === "5"));
          // QuickFIX logs on again by itself and gets the reports put after our Logout, resent.
          await qf.waitFor((e) => e.ev === "logon", 15_000, from);
          await qf.waitForCount((e) => isAppIn("8")(e) && e.clordid!.startsWith("u"), burst);
        },
      );

      await t.step("a wrong password is refused with a Logout the peer sees", async () => {
        await fw.engine.stop();
        fw = await fixwireAcceptor(`${dir}/fw2`, version, {
          port,
          config: { "Session.FW/QF.Password": "right" },
        });
        const from = qf.events.length;
        await qf.stop();
        const bad = new QuickFixPeer({ ...qf.config, dir: `${dir}/qf-bad` }, [
          "--password",
          "wrong",
        ]);
        await bad.start();
        const logout = await bad.waitFor((e) => e.ev === "admin_in" && e.type === "5", 15_000);
        assert.match(logout.text ?? "", /Invalid username or password/);
        assert.equal(fw.session.nextTargetSeqNum, 1, "the store was not touched");
        await bad.stop();
        void from;
      });

      await t.step("unknown CompIDs are refused: no logon ever happens", async () => {
        const stranger = new QuickFixPeer({
          ...qf.config,
          senderCompId: "STRANGER",
          dir: `${dir}/qf-stranger`,
        });
        await stranger.start();
        // QuickFIX reports the dropped connection after its Logon as a logout.
        await stranger.waitFor((e) => e.ev === "logout", 15_000);
        assert.ok(stranger.events.some((e) => e.ev === "admin_out" && e.type === "A"));
        assert.ok(!stranger.events.some((e) => e.ev === "logon"));
        assert.equal(fw.engine.sessions.length, 1);
        await stranger.stop();
      });

      await t.step(
        "no message rejected on either side (QuickFIX validating with its dictionary)",
        () => {
          assertNothingRejected(before);
        },
      );
    } finally {
      await fw.engine.stop();
      await qf.stop();
      await Deno.remove(dir, { recursive: true });
    }
  });

  Deno.test(`interop ${begin}: a daily session ends, the next starts with fresh numbers`, async (t) => {
    const before = { peers: QuickFixPeer.started.length, sides: SIDES.length };

    await t.step(
      "fixwire initiator, QuickFIX acceptor: late orders go out in the new period",
      async () => {
        const dir = await Deno.makeTempDir();
        const w = dailyWindow();
        const port = freePort();
        const qf = quickfix("acceptor", begin as Begin, port, dir, { schedule: w.times });
        await qf.start();
        const fw = fixwireInitiator(`${dir}/fw`, version, port, { config: w.config });
        try {
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          for (let i = 1; i <= 100; i++) fw.session.put(order(`d${i}`));
          await until(() => fw.received.length === 100, "the day's reports", 10_000);
          await until(() => Date.now() >= w.endMs && fw.session.state !== "established", "the end");
          const ended = qf.events.length;
          // Put out of session: kept, renumbered by the new period's reset, sent after its Logon.
          for (let i = 1; i <= 20; i++) fw.session.put(order(`n${i}`));
          await until(
            () => fw.received.length === 120,
            "the new period's reports",
            15_000,
            () => describe(fw),
          );
          assert.ok(Date.now() >= w.startMs);
          await qf.caughtUp();
          const logon = qf.events.slice(ended).filter((e) => e.ev === "admin_in" && e.type === "A");
          assert.deepEqual(logon.map((e) => [e.seq, e.reset]), [[1, "Y"]]);
          assert.deepEqual(
            qf.events.slice(ended).filter(isAppIn("D")).map((e) => [e.clordid, e.seq, e.possdup]),
            Array.from({ length: 20 }, (_, i) => [`n${i + 1}`, i + 2, false]),
          );
          assert.equal(qf.events.filter(isAppIn("D")).length, 120, "each order once");
          assert.equal(
            new Set(fw.received.map((m) => m.get(11))).size,
            120,
          );
          assert.equal(fw.session.nextSenderSeqNum, 22);
          assert.equal(fw.session.nextTargetSeqNum, 22);
        } finally {
          await fw.engine.stop();
          await qf.stop();
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step(
      "QuickFIX initiator, fixwire acceptor: QuickFIX's confirmation of the announced reset is not a new reset",
      async () => {
        const dir = await Deno.makeTempDir();
        const w = dailyWindow();
        const fw = await fixwireAcceptor(`${dir}/fw`, version, { config: w.config });
        const qf = quickfix("initiator", begin as Begin, fw.port, dir, { schedule: w.times });
        try {
          await qf.start();
          // QuickFIX sends to the sessions it has seen log on.
          await qf.waitFor((e) => e.ev === "logon");
          await qf.send("orders 100 d");
          await qf.waitForCount(isAppIn("8"), 100, 10_000);
          await until(() => Date.now() >= w.endMs && fw.session.state !== "established", "the end");
          const ended = qf.events.length;
          const fwEnded = fw.events.length;
          await qf.waitFor((e) => e.ev === "logon", 15_000, ended);
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(5_000) });
          await qf.send("orders 20 n");
          await until(() => fw.received.filter((m) => m.msgType === "D").length === 120, "orders");
          await qf.waitForCount(isAppIn("8"), 120, 10_000);
          // fixwire announces the new period's numbers in its Logon answer; QuickFIX resets
          // and confirms with a Logon, which fixwire takes as such (answered, each side kept
          // confirming the other's reset: ten Logons each way, then "MsgSeqNum too low").
          // (QuickFIX's own period change before it also makes Logouts it cannot send.)
          const next = qf.events.findIndex((e, i) =>
            i >= ended && e.ev === "admin_out" && e.type === "A"
          );
          const logons = qf.events.slice(next).filter((e) => e.type === "A");
          assert.deepEqual(
            logons.map((e) => [e.ev, e.seq, e.reset]),
            [["admin_out", 1, ""], ["admin_in", 1, "Y"], ["admin_out", 1, "Y"]],
          );
          assert.equal(fw.events.slice(fwEnded).filter((e) => e.type === "logon").length, 1);
          assert.ok(!qf.events.slice(next).some((e) => e.type === "5"), "no Logout");
          assert.deepEqual(
            qf.events.slice(ended).filter(isAppIn("8")).map((e) => [e.clordid, e.seq]),
            Array.from({ length: 20 }, (_, i) => [`n${i + 1}`, i + 2]),
          );
          assert.equal(fw.session.nextSenderSeqNum, 22);
          assert.equal(fw.session.nextTargetSeqNum, 22);
        } finally {
          await fw.engine.stop();
          await qf.stop();
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step("no message rejected on either side", () => assertNothingRejected(before));
  });
}

/** The versions the suites above leave out, run in one shorter suite each. */
const OTHER_VERSIONS = [
  ["FIX.4.0", FIXVersion.FIX40],
  ["FIX.4.1", FIXVersion.FIX41],
  ["FIX.4.3", FIXVersion.FIX43],
] as const;

for (const [begin, version] of OTHER_VERSIONS) {
  Deno.test(`interop ${begin}: both ways, QuickFIX killed and fixwire crashed mid-flow`, async (t) => {
    // Each side validating with its dictionary: FIX.4.0 and 4.1 with whole-second SendingTimes
    // and ExecutionReports with ExecTransType and LastShares (FIX.4.0 without ResetSeqNumFlag);
    // FIX.4.3, between 4.2 and 4.4.
    const before = { peers: QuickFixPeer.started.length, sides: SIDES.length };

    await t.step(
      "fixwire initiator, QuickFIX acceptor: gap resent, heartbeats at 1 s",
      async () => {
        const dir = await Deno.makeTempDir();
        const port = freePort();
        const qf = quickfix("acceptor", begin, port, dir, { heartbeatSeconds: 1 });
        await qf.start();
        const fw = fixwireInitiator(`${dir}/fw`, version, port, { hb: 1 });
        try {
          await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
          for (let i = 1; i <= 2000; i++) fw.session.put(orderIn(version, `k${i}`));
          await qf.waitForCount(isAppIn("D"), 300);
          await qf.kill();
          await qf.start();
          const seen = () => new Set(qf.events.filter(isAppIn("D")).map((e) => e.clordid)).size;
          const reports = () => new Set(fw.received.map((m) => m.get(11))).size;
          await until(
            () => seen() === 2000 && reports() === 2000,
            "every order and report",
            30_000,
            () => describe(fw),
          );
          assert.ok(
            qf.events.some((e) => e.ev === "admin_out" && e.type === "2"),
            "a resend asked",
          );
          // A quiet period: Heartbeats each way every second, nobody logs out.
          const quiet = qf.events.length;
          const beats = (ev: string) =>
            qf.events.slice(quiet).filter((e) => e.ev === ev && e.type === "0").length;
          await until(
            () => beats("admin_in") >= 2 && beats("admin_out") >= 2,
            "heartbeats",
            10_000,
          );
          assert.ok(!qf.events.slice(quiet).some((e) => e.ev === "logout"));
          await fw.session.disconnect("done");
          assert.equal(fw.session.state, "correctlyTerminated");
        } finally {
          await fw.engine.stop();
          await qf.stop();
          await Deno.remove(dir, { recursive: true });
        }
      },
    );

    await t.step("QuickFIX initiator, fixwire acceptor: fixwire crashes and restarts", async () => {
      const dir = await Deno.makeTempDir();
      let fw = await fixwireAcceptor(`${dir}/fw`, version);
      const port = fw.port;
      const qf = quickfix("initiator", begin, port, dir);
      try {
        await qf.start();
        await qf.waitFor((e) => e.ev === "logon");
        await qf.send("orders 2000 q");
        await until(() => fw.received.length >= 300, "part of the orders");
        await fw.session.disconnectNonGracefully("simulated crash");
        await fw.engine.stop();
        const kept = fw.received;
        fw = await fixwireAcceptor(`${dir}/fw`, version, { port });
        const all = () => [...kept, ...fw.received];
        const reports = () => new Set(qf.events.filter(isAppIn("8")).map((e) => e.clordid)).size;
        await until(
          () => new Set(all().map((m) => m.get(11))).size === 2000 && reports() === 2000,
          "every order and report across the crash",
          30_000,
          () => describe(fw),
        );
        const again = fw.received.filter((m) => kept.some((k) => k.get(11) === m.get(11)));
        assert.ok(again.every((m) => m.get(43) === "Y"), "repeats only as PossDup resends");
      } finally {
        await fw.engine.stop();
        await qf.stop();
        await Deno.remove(dir, { recursive: true });
      }
    });

    await t.step("no message rejected on either side", () => assertNothingRejected(before));
  });
}

Deno.test("interop TLS: fixwire initiator over TLS to a QuickFIX SSL acceptor", async () => {
  const dir = await Deno.makeTempDir();
  const port = freePort();
  const qf = quickfix("acceptor", "FIX.4.4", port, dir, {
    ssl: { cert: `${fixtures}server.pem`, key: `${fixtures}server.key` },
  });
  await qf.start();
  const fw = fixwireInitiator(`${dir}/fw`, FIXVersion.FIX44, port, {
    transport: new TlsTransport({
      caCerts: [Deno.readTextFileSync(`${fixtures}ca.pem`)],
      hostname: "localhost",
    }),
  });
  try {
    await fw.session.waitFor("established", { signal: AbortSignal.timeout(15_000) });
    for (let i = 1; i <= 20_000; i++) fw.session.put(order(`t${i}`));
    await until(() => fw.received.length >= 20_000, "20,000 reports over TLS");
    assert.deepEqual(
      fw.received.map((m) => m.get(11)),
      Array.from({ length: 20_000 }, (_, i) => `t${i + 1}`),
    );
    await fw.session.disconnect("done");
  } finally {
    await fw.engine.stop();
    await qf.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop TLS: QuickFIX SSL initiator to a fixwire TLS acceptor", async () => {
  const dir = await Deno.makeTempDir();
  const fw = await fixwireAcceptor(`${dir}/fw`, FIXVersion.FIX44, {
    transport: new TlsTransport({
      cert: Deno.readTextFileSync(`${fixtures}server.pem`),
      key: Deno.readTextFileSync(`${fixtures}server.key`),
    }),
  });
  const qf = quickfix("initiator", "FIX.4.4", fw.port, dir, { ssl: { ca: `${fixtures}ca.pem` } });
  try {
    await qf.start();
    await qf.waitFor((e) => e.ev === "logon", 15_000);
    await qf.send("orders 20000 s");
    await qf.waitForCount(isAppIn("8"), 20_000);
    assert.equal(fw.received.length, 20_000);
  } finally {
    await qf.stop();
    await fw.engine.stop();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("interop FIX.4.4: 20 QuickFIX sessions into one engine that creates them, crashed and restarted mid-flow", async () => {
  // One QuickFIX process, one initiator session per CompID, into one fixwire engine whose
  // SessionsManager creates each acceptor session at its first Logon. fixwire "crashes"
  // (every link dropped, the engine stopped) a quarter of the way through 20 x 500 orders and
  // starts again from its file stores; QuickFIX logs each session on again.
  const K = 20, N = 500;
  const dir = await Deno.makeTempDir();
  const got = new Map<string, FixMessage[]>();
  const rejects: SessionEvent[] = [];
  const log = new RecentLog();
  const start = async (port: number) => {
    const engine: FixEngine = new FixEngine({
      logger: log,
      config: {
        LogDirectory: `${dir}/fw`,
        ListenPort: port,
        ListenAddress: "127.0.0.1",
        CreateUnregisteredAcceptorSession: true,
        IntradayLogoutTolerance: true,
      },
      sessionsManager: {
        onUnregisteredAcceptor: ({ sessionId }) => {
          const received = got.get(sessionId.target) ?? [];
          got.set(sessionId.target, received);
          let n = 0;
          return {
            accept: true,
            listener: {
              onMessage: (m) => {
                received.push(m);
                const session = engine.sessions.find((s) => s.id.equals(sessionId))!;
                session.put(reportIn(FIXVersion.FIX44, m, ++n));
              },
              onEvent: (e) => {
                if (e.type === "rejectSent" || e.type === "rejectReceived") rejects.push(e);
              },
            },
          };
        },
      },
    });
    await engine.start();
    return engine;
  };
  let engine = await start(0);
  const port = engine.listenAddresses[0].port;
  const names = Array.from({ length: K }, (_, i) => `QF${i + 1}`);
  const qf = new QuickFixPeer({
    role: "initiator",
    beginString: "FIX.4.4",
    senderCompId: names[0],
    targetCompId: "FW",
    port,
    dir: `${dir}/qf`,
    dictionary: true,
    moreSessions: names.slice(1).map((senderCompId) => ({ senderCompId, targetCompId: "FW" })),
  });
  const handled = () => [...got.values()].reduce((sum, ms) => sum + ms.length, 0);
  const distinct = (ms: FixMessage[]) => new Set(ms.map((m) => m.get(11))).size;
  try {
    await qf.start();
    await qf.waitForCount((e) => e.ev === "logon", K, 20_000);
    await qf.send(`orders ${N} q`);
    await until(() => handled() >= K * N / 4, "a quarter of the orders");
    for (const session of engine.sessions) await session.disconnectNonGracefully("crash");
    await engine.stop();
    engine = await start(port);
    await until(
      () => [...got.values()].every((ms) => distinct(ms) === N) && got.size === K,
      "every order on every session",
      60_000,
      () => log.lines.slice(-20).join("\n"),
    );
    for (const [name, ms] of got) {
      const seqs = ms.map((m) => m.get(34));
      assert.equal(new Set(seqs).size, seqs.length, `${name}: a message delivered twice`);
      const ids = ms.map((m) => m.get(11)!);
      // In order per session: what came after the crash was resent, in order, from where it left.
      assert.deepEqual(ids, Array.from({ length: N }, (_, i) => `q${i + 1}`), name);
    }
    assert.ok(
      [...got.values()].some((ms) => ms.some((m) => m.get(43) === "Y")),
      "some orders came by resend",
    );
    const reports = new Map<string, Set<string>>();
    await until(
      () => {
        reports.clear();
        for (const e of qf.events.filter(isAppIn("8"))) {
          reports.set(e.session!, (reports.get(e.session!) ?? new Set()).add(e.clordid!));
        }
        return reports.size === K && [...reports.values()].every((ids) => ids.size === N);
      },
      "every report on every session",
    );
    assertNothingRejected({ peers: QuickFixPeer.started.indexOf(qf), sides: SIDES.length });
    assert.deepEqual(rejects, []);
  } finally {
    await engine.stop();
    await qf.stop();
    await Deno.remove(dir, { recursive: true });
  }
});
