import assert from "node:assert/strict";
import { FixEngine } from "../src/engine/fix_engine.ts";
import { lineLogger, type Logger, maskSecrets } from "../src/logger.ts";

Deno.test("lineLogger writes an ISO timestamp, the level, the session and masked fields", () => {
  const lines: string[] = [];
  const log = lineLogger((l) => lines.push(l), "info", { now: () => Date.UTC(2026, 11, 6, 9, 30) });
  log.debug("hidden");
  log.info("Logon refused", { session: "A->B", logon: "8=FIX.4.4\x01554=hunter2\x01" });
  log.warn("plain");
  assert.deepEqual(lines, [
    '2026-12-06T09:30:00.000Z INFO [A->B] Logon refused {"logon":"8=FIX.4.4\\u0001554=***\\u0001"}',
    "2026-12-06T09:30:00.000Z WARN plain",
  ]);
});

Deno.test("lineLogger at off writes nothing", () => {
  const lines: string[] = [];
  const log = lineLogger((l) => lines.push(l), "off");
  log.error("nothing");
  assert.deepEqual(lines, []);
});

Deno.test("maskSecrets masks usernames, passwords and the FIX.5.0 password fields", () => {
  assert.equal(
    maskSecrets("553=bob|554=pw|925=new|1400=e|1402=x|58=ok|"),
    "553=***|554=***|925=***|1400=***|1402=***|58=ok|",
  );
});

Deno.test("unknown configuration keys reach the engine's logger, also the default one", () => {
  const lines: string[] = [];
  const logger: Logger = {
    debug: () => {},
    info: () => {},
    warn: (m, f) => lines.push(`${m} ${JSON.stringify(f)}`),
    error: () => {},
  };
  new FixEngine({ logger, config: { ListenPortt: 9000 } });
  assert.equal(lines.length, 1);
  assert.match(lines[0], /ListenPortt/);
});

Deno.test("the default logger writes timestamped lines to stderr, unknown keys included", async () => {
  const mod = new URL("../mod.ts", import.meta.url).href;
  const code = `import { FixEngine } from "${mod}";
    await using engine = new FixEngine({ config: { ListenPortt: 9000 } });`;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["eval", "--no-check", code],
    env: { FIXWIRE_LOG_LEVEL: "" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const err = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, err);
  assert.match(err, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z WARN .*ListenPortt/m);
});
