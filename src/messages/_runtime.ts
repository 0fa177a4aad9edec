/**
 * What the generated typed-message builders (`src/messages/fix*.ts`) run. Each message type,
 * group entry, header and trailer has a generated fill function: straight code that reads each
 * property the dictionary defines and adds the fields set, in dictionary order, as a hand-written
 * `new FixMessage(t).set(tag, v)...` would. The fill takes a part's first shapes of fields object
 * (the keys in `for...in` order): up to {@linkcode STRAIGHT_SHAPES}, but only the first for a
 * message of single fields; other shapes go through a plan instead: a map from property name to
 * tag, position and kind, built once from the generated `def` function, walking only the
 * properties set. The two give the same fields. Why both: V8 reads a property of an object of
 * up to four shapes from its inline cache, at no cost when the property is absent; past four,
 * each of a message's hundreds of reads becomes a hash probe and the straight code is ten to a
 * hundred times slower than the plan; from two, each read is checked against each shape.
 * An object of the shape the straight fill took last is checked without reading its values;
 * any other is read once (keys and values onto a stack) and its shape found among the plan's
 * last few (the one after the last shape last time, else by its first key). A message of single
 * fields by plan gets its tags and values in two arrays at once (`messageOfFields`); a group's
 * entries are filled, then added with their NumInGroup field at once (`appendGroup`).
 * Private to this folder; `tools/gen_messages.ts` copies it next to a venue's module.
 *
 * @module
 */

import {
  appendGroup,
  type FieldMap,
  type FieldValue,
  FixMessage,
  messageOfFields,
  newGroupEntry,
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
  /** @internal The shapes of fields objects seen, at most {@linkcode MAX_SHAPES}. */
  readonly shapes: Shape[];
  /** @internal The shape used last. */
  last: Shape | undefined;
  /** @internal The shape used last among those of each first key. */
  readonly byFirstKey: Map<string, Shape>;
  /** @internal Counts evictions: the next shape replaces `shapes[evict % MAX_SHAPES]`. */
  evict: number;
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
    this.#add(name, tag, flags | GROUP, { plan: entryPlan(entry) });
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
  const plan: Plan = {
    msgType,
    name,
    slots: new Map(),
    requiredCount: 0,
    shapes: [],
    last: undefined,
    byFirstKey: new Map(),
    evict: 0,
  };
  def(new PlanBuilder(plan));
  return plan;
}

/** A group entry's plan, built once per `def`: its first field is required in every entry. */
function entryPlan(def: Def): Plan {
  let plan = ENTRY_PLANS.get(def);
  if (plan === undefined) {
    plan = makePlan("", "", def);
    // Every entry starts with its first field, whatever the dictionary says.
    let first: Slot | undefined;
    for (const s of plan.slots.values()) if (first === undefined || s.pos < first.pos) first = s;
    if (first !== undefined && first.required === 0) {
      first.required = 1;
      plan.requiredCount++;
    }
    ENTRY_PLANS.set(def, plan);
  }
  return plan;
}

/** Marks the errors thrown here, so a group adds the entry they come from. */
class BuildError extends TypeError {
  override name = "TypeError";
}

function missingSlot(at: string, s: Slot | undefined): TypeError {
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
 * How one shape of fields object maps to the plan: its keys in `for...in` order, and the slots
 * of the keys the plan knows in dictionary order with the index of each key. A plan keeps the
 * last few shapes, so a call site building the same shape again skips the lookups and the
 * sort: only the key names are compared, and mostly only the first one (two shapes seldom
 * start with the same key).
 */
interface Shape {
  keys: string[];
  /** The slots of the keys the plan knows, in dictionary order. */
  sorted: Slot[];
  /** For each of `sorted`, its key's index in `keys`. */
  index: number[];
  /** The tag of each of `sorted`. */
  tags: number[];
  /** The kind of each of `sorted`. */
  kinds: number[];
  /** How many of `sorted` are required. */
  required: number;
  /** Whether all of `sorted` are single fields (no group, data, header or trailer). */
  flat: boolean;
  /** MsgType(35) then `tags`: a message's tags when every value is set. */
  messageTags: number[];
  /** The shape of the object that came after one of this shape, last time. */
  next: Shape | undefined;
  /** Whether a part's straight fill takes this shape: 1 yes, 2 no, 0 not yet asked. */
  straight: number;
}

/** How many shapes a plan keeps. */
const MAX_SHAPES = 16;

// The keys and values of the objects being filled, in `for...in` order: one stack shared by
// nested groups (each level uses the slice above its parent's).
const KEYS: string[] = [];
const VALUES: unknown[] = [];
let top = 0;

const NO_KEYS: string[] = [];

/**
 * Reads `f`'s keys and values onto the stack from `top` (left at the end), comparing its keys
 * as they come with those of the plan's last shape, or, from a first key that differs, of the
 * last shape with that first key.
 *
 * @returns That shape when `f` has its keys; `undefined` otherwise.
 */
function collect(plan: Plan, f: object): Shape | undefined {
  const base = top;
  let n = base;
  let shape = plan.last;
  let keys = shape === undefined ? NO_KEYS : shape.keys;
  for (const key in f) {
    // The length first: comparing a key with `undefined` would make every comparison here slow.
    const i = n - base;
    if (i >= keys.length || keys[i] !== key) {
      if (i === 0) {
        // The shape that came after the last one last time, else the last of this first key.
        const after = shape?.next;
        shape = after !== undefined && after.keys.length > 0 && after.keys[0] === key
          ? after
          : plan.byFirstKey.get(key);
      } else shape = undefined;
      keys = shape === undefined ? NO_KEYS : shape.keys;
    }
    KEYS[n] = key;
    VALUES[n++] = (f as Record<string, unknown>)[key];
    top = n; // before the next key: a getter may build a message too
  }
  return shape !== undefined && keys.length === n - base ? shape : undefined;
}

/** Lets go of the values from `base` up, and of the stack above it. */
function release(base: number, end: number): void {
  for (let i = base; i < end; i++) VALUES[i] = undefined;
  top = base;
}

/** Fills from an object: collects it, then fills from the stack. */
function fill(m: FieldMap, plan: Plan, f: object, at: string): void {
  const base = top;
  const shape = shapeOf(plan, collect(plan, f), base, top);
  fillCollected(m, plan, shape, f, base, at);
  release(base, top);
}

/** Fills from the values on the stack from `base`, of the given shape. */
function fillCollected(
  m: FieldMap,
  plan: Plan,
  shape: Shape,
  f: object,
  base: number,
  at: string,
): void {
  if (shape.required !== plan.requiredCount) throw missingIn(plan, f, at);
  const kinds = shape.kinds, tags = shape.tags, index = shape.index;
  for (let i = 0; i < kinds.length; i++) {
    const v = VALUES[base + index[i]];
    const kind = kinds[i];
    if (kind === 0 && typeof v === "string") m.add(tags[i], v);
    else if (v === undefined || v === null) {
      if (shape.sorted[i].required) throw missingIn(plan, f, at);
    } else if (kind === 0) m.add(tags[i], v as FieldValue);
    else if (kind === DEC) m.add(tags[i], decimalText(tags[i], v));
    else fillOne(m, shape.sorted[i], v, at);
  }
}

/** Adds a field of another kind than text or decimal, or a group, header or trailer. */
function fillOne(m: FieldMap, s: Slot, v: unknown, at: string): void {
  const kind = s.kind;
  if (kind === TIME) m.add(s.tag, timeText(s.tag, v, "ms"));
  else if (kind === (TIME | SECONDS)) m.add(s.tag, timeText(s.tag, v, "s"));
  else if (kind === LIST) m.add(s.tag, Array.isArray(v) ? v.join(" ") : v as FieldValue);
  else if (kind === DATA) m.add(s.lengthTag, byteLength(String(v))).add(s.tag, v as string);
  else if (kind === GROUP) fillGroup(m, s, v, at);
  else fill(m, s.plan!, v as object, at);
}

/** Whether the keys on the stack from `base` to `end` are `keys`. */
function sameKeys(keys: string[], base: number, end: number): boolean {
  if (keys.length !== end - base) return false;
  for (let i = 0; i < keys.length; i++) if (keys[i] !== KEYS[base + i]) return false;
  return true;
}

/**
 * The shape of the object on the stack between `base` and `end`: the one `collect` found, else
 * one of those kept, else a new one, kept. It becomes the plan's last, and the last of its
 * first key.
 */
function shapeOf(plan: Plan, found: Shape | undefined, base: number, end: number): Shape {
  const shape = found ?? findShape(plan, base, end);
  if (plan.last !== undefined) plan.last.next = shape;
  plan.last = shape;
  if (found === undefined) plan.byFirstKey.set(end > base ? KEYS[base] : "", shape);
  return shape;
}

function findShape(plan: Plan, base: number, end: number): Shape {
  const shapes = plan.shapes;
  for (let j = 0; j < shapes.length; j++) if (sameKeys(shapes[j].keys, base, end)) return shapes[j];
  const keys = KEYS.slice(base, end);
  const index = keys.map((_, i) => i).filter((i) => plan.slots.has(keys[i]));
  index.sort((a, b) => plan.slots.get(keys[a])!.pos - plan.slots.get(keys[b])!.pos);
  const sorted = index.map((i) => plan.slots.get(keys[i])!);
  const shape: Shape = {
    keys,
    sorted,
    index,
    tags: sorted.map((s) => s.tag),
    kinds: sorted.map((s) => s.kind),
    required: sorted.reduce((n, s) => n + s.required, 0),
    flat: sorted.every((s) => (s.kind & (DATA | GROUP | PART)) === 0),
    messageTags: [35, ...sorted.map((s) => s.tag)],
    next: undefined,
    straight: 0,
  };
  // Past MAX_SHAPES, the new shape takes the place of the oldest.
  if (shapes.length < MAX_SHAPES) shapes.push(shape);
  else {
    const j = plan.evict++ % MAX_SHAPES;
    const old = shapes[j];
    if (plan.byFirstKey.get(old.keys.length > 0 ? old.keys[0] : "") === old) {
      plan.byFirstKey.delete(old.keys.length > 0 ? old.keys[0] : "");
    }
    shapes[j] = shape;
  }
  return shape;
}

function fillGroup(m: FieldMap, s: Slot, v: unknown, at: string): void {
  if (!Array.isArray(v)) {
    throw new BuildError(`Cannot build ${at}: group ${s.name}(${s.tag}) is not an array`);
  }
  if (v.length === 0) {
    if (s.required) throw missingSlot(at, s);
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
  return missingSlot(at, first);
}

/** Adds the fields of one fields object to a message or group entry, in dictionary order. */
export type Fill<F> = (m: FieldMap, f: F, at: string) => void;

/**
 * A generated part (message type, group entry, header or trailer): its straight fill, the
 * `def` its plan comes from, and the shapes of fields object the fill has seen.
 */
export interface Part<F> {
  /** MsgType(35) of a message; empty otherwise. */
  readonly msgType: string;
  /** The message name, or a group's NumInGroup field name, for errors. */
  readonly name: string;
  /** A group's NumInGroup tag; 0 otherwise. */
  readonly tag: number;
  /** @internal */
  readonly fill: Fill<F>;
  /** @internal */
  readonly def: Def;
  /** @internal How the plan is made: 0 message, 1 group entry, 2 header or trailer. */
  readonly kind: number;
  /** @internal Built on the first fields object the straight fill does not take. */
  plan: Plan | undefined;
  /** @internal The keys of each shape the straight fill has taken, in `for...in` order. */
  readonly seen: string[][];
  /** @internal Whether the last object went by plan: the next is read at once. */
  byPlan: boolean;
  /** @internal At most {@linkcode SMALL_PART} members: always filled straight. */
  readonly small: boolean;
}

/** How many shapes of fields object a part's straight fill takes (V8 caches four per read). */
export const STRAIGHT_SHAPES = 4;

/**
 * A part with at most this many members (fields, data fields, groups) is always filled
 * straight: with a few reads, the reads of an object of any shape cost less than checking it.
 */
export const SMALL_PART = 16;

/**
 * A message type's part.
 *
 * @param msgType MsgType(35).
 * @param name The message name.
 * @param def Describes its members, for the plan.
 * @param fill Adds its fields.
 * @param size Its number of members, components expanded.
 * @returns The part.
 */
export function message<F>(
  msgType: string,
  name: string,
  def: Def,
  fill: Fill<F>,
  size: number,
): Part<F> {
  const small = size <= SMALL_PART;
  return {
    msgType,
    name,
    tag: 0,
    fill,
    def,
    kind: 0,
    plan: undefined,
    seen: [],
    byPlan: false,
    small,
  };
}

/**
 * A group entry's part.
 *
 * @param tag The group's NumInGroup tag.
 * @param name Its field name.
 * @param def Describes an entry's members, for the plan.
 * @param fill Adds an entry's fields.
 * @param size Its number of members, components expanded.
 * @returns The part.
 */
export function entry<F>(
  tag: number,
  name: string,
  def: Def,
  fill: Fill<F>,
  size: number,
): Part<F> {
  const small = size <= SMALL_PART;
  return {
    msgType: "",
    name,
    tag,
    fill,
    def,
    kind: 1,
    plan: undefined,
    seen: [],
    byPlan: false,
    small,
  };
}

/**
 * The header's or the trailer's part.
 *
 * @param def Describes its members, for the plan.
 * @param fill Adds its fields.
 * @param size Its number of members, components expanded.
 * @returns The part.
 */
export function section<F>(def: Def, fill: Fill<F>, size: number): Part<F> {
  const small = size <= SMALL_PART;
  return {
    msgType: "",
    name: "",
    tag: 0,
    fill,
    def,
    kind: 2,
    plan: undefined,
    seen: [],
    byPlan: false,
    small,
  };
}

/**
 * Whether the straight fill took `f`'s shape last, checked without reading values: most
 * callers pass one shape.
 */
function sameAsLast(p: Part<never>, f: object): boolean {
  const seen = p.seen;
  if (seen.length === 0) return false;
  const keys = seen[0];
  let n = 0;
  for (const key in f) {
    // The length first: comparing a key with `undefined` would make every comparison slow.
    if (n >= keys.length || keys[n++] !== key) return false;
  }
  return n === keys.length;
}

/** Fills `m` from `f` through the part's straight fill or its plan. */
function fillPart<F extends object>(m: FieldMap, p: Part<F>, f: F, at: string): void {
  if (p.small || sameAsLast(p as Part<never>, f)) return p.fill(m, f, at);
  const base = top;
  try {
    const shape = planShape(p as Part<never>, f, base);
    if (shape === undefined) p.fill(m, f, at);
    else fillCollected(m, p.plan!, shape, f, base, at);
  } finally {
    release(base, top);
  }
}

/**
 * Reads an object of another shape than the one the straight fill took last, once (keys and
 * values onto the stack from `base`), and finds its shape.
 *
 * @returns The shape when it goes by plan, from the values read; `undefined` when it goes
 * straight (the values let go).
 */
function planShape(p: Part<never>, f: object, base: number): Shape | undefined {
  const plan = planOf(p);
  const shape = shapeOf(plan, collect(plan, f), base, top);
  if ((shape.straight || straightShape(p, shape)) === 2) return shape;
  // The last shape taken is checked first next time: a caller mostly passes one shape.
  const seen = p.seen;
  if (seen[0] !== shape.keys) {
    const j = seen.indexOf(shape.keys);
    seen[j] = seen[0];
    seen[0] = shape.keys;
  }
  release(base, top);
  return undefined;
}

/**
 * A message of single fields only, by plan: its tags and values put in two arrays the message
 * takes, which costs less than adding them one by one.
 */
function flatMessage(
  plan: Plan,
  shape: Shape,
  f: object,
  base: number,
  msgType: string,
  at: string,
): FixMessage {
  if (shape.required !== plan.requiredCount) throw missingIn(plan, f, at);
  const kinds = shape.kinds, tags = shape.tags, index = shape.index;
  // Every field set, mostly: the tags are the shape's; an absent one is dropped at the end.
  const values: string[] = new Array(kinds.length + 1);
  values[0] = msgType;
  let absent = 0;
  for (let i = 0; i < kinds.length; i++) {
    const v = VALUES[base + index[i]];
    VALUES[base + index[i]] = undefined;
    const kind = kinds[i];
    let text: string;
    if (kind === 0 && typeof v === "string") text = v;
    else if (v === undefined || v === null) {
      if (shape.sorted[i].required) throw missingIn(plan, f, at);
      absent++;
      continue;
    } else if (kind === 0) text = fieldText(v);
    else if (kind === DEC) text = decimalText(tags[i], v);
    else if (kind === TIME) text = timeText(tags[i], v, "ms");
    else if (kind === (TIME | SECONDS)) text = timeText(tags[i], v, "s");
    else text = Array.isArray(v) ? v.join(" ") : fieldText(v);
    values[i + 1] = text;
  }
  if (absent === 0) return messageOfFields(shape.messageTags, values);
  const outTags = [35], outValues = [msgType];
  for (let i = 1; i < values.length; i++) {
    if (values[i] !== undefined) {
      outTags.push(tags[i - 1]);
      outValues.push(values[i]);
    }
  }
  return messageOfFields(outTags, outValues);
}

/** A value's text as `FieldMap.add` writes it: booleans as Y/N, numbers as decimals. */
function fieldText(v: unknown): string {
  if (typeof v === "string") return v;
  if (typeof v === "boolean") return v ? "Y" : "N";
  return numberToFixText(v as number);
}

/**
 * Whether the part's straight fill takes a shape new to the plan, when it has room for one
 * more (for a message of single fields, only as its first): 1 yes, 2 no.
 */
function straightShape(p: Part<never>, shape: Shape): number {
  const seen = p.seen;
  for (let j = 0; j < seen.length; j++) {
    const keys = seen[j];
    if (keys.length === shape.keys.length && keys.every((k, i) => k === shape.keys[i])) {
      // Evicted from the plan and made again: the straight fill took it already.
      seen[j] = shape.keys;
      return shape.straight = 1;
    }
  }
  // A message of single fields goes by plan from its second shape on: its plan costs about
  // what a straight fill of two shapes or more does (V8 then checks each read against each).
  if (seen.length >= STRAIGHT_SHAPES || (seen.length > 0 && p.kind === 0 && shape.flat)) {
    return shape.straight = 2;
  }
  seen.push(shape.keys);
  return shape.straight = 1;
}

function planOf(p: Part<never>): Plan {
  return p.plan ??= p.kind === 1 ? entryPlan(p.def) : makePlan(p.msgType, p.name, p.def);
}

/**
 * Builds a message: the fields set, in dictionary order, the required ones checked.
 * Properties the dictionary does not define are ignored; `undefined` and `null` values count
 * as absent.
 *
 * @param p The message type's part.
 * @param f The fields.
 * @returns The message.
 * @throws {TypeError} When a required field is missing or a decimal is malformed.
 * @throws {RangeError} When a `Date` is invalid or a number not finite.
 */
export function build<F extends object>(p: Part<F>, f: F): FixMessage {
  if (p.small || (!p.byPlan && sameAsLast(p as Part<never>, f))) {
    const m = new FixMessage(p.msgType);
    p.fill(m, f, p.name);
    return m;
  }
  const base = top;
  try {
    const shape = planShape(p as Part<never>, f, base);
    p.byPlan = shape !== undefined;
    if (shape !== undefined && shape.flat) {
      const m = flatMessage(p.plan!, shape, f, base, p.msgType, p.name);
      // flatMessage let go of the values it read: all of them, unless some keys are unknown.
      if (shape.index.length === shape.keys.length) top = base;
      return m;
    }
    const m = new FixMessage(p.msgType);
    if (shape === undefined) p.fill(m, f, p.name);
    else fillCollected(m, p.plan!, shape, f, base, p.name);
    return m;
  } finally {
    release(base, top);
  }
}

/**
 * Adds the header's or the trailer's fields.
 *
 * @param m The message.
 * @param f The header's or trailer's fields.
 * @param p Its part.
 * @param at The message name, for errors.
 */
export function part<F extends object>(m: FieldMap, f: F, p: Part<F>, at: string): void {
  fillPart(m, p, f, at);
}

/**
 * Adds a repeating group's entries.
 *
 * @param m The message or the entry holding the group.
 * @param v The entries.
 * @param p The entries' part.
 * @param at The message name, for errors.
 * @param required `R` when the group is required, else 0.
 * @throws {TypeError} When the group is required and absent or empty, is not an array, or an
 * entry lacks a required field.
 */
export function group<E extends object>(
  m: FieldMap,
  v: readonly E[] | undefined,
  p: Part<E>,
  at: string,
  required: number,
): void {
  if (v === undefined || v === null) {
    if (required) {
      throw new BuildError(`Cannot build ${at}: required group ${p.name}(${p.tag}) is missing`);
    }
    return;
  }
  if (!Array.isArray(v)) {
    throw new BuildError(`Cannot build ${at}: group ${p.name}(${p.tag}) is not an array`);
  }
  if (v.length === 0) {
    if (required) {
      throw new BuildError(`Cannot build ${at}: required group ${p.name}(${p.tag}) is missing`);
    }
    return;
  }
  let i = 0;
  try {
    // The entries filled first, then added at once, NumInGroup included.
    const entries: FieldMap[] = [];
    for (; i < v.length; i++) {
      const e = newGroupEntry(m);
      if (p.small) p.fill(e, v[i], at);
      else fillPart(e, p, v[i], at);
      entries.push(e);
    }
    if (appendGroup(m, p.tag, entries)) return;
    // A group the map holds already (a dictionary defining it twice): its entries added to it.
    for (i = 0; i < v.length; i++) {
      const e = m.addGroupEntry(p.tag);
      if (p.small) p.fill(e, v[i], at);
      else fillPart(e, p, v[i], at);
    }
  } catch (err) {
    if (!(err instanceof BuildError)) throw err;
    throw new BuildError(`${err.message} in ${p.name}(${p.tag}) entry ${i}`);
  }
}

/**
 * Throws for a required field, group or header that is absent.
 *
 * @param at The message name.
 * @param what `field Name(tag)`, `group Name(tag)` or `header`.
 * @returns Never.
 * @throws {TypeError} Always.
 */
export function missing(at: string, what: string): never {
  throw new BuildError(`Cannot build ${at}: required ${what} is missing`);
}

/**
 * A decimal's text.
 *
 * @param tag The tag, for errors.
 * @param v A number or decimal text.
 * @returns The text.
 * @throws {TypeError} When the text is not a decimal.
 * @throws {RangeError} When the number is not finite.
 */
export function dec(tag: number, v: Decimal): string {
  return decimalText(tag, v);
}

/**
 * A UTCTimestamp's text, a `Date` with milliseconds.
 *
 * @param tag The tag, for errors.
 * @param v Text, kept as is, or a `Date`.
 * @returns The text.
 * @throws {RangeError} When the `Date` is invalid.
 */
export function time(tag: number, v: UtcTimestamp): string {
  return typeof v === "string" ? v : timeText(tag, v, "ms");
}

/**
 * A UTCTimestamp's text, a `Date` in whole seconds (FIX.4.0 and FIX.4.1).
 *
 * @param tag The tag, for errors.
 * @param v Text, kept as is, or a `Date`.
 * @returns The text.
 * @throws {RangeError} When the `Date` is invalid.
 */
export function seconds(tag: number, v: UtcTimestamp): string {
  return typeof v === "string" ? v : timeText(tag, v, "s");
}

/**
 * A multiple-value field's text: the values joined with spaces.
 *
 * @param v The values, or text.
 * @returns The text.
 */
export function list(v: string | readonly string[]): string {
  return typeof v === "string" ? v : v.join(" ");
}

/**
 * Adds a data field after its LENGTH field, set to its length in bytes.
 *
 * @param m The message or entry.
 * @param lengthTag The LENGTH tag.
 * @param tag The DATA tag.
 * @param v The data.
 */
export function data(m: FieldMap, lengthTag: number, tag: number, v: string): void {
  m.add(lengthTag, byteLength(String(v))).add(tag, v);
}
