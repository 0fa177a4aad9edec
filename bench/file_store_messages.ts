/**
 * Stored-message fixtures for the file store benchmarks: a NewOrderSingle of about 170 bytes,
 * with a correct BodyLength(9) and CheckSum(10), built without allocating per message.
 *
 * @module
 */

const encoder = new TextEncoder();

/** Builds messages of about `size` bytes into one reused buffer. */
export class MessageMaker {
  readonly #buf = new Uint8Array(4096);
  #pad: string;

  /**
   * @param size The length aimed at for a 7-digit MsgSeqNum (shorter numbers give shorter
   *   messages, by a few bytes).
   */
  constructor(size = 170) {
    this.#pad = "";
    this.#pad = "x".repeat(Math.max(0, size - this.make(1_000_000).length));
  }

  #body(seq: number, pad: string): string {
    return `35=D\x0149=SENDER\x0156=TARGET\x0134=${seq}\x0152=20261124-10:00:00.000\x01` +
      `11=ord${seq}\x0155=EUR/USD\x0154=1\x0138=1000000\x0140=2\x0144=1.08765\x0158=${pad}\x01`;
  }

  /**
   * The message with MsgSeqNum `seq`: a view into the maker's buffer, valid until the next call.
   *
   * @param seq The MsgSeqNum.
   * @returns The bytes.
   */
  make(seq: number): Uint8Array {
    const body = this.#body(seq, this.#pad);
    const buf = this.#buf;
    let p = encoder.encodeInto(`8=FIX.4.4\x019=${body.length}\x01${body}`, buf).written;
    let sum = 0;
    for (let i = 0; i < p; i++) sum += buf[i];
    const cks = sum & 255;
    buf[p++] = 49;
    buf[p++] = 48;
    buf[p++] = 61;
    buf[p++] = 48 + Math.floor(cks / 100);
    buf[p++] = 48 + Math.floor(cks / 10) % 10;
    buf[p++] = 48 + cks % 10;
    buf[p++] = 1;
    return buf.subarray(0, p);
  }
}

/**
 * Prints a line on stdout (the benchmarks' output; `console` is for debugging only).
 *
 * @param text The line.
 */
export function print(text: string): void {
  Deno.stdout.writeSync(encoder.encode(text + "\n"));
}

/**
 * Prints rows as a Markdown table, columns in order of first appearance.
 *
 * @param rows The rows.
 */
export function printTable(rows: Record<string, string | number>[]): void {
  const columns: string[] = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!columns.includes(k)) columns.push(k);
  const cells = rows.map((r) => columns.map((c) => String(r[c] ?? "")));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) =>
    `| ${
      values.map((v, i) => (i === 0 ? v.padEnd(widths[i]) : v.padStart(widths[i]))).join(" | ")
    } |`;
  print(line(columns));
  print(
    `|${widths.map((w, i) => (i === 0 ? "-".repeat(w + 2) : "-".repeat(w + 1) + ":")).join("|")}|`,
  );
  for (const row of cells) print(line(row));
}
