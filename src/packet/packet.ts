// Plain-object decoding and encoding of IPv4/TCP packets, for tests, diagnostics and evidence.
// The per-packet path uses the accessors in ipv4.ts / tcp.ts instead.
import { PacketError, ipToString, parseIp, readU8, readU16, readU32, writeU16, writeU32 } from './bytes.js';
import { ipv4HeaderChecksum, tcpChecksum } from './checksum.js';
import { IPPROTO_TCP } from './ipv4.js';
import { decodeTcpOptions, encodeTcpOptions, scanTcpOptions, tcpOptionLength, type TcpOption } from './options.js';

export interface IPv4Header {
  version: number;
  /** Header length in bytes. */
  headerLength: number;
  tos: number;
  totalLength: number;
  id: number;
  /** 3 bits: reserved, DF, MF. */
  flags: number;
  fragmentOffset: number;
  ttl: number;
  protocol: number;
  checksum: number;
  src: string;
  dst: string;
  /** IP options, raw. */
  options: Uint8Array;
}

export interface TcpHeader {
  srcPort: number;
  dstPort: number;
  seq: number;
  ack: number;
  /** Header length in bytes. */
  headerLength: number;
  /** Low nibble of byte 12 (reserved bits and AE). */
  reserved: number;
  /** CWR..FIN. */
  flags: number;
  window: number;
  checksum: number;
  urgentPointer: number;
  options: TcpOption[];
  optionsMalformed: boolean;
}

export interface DecodedPacket {
  ip: IPv4Header;
  /** Absent when not TCP, or when a fragment that does not start the segment. */
  tcp?: TcpHeader;
  /** Bytes after the headers that are present in the buffer (fewer than payloadLength if truncated). */
  payload: Uint8Array;
  /** Payload length the headers announce (tshark's tcp.len for TCP). */
  payloadLength: number;
  /** The buffer holds less than ip.totalLength. */
  truncated: boolean;
  /** Bytes past ip.totalLength in the buffer (e.g. Ethernet padding), kept for byte-exact round trips. */
  trailer: Uint8Array;
}

/**
 * Decode the IPv4 packet in buf[off, off+len). Tolerates truncation (a capture's snap length)
 * as long as the headers are present; throws PacketError when they are not.
 */
export function decode(buf: Uint8Array, off = 0, len = buf.length - off): DecodedPacket {
  // Byte reads: the 20-byte IPv4 header by `len < 20`, the TCP header by `end - t < 20`.
  if (len < 20) throw new PacketError(`packet too short for IPv4: ${len} bytes`);
  const version = readU8(buf, off) >>> 4;
  if (version !== 4) throw new PacketError(`not IPv4: version ${version}`);
  const ihl = (readU8(buf, off) & 0x0f) << 2;
  if (ihl < 20 || ihl > len) throw new PacketError(`bad IPv4 header length ${ihl} (packet ${len} bytes)`);
  const totalLength = readU16(buf, off + 2);
  if (totalLength < ihl) throw new PacketError(`IPv4 total length ${totalLength} below header length ${ihl}`);
  const end = off + Math.min(len, totalLength);
  const ip: IPv4Header = {
    version,
    headerLength: ihl,
    tos: readU8(buf, off + 1),
    totalLength,
    id: readU16(buf, off + 4),
    flags: readU8(buf, off + 6) >>> 5,
    fragmentOffset: readU16(buf, off + 6) & 0x1fff,
    ttl: readU8(buf, off + 8),
    protocol: readU8(buf, off + 9),
    checksum: readU16(buf, off + 10),
    src: ipToString(readU32(buf, off + 12)),
    dst: ipToString(readU32(buf, off + 16)),
    options: buf.slice(off + 20, off + ihl),
  };
  const truncated = len < totalLength;
  const trailer = buf.slice(off + Math.min(len, totalLength), off + len);
  const t = off + ihl;
  if (ip.protocol !== IPPROTO_TCP || ip.fragmentOffset !== 0) {
    return { ip, payload: buf.slice(t, end), payloadLength: totalLength - ihl, truncated, trailer };
  }
  if (end - t < 20) throw new PacketError(`TCP header truncated: ${end - t} bytes`);
  const thl = (readU8(buf, t + 12) >>> 4) << 2;
  if (thl < 20 || t + thl > end) throw new PacketError(`bad TCP header length ${thl} (${end - t} bytes available)`);
  const tcp: TcpHeader = {
    srcPort: readU16(buf, t),
    dstPort: readU16(buf, t + 2),
    seq: readU32(buf, t + 4),
    ack: readU32(buf, t + 8),
    headerLength: thl,
    reserved: readU8(buf, t + 12) & 0x0f,
    flags: readU8(buf, t + 13),
    window: readU16(buf, t + 14),
    checksum: readU16(buf, t + 16),
    urgentPointer: readU16(buf, t + 18),
    options: decodeTcpOptions(buf, t + 20, t + thl),
    optionsMalformed: scanTcpOptions(buf, t + 20, t + thl, new Int32Array(40)) < 0,
  };
  return { ip, tcp, payload: buf.slice(t + thl, end), payloadLength: totalLength - ihl - thl, truncated, trailer };
}

/**
 * Encode a decoded packet. Every field is written as given (lengths and checksums are not
 * recomputed), so decode → encode reproduces the original bytes exactly; use
 * fixChecksums() after changing fields.
 */
export function encode(p: DecodedPacket): Uint8Array {
  const ihl = 20 + p.ip.options.length;
  const thl = p.tcp ? 20 + p.tcp.options.reduce((n, o) => n + tcpOptionLength(o), 0) : 0;
  const out = new Uint8Array(ihl + thl + p.payload.length + p.trailer.length);
  const { ip } = p;
  out[0] = ((ip.version & 0xf) << 4) | ((ip.headerLength >>> 2) & 0xf);
  out[1] = ip.tos;
  writeU16(out, 2, ip.totalLength);
  writeU16(out, 4, ip.id);
  writeU16(out, 6, ((ip.flags & 7) << 13) | (ip.fragmentOffset & 0x1fff));
  out[8] = ip.ttl;
  out[9] = ip.protocol;
  writeU16(out, 10, ip.checksum);
  writeU32(out, 12, parseIp(ip.src));
  writeU32(out, 16, parseIp(ip.dst));
  out.set(ip.options, 20);
  let o = ihl;
  if (p.tcp) {
    const t = p.tcp;
    writeU16(out, o, t.srcPort);
    writeU16(out, o + 2, t.dstPort);
    writeU32(out, o + 4, t.seq);
    writeU32(out, o + 8, t.ack);
    out[o + 12] = (((t.headerLength >>> 2) & 0xf) << 4) | (t.reserved & 0xf);
    out[o + 13] = t.flags;
    writeU16(out, o + 14, t.window);
    writeU16(out, o + 16, t.checksum);
    writeU16(out, o + 18, t.urgentPointer);
    encodeTcpOptions(t.options, out, o + 20);
    o += thl;
  }
  out.set(p.payload, o);
  out.set(p.trailer, o + p.payload.length);
  return out;
}

/** Recompute the IPv4 header checksum and, for a complete TCP segment, the TCP checksum. */
export function fixChecksums(buf: Uint8Array, off = 0): void {
  writeU16(buf, off + 10, ipv4HeaderChecksum(buf, off));
  const total = readU16(buf, off + 2);
  if (buf[off + 9] === IPPROTO_TCP && (readU16(buf, off + 6) & 0x1fff) === 0 && buf.length - off >= total) {
    const ihl = (readU8(buf, off) & 0x0f) << 2; // off < buf.length: its header was just summed
    writeU16(buf, off + ihl + 16, tcpChecksum(buf, off));
  }
}

export interface TcpPacketSpec {
  src: string;
  dst: string;
  srcPort: number;
  dstPort: number;
  seq: number;
  ack?: number;
  /** CWR..FIN bits (TCP_SYN | TCP_ACK ...). */
  flags: number;
  window?: number;
  ttl?: number;
  id?: number;
  /** Options, encoded; padded with EOL/zeros to a multiple of 4 by the builder. */
  options?: TcpOption[];
  /** Raw option bytes instead of `options` (for malformed cases); padded with zeros. */
  rawOptions?: Uint8Array;
  payload?: Uint8Array | number;
}

/** Build a complete IPv4/TCP packet with correct lengths and checksums (tests, benchmarks). */
export function buildTcpPacket(s: TcpPacketSpec): Uint8Array {
  let optBytes: Uint8Array = s.rawOptions ?? new Uint8Array(0);
  if (s.options) {
    const n = s.options.reduce((a, o) => a + tcpOptionLength(o), 0);
    optBytes = new Uint8Array(n);
    encodeTcpOptions(s.options, optBytes, 0);
  }
  const optLen = (optBytes.length + 3) & ~3;
  if (optLen > 40) throw new PacketError(`TCP options too long: ${optBytes.length} bytes`);
  const payload =
    typeof s.payload === 'number'
      ? Uint8Array.from({ length: s.payload }, (_, i) => (i * 7 + 1) & 0xff)
      : (s.payload ?? new Uint8Array(0));
  const thl = 20 + optLen;
  const total = 20 + thl + payload.length;
  const b = new Uint8Array(total);
  b[0] = 0x45;
  writeU16(b, 2, total);
  writeU16(b, 4, s.id ?? 0x1234);
  writeU16(b, 6, 0x4000);
  b[8] = s.ttl ?? 64;
  b[9] = IPPROTO_TCP;
  writeU32(b, 12, parseIp(s.src));
  writeU32(b, 16, parseIp(s.dst));
  writeU16(b, 20, s.srcPort);
  writeU16(b, 22, s.dstPort);
  writeU32(b, 24, s.seq >>> 0);
  writeU32(b, 28, (s.ack ?? 0) >>> 0);
  b[32] = (thl >>> 2) << 4;
  b[33] = s.flags;
  writeU16(b, 34, s.window ?? 65535);
  b.set(optBytes, 40);
  b.set(payload, 20 + thl);
  fixChecksums(b, 0);
  return b;
}
