// Generates typed messages from QuickFIX-format XML: per message type an interface and a builder
// returning a FixMessage, per component and group entry an interface, per enumerated field a
// literal union. The modules for the FIX versions (src/messages/fix*.ts) are committed.
//
// Usage:
//   deno run -A tools/gen_messages.ts [--spec specDir] [--out outDir]
//       every FIX version from ../shared/fix-spec into src/messages
//   deno run -A tools/gen_messages.ts --xml venue.xml --out dir [--transport FIXT11.xml]
//       [--name venue] [--engine @fixwire/engine]
//       one module (dir/venue.ts) and the helpers it calls (dir/_runtime.ts) from a venue's own
//       dictionary; --transport gives the header and trailer of a FIX.5.0 dictionary, --engine
//       the specifier the module imports fixwire from (default "@fixwire/engine").

import { dictionaryDataFromXml } from "../src/dictionary/dictionary.ts";
import { DictionaryError, parseXml, type XmlElement } from "../src/dictionary/xml.ts";
import { camelName } from "../src/messages/_runtime.ts";

export { camelName };

/** Source file, generated module and transport dictionary (FIX.5.0 and later) per version. */
export const MESSAGE_VERSIONS: readonly (readonly [string, string, string | undefined])[] = [
  ["FIX40.xml", "fix40.ts", undefined],
  ["FIX41.xml", "fix41.ts", undefined],
  ["FIX42.xml", "fix42.ts", undefined],
  ["FIX43.xml", "fix43.ts", undefined],
  ["FIX44.xml", "fix44.ts", undefined],
  ["FIX50.xml", "fix50.ts", "FIXT11.xml"],
  ["FIX50SP1.xml", "fix50sp1.ts", "FIXT11.xml"],
  ["FIX50SP2.xml", "fix50sp2.ts", "FIXT11.xml"],
];

/** Options of {@linkcode renderMessages}. */
export interface RenderOptions {
  /** The dictionary's file name, for comments and errors. */
  source: string;
  /** The transport dictionary (FIXT11.xml) whose header and trailer the messages use. */
  transport?: { xml: string; source: string };
  /** Where the module imports `FixMessage` from (default `../message/fix_message.ts`). */
  engine?: string;
  /** An example of the export path in the module doc (default `@fixwire/engine/fix44`). */
  importPath?: string;
}

/** Header fields the session sets on every message it sends: not part of the types. */
const SESSION_HEADER = new Set([8, 9, 35, 34, 49, 52, 56]);
/** CheckSum: computed by the encoder. */
const SESSION_TRAILER = new Set([10]);

const INT_TYPES = new Set(["INT", "LENGTH", "SEQNUM", "NUMINGROUP", "TAGNUM", "DAYOFMONTH"]);
const DECIMAL_TYPES = new Set(["FLOAT", "PRICE", "QTY", "AMT", "PRICEOFFSET", "PERCENTAGE"]);
const TIME_TYPES = new Set(["UTCTIMESTAMP", "TIME"]);
const LIST_TYPES = new Set(["MULTIPLEVALUESTRING", "MULTIPLECHARVALUE", "MULTIPLESTRINGVALUE"]);
const DATA_TYPES = new Set(["DATA", "XMLDATA"]);
const RUNTIME_NAMES = [
  "build",
  "data",
  "DEC",
  "dec",
  "entry",
  "group",
  "LIST",
  "list",
  "message",
  "missing",
  "part",
  "R",
  "SECONDS",
  "seconds",
  "section",
  "TIME",
  "time",
];
const WIDTH = 100;
const USED_TYPES = [
  "Decimal",
  "FieldMap",
  "FixMessage",
  "Partial",
  "Plan",
  "PlanBuilder",
  "UtcTimestamp",
];
/** Words a function cannot be named. */
const RESERVED = new Set(
  ("break case catch class const continue debugger default delete do else enum export extends " +
    "false finally for function if import in instanceof new null return super switch this throw " +
    "true try typeof var void while with yield let static implements interface package private " +
    "protected public await").split(" "),
);

interface Field {
  tag: number;
  name: string;
  type: string;
  values: [string, string][];
  prop: string;
}

type Member =
  | { kind: "field"; field: Field; required: boolean }
  | { kind: "data"; length: Field; field: Field; required: boolean }
  | { kind: "group"; field: Field; required: boolean; group: Group }
  | { kind: "component"; component: Component; required: boolean };

/** A member list: message body, component, group entry, header or trailer. */
interface Part {
  members: Member[];
  /** Every tag written at this level (components expanded, groups by their count tag). */
  tags: Set<number>;
  /** Whether some member is required when the part is. */
  hasRequired: boolean;
}

interface Component extends Part {
  name: string;
  typeName: string;
  def: string;
}

type Owner = { name: string } | { group: Group };

interface Group extends Part {
  field: Field;
  owner: Owner;
  typeName: string;
  def: string;
  /** The straight fill of an entry and its part (see `_runtime.ts`). */
  fill: string;
  part: string;
  /** The first member when it comes from a component: redeclared required. */
  delimiter: Member | undefined;
}

interface Message extends Part {
  name: string;
  msgType: string;
  typeName: string;
  builder: string;
}

function docText(s: string): string {
  return s.replace(/\*\//g, "* /").replace(/\s+/g, " ").trim();
}

/** A call or signature as deno fmt writes it: one line, or one argument per line. */
function call(indent: string, head: string, args: string[], tail: string): string {
  const one = `${indent}${head}(${args.join(", ")})${tail}`;
  if (one.length <= WIDTH) return one;
  const inner = indent + "  ";
  return `${indent}${head}(\n${args.map((a) => `${inner}${a},\n`).join("")}${indent})${tail}`;
}

/** `interface X extends A, B {` as deno fmt writes it. */
function interfaceHead(name: string, bases: string[]): string {
  if (bases.length === 0) return `export interface ${name} {`;
  const one = `export interface ${name} extends ${bases.join(", ")} {`;
  if (one.length <= WIDTH) return one;
  const two = `  extends ${bases.join(", ")} {`;
  if (two.length <= WIDTH) return `export interface ${name}\n${two}`;
  return `export interface ${name}\n  extends\n${bases.map((b) => `    ${b}`).join(",\n")} {`;
}

class Generator {
  readonly #source: string;
  readonly #fields = new Map<string, Field>();
  readonly #components = new Map<string, XmlElement>();
  readonly #parsedComponents = new Map<string, Component>();
  readonly #inProgress = new Set<string>();
  readonly #groups = new Map<string, Group>();
  readonly #groupKeys = new Map<Group, string>();
  readonly #usedEnums = new Map<number, Field>();
  readonly #typeNames = new Set<string>();
  readonly #valueNames = new Set<string>(RUNTIME_NAMES);
  readonly #enumNames = new Map<number, string>();
  /** FIX.4.0 and FIX.4.1 timestamps have no fraction of a second. */
  wholeSeconds = false;

  constructor(source: string, fieldRows: (string | number)[][], extra: (string | number)[][]) {
    this.#source = source;
    const props = new Map<string, string>();
    for (const row of [...extra, ...fieldRows]) {
      const [tag, name, type] = row as [number, string, string];
      const values: [string, string][] = [];
      for (let i = 3; i + 1 < row.length; i += 2) values.push([String(row[i]), String(row[i + 1])]);
      const prop = camelName(name);
      const other = props.get(prop);
      if (other !== undefined && other !== name) {
        throw new DictionaryError(source, undefined, `fields ${other} and ${name} share "${prop}"`);
      }
      props.set(prop, name);
      this.#fields.set(name, { tag, name, type, values, prop });
    }
  }

  field(el: XmlElement): Field {
    const f = this.#fields.get(el.attrs.name ?? "");
    if (f === undefined) {
      throw new DictionaryError(this.#source, el.line, `unknown field "${el.attrs.name}"`);
    }
    return f;
  }

  setComponents(section: XmlElement | undefined): void {
    for (const c of section?.children ?? []) {
      if (c.name === "component" && c.attrs.name) this.#components.set(c.attrs.name, c);
    }
  }

  component(el: XmlElement): Component {
    const name = el.attrs.name ?? "";
    const done = this.#parsedComponents.get(name);
    if (done) return done;
    const def = this.#components.get(name);
    if (!def) throw new DictionaryError(this.#source, el.line, `unknown component "${name}"`);
    if (this.#inProgress.has(name)) {
      throw new DictionaryError(this.#source, el.line, `component "${name}" contains itself`);
    }
    this.#inProgress.add(name);
    const part = this.part(def, { name }, new Set());
    this.#inProgress.delete(name);
    const c: Component = { ...part, name, typeName: "", def: "" };
    this.#parsedComponents.set(name, c);
    return c;
  }

  /** Reads a member list, dropping repeated tags and pairing LENGTH with DATA fields. */
  part(el: XmlElement, owner: Owner, skip: ReadonlySet<number>): Part {
    const raw: Member[] = [];
    for (const m of el.children) {
      const required = m.attrs.required === "Y";
      if (m.name === "field") {
        const field = this.field(m);
        if (!skip.has(field.tag)) raw.push({ kind: "field", field, required });
      } else if (m.name === "group") {
        const field = this.field(m);
        raw.push({ kind: "group", field, required, group: this.group(m, owner) });
      } else if (m.name === "component") {
        raw.push({ kind: "component", component: this.component(m), required });
      } else {
        throw new DictionaryError(this.#source, m.line, `unexpected element <${m.name}>`);
      }
    }
    // A tag written by a component at this level is not written again, nor a repeated field.
    const tags = new Set<number>();
    for (const m of raw) {
      if (m.kind !== "component") continue;
      for (const t of m.component.tags) {
        if (tags.has(t)) {
          throw new DictionaryError(
            this.#source,
            el.line,
            `tag ${t} appears twice in <${el.name} name='${el.attrs.name}'>`,
          );
        }
        tags.add(t);
      }
    }
    const kept: Member[] = [];
    for (const m of raw) {
      if (m.kind === "component") kept.push(m);
      else if (!tags.has(m.field.tag)) {
        tags.add(m.field.tag);
        kept.push(m);
      }
    }
    const members: Member[] = [];
    for (let i = 0; i < kept.length; i++) {
      const m = kept[i], next = kept[i + 1];
      if (
        m.kind === "field" && m.field.type === "LENGTH" && next?.kind === "field" &&
        DATA_TYPES.has(next.field.type)
      ) {
        members.push({
          kind: "data",
          length: m.field,
          field: next.field,
          required: m.required || next.required,
        });
        i++;
      } else members.push(m);
    }
    return this.summarize(members, tags);
  }

  summarize(members: Member[], tags: Set<number>): Part {
    let hasRequired = false;
    for (const m of members) {
      if (m.kind === "component") {
        if (m.required && m.component.hasRequired) hasRequired = true;
      } else {
        if (m.required) hasRequired = true;
      }
    }
    return { members, tags, hasRequired };
  }

  group(el: XmlElement, owner: Owner): Group {
    const field = this.field(el);
    const g: Group = {
      members: [],
      tags: new Set(),
      hasRequired: true,
      field,
      owner,
      typeName: "",
      def: "",
      fill: "",
      part: "",
      delimiter: undefined,
    };
    const part = this.part(el, { group: g }, new Set());
    if (part.members.length === 0) {
      throw new DictionaryError(this.#source, el.line, `group "${field.name}" has no members`);
    }
    // Every entry starts with its first field: required, whatever the dictionary says.
    const first = part.members[0];
    if (first.kind === "component") {
      let c: Member | undefined = first;
      while (c?.kind === "component") c = c.component.members[0];
      g.delimiter = c && { ...c, required: true };
    } else part.members[0] = { ...first, required: true };
    Object.assign(g, this.summarize(part.members, part.tags));
    const key = JSON.stringify([field.tag, this.#signature(part.members)]);
    const same = this.#groups.get(key);
    if (same) return same;
    this.#groups.set(key, g);
    this.#groupKeys.set(g, key);
    return g;
  }

  #signature(members: Member[]): unknown[] {
    return members.map((m) =>
      m.kind === "component"
        ? ["c", m.component.name, m.required]
        : m.kind === "group"
        ? ["g", this.#groupKeys.get(m.group), m.required]
        : [m.kind, m.field.tag, m.required]
    );
  }

  /** Claims a type name, with a suffix when taken. */
  typeName(name: string, suffix: string): string {
    let n = name;
    for (let i = 2; this.#typeNames.has(n); i++) n = i === 2 ? name + suffix : `${name}${i}`;
    this.#typeNames.add(n);
    return n;
  }

  /** Claims a function name, with a number when taken. */
  valueName(name: string): string {
    let n = name;
    for (let i = 2; this.#valueNames.has(n); i++) n = `${name}${i}`;
    this.#valueNames.add(n);
    return n;
  }

  nameGroups(): Group[] {
    const groups = [...this.#groups.values()];
    const count = new Map<string, number>();
    for (const g of groups) count.set(g.field.name, (count.get(g.field.name) ?? 0) + 1);
    const base = (g: Group): string => {
      if (count.get(g.field.name) === 1) return g.field.name;
      const o = g.owner;
      return ("name" in o ? o.name : base(o.group)) + g.field.name;
    };
    for (const g of groups) {
      g.typeName = this.typeName(base(g) + "Entry", "");
      g.def = this.valueName(`def${g.typeName}`);
      g.fill = this.valueName(`fill${g.typeName}`);
      g.part = this.valueName(`part${g.typeName}`);
    }
    return groups;
  }

  enumName(f: Field): string | undefined {
    if (f.values.length === 0 || f.type === "BOOLEAN") return undefined;
    let n = this.#enumNames.get(f.tag);
    if (n === undefined) {
      n = this.typeName(`${f.name}Value`, "Enum");
      this.#enumNames.set(f.tag, n);
      this.#usedEnums.set(f.tag, f);
    }
    return n;
  }

  usedEnums(): Field[] {
    return [...this.#usedEnums.values()].sort((a, b) => a.tag - b.tag);
  }

  propType(f: Field): string {
    const e = this.enumName(f);
    if (LIST_TYPES.has(f.type)) return e ? `readonly ${e}[]` : "string | readonly string[]";
    if (e) return e;
    if (INT_TYPES.has(f.type)) return "number";
    if (DECIMAL_TYPES.has(f.type)) return "Decimal";
    if (f.type === "BOOLEAN") return 'boolean | "Y" | "N"';
    if (TIME_TYPES.has(f.type)) return "UtcTimestamp";
    return "string";
  }

  /** The flag of a field's kind for the runtime: `DEC`, `TIME`, `LIST` or none. */
  flagOf(f: Field): string {
    if (LIST_TYPES.has(f.type)) return "LIST";
    if (f.values.length > 0 && f.type !== "BOOLEAN") return "";
    if (DECIMAL_TYPES.has(f.type)) return "DEC";
    if (TIME_TYPES.has(f.type)) return this.wholeSeconds ? "TIME | SECONDS" : "TIME";
    return "";
  }
}

function isIntLiteral(s: string): boolean {
  return /^(0|-?[1-9][0-9]{0,14})$/.test(s);
}

function enumType(gen: Generator, f: Field): string {
  const name = gen.enumName(f)!;
  const numeric = INT_TYPES.has(f.type) && f.values.every(([v]) => isIntLiteral(v));
  const lines = [
    "/**",
    ` * ${f.name}(${f.tag}) values:`,
    ...f.values.map(([v, d]) => ` * - \`${docText(v)}\` ${docText(d)}`),
    " */",
    `export type ${name} =`,
  ];
  const vals = f.values.map(([v]) => numeric ? v : JSON.stringify(v));
  if (vals.length === 1) {
    return [...lines.slice(0, -1), `export type ${name} = ${vals[0]};`].join("\n");
  }
  return [...lines, ...vals.map((v, i) => `  | ${v}${i === vals.length - 1 ? ";" : ""}`)].join(
    "\n",
  );
}

/** A property as deno fmt writes it: the type on the next line when too long. */
function prop(name: string, type: string): string {
  const one = `  ${name}: ${type};`;
  return one.length <= WIDTH ? one : `  ${name}:\n    ${type};`;
}

function propLines(gen: Generator, part: Part, extra: string[]): string[] {
  const out = [...extra];
  for (const m of part.members) {
    const opt = m.required ? "" : "?";
    if (m.kind === "field") {
      out.push(`  /** ${m.field.name}(${m.field.tag}). */`);
      out.push(prop(m.field.prop + opt, gen.propType(m.field)));
    } else if (m.kind === "data") {
      out.push(
        `  /** ${m.field.name}(${m.field.tag}); ${m.length.name}(${m.length.tag}) is set to its length in bytes. */`,
      );
      out.push(prop(m.field.prop + opt, "string"));
    } else if (m.kind === "group") {
      out.push(`  /** ${m.field.name}(${m.field.tag}): the group's entries. */`);
      out.push(prop(m.field.prop + opt, `readonly ${m.group.typeName}[]`));
    }
  }
  return out;
}

function bases(part: Part): string[] {
  const out: string[] = [];
  for (const m of part.members) {
    if (m.kind !== "component") continue;
    const c = m.component;
    out.push(!m.required && c.hasRequired ? `Partial<${c.typeName}>` : c.typeName);
  }
  return out;
}

function interfaceText(doc: string[], name: string, part: Part, props: string[]): string {
  const b = bases(part);
  const head = interfaceHead(name, b);
  const lint = props.length === 0 && b.length <= 1
    ? ["// deno-lint-ignore no-empty-interface"]
    : [];
  return [...doc, ...lint, head, ...props, "}"].join("\n");
}

function flags(required: boolean, kind: string): string {
  const f = [required ? "R" : "", kind].filter((x) => x !== "");
  return f.length === 0 ? "0" : f.join(" | ");
}

/** The `def` function describing a part's members to the runtime, in dictionary order. */
function defText(gen: Generator, name: string, part: Part, head: string[], tail: string[]): string {
  const out = [...head];
  for (const m of part.members) {
    if (m.kind === "component") {
      out.push(call("  ", "d.component", [m.component.def, flags(m.required, "")], ";"));
    } else if (m.kind === "group") {
      const f = m.field;
      const args = [String(f.tag), JSON.stringify(f.name), m.group.def, flags(m.required, "")];
      out.push(call("  ", "d.group", args, ";"));
    } else if (m.kind === "data") {
      const f = m.field;
      const args = [String(m.length.tag), String(f.tag), JSON.stringify(f.name)];
      out.push(call("  ", "d.data", [...args, flags(m.required, "")], ";"));
    } else {
      const f = m.field;
      const args = [String(f.tag), JSON.stringify(f.name), flags(m.required, gen.flagOf(f))];
      out.push(call("  ", "d.field", args, ";"));
    }
  }
  out.push(...tail);
  return `${call("", `function ${name}`, ["d: PlanBuilder"], ": void {")}\n${out.join("\n")}\n}`;
}

/** A field, data field or group of a part with its components expanded: what a fill reads. */
interface Flat {
  member: Member & { kind: "field" | "data" | "group" };
  required: boolean;
}

/**
 * A part's members with its components expanded, in dictionary order, each property once, as
 * the runtime's `PlanBuilder` sees them: a member is required when it and every component it
 * is in are.
 */
function flatten(part: Part, required: boolean, seen: Set<string>, out: Flat[]): Flat[] {
  for (const m of part.members) {
    if (m.kind === "component") {
      flatten(m.component, required && m.required, seen, out);
    } else if (!seen.has(m.field.prop)) {
      seen.add(m.field.prop);
      out.push({ member: m, required: required && m.required });
    }
  }
  return out;
}

/** `if (cond) statement;` as deno fmt writes it: in braces when too long. */
function guarded(cond: string, head: string, args: string[]): string {
  const one = `  if (${cond}) ${head}(${args.join(", ")});`;
  if (one.length <= WIDTH) return one;
  return `  if (${cond}) {\n${call("    ", head, args, ";")}\n  }`;
}

/** The statements of a straight fill: one per field, data field or group, header or trailer. */
function fillBody(gen: Generator, flat: Flat[]): string[] {
  const out: string[] = [];
  for (const { member: m, required } of flat) {
    const f = m.field;
    const v = `f.${f.prop}`;
    if (m.kind === "group") {
      const g = m.group;
      if (required) out.push(call("  ", "group", ["m", v, g.part, "at", "R"], ";"));
      else out.push(guarded(`${v} != null`, "group", ["m", v, g.part, "at", "0"]));
      continue;
    }
    if (required) {
      const what = JSON.stringify(`field ${f.name}(${f.tag})`);
      out.push(guarded(`${v} == null`, "missing", ["at", what]));
    }
    let head: string, args: string[];
    if (m.kind === "data") {
      [head, args] = ["data", ["m", String(m.length.tag), String(f.tag), v]];
    } else {
      const flag = gen.flagOf(f);
      const value = flag === "LIST"
        ? `list(${v})`
        : flag === "DEC"
        ? `dec(${f.tag}, ${v})`
        : flag === "TIME"
        ? `time(${f.tag}, ${v})`
        : flag === "TIME | SECONDS"
        ? `seconds(${f.tag}, ${v})`
        : v;
      [head, args] = ["m.add", [String(f.tag), value]];
    }
    if (required) out.push(call("  ", head, args, ";"));
    else out.push(guarded(`${v} != null`, head, args));
  }
  return out;
}

/** A straight fill function, its parameters named `_x` when its body does not use them. */
function fillText(name: string, type: string, body: string[]): string {
  const code = body.join("\n");
  const param = (p: string) => new RegExp(`\\b${p}\\b`).test(code) ? p : `_${p}`;
  const params = [`${param("m")}: FieldMap`, `${param("f")}: ${type}`, `${param("at")}: string`];
  const head = call("", `function ${name}`, params, ": void {");
  return body.length === 0 ? `${head}}` : `${head}\n${code}\n}`;
}

function componentText(gen: Generator, c: Component): string {
  const doc = [`/** The ${c.name} component. */`];
  const iface = interfaceText(doc, c.typeName, c, propLines(gen, c, []));
  return `${iface}\n\n${defText(gen, c.def, c, [], [])}`;
}

function entryText(gen: Generator, g: Group): string {
  const doc = [`/** An entry of the ${g.field.name}(${g.field.tag}) group. */`];
  // The first member, from a component, is redeclared required: it starts every entry.
  const first = g.delimiter ? propLines(gen, { members: [g.delimiter] } as Part, []) : [];
  if (first.length > 0) {
    const group = g.delimiter!.kind === "group";
    first[0] = first[0].replace(
      /\. \*\/$/,
      group ? "; every entry starts with this group. */" : ": every entry starts with it. */",
    );
  }
  const iface = interfaceText(doc, g.typeName, g, propLines(gen, g, first));
  const flat = flatten(g, true, new Set(), []);
  // Every entry starts with its first field, whatever the dictionary says.
  if (flat.length > 0) flat[0] = { ...flat[0], required: true };
  const part = call(
    "",
    `const ${g.part} = entry`,
    [String(g.field.tag), JSON.stringify(g.field.name), g.def, g.fill, String(flat.length)],
    ";",
  );
  const fill = fillText(g.fill, g.typeName, fillBody(gen, flat));
  return [iface, part, fill, defText(gen, g.def, g, [], [])].join("\n\n");
}

/**
 * Renders the typed-message module of one dictionary.
 *
 * @param xml The dictionary XML.
 * @param options The source name, the transport dictionary, the import specifiers.
 * @returns The module text.
 * @throws {DictionaryError} When the XML is not a valid dictionary.
 */
export function renderMessages(xml: string, options: RenderOptions): string {
  const { source } = options;
  const data = dictionaryDataFromXml(xml, source);
  const root = parseXml(xml, source);
  const section = (r: XmlElement, name: string) => r.children.find((c) => c.name === name);
  let headerEl = section(root, "header");
  let trailerEl = section(root, "trailer");
  let transportFields: (string | number)[][] = [];
  let transportRoot: XmlElement | undefined;
  if (options.transport) {
    const t = options.transport;
    transportFields = dictionaryDataFromXml(t.xml, t.source).fields;
    transportRoot = parseXml(t.xml, t.source);
    headerEl = section(transportRoot, "header");
    trailerEl = section(transportRoot, "trailer");
  }
  const gen = new Generator(source, data.fields, transportFields);
  gen.wholeSeconds = data.type === "FIX" && data.major === 4 && data.minor <= 1;
  if (transportRoot) gen.setComponents(section(transportRoot, "components"));
  gen.setComponents(section(root, "components"));
  // Names the module uses: a dictionary's names get a suffix rather than shadow them.
  for (const n of [...USED_TYPES, "StandardHeader", "StandardTrailer"]) {
    gen.typeName(n, "");
  }
  const messages: Message[] = [];
  for (const el of section(root, "messages")?.children ?? []) {
    if (el.name !== "message") continue;
    const name = el.attrs.name!;
    const part = gen.part(el, { name }, new Set());
    messages.push({ ...part, name, msgType: el.attrs.msgtype!, typeName: "", builder: "" });
  }
  for (const m of messages) m.typeName = gen.typeName(m.name, "Message");
  for (const m of messages) {
    const name = camelName(m.name);
    m.builder = gen.valueName(RESERVED.has(name) ? `${name}Message` : name);
  }
  const header = headerEl
    ? gen.part(headerEl, { name: "StandardHeader" }, SESSION_HEADER)
    : undefined;
  const trailer = trailerEl
    ? gen.part(trailerEl, { name: "StandardTrailer" }, SESSION_TRAILER)
    : undefined;
  const hasHeader = header !== undefined && header.members.length > 0;
  const hasTrailer = trailer !== undefined && trailer.members.length > 0;
  for (const n of ["def", "fill", "part"]) {
    gen.valueName(`${n}StandardHeader`);
    gen.valueName(`${n}StandardTrailer`);
  }
  // Components in the order first referenced.
  const components: Component[] = [];
  const seen = new Set<Component>();
  const visit = (part: Part) => {
    for (const m of part.members) {
      if (m.kind === "component" && !seen.has(m.component)) {
        seen.add(m.component);
        components.push(m.component);
        visit(m.component);
      } else if (m.kind === "group") visit(m.group);
    }
  };
  if (header) visit(header);
  for (const m of messages) visit(m);
  if (trailer) visit(trailer);
  for (const c of components) {
    c.typeName = gen.typeName(c.name, "Component");
    c.def = gen.valueName(`def${c.typeName}`);
  }
  const groups = gen.nameGroups();

  const blocks: string[] = [];
  const version = `${data.type}.${data.major}.${data.minor}${
    data.servicePack > 0 ? `SP${data.servicePack}` : ""
  }`;
  const importPath = options.importPath ?? "@fixwire/engine/fix44";
  const nos = messages.find((m) => m.name === "NewOrderSingle");
  const example = exampleFields(gen, nos);
  blocks.push(moduleDoc(source, options.transport?.source, version, importPath, example));
  const importsAt = blocks.length;

  // Messages.
  const headerLine = hasHeader
    ? [`  d.part("header", defStandardHeader, ${flags(header!.hasRequired, "")});`]
    : [];
  const trailerLine = hasTrailer ? ['  d.part("trailer", defStandardTrailer, 0);'] : [];
  for (const m of messages) {
    const extra: string[] = [];
    if (hasHeader) {
      extra.push("  /** Header fields other than those the session sets. */");
      extra.push(`  header${header!.hasRequired ? "" : "?"}: StandardHeader;`);
    }
    const props = propLines(gen, m, extra);
    if (hasTrailer) {
      props.push("  /** Trailer fields other than CheckSum(10). */");
      props.push("  trailer?: StandardTrailer;");
    }
    const type = JSON.stringify(m.msgType);
    const doc = [`/** The fields of ${m.name}, MsgType(35) ${type}. */`];
    blocks.push(interfaceText(doc, m.typeName, m, props));
    const def = gen.valueName(`def${m.typeName}`);
    const partVar = gen.valueName(`part${m.typeName}`);
    const fill = gen.valueName(`fill${m.typeName}`);
    const flat = flatten(m, true, new Set(["header", "trailer"]), []);
    const size = flat.length + (hasHeader ? 1 : 0) + (hasTrailer ? 1 : 0);
    const body = fillBody(gen, flat);
    if (hasHeader) {
      const [v, p] = ["f.header", "partStandardHeader"];
      body.unshift(
        header!.hasRequired
          ? call("  ", "part", ["m", `${v} ?? missing(at, "header")`, p, "at"], ";")
          : guarded(`${v} != null`, "part", ["m", v, p, "at"]),
      );
    }
    if (hasTrailer) {
      body.push(
        guarded("f.trailer != null", "part", ["m", "f.trailer", "partStandardTrailer", "at"]),
      );
    }
    blocks.push(
      [
        "/**",
        ` * Builds a ${m.name}, MsgType(35) ${type}: the fields set, in dictionary order.`,
        " *",
        " * @param f The fields.",
        " * @returns The message, for `session.put`.",
        " * @throws {TypeError} When a required field is missing or a decimal is malformed.",
        " */",
        call("", `export function ${m.builder}`, [`f: ${m.typeName}`], ": FixMessage {"),
        `  return build(${partVar}, f);`,
        "}",
        "",
        call(
          "",
          `const ${partVar} = message`,
          [type, JSON.stringify(m.name), def, fill, String(size)],
          ";",
        ),
        "",
        fillText(fill, m.typeName, body),
        "",
        defText(gen, def, m, headerLine, trailerLine),
      ].join("\n"),
    );
  }

  // Header and trailer.
  for (
    const [part, name, what] of [
      [hasHeader ? header : undefined, "StandardHeader", "Header"],
      [hasTrailer ? trailer : undefined, "StandardTrailer", "Trailer"],
    ] as const
  ) {
    if (!part) continue;
    const set = name === "StandardHeader"
      ? "BeginString(8), BodyLength(9), MsgType(35), MsgSeqNum(34), SenderCompID(49), SendingTime(52) and TargetCompID(56)"
      : "CheckSum(10)";
    const doc = [`/** ${what} fields; ${set} are set by the session and the encoder. */`];
    blocks.push(interfaceText(doc, name, part, propLines(gen, part, [])));
    const flat = flatten(part, true, new Set(), []);
    const args = [`def${name}`, `fill${name}`, String(flat.length)];
    blocks.push(call("", `const part${name} = section`, args, ";"));
    blocks.push(fillText(`fill${name}`, name, fillBody(gen, flat)));
    blocks.push(defText(gen, `def${name}`, part, [], []));
  }

  for (const c of components) blocks.push(componentText(gen, c));
  for (const g of groups) blocks.push(entryText(gen, g));
  for (const f of gen.usedEnums()) blocks.push(enumType(gen, f));
  const code = blocks.join("\n").split("\n").filter((l) => !/^\s*(\/\*\*|\*|\/\/)/.test(l))
    .join("\n");
  const used = RUNTIME_NAMES.filter((n) => new RegExp(`[^."\\w]${n}\\b`).test(code));
  const names = [...used, "type Decimal", "type PlanBuilder", "type UtcTimestamp"]
    .sort((a, b) => {
      // deno fmt's order: case-insensitive, upper case first on a tie.
      const [x, y] = [a.replace("type ", ""), b.replace("type ", "")];
      const [lx, ly] = [x.toLowerCase(), y.toLowerCase()];
      return lx < ly ? -1 : lx > ly ? 1 : x < y ? -1 : x > y ? 1 : 0;
    });
  const engine = options.engine ?? "../message/fix_message.ts";
  blocks.splice(
    importsAt,
    0,
    `import type { FieldMap, FixMessage } from ${JSON.stringify(engine)};\n` +
      `import {\n${names.map((n) => `  ${n},\n`).join("")}} from "./_runtime.ts";\n\n` +
      "export type { Decimal, UtcTimestamp };",
  );
  return blocks.join("\n\n") + "\n";
}

function moduleDoc(
  source: string,
  transport: string | undefined,
  version: string,
  importPath: string,
  example: string[],
): string {
  const from = transport ? `${source} (header and trailer from ${transport})` : source;
  const lines = example.length === 0 ? [] : [
    " * @example",
    " * ```ts",
    ` * import { newOrderSingle } from "${importPath}";`,
    " * const order = newOrderSingle({",
    ...example.map((l) => ` *   ${l}`),
    " * });",
    ' * order.msgType; // "D"',
    " * ```",
    " *",
  ];
  return [
    `// Generated by tools/gen_messages.ts from ${from}. Do not edit.`,
    "/**",
    ` * Typed ${version} messages. For each message type, the interface of its fields (such as`,
    " * `NewOrderSingle`) and a builder (`newOrderSingle`) returning a `FixMessage` with the fields",
    " * set, in dictionary order, ready for `session.put`. Properties are the spec names in",
    " * camelCase (`ClOrdID` is `clOrdID`); required fields are required properties, enumerations",
    " * literal unions (`SideValue`), repeating groups arrays of entries (`NoPartyIDsEntry`). The",
    " * builder checks the required fields at run time too, for JavaScript callers and outside data.",
    " * The session sets BeginString, BodyLength, MsgSeqNum, SenderCompID, SendingTime and",
    " * TargetCompID; other header fields go in `header`.",
    " *",
    ...lines,
    " * @module",
    " */",
  ].join("\n");
}

const SAMPLES: Record<string, string> = {
  ClOrdID: '"ord-1"',
  HandlInst: '"1"',
  Symbol: '"ACME"',
  Side: '"1"',
  TransactTime: "new Date()",
  OrderQty: "100",
  OrdType: '"2"',
  Price: '"101.25"',
};

/** The fields of a NewOrderSingle example: the required ones and a few usual ones. */
function exampleFields(gen: Generator, nos: Message | undefined): string[] {
  if (nos === undefined) return [];
  const out: string[] = [];
  let possible = true;
  const walk = (part: Part, required: boolean) => {
    for (const m of part.members) {
      if (m.kind === "component") walk(m.component, required && m.required);
      else if (m.kind === "group") possible &&= !(m.required && required);
      else {
        const sample = SAMPLES[m.field.name];
        if (sample !== undefined || (m.required && required)) {
          out.push(`${m.field.prop}: ${sample ?? sampleOf(gen, m.field)},`);
        }
      }
    }
  };
  walk(nos, true);
  return possible ? out : [];
}

/** A value of a field's type, for the example. */
function sampleOf(gen: Generator, f: Field): string {
  const t = gen.propType(f);
  const first = f.values[0]?.[0] ?? "x";
  const literal = INT_TYPES.has(f.type) && f.values.every(([v]) => isIntLiteral(v))
    ? first
    : JSON.stringify(first);
  if (t.startsWith("readonly")) return `[${literal}]`;
  if (f.values.length > 0 && f.type !== "BOOLEAN") return literal;
  if (t === "number") return "1";
  if (t === "Decimal") return '"1"';
  if (t === "UtcTimestamp") return "new Date()";
  if (t.startsWith("boolean")) return "true";
  return '"x"';
}

/**
 * The helpers module a venue's module imports, with fixwire imported from `engine`.
 *
 * @param engine The specifier of the fixwire module (exporting `FieldMap`, `FixMessage`,
 * `numberToFixText`, `formatUtcTimestamp`, `messageOfFields`, `newGroupEntry` and
 * `appendGroup`).
 * @returns The module text.
 */
export async function renderRuntime(engine: string): Promise<string> {
  const text = await Deno.readTextFile(new URL("../src/messages/_runtime.ts", import.meta.url));
  return text
    .replace(/from "\.\.\/message\/fix_message\.ts"/, `from ${JSON.stringify(engine)}`)
    .replace(/from "\.\.\/message\/timestamps\.ts"/, `from ${JSON.stringify(engine)}`);
}

/**
 * Generates the module of every FIX version.
 *
 * @param specDir Folder with the XML files.
 * @param outDir Folder for the modules.
 * @returns The files written.
 */
export async function generate(specDir: string, outDir: string): Promise<string[]> {
  await Deno.mkdir(outDir, { recursive: true });
  const written: string[] = [];
  for (const [xml, out, transport] of MESSAGE_VERSIONS) {
    const text = await Deno.readTextFile(`${specDir}/${xml}`);
    const t = transport
      ? { xml: await Deno.readTextFile(`${specDir}/${transport}`), source: transport }
      : undefined;
    const importPath = `@fixwire/engine/${out.replace(".ts", "")}`;
    await Deno.writeTextFile(
      `${outDir}/${out}`,
      renderMessages(text, { source: xml, transport: t, importPath }),
    );
    written.push(`${outDir}/${out}`);
  }
  return written;
}

/** Options of {@linkcode generateFromXml}. */
export interface VenueOptions {
  /** The dictionary file. */
  xml: string;
  /** The output folder. */
  out: string;
  /** The transport dictionary file, for a FIX.5.0 dictionary. */
  transport?: string;
  /** The module's name (default: the XML file's name in lower case). */
  name?: string;
  /** The specifier to import fixwire from (default `@fixwire/engine`). */
  engine?: string;
}

/**
 * Generates the module of a venue's own dictionary and the helpers it imports.
 *
 * @param options Files and names.
 * @returns The files written.
 * @throws {DictionaryError} When the XML is not a valid dictionary.
 */
export async function generateFromXml(options: VenueOptions): Promise<string[]> {
  const base = options.xml.split("/").pop()!.replace(/\.xml$/i, "");
  const name = options.name ?? base.toLowerCase().replace(/[^a-z0-9_]+/g, "_");
  const engine = options.engine ?? "@fixwire/engine";
  const transport = options.transport
    ? {
      xml: await Deno.readTextFile(options.transport),
      source: options.transport.split("/").pop()!,
    }
    : undefined;
  const text = renderMessages(await Deno.readTextFile(options.xml), {
    source: options.xml.split("/").pop()!,
    transport,
    engine,
    importPath: `./${name}.ts`,
  });
  await Deno.mkdir(options.out, { recursive: true });
  const module = `${options.out}/${name}.ts`;
  const runtime = `${options.out}/_runtime.ts`;
  await Deno.writeTextFile(module, text);
  await Deno.writeTextFile(runtime, await renderRuntime(engine));
  return [module, runtime];
}

function parseArgs(args: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    if (!a.startsWith("--") || i + 1 >= args.length) {
      throw new TypeError(`Cannot read arguments: "${a}" is not --option value`);
    }
    out[a.slice(2)] = args[++i];
  }
  return out;
}

const USAGE = `Usage:
  deno run -A tools/gen_messages.ts [--spec specDir] [--out outDir]
  deno run -A tools/gen_messages.ts --xml venue.xml --out dir [--transport FIXT11.xml]
    [--name venue] [--engine @fixwire/engine]
`;

async function main(argv: string[]): Promise<string[]> {
  const args = parseArgs(argv);
  const known = ["spec", "out", "xml", "transport", "name", "engine"];
  const unknown = Object.keys(args).find((k) => !known.includes(k));
  if (unknown !== undefined) {
    throw new TypeError(`Cannot read arguments: unknown option --${unknown}`);
  }
  const root = new URL("..", import.meta.url).pathname;
  if (args.xml === undefined) {
    return await generate(
      args.spec ?? `${root}../shared/fix-spec`,
      args.out ?? `${root}src/messages`,
    );
  }
  return await generateFromXml({
    xml: args.xml,
    out: args.out ?? ".",
    transport: args.transport,
    name: args.name,
    engine: args.engine,
  });
}

if (import.meta.main) {
  const write = (fd: typeof Deno.stdout, s: string) => fd.writeSync(new TextEncoder().encode(s));
  try {
    for (const f of await main(Deno.args)) write(Deno.stdout, `wrote ${f}\n`);
  } catch (err) {
    write(Deno.stderr, `${err instanceof Error ? err.message : err}\n\n${USAGE}`);
    Deno.exit(2);
  }
}
