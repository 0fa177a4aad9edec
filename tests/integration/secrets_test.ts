// Secrets stay secret: after a refused and an accepted Logon over real TCP with the default file
// store and the inbound log on, no byte the engine wrote (store files, log lines, events) holds
// a password, the accepted one or the refused one.
import assert from "node:assert/strict";
import { FixEngine } from "../../src/engine/fix_engine.ts";
import { FIXVersion } from "../../src/engine/fix_version.ts";
import { lineLogger } from "../../src/logger.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import type { SessionEvent } from "../../src/session/events.ts";
import { SessionId } from "../../src/session_id.ts";
import { timeout } from "../engine/_waits.ts";

const RIGHT = "S3cr3t-p4ss";
const WRONG = "Wr0ng-s3cret";

async function filesUnder(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(dir)) {
    const path = `${dir}/${e.name}`;
    if (e.isDirectory) out.push(...await filesUnder(path));
    else if (e.isFile) out.push(path);
  }
  return out;
}

Deno.test("no password reaches a store file, a log line or an event", async () => {
  const dir = await Deno.makeTempDir();
  const lines: string[] = [];
  const logger = lineLogger((l) => lines.push(l), "debug");
  const events: SessionEvent[] = [];
  const common = { InLogEnabled: true, HeartbeatInterval: 30 };
  const venueEngine = new FixEngine({
    logger,
    config: {
      ListenPort: 0,
      ListenAddress: "127.0.0.1",
      LogDirectory: `${dir}/venue`,
      Username: "trader",
      Password: RIGHT,
      ...common,
    },
  });
  const engines: FixEngine[] = [venueEngine];
  try {
    const venue = venueEngine.createSession(new SessionId("VENUE", "TRADER"), "", FIXVersion.FIX44);
    venue.setListener({
      onEvent: (e) => events.push(e),
      onMessage: (m) => venue.put(new FixMessage("8").set(11, m.get(11)!)),
    });
    await venue.connect();
    const port = venueEngine.listenAddresses[0].port;
    for (const [password, ok] of [[WRONG, false], [RIGHT, true]] as const) {
      const engine = new FixEngine({
        logger,
        config: {
          LogDirectory: `${dir}/trader-${ok}`,
          Username: "trader",
          Password: password,
          "Reconnect.MaxTries": 0,
          ...common,
        },
      });
      engines.push(engine);
      const trader = engine.createSession(new SessionId("TRADER", "VENUE"), "", FIXVersion.FIX44);
      trader.setListener({ onEvent: (e) => events.push(e) });
      await trader.connect(undefined, "127.0.0.1", port);
      if (!ok) {
        await assert.rejects(trader.waitFor("established", timeout()));
        continue;
      }
      await trader.waitFor("established", timeout());
      await trader.put(new FixMessage("D").set(11, "o1"));
      await trader.disconnect("done");
    }
  } finally {
    for (const e of engines) await e.stop();
  }
  try {
    const written: string[] = [
      ...lines,
      JSON.stringify(events, (_k, v) => v instanceof FixMessage ? v.toString() : v),
    ];
    const files = await filesUnder(dir);
    assert.ok(files.some((f) => f.includes("incoming")), `inbound logs written: ${files}`);
    for (const f of files) written.push(new TextDecoder().decode(await Deno.readFile(f)));
    for (const secret of [RIGHT, WRONG]) {
      const where = written.filter((w) => w.includes(secret)).map((w) => w.slice(0, 120));
      assert.deepEqual(where, [], `"${secret}" was written`);
    }
    // The Logons were logged, masked.
    assert.ok(written.some((w) => /554=\*+/.test(w)), "a masked Password in the inbound log");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
