/**
 * A small XML reader, enough for QuickFIX-format dictionaries: elements, attributes, comments,
 * the prolog and the standard entities, with line numbers for errors. No dependencies.
 *
 * @module
 */

/** One XML element. */
export interface XmlElement {
  /** Tag name. */
  name: string;
  /** Attributes. */
  attrs: Record<string, string>;
  /** Child elements in order. */
  children: XmlElement[];
  /** Line where the element starts. */
  line: number;
}

/**
 * A dictionary could not be read: the message names the file, the line and the problem.
 *
 * @example
 * ```ts
 * import { DictionaryError } from "@fixwire/engine";
 * const err = new DictionaryError("venue.xml", 12, "unclosed element <message>");
 * err.message; // 'Cannot load dictionary "venue.xml": line 12: unclosed element <message>'
 * ```
 */
export class DictionaryError extends Error {
  /** The file. */
  readonly file: string;
  /** The line, when known. */
  readonly line: number | undefined;

  /**
   * Creates a dictionary error.
   *
   * @param file The file name.
   * @param line The 1-based line, or `undefined`.
   * @param problem What is wrong.
   */
  constructor(file: string, line: number | undefined, problem: string) {
    super(
      `Cannot load dictionary "${file}": ${line !== undefined ? `line ${line}: ` : ""}${problem}`,
    );
    this.name = "DictionaryError";
    this.file = file;
    this.line = line;
  }
}

const ENTITIES: Record<string, string> = { lt: "<", gt: ">", amp: "&", quot: '"', apos: "'" };

function decodeEntities(s: string, file: string, line: number): string {
  if (s.indexOf("&") < 0) return s;
  return s.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (_m, e: string) => {
    if (e[0] === "#") {
      return String.fromCodePoint(e[1] === "x" ? parseInt(e.slice(2), 16) : parseInt(e.slice(1)));
    }
    const v = ENTITIES[e];
    if (v === undefined) throw new DictionaryError(file, line, `unknown entity &${e};`);
    return v;
  });
}

/**
 * Parses an XML document into its root element.
 *
 * @param text The XML.
 * @param file The file name, for errors.
 * @returns The root element.
 * @throws {DictionaryError} When the XML is malformed.
 * @example
 * ```ts
 * import { parseXml } from "./xml.ts";
 * parseXml("<fix major='4'><header/></fix>", "x.xml").attrs.major; // "4"
 * ```
 */
export function parseXml(text: string, file: string): XmlElement {
  let i = 0;
  let line = 1;
  const n = text.length;
  const stack: XmlElement[] = [];
  let root: XmlElement | undefined;
  const advanceTo = (j: number) => {
    for (let k = i; k < j; k++) if (text.charCodeAt(k) === 10) line++;
    i = j;
  };
  while (i < n) {
    const lt = text.indexOf("<", i);
    if (lt < 0) {
      if (text.slice(i).trim() !== "") {
        throw new DictionaryError(file, line, "text after the root element");
      }
      advanceTo(n);
      break;
    }
    advanceTo(lt);
    if (text.startsWith("<!--", i)) {
      const end = text.indexOf("-->", i + 4);
      if (end < 0) throw new DictionaryError(file, line, "unclosed comment");
      advanceTo(end + 3);
      continue;
    }
    if (text.startsWith("<?", i)) {
      const end = text.indexOf("?>", i + 2);
      if (end < 0) throw new DictionaryError(file, line, "unclosed processing instruction");
      advanceTo(end + 2);
      continue;
    }
    if (text.startsWith("<!", i)) {
      const end = text.indexOf(">", i + 2);
      if (end < 0) throw new DictionaryError(file, line, "unclosed declaration");
      advanceTo(end + 1);
      continue;
    }
    const end = findTagEnd(text, i);
    if (end < 0) throw new DictionaryError(file, line, "unclosed tag");
    const startLine = line;
    const inner = text.slice(i + 1, end);
    advanceTo(end + 1);
    if (inner.startsWith("/")) {
      const name = inner.slice(1).trim();
      const open = stack.pop();
      if (!open) throw new DictionaryError(file, startLine, `unexpected closing tag </${name}>`);
      if (open.name !== name) {
        throw new DictionaryError(
          file,
          startLine,
          `closing tag </${name}> does not match <${open.name}> from line ${open.line}`,
        );
      }
      continue;
    }
    const selfClosing = inner.endsWith("/");
    const body = selfClosing ? inner.slice(0, -1) : inner;
    const m = /^([A-Za-z_][\w.:-]*)/.exec(body);
    if (!m) throw new DictionaryError(file, startLine, `invalid tag <${body.slice(0, 20)}>`);
    const el: XmlElement = { name: m[1], attrs: {}, children: [], line: startLine };
    let rest = body.slice(m[1].length);
    const attrRe = /^\s+([A-Za-z_][\w.:-]*)\s*=\s*(?:'([^']*)'|"([^"]*)")/;
    while (true) {
      const a = attrRe.exec(rest);
      if (!a) break;
      el.attrs[a[1]] = decodeEntities(a[2] ?? a[3], file, startLine);
      rest = rest.slice(a[0].length);
    }
    if (rest.trim() !== "") {
      throw new DictionaryError(file, startLine, `bad attribute in <${el.name}>: "${rest.trim()}"`);
    }
    const parent = stack.at(-1);
    if (parent) parent.children.push(el);
    else if (root) throw new DictionaryError(file, startLine, "more than one root element");
    else root = el;
    if (!selfClosing) stack.push(el);
  }
  if (stack.length > 0) {
    const open = stack.at(-1)!;
    throw new DictionaryError(file, open.line, `unclosed element <${open.name}>`);
  }
  if (!root) throw new DictionaryError(file, 1, "no root element");
  return root;
}

function findTagEnd(text: string, from: number): number {
  let quote = 0;
  for (let k = from + 1; k < text.length; k++) {
    const c = text.charCodeAt(k);
    if (quote) {
      if (c === quote) quote = 0;
    } else if (c === 39 || c === 34) quote = c;
    else if (c === 62) return k;
    else if (c === 60) return -1;
  }
  return -1;
}
