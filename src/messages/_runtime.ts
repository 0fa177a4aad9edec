/**
 * What the generated typed-message builders (`src/messages/fix*.ts`) run. Each message type's
 * members are described once, by a generated `def` function, into a plan: a map from property
 * name to tag, position and kind, with components expanded. A build then walks only the
 * properties the caller set, so it costs the same whatever the size of the dictionary.
 * Private to this folder; `tools/gen_messages.ts` copies it next to a venue's module.
 *
 * @module
 */

import {
  type FieldMap,
  type FieldValue,
  FixMessage,
  numberToFixText,
} from "../message/fix_message.ts";
import { formatUtcTimestamp } from "../message/timestamps.ts";

/**
 * A FIX decimal (Price, Qty, Amt, Float...): a number (written without exponent) or decimal
 * text such as `"101.250"`, kept exactly as written.
 */
export type Decimal = number | `${number}`;

/**
 * A UTCTimestamp: text such as `"20260101-12:00:00.000"`, kept as written, or a `Date`,
 * written with millisecond precision (in whole seconds for FIX.4.0 and FIX.4.1).
 */
export type UtcTimestamp = string | Date;

/** Flag: required (where the enclosing component is). */
export const R = 1;
/** Flag: a decimal (`number` or decimal text). */
export const DEC = 2;
/** Flag: a UTCTimestamp (text or `Date`). */
export const TIME = 4;
/** Flag: a multiple-value field (an array joined with spaces, or text). */
export const LIST = 8;
/** Flag, with `TIME`: a `Date` is written in whole seconds (FIX.4.0 and FIX.4.1). */
export const SECONDS = 128;
const DATA = 16;
const GROUP = 32;
const PART = 64;

/** Describes a message's, component's or group entry's members, in dictionary order. */
export type Def = (d: PlanBuilder) => void;

interface Slot {
  /** Position in dictionary order. */
  pos: number;
  tag: number;
  /** The LENGTH tag of a data field. */
  lengthTag: number;
  name: string;
  prop: string;
  /** 1 when required, else 0 (counted). */
  required: number;
  kind: number;
  /** A group's entries, or the header's or trailer's fields. */
  plan: Plan | undefined;
}

/** A message's or group entry's members by property name. */
export interface Plan {
  /** MsgType(35); empty for group entries. */
  readonly msgType: string;
  /** The message name, for errors. */
  readonly name: string;
  /** @internal */
  readonly slots: Map<string, Slot>;
  /** @internal Number of required slots. */
  requiredCount: number;
  /** @internal The shapes of fields objects seen, last used first. */
  readonly shapes: Shape[];
}

/**
 * A spec name as a camelCase property name: `ClOrdID` to `clOrdID`, `MDReqID` to `mdReqID`.
 *
 * @param name The spec name.
 * @returns The property name.
 */
export function camelName(name: string): string {
  const run = /^[A-Z]+/.exec(name)?.[0] ?? "";
  if (run.length <= 1) return name.charAt(0).toLowerCase() + name.slice(1);
  if (run.length === name.length) return name.toLowerCase();
  const keep = /[a-z]/.test(name.charAt(run.length)) ? run.length - 1 : run.length;
  return name.slice(0, keep).toLowerCase() + name.slice(keep);
}

const ENTRY_PLANS = new WeakMap<Def, Plan>();

/** Collects a plan's slots from the generated `def` functions, expanding components. */
export class PlanBuilder {
  readonly #plan: Plan;
  #required = true;
  #pos = 0;

  /**
   * Creates an instance.
   *
   * @param plan The plan to fill.
   */
  constructor(plan: Plan) {
    this.#plan = plan;
  }

  #add(
    name: string,
    tag: number,
    flags: number,
    extra: { lengthTag?: number; plan?: Plan; prop?: string },
  ): void {
    const prop = extra.prop ?? camelName(name);
    if (this.#plan.slots.has(prop)) return;
    const required = this.#required && (flags & R) !== 0 ? 1 : 0;
    this.#plan.requiredCount += required;
    this.#plan.slots.set(prop, {
      pos: this.#pos++,
      tag,
      lengthTag: extra.lengthTag ?? 0,
      name,
      prop,
      required,
      kind: flags & ~R,
      plan: extra.plan,
    });
  }

  /**
   * A field.
   *
   * @param tag The tag.
   * @param name The spec name.
   * @param flags `R`, `DEC`, `TIME`, `SECONDS`, `LIST` or'ed, or 0.
   */
  field(tag: number, name: string, flags: number): void {
    this.#add(name, tag, flags, {});
  }

  /**
   * A data field, after its LENGTH field, which the build sets from the value.
   *
   * @param lengthTag The LENGTH tag.
   * @param tag The DATA tag.
   * @param name The DATA field's spec name.
   * @param flags `R` or 0.
   */
  data(lengthTag: number, tag: number, name: string, flags: number): void {
    this.#add(name, tag, flags | DATA, { lengthTag });
  }

  /**
   * A repeating group. Its entries' plan is built once per `entry` function.
   *
   * @param tag The NumInGroup tag.
   * @param name Its spec name.
   * @param entry Describes an entry.
   * @param flags `R` or 0.
   */
  group(tag: number, name: string, entry: Def, flags: number): void {
    let plan = ENTRY_PLANS.get(entry);
    if (plan === undefined) {
      plan = makePlan("", this.#plan.name, entry);
      // Every entry starts with its first field, whatever the dictionary says.
      let first: Slot | undefined;
      for (const s of plan.slots.values()) if (first === undefined || s.pos < first.pos) first = s;
      if (first !== undefined && first.required === 0) {
        first.required = 1;
        plan.requiredCount++;
      }
      ENTRY_PLANS.set(entry, plan);
    }
    this.#add(name, tag, flags | GROUP, { plan });
  }

  /**
   * A component: its members at this level, required only when the component is.
   *
   * @param def Describes the component.
   * @param flags `R` or 0.
   */
  component(def: Def, flags: number): void {
    const outer = this.#required;
    this.#required = outer && (flags & R) !== 0;
    def(this);
    this.#required = outer;
  }

  /**
   * The header or the trailer: an object of its own whose fields go into the message.
   *
   * @param prop `header` or `trailer`.
   * @param def Describes its fields.
   * @param flags `R` or 0.
   */
  part(prop: string, def: Def, flags: number): void {
    this.#add(prop, 0, flags | PART, { plan: makePlan("", this.#plan.name, def), prop });
  }
}

function makePlan(msgType: string, name: string, def: Def): Plan {
  const plan: Plan = { msgType, name, slots: new Map(), requiredCount: 0, shapes: [] };
  def(new PlanBuilder(plan));
  return plan;
}

/**
 * A message type's plan, built once by the generated builder.
 *
 * @param msgType MsgType(35).
 * @param name The message name.
 * @param def Describes its members.
 * @returns The plan.
 */
export function plan(msgType: string, name: string, def: Def): Plan {
  return makePlan(msgType, name, def);
}

/** Marks the errors thrown here, so a group adds the entry they come from. */
class BuildError extends TypeError {
  override name = "TypeError";
}

function missing(at: string, s: Slot | undefined): TypeError {
  const what = s === undefined
    ? "field"
    : s.kind & PART
    ? s.prop
    : `${s.kind & GROUP ? "group" : "field"} ${s.name}(${s.tag})`;
  return new BuildError(`Cannot build ${at}: required ${what} is missing`);
}

function isDecimalText(s: string): boolean {
  const n = s.length;
  let i = n > 0 && s.charCodeAt(0) === 45 ? 1 : 0;
  let digits = 0, dot = false;
  for (; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c >= 48 && c <= 57) digits++;
    else if (c === 46 && !dot) dot = true;
    else return false;
  }
  return digits > 0;
}

function decimalText(tag: number, v: unknown): string {
  if (typeof v === "number") return numberToFixText(v);
  if (typeof v !== "string" || !isDecimalText(v)) {
    throw new BuildError(`Cannot set tag ${tag}: "${v}" is not a decimal`);
  }
  return v;
}

function timeText(tag: number, v: unknown, precision: "s" | "ms"): string {
  if (typeof v === "string") return v;
  const ms = v instanceof Date ? v.getTime() : Number.NaN;
  if (Number.isNaN(ms)) throw new RangeError(`Cannot set tag ${tag}: "${v}" is not a valid Date`);
  return formatUtcTimestamp(ms, precision);
}

const UTF8 = new TextEncoder();

/** A value's length in bytes as the encoder writes it: ASCII as is, the rest as UTF-8. */
function byteLength(s: string): number {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) >= 128) return i + UTF8.encode(s.slice(i)).length;
  }
  return s.length;
}

/**
 * How one shape of fields object maps to the plan: its keys in `for...in` order, the slot of
 * each (or `undefined` when the plan does not know it) and the key indexes in dictionary
 * order. A plan keeps the last few shapes, so a call site building the same shape again skips
 * the lookups and the sort: only the key names are compared.
 */
interface Shape {
  keys: string[];
  slots: (Slot | undefined)[];
  order: number[];
}

const MAX_SHAPES = 8;

// The keys and values of the objects being filled, in `for...in` order: one stack shared by
// nested groups (each level uses the slice above its parent's).
const KEYS: string[] = [];
const VALUES: unknown[] = [];
let top = 0;

function fill(m: FieldMap, plan: Plan, f: object, at: string): void {
  const base = top;
  let shape: Shape | undefined = plan.shapes[0];
  let n = base;
  for (const key in f) {
    if (shape !== undefined && shape.keys[n - base] !== key) shape = undefined;
    KEYS[n] = key;
    VALUES[n++] = (f as Record<string, unknown>)[key];
    top = n; // before the next key: a getter may build a message too
  }
  if (shape === undefined || shape.keys.length !== n - base) shape = shapeOf(plan, base, n);
  const order = shape.order, slots = shape.slots;
  let required = 0;
  for (let i = 0; i < order.length; i++) {
    const k = order[i];
    const v = VALUES[base + k];
    if (v === undefined || v === null) continue;
    const s = slots[k]!;
    required += s.required;
    const kind = s.kind;
    if (kind === 0) m.add(s.tag, v as FieldValue);
    else if (kind === DEC) m.add(s.tag, decimalText(s.tag, v));
    else if (kind === TIME) m.add(s.tag, timeText(s.tag, v, "ms"));
    else if (kind === (TIME | SECONDS)) m.add(s.tag, timeText(s.tag, v, "s"));
    else if (kind === LIST) m.add(s.tag, Array.isArray(v) ? v.join(" ") : v as FieldValue);
    else if (kind === DATA) m.add(s.lengthTag, byteLength(String(v))).add(s.tag, v as string);
    else if (kind === GROUP) fillGroup(m, s, v, at);
    else fill(m, s.plan!, v as object, at);
  }
  if (required !== plan.requiredCount) throw missingIn(plan, f, at);
  for (let i = base; i < n; i++) VALUES[i] = undefined;
  top = base;
}

function shapeOf(plan: Plan, base: number, end: number): Shape {
  const shapes = plan.shapes;
  next: for (let j = 1; j < shapes.length; j++) {
    const keys = shapes[j].keys;
    if (keys.length !== end - base) continue;
    for (let i = 0; i < keys.length; i++) if (keys[i] !== KEYS[base + i]) continue next;
    const shape = shapes[j];
    shapes.splice(j, 1);
    shapes.unshift(shape);
    return shape;
  }
  const keys = KEYS.slice(base, end);
  const slots = keys.map((k) => plan.slots.get(k));
  const order = keys.map((_, i) => i).filter((i) => slots[i] !== undefined);
  order.sort((a, b) => slots[a]!.pos - slots[b]!.pos);
  const shape = { keys, slots, order };
  if (shapes.length >= MAX_SHAPES) shapes.pop();
  shapes.unshift(shape);
  return shape;
}

function fillGroup(m: FieldMap, s: Slot, v: unknown, at: string): void {
  if (!Array.isArray(v)) {
    throw new BuildError(`Cannot build ${at}: group ${s.name}(${s.tag}) is not an array`);
  }
  if (v.length === 0) {
    if (s.required) throw missing(at, s);
    return;
  }
  let i = 0;
  try {
    for (; i < v.length; i++) fill(m.addGroupEntry(s.tag), s.plan!, v[i], at);
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    throw new BuildError(`${err.message} in ${s.name}(${s.tag}) entry ${i}`);
  }
}

function missingIn(plan: Plan, f: object, at: string): TypeError {
  let first: Slot | undefined;
  for (const s of plan.slots.values()) {
    const v = (f as Record<string, unknown>)[s.prop];
    if (s.required && (v === undefined || v === null) && (!first || s.pos < first.pos)) first = s;
  }
  return missing(at, first);
}

/**
 * Builds a message from its plan and the caller's fields: the fields set, in dictionary order,
 * the required ones checked. Properties the plan does not know are ignored; `undefined` and
 * `null` values count as absent.
 *
 * @param plan The message type's plan.
 * @param f The fields.
 * @returns The message.
 * @throws {TypeError} When a required field is missing or a decimal is malformed.
 * @throws {RangeError} When a `Date` is invalid or a number not finite.
 */
export function build(plan: Plan, f: object): FixMessage {
  const m = new FixMessage(plan.msgType);
  const base = top;
  try {
    fill(m, plan, f, plan.name);
  } finally {
    if (top !== base) {
      // A throw left values behind: let them go.
      for (let i = base; i < top; i++) VALUES[i] = undefined;
      top = base;
    }
  }
  return m;
}
