// The fuzz harness: random and mutated messages through the framer, the decoder, the validator
// and a live SessionCore, checking after every input that nothing threw that may not throw,
// that every transition returned well-formed actions with consistent sequence numbers, that
// no input took longer than a bound, and sampling the heap. A run is blocks of inputs; each
// block has its own seeded generator and its own session, so a failure reproduces from
// (seed, block, index) by replaying that block alone.

import { DEFAULT_SESSION_SETTINGS, type SessionSettings } from "../../src/config/settings.ts";
import type { ValidationSettings } from "../../src/config/settings.ts";
import type { Dictionary } from "../../src/dictionary/dictionary.ts";
import { loadDictionary } from "../../src/dictionary/load.ts";
import { validateMessage } from "../../src/dictionary/validator.ts";
import { BusinessRejectError, MessageRejectError } from "../../src/errors.ts";
import type { Logger } from "../../src/logger.ts";
import { DEFAULT_DATA_FIELDS } from "../../src/message/data_fields.ts";
import { encodeMessage } from "../../src/message/encoder.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";
import { decodeMessage, FixFramer } from "../../src/message/framer.ts";
import type { Action } from "../../src/session/actions.ts";
import { type MessageProblem, SessionCore, type SessionRole } from "../../src/session/core.ts";
import type { SessionState } from "../../src/session/events.ts";
import { SessionId } from "../../src/session_id.ts";
import type { StoredMessage } from "../../src/store.ts";
import {
  buildCorpus,
  encode,
  type Field,
  isAdmin,
  render,
  type SessionVersion,
  type Template,
} from "./_corpus.ts";
import { mutate, refresh } from "./_mutate.ts";
import { mix, Rng } from "./_prng.ts";

/** 2026-11-24 10:00:00.000 UTC, the start of every block's simulated clock. */
export const T0 = Date.UTC(2026, 10, 24, 10, 0, 0);

const OUR_ID = "FW";
const PEER_ID = "PEER";
const SOH = 1;

// -------------------------------------------------------------------------------------------
// Options and report

/** What a run does. */
export interface FuzzOptions {
  /** The run's seed. */
  seed: number;
  /** Inputs to feed (each one message through every layer, plus core inputs around it). */
  inputs: number;
  /** Inputs per block (one session per block). Default 2048. */
  blockSize?: number;
  /** The first block (to resume or replay). Default 0. */
  firstBlock?: number;
  /**
   * Slowest allowed input, ms, and as much again per MiB of input (see `inputBoundMs`); slower
   * ones are failures. Default 100.
   */
  maxInputMs?: number;
  /** Sample the heap every this many inputs (after a GC when `gc` is exposed). Default 100k. */
  heapEvery?: number;
  /** Every-split framing check on one input in this many (short inputs only). Default 64. */
  everySplitEvery?: number;
  /** Called after each heap sample. */
  onSample?: (report: FuzzReport) => void;
  /** Stop at the first failure. */
  stopOnFailure?: boolean;
  /**
   * Failures already reported (with an ignored reproduction test): counted in `known`, not in
   * `failures`.
   */
  known?: readonly RegExp[];
  /** Drip-feed (small chunks) only inputs up to this size. Default: any size. */
  dripMaxBytes?: number;
  /** Record every action of the core (replays). */
  trace?: (line: string) => void;
  /** Only this block (and only up to `untilIndex` in it): a replay. */
  onlyBlock?: number;
  /** With `onlyBlock`: stop after this input index. */
  untilIndex?: number;
}

/** One kind of failure, with its first examples. */
export interface Failure {
  /** What broke, e.g. `decoder threw TypeError`. */
  key: string;
  /** How many inputs hit it. */
  count: number;
  /** The first few occurrences. */
  examples: FailureExample[];
}

/** One occurrence of a failure, enough to replay it. */
export interface FailureExample {
  /** The run's seed. */
  seed: number;
  /** The block. */
  block: number;
  /** The input's index in its block. */
  index: number;
  /** The failure's details (error message, stack, action). */
  detail: string;
  /** The input, printable (`|` for SOH, `\xNN` for other bytes), truncated. */
  input: string;
  /** The input, base64, when it is short enough. */
  inputBase64?: string;
  /** The mutators applied to the input. */
  mutators: string[];
  /** The session's version and role. */
  session: string;
}

/** Figures of a run. */
export interface FuzzReport {
  seed: number;
  inputs: number;
  blocks: number;
  elapsedMs: number;
  /** Slowest input and where it was. */
  maxInputMs: number;
  maxInputAt: string;
  /** Inputs slower than 10 ms. */
  slowInputs: number;
  /** Heap samples: inputs done, heapUsed bytes. */
  heap: [inputs: number, heapUsed: number][];
  /** Largest framer buffer seen after draining, and the limit it had. */
  maxBuffered: number;
  counters: Record<string, number>;
  mutators: Record<string, number>;
  failures: Failure[];
  /** Known failures (see `FuzzOptions.known`) by key. */
  known: Record<string, number>;
  /** Things worth a look that are not failures (e.g. invalid outbound messages). */
  observations: Record<string, number>;
  /** One example per observation. */
  observationExamples: Record<string, string>;
}

// -------------------------------------------------------------------------------------------
// Shared context

interface Context {
  corpus: SessionVersion[];
  /** ApplVerID code to application dictionary, for FIXT.1.1. */
  appDicts: Map<string, Dictionary>;
  allDicts: Dictionary[];
}

let contextPromise: Promise<Context> | undefined;

/** Loads the corpus and the dictionaries once. */
export function loadContext(): Promise<Context> {
  contextPromise ??= (async () => {
    const corpus = await buildCorpus();
    const appDicts = new Map<string, Dictionary>();
    const names = [
      "FIX.4.0",
      "FIX.4.1",
      "FIX.4.2",
      "FIX.4.3",
      "FIX.4.4",
      "FIX.5.0",
      "FIX.5.0SP1",
      "FIX.5.0SP2",
    ] as const;
    for (let i = 0; i < names.length; i++) {
      appDicts.set(String(i + 2), await loadDictionary(names[i]));
    }
    const allDicts = [...corpus.map((v) => v.transport), ...appDicts.values()];
    return { corpus, appDicts, allDicts };
  })();
  return contextPromise;
}

// -------------------------------------------------------------------------------------------
// Checks and failure recording

class Recorder {
  readonly report: FuzzReport;
  readonly #seed: number;
  block = 0;
  index = 0;
  input: Uint8Array = new Uint8Array(0);
  mutators: string[] = [];
  session = "";
  failed = false;

  readonly #known: readonly RegExp[];

  constructor(seed: number, known: readonly RegExp[] = []) {
    this.#seed = seed;
    this.#known = known;
    this.report = {
      seed,
      inputs: 0,
      blocks: 0,
      elapsedMs: 0,
      maxInputMs: 0,
      maxInputAt: "",
      slowInputs: 0,
      heap: [],
      maxBuffered: 0,
      counters: {},
      mutators: {},
      failures: [],
      known: {},
      observations: {},
      observationExamples: {},
    };
  }

  count(name: string, n = 1): void {
    this.report.counters[name] = (this.report.counters[name] ?? 0) + n;
  }

  observe(key: string, example: string): void {
    const o = this.report.observations;
    if (o[key] === undefined) {
      o[key] = 0;
      this.report.observationExamples[key] =
        `${example} [seed ${this.#seed} block ${this.block} index ${this.index}]`;
    }
    o[key]++;
  }

  fail(key: string, detail: string): void {
    if (this.#known.some((k) => k.test(key))) {
      this.report.known[key] = (this.report.known[key] ?? 0) + 1;
      return;
    }
    this.failed = true;
    let f = this.report.failures.find((x) => x.key === key);
    if (!f) {
      f = { key, count: 0, examples: [] };
      this.report.failures.push(f);
    }
    f.count++;
    if (f.examples.length < 3) {
      f.examples.push({
        seed: this.#seed,
        block: this.block,
        index: this.index,
        detail,
        input: printable(this.input, 600),
        inputBase64: this.input.length <= 4096 ? toBase64(this.input) : undefined,
        mutators: [...this.mutators],
        session: this.session,
      });
    }
  }

  /** An exception from code that may throw only `allowed` types. */
  unexpected(where: string, e: unknown, allowed: readonly (abstract new (
    // deno-lint-ignore no-explicit-any
    ...args: any[]
  ) => Error)[] = []): void {
    if (allowed.some((t) => e instanceof t)) return;
    const name = e instanceof Error ? e.constructor.name : typeof e;
    const detail = e instanceof Error ? `${e.stack ?? e.message}` : String(e);
    this.fail(`${where} threw ${name}: ${firstLine(e)}`, detail);
  }
}

function firstLine(e: unknown): string {
  const m = e instanceof Error ? e.message : String(e);
  // Numbers and quoted values vary per input: keep failure keys stable.
  return m.split("\n")[0].replace(/\d+/g, "N").replace(/"[^"]*"/g, '"…"').slice(0, 120);
}

/** Bytes as text: printable ASCII as is, SOH as `|`, anything else as `\xNN`. */
export function printable(b: Uint8Array, max = Infinity): string {
  let s = "";
  const n = Math.min(b.length, max);
  for (let i = 0; i < n; i++) {
    const c = b[i];
    if (c === SOH) s += "|";
    else if (c >= 32 && c < 127 && c !== 92) s += String.fromCharCode(c);
    else s += `\\x${c.toString(16).padStart(2, "0")}`;
  }
  return b.length > max ? `${s}... (${b.length} bytes)` : s;
}

function shortBase64(b: Uint8Array): string {
  return b.length <= 8192 ? `base64 ${toBase64(b)}` : `${b.length} bytes`;
}

function toBase64(b: Uint8Array): string {
  let s = "";
  for (let i = 0; i < b.length; i++) s += String.fromCharCode(b[i]);
  return btoa(s);
}

/** Decodes `printable`'s base64 back to bytes (for reproductions). */
export function fromBase64(s: string): Uint8Array {
  const bin = atob(s);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

// -------------------------------------------------------------------------------------------
// The codec layers: framer, decoder, validator

type Framed = Uint8Array | FixParseError;

/** Feeds `input` to a fresh framer cut at `cuts`; returns what `next` gave, in order. */
function frameAll(
  input: Uint8Array,
  cuts: readonly number[],
  max: number,
  dataFields: ReadonlyMap<number, number>,
  rec: Recorder,
): Framed[] | undefined {
  const framer = new FixFramer({ maxMessageSize: max, dataFields });
  const out: Framed[] = [];
  let from = 0;
  try {
    for (const cut of [...cuts, input.length]) {
      framer.push(input.subarray(from, cut));
      from = cut;
      for (let guard = 0;; guard++) {
        const r = framer.next();
        if (r === undefined) break;
        if (!(r instanceof Uint8Array) && !(r instanceof FixParseError)) {
          rec.fail("framer.next returned something else", String(r));
          return undefined;
        }
        out.push(r);
        if (guard > input.length + 16) {
          rec.fail("framer.next never returns undefined", `after ${guard} results`);
          return undefined;
        }
      }
      if (framer.buffered > max) {
        rec.fail(
          "framer buffered more than MaxMessageSize",
          `buffered ${framer.buffered} > ${max}`,
        );
      }
      if (framer.buffered > rec.report.maxBuffered) rec.report.maxBuffered = framer.buffered;
    }
  } catch (e) {
    rec.unexpected("framer", e);
    return undefined;
  }
  for (const r of out) {
    if (!(r instanceof Uint8Array)) continue;
    if (
      r.length > max || r[0] !== 56 || r[1] !== 61 || r[r.length - 1] !== SOH ||
      r[r.length - 7] !== 49 || r[r.length - 6] !== 48 || r[r.length - 5] !== 61
    ) {
      rec.fail("framer returned a malformed frame", printable(r, 200));
    }
  }
  return out;
}

/**
 * `nextMessage` (the session's read loop) gives, result by result, what `next` then
 * `decodeMessage` give for the same input cut the same way (`framed`): the same framing errors,
 * messages with the same fields, the same decoding errors.
 */
function checkNextMessage(
  input: Uint8Array,
  cuts: readonly number[],
  max: number,
  dataFields: ReadonlyMap<number, number>,
  framed: readonly Framed[],
  rec: Recorder,
): void {
  const framer = new FixFramer({ maxMessageSize: max, dataFields });
  const got: (FixMessage | FixParseError)[] = [];
  let from = 0;
  try {
    for (const cut of [...cuts, input.length]) {
      framer.push(input.subarray(from, cut));
      from = cut;
      for (let r = framer.nextMessage(); r !== undefined; r = framer.nextMessage()) {
        got.push(r);
        if (got.length > framed.length) break;
      }
    }
  } catch (e) {
    rec.unexpected("framer.nextMessage", e);
    return;
  }
  if (got.length !== framed.length) {
    const summary = (rs: readonly (Framed | FixMessage)[]) =>
      rs.map((r) =>
        r instanceof FixParseError
          ? `error "${r.message}"`
          : r instanceof FixMessage
          ? "message"
          : `frame ${r.length}`
      ).join("; ");
    rec.fail(
      "nextMessage gives another number of results than next",
      `next: ${summary(framed)} / nextMessage: ${summary(got)}`,
    );
    return;
  }
  for (let i = 0; i < framed.length; i++) {
    const w = framed[i];
    let want: FixMessage | FixParseError;
    if (w instanceof FixParseError) want = w;
    else {
      try {
        want = decodeMessage(w, dataFields);
      } catch (e) {
        if (!(e instanceof FixParseError)) return; // recorded by the decoder's own check
        want = e;
      }
    }
    const g = got[i];
    if (!sameResult(want, g)) {
      rec.fail(
        "nextMessage disagrees with next and decodeMessage",
        `result ${i}: ${describeResult(want)} / ${describeResult(g)}`,
      );
      return;
    }
  }
}

function describeResult(r: FixMessage | FixParseError): string {
  return r instanceof FixParseError ? `error "${r.message}"` : `message of ${r.fieldCount} fields`;
}

function sameResult(a: FixMessage | FixParseError, b: FixMessage | FixParseError): boolean {
  if (a instanceof FixParseError || b instanceof FixParseError) {
    return a instanceof FixParseError && b instanceof FixParseError && a.message === b.message &&
      (a.decoded === undefined) === (b.decoded === undefined) &&
      (a.decoded === undefined || sameFields(a.decoded, b.decoded!));
  }
  return sameFields(a, b);
}

function sameFields(a: FixMessage, b: FixMessage): boolean {
  if (a.fieldCount !== b.fieldCount) return false;
  for (let i = 0; i < a.fieldCount; i++) {
    if (a.tagAt(i) !== b.tagAt(i) || a.valueAt(i) !== b.valueAt(i)) return false;
  }
  return true;
}

function framesOf(results: readonly Framed[]): Uint8Array[] {
  return results.filter((r): r is Uint8Array => r instanceof Uint8Array);
}

function sameFrames(a: readonly Uint8Array[], b: readonly Uint8Array[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (!sameBytes(a[i], b[i])) return false;
  return true;
}

/** Decodes; returns the message, the parse error, or undefined after recording a failure. */
function decode(
  frame: Uint8Array,
  dataFields: ReadonlyMap<number, number>,
  rec: Recorder,
  where: string,
): FixMessage | FixParseError | undefined {
  try {
    const m = decodeMessage(frame, dataFields);
    if (!(m instanceof FixMessage)) {
      rec.fail(`${where} returned something else`, String(m));
      return undefined;
    }
    return m;
  } catch (e) {
    if (e instanceof FixParseError) {
      if (e.decoded !== undefined && !(e.decoded instanceof FixMessage)) {
        rec.fail(`${where} error's decoded is not a message`, String(e.decoded));
      }
      return e;
    }
    rec.unexpected(where, e);
    return undefined;
  }
}

/** Reads every field and group of a decoded message the way an application would. */
function exercise(m: FixMessage, dicts: readonly Dictionary[], rec: Recorder): void {
  try {
    void m.msgType;
    void m.seqNum;
    const n = m.fieldCount;
    for (let i = 0; i < n; i++) {
      const tag = m.tagAt(i);
      const v = m.valueAt(i);
      if (typeof v !== "string") rec.fail("decoded value is not a string", `${tag}=${v}`);
      if (!Number.isSafeInteger(tag) || tag < 1) {
        rec.fail("decoded tag is not a positive safe integer", `${tag}=${v.slice(0, 80)}`);
      }
    }
    for (const t of [8, 9, 34, 35, 36, 7, 16, 108, 10]) {
      m.intOr(t, 0);
      m.get(t);
      m.getAll(t);
    }
    const copy = m.clone();
    if (copy.fieldCount !== n) {
      rec.fail("clone changed the field count", `${n} vs ${copy.fieldCount}`);
    }
    for (const dict of dicts) {
      for (let i = 0; i < copy.size; i++) {
        const tag = copy.ownTagAt(i);
        const layout = dict.groupLayout(m.msgType, tag);
        if (layout) {
          for (const e of copy.getGroups(tag, layout)) {
            for (let k = 0; k < e.size; k++) e.ownValueAt(k);
          }
        }
      }
    }
  } catch (e) {
    rec.unexpected("message accessors", e);
  }
}

/** Re-encodes a decoded message and decodes it again: the same fields must come back. */
function roundTrip(
  m: FixMessage,
  begin: string,
  dataFields: ReadonlyMap<number, number>,
  rec: Recorder,
  when: string,
): void {
  let bytes: Uint8Array;
  try {
    bytes = encodeMessage(m, begin, { dataFields });
  } catch (e) {
    // Documented: a missing MsgType, or SOH in a value the encoder does not know as data.
    if (e instanceof TypeError) return;
    rec.unexpected("encodeMessage of a decoded message", e);
    return;
  }
  const back = decode(bytes, dataFields, rec, "decodeMessage of a re-encoded message");
  if (!(back instanceof FixMessage)) {
    if (back instanceof FixParseError) {
      rec.observe(
        `re-encoded message${when} does not decode: ${back.reason}`,
        `${printable(bytes, 300)} (input ${shortBase64(rec.input)})`,
      );
    }
    return;
  }
  const fields = (x: FixMessage) => {
    const out: string[] = [];
    for (let i = 0; i < x.fieldCount; i++) {
      const t = x.tagAt(i);
      if (t !== 8 && t !== 9 && t !== 10 && t !== 35) out.push(`${t}=${x.valueAt(i)}`);
    }
    return out.sort().join("|");
  };
  let same: boolean;
  try {
    same = fields(m) === fields(back);
  } catch (e) {
    rec.unexpected("message accessors", e);
    return;
  }
  if (!same) {
    rec.observe(
      `re-encoded message${when} decodes to other fields`,
      `${printable(bytes, 300)} (input ${shortBase64(rec.input)})`,
    );
  }
}

function checkProblems(problems: unknown, rec: Recorder, where: string): number {
  if (!Array.isArray(problems)) {
    rec.fail(`${where} returned a non-array`, String(problems));
    return 0;
  }
  for (const p of problems) {
    if (
      typeof p !== "object" || p === null || !Number.isInteger(p.reason) ||
      typeof p.text !== "string"
    ) {
      rec.fail(`${where} returned a malformed problem`, JSON.stringify(p));
    } else if (p.tag !== undefined && !Number.isSafeInteger(p.tag)) {
      rec.fail(
        `${where} returned a problem whose tag is not a safe integer`,
        `${p.tag}: ${p.text}`,
      );
    }
  }
  return problems.length;
}

// -------------------------------------------------------------------------------------------
// The session core driver

const STATES: ReadonlySet<SessionState> = new Set<SessionState>([
  "initial",
  "waitingForConnect",
  "waitingForConfirmLogon",
  "waitingForLogon",
  "established",
  "reconnecting",
  "waitingForConfirmLogout",
  "correctlyTerminated",
  "nonGracefullyTerminated",
]);

const EVENT_TYPES = new Set([
  "stateChanged",
  "logon",
  "logout",
  "gapDetected",
  "resendAnswered",
  "rejectSent",
  "rejectReceived",
  "messageRejected",
  "garbled",
  "disconnected",
  "reconnectFailed",
  "error",
]);

/** What our own messages should pass: the defaults, and no tag the version lacks. */
const OUTBOUND_VALIDATION: ValidationSettings = {
  ...DEFAULT_SESSION_SETTINGS.validation,
  prohibitUndefinedTags: true,
};

/**
 * After a `close`, until `disconnected`, only these may come (see the report on `send`);
 * `setTerminated` when the peer sends on after its Logout was answered.
 */
const AFTER_CLOSE = new Set(["timer", "close", "event", "settle", "setTerminated"]);

/** Settings varied per block. */
function blockSettings(rng: Rng): SessionSettings {
  const validation: ValidationSettings = {
    enabled: rng.chance(0.85),
    checkRequiredTags: rng.chance(0.8),
    prohibitUnknownTags: rng.chance(0.2),
    prohibitUndefinedTags: rng.chance(0.2),
    prohibitTagsWithoutValue: rng.chance(0.8),
    verifyTagsValues: rng.chance(0.8),
    prohibitDuplicatedTags: rng.chance(0.8),
    verifyFieldsOrder: rng.chance(0.8),
    verifyRepeatingGroupBounds: rng.chance(0.8),
    verifyTagsFormat: rng.chance(0.9),
    verifyTagsEnumerations: rng.chance(0.9),
    prohibitDelimiterInValues: rng.chance(0.9),
    verifyMsgType: rng.chance(0.9),
  };
  return {
    ...DEFAULT_SESSION_SETTINGS,
    heartbeatIntervalSeconds: rng.pick([1, 5, 30, 30]),
    logonTimeoutMs: rng.pick([1000, 5000]),
    logoutTimeoutMs: rng.pick([1000, 5000]),
    lateDelivery: rng.chance(0.3) ? "queue" : "resend",
    rejectMessageWhileNoConnection: rng.chance(0.2),
    messageTimeToLiveMs: rng.pick([1000, 60_000]),
    resendMessagesLimit: rng.pick([0, 0, 10]),
    duplicateResendRequestLimit: rng.pick([1, 3]),
    resendRequestBlockSize: rng.pick([0, 0, 5]),
    forceSeqNumReset: rng.pick(["never", "never", "first", "always"] as const),
    intradayLogoutTolerance: rng.chance(0.2),
    resetOnLogon: rng.chance(0.15),
    resetOnLogout: rng.chance(0.15),
    resetOnDisconnect: rng.chance(0.15),
    ignoreSeqNumTooLowAtLogon: rng.chance(0.2),
    allowMessageWithoutPossDupFlag: rng.chance(0.2),
    checkSendingTimeAccuracy: rng.chance(0.8),
    enableNextExpectedMsgSeqNum: rng.chance(0.3),
    incomingQueueSize: rng.pick([4, 10_000]),
    maxMessageSize: rng.pick([1 << 20, 1 << 20, 65536, 4096]),
    defaultApplVerId: "9",
    validation,
  };
}

interface PendingResend {
  begin: number;
  end: number;
}

/** A SessionCore, the store it would have, and the invariants it must keep. */
class CoreDriver {
  readonly core: SessionCore;
  readonly v: SessionVersion;
  readonly s: SessionSettings;
  readonly role: SessionRole;
  readonly #rec: Recorder;
  readonly #trace: ((line: string) => void) | undefined;
  /** An `answerLogout` action was returned: the answer is asked for after the check. */
  #answerLogout = false;
  now = T0;
  /** The next sender number the actions so far imply. */
  sender: number;
  /** A `close` was returned and `disconnected` not called yet. */
  closed = false;
  linked = false;
  store = new Map<number, Uint8Array>();
  resends: PendingResend[] = [];
  writing = false;
  delivered: FixMessage | undefined;
  lastLogonReset = false;
  logErrors: string[] = [];

  constructor(v: SessionVersion, rng: Rng, rec: Recorder, trace?: (line: string) => void) {
    this.v = v;
    this.#rec = rec;
    this.#trace = trace;
    this.s = blockSettings(rng);
    this.role = rng.chance(0.5) ? "acceptor" : "initiator";
    const start = rng.chance(0.8) ? 1 : rng.range(2, 1000);
    this.sender = start;
    const logErrors = this.logErrors;
    const logger: Logger = {
      debug() {},
      info() {},
      warn() {},
      error(message, fields) {
        logErrors.push(`${message}: ${fields?.error ?? JSON.stringify(fields)}`);
      },
    };
    const vs = this.s.validation;
    const fixt = v.begin === "FIXT.1.1";
    this.core = new SessionCore({
      id: new SessionId(OUR_ID, PEER_ID),
      beginString: v.begin,
      role: this.role,
      settings: this.s,
      numbers: {
        nextSenderSeqNum: start,
        nextTargetSeqNum: rng.chance(0.8) ? 1 : rng.range(2, 1000),
        creationTimeMs: 0,
        correctlyTerminated: rng.chance(0.2),
      },
      logger,
      validate: vs.enabled
        ? (m): MessageProblem[] => {
          if (!fixt) return validateMessage(m, v.transport, vs);
          const app = loadedApp(m, this);
          if (!app) return [{ reason: 11, tag: 1128, text: "Unknown ApplVerID" }];
          return validateMessage(m, v.transport, vs, app);
        }
        : undefined,
      supportsMsgType: (t, m) => (fixt ? loadedApp(m, this) : v.app)?.message(t) !== undefined,
      onResend: () => true,
      dataFields: DEFAULT_DATA_FIELDS,
    });
  }

  appDicts: Map<string, Dictionary> = new Map();

  /** Runs one core input and checks what it returns. */
  run(input: string, f: () => Action[], allowed: readonly (abstract new (
    // deno-lint-ignore no-explicit-any
    ...args: any[]
  ) => Error)[] = []): Action[] {
    const rec = this.#rec;
    let actions: Action[];
    const before = this.logErrors.length;
    try {
      actions = f();
    } catch (e) {
      rec.unexpected(`core.${input}`, e, allowed);
      return [];
    }
    rec.count("core.transitions");
    if (!Array.isArray(actions)) {
      rec.fail(`core.${input} returned a non-array`, String(actions));
      return [];
    }
    rec.count("core.actions", actions.length);
    this.#trace?.(`${input} -> ${actions.map(showAction).join(", ")}`);
    this.#check(input, actions);
    if (this.logErrors.length > before) {
      rec.fail(
        `core.${input} logged an error: ${firstLine(this.logErrors[before])}`,
        this.logErrors.slice(before).join("\n"),
      );
    }
    const state = this.core.state;
    if (!STATES.has(state)) rec.fail("core state is not a SessionState", String(state));
    if (this.core.nextSenderSeqNum !== this.sender) {
      rec.fail(
        `core.${input}: nextSenderSeqNum differs from what its actions imply`,
        `nextSenderSeqNum ${this.core.nextSenderSeqNum}, actions imply ${this.sender}`,
      );
      this.sender = this.core.nextSenderSeqNum;
    }
    const target = this.core.nextTargetSeqNum;
    if (!(Number.isInteger(target) && target >= 1)) {
      rec.fail("core nextTargetSeqNum is not a positive integer", String(target));
    } else if (!Number.isSafeInteger(target)) {
      rec.observe("nextTargetSeqNum beyond 2^53", `nextTargetSeqNum ${target} after ${input}`);
    }
    if (this.core.closing !== this.closed && this.linked) {
      rec.fail(
        `core.${input}: closing flag differs from the close actions`,
        `closing ${this.core.closing}, close seen ${this.closed}`,
      );
    }
    if (this.#answerLogout) {
      this.#answerLogout = false;
      this.run("answerPeerLogout", () => this.core.answerPeerLogout(this.now));
    }
    return actions;
  }

  #check(input: string, actions: Action[]): void {
    const rec = this.#rec;
    const bad = (why: string, a: unknown) => {
      rec.fail(`core.${input}: ${why}`, safeJson(a));
    };
    for (const a of actions) {
      if (typeof a !== "object" || a === null) {
        bad("an action is not an object", a);
        continue;
      }
      if (this.closed && !AFTER_CLOSE.has(a.type)) {
        // An application message put while closing is stored for later: allowed.
        const late = input === "send" && (a.type === "persist" || a.type === "setTerminated");
        if (!late) bad(`${a.type} action after close`, describe(a));
      }
      switch (a.type) {
        case "send": {
          this.#checkMessage(input, a.message, a.seq, a);
          if (a.store === "append" || a.store === "advance") {
            if (a.seq !== this.sender) {
              bad(
                `send (${a.store}) not numbered with the next sender number`,
                `numbered ${a.seq}, expected ${this.sender}: ${describe(a)}`,
              );
            }
            this.sender = a.seq + 1;
            if (a.store === "append") this.#stored(a.seq, a.message);
          } else if (a.store === "none") {
            if (a.seq > this.sender) {
              bad(
                "send (none) numbered above the next sender number",
                `numbered ${a.seq}, next sender number ${this.sender}: ${describe(a)}`,
              );
            }
          } else bad("send with an unknown store effect", describe(a));
          rec.count("core.sent");
          break;
        }
        case "persist":
          this.#checkMessage(input, a.message, a.seq, a);
          if (a.seq !== this.sender) {
            bad(
              "persist not numbered with the next sender number",
              `numbered ${a.seq}, expected ${this.sender}: ${describe(a)}`,
            );
          }
          this.sender = a.seq + 1;
          this.#stored(a.seq, a.message);
          break;
        case "setTarget":
        case "setSender":
          if (!Number.isInteger(a.seq) || a.seq < 1) bad(`${a.type} with a bad number`, a);
          if (a.type === "setSender") this.sender = a.seq;
          break;
        case "setTerminated":
          if (typeof a.value !== "boolean") bad("setTerminated without a boolean", a);
          break;
        case "resetStore":
          if (!Number.isFinite(a.atMs)) bad("resetStore without a time", a);
          this.sender = 1;
          this.store.clear();
          break;
        case "deliver":
          if (!(a.message instanceof FixMessage)) bad("deliver without a message", a);
          else {
            if (isAdmin(a.message.msgType)) bad("deliver of a session message", describe(a));
            this.delivered = a.message;
            rec.count("core.delivered");
          }
          break;
        case "resend":
          if (
            !Number.isInteger(a.begin) || !Number.isInteger(a.end) || a.begin < 1 || a.end < a.begin
          ) {
            bad("resend with a bad range", a);
          }
          this.resends.push({ begin: a.begin, end: a.end });
          break;
        case "close":
          if (typeof a.reason !== "string" || typeof a.flush !== "boolean") {
            bad("close malformed", a);
          }
          this.closed = true;
          rec.count("core.closes");
          break;
        case "timer":
          if (!Number.isFinite(a.atMs)) bad("timer without a finite time", a);
          break;
        case "event": {
          const e = a.event;
          if (!e || !EVENT_TYPES.has(e.type) || !Number.isFinite(e.atMs)) bad("malformed event", a);
          else if (e.type === "error") {
            bad(`error event: ${firstLine(e.error)}`, e.error instanceof Error ? e.error.stack : e);
          } else if (e.type === "stateChanged" && !STATES.has(e.to)) bad("unknown state", a);
          break;
        }
        case "settle":
          if (typeof a.ref !== "number" || (a.error !== undefined && !(a.error instanceof Error))) {
            bad("settle malformed", a);
          }
          break;
        case "resetSettled":
          if (a.error !== undefined && !(a.error instanceof Error)) {
            bad("resetSettled malformed", a);
          }
          break;
        case "answerLogout":
          // Performed as the link does, after the deliveries before it (here: at once).
          this.#answerLogout = true;
          break;
        default:
          bad("unknown action type", a);
      }
    }
  }

  /** An outbound message: numbered as its action says, addressed, encodable, valid. */
  #checkMessage(input: string, m: FixMessage, seq: number, a: Action): void {
    const rec = this.#rec;
    if (!(m instanceof FixMessage)) {
      rec.fail(`core.${input}: ${a.type} without a message`, safeJson(a));
      return;
    }
    if (!Number.isSafeInteger(seq) || seq < 1) {
      rec.fail(`core.${input}: ${a.type} number is not a positive safe integer`, describe(a));
    }
    if (m.get(34) !== String(seq)) {
      rec.fail(
        `core.${input}: ${a.type} message's MsgSeqNum differs from the action's number`,
        `MsgSeqNum ${m.get(34)}, action ${seq}: ${describe(a)}`,
      );
    }
    if (m.get(49) !== OUR_ID || m.get(56) !== PEER_ID || !m.get(52) || !m.msgType) {
      rec.fail(`core.${input}: ${a.type} message header incomplete`, describe(a));
    }
    let bytes: Uint8Array;
    try {
      bytes = encodeMessage(m, this.v.begin);
    } catch (e) {
      rec.unexpected(`encodeMessage of the core's ${m.msgType} message`, e);
      return;
    }
    // Soft check: the messages we send should satisfy our own dictionary.
    const back = decodeMessage(bytes);
    const app = isAdmin(back.msgType) ? undefined : this.v.app;
    const problems = this.v.begin === "FIXT.1.1"
      ? validateMessage(back, this.v.transport, OUTBOUND_VALIDATION, app)
      : validateMessage(back, this.v.transport, OUTBOUND_VALIDATION);
    for (const p of problems) {
      rec.observe(
        `outbound ${this.v.begin} ${m.msgType} invalid: reason ${p.reason} tag ${p.tag}`,
        `${p.text}: ${printable(bytes, 400)}`,
      );
    }
  }

  #stored(seq: number, m: FixMessage): void {
    try {
      this.store.set(seq, encodeMessage(m, this.v.begin));
    } catch {
      // Reported by #checkMessage.
    }
  }

  /** Stored messages of a range, as the store would stream them. */
  storedRange(begin: number, end: number): StoredMessage[] {
    const out: StoredMessage[] = [];
    for (const [seqNum, bytes] of this.store) {
      if (seqNum >= begin && seqNum <= end) out.push({ seqNum, bytes });
    }
    return out.sort((a, b) => a.seqNum - b.seqNum);
  }

  /** The link ended: what `disconnected` returns may follow a close (resets, settlements). */
  disconnected(reason: string): void {
    this.linked = false;
    this.closed = false;
    this.resends = [];
    this.writing = false;
    this.run("disconnected", () => this.core.disconnected(reason, this.now));
  }
}

function loadedApp(m: FixMessage, d: CoreDriver): Dictionary | undefined {
  const code = m.get(1128) ?? d.core.peerDefaultApplVerId ?? d.s.defaultApplVerId;
  return d.appDicts.get(code);
}

function safeJson(a: unknown): string {
  try {
    return JSON.stringify(a, (_k, v) => v instanceof FixMessage ? printable(encodeOrEmpty(v)) : v)
      .slice(0, 2000);
  } catch {
    return String(a);
  }
}

function encodeOrEmpty(m: FixMessage): Uint8Array {
  try {
    return encodeMessage(m);
  } catch {
    return new Uint8Array(0);
  }
}

function describe(a: Action): string {
  return showAction(a);
}

/** An action in one line, for traces and failure details. */
export function showAction(a: Action): string {
  switch (a.type) {
    case "send":
    case "persist":
    case "deliver": {
      const m = a.message;
      const fields: string[] = [];
      for (let i = 0; i < m.fieldCount && i < 14; i++) fields.push(`${m.tagAt(i)}=${m.valueAt(i)}`);
      const head = a.type === "send"
        ? `send(${a.store},${a.seq})`
        : a.type === "persist"
        ? `persist(${a.seq})`
        : "deliver";
      return `${head} ${fields.join("|")}`;
    }
    case "event":
      return a.event.type === "stateChanged" ? `state ${a.event.to}` : `event ${a.event.type}`;
    case "timer":
      return `timer ${a.atMs - T0}`;
    case "setTarget":
    case "setSender":
      return `${a.type} ${a.seq}`;
    case "close":
      return `close "${a.reason}"${a.flush ? " flush" : ""}`;
    case "resend":
      return `resend ${a.begin}..${a.end}`;
    default:
      return a.type;
  }
}

// -------------------------------------------------------------------------------------------
// Building inputs

const TEMPLATE_WEIGHTS: Record<string, number> = {
  "Logon": 2,
  "Logon+RawData": 1,
  "Heartbeat": 10,
  "TestRequest": 8,
  "ResendRequest": 8,
  "Reject": 4,
  "SequenceReset": 3,
  "SequenceReset+GapFill": 6,
  "Logout": 2,
  "NewOrderSingle": 14,
  "ExecutionReport": 14,
  "News+RawData": 8,
};

function pickTemplate(v: SessionVersion, rng: Rng): Template {
  const weights = v.templates.map((t) => TEMPLATE_WEIGHTS[t.name] ?? 8);
  return v.templates[rng.weighted(weights)];
}

/** The peer's next message for the session: mostly in sequence, sometimes not. */
function inboundFields(d: CoreDriver, t: Template, rng: Rng): Field[] {
  const target = d.core.nextTargetSeqNum;
  const r = rng.int(100);
  let seq = r < 78
    ? target
    : r < 88
    ? target + rng.range(1, 6)
    : r < 95
    ? Math.max(1, target - rng.range(1, 3))
    : r < 98
    ? 1
    : rng.pick([2 ** 31, 2 ** 53 - 1, 9_999_999_999_999_999]);
  const possDup = seq < target ? rng.chance(0.6) : rng.chance(0.03);
  const body = t.body.map(([tag, value]): Field => {
    switch (tag) {
      case 7: // BeginSeqNo
        return [tag, String(rng.range(1, Math.max(1, d.core.nextSenderSeqNum)))];
      case 16: // EndSeqNo
        return [tag, rng.chance(0.5) ? "0" : String(rng.range(1, d.core.nextSenderSeqNum + 5))];
      case 36: // NewSeqNo
        return [tag, String(Math.max(1, target + rng.range(-1, 8)))];
      case 108: // HeartBtInt
        return [tag, String(rng.pick([30, 30, 1, 0]))];
      default:
        return [tag, value];
    }
  });
  if (t.msgType === "A" && rng.chance(0.5)) {
    body.push([141, "Y"]);
    if (rng.chance(0.8)) seq = 1;
  }
  const sendingTimeMs = rng.chance(0.97) ? d.now : d.now + rng.pick([-300_000, 300_000, -3e11]);
  const fields = render(d.v.begin, { ...t, body }, {
    sender: PEER_ID,
    target: OUR_ID,
    seq,
    sendingTimeMs,
    possDup,
    applVerId: d.v.begin === "FIXT.1.1" && rng.chance(0.3)
      ? rng.pick(["9", "7", "6", "1"])
      : undefined,
  });
  return fields;
}

/** A valid Logon from the peer, for the handshake. */
function peerLogon(d: CoreDriver, reset: boolean): FixMessage {
  const t = d.v.templates.find((x) => x.name === "Logon")!;
  const body: Field[] = t.body.map((
    [tag, value],
  ) => [tag, tag === 108 ? String(d.s.heartbeatIntervalSeconds) : value]);
  if (reset) body.push([141, "Y"]);
  const fields = render(d.v.begin, { ...t, body }, {
    sender: PEER_ID,
    target: OUR_ID,
    seq: reset ? 1 : d.core.nextTargetSeqNum,
    sendingTimeMs: d.now,
  });
  return decodeMessage(encode(fields));
}

/** An application message to send (header fields are set by the core). */
function appMessage(d: CoreDriver): FixMessage {
  const t = d.v.templates.find((x) => x.name === "NewOrderSingle")!;
  const m = new FixMessage("D");
  for (const [tag, value] of t.body) if (typeof value === "string") m.add(tag, value);
  return m;
}

// -------------------------------------------------------------------------------------------
// One block

interface BlockState {
  rng: Rng;
  v: SessionVersion;
  d: CoreDriver;
  /** A framer fed every input of the block, in random chunks, and garbage between. */
  stream: FixFramer;
  streamMax: number;
  /** A few recent inputs, for splicing. */
  recent: Uint8Array[];
}

function connect(d: CoreDriver, rng: Rng, rec: Recorder): void {
  const remote = rng.chance(0.95) ? "127.0.0.1" : undefined;
  const acts = d.run("connected", () => d.core.connected(d.now, remote));
  d.linked = true;
  d.closed = false;
  let ourReset = false;
  for (const a of acts) {
    if (a.type === "send" && a.message.msgType === "A") ourReset = a.message.get(141) === "Y";
  }
  if (d.closed) return;
  // The peer's Logon (an acceptor admits it; an initiator gets it as the answer).
  const s = d.s;
  const reset = d.role === "initiator"
    ? ourReset
    : s.resetOnLogon || s.forceSeqNumReset === "always" || rng.chance(0.1);
  const logon = peerLogon(d, reset);
  d.now += rng.range(0, 50);
  d.run("admitLogon", () => d.core.admitLogon(logon, d.now));
  d.lastLogonReset = reset;
  rec.count(d.core.state === "established" ? "core.logons" : "core.logonsNotEstablished");
}

/** Core inputs besides the peer's messages: time passing, sends, operator actions, resends. */
function coreExtras(d: CoreDriver, rng: Rng, rec: Recorder): void {
  // Resend answers the store would stream back.
  if (d.resends.length > 0 && rng.chance(0.7) && d.linked) {
    const r = d.resends.shift()!;
    const stored = d.storedRange(r.begin, r.end);
    const blocks = rng.range(1, 3);
    const size = Math.max(1, Math.ceil(stored.length / blocks));
    for (let i = 0; i < stored.length || i === 0; i += size) {
      const block = stored.slice(i, i + size);
      d.run("resendBlock", () => d.core.resendBlock(block, d.now));
      if (stored.length === 0) break;
    }
    d.run("resendDone", () => d.core.resendDone(d.now));
    d.writing = true;
    rec.count("core.resendsAnswered");
  }
  if (d.writing && rng.chance(0.6)) {
    d.writing = false;
    d.run("resendWritten", () => d.core.resendWritten(d.now));
  }
  const r = rng.int(1000);
  if (r < 120) {
    const hb = d.core.heartbeatIntervalSeconds * 1000;
    d.now += rng.pick([0, 1, 100, 1000, hb, hb * 1.2, hb * 2.5, 5000, 60_000]);
    d.run("onTimer", () => d.core.onTimer(d.now));
  } else if (r < 180) {
    d.run("send", () => d.core.send(appMessage(d), d.now, rng.int(3), rng.int(300)));
  } else if (r < 195) {
    d.run("logout", () => d.core.logout(rng.chance(0.5) ? "bye" : undefined, d.now));
  } else if (r < 200) {
    d.run("drop", () => d.core.drop("dropped by the operator", d.now));
  } else if (r < 210) {
    if (d.linked && !d.closed && d.core.state === "established") {
      d.run("resetSequences", () => d.core.resetSequences(d.now));
    }
  } else if (r < 225) {
    if (d.delivered) {
      const msg = d.delivered;
      const error = rng.chance(0.5)
        ? new MessageRejectError("Value is incorrect", {
          reason: rng.pick([5, 99, 0]),
          refTagId: 54,
        })
        : new BusinessRejectError("Unknown security", { reason: rng.pick([2, 0]) });
      d.run("deliveryFailed", () => d.core.deliveryFailed(msg, error, d.now));
    }
  } else if (r < 232) {
    // The network dropped the link, whatever the state.
    if (d.linked) d.disconnected("network error");
  }
}

function offlineOps(d: CoreDriver, rng: Rng): void {
  for (let n = rng.int(3); n > 0; n--) {
    const r = rng.int(5);
    if (r === 0) d.run("send", () => d.core.send(appMessage(d), d.now, rng.int(3), 100));
    else if (r === 1) d.run("resetLocal", () => d.core.resetLocal(d.now));
    else if (r === 2) {
      const sender = d.core.nextSenderSeqNum + rng.range(-1, 3);
      d.run(
        "setSequenceNumbers",
        () =>
          d.core.setSequenceNumbers({
            nextSenderSeqNum: sender,
            nextTargetSeqNum: rng.range(1, 20),
          }),
        [RangeError],
      );
    } else if (r === 3 && d.role === "initiator") {
      const hb = rng.pick([1, 30, -1, 1.5, 2_000_000]);
      try {
        d.core.setHeartbeatInterval(hb);
      } catch (e) {
        if (!(e instanceof RangeError)) throw e;
      }
    } else d.now += rng.range(0, 10_000);
  }
}

/** Runs inputs `[from, to)` of a block; returns the time of the slowest. */
function runBlock(
  seed: number,
  block: number,
  ctx: Context,
  rec: Recorder,
  options: FuzzOptions,
  count: number,
  time: (ms: number, index: number, chunks: number) => void,
): void {
  const rng = new Rng(mix(seed, block));
  const v = ctx.corpus[rng.int(ctx.corpus.length)];
  const d = new CoreDriver(v, rng, rec, options.trace);
  d.appDicts = ctx.appDicts;
  rec.block = block;
  rec.session = `${v.begin} ${d.role}`;
  const streamMax = rng.pick([4096, 65536, 1 << 20]);
  const st: BlockState = {
    rng,
    v,
    d,
    stream: new FixFramer({ maxMessageSize: streamMax }),
    streamMax,
    recent: [],
  };
  const everySplit = options.everySplitEvery ?? 64;
  const untilIndex = options.untilIndex ?? Infinity;
  rec.index = -1;
  rec.input = new Uint8Array(0);
  rec.mutators = [];
  connect(d, rng, rec);
  for (let index = 0; index < count && index <= untilIndex; index++) {
    rec.index = index;
    rec.mutators = [];
    // The session side: reconnect, operator actions, time.
    if (!d.linked) {
      offlineOps(d, rng);
      connect(d, rng, rec);
    } else if (d.closed && rng.chance(0.4)) {
      d.now += rng.range(0, 200);
      d.disconnected(d.core.closing ? "closed" : "network error");
      continue;
    }
    coreExtras(d, rng, rec);
    if (!d.linked) continue;
    // The input: a corpus message for this session, mutated or not.
    const t = pickTemplate(v, rng);
    const clean = encode(inboundFields(d, t, rng));
    let input = clean;
    const used = rec.mutators;
    if (rng.chance(0.6)) {
      const other = () => st.recent.length > 0 ? rng.pick(st.recent) : clean;
      input = mutate(clean, rng, other, used);
      if (rng.chance(0.5)) {
        input = refresh(input);
        used.push("refresh");
      }
      for (const name of used) rec.report.mutators[name] = (rec.report.mutators[name] ?? 0) + 1;
    }
    if (st.recent.length < 8) st.recent.push(clean);
    else st.recent[rng.int(8)] = clean;
    rec.input = input;
    const cuts: number[] = [];
    for (let n = rng.int(4); n > 0; n--) cuts.push(rng.int(input.length + 1));
    cuts.sort((a, b) => a - b);
    // Now and then a slow peer: the input in small chunks (at most 2000 of them), big inputs
    // more rarely (they are slow to drip while the framer rescans, see the framer test).
    const drip = rng.pick([1, 16, 64, 256, 1460]);
    const dripRoll = rng.float();
    if (
      dripRoll < (input.length <= 4096 ? 0.05 : 0.005) &&
      input.length <= (options.dripMaxBytes ?? Infinity)
    ) {
      cuts.length = 0;
      const step = Math.max(drip, Math.ceil(input.length / 2000));
      for (let at = step; at < input.length; at += step) cuts.push(at);
      rec.count("framer.dripFed");
    }
    const doEverySplit = input.length <= 1024 && rng.int(everySplit) === 0;
    const streamCuts = rng.int(3);
    const garbage = rng.chance(0.05) ? randomGarbage(rng) : undefined;
    const validateOther = rng.chance(0.1) ? rng.pick(ctx.allDicts) : undefined;
    const dataFields = rng.chance(0.8) ? DEFAULT_DATA_FIELDS : v.app.dataFields();
    d.now += rng.range(0, 20);
    const started = performance.now();
    resetStage();
    try {
      processInput(
        st,
        input,
        cuts,
        doEverySplit,
        streamCuts,
        garbage,
        validateOther,
        dataFields,
        rec,
      );
    } catch (e) {
      // Anything the layers' own checks did not catch (the harness reads values too).
      rec.unexpected("an input's processing", e);
    }
    let ms = performance.now() - started;
    if (ms > inputBoundMs(options.maxInputMs ?? 100, input.length) && stage.core < ms / 2) {
      // A GC pause or the scheduler may stall one input: time the pure layers again (the core
      // cannot be replayed) and keep the faster measurement.
      const first = { ...stage };
      resetStage();
      const again = performance.now();
      try {
        processInput(
          st,
          input,
          cuts,
          doEverySplit,
          streamCuts,
          garbage,
          validateOther,
          dataFields,
          new Recorder(seed),
          false,
        );
      } catch {
        // Recorded by the first run.
      }
      const retried = performance.now() - again + first.core;
      if (retried < ms) {
        rec.count("slowInputsFastOnRetry");
        ms = retried;
        stage.core = first.core;
      } else Object.assign(stage, first);
    }
    time(ms, index, cuts.length);
    if (rec.failed && options.stopOnFailure) return;
  }
}

function randomGarbage(rng: Rng): Uint8Array {
  const n = rng.range(1, 5000);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = rng.chance(0.02) ? rng.pick([56, 61, 70, 73, 88, 1]) : rng.u32() & 255;
  }
  return out;
}

/** Time spent per layer on the current input, ms. */
const stage = { framer: 0, decoder: 0, validator: 0, core: 0, accessors: 0 };

function resetStage(): void {
  for (const k of Object.keys(stage) as (keyof typeof stage)[]) stage[k] = 0;
}

/** One input through every layer; the part that is timed. */
function processInput(
  st: BlockState,
  input: Uint8Array,
  cuts: readonly number[],
  everySplit: boolean,
  streamCuts: number,
  garbage: Uint8Array | undefined,
  validateOther: Dictionary | undefined,
  dataFields: ReadonlyMap<number, number>,
  rec: Recorder,
  withCore = true,
): void {
  const { d, v } = st;
  const max = d.s.maxMessageSize;
  let t = performance.now();
  const lap = (name: keyof typeof stage) => {
    const now = performance.now();
    stage[name] += now - t;
    t = now;
  };
  // Framer: the whole input at once, and cut in chunks: the same frames either way.
  const whole = frameAll(input, [], max, dataFields, rec);
  if (whole === undefined) return;
  const chunked = frameAll(input, cuts, max, dataFields, rec);
  // The session's read loop: the same results as next and decodeMessage, for the same cuts.
  checkNextMessage(input, [], max, dataFields, whole, rec);
  if (chunked) checkNextMessage(input, cuts, max, dataFields, chunked, rec);
  const frames = framesOf(whole);
  if (chunked && !sameFrames(frames, framesOf(chunked))) {
    rec.fail("framer gives other frames when the input is cut", `cuts ${cuts.join(",")}`);
  }
  if (everySplit) {
    rec.count("framer.everySplitInputs");
    for (let i = 1; i < input.length; i++) {
      const r = frameAll(input, [i], max, dataFields, rec);
      if (r && !sameFrames(frames, framesOf(r))) {
        rec.fail("framer gives other frames when the input is cut", `cut at ${i}`);
        break;
      }
    }
  }
  // The block's long-lived framer: this input (in pieces) after earlier ones and garbage.
  if (withCore) {
    try {
      const pieces = garbage ? [garbage, input] : [input];
      for (const p of pieces) {
        let from = 0;
        for (let k = 0; k <= streamCuts; k++) {
          const to = k === streamCuts ? p.length : from + Math.floor((p.length - from) / 2);
          st.stream.push(p.subarray(from, to));
          from = to;
          for (let r = st.stream.next(); r !== undefined; r = st.stream.next()) {
            if (!(r instanceof Uint8Array) && !(r instanceof FixParseError)) {
              rec.fail("stream framer returned something else", String(r));
              break;
            }
          }
          if (st.stream.buffered > st.streamMax) {
            rec.fail(
              "stream framer buffered more than MaxMessageSize",
              `buffered ${st.stream.buffered} > ${st.streamMax}`,
            );
          }
        }
      }
    } catch (e) {
      rec.unexpected("stream framer", e);
    }
  }
  lap("framer");
  // Decoder on the raw input as well as on each frame.
  const raw = decode(input, dataFields, rec, "decodeMessage(raw input)");
  if (raw instanceof FixMessage) rec.count("decoder.rawDecoded");
  lap("decoder");
  for (const r of whole) {
    if (r instanceof FixParseError) {
      rec.count("framer.errors");
      if (d.linked && withCore) d.run("onGarbled", () => d.core.onGarbled(r, d.now));
      lap("core");
      continue;
    }
    rec.count("framer.frames");
    const m = decode(r, dataFields, rec, "decodeMessage");
    lap("decoder");
    if (m === undefined) continue;
    if (m instanceof FixParseError) {
      rec.count(m.decoded ? "decoder.errorsWithMessage" : "decoder.errors");
      if (d.linked && withCore) d.run("onGarbled", () => d.core.onGarbled(m, d.now));
      lap("core");
      continue;
    }
    rec.count("decoder.messages");
    // Validator: this session's dictionaries, and now and then another version's.
    try {
      const vs = d.s.validation;
      const n = v.begin === "FIXT.1.1"
        ? validateMessage(m, v.transport, vs, loadedApp(m, d))
        : validateMessage(m, v.transport, vs);
      rec.count(n.length === 0 ? "validator.clean" : "validator.problems");
      checkProblems(n, rec, "validateMessage");
      if (validateOther) {
        checkProblems(
          validateMessage(m, validateOther, { ...vs, enabled: true }, validateOther),
          rec,
          "validateMessage (other dictionary)",
        );
      }
    } catch (e) {
      rec.unexpected("validateMessage", e);
    }
    lap("validator");
    // Session core (its own validation included).
    if (d.linked && withCore) {
      const msg = m;
      const awaiting = d.core.state === "waitingForLogon" ||
        d.core.state === "waitingForConfirmLogon";
      d.run(
        awaiting ? "admitLogon" : "onMessage",
        () => awaiting ? d.core.admitLogon(msg, d.now) : d.core.onMessage(msg, d.now),
      );
    }
    lap("core");
    // Accessors and round trips, on new decodings (the core may hold the first).
    const fresh = decode(r, dataFields, rec, "decodeMessage (again)");
    if (fresh instanceof FixMessage) roundTrip(fresh, v.begin, dataFields, rec, "");
    const again = decode(r, dataFields, rec, "decodeMessage (again)");
    if (again instanceof FixMessage) {
      exercise(again, [v.transport, v.app], rec);
      roundTrip(again, v.begin, dataFields, rec, " after its values were read");
    }
    lap("accessors");
  }
}

// -------------------------------------------------------------------------------------------
// The run

/**
 * Runs the fuzzer.
 *
 * @param options Seed, size and bounds.
 * @returns The report.
 */
export async function runFuzz(options: FuzzOptions): Promise<FuzzReport> {
  const ctx = await loadContext();
  const rec = new Recorder(options.seed, options.known);
  const report = rec.report;
  const blockSize = options.blockSize ?? 2048;
  const heapEvery = options.heapEvery ?? 100_000;
  const maxMs = options.maxInputMs ?? 100;
  const gc = (globalThis as { gc?: () => void }).gc;
  const started = performance.now();
  let nextSample = 0;
  const sample = () => {
    gc?.();
    report.heap.push([report.inputs, Deno.memoryUsage().heapUsed]);
    report.elapsedMs = performance.now() - started;
    options.onSample?.(report);
  };
  let block = options.onlyBlock ?? options.firstBlock ?? 0;
  while (report.inputs < options.inputs) {
    const count = Math.min(blockSize, options.inputs - report.inputs);
    rec.failed = false;
    runBlock(options.seed, block, ctx, rec, options, count, (ms, index, chunks) => {
      report.inputs++;
      if (ms > report.maxInputMs) {
        report.maxInputMs = ms;
        report.maxInputAt = `block ${block} index ${index} (${rec.input.length} bytes)`;
      }
      if (ms > 10) report.slowInputs++;
      const bound = inputBoundMs(maxMs, rec.input.length);
      if (ms > bound) {
        const parts = Object.entries(stage).sort((a, b) => b[1] - a[1]);
        rec.fail(
          `an input took more than ${bound.toFixed(0)} ms (mostly in the ${parts[0][0]})`,
          `${ms.toFixed(1)} ms for ${rec.input.length} bytes in ${chunks + 1} chunks: ` +
            parts.map(([k, t]) => `${k} ${t.toFixed(1)} ms`).join(", "),
        );
      }
      if (report.inputs >= nextSample) {
        sample();
        nextSample += heapEvery;
      }
    });
    report.blocks++;
    block++;
    if ((rec.failed && options.stopOnFailure) || options.onlyBlock !== undefined) break;
  }
  sample();
  return report;
}

/**
 * The time an input may take: `maxMs`, and as much again per MiB. A message near MaxMessageSize
 * goes through the framer several times (whole, cut, every layer) and its values are read as
 * text: about 90 ms for 1 MB on a quiet machine, up to 109 ms when another process shares the
 * cores. Anything worse than linear in the input still shows: a quadratic step on 1 MB takes
 * seconds.
 */
export function inputBoundMs(maxMs: number, bytes: number): number {
  return maxMs * (1 + bytes / 1_048_576);
}

/**
 * Feeds a framer an endless stream of garbage (random bytes with `8=FIX` prefixes, partial
 * headers announcing large BodyLengths, CheckSums) and checks its buffer stays within
 * MaxMessageSize.
 *
 * @param seed The seed.
 * @param bytes How many bytes to feed.
 * @param max MaxMessageSize.
 * @returns The largest `buffered` seen after draining, and the counts of results.
 */
export function garbageStream(
  seed: number,
  bytes: number,
  max: number,
): { maxBuffered: number; errors: number; frames: number; fed: number } {
  const rng = new Rng(seed);
  const framer = new FixFramer({ maxMessageSize: max });
  const enc = new TextEncoder();
  const snippets = [
    "8=FIX.4.4\x01",
    "8=FIX.4.4\x019=",
    `8=FIX.4.4\x019=${max - 30}\x01`,
    `8=FIX.4.4\x019=${max * 4}\x01`,
    "8=FIX",
    "8=FIXT.1.1\x019=5\x0135=0\x0110=000\x01",
    "\x0110=123\x01",
    "95=1000\x0196=",
    "8=FIX.4.4\x019=99999999999\x01",
    "8=FIX.4.4\x019=12\x0135=0\x0149=A\x0110=",
  ].map((s) => enc.encode(s));
  let maxBuffered = 0, errors = 0, frames = 0, fed = 0;
  while (fed < bytes) {
    const n = rng.range(1, 8192);
    const chunk = new Uint8Array(n);
    let i = 0;
    while (i < n) {
      if (rng.chance(0.01)) {
        const s = rng.pick(snippets);
        const k = Math.min(s.length, n - i);
        chunk.set(s.subarray(0, k), i);
        i += k;
      } else if (rng.chance(0.3)) {
        // A long run of filler bytes, as a huge value would be.
        const k = Math.min(rng.range(1, 4096), n - i);
        chunk.fill(rng.pick([65, 48, 0, 1]), i, i + k);
        i += k;
      } else chunk[i++] = rng.u32() & 255;
    }
    framer.push(chunk);
    fed += n;
    for (let r = framer.next(); r !== undefined; r = framer.next()) {
      if (r instanceof FixParseError) errors++;
      else frames++;
    }
    if (framer.buffered > maxBuffered) maxBuffered = framer.buffered;
  }
  return { maxBuffered, errors, frames, fed };
}
