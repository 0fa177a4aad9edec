import assert from "node:assert/strict";
import { ConfigError, parseProperties } from "../../src/config/properties.ts";
import { Configuration } from "../../src/config/resolve.ts";
import { DEFAULT_SESSION_SETTINGS } from "../../src/config/settings.ts";
import type { Logger } from "../../src/logger.ts";

function capture(): { logger: Logger; warnings: unknown[] } {
  const warnings: unknown[] = [];
  const noop = () => {};
  return {
    warnings,
    logger: { debug: noop, info: noop, error: noop, warn: (m, f) => warnings.push([m, f]) },
  };
}

Deno.test("properties syntax: separators, comments, continuation, escapes, line numbers", () => {
  const text = [
    "# comment",
    "! also a comment",
    "",
    "a=1",
    "b : two words ",
    "c three",
    "  d=\\",
    "    continued",
    "e=tab\\there\\u0041",
    "f\\=g=h",
  ].join("\n");
  assert.deepEqual(parseProperties(text), [
    { key: "a", value: "1", line: 4 },
    { key: "b", value: "two words", line: 5 },
    { key: "c", value: "three", line: 6 },
    { key: "d", value: "continued", line: 7 },
    { key: "e", value: "tab\thereA", line: 9 },
    { key: "f=g", value: "h", line: 10 },
  ]);
});

Deno.test("configuration parses every key type", () => {
  const cfg = Configuration.fromText([
    "ListenPort=8901, 8902",
    "StorageSyncMode=batch",
    "CreateUnregisteredAcceptorSession=yes",
    "Reconnect.MaxTries=-1",
    "ForceSeqNumReset=true",
    "AllowedSourceAddresses=10.0.0.1, 10.0.0.2",
    "Validation.VerifyTagsValues=N",
    "Validation.VerifyTagsFormat=N",
    "Validation.VerifyTagsEnumerations=Y",
    "Validation.ProhibitDelimiterInValues=N",
    "Validation.VerifyMsgType=N",
    "LateDelivery=queue",
    "TimestampsPrecision=us",
  ].join("\n"));
  const e = cfg.engineSettings();
  assert.deepEqual(e.listenPorts, [8901, 8902]);
  assert.equal(e.storageSyncMode, "batch");
  assert.equal(e.createUnregisteredAcceptorSession, true);
  const s = cfg.sessionSettings("A", "B");
  assert.equal(s.reconnectMaxTries, -1);
  assert.equal(s.forceSeqNumReset, "always");
  assert.deepEqual(s.allowedSourceAddresses, ["10.0.0.1", "10.0.0.2"]);
  assert.equal(s.validation.verifyTagsValues, false);
  assert.equal(s.validation.checkRequiredTags, true);
  assert.equal(s.validation.verifyTagsFormat, false);
  assert.equal(s.validation.verifyTagsEnumerations, true);
  assert.equal(s.validation.prohibitDelimiterInValues, false);
  assert.equal(s.validation.verifyMsgType, false);
  assert.equal(s.lateDelivery, "queue");
  assert.throws(
    () => Configuration.fromText("LateDelivery=later").sessionSettings("A", "B"),
    /Invalid value "later" for key "LateDelivery" at <config>:1: expected one of resend, queue/,
  );
  assert.equal(s.timestampPrecision, "us");
});

Deno.test("a bad value names the key, the value and the file line", () => {
  const cases: [string, RegExp][] = [
    [
      "x=1\nReconnect.MaxTries=abc",
      /"abc" for key "Reconnect.MaxTries" at engine.properties:2: expected an integer/,
    ],
    [
      "ListenPort=70000",
      /"70000" for key "ListenPort" at engine.properties:1: expected an integer from 0 to 65535/,
    ],
    [
      "Session.A/B.IntradayLogoutTolerance=maybe",
      /key "Session.A\/B.IntradayLogoutTolerance" at engine.properties:1: expected true or false/,
    ],
    ["ForceSeqNumReset=sometimes", /expected one of never, first, always/],
  ];
  for (const [text, re] of cases) {
    assert.throws(() => Configuration.fromText(text, { fileName: "engine.properties" }), (e) => {
      assert.ok(e instanceof ConfigError);
      assert.match(e.message, re);
      return true;
    });
  }
});

Deno.test("unknown keys are warned about once each, with their line", () => {
  const { logger, warnings } = capture();
  Configuration.fromText("Bogus=1\nListenPort=1\nSession.A/B.Nope=2", { fileName: "f", logger });
  assert.deepEqual(warnings, [
    ["unknown configuration key ignored", { key: "Bogus", file: "f", line: 1 }],
    ["unknown configuration key ignored", { key: "Session.A/B.Nope", file: "f", line: 3 }],
  ]);
});

Deno.test("precedence: code, session-specific, Session.Default, top level, built-in", () => {
  const cfg = Configuration.fromText([
    "HeartbeatInterval=40",
    "Session.Default.HeartbeatInterval=50",
    "Session.TEST2/TEST1.HeartbeatInterval=60",
    "LogonTimeFrame=1000",
    "Session.Default.LogoutTimeFrame=2000",
  ].join("\n"));
  assert.equal(cfg.sessionSettings("TEST2", "TEST1").heartbeatIntervalSeconds, 60);
  assert.equal(
    cfg.sessionSettings("TEST2", "TEST1", undefined, { heartbeatIntervalSeconds: 5 })
      .heartbeatIntervalSeconds,
    5,
  );
  assert.equal(cfg.sessionSettings("OTHER", "X").heartbeatIntervalSeconds, 50);
  assert.equal(cfg.sessionSettings("OTHER", "X").logonTimeoutMs, 1000);
  assert.equal(cfg.sessionSettings("OTHER", "X").logoutTimeoutMs, 2000);
  assert.equal(
    new Configuration().sessionSettings("A", "B").reconnectIntervalMs,
    DEFAULT_SESSION_SETTINGS.reconnectIntervalMs,
  );
  const top = Configuration.fromText("HeartbeatInterval=40");
  assert.equal(top.sessionSettings("A", "B").heartbeatIntervalSeconds, 40);
});

Deno.test("session keys: qualifiers and CompIDs containing dots", () => {
  const cfg = Configuration.fromText([
    "Session.BRK.EU/CLT.1.Password=dots",
    "Session.A/B/Q1.Username=qualified",
    "Session.A/B.Username=plain",
    "Session.A/B.ListenPort=9001",
  ].join("\n"));
  assert.equal(cfg.sessionSettings("BRK.EU", "CLT.1").password, "dots");
  assert.equal(cfg.sessionSettings("A", "B", "Q1").username, "qualified");
  assert.equal(cfg.sessionSettings("A", "B").username, "plain");
  assert.equal(cfg.sessionSettings("A", "B").listenPort, 9001);
  assert.equal(cfg.sessionSettings("A", "B", "Q2").username, "plain");
});

Deno.test("fromObject takes property names and typed values", () => {
  const cfg = Configuration.fromObject({
    ListenPort: 0,
    "Reconnect.Interval": 10,
    InLogEnabled: true,
  });
  assert.deepEqual(cfg.engineSettings().listenPorts, [0]);
  assert.equal(cfg.sessionSettings("A", "B").reconnectIntervalMs, 10);
  assert.equal(cfg.sessionSettings("A", "B").logIncoming, true);
  assert.throws(() => Configuration.fromObject({ "Reconnect.Interval": "soon" }), ConfigError);
});

Deno.test("the example properties file loads with no warnings", async () => {
  const { logger, warnings } = capture();
  const path = new URL("../../examples/properties/engine.properties", import.meta.url).pathname;
  const cfg = await Configuration.fromFile(path, { logger });
  assert.deepEqual(warnings, []);
  assert.deepEqual(cfg.engineSettings().listenPorts, [8901]);
  assert.equal(cfg.sessionSettings("TEST2", "TEST1").heartbeatIntervalSeconds, 30);
});

Deno.test("defaultSessionSettings takes top-level and Session.Default keys, never per-session ones", () => {
  const cfg = Configuration.fromText([
    "LogonTimeFrame=1000",
    "Session.Default.LogonTimeFrame=2000",
    "Session.A/B.LogonTimeFrame=3000",
    "Session.Default.HeartbeatInterval=15",
  ].join("\n"));
  const d = cfg.defaultSessionSettings();
  assert.equal(d.logonTimeoutMs, 2000);
  assert.equal(d.heartbeatIntervalSeconds, 15);
  assert.equal(cfg.sessionSettings("A", "B").logonTimeoutMs, 3000);
  assert.equal(new Configuration().defaultSessionSettings().logonTimeoutMs, 5000);
});

Deno.test("a timeout longer than a timer can hold is refused with a clear error", () => {
  for (
    const key of ["LogonTimeFrame", "LogoutTimeFrame", "Reconnect.Interval", "MessageTimeToLive"]
  ) {
    assert.throws(
      () => Configuration.fromObject({ [key]: 3_000_000_000 }).defaultSessionSettings(),
      (e: Error) =>
        e instanceof ConfigError && e.message.includes(key) && /2147483647/.test(e.message),
      key,
    );
  }
});
