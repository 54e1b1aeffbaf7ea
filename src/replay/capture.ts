// Reads a user's capture (classic pcap or pcapng) into the IPv4 TCP packets `ctlab replay`
// plays, and repairs what real captures get wrong: a snap length that cut the payload (padded
// back to the IP total length with zeros), the checksums that padding breaks (recomputed), link
// types other than Ethernet (Ethernet, raw IP, Linux cooked SLL and SLL2 are accepted; each
// packet is re-framed as Ethernet later). Everything skipped or changed is counted.
import { PacketError, readU16 } from '../packet/bytes.js';
import { IPPROTO_TCP, ipHeaderLength, ipIsFragment, ipProtocol, ipTotalLength } from '../packet/ipv4.js';
import { fixChecksums } from '../packet/packet.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_IPV4,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  networkLayer,
  readPcap,
} from '../packet/pcap.js';
import { tcpHeaderLength } from '../packet/tcp.js';

/** Link types a replay accepts (DLT_RAW's old numbers 12 and 14 too). */
export const REPLAY_LINKTYPES: ReadonlyMap<number, string> = new Map([
  [LINKTYPE_ETHERNET, 'Ethernet'],
  [LINKTYPE_RAW, 'raw IP'],
  [12, 'raw IP'],
  [14, 'raw IP'],
  [LINKTYPE_IPV4, 'raw IPv4'],
  [LINKTYPE_LINUX_SLL, 'Linux cooked (SLL)'],
  [LINKTYPE_LINUX_SLL2, 'Linux cooked v2 (SLL2)'],
]);

/** One frame of the capture, whatever the file format. */
export interface RawFrame {
  /** 0-based position in the file (all records, TCP or not). */
  index: number;
  timeMs: number;
  linktype: number;
  data: Uint8Array;
}

export interface RawCapture {
  format: 'pcap' | 'pcapng';
  /** The link types seen (pcapng can mix them per interface). */
  linktypes: number[];
  frames: RawFrame[];
}

/** An IPv4 TCP packet ready for replay: complete (padded), checksums right, original addresses. */
export interface CapturedTcp {
  /** Position in the capture file (0-based, all records counted). */
  frame: number;
  timeMs: number;
  /** The IPv4 packet, exactly ip total length bytes. */
  ip: Uint8Array;
}

/** What preprocessing did, for replay.json and the report. */
export interface PrepareCounts {
  frames: number;
  tcp: number;
  ipv6Skipped: number;
  nonTcpSkipped: number;
  /** Non-IP frames (ARP, LLDP...). */
  nonIpSkipped: number;
  fragmentsSkipped: number;
  /** Frames whose headers were cut or inconsistent. */
  malformedSkipped: number;
  /** Packets shorter than their IP total length, padded with zeros. */
  padded: number;
  /** Bytes added by padding, in all. */
  paddedBytes: number;
  /** Packets whose IP or TCP checksum changed when recomputed: every padded packet, and any captured before checksum offload filled it in. */
  checksumsFixed: number;
  /** Packets whose TTL was below 2 and was set to 64 (the router would not forward them). */
  ttlRaised: number;
}

const MAGIC_NG = 0x0a0d0d0a;

/** Read a pcap or pcapng file. Throws PacketError for anything that is not a whole capture. */
export function readCapture(bytes: Uint8Array): RawCapture {
  if (bytes.length >= 4 && new DataView(bytes.buffer, bytes.byteOffset, 4).getUint32(0, false) === MAGIC_NG)
    return readPcapng(bytes);
  const f = readPcap(bytes);
  return {
    format: 'pcap',
    linktypes: [f.linktype],
    frames: f.packets.map((p) => ({ index: p.index, timeMs: p.timeMs, linktype: f.linktype, data: p.data })),
  };
}

/**
 * pcapng: section headers (either byte order), interface descriptions (link type, timestamp
 * resolution), enhanced and simple packet blocks. Other blocks are skipped.
 */
export function readPcapng(bytes: Uint8Array): RawCapture {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let le = true;
  let ifaces: Array<{ linktype: number; tsUnitsPerSec: number; snaplen: number }> = [];
  const frames: RawFrame[] = [];
  const linktypes = new Set<number>();
  let o = 0;
  while (o < bytes.length) {
    if (o + 12 > bytes.length) throw new PacketError(`pcapng block header cut at byte ${o}`);
    const type = dv.getUint32(o, le);
    if (type === MAGIC_NG) {
      const bom = dv.getUint32(o + 8, true);
      if (bom === 0x1a2b3c4d) le = true;
      else if (bom === 0x4d3c2b1a) le = false;
      else throw new PacketError(`pcapng section header at byte ${o} has a bad byte-order magic`);
      ifaces = [];
    }
    const len = dv.getUint32(o + 4, le);
    if (len < 12 || len % 4 !== 0) throw new PacketError(`pcapng block at byte ${o} has a bad length ${len}`);
    if (o + len > bytes.length)
      throw new PacketError(`pcapng block at byte ${o} cut (needs ${len} bytes, ${bytes.length - o} left)`);
    if (type === 1) {
      // Interface description: link type, snap length, options (if_tsresol = 9).
      const linktype = dv.getUint16(o + 8, le);
      let tsUnitsPerSec = 1e6;
      let p = o + 16;
      while (p + 4 <= o + len - 4) {
        const code = dv.getUint16(p, le);
        const olen = dv.getUint16(p + 2, le);
        if (code === 0) break;
        if (code === 9 && olen >= 1) {
          const r = bytes[p + 4]!; // p + 4 < o + len <= bytes.length (checked above)
          tsUnitsPerSec = r & 0x80 ? 2 ** (r & 0x7f) : 10 ** (r & 0x7f);
        }
        p += 4 + ((olen + 3) & ~3);
      }
      ifaces.push({ linktype, tsUnitsPerSec, snaplen: dv.getUint32(o + 12, le) });
    } else if (type === 6) {
      const ifId = dv.getUint32(o + 8, le);
      const iface = ifaces[ifId];
      if (!iface) throw new PacketError(`pcapng packet at byte ${o} names interface ${ifId}, which no block described`);
      const ts = dv.getUint32(o + 12, le) * 2 ** 32 + dv.getUint32(o + 16, le);
      const capLen = dv.getUint32(o + 20, le);
      if (28 + capLen > len - 4)
        throw new PacketError(`pcapng packet at byte ${o} claims ${capLen} bytes, more than its block`);
      linktypes.add(iface.linktype);
      frames.push({
        index: frames.length,
        timeMs: (ts / iface.tsUnitsPerSec) * 1000,
        linktype: iface.linktype,
        data: bytes.subarray(o + 28, o + 28 + capLen),
      });
    } else if (type === 3) {
      const iface = ifaces[0];
      if (!iface) throw new PacketError(`pcapng simple packet at byte ${o} before any interface description`);
      const origLen = dv.getUint32(o + 8, le);
      const capLen = Math.min(origLen, len - 16, iface.snaplen || Infinity);
      linktypes.add(iface.linktype);
      frames.push({
        index: frames.length,
        timeMs: frames.at(-1)?.timeMs ?? 0,
        linktype: iface.linktype,
        data: bytes.subarray(o + 12, o + 12 + capLen),
      });
    }
    o += len;
  }
  if (o === 0) throw new PacketError('empty pcapng file');
  return { format: 'pcapng', linktypes: [...linktypes], frames };
}

export function emptyCounts(frames: number): PrepareCounts {
  return {
    frames,
    tcp: 0,
    ipv6Skipped: 0,
    nonTcpSkipped: 0,
    nonIpSkipped: 0,
    fragmentsSkipped: 0,
    malformedSkipped: 0,
    padded: 0,
    paddedBytes: 0,
    checksumsFixed: 0,
    ttlRaised: 0,
  };
}

/**
 * The IPv4 TCP packets of a capture, each copied out of the file, padded to its IP total
 * length and with correct checksums. Throws PacketError for a link type replay cannot read.
 */
export function tcpPackets(cap: RawCapture): { packets: CapturedTcp[]; counts: PrepareCounts } {
  for (const lt of cap.linktypes) {
    if (!REPLAY_LINKTYPES.has(lt))
      throw new PacketError(`link type ${lt} is not one replay reads (Ethernet, raw IP, Linux cooked SLL/SLL2)`);
  }
  const counts = emptyCounts(cap.frames.length);
  const packets: CapturedTcp[] = [];
  for (const f of cap.frames) {
    const nl = networkLayer(f.linktype, f.data);
    if (!nl || nl.ipVersion === 0) {
      counts.nonIpSkipped++;
      continue;
    }
    if (nl.ipVersion === 6) {
      counts.ipv6Skipped++;
      continue;
    }
    const d = f.data;
    const o = nl.offset;
    if (d.length < o + 20 || d[o]! >>> 4 !== 4) {
      counts.malformedSkipped++;
      continue;
    }
    const ihl = ipHeaderLength(d, o);
    const total = ipTotalLength(d, o);
    if (ihl < 20 || total < ihl + 20 || d.length < o + ihl) {
      counts.malformedSkipped++;
      continue;
    }
    if (ipProtocol(d, o) !== IPPROTO_TCP) {
      counts.nonTcpSkipped++;
      continue;
    }
    if (ipIsFragment(d, o)) {
      counts.fragmentsSkipped++;
      continue;
    }
    // The TCP header (with its options) must be there; only payload may be missing.
    if (d.length < o + ihl + 20) {
      counts.malformedSkipped++;
      continue;
    }
    const thl = tcpHeaderLength(d, o + ihl);
    if (thl < 20 || ihl + thl > total || d.length < o + ihl + thl) {
      counts.malformedSkipped++;
      continue;
    }
    const ip = new Uint8Array(total);
    const have = Math.min(total, d.length - o);
    ip.set(d.subarray(o, o + have));
    if (have < total) {
      counts.padded++;
      counts.paddedBytes += total - have;
    }
    if (ip[8]! < 2) {
      ip[8] = 64;
      counts.ttlRaised++;
    }
    const ipSum = readU16(ip, 10);
    const tcpSum = readU16(ip, ihl + 16);
    fixChecksums(ip, 0);
    if (readU16(ip, 10) !== ipSum || readU16(ip, ihl + 16) !== tcpSum) counts.checksumsFixed++;
    counts.tcp++;
    packets.push({ frame: f.index, timeMs: f.timeMs, ip });
  }
  return { packets, counts };
}
