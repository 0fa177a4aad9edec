/**
 * The admin endpoint: Prometheus metrics, a JSON API, live session updates (Server-Sent
 * Events) and the operator page, served with `Deno.serve` on loopback by default.
 *
 * Endpoints (every one but the page's own files needs `Authorization: Bearer <token>` when a
 * token is configured):
 *
 * - `GET /metrics`: Prometheus text exposition (`text/plain; version=0.0.4`).
 * - `GET /`: the admin page (`/admin.js`, `/admin.css`).
 * - `GET /api/sessions`, `GET /api/sessions/:id`: sessions as JSON.
 * - `GET /api/sessions/:id/messages?type=D`: recent messages with tag names.
 * - `GET /api/events`: Server-Sent Events: `sessions` snapshots and session `event`s.
 * - `POST /api/sessions/:id/{logout|disconnect|reset|seqnums}`: operator actions.
 *
 * `:id` is `encodeURIComponent(session.id.toString())`.
 *
 * @module
 */

import type { Dictionary } from "../dictionary/dictionary.ts";
import { type FixVersionName, loadDictionary } from "../dictionary/load.ts";
import { type Logger, maskSecrets } from "../logger.ts";
import { FieldMap } from "../message/fix_message.ts";
import { SECRET_TAGS } from "../message/mask.ts";
import { formatMessage, type TagNamer } from "../message/printer.ts";
import type { SessionEvent, SessionState } from "../session/events.ts";
import { ResetNotConfirmedError } from "../errors.ts";
import type { FixEngine } from "./fix_engine.ts";
import type { Session } from "./session.ts";
import { ADMIN_PAGE_HTML, ADMIN_PAGE_SCRIPT, ADMIN_PAGE_STYLE } from "./admin_page.ts";

/** Every session state, in the order the metrics list them. */
const STATES: readonly SessionState[] = [
  "initial",
  "waitingForConnect",
  "waitingForConfirmLogon",
  "waitingForLogon",
  "established",
  "reconnecting",
  "waitingForConfirmLogout",
  "correctlyTerminated",
  "nonGracefullyTerminated",
];

// ---------------------------------------------------------------------------------------------
// Metrics

type MetricType = "counter" | "gauge";

interface Family {
  name: string;
  type: MetricType;
  help: string;
  samples: string[];
}

/** Escapes a label value: backslash, double quote and line feed. */
function labelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => c === "\n" ? "\\n" : `\\${c}`);
}

function labels(pairs: Record<string, string>): string {
  const parts = Object.entries(pairs).map(([k, v]) => `${k}="${labelValue(v)}"`);
  return parts.length === 0 ? "" : `{${parts.join(",")}}`;
}

function sampleValue(n: number): string {
  if (Number.isNaN(n)) return "NaN";
  if (n === Infinity) return "+Inf";
  if (n === -Infinity) return "-Inf";
  return String(n);
}

/** One metric per session, read from the session. */
interface SessionMetricSpec {
  name: string;
  type: MetricType;
  help: string;
  value(s: Session): number;
}

const SESSION_METRICS: readonly SessionMetricSpec[] = [
  {
    name: "fixwire_session_connected",
    type: "gauge",
    help: "1 while a connection is attached to the session, else 0.",
    value: (s) => s.connected ? 1 : 0,
  },
  {
    name: "fixwire_session_next_sender_seq_num",
    type: "gauge",
    help: "The next outgoing MsgSeqNum(34); NaN before the store is open.",
    value: (s) => s.nextSenderSeqNum,
  },
  {
    name: "fixwire_session_next_target_seq_num",
    type: "gauge",
    help: "The next expected incoming MsgSeqNum(34); NaN before the store is open.",
    value: (s) => s.nextTargetSeqNum,
  },
  {
    name: "fixwire_session_heartbeat_interval_seconds",
    type: "gauge",
    help: "HeartBtInt(108) in use: the negotiated one once logged on, else the configured one.",
    value: (s) => s.heartbeatIntervalSeconds,
  },
  {
    name: "fixwire_session_outgoing_buffer_bytes",
    type: "gauge",
    help: "Bytes queued for the connection and not yet written.",
    value: (s) => s.outgoingBytes,
  },
  {
    name: "fixwire_session_messages_received_total",
    type: "counter",
    help: "Messages received (garbled ones are counted apart).",
    value: (s) => s.metrics.messagesIn,
  },
  {
    name: "fixwire_session_received_bytes_total",
    type: "counter",
    help: "Bytes received in those messages.",
    value: (s) => s.metrics.bytesIn,
  },
  {
    name: "fixwire_session_messages_sent_total",
    type: "counter",
    help: "Messages sent, resends and gap fills included.",
    value: (s) => s.metrics.messagesOut,
  },
  {
    name: "fixwire_session_sent_bytes_total",
    type: "counter",
    help: "Bytes handed to the connection.",
    value: (s) => s.metrics.bytesOut,
  },
  {
    name: "fixwire_session_messages_resent_total",
    type: "counter",
    help: "Messages resent in answer to ResendRequests.",
    value: (s) => s.metrics.messagesResent,
  },
  {
    name: "fixwire_session_resend_requests_answered_total",
    type: "counter",
    help: "ResendRequests answered.",
    value: (s) => s.metrics.resendsAnswered,
  },
  {
    name: "fixwire_session_rejects_sent_total",
    type: "counter",
    help: "Session-level Rejects (35=3) sent.",
    value: (s) => s.metrics.rejectsSent,
  },
  {
    name: "fixwire_session_rejects_received_total",
    type: "counter",
    help: "Session-level Rejects (35=3) received.",
    value: (s) => s.metrics.rejectsReceived,
  },
  {
    name: "fixwire_session_garbled_messages_total",
    type: "counter",
    help: "Garbled messages received and ignored.",
    value: (s) => s.metrics.garbled,
  },
  {
    name: "fixwire_session_logons_total",
    type: "counter",
    help: "Logons completed.",
    value: (s) => s.metrics.logons,
  },
  {
    name: "fixwire_session_disconnects_total",
    type: "counter",
    help: "Disconnections.",
    value: (s) => s.metrics.disconnects,
  },
  {
    name: "fixwire_session_timer_lateness_seconds",
    type: "gauge",
    help: "How late the session's last timer (heartbeat, TestRequest, deadlines) fired.",
    value: (s) => s.metrics.timerLatenessMs / 1000,
  },
  {
    name: "fixwire_session_timer_lateness_max_seconds",
    type: "gauge",
    help: "The most any timer of the session fired late.",
    value: (s) => s.metrics.timerLatenessMaxMs / 1000,
  },
  {
    name: "fixwire_session_store_write_seconds",
    type: "gauge",
    help: "How long the last store write before a socket write took.",
    value: (s) => s.metrics.storeWriteMs / 1000,
  },
  {
    name: "fixwire_session_store_write_max_seconds",
    type: "gauge",
    help: "The longest store write before a socket write.",
    value: (s) => s.metrics.storeWriteMaxMs / 1000,
  },
];

/**
 * Renders the engine's metrics in the Prometheus text exposition format (version 0.0.4, which
 * OpenMetrics scrapers read too): a `# HELP` and a `# TYPE` line per metric, names prefixed
 * `fixwire_`, counters ending in `_total`, times in seconds, and every per-session sample
 * labelled `session="SENDER->TARGET"` (with `:QUALIFIER` when there is one). `docs/admin.md`
 * lists every metric.
 *
 * @param engine The engine whose sessions are measured.
 * @returns The exposition text, ending with a line feed.
 * @example
 * ```ts
 * import { FixEngine, FIXVersion, SessionId } from "@fixwire/engine";
 * import { formatMetrics } from "@fixwire/engine";
 * await using engine = new FixEngine();
 * engine.createSession(new SessionId("TEST1", "TEST2"), "FIX44", FIXVersion.FIX44);
 * formatMetrics(engine).includes('fixwire_session_state{session="TEST1->TEST2",state="initial"} 1');
 * ```
 */
export function formatMetrics(engine: FixEngine): string {
  const sessions = engine.sessions;
  const families: Family[] = [];
  const byState = new Map<SessionState, number>(STATES.map((s) => [s, 0]));
  for (const s of sessions) byState.set(s.state, (byState.get(s.state) ?? 0) + 1);
  families.push({
    name: "fixwire_sessions",
    type: "gauge",
    help: "Sessions of the engine (not finalized), by state.",
    samples: [...byState].map(([state, n]) => `fixwire_sessions${labels({ state })} ${n}`),
  });
  const info: Family = {
    name: "fixwire_session_info",
    type: "gauge",
    help: "Always 1; labels: the session's CompIDs, qualifier, FIX version and role.",
    samples: [],
  };
  const state: Family = {
    name: "fixwire_session_state",
    type: "gauge",
    help: "1 for the session's current state, 0 for every other state.",
    samples: [],
  };
  const perSession = SESSION_METRICS.map((m): Family & { spec: SessionMetricSpec } => ({
    name: m.name,
    type: m.type,
    help: m.help,
    samples: [],
    spec: m,
  }));
  for (const s of sessions) {
    const session = s.id.toString();
    info.samples.push(
      `fixwire_session_info${
        labels({
          session,
          sender: s.id.sender,
          target: s.id.target,
          qualifier: s.id.qualifier ?? "",
          version: s.version,
          role: s.role ?? "",
        })
      } 1`,
    );
    const current = s.state;
    for (const st of STATES) {
      state.samples.push(
        `fixwire_session_state${labels({ session, state: st })} ${st === current ? 1 : 0}`,
      );
    }
    for (const f of perSession) {
      f.samples.push(`${f.name}${labels({ session })} ${sampleValue(f.spec.value(s))}`);
    }
  }
  families.push(info, state, ...perSession);
  let out = "";
  for (const f of families) {
    out += `# HELP ${f.name} ${f.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}\n`;
    out += `# TYPE ${f.name} ${f.type}\n`;
    for (const line of f.samples) out += line + "\n";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// JSON views

/** A session as the JSON API shows it. */
interface SessionView {
  id: string;
  sender: string;
  target: string;
  qualifier: string | null;
  version: string;
  role: string | null;
  state: SessionState;
  connected: boolean;
  nextSenderSeqNum: number | null;
  nextTargetSeqNum: number | null;
  heartbeatIntervalSeconds: number;
  outgoingBytes: number;
  metrics: Record<string, number>;
}

function finite(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

function sessionView(s: Session): SessionView {
  return {
    id: s.id.toString(),
    sender: s.id.sender,
    target: s.id.target,
    qualifier: s.id.qualifier ?? null,
    version: s.version,
    role: s.role ?? null,
    state: s.state,
    connected: s.connected,
    nextSenderSeqNum: finite(s.nextSenderSeqNum),
    nextTargetSeqNum: finite(s.nextTargetSeqNum),
    heartbeatIntervalSeconds: s.heartbeatIntervalSeconds,
    outgoingBytes: s.outgoingBytes,
    metrics: { ...s.metrics },
  };
}

/** An event as JSON: messages printed (secrets masked), errors as their text. */
function eventView(e: SessionEvent): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(e)) {
    if (v instanceof FieldMap) out[k] = maskSecrets(formatMessage(v));
    else if (v instanceof Error) out[k] = maskSecrets(`${v.name}: ${v.message}`);
    else if (typeof v === "string") out[k] = maskSecrets(v);
    else if (v === null || typeof v === "number" || typeof v === "boolean") out[k] = v;
    else if (v !== undefined) out[k] = maskSecrets(String(v));
  }
  return out;
}

/** Tag and message names of one FIX version (FIXT.1.1 session fields for FIX.5.x). */
interface Names extends TagNamer {
  messageName(msgType: string): string | undefined;
}

function namesOf(dicts: Dictionary[]): Names {
  return {
    fieldName: (tag) => {
      for (const d of dicts) {
        const n = d.fieldName(tag);
        if (n !== undefined) return n;
      }
      return undefined;
    },
    messageName: (t) => {
      for (const d of dicts) {
        const n = d.message(t)?.name;
        if (n !== undefined) return n;
      }
      return undefined;
    },
  };
}

async function loadNames(version: string): Promise<Names> {
  const app = await loadDictionary(version as FixVersionName);
  if (!version.startsWith("FIX.5")) return namesOf([app]);
  return namesOf([app, await loadDictionary("FIXT.1.1")]);
}

// ---------------------------------------------------------------------------------------------
// HTTP

/** Options of {@linkcode startAdmin}. */
export interface AdminOptions {
  /** TCP port; 0 picks a free one (see `AdminServer.addr`). */
  port: number;
  /** Address to listen on; use a loopback address (`127.0.0.1`) unless a token is set. */
  hostname: string;
  /** Bearer token every request but the page's own files must carry; absent: none. */
  token?: string;
  /** Receives one line per operator action, refused request and start/stop. */
  logger: Logger;
}

/** A running admin endpoint, from {@linkcode startAdmin}. */
export interface AdminServer extends AsyncDisposable {
  /** The address listened on (the real port when 0 was asked). */
  readonly addr: { host: string; port: number };
  /**
   * Ends live-update streams and stops listening. Idempotent.
   *
   * @returns Resolves when the server is closed.
   */
  close(): Promise<void>;
}

const CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

const COMMON_HEADERS: Record<string, string> = {
  "cache-control": "no-store",
  "x-content-type-options": "nosniff",
  "referrer-policy": "no-referrer",
};

const MAX_BODY_BYTES = 16 * 1024;
const MAX_REASON_LENGTH = 200;
const SSE_TICK_MS = 1000;
const SSE_KEEPALIVE_TICKS = 15;
const ENCODER = new TextEncoder();

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.name = "HttpError";
    this.status = status;
    this.headers = headers;
  }
}

function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), {
    status,
    headers: { ...COMMON_HEADERS, "content-type": "application/json; charset=utf-8", ...headers },
  });
}

function asset(body: string, type: string): Response {
  return new Response(body, {
    headers: {
      ...COMMON_HEADERS,
      "content-type": type,
      "content-security-policy": CSP,
      "x-frame-options": "DENY",
    },
  });
}

async function sha256(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest("SHA-256", ENCODER.encode(text)));
}

/** Compares digests in constant time (the digests hide the token's length too). */
function sameDigest(a: Uint8Array, b: Uint8Array): boolean {
  let diff = a.length ^ b.length;
  for (let i = 0; i < a.length && i < b.length; i++) diff |= a[i] ^ b[i];
  return diff === 0;
}

function bearerToken(req: Request): string | undefined {
  const h = req.headers.get("authorization");
  if (h === null) return undefined;
  const m = /^Bearer[ ]+(\S+)\s*$/i.exec(h);
  return m ? m[1] : undefined;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname === "[::1]" ||
    /^127\./.test(hostname);
}

type Action = "logout" | "disconnect" | "reset" | "seqnums";
const ACTIONS: ReadonlySet<string> = new Set(["logout", "disconnect", "reset", "seqnums"]);

/** Reads a small JSON object body; an empty body is `{}`. */
async function readBody(req: Request): Promise<Record<string, unknown>> {
  const length = Number(req.headers.get("content-length") ?? "0");
  if (length > MAX_BODY_BYTES) throw new HttpError(413, "Cannot read body: it is too large");
  const text = await req.text();
  if (text.length > MAX_BODY_BYTES) throw new HttpError(413, "Cannot read body: it is too large");
  if (text.trim() === "") return {};
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw new HttpError(400, "Cannot read body: it is not JSON");
  }
  if (typeof body !== "object" || body === null || Array.isArray(body)) {
    throw new HttpError(400, "Cannot read body: it is not a JSON object");
  }
  return body as Record<string, unknown>;
}

function reasonOf(body: Record<string, unknown>, fallback: string): string {
  const r = body.reason;
  if (r === undefined || r === null || r === "") return fallback;
  if (typeof r !== "string") throw new HttpError(400, 'Cannot read body: "reason" is not text');
  // deno-lint-ignore no-control-regex
  return r.replace(/[\x00-\x1f\x7f]/g, " ").slice(0, MAX_REASON_LENGTH);
}

function seqNumOf(body: Record<string, unknown>, name: string): number | undefined {
  const v = body[name];
  if (v === undefined || v === null || v === "") return undefined;
  const n = typeof v === "string" && /^\d+$/.test(v.trim()) ? Number(v) : v;
  if (typeof n !== "number" || !Number.isSafeInteger(n) || n < 1) {
    throw new HttpError(400, `Cannot set sequence numbers: "${name}" is not a positive integer`);
  }
  return n;
}

/**
 * Starts the admin endpoint of an engine: Prometheus metrics at `/metrics`, the operator page
 * at `/`, a JSON API under `/api/` and live updates as Server-Sent Events at `/api/events`.
 * With a token, every request but the page's own files (`/`, `/admin.js`, `/admin.css`) must
 * carry `Authorization: Bearer <token>` (compared in constant time); the page asks for the
 * token and keeps it in the tab's `sessionStorage`. Operator actions (`POST
 * /api/sessions/:id/{logout|disconnect|reset|seqnums}`) are logged at info with the session and
 * the action; the token is never logged. Errors are JSON `{ "error": "..." }` with 400, 401,
 * 404, 405, 409 (the session's state forbids the action), 413 or 502 (a reset the counterparty
 * did not confirm). `docs/admin.md` describes every endpoint.
 *
 * @param engine The engine to expose.
 * @param options Port, address, token and logger.
 * @returns The running server; `close()` it (an engine closes the endpoint it started from `Admin.Port`).
 * @throws {Deno.errors.AddrInUse} When the port is taken.
 * @throws {TypeError} For a bad port.
 * @example
 * ```ts
 * import { FixEngine, SILENT_LOGGER } from "@fixwire/engine";
 * import { startAdmin } from "@fixwire/engine";
 * await using engine = new FixEngine();
 * await using admin = await startAdmin(engine, {
 *   port: 0,
 *   hostname: "127.0.0.1",
 *   token: "s3cret",
 *   logger: SILENT_LOGGER,
 * });
 * const res = await fetch(`http://127.0.0.1:${admin.addr.port}/metrics`, {
 *   headers: { authorization: "Bearer s3cret" },
 * });
 * await res.text(); // "# HELP fixwire_sessions ..."
 * ```
 */
export async function startAdmin(engine: FixEngine, options: AdminOptions): Promise<AdminServer> {
  const log = options.logger;
  const tokenDigest = options.token !== undefined ? await sha256(options.token) : undefined;
  const names = new Map<string, Promise<Names>>();
  const streams = new Set<() => void>();
  /** Each open event stream's "send a snapshot now", called after an operator action. */
  const nudges = new Set<() => void>();

  const namesFor = (version: string): Promise<Names> => {
    let n = names.get(version);
    if (!n) {
      n = loadNames(version);
      names.set(version, n);
    }
    return n;
  };

  const findSession = (encoded: string): Session => {
    let id: string;
    try {
      id = decodeURIComponent(encoded);
    } catch {
      throw new HttpError(400, "Cannot find session: the id is not URL-encoded correctly");
    }
    const s = engine.sessions.find((x) => x.id.toString() === id);
    if (!s) throw new HttpError(404, `Cannot find session: no session "${id}"`);
    return s;
  };

  const authorized = async (req: Request): Promise<boolean> => {
    if (tokenDigest === undefined) return true;
    const given = bearerToken(req);
    // The digest of "" stands in for a missing token, so both paths take the same time.
    return sameDigest(await sha256(given ?? ""), tokenDigest) && given !== undefined;
  };

  const messages = async (s: Session, url: URL): Promise<Response> => {
    const types = (url.searchParams.get("type") ?? "").split(",").map((t) => t.trim())
      .filter((t) => t !== "");
    const n = await namesFor(s.version);
    const secrets = new Set([
      ...SECRET_TAGS,
      s.settings.usernameTag,
      s.settings.passwordTag,
    ]);
    const recent = s.recentMessages();
    const shown = types.length === 0
      ? recent
      : recent.filter((r) => types.includes(r.message.msgType));
    return json({
      session: s.id.toString(),
      kept: recent.length,
      messages: shown.map((r) => {
        const masked = new FieldMap();
        const fields: { tag: number; name: string | null; value: string }[] = [];
        for (const [tag, value] of r.message) {
          const v = secrets.has(tag) ? "***" : value;
          masked.add(tag, v);
          fields.push({ tag, name: n.fieldName(tag) ?? null, value: v });
        }
        const msgType = r.message.msgType;
        const seq = Number(r.message.get(34));
        return {
          atMs: r.atMs,
          time: new Date(r.atMs).toISOString(),
          direction: r.direction,
          msgType,
          msgTypeName: n.messageName(msgType) ?? null,
          seqNum: Number.isSafeInteger(seq) ? seq : null,
          text: formatMessage(masked, { names: n }),
          fields,
        };
      }),
    });
  };

  const act = async (
    s: Session,
    action: Action,
    req: Request,
    remote: string,
  ): Promise<Response> => {
    const body = await readBody(req);
    const session = s.id.toString();
    const state = s.state;
    const conflict = (what: string, why: string) =>
      new HttpError(409, `Cannot ${what}: session "${session}" is ${why} (state ${state})`);
    let detail: Record<string, unknown> = {};
    let run: () => Promise<void>;
    switch (action) {
      case "logout": {
        const reason = reasonOf(body, "Logout by operator");
        const stoppable = s.role === "initiator" &&
          (state === "reconnecting" || state === "waitingForConnect");
        if (!s.connected && !stoppable) throw conflict("log out", "not connected");
        detail = { reason };
        run = () => s.disconnect(reason);
        break;
      }
      case "disconnect": {
        const reason = reasonOf(body, "connection dropped by operator");
        if (!s.connected) throw conflict("drop the connection", "not connected");
        detail = { reason };
        run = () => Promise.resolve(s.dropConnection(reason));
        break;
      }
      case "reset": {
        if (state === "established") {
          detail = { mode: "logon" };
          run = () => s.resetSequenceNumbers();
        } else if (!s.connected) {
          detail = { mode: "local" };
          run = () => s.resetSeqNumLocal();
        } else {
          throw conflict("reset sequence numbers", "connected but not established");
        }
        break;
      }
      case "seqnums": {
        const nextSenderSeqNum = seqNumOf(body, "nextSenderSeqNum");
        const nextTargetSeqNum = seqNumOf(body, "nextTargetSeqNum");
        if (nextSenderSeqNum === undefined && nextTargetSeqNum === undefined) {
          throw new HttpError(
            400,
            'Cannot set sequence numbers: give "nextSenderSeqNum", "nextTargetSeqNum" or both',
          );
        }
        if (s.connected) throw conflict("set sequence numbers", "connected");
        const numbers: { nextSenderSeqNum?: number; nextTargetSeqNum?: number } = {};
        if (nextSenderSeqNum !== undefined) numbers.nextSenderSeqNum = nextSenderSeqNum;
        if (nextTargetSeqNum !== undefined) numbers.nextTargetSeqNum = nextTargetSeqNum;
        detail = { ...numbers };
        run = () => s.setSequenceNumbers(numbers);
        break;
      }
    }
    log.info("admin action", { session, action, state, remote, ...detail });
    try {
      await run();
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      const status = e instanceof RangeError || e instanceof TypeError
        ? 400
        : e instanceof ResetNotConfirmedError
        ? 502
        : 409;
      log.warn("admin action failed", { session, action, remote, status, error: message });
      for (const nudge of nudges) nudge();
      return json({ error: message }, status);
    }
    log.info("admin action done", { session, action, state: s.state, remote });
    for (const nudge of nudges) nudge();
    return json({ ok: true, action, ...detail, session: sessionView(s) });
  };

  const events = (completed: Promise<void>): Response => {
    let stop = () => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        let ended = false;
        let last = "";
        let quietTicks = 0;
        const subscribed = new Map<Session, AsyncIterableIterator<SessionEvent>>();
        const write = (text: string) => {
          if (ended) return;
          try {
            controller.enqueue(ENCODER.encode(text));
          } catch {
            stop();
          }
        };
        const send = (event: string, data: string) => write(`event: ${event}\ndata: ${data}\n\n`);
        const snapshot = () => {
          const text = JSON.stringify(engine.sessions.map(sessionView));
          if (text === last) return false;
          last = text;
          send("sessions", text);
          return true;
        };
        const follow = (s: Session) => {
          let it: AsyncIterableIterator<SessionEvent>;
          try {
            it = s.events();
          } catch {
            return; // finalized meanwhile
          }
          subscribed.set(s, it);
          (async () => {
            for await (const e of it) {
              if (ended) break;
              send("event", JSON.stringify({ session: s.id.toString(), event: eventView(e) }));
              snapshot();
            }
          })().catch(() => {}).finally(() => subscribed.delete(s));
        };
        const tick = () => {
          for (const s of engine.sessions) if (!subscribed.has(s) && !s.finalized) follow(s);
          if (snapshot()) quietTicks = 0;
          else if (++quietTicks >= SSE_KEEPALIVE_TICKS) {
            quietTicks = 0;
            write(": keep-alive\n\n");
          }
        };
        const timer = setInterval(tick, SSE_TICK_MS);
        stop = () => {
          if (ended) return;
          ended = true;
          clearInterval(timer);
          streams.delete(stop);
          nudges.delete(snapshot);
          for (const it of subscribed.values()) it.return?.().catch(() => {});
          subscribed.clear();
          try {
            controller.close();
          } catch {
            // already closed by the client
          }
        };
        streams.add(stop);
        nudges.add(snapshot);
        // Settles when the response ended or the client went away.
        completed.catch(() => {}).finally(stop);
        write("retry: 2000\n\n");
        tick();
      },
      cancel() {
        stop();
      },
    });
    return new Response(body, {
      headers: {
        ...COMMON_HEADERS,
        "content-type": "text/event-stream; charset=utf-8",
        "x-accel-buffering": "no",
      },
    });
  };

  const route = async (
    req: Request,
    remote: string,
    completed: Promise<void>,
  ): Promise<Response> => {
    const url = new URL(req.url);
    const path = url.pathname;
    const method = req.method;
    const only = (...allowed: string[]) => {
      if (!allowed.includes(method)) {
        throw new HttpError(405, `Cannot ${method} ${path}: use ${allowed.join(" or ")}`, {
          allow: allowed.join(", "),
        });
      }
    };
    // The page's own files hold no data: they load without a token, then ask for it.
    if (path === "/" || path === "/index.html") {
      only("GET", "HEAD");
      return asset(ADMIN_PAGE_HTML, "text/html; charset=utf-8");
    }
    if (path === "/admin.js") {
      only("GET", "HEAD");
      return asset(ADMIN_PAGE_SCRIPT, "text/javascript; charset=utf-8");
    }
    if (path === "/admin.css") {
      only("GET", "HEAD");
      return asset(ADMIN_PAGE_STYLE, "text/css; charset=utf-8");
    }
    if (path === "/favicon.ico") {
      return new Response(null, { status: 204, headers: COMMON_HEADERS });
    }
    if (path !== "/metrics" && path !== "/api" && !path.startsWith("/api/")) {
      throw new HttpError(404, `Cannot find "${path}"`);
    }
    if (!await authorized(req)) {
      log.warn("admin request refused: missing or wrong token", { method, path, remote });
      throw new HttpError(401, "Cannot authorize: missing or wrong bearer token", {
        "www-authenticate": 'Bearer realm="fixwire admin"',
      });
    }
    if (path === "/metrics") {
      only("GET", "HEAD");
      return new Response(formatMetrics(engine), {
        headers: { ...COMMON_HEADERS, "content-type": "text/plain; version=0.0.4; charset=utf-8" },
      });
    }
    if (path === "/api/events") {
      only("GET");
      return events(completed);
    }
    const parts = path.split("/"); // ["", "api", "sessions", id?, sub?]
    if (parts[2] !== "sessions" || parts.length > 5) {
      throw new HttpError(404, `Cannot find "${path}"`);
    }
    if (parts.length === 3 || (parts.length === 4 && parts[3] === "")) {
      only("GET", "HEAD");
      return json(engine.sessions.map(sessionView));
    }
    const s = findSession(parts[3]);
    if (parts.length === 4) {
      only("GET", "HEAD");
      return json(sessionView(s));
    }
    const sub = parts[4];
    if (sub === "messages") {
      only("GET", "HEAD");
      return await messages(s, url);
    }
    if (!ACTIONS.has(sub)) throw new HttpError(404, `Cannot find "${path}"`);
    only("POST");
    // A JSON content type makes a cross-site form or fetch need a preflight we never grant.
    const type = req.headers.get("content-type") ?? "";
    if (!/^application\/json\s*(;|$)/i.test(type)) {
      throw new HttpError(415, "Cannot run action: send Content-Type application/json");
    }
    const origin = req.headers.get("origin");
    if (origin !== null && origin !== url.origin) {
      throw new HttpError(403, `Cannot run action: origin "${origin}" is not this server`);
    }
    return await act(s, sub as Action, req, remote);
  };

  const handler = async (req: Request, info: Deno.ServeHandlerInfo): Promise<Response> => {
    const addr = info.remoteAddr as Deno.NetAddr;
    const remote = `${addr.hostname}:${addr.port}`;
    try {
      return await route(req, remote, info.completed);
    } catch (e) {
      if (e instanceof HttpError) return json({ error: e.message }, e.status, e.headers);
      log.error("admin request failed", {
        method: req.method,
        path: new URL(req.url).pathname,
        remote,
        error: `${e}`,
      });
      return json({ error: "Cannot answer: internal error" }, 500);
    }
  };

  if (!isLoopback(options.hostname) && options.token === undefined) {
    log.warn("admin endpoint listens beyond loopback without a token", {
      hostname: options.hostname,
    });
  }
  const server = Deno.serve({
    port: options.port,
    hostname: options.hostname,
    onListen: () => {},
    onError: (e) => {
      log.error("admin request failed", { error: `${e}` });
      return json({ error: "Cannot answer: internal error" }, 500);
    },
  }, handler);
  const netAddr = server.addr as Deno.NetAddr;
  const addr = Object.freeze({ host: netAddr.hostname, port: netAddr.port });
  log.info("admin endpoint listening", {
    host: addr.host,
    port: addr.port,
    token: options.token !== undefined,
  });
  let closed: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closed ??= (async () => {
      for (const stop of [...streams]) stop();
      // shutdown() lets the ended streams finish cleanly (an abort signal cuts them).
      await server.shutdown();
      log.info("admin endpoint closed", { host: addr.host, port: addr.port });
    })();
    return closed;
  };
  return {
    addr,
    close,
    [Symbol.asyncDispose]: close,
  };
}
