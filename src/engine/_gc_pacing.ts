/**
 * Private: keeps V8's young collections small while connections and Logons arrive in bulk.
 *
 * A scavenge copies everything still alive in the young generation. In a logon storm almost
 * everything made for each new connection and session lives on, so a young generation grown to
 * its full size (16 MB) holds the state of thousands of them when it fills, and copying it
 * stalled every session for 10-30 ms at once. A short-lived block made per connection accepted
 * and per Logon admitted fills the young generation after a few hundred of them instead: more
 * scavenges, each copying only the state of those few hundred (2-10 ms measured, wall time,
 * against 18-33 ms in a storm of 5,000).
 *
 * @module
 */

/**
 * Bytes of garbage per connection accepted and per Logon admitted: 32 KB (an array of 8,192
 * empty slots, 4 bytes each with V8's compressed pointers). Made in a few microseconds; nothing
 * keeps it past the next scavenge.
 */
export const PACING_SLOTS = 8192;

/** The last block: stored so that the compiler cannot leave the allocation out. */
let last: unknown;
let made = 0;

/**
 * Allocates one short-lived block (see the module's documentation). Call it once per
 * connection accepted and per Logon admitted, never per message.
 */
export function paceYoungGc(): void {
  last = new Array(PACING_SLOTS);
  made++;
}

/**
 * Blocks made so far, and the size of the last (for tests).
 *
 * @returns The count, and the last block's length (0 before the first).
 */
export function pacingBlocks(): { made: number; lastLength: number } {
  return { made, lastLength: Array.isArray(last) ? last.length : 0 };
}
