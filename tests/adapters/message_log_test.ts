import assert from "node:assert/strict";
import { FileMessageLogFactory } from "../../adapters/message_log.ts";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { SessionId } from "../../src/session_id.ts";
import { MemoryTransport } from "../../src/testing.ts";
import { timeout } from "../engine/_waits.ts";

const msg = (s: string) => new TextEncoder().encode(s.replaceAll("|", "\x01"));
const DAY1 = Date.UTC(2026, 11, 5, 23, 59, 59, 500);
const DAY2 = Date.UTC(2026, 11, 6, 0, 0, 0, 1);

Deno.test("message log: one line per message with time and direction, rotated by day and size", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const log = await new FileMessageLogFactory({ directory: dir, maxBytes: 200, flushBytes: 1 })
      .open(new SessionId("A", "B"));
    log.append("in", DAY1, msg("8=FIX.4.4|9=5|35=0|10=000|"));
    log.append("out", DAY1, msg("8=FIX.4.4|9=5|35=0|10=001|"));
    await log.flush();
    log.append("out", DAY2, msg("8=FIX.4.4|9=5|35=1|10=002|"));
    await log.flush();
    for (let i = 0; i < 6; i++) log.append("in", DAY2, msg(`8=FIX.4.4|9=5|35=0|34=${i}|10=003|`));
    await log.flush();
    log.append("in", DAY2, msg("8=FIX.4.4|9=5|35=5|10=004|"));
    await log.close();
    const folder = `${dir}/A-B`;
    const names = [...Deno.readDirSync(folder)].map((e) => e.name).sort();
    assert.deepEqual(names, [
      "messages.20261205.log",
      "messages.20261206-1.log",
      "messages.20261206.log",
      "messages.log",
    ]);
    assert.equal(
      await Deno.readTextFile(`${folder}/messages.20261205.log`),
      "2026-12-05T23:59:59.500Z IN  8=FIX.4.4|9=5|35=0|10=000|\n" +
        "2026-12-05T23:59:59.500Z OUT 8=FIX.4.4|9=5|35=0|10=001|\n",
    );
    // Past 200 bytes, the file is moved aside before the next batch (a batch is never split).
    const day2 = await Deno.readTextFile(`${folder}/messages.20261206.log`);
    assert.match(day2, /^2026-12-06T00:00:00.001Z OUT 8=FIX.4.4\|9=5\|35=1\|10=002\|\n$/);
    const second = await Deno.readTextFile(`${folder}/messages.20261206-1.log`);
    assert.equal(second.split("\n").length - 1, 6);
    const current = await Deno.readTextFile(`${folder}/messages.log`);
    assert.match(current, /^2026-12-06T00:00:00.001Z IN {2}8=FIX.4.4\|9=5\|35=5\|10=004\|\n$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("message log: on by default beside the file store, credentials masked; MessageLog=false turns it off", async () => {
  const dir = await Deno.makeTempDir();
  const transport = new MemoryTransport();
  try {
    for (const on of [true, false]) {
      const root = `${dir}/${on}`;
      const venue = new FixEngine({
        transport,
        config: {
          ListenPort: 0,
          ListenAddress: "127.0.0.1",
          LogDirectory: `${root}/v`,
          Password: "pw-secret",
          MessageLog: on,
          LogLevel: "off",
        },
      });
      const trader = new FixEngine({
        transport,
        config: {
          LogDirectory: `${root}/t`,
          Password: "pw-secret",
          MessageLog: on,
          LogLevel: "off",
        },
      });
      const v = venue.createSession(new SessionId("V", "T"), "", FIXVersion.FIX44);
      await v.connect();
      const t = trader.createSession(new SessionId("T", "V"), "", FIXVersion.FIX44);
      await t.connect(30, "127.0.0.1", venue.listenAddresses[0].port);
      await t.waitFor("established", timeout());
      await t.put(new FixMessage("B").set(148, "news").set(33, 1).set(58, "line"));
      await t.disconnect("bye");
      await trader.stop();
      await venue.stop();
      const path = `${root}/v/V-T/messages.log`;
      if (!on) {
        await assert.rejects(Deno.stat(path), Deno.errors.NotFound);
        continue;
      }
      const lines = (await Deno.readTextFile(path)).trim().split("\n");
      assert.deepEqual(
        lines.map((l) => `${l.slice(25, 28)} ${l.match(/\|35=(\w+)\|/)?.[1]}`),
        ["IN  A", "OUT A", "IN  B", "IN  5", "OUT 5"],
      );
      assert.ok(!lines.join("\n").includes("pw-secret"));
      assert.match(lines[0], /\|554=\*+\|/);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
