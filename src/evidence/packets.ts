// Light, read-only views of the TCP packets in a capture: just the fields evidence needs.
// Reads headers with the packet layer's accessors (no full decode per packet), so a capture of
// a long run (up to 2 M packets) stays cheap.
import { ipToString, readU16, readU32 } from '../packet/bytes.js';
import { IPPROTO_TCP, ipHeaderLength, ipId, ipIsFragment, ipProtocol, ipTotalLength } from '../packet/ipv4.js';
import { TCPOPT_SACK } from '../packet/options.js';
import { networkLayer, readPcap } from '../packet/pcap.js';
import {
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  tcpAck,
  tcpDstPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSrcPort,
} from '../packet/tcp.js';

export interface TcpPacket {
  /** Epoch milliseconds (fractional). */
  timeMs: number;
  src: string;
  dst: string;
  sport: number;
  dport: number;
  seq: number;
  ack: number;
  flags: number;
  /** TCP payload length from the IP header (right even when the capture was cut short). */
  payloadLength: number;
  /** IP total length. */
  ipLength: number;
  ipId: number;
  /** SACK blocks as [left, right] pairs, empty if none (or cut off by the snap length). */
  sack: Array<[number, number]>;
  /** NFLOG only: the log prefix. */
  prefix?: string;
  /** Identifies this exact packet (the same bytes logged twice give the same key). */
  key: string;
}

function sackBlocks(b: Uint8Array, start: number, end: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let o = start;
  while (o < end) {
    const kind = b[o]!;
    if (kind === 0) break;
    if (kind === 1) {
      o++;
      continue;
    }
    const len = o + 1 < end ? b[o + 1]! : 0;
    if (len < 2 || o + len > end) break;
    if (kind === TCPOPT_SACK)
      for (let x = o + 2; x + 8 <= o + len; x += 8) out.push([readU32(b, x), readU32(b, x + 4)]);
    o += len;
  }
  return out;
}

/** Every IPv4 TCP packet of a classic pcap (Ethernet, raw, SLL, NFLOG...); others are skipped. */
export function readTcpPackets(bytes: Uint8Array): TcpPacket[] {
  const f = readPcap(bytes);
  const out: TcpPacket[] = [];
  for (const p of f.packets) {
    const nl = networkLayer(f.linktype, p.data, f.bigEndian);
    if (nl?.ipVersion !== 4) continue;
    const d = p.data;
    const o = nl.offset;
    if (d.length < o + 20 || ipProtocol(d, o) !== IPPROTO_TCP || ipIsFragment(d, o)) continue;
    const ihl = ipHeaderLength(d, o);
    const t = o + ihl;
    if (d.length < t + 20) continue;
    const thl = tcpHeaderLength(d, t);
    const ipLength = ipTotalLength(d, o);
    const src = ipToString(readU32(d, o + 12));
    const dst = ipToString(readU32(d, o + 16));
    const rec: TcpPacket = {
      timeMs: p.timeMs,
      src,
      dst,
      sport: tcpSrcPort(d, t),
      dport: tcpDstPort(d, t),
      seq: tcpSeq(d, t),
      ack: tcpAck(d, t),
      flags: tcpFlags(d, t),
      payloadLength: Math.max(0, ipLength - ihl - thl),
      ipLength,
      ipId: ipId(d, o),
      sack: sackBlocks(d, t + 20, Math.min(t + thl, d.length)),
      key: '',
    };
    rec.key = `${src}:${rec.sport}>${dst}:${rec.dport}/${rec.seq}/${rec.ack}/${rec.ipId}/${ipLength}/${readU16(d, o + 10)}`;
    if (nl.prefix !== undefined) rec.prefix = nl.prefix;
    out.push(rec);
  }
  return out;
}

/** Sequence-space length of a segment: payload, plus one each for SYN and FIN. */
export function segmentLength(p: TcpPacket): number {
  return p.payloadLength + (p.flags & TCP_SYN ? 1 : 0) + (p.flags & TCP_FIN ? 1 : 0);
}

export interface RetransmissionCount {
  total: number;
  /** Per direction, keyed "ip:port>ip:port". */
  byDirection: Record<string, number>;
}

/**
 * Retransmitted segments, by the rule Wireshark's tcp.analysis.retransmission applies: a
 * segment that occupies sequence space (data, SYN or FIN) and starts below the highest
 * sequence number already sent in its direction, except keep-alives. Wireshark also marks
 * fast and spurious retransmissions with that flag, so they count too; what it calls
 * out-of-order (a gap filled within a few milliseconds) does not: we count that the same way,
 * treating a segment as out-of-order only when it does not reach the highest sequence sent and
 * came less than 3 ms after it.
 */
export function countRetransmissions(packets: readonly TcpPacket[]): RetransmissionCount {
  const next = new Map<string, { nextSeq: number; lastTime: number }>();
  const byDirection: Record<string, number> = {};
  let total = 0;
  for (const p of packets) {
    const dir = `${p.src}:${p.sport}>${p.dst}:${p.dport}`;
    const len = segmentLength(p);
    if (p.flags & TCP_SYN && !next.has(dir)) {
      next.set(dir, { nextSeq: (p.seq + len) >>> 0, lastTime: p.timeMs });
      continue;
    }
    const st = next.get(dir);
    if (!st) {
      // First packet seen of this direction (capture began mid-flow): it sets the baseline.
      if (len > 0 || !(p.flags & TCP_RST)) next.set(dir, { nextSeq: (p.seq + len) >>> 0, lastTime: p.timeMs });
      continue;
    }
    if (p.flags & TCP_RST) continue;
    const end = (p.seq + len) >>> 0;
    const before = ((p.seq - st.nextSeq) | 0) < 0;
    const keepAlive = p.payloadLength <= 1 && !(p.flags & (TCP_SYN | TCP_FIN)) && (st.nextSeq - p.seq) >>> 0 === 1;
    if (len > 0 && before && !keepAlive) {
      const outOfOrder = ((end - st.nextSeq) | 0) < 0 && p.timeMs - st.lastTime < 3;
      if (!outOfOrder) {
        total++;
        byDirection[dir] = (byDirection[dir] ?? 0) + 1;
      }
    }
    if (((end - st.nextSeq) | 0) > 0) {
      st.nextSeq = end;
      st.lastTime = p.timeMs;
    }
  }
  return { total, byDirection };
}
