/**
 * Session identity.
 *
 * @module
 */

/** A CompID or qualifier: non-empty, no control characters, `=`, `/` or `\`. */
function validPart(v: unknown): boolean {
  if (typeof v !== "string" || v.length === 0) return false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c < 32 || c === 61 || c === 47 || c === 92) return false;
  }
  return true;
}

/**
 * Identifies a FIX session by our SenderCompID, the counterparty's TargetCompID and an optional
 * qualifier (to run several sessions between the same pair of CompIDs).
 *
 * @example
 * ```ts
 * import { SessionId } from "@fixwire/engine";
 * const id = new SessionId("TEST1", "TEST2");
 * id.toString(); // "TEST1->TEST2"
 * ```
 */
export class SessionId {
  /** Our SenderCompID(49). */
  readonly sender: string;
  /** The counterparty's CompID, our TargetCompID(56). */
  readonly target: string;
  /** An optional qualifier distinguishing sessions between the same CompIDs. */
  readonly qualifier: string | undefined;

  /**

   * Creates an instance.
   * @param sender Our SenderCompID.
   * @param target The counterparty's CompID.
   * @param qualifier An optional session qualifier.
   * @throws {TypeError} If a CompID is empty or contains SOH, `=` or a path separator.
   */
  constructor(sender: string, target: string, qualifier?: string) {
    for (const [name, v] of [["sender", sender], ["target", target]] as const) {
      if (!validPart(v)) {
        throw new TypeError(`Cannot create session id: ${name} CompID "${v}" is empty or invalid`);
      }
    }
    if (qualifier !== undefined && !validPart(qualifier)) {
      throw new TypeError(`Cannot create session id: qualifier "${qualifier}" is empty or invalid`);
    }
    this.sender = sender;
    this.target = target;
    this.qualifier = qualifier;
  }

  /**
   * A file-name-safe key, unique per session: `SENDER-TARGET` or `SENDER-TARGET-QUALIFIER`.
   *
   * @returns The key.
   */
  get key(): string {
    return this.qualifier === undefined
      ? `${this.sender}-${this.target}`
      : `${this.sender}-${this.target}-${this.qualifier}`;
  }

  /**
   * Whether another id names the same session.
   *
   * @param other The id to compare.
   * @returns True when sender, target and qualifier are equal.
   */
  equals(other: SessionId): boolean {
    return this.sender === other.sender && this.target === other.target &&
      this.qualifier === other.qualifier;
  }

  /**
   * Readable form: `SENDER->TARGET` or `SENDER->TARGET:QUALIFIER`.
   *
   * @returns The text.
   */
  toString(): string {
    return this.qualifier === undefined
      ? `${this.sender}->${this.target}`
      : `${this.sender}->${this.target}:${this.qualifier}`;
  }
}
