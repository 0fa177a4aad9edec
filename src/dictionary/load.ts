/**
 * Loading dictionaries: the generated ones per FIX version (lazily, cached), and user-supplied
 * QuickFIX-format XML files with custom fields, messages and groups.
 *
 * @module
 */

import { Dictionary, type DictionaryData } from "./dictionary.ts";
import { DictionaryError } from "./xml.ts";

/** A FIX version with a generated dictionary. */
export type FixVersionName =
  | "FIX.4.0"
  | "FIX.4.1"
  | "FIX.4.2"
  | "FIX.4.3"
  | "FIX.4.4"
  | "FIXT.1.1"
  | "FIX.5.0"
  | "FIX.5.0SP1"
  | "FIX.5.0SP2";

const LOADERS: Record<FixVersionName, () => Promise<{ DATA: DictionaryData }>> = {
  "FIX.4.0": () => import("./generated/fix40.ts"),
  "FIX.4.1": () => import("./generated/fix41.ts"),
  "FIX.4.2": () => import("./generated/fix42.ts"),
  "FIX.4.3": () => import("./generated/fix43.ts"),
  "FIX.4.4": () => import("./generated/fix44.ts"),
  "FIXT.1.1": () => import("./generated/fixt11.ts"),
  "FIX.5.0": () => import("./generated/fix50.ts"),
  "FIX.5.0SP1": () => import("./generated/fix50sp1.ts"),
  "FIX.5.0SP2": () => import("./generated/fix50sp2.ts"),
};

/**
 * Every FIX version with a generated dictionary, oldest first.
 *
 * @example
 * ```ts
 * import { FIX_VERSION_NAMES } from "@fixwire/engine";
 * FIX_VERSION_NAMES.includes("FIX.5.0SP2"); // true
 * ```
 */
export const FIX_VERSION_NAMES: readonly FixVersionName[] = Object.freeze(
  Object.keys(LOADERS) as FixVersionName[],
);

const cache = new Map<string, Promise<Dictionary>>();

/**
 * Loads the generated dictionary of a FIX version (once; later calls share it).
 *
 * @param version The version, e.g. `FIX.4.4` or `FIX.5.0SP2`.
 * @returns The dictionary.
 * @throws {RangeError} When the version is unknown.
 * @example
 * ```ts
 * import { loadDictionary } from "@fixwire/engine";
 * const dict = await loadDictionary("FIX.4.2");
 * dict.message("D")?.name; // "NewOrderSingle"
 * ```
 */
export function loadDictionary(version: FixVersionName): Promise<Dictionary> {
  const loader = LOADERS[version];
  if (!loader) {
    return Promise.reject(new RangeError(`Cannot load dictionary: unknown version "${version}"`));
  }
  let d = cache.get(version);
  if (!d) {
    d = loader().then((m) => new Dictionary(m.DATA));
    cache.set(version, d);
  }
  return d;
}

/**
 * Parses a QuickFIX-format XML dictionary (a venue's rules, with custom fields, messages and
 * groups).
 *
 * @param text The XML.
 * @param fileName Used in error messages.
 * @returns The dictionary.
 * @throws {DictionaryError} Naming the file, line and problem.
 * @example
 * ```ts
 * import { parseDictionaryXml } from "@fixwire/engine";
 * const dict = parseDictionaryXml(
 *   "<fix type='FIX' major='4' minor='4'><header/><trailer/><messages>" +
 *     "<message name='Custom' msgtype='U1' msgcat='app'><field name='Venue' required='Y'/></message>" +
 *     "</messages><components/><fields><field number='5001' name='Venue' type='STRING'/></fields></fix>",
 *   "venue.xml",
 * );
 * dict.message("U1")?.requiredTags; // [5001]
 * ```
 */
export function parseDictionaryXml(text: string, fileName: string): Dictionary {
  return Dictionary.fromXml(text, fileName);
}

/**
 * Reads and parses a QuickFIX-format XML dictionary file.
 *
 * @param path The file.
 * @returns The dictionary.
 * @throws {DictionaryError} When the file cannot be read or is invalid.
 * @example
 * ```ts ignore
 * import { loadDictionaryFile } from "@fixwire/engine";
 * const venue = await loadDictionaryFile("./venue-FIX44.xml");
 * ```
 */
export async function loadDictionaryFile(path: string): Promise<Dictionary> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (e) {
    throw new DictionaryError(path, undefined, `cannot read the file (${e})`);
  }
  return Dictionary.fromXml(text, path);
}

const APPL_VER_IDS: Record<string, FixVersionName> = {
  "2": "FIX.4.0",
  "3": "FIX.4.1",
  "4": "FIX.4.2",
  "5": "FIX.4.3",
  "6": "FIX.4.4",
  "7": "FIX.5.0",
  "8": "FIX.5.0SP1",
  "9": "FIX.5.0SP2",
};

/**
 * Maps an ApplVerID(1128) / DefaultApplVerID(1137) code to its version.
 *
 * @param code The code, e.g. `9`, or a version name such as `FIX.5.0SP2`.
 * @returns The version, or `undefined` for unknown codes.
 * @example
 * ```ts
 * import { applVerIdToVersion } from "@fixwire/engine";
 * applVerIdToVersion("9"); // "FIX.5.0SP2"
 * ```
 */
export function applVerIdToVersion(code: string): FixVersionName | undefined {
  if (code in LOADERS) return code as FixVersionName;
  return APPL_VER_IDS[code];
}
