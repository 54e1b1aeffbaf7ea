// Keyed, stateless pseudo-random numbers: every decision the middlebox makes at random is a
// hash of (seed, flow ordinal, direction, what is being decided), never a draw from a stream,
// so a seed reproduces a run exactly whatever the timing and interleaving of flows.

/** What a hash decides; part of the key so the decisions are independent of each other. */
export const PURPOSE_OFFSET = 0x0ff5e7;
export const PURPOSE_LOSS = 0x1055;
export const PURPOSE_REORDER = 0x7e07de7;

const C1 = 0xcc9e2d51;
const C2 = 0x1b873593;

function mixIn(h: number, k: number): number {
  k = Math.imul(k, C1);
  k = (k << 15) | (k >>> 17);
  k = Math.imul(k, C2);
  h ^= k;
  h = (h << 13) | (h >>> 19);
  return (Math.imul(h, 5) + 0xe6546b64) | 0;
}

/** MurmurHash3 (x86, 32-bit) over six 32-bit words, seed 0. Returns an unsigned 32-bit number. */
export function hash6(a: number, b: number, c: number, d: number, e: number, f: number): number {
  let h = 0;
  h = mixIn(h, a);
  h = mixIn(h, b);
  h = mixIn(h, c);
  h = mixIn(h, d);
  h = mixIn(h, e);
  h = mixIn(h, f);
  h ^= 24;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The low and high 32 bits of a seed (any safe integer; a negative one wraps like uint64). */
export function splitSeed(seed: number): [lo: number, hi: number] {
  if (!Number.isSafeInteger(seed)) throw new RangeError(`seed must be a safe integer, got ${seed}`);
  const lo = seed >>> 0;
  const hi = Math.floor((seed - lo) / 0x100000000) >>> 0;
  return [lo, hi];
}

/** 0 = client→server, 1 = server→client. */
export type Dir = 0 | 1;

/** The sequence-number offset for one direction of one flow. */
export function flowOffset(seedLo: number, seedHi: number, ordinal: number, dir: number): number {
  return hash6(seedLo, seedHi, PURPOSE_OFFSET, ordinal, dir, 0);
}

/**
 * A uniform draw in [0, 1) for (flow, direction, purpose, key), e.g. key = the segment's
 * sequence number relative to the ISN, so a retransmission draws the same number.
 */
export function keyedUniform(
  seedLo: number,
  seedHi: number,
  purpose: number,
  ordinal: number,
  dir: number,
  key: number,
): number {
  return hash6(seedLo, seedHi, purpose, ordinal, dir, key) / 4294967296;
}
