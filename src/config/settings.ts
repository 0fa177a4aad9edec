/**
 * Typed session and engine settings with their built-in defaults. The properties-file parser
 * (`properties.ts`) maps FIX Antenna property names onto these fields.
 *
 * @module
 */

/** When to reset sequence numbers at logon (`ForceSeqNumReset`). */
export type ForceSeqNumReset = "never" | "first" | "always";

/** File store durability (`StorageSyncMode`). */
export type StorageSyncMode = "none" | "batch" | "message";

/** Which validation checks run on inbound messages (`Validation.*` properties). */
export interface ValidationSettings {
  /** Master switch (`Validation.IsEnabled`). */
  enabled: boolean;
  /** Check that required tags are present (`Validation.CheckRequiredTags`). */
  checkRequiredTags: boolean;
  /** Reject tags not defined for the message type (`Validation.ProhibitUnknownTags`). */
  prohibitUnknownTags: boolean;
  /** Reject tags not in the dictionary at all (`Validation.ProhibitUndefinedTags`). */
  prohibitUndefinedTags: boolean;
  /** Reject tags with an empty value (`Validation.ProhibitTagsWithoutValue`). */
  prohibitTagsWithoutValue: boolean;
  /** Check enumerations and value formats (`Validation.VerifyTagsValues`). */
  verifyTagsValues: boolean;
  /** Reject repeated tags (`Validation.ProhibitDuplicatedTags`). */
  prohibitDuplicatedTags: boolean;
  /** Check header, body, trailer order (`Validation.VerifyFieldsOrder`). */
  verifyFieldsOrder: boolean;
  /** Check NumInGroup counts against the entries (`Validation.VerifyRepeatingGroupBounds`). */
  verifyRepeatingGroupBounds: boolean;
  /** With `verifyTagsValues`: value formats, reason 6 (`Validation.VerifyTagsFormat`, default on). */
  verifyTagsFormat?: boolean;
  /** With `verifyTagsValues`: enumerations, reason 5 (`Validation.VerifyTagsEnumerations`). */
  verifyTagsEnumerations?: boolean;
  /** With `verifyTagsValues`: SOH in non-data values, reason 17 (`Validation.ProhibitDelimiterInValues`). */
  prohibitDelimiterInValues?: boolean;
  /** Reject a MsgType the dictionary does not define, reason 11 (`Validation.VerifyMsgType`). */
  verifyMsgType?: boolean;
}

/** Settings of one session. Every field has a built-in default in `DEFAULT_SESSION_SETTINGS`. */
export interface SessionSettings {
  /** HeartBtInt(108) in seconds (`HeartbeatInterval`); initiators pass it to `connect`. */
  heartbeatIntervalSeconds: number;
  /** How long to wait for the confirming Logon (`LogonTimeFrame`), ms. */
  logonTimeoutMs: number;
  /** How long to wait for the confirming Logout (`LogoutTimeFrame`), ms. */
  logoutTimeoutMs: number;
  /** Extra silence allowed before a TestRequest, percent of HeartBtInt (`ReasonableTransmissionTime`). */
  reasonableTransmissionTimePercent: number;
  /** Send Logout before disconnecting when a TestRequest went unanswered (`LogoutOnHeartbeatTimeout`). */
  logoutOnHeartbeatTimeout: boolean;
  /** Reconnect attempts for initiators, -1 unlimited (`Reconnect.MaxTries`). */
  reconnectMaxTries: number;
  /** Pause between reconnect attempts (`Reconnect.Interval`), ms. */
  reconnectIntervalMs: number;
  /** Reject queued messages older than `messageTimeToLiveMs` instead of sending them late (`RejectMessageWhileNoConnection`). */
  rejectMessageWhileNoConnection: boolean;
  /** Age after which a queued message is rejected (`MessageTimeToLive`), ms. */
  messageTimeToLiveMs: number;
  /**
   * How messages put while not established reach the counterparty (`LateDelivery`):
   * `"resend"` (default) persists each at once with the next MsgSeqNum, so it survives a crash,
   * and delivers it through the ResendRequest the next Logon triggers, with PossDupFlag=Y, as
   * QuickFIX does; `"queue"` holds it in memory without a number and sends it as a new message
   * right after the next Logon, as FIX Antenna does (lost if the process dies first).
   */
  lateDelivery: "resend" | "queue";
  /** Messages per block when answering a ResendRequest, 0 unlimited (`ResendMessagesBlockSize`). */
  resendMessagesBlockSize: number;
  /** Largest range we answer in one ResendRequest, 0 unlimited (`ResendMessagesLimit`). */
  resendMessagesLimit: number;
  /** Identical ResendRequests answered before we ignore repeats (`DuplicateResendRequestLimit`). */
  duplicateResendRequestLimit: number;
  /** Split our own ResendRequests in ranges of this size, 0 = one request (`ResendRequestBlockSize`). */
  resendRequestBlockSize: number;
  /** When to reset sequence numbers at logon (`ForceSeqNumReset`). */
  forceSeqNumReset: ForceSeqNumReset;
  /** Keep sequence numbers across a correct Logout (`IntradayLogoutTolerance`). */
  intradayLogoutTolerance: boolean;
  /**
   * An acceptor resets both sequence numbers to 1 when a Logon arrives, before checking its
   * MsgSeqNum; its answer carries ResetSeqNumFlag(141)=Y only when the Logon did
   * (`ResetOnLogon`, as in QuickFIX).
   */
  resetOnLogon: boolean;
  /** Reset both sequence numbers to 1 once a Logout exchange completes (`ResetOnLogout`). */
  resetOnLogout: boolean;
  /** Reset both sequence numbers to 1 whenever the connection ends (`ResetOnDisconnect`). */
  resetOnDisconnect: boolean;
  /** Accept a Logon whose MsgSeqNum is lower than expected (`IgnoreSeqNumTooLowAtLogon`). */
  ignoreSeqNumTooLowAtLogon: boolean;
  /** Treat a too-low MsgSeqNum without PossDupFlag as a duplicate to ignore (`AllowMessageWithoutPossDupFlag`). */
  allowMessageWithoutPossDupFlag: boolean;
  /** Check SendingTime(52) against our clock (`CheckSendingTimeAccuracy`). */
  checkSendingTimeAccuracy: boolean;
  /** Largest allowed SendingTime difference (`ReasonableDelayInMs`), ms. */
  reasonableDelayMs: number;
  /** Send and honour NextExpectedMsgSeqNum(789) in Logon, FIX.4.4+ (`EnableNextExpectedMsgSeqNum`). */
  enableNextExpectedMsgSeqNum: boolean;
  /** Messages held while a gap is being filled (`IncomingQueueSize`). */
  incomingQueueSize: number;
  /** Largest inbound message in bytes (`MaxMessageSize`). */
  maxMessageSize: number;
  /**
   * Bytes of outgoing messages waiting for a slow connection (encoded and not yet written),
   * above which `put()` waits for room and `tryPut()` fails fast with
   * `OutgoingBufferFullError`; and separately of messages put while the session is not
   * established (late messages), above which `put()` fails fast too. A refused message is
   * not numbered and not persisted (`MaxOutgoingBufferSize`).
   */
  maxOutgoingBufferBytes: number;
  /** Username(553) we send, or require from the counterparty (`Username`). */
  username: string | undefined;
  /** Password(554) we send, or require from the counterparty (`Password`). */
  password: string | undefined;
  /** Tag carrying the username (`UsernameTag`), 553 by default. */
  usernameTag: number;
  /** Tag carrying the password (`PasswordTag`), 554 by default. */
  passwordTag: number;
  /** Source IP addresses allowed for an acceptor; empty allows all (`AllowedSourceAddresses`). */
  allowedSourceAddresses: string[];
  /** DefaultApplVerID(1137) for FIXT.1.1 sessions (`DefaultApplVerID`), e.g. `9` for FIX.5.0 SP2. */
  defaultApplVerId: string;
  /** Keep an inbound message log (`InLogEnabled`). */
  logIncoming: boolean;
  /**
   * Write every message received and sent to the session's message log (`MessageLog`): with the
   * default file store, `messages.log` in the session's folder. On by default.
   */
  messageLog: boolean;
  /** Precision of SendingTime (`TimestampsPrecision`). */
  timestampPrecision: "ms" | "us" | "ns";
  /** Validation of inbound messages. */
  validation: ValidationSettings;
  /** Backup host for initiators (`BackupHost`). */
  backupHost: string | undefined;
  /** Backup port for initiators (`BackupPort`). */
  backupPort: number | undefined;
  /**
   * Use the backup address when the current one fails (`EnableAutoSwitchToBackupConnection`);
   * off: only the primary is ever tried.
   */
  autoSwitchToBackup: boolean;
  /**
   * Alternate between primary and backup after every failed attempt
   * (`CyclicSwitchBackupConnection`); off: fail over to the backup once and stay on it.
   */
  cyclicSwitchBackup: boolean;
  /** Listen port for this acceptor when it differs from the engine's (`ListenPort`). */
  listenPort: number | undefined;
  /**
   * Start of the session time, `HH:MM:SS` in `timeZone` (`StartTime`); with `endTime`, an
   * initiator connects only inside the window, an acceptor refuses Logons outside it, both log
   * out at its end, and the numbers restart at 1 in each new period. Absent: always in session.
   */
  startTime: string | undefined;
  /** End of the session time, `HH:MM:SS` (`EndTime`). */
  endTime: string | undefined;
  /** First day of a weekly session (`StartDay`: Sunday, Mon, ...). */
  startDay: string | undefined;
  /** Last day of a weekly session (`EndDay`). */
  endDay: string | undefined;
  /** IANA time zone of the session times (`TimeZone`), UTC by default. */
  timeZone: string | undefined;
}

/** Engine-wide settings. */
export interface EngineSettings {
  /** Ports the engine listens on for acceptors (`ListenPort`, comma-separated). */
  listenPorts: number[];
  /** Address to listen on (`ListenAddress`). */
  listenAddress: string;
  /** Storage folder for the file store (`LogDirectory`). */
  logDirectory: string;
  /** File store durability (`StorageSyncMode`). */
  storageSyncMode: StorageSyncMode;
  /** Accept Logons for sessions nobody registered, asking the SessionsManager (`CreateUnregisteredAcceptorSession`). */
  createUnregisteredAcceptorSession: boolean;
  /** How long a SessionsManager may take to decide (`UnregisteredAcceptorDecisionTimeout`), ms. */
  unregisteredAcceptorDecisionTimeoutMs: number;
  /**
   * How many sessions the SessionsManager may have the engine create for unregistered
   * acceptors at once (`MaxUnregisteredAcceptorSessions`); Logons beyond are refused.
   */
  maxUnregisteredAcceptorSessions: number;
  /**
   * Port of the admin endpoint: Prometheus metrics at `/metrics`, the admin page at `/`
   * (`Admin.Port`); absent: no endpoint.
   */
  adminPort: number | undefined;
  /** Address the admin endpoint listens on (`Admin.Address`), loopback by default. */
  adminAddress: string;
  /** Bearer token the admin endpoint requires (`Admin.Token`); absent: none. */
  adminToken: string | undefined;
  /** Recent messages each session keeps for the admin page (`Admin.RecentMessages`). */
  adminRecentMessages: number;
  /**
   * The lowest level the default logger writes (`LogLevel`: debug, info, warn, error, off);
   * absent: the `FIXWIRE_LOG_LEVEL` environment variable, else info. Ignored with a logger of
   * the application's own.
   */
  logLevel: "debug" | "info" | "warn" | "error" | "off" | undefined;
  /** Serve TLS on the listen ports (`TLS.Enabled`). */
  tlsEnabled: boolean;
  /** PEM certificate file for TLS (`TLS.CertificateFile`). */
  tlsCertificateFile: string | undefined;
  /** PEM private key file for TLS (`TLS.KeyFile`). */
  tlsKeyFile: string | undefined;
  /** PEM CA file to verify the peer (`TLS.CaFile`). */
  tlsCaFile: string | undefined;
  /** Server name to verify (`TLS.ServerName`). */
  tlsServerName: string | undefined;
}

/** Built-in defaults of every validation switch. */
export const DEFAULT_VALIDATION_SETTINGS: Readonly<ValidationSettings> = Object.freeze({
  enabled: true,
  checkRequiredTags: true,
  prohibitUnknownTags: false,
  prohibitUndefinedTags: false,
  prohibitTagsWithoutValue: true,
  verifyTagsValues: true,
  prohibitDuplicatedTags: true,
  verifyFieldsOrder: true,
  verifyRepeatingGroupBounds: true,
});

/** Built-in defaults of every session setting. */
export const DEFAULT_SESSION_SETTINGS: Readonly<SessionSettings> = Object.freeze({
  heartbeatIntervalSeconds: 30,
  logonTimeoutMs: 5000,
  logoutTimeoutMs: 5000,
  reasonableTransmissionTimePercent: 20,
  logoutOnHeartbeatTimeout: true,
  reconnectMaxTries: 3,
  reconnectIntervalMs: 3000,
  rejectMessageWhileNoConnection: false,
  messageTimeToLiveMs: 60_000,
  lateDelivery: "resend",
  resendMessagesBlockSize: 0,
  resendMessagesLimit: 0,
  duplicateResendRequestLimit: 3,
  resendRequestBlockSize: 0,
  forceSeqNumReset: "never",
  intradayLogoutTolerance: false,
  resetOnLogon: false,
  resetOnLogout: false,
  resetOnDisconnect: false,
  ignoreSeqNumTooLowAtLogon: false,
  allowMessageWithoutPossDupFlag: false,
  checkSendingTimeAccuracy: true,
  reasonableDelayMs: 120_000,
  enableNextExpectedMsgSeqNum: false,
  incomingQueueSize: 10_000,
  maxOutgoingBufferBytes: 64 * 1024 * 1024,
  maxMessageSize: 1 << 20,
  username: undefined,
  password: undefined,
  usernameTag: 553,
  passwordTag: 554,
  allowedSourceAddresses: [],
  defaultApplVerId: "9",
  logIncoming: false,
  messageLog: true,
  timestampPrecision: "ms",
  validation: DEFAULT_VALIDATION_SETTINGS,
  backupHost: undefined,
  backupPort: undefined,
  autoSwitchToBackup: true,
  cyclicSwitchBackup: true,
  listenPort: undefined,
  startTime: undefined,
  endTime: undefined,
  startDay: undefined,
  endDay: undefined,
  timeZone: undefined,
} as SessionSettings);

/** Built-in defaults of every engine setting. */
export const DEFAULT_ENGINE_SETTINGS: Readonly<EngineSettings> = Object.freeze({
  listenPorts: [],
  listenAddress: "0.0.0.0",
  logDirectory: "./fixwire-store",
  storageSyncMode: "none",
  createUnregisteredAcceptorSession: false,
  unregisteredAcceptorDecisionTimeoutMs: 5000,
  maxUnregisteredAcceptorSessions: 1000,
  adminPort: undefined,
  adminAddress: "127.0.0.1",
  adminToken: undefined,
  adminRecentMessages: 200,
  logLevel: undefined,
  tlsEnabled: false,
  tlsCertificateFile: undefined,
  tlsKeyFile: undefined,
  tlsCaFile: undefined,
  tlsServerName: undefined,
} as EngineSettings);
