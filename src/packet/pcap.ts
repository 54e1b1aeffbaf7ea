// A small reader (and writer) for classic libpcap files: both byte orders, micro- and
// nanosecond timestamps, and the link types a Linux lab produces.
import { PacketError, readU8, readU16 } from './bytes.js';

export const LINKTYPE_ETHERNET = 1;
export const LINKTYPE_RAW = 101;
export const LINKTYPE_LINUX_SLL = 113;
export const LINKTYPE_NFLOG = 239;
export const LINKTYPE_IPV4 = 228;
export const LINKTYPE_LINUX_SLL2 = 276;
/** DLT_RAW as some platforms wrote it into files before LINKTYPE_RAW existed. */
const LINKTYPE_RAW_ALT = [12, 14];

const MAGIC_US = 0xa1b2c3d4;
const MAGIC_NS = 0xa1b23c4d;

export interface PcapPacket {
  /** 0-based position in the file. */
  index: number;
  tsSec: number;
  /** Fraction of the second in microseconds, or nanoseconds if the file says so. */
  tsFrac: number;
  /** Timestamp in milliseconds since the epoch (fractional). */
  timeMs: number;
  capturedLength: number;
  originalLength: number;
  /** The captured bytes: a view into the file's buffer, not a copy. */
  data: Uint8Array;
}

export interface PcapFile {
  linktype: number;
  snaplen: number;
  nanosecond: boolean;
  bigEndian: boolean;
  versionMajor: number;
  versionMinor: number;
  packets: PcapPacket[];
}

/** Parse a whole classic pcap file. Throws PacketError on a bad header or a cut record. */
export function readPcap(bytes: Uint8Array): PcapFile {
  if (bytes.length < 24) throw new PacketError(`not a pcap file: ${bytes.length} bytes, the header alone is 24`);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magicBE = dv.getUint32(0, false);
  const magicLE = dv.getUint32(0, true);
  let le: boolean;
  let nanosecond: boolean;
  if (magicLE === MAGIC_US || magicLE === MAGIC_NS) {
    le = true;
    nanosecond = magicLE === MAGIC_NS;
  } else if (magicBE === MAGIC_US || magicBE === MAGIC_NS) {
    le = false;
    nanosecond = magicBE === MAGIC_NS;
  } else if (magicBE === 0x0a0d0d0a)
    throw new PacketError('pcapng files are not supported: convert with `editcap -F pcap IN OUT`');
  else throw new PacketError(`not a pcap file: magic 0x${magicBE.toString(16).padStart(8, '0')}`);
  const file: PcapFile = {
    versionMajor: dv.getUint16(4, le),
    versionMinor: dv.getUint16(6, le),
    snaplen: dv.getUint32(16, le),
    linktype: dv.getUint32(20, le) & 0x0fffffff,
    nanosecond,
    bigEndian: !le,
    packets: [],
  };
  let o = 24;
  while (o < bytes.length) {
    if (o + 16 > bytes.length) throw new PacketError(`pcap record ${file.packets.length} header cut at byte ${o}`);
    const tsSec = dv.getUint32(o, le);
    const tsFrac = dv.getUint32(o + 4, le);
    const capLen = dv.getUint32(o + 8, le);
    const origLen = dv.getUint32(o + 12, le);
    if (o + 16 + capLen > bytes.length)
      throw new PacketError(`pcap record ${file.packets.length} data cut at byte ${o + 16}`);
    file.packets.push({
      index: file.packets.length,
      tsSec,
      tsFrac,
      timeMs: tsSec * 1000 + (nanosecond ? tsFrac / 1e6 : tsFrac / 1e3),
      capturedLength: capLen,
      originalLength: origLen,
      data: bytes.subarray(o + 16, o + 16 + capLen),
    });
    o += 16 + capLen;
  }
  return file;
}

export interface NetworkLayer {
  /** Offset of the network header in the frame. */
  offset: number;
  /** 4 or 6, from the link layer's protocol field or the header's version nibble; 0 if neither. */
  ipVersion: number;
  /** NFLOG only: the log prefix (e.g. conntrack's INVALID reason), if present. */
  prefix?: string;
}

const ETH_P_IP = 0x0800;
const ETH_P_IPV6 = 0x86dd;

function etherVersion(type: number): number {
  return type === ETH_P_IP ? 4 : type === ETH_P_IPV6 ? 6 : 0;
}

/**
 * Where the network layer starts in a frame of this link type, or null if the frame carries
 * none (ARP, too short, an NFLOG record without payload). `bigEndian` is the file's byte
 * order, which NFLOG's TLV headers follow.
 */
export function networkLayer(linktype: number, data: Uint8Array, bigEndian = false): NetworkLayer | null {
  switch (linktype) {
    case LINKTYPE_ETHERNET: {
      let o = 12;
      if (data.length < 14) return null;
      let type = readU16(data, o); // 14 bytes: checked just above
      while ((type === 0x8100 || type === 0x88a8) && data.length >= o + 6) {
        o += 4;
        type = readU16(data, o); // o + 2 <= data.length: the loop condition
      }
      const v = etherVersion(type);
      return v ? { offset: o + 2, ipVersion: v } : null;
    }
    case LINKTYPE_RAW:
    case LINKTYPE_IPV4:
    case LINKTYPE_RAW_ALT[0]:
    case LINKTYPE_RAW_ALT[1]: {
      if (data.length < 1) return null;
      const v = readU8(data, 0) >>> 4;
      return { offset: 0, ipVersion: v === 4 || v === 6 ? v : 0 };
    }
    case LINKTYPE_LINUX_SLL: {
      if (data.length < 16) return null;
      const v = etherVersion(readU16(data, 14));
      return v ? { offset: 16, ipVersion: v } : null;
    }
    case LINKTYPE_LINUX_SLL2: {
      if (data.length < 20) return null;
      const v = etherVersion(readU16(data, 0));
      return v ? { offset: 20, ipVersion: v } : null;
    }
    case LINKTYPE_NFLOG:
      return nflogLayer(data, bigEndian);
    default:
      return null;
  }
}

const NFULA_PAYLOAD = 9;
const NFULA_PREFIX = 10;

function nflogLayer(data: Uint8Array, bigEndian: boolean): NetworkLayer | null {
  // 4-byte header (family, version, resource id), then TLVs: length (incl. the 4-byte TLV
  // header) and type in the file's byte order, value, padding to 4 bytes.
  if (data.length < 4) return null;
  const family = readU8(data, 0);
  let prefix: string | undefined;
  let payload = -1;
  let o = 4;
  while (o + 4 <= data.length) {
    // The 4-byte TLV header: inside data by the loop condition.
    const len = bigEndian ? readU16(data, o) : readU8(data, o) | (readU8(data, o + 1) << 8);
    const type = (bigEndian ? readU16(data, o + 2) : readU8(data, o + 2) | (readU8(data, o + 3) << 8)) & 0x7fff;
    if (len < 4 || o + len > data.length) break;
    if (type === NFULA_PREFIX) {
      let e = o + 4;
      while (e < o + len && data[e] !== 0) e++;
      prefix = new TextDecoder().decode(data.subarray(o + 4, e));
    } else if (type === NFULA_PAYLOAD) payload = o + 4;
    o += (len + 3) & ~3;
  }
  if (payload < 0) return null;
  // An empty payload TLV can end the record (payload === data.length): no byte, version 0.
  const v = family === 2 ? 4 : family === 10 ? 6 : (data[payload] ?? 0) >>> 4;
  return { offset: payload, ipVersion: v, ...(prefix !== undefined ? { prefix } : {}) };
}

/** Write a little-endian, microsecond classic pcap file. */
export function writePcap(
  packets: ReadonlyArray<{ timeMs: number; data: Uint8Array; originalLength?: number }>,
  linktype: number,
  snaplen = 262144,
): Uint8Array {
  const size = 24 + packets.reduce((n, p) => n + 16 + p.data.length, 0);
  const out = new Uint8Array(size);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, MAGIC_US, true);
  dv.setUint16(4, 2, true);
  dv.setUint16(6, 4, true);
  dv.setUint32(16, snaplen, true);
  dv.setUint32(20, linktype, true);
  let o = 24;
  for (const p of packets) {
    const us = Math.round(p.timeMs * 1000);
    dv.setUint32(o, Math.floor(us / 1e6), true);
    dv.setUint32(o + 4, us % 1e6, true);
    dv.setUint32(o + 8, p.data.length, true);
    dv.setUint32(o + 12, p.originalLength ?? p.data.length, true);
    out.set(p.data, o + 16);
    o += 16 + p.data.length;
  }
  return out;
}
