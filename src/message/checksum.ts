/**
 * The byte sum behind CheckSum(10), shared by the encoder and the framer.
 *
 * @module
 */

/**
 * The sum of `bytes[s, e)`, four bytes at a time: `words` is the same memory as 32-bit words.
 * Each word adds its bytes pairwise into two 16-bit lanes of one accumulator, two words per
 * step, in blocks of 64 words (a lane takes at most 64 * 510 < 65536, and the accumulator stays
 * a small integer); the unaligned head and tail are added byte by byte.
 */
export function byteSum(bytes: Uint8Array, words: Uint32Array, s: number, e: number): number {
  let sum = 0;
  let i = s;
  while (i < e && (i & 3) !== 0) sum += bytes[i++];
  const wordEnd = Math.min(e >> 2, words.length);
  let k = i >> 2;
  while (k < wordEnd) {
    const blockEnd = Math.min(wordEnd, k + 64);
    let acc = 0;
    for (; k + 1 < blockEnd; k += 2) {
      const x = words[k], y = words[k + 1];
      acc += (x & 0x00ff00ff) + ((x >>> 8) & 0x00ff00ff) + (y & 0x00ff00ff) +
        ((y >>> 8) & 0x00ff00ff);
    }
    if (k < blockEnd) {
      const x = words[k++];
      acc += (x & 0x00ff00ff) + ((x >>> 8) & 0x00ff00ff);
    }
    sum += (acc & 0xffff) + (acc >>> 16);
  }
  for (i = Math.max(i, wordEnd << 2); i < e; i++) sum += bytes[i];
  return sum;
}
