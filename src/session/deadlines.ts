/**
 * The session's deadlines as absolute "due at" times: logon, logout, close, heartbeat and
 * TestRequest. One timer per session, re-armed lazily: steady traffic costs no timer work.
 *
 * @module
 */

import type { SessionSettings } from "../config/settings.ts";
import type { Action } from "./actions.ts";
import * as admin from "./admin.ts";
import type { CoreState } from "./_state.ts";
import { onLogout } from "./logon.ts";

/**
 * How far the peer's messages can stretch a Logout wait, in `LogoutTimeFrame`s from its start:
 * a backlog the peer sent before our Logout is worked through, but a peer that streams on and
 * never answers does not hold the session for ever.
 */
export const LOGOUT_WAIT_LIMIT = 10;

/** What the heartbeat clock asks for at a given time. */
export type HeartbeatDue = "timeout" | "testRequest" | "heartbeat" | undefined;

/** A session's deadlines. */
export class Deadlines {
  /** The heartbeat interval (HeartBtInt), ms. */
  heartbeatMs = 30_000;
  /** When we last sent anything. */
  lastSentAtMs = 0;
  /** When we last received anything. */
  lastReceivedAtMs = 0;
  /** When our outstanding TestRequest went out, or -1. */
  testRequestSentAtMs = -1;
  /** The Logon (or reset Logon) answer is due, or -1. */
  logonDueAtMs = -1;
  /** The Logout answer (or the gap before the peer's Logout) is due, or -1. */
  logoutDueAtMs = -1;
  /** Queued writes must have drained to close gracefully, or -1. */
  closeDueAtMs = -1;
  /** The Logout wait or the wait for the peer to close ends by then, however restarted. */
  #waitLimitAtMs = -1;
  /** The scheduled session ends (`EndTime`): a Logout is due, or -1. */
  sessionEndDueAtMs = -1;
  /** The time of the timer requested last, or -1 when none is pending. */
  #timerAtMs = -1;
  readonly #transmissionPercent: number;

  /**
   * Creates the deadlines of a session.
   *
   * @param settings `reasonableTransmissionTimePercent`.
   */
  constructor(settings: Pick<SessionSettings, "reasonableTransmissionTimePercent">) {
    this.#transmissionPercent = settings.reasonableTransmissionTimePercent;
  }

  /**
   * A link was attached: every deadline starts afresh.
   *
   * @param nowMs The current time.
   */
  attach(nowMs: number): void {
    this.lastReceivedAtMs = nowMs;
    this.lastSentAtMs = nowMs;
    this.testRequestSentAtMs = -1;
    this.logonDueAtMs = -1;
    this.logoutDueAtMs = -1;
    this.closeDueAtMs = -1;
    this.sessionEndDueAtMs = -1;
    this.#timerAtMs = -1;
  }

  /**
   * A wait for a Logout answer (or for the gap before the peer's Logout) starts: due after
   * `timeoutMs`, restarted by {@linkcode Deadlines.extendWait}.
   *
   * @param nowMs The current time.
   * @param timeoutMs `LogoutTimeFrame`.
   */
  startLogoutWait(nowMs: number, timeoutMs: number): void {
    this.logoutDueAtMs = nowMs + timeoutMs;
    this.#waitLimitAtMs = nowMs + timeoutMs * LOGOUT_WAIT_LIMIT;
  }

  /**
   * A graceful close starts: the link closes after `timeoutMs` at the latest (restarted by
   * {@linkcode Deadlines.extendWait} while we wait for the peer to close after our answer to
   * its Logout).
   *
   * @param nowMs The current time.
   * @param timeoutMs `LogoutTimeFrame`.
   */
  startClose(nowMs: number, timeoutMs: number): void {
    this.closeDueAtMs = nowMs + timeoutMs;
    this.#waitLimitAtMs = nowMs + timeoutMs * LOGOUT_WAIT_LIMIT;
  }

  /**
   * The peer's message during a Logout wait, or while we wait for it to close: the wait
   * restarts, up to `LOGOUT_WAIT_LIMIT` times `timeoutMs` from its start.
   *
   * @param nowMs The current time.
   * @param timeoutMs `LogoutTimeFrame`.
   */
  extendWait(nowMs: number, timeoutMs: number): void {
    if (this.logoutDueAtMs < 0 && this.closeDueAtMs < 0) return; // the usual case
    const at = Math.min(nowMs + timeoutMs, this.#waitLimitAtMs);
    if (this.logoutDueAtMs >= 0) this.logoutDueAtMs = at;
    if (this.closeDueAtMs >= 0) this.closeDueAtMs = at;
  }

  /** The link ended: no timer is pending any more. */
  detach(): void {
    this.#timerAtMs = -1;
    this.closeDueAtMs = -1;
  }

  /**
   * Something arrived: the counterparty is alive.
   *
   * @param nowMs The current time.
   */
  received(nowMs: number): void {
    this.lastReceivedAtMs = nowMs;
    this.testRequestSentAtMs = -1;
  }

  /** The requested timer fired. */
  fired(): void {
    this.#timerAtMs = -1;
  }

  #graceMs(): number {
    return this.heartbeatMs * (1 + this.#transmissionPercent / 100);
  }

  /**
   * What the heartbeat clock asks for at `nowMs` (established sessions).
   *
   * @param nowMs The current time.
   * @returns The due action, if any.
   */
  heartbeatDue(nowMs: number): HeartbeatDue {
    if (this.heartbeatMs === 0) return undefined;
    const grace = this.#graceMs();
    if (this.testRequestSentAtMs >= 0) {
      // While our TestRequest is outstanding no Heartbeat of our own is due (QuickFIX's
      // `needHeartbeat` is false while a TestRequest waits): the answer, or its absence, decides.
      return nowMs >= this.testRequestSentAtMs + grace ? "timeout" : undefined;
    }
    if (nowMs >= this.lastReceivedAtMs + grace) return "testRequest";
    return nowMs >= this.lastSentAtMs + this.heartbeatMs ? "heartbeat" : undefined;
  }

  /** The earliest deadline. */
  #dueAtMs(established: boolean): number {
    let due = Number.POSITIVE_INFINITY;
    if (this.logonDueAtMs >= 0) due = Math.min(due, this.logonDueAtMs);
    if (this.logoutDueAtMs >= 0) due = Math.min(due, this.logoutDueAtMs);
    if (this.sessionEndDueAtMs >= 0 && established) due = Math.min(due, this.sessionEndDueAtMs);
    if (this.closeDueAtMs >= 0) due = Math.min(due, this.closeDueAtMs);
    if (established && this.heartbeatMs > 0) {
      due = this.testRequestSentAtMs >= 0
        ? Math.min(due, this.testRequestSentAtMs + this.#graceMs())
        : Math.min(
          due,
          this.lastSentAtMs + this.heartbeatMs,
          this.lastReceivedAtMs + this.#graceMs(),
        );
    }
    return due;
  }

  /**
   * The time to request a timer at, when the pending one (if any) is later than the earliest
   * deadline; otherwise undefined (the pending timer fires first and re-arms).
   *
   * @param established Whether heartbeats run.
   * @returns The time, or undefined.
   */
  rearm(established: boolean): number | undefined {
    const due = this.#dueAtMs(established);
    if (due === Number.POSITIVE_INFINITY) return undefined;
    if (this.#timerAtMs >= 0 && this.#timerAtMs <= due) return undefined;
    this.#timerAtMs = due;
    return due;
  }
}

export function tick(c: CoreState, now: number, out: Action[]): void {
  const t = c.t;
  if (t.closeDueAtMs >= 0 && now >= t.closeDueAtMs) {
    // The queued writes did not drain in time (a peer that stopped reading), or the peer did
    // not close after our answer to its Logout: close anyway.
    t.closeDueAtMs = -1;
    out.push({ type: "close", reason: c.closing ?? "close timeout", flush: false, linger: false });
    return;
  }
  if (c.closing !== undefined) return;
  if (t.logonDueAtMs >= 0 && now >= t.logonDueAtMs) {
    t.logonDueAtMs = -1;
    if (c.resetPending) {
      // Established: the numbered Logout tells the peer why the session ends.
      c.fatal("Logon timeout: sequence reset not confirmed", true, now, out);
      return;
    }
    c.fatal("Logon timeout", false, now, out);
    return;
  }
  if (t.logoutDueAtMs >= 0 && now >= t.logoutDueAtMs) {
    t.logoutDueAtMs = -1;
    const logout = c.peerLogout;
    if (logout) {
      c.log.warn("gap before the peer's Logout not filled in time; answering it", {
        session: c.name,
        expected: c.target,
      });
      onLogout(c, logout, now, out);
      return;
    }
    // The answer did not come: nothing queued is worth waiting for any longer.
    c.close("Logout timeout", false, now, out);
    return;
  }
  if (t.sessionEndDueAtMs >= 0 && now >= t.sessionEndDueAtMs && c.state === "established") {
    t.sessionEndDueAtMs = -1;
    c.log.info("session time ends; logging out", { session: c.name });
    c.startLogout("End of session time", now, out);
    return;
  }
  if (c.state !== "established") return;
  switch (t.heartbeatDue(now)) {
    case "timeout":
      t.testRequestSentAtMs = -1;
      c.fatal(
        "Heartbeat timeout: no answer to TestRequest",
        c.s.logoutOnHeartbeatTimeout,
        now,
        out,
      );
      return;
    case "testRequest":
      c.sendSequenced(
        admin.testRequest(`TEST-${++c.testReqCounter}-${now}`),
        false,
        now,
        out,
      );
      t.testRequestSentAtMs = now;
      return;
    case "heartbeat":
      c.sendSequenced(admin.heartbeat(), false, now, out);
  }
}
