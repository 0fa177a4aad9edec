// Every FIX version end to end over TCP with default validation: Logon, one application
// message each way delivered to the listeners, Logout.
import assert from "node:assert/strict";
import { beginStringOf, FIXVersion } from "../../src/engine/fix_version.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { nextEvent, timeout } from "../engine/_waits.ts";
import { setup } from "./_setup.ts";

/** Major*10+minor of the application version: 40..44, 50 for every FIX.5.0 flavour. */
function level(v: FIXVersion): number {
  const m = /^FIX\.(\d)\.(\d)/.exec(v)!;
  return Number(m[1]) * 10 + Number(m[2]);
}

/** A NewOrderSingle with the fields the version's dictionary requires. */
function newOrder(v: FIXVersion): FixMessage {
  const m = new FixMessage("D").set(11, "ord-1").set(21, "1").set(55, "X").set(54, "1");
  if (level(v) >= 42) m.set(60, "20261124-10:00:00.000");
  return m.set(38, 100).set(40, "1");
}

/** An ExecutionReport with the fields the version's dictionary requires. */
function execReport(v: FIXVersion, o: FixMessage): FixMessage {
  const l = level(v);
  const m = new FixMessage("8").set(37, "order-1").set(11, o.get(11)!);
  m.set(17, l === 40 ? "1" : "exec-1"); // ExecID is an INT in FIX.4.0
  if (l <= 42) m.set(20, "0"); // ExecTransType
  if (l >= 41) m.set(150, "0"); // ExecType
  m.set(39, "0").set(55, "X").set(54, "1");
  if (l <= 41) m.set(38, 100).set(32, 0).set(31, 0);
  if (l >= 41) m.set(151, 100);
  return m.set(14, 0).set(6, 0);
}

function describe(e: SessionEvent): string {
  if (e.type === "rejectSent") return `Reject sent: ${e.text}`;
  if (e.type === "rejectReceived") return `Reject received: ${e.message.get(58)}`;
  return e.type;
}

for (const version of Object.values(FIXVersion)) {
  Deno.test(`versions: ${version} logs on, delivers a message each way, logs out`, async () => {
    const s = await setup({
      version,
      report: (o) => execReport(version, o),
      traderConfig: { "Reconnect.MaxTries": 0 },
    });
    const problems: SessionEvent[] = [];
    const rejected = Promise.withResolvers<void>();
    const watch = (e: SessionEvent) => {
      if (e.type !== "rejectSent" && e.type !== "rejectReceived") return;
      problems.push(e);
      rejected.resolve();
    };
    s.venue.setListener({ ...s.venue.listener, onEvent: watch });
    s.trader.setListener({ ...s.trader.listener, onEvent: watch });
    try {
      const refused = nextEvent(s.trader, "disconnected", timeout());
      await s.trader.connect(30, "127.0.0.1", s.port);
      const logon = await Promise.race([
        s.trader.waitFor("established", timeout()).then(() => "established"),
        refused.then((e) => `Logon refused: ${e.reason}`),
      ]);
      assert.equal(logon, "established", `${version} Logon`);
      await s.trader.put(newOrder(version));
      // Both listeners get their message unless a Reject comes instead: wait for either.
      await Promise.race([s.reports.waitFor(1, timeout()), rejected.promise]);
      assert.deepEqual(problems.map(describe), [], `no Reject in ${version}`);
      const order = s.orders.messages[0];
      const report = s.reports.messages[0];
      assert.equal(order.get(8), beginStringOf(version));
      assert.equal(order.get(11), "ord-1");
      assert.equal(report.get(11), "ord-1");
      assert.equal(report.msgType, "8");
      await s.trader.disconnect("done");
      assert.equal(s.trader.state, "correctlyTerminated");
      await s.venue.waitFor("waitingForLogon", timeout());
    } finally {
      await s.close();
    }
  });
}
