/**
 * Session schedules: when a FIX session may be logged on, and when its period (and with it the
 * sequence numbers) starts afresh. Pure code: every question takes the time as an argument in
 * epoch milliseconds, nothing here reads the clock or sets a timer. The engine asks
 * {@linkcode SessionSchedule.isInSession} on a timer tick and on each Logon, arms one timer at
 * {@linkcode SessionSchedule.nextStartMs} or {@linkcode SessionSchedule.nextEndMs}, and resets
 * the store when its creation time is not in the current period
 * ({@linkcode SessionSchedule.isSamePeriod}, QuickFIX's session-time check).
 *
 * ## Properties
 *
 * {@linkcode parseScheduleProperties} reads QuickFIX's names (`StartTime`, `EndTime`, `StartDay`
 * and `EndDay` in every QuickFIX; `TimeZone` and `NonStopSession` as QuickFIX/J names them):
 *
 * | Property         | Option      | Value                                                  |
 * | ---------------- | ----------- | ------------------------------------------------------ |
 * | `StartTime`      | `startTime` | `HH:MM:SS`, local time in the zone                     |
 * | `EndTime`        | `endTime`   | `HH:MM:SS`, local time in the zone                     |
 * | `StartDay`       | `startDay`  | a day name, or a prefix of 2+ letters (`Su`, `Sun`)    |
 * | `EndDay`         | `endDay`    | as `StartDay`; the two go together                     |
 * | `TimeZone`       | `timeZone`  | an IANA name (`America/New_York`, `UTC`); default UTC  |
 * | `NonStopSession` | `nonStop`   | `Y`: always in session, never reset by the schedule    |
 *
 * QuickFIX/J's zone suffix on a time (`StartTime=08:00:00 Europe/London`) is accepted when it
 * names the same zone as `TimeZone` and the other time. Not supported, and refused with a clear
 * error rather than ignored: QuickFIX/J's `Weekdays` (a daily session on some days only), and
 * QuickFIX's `UseLocalTime=Y` without a `TimeZone` (the machine's zone is not pure input: name
 * it with `TimeZone`).
 *
 * FIX Antenna (Java and .NET) and FIXEdge describe schedules with cron expressions instead
 * (FIX Antenna's `tradePeriodBegin`, `tradePeriodEnd` and `tradePeriodTimeZone`; FIXEdge's
 * `Schedules.<name>.StartTime`, `TerminateTime` and `TimeZone`), which this module does not
 * parse: a cron pair that fires once a day, or once a week, is one of the schedules below, and
 * the engine maps it onto the options. FIX Antenna's daily sequence reset
 * (`performResetSeqNumTime=true` at `resetSequenceTime` in `resetSequenceTimeZone`) is the
 * equal-times daily schedule: always up, a new period at that time each day.
 *
 * ## Periods
 *
 * A schedule is a sequence of disjoint periods `[start, end)`: in session from the start
 * instant included to the end instant excluded. (QuickFIX counts the end instant itself as in
 * session; here the session is over at `EndTime`, so a timer armed at
 * {@linkcode SessionSchedule.nextEndMs} finds it closed.)
 *
 * - **Daily** (no days): a period starts every local day at `StartTime` and ends at the next
 *   `EndTime`: the same day when `EndTime` is later than `StartTime`, otherwise the next day.
 *   So `22:00:00`–`06:00:00` spans midnight, and a period belongs to the day it starts.
 * - **Equal times, daily** (`StartTime` = `EndTime`): a period runs from `StartTime` to
 *   `StartTime` the next day, so the session is always up and resets once a day at that time.
 *   This is QuickFIX/J's reading (the end is moved a day later until it follows the start).
 *   QuickFIX C++ compares calendar dates when the times are equal, so it resets at midnight
 *   instead; we follow QuickFIX/J.
 * - **Weekly** (`StartDay` and `EndDay`): a period starts on `StartDay` at `StartTime` and ends at
 *   the first `EndDay` `EndTime` after it, within a week; it may wrap the end of the week
 *   (`Friday 22:00` to `Monday 06:00`). With the same day and an `EndTime` later than the
 *   `StartTime` the period is that part of the one day (QuickFIX/J; QuickFIX C++ turns that into
 *   a whole week). With the same day and an `EndTime` not later, the period runs until that
 *   day in the next week; with equal times too, it lasts exactly a week: always up, reset
 *   weekly.
 * - **Non-stop** (no times, or `NonStopSession=Y`): one endless period. Always in session,
 *   never reset by the schedule.
 *
 * ## Time zones and daylight saving
 *
 * Times are wall-clock times in the zone, turned into instants with the zone's offset on that
 * date (the tz database, through `Intl.DateTimeFormat`), so a `17:00:00` New York start is
 * 22:00 UTC in winter and 21:00 UTC in summer, and a day with a change is 23 or 25 hours long.
 * Every boundary is **the first instant at which the zone's clock reads the wall time or
 * later**:
 *
 * - a wall time that does not exist (skipped when clocks go forward) happens at the instant of
 *   the change, the first valid instant after it: `02:30:00` in New York on 2026-03-08 is
 *   `03:00:00` EDT. (java.time, and so QuickFIX/J, moves it by the gap: `03:30:00` EDT.)
 * - a wall time that happens twice (clocks go back) is its first occurrence: `01:30:00` in New
 *   York on 2026-11-01 is `01:30:00` EDT, not EST. A session that ended at the first `01:30`
 *   does not reopen when the clock reads `01:00` again.
 * - a period whose start and end fall into the same skipped hour is empty: there is no
 *   session that day, and {@linkcode SessionSchedule.nextStartMs} skips it.
 *
 * @example Daily session in London, checked at exact instants
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionSchedule } from "@fixwire/engine";
 * const schedule = new SessionSchedule({
 *   startTime: "08:00:00",
 *   endTime: "17:00:00",
 *   timeZone: "Europe/London",
 * });
 * const noon = Date.parse("2026-07-01T12:00:00+01:00");
 * assert.equal(schedule.isInSession(noon), true);
 * assert.equal(schedule.periodStartMs(noon), Date.parse("2026-07-01T08:00:00+01:00"));
 * assert.equal(schedule.nextEndMs(noon), Date.parse("2026-07-01T17:00:00+01:00"));
 * ```
 *
 * @module
 */

const MS_PER_SECOND = 1_000;
const MS_PER_DAY = 86_400_000;
/** Instants accepted: a margin inside `Date`'s range, so the look-ups a day away stay valid. */
const MAX_INSTANT_MS = 8.64e15 - 30 * MS_PER_DAY;
/** Periods remembered per schedule (a few days around "now" are all that is asked for). */
const PERIOD_CACHE_SIZE = 16;

/**
 * A day of the week, by its English name, as `StartDay` and `EndDay` take it once parsed.
 *
 * @example
 * ```ts
 * import type { Weekday } from "./schedule.ts";
 * const start: Weekday = "Sunday";
 * ```
 */
export type Weekday =
  | "Sunday"
  | "Monday"
  | "Tuesday"
  | "Wednesday"
  | "Thursday"
  | "Friday"
  | "Saturday";

/** The days, Sunday first: the index is the day number used below. */
const WEEKDAYS: readonly Weekday[] = [
  "Sunday",
  "Monday",
  "Tuesday",
  "Wednesday",
  "Thursday",
  "Friday",
  "Saturday",
];

/**
 * What kind of schedule a {@linkcode SessionSchedule} is: periods every day, periods every
 * week, or one endless period.
 *
 * @example
 * ```ts
 * import { type ScheduleKind, SessionSchedule } from "@fixwire/engine";
 * const kind: ScheduleKind = new SessionSchedule({}).kind; // "nonStop"
 * ```
 */
export type ScheduleKind = "daily" | "weekly" | "nonStop";

/**
 * The settings of a session schedule. Give `startTime` and `endTime` for a daily session, add
 * `startDay` and `endDay` for a weekly one, and give no times (or `nonStop: true`) for a session
 * that is always up. See the module documentation for the exact semantics.
 *
 * @example FX week: Sunday 17:00 to Friday 17:00, New York time
 * ```ts
 * import type { SessionScheduleOptions } from "./schedule.ts";
 * const fxWeek: SessionScheduleOptions = {
 *   startDay: "Sunday",
 *   startTime: "17:00:00",
 *   endDay: "Friday",
 *   endTime: "17:00:00",
 *   timeZone: "America/New_York",
 * };
 * ```
 */
export interface SessionScheduleOptions {
  /** Local start time, `HH:MM:SS` (QuickFIX `StartTime`). Required with `endTime`. */
  startTime?: string;
  /** Local end time, `HH:MM:SS` (QuickFIX `EndTime`). Required with `startTime`. */
  endTime?: string;
  /** Day a weekly period starts (QuickFIX `StartDay`). Required with `endDay`. */
  startDay?: Weekday;
  /** Day a weekly period ends (QuickFIX `EndDay`). Required with `startDay`. */
  endDay?: Weekday;
  /** IANA time zone of the times (QuickFIX/J and QuickFIX/n `TimeZone`). Default `"UTC"`. */
  timeZone?: string;
  /**
   * Always in session, never reset by the schedule (QuickFIX/J `NonStopSession`). Excludes the
   * times and days. Leaving out the times means the same.
   */
  nonStop?: boolean;
}

interface Period {
  startMs: number;
  endMs: number;
}

const FORMATTERS = new Map<string, Intl.DateTimeFormat>();

/** One formatter per zone for the whole process: creating one costs far more than using it. */
function formatterFor(timeZone: string): Intl.DateTimeFormat {
  let format = FORMATTERS.get(timeZone);
  if (format === undefined) {
    format = new Intl.DateTimeFormat("en-US", {
      timeZone,
      hourCycle: "h23",
      era: "short",
      year: "numeric",
      month: "numeric",
      day: "numeric",
      hour: "numeric",
      minute: "numeric",
      second: "numeric",
    });
    FORMATTERS.set(timeZone, format);
  }
  return format;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's `days_from_civil`). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) +
    dayOfYear;
  return era * 146_097 + dayOfEra - 719_468;
}

/** Day of the week of a day number (days since 1970-01-01, a Thursday), Sunday = 0. */
function weekdayOf(day: number): number {
  return ((day + 4) % 7 + 7) % 7;
}

function parseTimeOfDay(value: unknown, what: string, context: string): number {
  if (typeof value !== "string") {
    throw new TypeError(`${context}: ${what} must be a string, got ${typeof value}`);
  }
  const m = /^(\d{2}):(\d{2}):(\d{2})$/.exec(value);
  const hour = m ? Number(m[1]) : NaN, minute = m ? Number(m[2]) : NaN;
  const second = m ? Number(m[3]) : NaN;
  if (!(hour <= 23 && minute <= 59 && second <= 59)) {
    throw new RangeError(
      `${context}: ${what} "${value}" is not a time of day (expected HH:MM:SS from 00:00:00 to 23:59:59)`,
    );
  }
  return hour * 3600 + minute * 60 + second;
}

function weekdayIndex(value: unknown, what: string, context: string): number {
  if (typeof value !== "string") {
    throw new TypeError(`${context}: ${what} must be a string, got ${typeof value}`);
  }
  const s = value.trim().toLowerCase();
  const index = s.length >= 2 ? WEEKDAYS.findIndex((d) => d.toLowerCase().startsWith(s)) : -1;
  if (index < 0) {
    throw new RangeError(
      `${context}: ${what} "${value}" is not a day of the week (expected Sunday to Saturday, or a prefix of two letters or more such as "Su" or "Sun")`,
    );
  }
  return index;
}

function resolveTimeZone(value: unknown, what: string, context: string): string {
  if (typeof value !== "string") {
    throw new TypeError(`${context}: ${what} must be a string, got ${typeof value}`);
  }
  try {
    return new Intl.DateTimeFormat(undefined, { timeZone: value }).resolvedOptions().timeZone;
  } catch (cause) {
    throw new RangeError(
      `${context}: ${what} "${value}" is not a known time zone (expected an IANA name such as "America/New_York", or "UTC")`,
      { cause },
    );
  }
}

function checkInstant(ms: number, what: string): void {
  if (typeof ms !== "number") {
    throw new TypeError(
      `Cannot evaluate session schedule: ${what} must be a number, got ${typeof ms}`,
    );
  }
  if (!(Math.abs(ms) <= MAX_INSTANT_MS)) {
    throw new RangeError(
      `Cannot evaluate session schedule: ${what} ${String(ms)} is not an epoch millisecond time`,
    );
  }
}

/**
 * Parses a day name the way QuickFIX's `StartDay` and `EndDay` take it: case-insensitive, the
 * English name or a prefix of it of two letters or more (`"su"`, `"Sun"`, `"SUNDAY"`).
 *
 * @param name The day name.
 * @returns The day, by its full name.
 * @throws {RangeError} When `name` is not a day name or such a prefix (`"t"` is ambiguous).
 * @throws {TypeError} When `name` is not a string.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseWeekday } from "@fixwire/engine";
 * assert.equal(parseWeekday("th"), "Thursday");
 * assert.equal(parseWeekday("SUN"), "Sunday");
 * assert.throws(() => parseWeekday("t"), RangeError);
 * ```
 */
export function parseWeekday(name: string): Weekday {
  return WEEKDAYS[weekdayIndex(name, "day", "Cannot parse day of the week")];
}

function parseYesNo(value: string, key: string, context: string): boolean {
  const s = value.toLowerCase();
  if (s === "y" || s === "yes" || s === "true") return true;
  if (s === "n" || s === "no" || s === "false") return false;
  throw new RangeError(`${context}: ${key} "${value}" is not a flag (expected Y or N)`);
}

/**
 * Reads QuickFIX's schedule properties into {@linkcode SessionScheduleOptions}:
 * `StartTime`, `EndTime`, `StartDay`, `EndDay`, `TimeZone` and `NonStopSession` (see the module
 * documentation). Other keys are ignored, so a session's whole property set can be passed.
 * Values are trimmed, and an empty value counts as absent. `NonStopSession=Y` wins over times
 * and days, as in QuickFIX/J (they may come from a default section). Everything is validated
 * here, with the property names in the messages.
 *
 * @param properties Property values by QuickFIX name.
 * @returns The options, without the keys that were absent.
 * @throws {RangeError} On a bad time, day, zone or flag.
 * @throws {TypeError} On a time or day without its partner, zones that disagree, `Weekdays`, or
 * `UseLocalTime=Y` without a `TimeZone`.
 *
 * @example
 * ```ts
 * import assert from "node:assert/strict";
 * import { parseScheduleProperties, SessionSchedule } from "@fixwire/engine";
 * const options = parseScheduleProperties({
 *   StartTime: "08:00:00",
 *   EndTime: "17:00:00",
 *   TimeZone: "Europe/London",
 *   StartDay: "Mon",
 *   EndDay: "Fri",
 * });
 * assert.deepEqual(options, {
 *   startTime: "08:00:00",
 *   endTime: "17:00:00",
 *   startDay: "Monday",
 *   endDay: "Friday",
 *   timeZone: "Europe/London",
 * });
 * const schedule = new SessionSchedule(options);
 * assert.equal(schedule.kind, "weekly");
 * ```
 */
export function parseScheduleProperties(
  properties: Readonly<Record<string, string | undefined>>,
): SessionScheduleOptions {
  const context = "Cannot read session schedule properties";
  const get = (key: string): string | undefined => {
    const v = properties[key];
    if (v === undefined) return undefined;
    if (typeof v !== "string") {
      throw new TypeError(`${context}: ${key} must be a string, got ${typeof v}`);
    }
    const t = v.trim();
    return t === "" ? undefined : t;
  };

  const weekdays = get("Weekdays");
  if (weekdays !== undefined) {
    throw new TypeError(
      `${context}: Weekdays "${weekdays}" is not supported (use StartDay and EndDay for a weekly session)`,
    );
  }

  // Zones: TimeZone, and QuickFIX/J's optional suffix on each time; all present must agree.
  const zones: { key: string; value: string; zone: string }[] = [];
  const timeZone = get("TimeZone");
  if (timeZone !== undefined) {
    zones.push({
      key: "TimeZone",
      value: timeZone,
      zone: resolveTimeZone(timeZone, "TimeZone", context),
    });
  }
  const splitTime = (key: string): string | undefined => {
    const v = get(key);
    if (v === undefined) return undefined;
    const m = /^(\S+)\s+(\S+)$/.exec(v);
    if (m === null) return v;
    zones.push({ key, value: m[2], zone: resolveTimeZone(m[2], `${key} zone`, context) });
    return m[1];
  };
  const startTime = splitTime("StartTime");
  const endTime = splitTime("EndTime");
  for (const z of zones) {
    if (z.zone !== zones[0].zone) {
      throw new TypeError(
        `${context}: ${zones[0].key} names zone "${
          zones[0].value
        }" and ${z.key} names "${z.value}" (one zone per session is supported)`,
      );
    }
  }
  const zone = zones.length > 0 ? zones[0].zone : undefined;

  const useLocalTime = get("UseLocalTime");
  if (useLocalTime !== undefined && parseYesNo(useLocalTime, "UseLocalTime", context) && !zone) {
    throw new TypeError(
      `${context}: UseLocalTime "${useLocalTime}" is not supported (name the zone with TimeZone, such as "Europe/London")`,
    );
  }

  const nonStopValue = get("NonStopSession");
  const nonStop = nonStopValue === undefined
    ? undefined
    : parseYesNo(nonStopValue, "NonStopSession", context);
  if (nonStop) return zone === undefined ? { nonStop: true } : { nonStop: true, timeZone: zone };

  const options: SessionScheduleOptions = nonStop === false ? { nonStop: false } : {};
  if (nonStop === false && startTime === undefined && endTime === undefined) {
    throw new TypeError(`${context}: StartTime and EndTime are required when NonStopSession is N`);
  }
  if (startTime !== undefined || endTime !== undefined) {
    if (startTime === undefined || endTime === undefined) {
      throw new TypeError(
        `${context}: ${
          startTime === undefined ? "StartTime" : "EndTime"
        } is missing (StartTime and EndTime go together)`,
      );
    }
    parseTimeOfDay(startTime, "StartTime", context);
    parseTimeOfDay(endTime, "EndTime", context);
    options.startTime = startTime;
    options.endTime = endTime;
  }
  const startDay = get("StartDay"), endDay = get("EndDay");
  if (startDay !== undefined || endDay !== undefined) {
    if (startDay === undefined || endDay === undefined) {
      throw new TypeError(
        `${context}: ${
          startDay === undefined ? "StartDay" : "EndDay"
        } is missing (StartDay and EndDay go together)`,
      );
    }
    if (startTime === undefined) {
      throw new TypeError(`${context}: StartDay and EndDay need StartTime and EndTime`);
    }
    options.startDay = WEEKDAYS[weekdayIndex(startDay, "StartDay", context)];
    options.endDay = WEEKDAYS[weekdayIndex(endDay, "EndDay", context)];
  }
  if (zone !== undefined) options.timeZone = zone;
  return options;
}

/**
 * A session schedule: daily, weekly or non-stop, in a time zone, daylight-saving correct. All
 * methods are pure functions of their arguments (epoch milliseconds); the one formatter per
 * zone and a few computed periods are cached. See the module documentation for the semantics.
 *
 * @example Daily session spanning midnight, in UTC
 * ```ts
 * import assert from "node:assert/strict";
 * import { SessionSchedule } from "@fixwire/engine";
 * const night = new SessionSchedule({ startTime: "22:00:00", endTime: "06:00:00" });
 * const t = Date.parse("2026-01-06T03:00:00Z");
 * assert.equal(night.isInSession(t), true);
 * assert.equal(night.periodStartMs(t), Date.parse("2026-01-05T22:00:00Z"));
 * assert.equal(night.nextEndMs(t), Date.parse("2026-01-06T06:00:00Z"));
 * assert.equal(night.nextStartMs(t), Date.parse("2026-01-06T22:00:00Z"));
 * assert.equal(night.isSamePeriod(t, Date.parse("2026-01-06T23:00:00Z")), false);
 * ```
 */
export class SessionSchedule {
  readonly #kind: ScheduleKind;
  readonly #timeZone: string;
  readonly #format: Intl.DateTimeFormat;
  /** Seconds after local midnight. */
  readonly #startSecond: number;
  readonly #endSecond: number;
  /** Day of the week periods start on (Sunday = 0); -1 for a daily schedule. */
  readonly #startWeekday: number;
  /** Days from a period's start date to its end date. */
  readonly #endDayOffset: number;
  /** Days between the start dates of consecutive periods. */
  readonly #step: number;
  /** Periods by the local day number of their start date, oldest first. */
  readonly #periods = new Map<number, Period>();

  /**
   * Creates a schedule from its settings.
   *
   * @param options The settings; `{}` is a non-stop session in UTC.
   * @throws {RangeError} On a time that is not `HH:MM:SS`, an unknown day or time zone.
   * @throws {TypeError} On a time or day without its partner, days without times, or `nonStop`
   * with times or days (or `nonStop: false` without times).
   */
  constructor(options: SessionScheduleOptions = {}) {
    const context = "Cannot create session schedule";
    this.#timeZone = resolveTimeZone(options.timeZone ?? "UTC", "timeZone", context);
    this.#format = formatterFor(this.#timeZone);
    const { startTime, endTime, startDay, endDay, nonStop } = options;
    const hasTimes = startTime !== undefined || endTime !== undefined;
    const hasDays = startDay !== undefined || endDay !== undefined;
    this.#startSecond = this.#endSecond = 0;
    this.#startWeekday = -1;
    this.#endDayOffset = 0;
    this.#step = 1;

    if (nonStop === true) {
      if (hasTimes || hasDays) {
        throw new TypeError(
          `${context}: nonStop excludes startTime, endTime, startDay and endDay`,
        );
      }
      this.#kind = "nonStop";
      return;
    }
    if (!hasTimes) {
      if (hasDays) {
        throw new TypeError(`${context}: startDay and endDay need startTime and endTime`);
      }
      if (nonStop === false) {
        throw new TypeError(`${context}: startTime and endTime are required unless nonStop`);
      }
      this.#kind = "nonStop";
      return;
    }
    if (startTime === undefined || endTime === undefined) {
      throw new TypeError(
        `${context}: ${
          startTime === undefined ? "startTime" : "endTime"
        } is missing (startTime and endTime go together)`,
      );
    }
    this.#startSecond = parseTimeOfDay(startTime, "startTime", context);
    this.#endSecond = parseTimeOfDay(endTime, "endTime", context);
    if (!hasDays) {
      this.#kind = "daily";
      this.#endDayOffset = this.#endSecond > this.#startSecond ? 0 : 1;
      return;
    }
    if (startDay === undefined || endDay === undefined) {
      throw new TypeError(
        `${context}: ${
          startDay === undefined ? "startDay" : "endDay"
        } is missing (startDay and endDay go together)`,
      );
    }
    this.#kind = "weekly";
    this.#step = 7;
    this.#startWeekday = weekdayIndex(startDay, "startDay", context);
    const days = (weekdayIndex(endDay, "endDay", context) - this.#startWeekday + 7) % 7;
    this.#endDayOffset = days === 0 && this.#endSecond <= this.#startSecond ? 7 : days;
  }

  /**
   * The schedule's kind: `"daily"`, `"weekly"` or `"nonStop"`.
   *
   * @example
   * ```ts
   * import { SessionSchedule } from "@fixwire/engine";
   * new SessionSchedule({ startTime: "08:00:00", endTime: "17:00:00" }).kind; // "daily"
   * ```
   */
  get kind(): ScheduleKind {
    return this.#kind;
  }

  /**
   * The time zone, as `Intl` names it (`"UTC"` by default; aliases may be canonicalized, so
   * `"GMT"` reads `"UTC"`).
   *
   * @example
   * ```ts
   * import { SessionSchedule } from "@fixwire/engine";
   * new SessionSchedule({ timeZone: "Asia/Tokyo" }).timeZone; // "Asia/Tokyo"
   * ```
   */
  get timeZone(): string {
    return this.#timeZone;
  }

  /**
   * Whether `nowMs` is inside a session period: from a start included to its end excluded.
   *
   * @param nowMs The instant, in epoch milliseconds.
   * @returns `true` when in session; always `true` for a non-stop schedule.
   * @throws {RangeError} When `nowMs` is not a finite time within `Date`'s range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SessionSchedule } from "@fixwire/engine";
   * const s = new SessionSchedule({ startTime: "08:00:00", endTime: "17:00:00" });
   * assert.equal(s.isInSession(Date.parse("2026-01-05T08:00:00Z")), true);
   * assert.equal(s.isInSession(Date.parse("2026-01-05T17:00:00Z")), false);
   * ```
   */
  isInSession(nowMs: number): boolean {
    checkInstant(nowMs, "time");
    return this.#kind === "nonStop" || this.#containing(nowMs) !== undefined;
  }

  /**
   * The start of the session period containing `nowMs`.
   *
   * @param nowMs The instant, in epoch milliseconds.
   * @returns The period's start instant in epoch milliseconds; `undefined` when `nowMs` is
   * outside every period; `-Infinity` for a non-stop schedule (a period that never began).
   * @throws {RangeError} When `nowMs` is not a finite time within `Date`'s range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SessionSchedule } from "@fixwire/engine";
   * const s = new SessionSchedule({ startTime: "08:00:00", endTime: "17:00:00" });
   * assert.equal(s.periodStartMs(Date.parse("2026-01-05T12:00:00Z")), Date.parse("2026-01-05T08:00:00Z"));
   * assert.equal(s.periodStartMs(Date.parse("2026-01-05T20:00:00Z")), undefined);
   * ```
   */
  periodStartMs(nowMs: number): number | undefined {
    checkInstant(nowMs, "time");
    if (this.#kind === "nonStop") return Number.NEGATIVE_INFINITY;
    return this.#containing(nowMs)?.startMs;
  }

  /**
   * The next period start strictly after `nowMs` (a start at `nowMs` itself is not "next").
   * Empty periods (both ends in the same skipped hour) are skipped.
   *
   * @param nowMs The instant, in epoch milliseconds.
   * @returns The instant in epoch milliseconds; `undefined` for a non-stop schedule.
   * @throws {RangeError} When `nowMs` is not a finite time within `Date`'s range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SessionSchedule } from "@fixwire/engine";
   * const s = new SessionSchedule({
   *   startTime: "08:00:00",
   *   endTime: "17:00:00",
   *   timeZone: "America/New_York",
   * });
   * // Saturday 2026-03-07 20:00 EST; the clocks go forward on Sunday
   * assert.equal(
   *   s.nextStartMs(Date.parse("2026-03-07T20:00:00-05:00")),
   *   Date.parse("2026-03-08T08:00:00-04:00"),
   * );
   * ```
   */
  nextStartMs(nowMs: number): number | undefined {
    checkInstant(nowMs, "time");
    if (this.#kind === "nonStop") return undefined;
    return this.#next(nowMs, "startMs");
  }

  /**
   * The next period end strictly after `nowMs`: the end of the current period when in session,
   * else the end of the next one. Empty periods are skipped.
   *
   * @param nowMs The instant, in epoch milliseconds.
   * @returns The instant in epoch milliseconds; `undefined` for a non-stop schedule.
   * @throws {RangeError} When `nowMs` is not a finite time within `Date`'s range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SessionSchedule } from "@fixwire/engine";
   * const s = new SessionSchedule({ startTime: "08:00:00", endTime: "17:00:00" });
   * assert.equal(s.nextEndMs(Date.parse("2026-01-05T12:00:00Z")), Date.parse("2026-01-05T17:00:00Z"));
   * assert.equal(s.nextEndMs(Date.parse("2026-01-05T20:00:00Z")), Date.parse("2026-01-06T17:00:00Z"));
   * ```
   */
  nextEndMs(nowMs: number): number | undefined {
    checkInstant(nowMs, "time");
    if (this.#kind === "nonStop") return undefined;
    return this.#next(nowMs, "endMs");
  }

  /**
   * Whether two instants fall in the same session period. Used with the store's creation time
   * and now: when they are not in the same period, the sequence numbers are reset (QuickFIX's
   * `isSessionTime` check on the creation time). An instant outside every period is in no
   * period, so the answer is then `false`.
   *
   * @param aMs One instant, in epoch milliseconds.
   * @param bMs The other instant, in epoch milliseconds.
   * @returns `true` when both are in session and in the same period; always `true` for a
   * non-stop schedule.
   * @throws {RangeError} When an instant is not a finite time within `Date`'s range.
   *
   * @example
   * ```ts
   * import assert from "node:assert/strict";
   * import { SessionSchedule } from "@fixwire/engine";
   * // Always up, reset daily at 17:00 New York time
   * const s = new SessionSchedule({
   *   startTime: "17:00:00",
   *   endTime: "17:00:00",
   *   timeZone: "America/New_York",
   * });
   * const created = Date.parse("2026-01-05T09:00:00-05:00");
   * assert.equal(s.isSamePeriod(created, Date.parse("2026-01-05T16:59:59.999-05:00")), true);
   * assert.equal(s.isSamePeriod(created, Date.parse("2026-01-05T17:00:00-05:00")), false);
   * ```
   */
  isSamePeriod(aMs: number, bMs: number): boolean {
    checkInstant(aMs, "first time");
    checkInstant(bMs, "second time");
    if (this.#kind === "nonStop") return true;
    const a = this.#containing(aMs);
    return a !== undefined && a.startMs === this.#containing(bMs)?.startMs;
  }

  /** The zone's UTC offset at an instant, in milliseconds (whole seconds). */
  #offsetMs(instantMs: number): number {
    let bc = false, year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
    for (const part of this.#format.formatToParts(instantMs)) {
      switch (part.type) {
        case "era":
          bc = part.value === "BC";
          break;
        case "year":
          year = Number(part.value);
          break;
        case "month":
          month = Number(part.value);
          break;
        case "day":
          day = Number(part.value);
          break;
        case "hour":
          hour = Number(part.value);
          break;
        case "minute":
          minute = Number(part.value);
          break;
        case "second":
          second = Number(part.value);
          break;
      }
    }
    const local = daysFromCivil(bc ? 1 - year : year, month, day) * MS_PER_DAY +
      (hour * 3600 + minute * 60 + second) * MS_PER_SECOND;
    const wholeSecond = instantMs - ((instantMs % MS_PER_SECOND) + MS_PER_SECOND) % MS_PER_SECOND;
    return local - wholeSecond;
  }

  /** The local day number (days since 1970-01-01 on the zone's calendar) at an instant. */
  #localDay(instantMs: number): number {
    return Math.floor((instantMs + this.#offsetMs(instantMs)) / MS_PER_DAY);
  }

  /**
   * The first instant at which the zone's clock reads `wallMs` (local time as if UTC, whole
   * seconds) or later: the instant itself when it exists once, the first occurrence when it
   * exists twice, and the instant of the change when the clock skips over it.
   */
  #resolve(wallMs: number): number {
    // Offsets a day either side: at most one change lies between them in any real zone.
    const before = this.#offsetMs(wallMs - MS_PER_DAY);
    const after = this.#offsetMs(wallMs + MS_PER_DAY);
    const early = wallMs - before, late = wallMs - after;
    if (before === after) return early;
    const earlyValid = this.#offsetMs(early) === before;
    const lateValid = this.#offsetMs(late) === after;
    if (earlyValid && lateValid) return Math.min(early, late);
    if (earlyValid) return early;
    if (lateValid) return late;
    // Skipped: the clock jumps forward over wallMs. Find the change, a whole second in
    // (late, early]: before it the offset is `before`, from it on `after`.
    let lo = Math.min(early, late), hi = Math.max(early, late);
    while (hi - lo > MS_PER_SECOND) {
      const mid = lo + Math.floor((hi - lo) / (2 * MS_PER_SECOND)) * MS_PER_SECOND;
      if (this.#offsetMs(mid) === before) lo = mid;
      else hi = mid;
    }
    return hi;
  }

  /** The period starting on local day `index` (a day periods start on). */
  #period(index: number): Period {
    let period = this.#periods.get(index);
    if (period === undefined) {
      period = {
        startMs: this.#resolve(index * MS_PER_DAY + this.#startSecond * MS_PER_SECOND),
        endMs: this.#resolve(
          (index + this.#endDayOffset) * MS_PER_DAY + this.#endSecond * MS_PER_SECOND,
        ),
      };
      if (this.#periods.size >= PERIOD_CACHE_SIZE) {
        for (const oldest of this.#periods.keys()) {
          this.#periods.delete(oldest);
          break;
        }
      }
      this.#periods.set(index, period);
    }
    return period;
  }

  /** The latest day on or before `day` that a period starts on. */
  #alignDown(day: number): number {
    return this.#startWeekday < 0 ? day : day - (weekdayOf(day) - this.#startWeekday + 7) % 7;
  }

  /** The period containing an instant, if any. */
  #containing(nowMs: number): Period | undefined {
    // A period whose start wall time the clock has read is started; scan back from two days
    // ahead (a clock going back may have read tomorrow's start already) to the latest started
    // period, the only one that can contain nowMs.
    let index = this.#alignDown(this.#localDay(nowMs) + 2);
    for (let n = 0; n < 5; n++, index -= this.#step) {
      const period = this.#period(index);
      if (period.startMs <= nowMs) return nowMs < period.endMs ? period : undefined;
    }
    return undefined;
  }

  /** The first non-empty period boundary of the given side strictly after nowMs. */
  #next(nowMs: number, side: keyof Period): number | undefined {
    // Periods from one step before the one starting today: that one started, and so ended
    // before any later one's end; boundaries grow with the index.
    let index = this.#alignDown(this.#localDay(nowMs)) - this.#step;
    for (let n = 0; n < 8; n++, index += this.#step) {
      const period = this.#period(index);
      if (period[side] > nowMs && period.endMs > period.startMs) return period[side];
    }
    return undefined;
  }
}
