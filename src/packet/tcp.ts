// Zero-copy TCP header accessors: `t` is the offset of the TCP header in `b`. Like the readers
// of bytes.js they do not check bounds: the caller checks once that the header lies inside `b`.
import { readU8, readU16, readU32, writeU16, writeU32 } from './bytes.js';

export const TCP_FIN = 0x01;
export const TCP_SYN = 0x02;
export const TCP_RST = 0x04;
export const TCP_PSH = 0x08;
export const TCP_ACK = 0x10;
export const TCP_URG = 0x20;
export const TCP_ECE = 0x40;
export const TCP_CWR = 0x80;

export const tcpSrcPort = (b: Uint8Array, t: number): number => readU16(b, t);
export const tcpDstPort = (b: Uint8Array, t: number): number => readU16(b, t + 2);
export const tcpSeq = (b: Uint8Array, t: number): number => readU32(b, t + 4);
export const tcpAck = (b: Uint8Array, t: number): number => readU32(b, t + 8);
/** Header length in bytes (data offset * 4). */
export const tcpHeaderLength = (b: Uint8Array, t: number): number => (readU8(b, t + 12) >>> 4) << 2;
/** The low nibble of byte 12: three reserved bits and AE (formerly NS). */
export const tcpReserved = (b: Uint8Array, t: number): number => readU8(b, t + 12) & 0x0f;
/** The eight classic flags (CWR..FIN). */
export const tcpFlags = (b: Uint8Array, t: number): number => readU8(b, t + 13);
export const tcpWindow = (b: Uint8Array, t: number): number => readU16(b, t + 14);
export const tcpChecksumField = (b: Uint8Array, t: number): number => readU16(b, t + 16);
export const tcpUrgentPointer = (b: Uint8Array, t: number): number => readU16(b, t + 18);

export const setTcpSeq = (b: Uint8Array, t: number, v: number): void => writeU32(b, t + 4, v);
export const setTcpAck = (b: Uint8Array, t: number, v: number): void => writeU32(b, t + 8, v);
export const setTcpWindow = (b: Uint8Array, t: number, v: number): void => writeU16(b, t + 14, v);
export const setTcpChecksumField = (b: Uint8Array, t: number, v: number): void => writeU16(b, t + 16, v);

/** Serial-number comparison (RFC 1982 / the kernel's before()): a is before b. */
export const seqBefore = (a: number, b: number): boolean => ((a - b) | 0) < 0;
/** The kernel's after(): a is after b. */
export const seqAfter = (a: number, b: number): boolean => ((b - a) | 0) < 0;
