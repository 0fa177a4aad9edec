/**
 * The byte sum behind CheckSum(10), shared by the encoder and the framer.
 *
 * @module
 */

/**
 * The sum of `bytes[s, e)`, four bytes at a time: `words` is the same memory as 32-bit words.
 * Each word adds its bytes pairwise into two 16-bit lanes of one accumulator, folded before a
 * lane can overflow; the unaligned head and tail are added byte by byte.
 */
export function byteSum(bytes: Uint8Array, words: Uint32Array, s: number, e: number): number {
  let sum = 0;
  let i = s;
  while (i < e && (i & 3) !== 0) sum += bytes[i++];
  const wordEnd = Math.min(e >> 2, words.length);
  let acc = 0;
  let n = 0;
  for (let k = i >> 2; k < wordEnd; k++) {
    const x = words[k];
    acc += (x & 0x00ff00ff) + ((x >>> 8) & 0x00ff00ff);
    // 128 words add at most 128 * 510 < 65536 to each lane.
    if (++n === 128) {
      sum += (acc & 0xffff) + (acc >>> 16);
      acc = 0;
      n = 0;
    }
  }
  sum += (acc & 0xffff) + (acc >>> 16);
  for (i = Math.max(i, wordEnd << 2); i < e; i++) sum += bytes[i];
  return sum;
}
