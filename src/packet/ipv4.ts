// Zero-copy IPv4 header accessors: `o` is the offset of the IPv4 header in `b`. Like the readers
// of bytes.js they do not check bounds: the caller checks once that the header lies inside `b`.
import { readU8, readU16, readU32, writeU16 } from './bytes.js';
import { ipv4HeaderChecksum } from './checksum.js';

export const IPPROTO_ICMP = 1;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
/** Flag bits as in the 3-bit flags field. */
export const IP_DF = 0x2;
export const IP_MF = 0x1;

export const ipVersion = (b: Uint8Array, o: number): number => readU8(b, o) >>> 4;
/** Header length in bytes (IHL * 4). */
export const ipHeaderLength = (b: Uint8Array, o: number): number => (readU8(b, o) & 0x0f) << 2;
export const ipTos = (b: Uint8Array, o: number): number => readU8(b, o + 1);
export const ipTotalLength = (b: Uint8Array, o: number): number => readU16(b, o + 2);
export const ipId = (b: Uint8Array, o: number): number => readU16(b, o + 4);
/** The 3 flag bits (reserved, DF, MF). */
export const ipFlags = (b: Uint8Array, o: number): number => readU8(b, o + 6) >>> 5;
/** Fragment offset in 8-byte units. */
export const ipFragmentOffset = (b: Uint8Array, o: number): number => readU16(b, o + 6) & 0x1fff;
/** True for any fragment (MF set or a non-zero offset): such a packet may lack a whole TCP header. */
export const ipIsFragment = (b: Uint8Array, o: number): boolean => (readU16(b, o + 6) & 0x3fff) !== 0;
export const ipTtl = (b: Uint8Array, o: number): number => readU8(b, o + 8);
export const ipProtocol = (b: Uint8Array, o: number): number => readU8(b, o + 9);
export const ipChecksum = (b: Uint8Array, o: number): number => readU16(b, o + 10);
/** Source address as an unsigned 32-bit number. */
export const ipSrc = (b: Uint8Array, o: number): number => readU32(b, o + 12);
export const ipDst = (b: Uint8Array, o: number): number => readU32(b, o + 16);

export const setIpChecksum = (b: Uint8Array, o: number, v: number): void => writeU16(b, o + 10, v);
export const setIpTtl = (b: Uint8Array, o: number, v: number): void => {
  b[o + 8] = v & 0xff;
};

/** Recompute and store the header checksum. */
export function fixIpChecksum(b: Uint8Array, o: number): void {
  setIpChecksum(b, o, ipv4HeaderChecksum(b, o));
}
