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
  type LogFields,
  type Logger,
  maskSecrets,
  SILENT_LOGGER,
} from "./src/logger.ts";
export {
  BusinessRejectError,
  ConnectionError,
  LogonRejectedError,
  MessageRejectError,
  SessionNotFoundError,
} from "./src/errors.ts";
export { SessionId } from "./src/session_id.ts";
export type { Connection, ConnectOptions, Endpoint, Listener, Transport } from "./src/transport.ts";
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
  FieldMap,
  type FieldValue,
  FixMessage,
  type GroupLayoutSource,
  type GroupSpec,
  numberToFixText,
} from "./src/message/fix_message.ts";
export { encodeMessage, FixEncoder, isHeaderTag } from "./src/message/encoder.ts";
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
export { EventHub, type SessionEvent, type SessionState } from "./src/session/events.ts";
export {
  FixSession,
  type FixSessionOptions,
  isAdminMsgType,
  MessageExpiredError,
  type MessageProblem,
  type SessionHandler,
  type SessionRole,
} from "./src/session/fix_session.ts";
