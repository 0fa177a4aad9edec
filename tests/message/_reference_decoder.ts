// The frame decoder as it was before the field index of one array per message (commit
// 4de3dae's src/message/framer.ts, unchanged but for its name): three arrays per message, through
// FixMessage.fromDecoded, and every byte scan checking the frame's end. The tests compare the
// current decoder with it, field by field and error by error.

import { DEFAULT_DATA_FIELDS } from "../../src/message/data_fields.ts";
import { FixParseError } from "../../src/message/errors.ts";
import { FixMessage } from "../../src/message/fix_message.ts";

const SOH = 1;

/** Per data-field map: a byte per tag below 65536, 1 where the tag is a LENGTH field. */
const LENGTH_TAGS = new WeakMap<ReadonlyMap<number, number>, Uint8Array>();

function lengthTagsOf(dataFields: ReadonlyMap<number, number>): Uint8Array {
  let bits = LENGTH_TAGS.get(dataFields);
  if (bits === undefined) {
    bits = new Uint8Array(65536);
    for (const tag of dataFields.keys()) if (tag < 65536) bits[tag] = 1;
    LENGTH_TAGS.set(dataFields, bits);
  }
  return bits;
}

/** The decoder as it was before the one-array field index (see the file comment). */
export function referenceDecode(
  frame: Uint8Array,
  dataFields: ReadonlyMap<number, number> = DEFAULT_DATA_FIELDS,
): FixMessage {
  const lengthTags = lengthTagsOf(dataFields);
  const tags: number[] = [];
  const starts: number[] = [];
  const ends: number[] = [];
  const n = frame.length;
  let p = 0;
  let dataTag = -1;
  let dataLen = 0;
  // The first invalid tag number: the rest is decoded, then reported with the message.
  let badAt = -1;
  let badTag: number | undefined;
  while (p < n) {
    const tagStart = p;
    let tag = 0;
    let c = frame[p];
    let nonDigit = -1;
    while (c !== 61) {
      const d = c - 48;
      if (d < 0 || d > 9) {
        if (nonDigit < 0) nonDigit = p;
        if (c === SOH) throw noEquals(nonDigit, p, p);
      } else tag = tag * 10 + d;
      if (++p >= n) throw noEquals(nonDigit, n, tagStart);
      c = frame[p];
    }
    // More than 9 digits is no tag either (and would lose precision as a number).
    if (nonDigit >= 0 || p === tagStart || tag === 0 || p - tagStart > 9) {
      // Not a tag number: the field is skipped and the message reported once decoded.
      if (badAt < 0) {
        badAt = nonDigit >= 0 ? nonDigit : tagStart;
        badTag = nonDigit < 0 && p > tagStart && tag === 0 ? 0 : undefined;
      }
      while (p < n && frame[p] !== SOH) p++;
      if (p >= n) throw new FixParseError("field is not terminated by SOH", { offset: tagStart });
      p++;
      continue;
    }
    p++;
    const vStart = p;
    if (tag === dataTag) {
      p += dataLen;
      if (p >= n || frame[p] !== SOH) {
        throw new FixParseError("data field length does not match", { offset: vStart, tag });
      }
      dataTag = -1;
    } else {
      while (p < n && frame[p] !== SOH) p++;
      if (p >= n) {
        throw new FixParseError("field is not terminated by SOH", { offset: vStart, tag });
      }
    }
    tags.push(tag);
    starts.push(vStart);
    ends.push(p);
    const linked = tag < 65536 && lengthTags[tag] === 0 ? undefined : dataFields.get(tag);
    if (linked !== undefined) {
      let len = 0;
      let ok = p > vStart && p - vStart < 10;
      for (let i = vStart; i < p && ok; i++) {
        const d = frame[i] - 48;
        if (d < 0 || d > 9) ok = false;
        else len = len * 10 + d;
      }
      if (!ok) {
        throw new FixParseError("length field is not a number", { offset: vStart, tag });
      }
      dataTag = linked;
      dataLen = len;
    }
    p++;
  }
  const message = FixMessage.fromDecoded(frame, tags, starts, ends);
  if (badAt >= 0) {
    throw new FixParseError(badTag === 0 ? "tag number 0 is invalid" : "tag is not a number", {
      offset: badAt,
      tag: badTag,
      decoded: message,
    });
  }
  return message;
}

/** A field without `=` before `end`: a non-digit before it is reported first. */
function noEquals(nonDigit: number, end: number, offset: number): FixParseError {
  return nonDigit >= 0 && nonDigit < end
    ? new FixParseError("tag is not a number", { offset: nonDigit })
    : new FixParseError("field has no '='", { offset });
}
