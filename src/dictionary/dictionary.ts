/**
 * FIX data dictionaries: fields, enumerations, messages and repeating groups, built from
 * QuickFIX-format XML or from the compact modules generated for each FIX version.
 *
 * @module
 */

import type { GroupSpec } from "../message/fix_message.ts";
import { DictionaryError, parseXml, type XmlElement } from "./xml.ts";

/** One field's definition. */
export interface FieldDef {
  /** Tag number. */
  tag: number;
  /** Spec name, e.g. `MsgSeqNum`. */
  name: string;
  /** FIX type, e.g. `SEQNUM`, `PRICE`, `UTCTIMESTAMP`. */
  type: string;
  /** Enumeration: value to description, when the field has one. */
  values: ReadonlyMap<string, string> | undefined;
}

/** A repeating group's layout (also a `GroupSpec` for `FixMessage.getGroups`). */
export interface GroupLayout extends GroupSpec {
  /** The NumInGroup tag. */
  readonly countTag: number;
  /** The first tag of each entry. */
  readonly delimiterTag: number;
  /** Tags directly in an entry, in order (nested groups' count tags included). */
  readonly memberTags: readonly number[];
  /** Every tag that may appear in an entry, nested groups' members included. */
  readonly allTags: ReadonlySet<number>;
  /** Tags required in every entry. */
  readonly requiredTags: readonly number[];
  /** Nested groups by count tag. */
  readonly nested: ReadonlyMap<number, GroupLayout>;
}

/** A message's or header's structure. */
export interface Layout {
  /** Tags directly at this level, in order. */
  readonly memberTags: readonly number[];
  /** Every tag allowed at this level (group members excluded). */
  readonly tags: ReadonlySet<number>;
  /** Required tags at this level. */
  readonly requiredTags: readonly number[];
  /** Groups at this level by count tag. */
  readonly groups: ReadonlyMap<number, GroupLayout>;
}

/** One message type's definition. */
export interface MessageDef extends Layout {
  /** MsgType(35). */
  readonly msgType: string;
  /** Spec name, e.g. `NewOrderSingle`. */
  readonly name: string;
  /** `admin` for session messages, `app` otherwise. */
  readonly category: "admin" | "app";
}

/**
 * A member list in the compact encoding: a positive number is an optional field, a negative
 * number a required field, an array a group `[±countTag, ...members]`.
 */
export type CompactMember = number | CompactMember[];

/** The compact form of a dictionary, as generated for each FIX version. */
export interface DictionaryData {
  /** `FIX` or `FIXT`. */
  type: string;
  /** Major version. */
  major: number;
  /** Minor version. */
  minor: number;
  /** Service pack. */
  servicePack: number;
  /** `[tag, name, type, enumValue1, description1, ...]` per field. */
  fields: (string | number)[][];
  /** Header members. */
  header: CompactMember[];
  /** Trailer members. */
  trailer: CompactMember[];
  /** `[msgType, name, "admin" | "app", members]` per message. */
  messages: [string, string, string, CompactMember[]][];
}

function buildLayout(members: CompactMember[]): Layout {
  const memberTags: number[] = [];
  const required: number[] = [];
  const groups = new Map<number, GroupLayout>();
  for (const m of members) {
    if (typeof m === "number") {
      memberTags.push(Math.abs(m));
      if (m < 0) required.push(-m);
    } else {
      const g = buildGroup(m);
      memberTags.push(g.countTag);
      if ((m[0] as number) < 0) required.push(g.countTag);
      groups.set(g.countTag, g);
    }
  }
  return { memberTags, tags: new Set(memberTags), requiredTags: required, groups };
}

function buildGroup(m: CompactMember[]): GroupLayout {
  const countTag = Math.abs(m[0] as number);
  const inner = buildLayout(m.slice(1));
  const all = new Set<number>(inner.memberTags);
  for (const g of inner.groups.values()) for (const t of g.allTags) all.add(t);
  const first = m[1];
  const delimiterTag = typeof first === "number" ? Math.abs(first) : Math.abs(first[0] as number);
  return {
    countTag,
    delimiterTag,
    memberTags: inner.memberTags,
    allTags: all,
    requiredTags: inner.requiredTags,
    nested: inner.groups,
  };
}

/**
 * A FIX data dictionary.
 *
 * @example
 * ```ts
 * import { loadDictionary } from "@fixwire/engine";
 * const fix44 = await loadDictionary("FIX.4.4");
 * fix44.fieldName(34); // "MsgSeqNum"
 * fix44.message("D")?.name; // "NewOrderSingle"
 * ```
 */
export class Dictionary {
  /** BeginString of this dictionary's own version: `FIX.4.4`, `FIXT.1.1`, `FIX.5.0SP2`... */
  readonly beginString: string;
  /** Whether this is a transport dictionary (FIXT). */
  readonly isTransport: boolean;
  /** Major version. */
  readonly major: number;
  /** Minor version. */
  readonly minor: number;
  /** Service pack. */
  readonly servicePack: number;
  /** Header structure. */
  readonly header: Layout;
  /** Trailer structure. */
  readonly trailer: Layout;
  readonly #fields = new Map<number, FieldDef>();
  readonly #byName = new Map<string, number>();
  readonly #messages = new Map<string, MessageDef>();
  #dataFields: Map<number, number> | undefined;

  /**
   * Builds a dictionary from its compact data.
   *
   * @param data The data (from a generated module or `Dictionary.dataFromXml`).
   */
  constructor(data: DictionaryData) {
    this.isTransport = data.type === "FIXT";
    this.major = data.major;
    this.minor = data.minor;
    this.servicePack = data.servicePack;
    this.beginString = `${data.type}.${data.major}.${data.minor}${
      data.servicePack > 0 ? `SP${data.servicePack}` : ""
    }`;
    for (const f of data.fields) {
      const [tag, name, type] = f as [number, string, string];
      let values: Map<string, string> | undefined;
      if (f.length > 3) {
        values = new Map();
        for (let i = 3; i + 1 < f.length; i += 2) values.set(String(f[i]), String(f[i + 1]));
      }
      this.#fields.set(tag, { tag, name, type, values });
      this.#byName.set(name, tag);
    }
    this.header = buildLayout(data.header);
    this.trailer = buildLayout(data.trailer);
    for (const [msgType, name, cat, members] of data.messages) {
      this.#messages.set(msgType, {
        msgType,
        name,
        category: cat === "admin" ? "admin" : "app",
        ...buildLayout(members),
      });
    }
  }

  /**
   * Reads a QuickFIX-format XML dictionary.
   *
   * @param text The XML.
   * @param file The file name, for errors.
   * @returns The dictionary.
   * @throws {DictionaryError} Naming the file, line and problem.
   */
  static fromXml(text: string, file: string): Dictionary {
    return new Dictionary(dictionaryDataFromXml(text, file));
  }

  /**
   * A field's definition.
   *
   * @param tag The tag.
   * @returns The definition or `undefined`.
   */
  field(tag: number): FieldDef | undefined {
    return this.#fields.get(tag);
  }

  /**
   * A tag's spec name.
   *
   * @param tag The tag.
   * @returns The name or `undefined`.
   */
  fieldName(tag: number): string | undefined {
    return this.#fields.get(tag)?.name;
  }

  /**
   * A field's tag by name.
   *
   * @param name The spec name.
   * @returns The tag or `undefined`.
   */
  tagOf(name: string): number | undefined {
    return this.#byName.get(name);
  }

  /** Every field, by tag. */
  get fields(): ReadonlyMap<number, FieldDef> {
    return this.#fields;
  }

  /**
   * A message type's definition.
   *
   * @param msgType MsgType(35).
   * @returns The definition or `undefined`.
   */
  message(msgType: string): MessageDef | undefined {
    return this.#messages.get(msgType);
  }

  /**
   * Every MsgType in this dictionary.
   *
   * @returns The MsgTypes.
   */
  messageTypes(): string[] {
    return [...this.#messages.keys()];
  }

  /**
   * Whether a MsgType is a session-level message here.
   *
   * @param msgType MsgType(35).
   * @returns True for admin messages.
   */
  isAdmin(msgType: string): boolean {
    return this.#messages.get(msgType)?.category === "admin";
  }

  /**
   * Whether a tag belongs to the standard header.
   *
   * @param tag The tag.
   * @returns True for header tags.
   */
  isHeaderTag(tag: number): boolean {
    return this.header.tags.has(tag) || tag === 8 || tag === 9 || tag === 35;
  }

  /**
   * Whether a tag belongs to the standard trailer.
   *
   * @param tag The tag.
   * @returns True for trailer tags.
   */
  isTrailerTag(tag: number): boolean {
    return this.trailer.tags.has(tag);
  }

  /**
   * The layout of a group, searched in the message (nested groups included) and the header.
   *
   * @param msgType MsgType(35).
   * @param countTag The NumInGroup tag.
   * @returns The layout or `undefined`.
   */
  groupLayout(msgType: string, countTag: number): GroupLayout | undefined {
    const find = (groups: ReadonlyMap<number, GroupLayout>): GroupLayout | undefined => {
      const g = groups.get(countTag);
      if (g) return g;
      for (const inner of groups.values()) {
        const found = find(inner.nested);
        if (found) return found;
      }
      return undefined;
    };
    const m = this.#messages.get(msgType);
    return (m && find(m.groups)) ?? find(this.header.groups);
  }

  /**
   * LENGTH tag to DATA tag pairs (RawDataLength 95 to RawData 96, ...).
   *
   * @returns The pairs.
   */
  dataFields(): ReadonlyMap<number, number> {
    if (this.#dataFields) return this.#dataFields;
    const out = new Map<number, number>();
    for (const f of this.#fields.values()) {
      if (f.type !== "DATA" && f.type !== "XMLDATA") continue;
      for (const suffix of ["Len", "Length"]) {
        const len = this.#byName.get(f.name + suffix);
        if (len !== undefined && this.#fields.get(len)?.type === "LENGTH") out.set(len, f.tag);
      }
    }
    // Pairs by position: a LENGTH field right before a DATA field in any layout.
    const isData = (t: number) => {
      const type = this.#fields.get(t)?.type;
      return type === "DATA" || type === "XMLDATA";
    };
    const walk = (tags: readonly number[], groups: ReadonlyMap<number, GroupLayout>) => {
      for (let i = 0; i + 1 < tags.length; i++) {
        if (this.#fields.get(tags[i])?.type === "LENGTH" && isData(tags[i + 1])) {
          out.set(tags[i], tags[i + 1]);
        }
      }
      for (const g of groups.values()) walk(g.memberTags, g.nested);
    };
    walk(this.header.memberTags, this.header.groups);
    walk(this.trailer.memberTags, this.trailer.groups);
    for (const m of this.#messages.values()) walk(m.memberTags, m.groups);
    if (this.#fields.has(93) && this.#fields.has(89)) out.set(93, 89);
    if (this.#fields.has(95) && this.#fields.has(96)) out.set(95, 96);
    this.#dataFields = out;
    return out;
  }
}

/**
 * Converts QuickFIX-format XML to compact dictionary data, expanding components.
 *
 * @param text The XML.
 * @param file The file name, for errors.
 * @returns The data.
 * @throws {DictionaryError} Naming the file, line and problem.
 * @example
 * ```ts
 * import { dictionaryDataFromXml } from "@fixwire/engine";
 * const data = dictionaryDataFromXml(
 *   "<fix type='FIX' major='4' minor='4' servicepack='0'><header/><trailer/><messages/>" +
 *     "<components/><fields/></fix>",
 *   "tiny.xml",
 * );
 * data.major; // 4
 * ```
 */
export function dictionaryDataFromXml(text: string, file: string): DictionaryData {
  const root = parseXml(text, file);
  if (root.name !== "fix") {
    throw new DictionaryError(file, root.line, `root element is <${root.name}>, expected <fix>`);
  }
  const num = (el: XmlElement, attr: string, dflt?: number): number => {
    const v = el.attrs[attr];
    if (v === undefined && dflt !== undefined) return dflt;
    if (v === undefined || !/^\d+$/.test(v)) {
      throw new DictionaryError(file, el.line, `<${el.name}> needs a numeric ${attr} attribute`);
    }
    return Number(v);
  };
  const section = (name: string) => root.children.find((c) => c.name === name);
  const fieldsEl = section("fields");
  const byName = new Map<string, number>();
  const fields: (string | number)[][] = [];
  const seenTags = new Set<number>();
  for (const f of fieldsEl?.children ?? []) {
    if (f.name !== "field") continue;
    const tag = num(f, "number");
    const name = f.attrs.name;
    const type = f.attrs.type;
    if (!name || !type) {
      throw new DictionaryError(file, f.line, `field ${tag} needs name and type attributes`);
    }
    if (seenTags.has(tag)) throw new DictionaryError(file, f.line, `duplicate field tag ${tag}`);
    if (byName.has(name)) throw new DictionaryError(file, f.line, `duplicate field name ${name}`);
    seenTags.add(tag);
    byName.set(name, tag);
    const row: (string | number)[] = [tag, name, type];
    for (const v of f.children) {
      if (v.name !== "value") continue;
      if (v.attrs.enum === undefined) {
        throw new DictionaryError(file, v.line, `value of field ${name} needs an enum attribute`);
      }
      row.push(v.attrs.enum, v.attrs.description ?? "");
    }
    fields.push(row);
  }
  const components = new Map<string, XmlElement>();
  for (const c of section("components")?.children ?? []) {
    if (c.name === "component" && c.attrs.name) components.set(c.attrs.name, c);
  }
  const expand = (el: XmlElement, depth: number, requiredCtx: boolean): CompactMember[] => {
    if (depth > 50) throw new DictionaryError(file, el.line, "components nest too deeply");
    const out: CompactMember[] = [];
    for (const m of el.children) {
      const req = requiredCtx && m.attrs.required === "Y";
      if (m.name === "field") {
        const tag = byName.get(m.attrs.name ?? "");
        if (tag === undefined) {
          throw new DictionaryError(
            file,
            m.line,
            `unknown field "${m.attrs.name}" in <${el.name}>`,
          );
        }
        out.push(req ? -tag : tag);
      } else if (m.name === "group") {
        const tag = byName.get(m.attrs.name ?? "");
        if (tag === undefined) {
          throw new DictionaryError(file, m.line, `unknown group field "${m.attrs.name}"`);
        }
        const members = expand(m, depth + 1, true);
        if (members.length === 0) {
          throw new DictionaryError(file, m.line, `group "${m.attrs.name}" has no members`);
        }
        out.push([req ? -tag : tag, ...members]);
      } else if (m.name === "component") {
        const c = components.get(m.attrs.name ?? "");
        if (!c) {
          throw new DictionaryError(file, m.line, `unknown component "${m.attrs.name}"`);
        }
        out.push(...expand(c, depth + 1, req));
      } else {
        throw new DictionaryError(file, m.line, `unexpected element <${m.name}> in <${el.name}>`);
      }
    }
    return out;
  };
  const header = section("header");
  const trailer = section("trailer");
  const messages: [string, string, string, CompactMember[]][] = [];
  const seenTypes = new Set<string>();
  for (const m of section("messages")?.children ?? []) {
    if (m.name !== "message") continue;
    const msgType = m.attrs.msgtype;
    if (!msgType || !m.attrs.name) {
      throw new DictionaryError(file, m.line, "message needs name and msgtype attributes");
    }
    if (seenTypes.has(msgType)) {
      throw new DictionaryError(file, m.line, `duplicate message type "${msgType}"`);
    }
    seenTypes.add(msgType);
    messages.push([msgType, m.attrs.name, m.attrs.msgcat ?? "app", expand(m, 0, true)]);
  }
  return {
    type: root.attrs.type ?? "FIX",
    major: num(root, "major"),
    minor: num(root, "minor"),
    servicePack: num(root, "servicepack", 0),
    fields,
    header: header ? expand(header, 0, true) : [],
    trailer: trailer ? expand(trailer, 0, true) : [],
    messages,
  };
}
