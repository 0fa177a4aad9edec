/**
 * Configuration with FIX Antenna's property names and precedence: options in code, then
 * `Session.<Sender>/<Target>[/<Qualifier>].<Key>`, then `Session.Default.<Key>`, then top-level
 * session keys, then built-in defaults.
 *
 * @module
 */

import { type Logger, SILENT_LOGGER } from "../logger.ts";
import { ConfigError, parseProperties, type PropertyEntry } from "./properties.ts";
import {
  DEFAULT_ENGINE_SETTINGS,
  DEFAULT_SESSION_SETTINGS,
  type EngineSettings,
  type SessionSettings,
  type ValidationSettings,
} from "./settings.ts";

type Parser = (value: string) => unknown;
interface KeySpec {
  scope: "engine" | "session" | "validation";
  field: string;
  parse: Parser;
}

class Invalid extends Error {}

function int(min: number, max: number): Parser {
  return (v) => {
    if (!/^-?\d+$/.test(v.trim())) throw new Invalid("expected an integer");
    const n = Number(v.trim());
    if (n < min || n > max) throw new Invalid(`expected an integer from ${min} to ${max}`);
    return n;
  };
}
const bool: Parser = (v) => {
  const s = v.trim().toLowerCase();
  if (s === "true" || s === "yes" || s === "y") return true;
  if (s === "false" || s === "no" || s === "n") return false;
  throw new Invalid("expected true or false");
};
const str: Parser = (v) => v;
const optStr: Parser = (v) => (v === "" ? undefined : v);
function oneOf(...values: string[]): Parser {
  return (v) => {
    if (!values.includes(v.trim())) throw new Invalid(`expected one of ${values.join(", ")}`);
    return v.trim();
  };
}
const list: Parser = (v) => v.split(",").map((s) => s.trim()).filter((s) => s !== "");
const ports: Parser = (v) => (list(v) as string[]).map((p) => int(0, 65535)(p));
const forceReset: Parser = (v) => {
  const s = v.trim().toLowerCase();
  if (s === "false") return "never";
  if (s === "true") return "always";
  return oneOf("never", "first", "always")(s);
};
const MAX = Number.MAX_SAFE_INTEGER;
/** The longest wait a timer can hold (setTimeout's limit), ms: a longer timeout is refused. */
const MAX_TIMER_MS = 2_147_483_647;

const CATALOGUE: Record<string, KeySpec> = {
  ListenPort: { scope: "engine", field: "listenPorts", parse: ports },
  ListenAddress: { scope: "engine", field: "listenAddress", parse: str },
  LogDirectory: { scope: "engine", field: "logDirectory", parse: str },
  StorageSyncMode: {
    scope: "engine",
    field: "storageSyncMode",
    parse: oneOf("none", "batch", "message"),
  },
  CreateUnregisteredAcceptorSession: {
    scope: "engine",
    field: "createUnregisteredAcceptorSession",
    parse: bool,
  },
  UnregisteredAcceptorDecisionTimeout: {
    scope: "engine",
    field: "unregisteredAcceptorDecisionTimeoutMs",
    parse: int(1, MAX_TIMER_MS),
  },
  MaxUnregisteredAcceptorSessions: {
    scope: "engine",
    field: "maxUnregisteredAcceptorSessions",
    parse: int(0, MAX),
  },
  LogLevel: {
    scope: "engine",
    field: "logLevel",
    parse: oneOf("debug", "info", "warn", "error", "off"),
  },
  "Admin.Port": { scope: "engine", field: "adminPort", parse: int(0, 65535) },
  "Admin.Address": { scope: "engine", field: "adminAddress", parse: str },
  "Admin.Token": { scope: "engine", field: "adminToken", parse: optStr },
  "Admin.RecentMessages": {
    scope: "engine",
    field: "adminRecentMessages",
    parse: int(0, 100_000),
  },
  "TLS.Enabled": { scope: "engine", field: "tlsEnabled", parse: bool },
  "TLS.CertificateFile": { scope: "engine", field: "tlsCertificateFile", parse: optStr },
  "TLS.KeyFile": { scope: "engine", field: "tlsKeyFile", parse: optStr },
  "TLS.CaFile": { scope: "engine", field: "tlsCaFile", parse: optStr },
  "TLS.ServerName": { scope: "engine", field: "tlsServerName", parse: optStr },

  HeartbeatInterval: { scope: "session", field: "heartbeatIntervalSeconds", parse: int(0, 3600) },
  LogonTimeFrame: { scope: "session", field: "logonTimeoutMs", parse: int(1, MAX_TIMER_MS) },
  LogoutTimeFrame: { scope: "session", field: "logoutTimeoutMs", parse: int(1, MAX_TIMER_MS) },
  ReasonableTransmissionTime: {
    scope: "session",
    field: "reasonableTransmissionTimePercent",
    parse: int(0, 1000),
  },
  LogoutOnHeartbeatTimeout: { scope: "session", field: "logoutOnHeartbeatTimeout", parse: bool },
  "Reconnect.MaxTries": { scope: "session", field: "reconnectMaxTries", parse: int(-1, MAX) },
  "Reconnect.Interval": {
    scope: "session",
    field: "reconnectIntervalMs",
    parse: int(0, MAX_TIMER_MS),
  },
  RejectMessageWhileNoConnection: {
    scope: "session",
    field: "rejectMessageWhileNoConnection",
    parse: bool,
  },
  MessageTimeToLive: {
    scope: "session",
    field: "messageTimeToLiveMs",
    parse: int(0, MAX_TIMER_MS),
  },
  LateDelivery: { scope: "session", field: "lateDelivery", parse: oneOf("resend", "queue") },
  ResendMessagesBlockSize: {
    scope: "session",
    field: "resendMessagesBlockSize",
    parse: int(0, MAX),
  },
  ResendMessagesLimit: { scope: "session", field: "resendMessagesLimit", parse: int(0, MAX) },
  DuplicateResendRequestLimit: {
    scope: "session",
    field: "duplicateResendRequestLimit",
    parse: int(0, MAX),
  },
  ResendRequestBlockSize: {
    scope: "session",
    field: "resendRequestBlockSize",
    parse: int(0, MAX),
  },
  ForceSeqNumReset: { scope: "session", field: "forceSeqNumReset", parse: forceReset },
  IntradayLogoutTolerance: { scope: "session", field: "intradayLogoutTolerance", parse: bool },
  ResetOnLogon: { scope: "session", field: "resetOnLogon", parse: bool },
  ResetOnLogout: { scope: "session", field: "resetOnLogout", parse: bool },
  ResetOnDisconnect: { scope: "session", field: "resetOnDisconnect", parse: bool },
  IgnoreSeqNumTooLowAtLogon: { scope: "session", field: "ignoreSeqNumTooLowAtLogon", parse: bool },
  AllowMessageWithoutPossDupFlag: {
    scope: "session",
    field: "allowMessageWithoutPossDupFlag",
    parse: bool,
  },
  CheckSendingTimeAccuracy: { scope: "session", field: "checkSendingTimeAccuracy", parse: bool },
  ReasonableDelayInMs: { scope: "session", field: "reasonableDelayMs", parse: int(0, MAX) },
  EnableNextExpectedMsgSeqNum: {
    scope: "session",
    field: "enableNextExpectedMsgSeqNum",
    parse: bool,
  },
  IncomingQueueSize: { scope: "session", field: "incomingQueueSize", parse: int(0, MAX) },
  MaxOutgoingBufferSize: {
    scope: "session",
    field: "maxOutgoingBufferBytes",
    parse: int(1, MAX),
  },
  MaxMessageSize: { scope: "session", field: "maxMessageSize", parse: int(64, MAX) },
  Username: { scope: "session", field: "username", parse: optStr },
  Password: { scope: "session", field: "password", parse: optStr },
  UsernameTag: { scope: "session", field: "usernameTag", parse: int(1, MAX) },
  PasswordTag: { scope: "session", field: "passwordTag", parse: int(1, MAX) },
  AllowedSourceAddresses: { scope: "session", field: "allowedSourceAddresses", parse: list },
  DefaultApplVerID: { scope: "session", field: "defaultApplVerId", parse: str },
  InLogEnabled: { scope: "session", field: "logIncoming", parse: bool },
  MessageLog: { scope: "session", field: "messageLog", parse: bool },
  StartTime: { scope: "session", field: "startTime", parse: optStr },
  EndTime: { scope: "session", field: "endTime", parse: optStr },
  StartDay: { scope: "session", field: "startDay", parse: optStr },
  EndDay: { scope: "session", field: "endDay", parse: optStr },
  TimeZone: { scope: "session", field: "timeZone", parse: optStr },
  TimestampsPrecision: {
    scope: "session",
    field: "timestampPrecision",
    parse: oneOf("ms", "us", "ns"),
  },
  BackupHost: { scope: "session", field: "backupHost", parse: optStr },
  BackupPort: { scope: "session", field: "backupPort", parse: int(1, 65535) },
  EnableAutoSwitchToBackupConnection: {
    scope: "session",
    field: "autoSwitchToBackup",
    parse: bool,
  },
  CyclicSwitchBackupConnection: { scope: "session", field: "cyclicSwitchBackup", parse: bool },
  SessionListenPort: { scope: "session", field: "listenPort", parse: int(0, 65535) },

  "Validation.IsEnabled": { scope: "validation", field: "enabled", parse: bool },
  "Validation.CheckRequiredTags": { scope: "validation", field: "checkRequiredTags", parse: bool },
  "Validation.ProhibitUnknownTags": {
    scope: "validation",
    field: "prohibitUnknownTags",
    parse: bool,
  },
  "Validation.ProhibitUndefinedTags": {
    scope: "validation",
    field: "prohibitUndefinedTags",
    parse: bool,
  },
  "Validation.ProhibitTagsWithoutValue": {
    scope: "validation",
    field: "prohibitTagsWithoutValue",
    parse: bool,
  },
  "Validation.VerifyTagsValues": { scope: "validation", field: "verifyTagsValues", parse: bool },
  "Validation.VerifyTagsFormat": { scope: "validation", field: "verifyTagsFormat", parse: bool },
  "Validation.VerifyTagsEnumerations": {
    scope: "validation",
    field: "verifyTagsEnumerations",
    parse: bool,
  },
  "Validation.ProhibitDelimiterInValues": {
    scope: "validation",
    field: "prohibitDelimiterInValues",
    parse: bool,
  },
  "Validation.VerifyMsgType": { scope: "validation", field: "verifyMsgType", parse: bool },
  "Validation.ProhibitDuplicatedTags": {
    scope: "validation",
    field: "prohibitDuplicatedTags",
    parse: bool,
  },
  "Validation.VerifyFieldsOrder": { scope: "validation", field: "verifyFieldsOrder", parse: bool },
  "Validation.VerifyRepeatingGroupBounds": {
    scope: "validation",
    field: "verifyRepeatingGroupBounds",
    parse: bool,
  },
};

interface Parsed {
  spec: KeySpec;
  value: unknown;
}

/** A per-session override key: `Session.<Sender>/<Target>[/<Qualifier>]`. */
function sessionKey(sender: string, target: string, qualifier?: string): string {
  return qualifier === undefined ? `${sender}/${target}` : `${sender}/${target}/${qualifier}`;
}

/**
 * A resolved configuration: parse once, then ask for engine or per-session settings.
 *
 * @example
 * ```ts
 * import { Configuration } from "@fixwire/engine";
 * const cfg = Configuration.fromText(
 *   "ListenPort=8901\nSession.Default.HeartbeatInterval=30\nSession.TEST2/TEST1.HeartbeatInterval=10\n",
 * );
 * cfg.engineSettings().listenPorts; // [8901]
 * cfg.sessionSettings("TEST2", "TEST1").heartbeatIntervalSeconds; // 10
 * ```
 */
export class Configuration {
  #top = new Map<string, Parsed>();
  #defaults = new Map<string, Parsed>();
  #sessions = new Map<string, Map<string, Parsed>>();

  /**
   * Creates an empty configuration (built-in defaults only), or one from entries.
   *
   * @param entries Parsed properties.
   * @param options File name for messages and a logger for unknown-key warnings.
   * @throws {ConfigError} When a value is invalid.
   */
  constructor(
    entries: readonly PropertyEntry[] = [],
    options: { fileName?: string; logger?: Logger } = {},
  ) {
    const log = options.logger ?? SILENT_LOGGER;
    for (const e of entries) {
      const target = this.#place(e.key);
      if (!target) {
        log.warn("unknown configuration key ignored", {
          key: e.key,
          file: options.fileName,
          line: e.line,
        });
        continue;
      }
      const [map, name, spec] = target;
      let value: unknown;
      try {
        value = spec.parse(e.value);
      } catch (err) {
        if (!(err instanceof Invalid)) throw err;
        throw new ConfigError(err.message, {
          key: e.key,
          value: e.value,
          file: options.fileName,
          line: e.line,
        });
      }
      map.set(name, { spec, value });
    }
  }

  #place(key: string): [Map<string, Parsed>, string, KeySpec] | undefined {
    const direct = CATALOGUE[key];
    if (direct) return [this.#top, key, direct];
    if (!key.startsWith("Session.")) return undefined;
    const rest = key.slice("Session.".length);
    // CompIDs may contain dots: find the longest known key suffix.
    let best: string | undefined;
    for (const name of Object.keys(CATALOGUE)) {
      if (rest.endsWith(`.${name}`) && (!best || name.length > best.length)) best = name;
    }
    if (!best) return undefined;
    const spec = CATALOGUE[best];
    if (spec.scope === "engine" && best !== "ListenPort") return undefined;
    const owner = rest.slice(0, rest.length - best.length - 1);
    const field = best === "ListenPort" ? "SessionListenPort" : best;
    const fieldSpec = CATALOGUE[field];
    if (owner === "Default") return [this.#defaults, field, fieldSpec];
    if (!/^[^/]+\/[^/]+(\/[^/]+)?$/.test(owner)) return undefined;
    let m = this.#sessions.get(owner);
    if (!m) {
      m = new Map();
      this.#sessions.set(owner, m);
    }
    return [m, field, fieldSpec];
  }

  /**
   * Parses properties text.
   *
   * @param text The text.
   * @param options File name (for messages) and logger (for unknown keys).
   * @returns The configuration.
   * @throws {ConfigError} When a value is invalid.
   */
  static fromText(
    text: string,
    options: { fileName?: string; logger?: Logger } = {},
  ): Configuration {
    return new Configuration(parseProperties(text), options);
  }

  /**
   * Reads and parses a properties file.
   *
   * @param path The file.
   * @param options Logger for unknown keys.
   * @returns The configuration.
   * @throws {ConfigError} When a value is invalid.
   */
  static async fromFile(path: string, options: { logger?: Logger } = {}): Promise<Configuration> {
    return Configuration.fromText(await Deno.readTextFile(path), { ...options, fileName: path });
  }

  /**
   * Builds a configuration from key/value pairs with property names.
   *
   * @param props The properties, e.g. `{ ListenPort: 8901, "Reconnect.MaxTries": 5 }`.
   * @param options Logger for unknown keys.
   * @returns The configuration.
   * @throws {ConfigError} When a value is invalid.
   */
  static fromObject(
    props: Record<string, string | number | boolean>,
    options: { logger?: Logger } = {},
  ): Configuration {
    const entries = Object.entries(props).map(([key, v]) => ({
      key,
      value: String(v),
      line: undefined,
    }));
    return new Configuration(entries, options);
  }

  /** Every property name this configuration understands. */
  static keys(): string[] {
    return Object.keys(CATALOGUE).filter((k) => k !== "SessionListenPort");
  }

  /**
   * The engine settings.
   *
   * @param overrides Settings from code; they win over everything.
   * @returns A fresh settings object.
   */
  engineSettings(overrides: Partial<EngineSettings> = {}): EngineSettings {
    const s = { ...DEFAULT_ENGINE_SETTINGS } as Record<string, unknown>;
    for (const p of this.#top.values()) if (p.spec.scope === "engine") s[p.spec.field] = p.value;
    return { ...s, ...overrides } as EngineSettings;
  }

  /**
   * The settings of one session.
   *
   * @param sender Our SenderCompID.
   * @param target The counterparty's CompID.
   * @param qualifier The session qualifier.
   * @param overrides Settings from code; they win over everything.
   * @returns A fresh settings object.
   */
  sessionSettings(
    sender: string,
    target: string,
    qualifier?: string,
    overrides: Partial<SessionSettings> = {},
  ): SessionSettings {
    return this.#resolveSession(sender, target, qualifier, overrides);
  }

  /**
   * The settings of a session not known yet (an incoming connection before its Logon): the
   * top-level session keys and `Session.Default`, over the built-in defaults.
   *
   * @returns A fresh settings object.
   * @example
   * ```ts
   * import { Configuration } from "@fixwire/engine";
   * const cfg = Configuration.fromObject({ "Session.Default.LogonTimeFrame": 2000 });
   * cfg.defaultSessionSettings().logonTimeoutMs; // 2000
   * ```
   */
  defaultSessionSettings(): SessionSettings {
    return this.#resolveSession(undefined, undefined, undefined, {});
  }

  #resolveSession(
    sender: string | undefined,
    target: string | undefined,
    qualifier: string | undefined,
    overrides: Partial<SessionSettings>,
  ): SessionSettings {
    const s = { ...DEFAULT_SESSION_SETTINGS } as Record<string, unknown>;
    const v = { ...DEFAULT_SESSION_SETTINGS.validation } as Record<string, unknown>;
    const apply = (m: Map<string, Parsed> | undefined) => {
      if (!m) return;
      for (const p of m.values()) {
        if (p.spec.scope === "session") s[p.spec.field] = p.value;
        else if (p.spec.scope === "validation") v[p.spec.field] = p.value;
      }
    };
    apply(this.#top);
    apply(this.#defaults);
    if (sender !== undefined && target !== undefined) {
      if (qualifier !== undefined) apply(this.#sessions.get(sessionKey(sender, target)));
      apply(this.#sessions.get(sessionKey(sender, target, qualifier)));
    }
    const validation = { ...(v as unknown as ValidationSettings), ...overrides.validation };
    return {
      ...(s as unknown as SessionSettings),
      allowedSourceAddresses: [...(s.allowedSourceAddresses as string[])],
      ...overrides,
      validation,
    };
  }
}
