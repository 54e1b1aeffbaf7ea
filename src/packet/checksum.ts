// The Internet checksum (RFC 1071) and its incremental update (RFC 1624).
import { readU8, readU16 } from './bytes.js';

/** Fold a non-negative sum below 2^32 to 16 bits with end-around carry. */
function fold(s: number): number {
  s = (s & 0xffff) + (s >>> 16);
  s = (s & 0xffff) + (s >>> 16);
  return s;
}

/**
 * Ones'-complement sum of buf[off, off+len) read as big-endian 16-bit words (an odd last byte
 * is padded with zero), plus `initial`; folded to 16 bits, not complemented.
 * len must be at most 65535 (any IP packet), so the running sum stays below 2^31.
 */
export function onesSum(buf: Uint8Array, off: number, len: number, initial = 0): number {
  let s = initial;
  // buf[off, off+len) lies inside buf (the caller's length check): i + 1 < end <= off + len.
  const end = off + (len & ~1);
  for (let i = off; i < end; i += 2) s += (buf[i]! << 8) | buf[i + 1]!;
  if (len & 1) s += buf[off + len - 1]! << 8;
  return fold(s);
}

/** The IPv4 header checksum the header at `off` should carry (its own checksum field ignored). */
export function ipv4HeaderChecksum(buf: Uint8Array, off: number): number {
  // The header at off lies inside buf (the caller's length check).
  const ihl = (readU8(buf, off) & 0x0f) << 2;
  let s = onesSum(buf, off, 10);
  s = onesSum(buf, off + 12, ihl - 12, s);
  return ~s & 0xffff;
}

/**
 * The TCP checksum the segment of the IPv4 packet at `ipOff` should carry (pseudo-header
 * included, its own checksum field ignored). The whole segment must be in the buffer:
 * tcpLen defaults to total length - header length.
 */
export function tcpChecksum(buf: Uint8Array, ipOff: number, tcpLen?: number): number {
  // The whole packet lies inside buf (this function's contract, above).
  const ihl = (readU8(buf, ipOff) & 0x0f) << 2;
  const len = tcpLen ?? readU16(buf, ipOff + 2) - ihl;
  const t = ipOff + ihl;
  // Pseudo-header: source, destination, zero+protocol, TCP length.
  let s = onesSum(buf, ipOff + 12, 8);
  s += readU8(buf, ipOff + 9) + len;
  s = onesSum(buf, t, 16, s);
  s = onesSum(buf, t + 18, len - 18, s);
  return ~s & 0xffff;
}

/**
 * RFC 1624 eqn. 3: the checksum after a region whose ones'-complement sum was `oldSum` now sums
 * to `newSum`: HC' = ~(~HC + ~m + m'). Never yields 0xffff from a valid checksum, so it agrees
 * with a full recomputation bit for bit.
 */
export function csumAdjust(check: number, oldSum: number, newSum: number): number {
  return ~fold((~check & 0xffff) + (~oldSum & 0xffff) + newSum) & 0xffff;
}

/** Checksum after one 16-bit word changed from oldWord to newWord. */
export function csumUpdate16(check: number, oldWord: number, newWord: number): number {
  return csumAdjust(check, oldWord & 0xffff, newWord & 0xffff);
}

/** Checksum after a word-aligned 32-bit field changed from oldVal to newVal. */
export function csumUpdate32(check: number, oldVal: number, newVal: number): number {
  const s = fold(
    (~check & 0xffff) + (~(oldVal >>> 16) & 0xffff) + (~oldVal & 0xffff) + (newVal >>> 16) + (newVal & 0xffff),
  );
  return ~s & 0xffff;
}
