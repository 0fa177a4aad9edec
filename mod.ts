/**
 * fixwire: a FIX protocol engine for Deno.
 *
 * The public API follows the FIX Antenna model: a `FixEngine` creates `Session`s by
 * `SessionId`; `session.connect(heartbeatSeconds, host, port)` starts an initiator,
 * `session.connect()` registers an acceptor, `session.put(message)` sends. Underneath are a
 * byte-level codec ({@linkcode FixMessage}, {@linkcode FixEncoder}, {@linkcode FixFramer}), the
 * data dictionaries of every FIX version, and a deterministic session state machine.
 *
 * @example
 * ```ts ignore
 * import { FixEngine, FixMessage, FIXVersion, MsgType, SessionId, Tag } from "@fixwire/engine";
 * await using engine = new FixEngine({ config: { LogDirectory: "./fixwire-store" } });
 * const session = engine.createSession(new SessionId("TEST1", "TEST2"), "FIX44", FIXVersion.FIX44);
 * session.setListener({ onMessage: (m) => console.log(m.msgType) });
 * await session.connect(30, "127.0.0.1", 8901);
 * await session.waitFor("established", { signal: AbortSignal.timeout(10_000) });
 * await session.put(new FixMessage(MsgType.NewOrderSingle).set(Tag.ClOrdID, "ord-1"));
 * await session.disconnect("done");
 * ```
 *
 * The codec on its own:
 *
 * ```ts
 * import { decodeMessage, encodeMessage, FixMessage, MsgType, Tag } from "@fixwire/engine";
 * const order = new FixMessage(MsgType.NewOrderSingle)
 *   .set(Tag.SenderCompID, "TEST1").set(Tag.TargetCompID, "TEST2").set(Tag.MsgSeqNum, 1)
 *   .set(Tag.ClOrdID, "ord-1").set(Tag.Side, "1").setDecimal(Tag.OrderQty, "100");
 * const bytes = encodeMessage(order, "FIX.4.4");
 * decodeMessage(bytes).get(Tag.ClOrdID); // "ord-1"
 * ```
 *
 * @module
 */

export { type Clock, SystemClock, type TimerHandle } from "./src/clock.ts";
export {
  lineLogger,
  type LineLoggerOptions,
  type LogFields,
  type Logger,
  type LogLevel,
  maskSecrets,
  SILENT_LOGGER,
  stderrLogger,
} from "./src/logger.ts";
export {
  BusinessRejectError,
  ConnectionError,
  EngineStoppedError,
  LogonRejectedError,
  MessageExpiredError,
  MessageRejectError,
  OutgoingBufferFullError,
  ResetNotConfirmedError,
  SessionExistsError,
  StoreLockedError,
} from "./src/errors.ts";
export { SessionId } from "./src/session_id.ts";
export {
  parseScheduleProperties,
  parseWeekday,
  type ScheduleKind,
  SessionSchedule,
  type SessionScheduleOptions,
  type Weekday,
} from "./src/schedule.ts";
export type {
  ChunkSink,
  Connection,
  ConnectOptions,
  Endpoint,
  Listener,
  Transport,
} from "./src/transport.ts";
export { PEER_CLOSED } from "./src/transport.ts";
export type { MessageLog, MessageLogFactory } from "./src/message_log.ts";
export type {
  SeqState,
  SeqStore,
  SeqStoreFactory,
  SeqStoreOpenOptions,
  StoredMessage,
} from "./src/store.ts";
export {
  DEFAULT_ENGINE_SETTINGS,
  DEFAULT_SESSION_SETTINGS,
  DEFAULT_VALIDATION_SETTINGS,
  type EngineSettings,
  type ForceSeqNumReset,
  type SessionSettings,
  type StorageSyncMode,
  type ValidationSettings,
} from "./src/config/settings.ts";
export { FixParseError } from "./src/message/errors.ts";
export {
  appendGroup,
  FieldMap,
  type FieldValue,
  FixMessage,
  type GroupLayoutSource,
  type GroupSpec,
  messageOfFields,
  newGroupEntry,
  numberToFixText,
} from "./src/message/fix_message.ts";
export {
  encodeMessage,
  type EncoderOptions,
  FixEncoder,
  isHeaderTag,
} from "./src/message/encoder.ts";
export {
  decodeMessage,
  FixFramer,
  type FramerOptions,
  tryDecodeMessage,
} from "./src/message/framer.ts";
export { DEFAULT_DATA_FIELDS } from "./src/message/data_fields.ts";
export { formatMessage, type FormatOptions, type TagNamer } from "./src/message/printer.ts";
export { MsgType, Tag } from "./src/message/tag.ts";
export {
  formatUtcDateOnly,
  formatUtcTimestamp,
  isMonthYear,
  parseDateOnly,
  type ParsedTimestamp,
  parseUtcTimestamp,
  type TimestampPrecision,
} from "./src/message/timestamps.ts";
export type { SessionEvent, SessionState } from "./src/session/events.ts";
export { isAdminMsgType } from "./src/session/admin.ts";
export type { MessageProblem, SessionRole } from "./src/session/core.ts";
export {
  type CreateSessionOptions,
  FixEngine,
  type FixEngineOptions,
} from "./src/engine/fix_engine.ts";
export { type InitiatorOptions, Session } from "./src/engine/session.ts";
export type { RecentMessage, SessionMetrics } from "./src/engine/link.ts";
export {
  type AdminOptions,
  type AdminServer,
  formatMetrics,
  startAdmin,
} from "./src/engine/admin.ts";
export {
  applVerIdOf,
  beginStringOf,
  FIXVersion,
  parseFixVersion,
} from "./src/engine/fix_version.ts";
export {
  ACCEPT_ALL_SESSIONS_MANAGER,
  type AcceptorDecision,
  type SessionListener,
  type SessionsManager,
  type UnregisteredAcceptorRequest,
} from "./src/sessions_manager.ts";
export { MemorySeqStore, MemorySeqStoreFactory } from "./src/store.ts";
export { ConfigError, parseProperties, type PropertyEntry } from "./src/config/properties.ts";
export { Configuration } from "./src/config/resolve.ts";
export {
  type CompactMember,
  Dictionary,
  type DictionaryData,
  dictionaryDataFromXml,
  type FieldDef,
  type GroupLayout,
  type Layout,
  type MessageDef,
} from "./src/dictionary/dictionary.ts";
export {
  applVerIdToVersion,
  FIX_VERSION_NAMES,
  type FixVersionName,
  loadDictionary,
  loadDictionaryFile,
  parseDictionaryXml,
} from "./src/dictionary/load.ts";
export {
  type FieldView,
  isValidFormat,
  RejectReason,
  validateMessage,
  type ValidationProblem,
  type ValidatorOptions,
} from "./src/dictionary/validator.ts";
export { DictionaryError } from "./src/dictionary/xml.ts";
