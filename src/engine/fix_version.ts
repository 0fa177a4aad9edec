/**
 * FIX versions as `createSession` takes them.
 *
 * @module
 */

/**
 * The FIX versions fixwire speaks. FIX.5.0 and later run over FIXT.1.1 with the named
 * application version.
 *
 * @example
 * ```ts
 * import { FIXVersion } from "@fixwire/engine";
 * FIXVersion.FIX44; // "FIX.4.4"
 * FIXVersion.FIX50SP2; // "FIX.5.0SP2"
 * ```
 */
export const FIXVersion = {
  FIX40: "FIX.4.0",
  FIX41: "FIX.4.1",
  FIX42: "FIX.4.2",
  FIX43: "FIX.4.3",
  FIX44: "FIX.4.4",
  FIX50: "FIX.5.0",
  FIX50SP1: "FIX.5.0SP1",
  FIX50SP2: "FIX.5.0SP2",
} as const;

/** One of the values of {@linkcode FIXVersion}. */
export type FIXVersion = typeof FIXVersion[keyof typeof FIXVersion];

const APPL_VER_ID: Record<string, string> = {
  "FIX.4.0": "2",
  "FIX.4.1": "3",
  "FIX.4.2": "4",
  "FIX.4.3": "5",
  "FIX.4.4": "6",
  "FIX.5.0": "7",
  "FIX.5.0SP1": "8",
  "FIX.5.0SP2": "9",
};

/**
 * The BeginString(8) a version uses on the wire.
 *
 * @param version The version.
 * @returns `FIXT.1.1` for FIX.5.0 and later, else the version itself.
 * @example
 * ```ts
 * import { beginStringOf, FIXVersion } from "@fixwire/engine";
 * beginStringOf(FIXVersion.FIX50SP2); // "FIXT.1.1"
 * ```
 */
export function beginStringOf(version: FIXVersion): string {
  return version.startsWith("FIX.5") ? "FIXT.1.1" : version;
}

/**
 * The ApplVerID(1128) code of a version (`9` for FIX.5.0 SP2).
 *
 * @param version The version.
 * @returns The code.
 * @example
 * ```ts
 * import { applVerIdOf, FIXVersion } from "@fixwire/engine";
 * applVerIdOf(FIXVersion.FIX50SP2); // "9"
 * ```
 */
export function applVerIdOf(version: FIXVersion): string {
  return APPL_VER_ID[version];
}

/**
 * Parses a version name: `FIX44`, `FIX.4.4`, `FIX50SP2`, `FIX.5.0SP2`...
 *
 * @param name The name.
 * @returns The version.
 * @throws {RangeError} When the name is not a known version.
 * @example
 * ```ts
 * import { parseFixVersion } from "@fixwire/engine";
 * parseFixVersion("FIX44"); // "FIX.4.4"
 * ```
 */
export function parseFixVersion(name: string): FIXVersion {
  const values = Object.values(FIXVersion) as string[];
  if (values.includes(name)) return name as FIXVersion;
  const key = name.replaceAll(".", "").toUpperCase();
  const found = (FIXVersion as Record<string, FIXVersion>)[key];
  if (found) return found;
  throw new RangeError(`Cannot use FIX version: "${name}" is not FIX.4.0 to FIX.5.0SP2`);
}
