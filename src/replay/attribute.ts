// Ties each NFLOG record of a replay back to the packet that was played. A record carries the
// packet as the router saw it: mapped addresses, ports, sequence and acknowledgement numbers, and
// the IP ID, which prepare.ts set to the packet's replay index mod 65536. Equal keys (a packet
// repeated exactly, 65536 packets apart in the same flow) are resolved in order: NFLOG reports
// packets in the order the router handled them, so the n-th record of a key is its n-th packet.
import { normaliseReason } from '../evidence/analyze.js';
import type { TcpPacket } from '../evidence/packets.js';
import { packetKey, type ReplayPacket } from './prepare.js';

export interface Attribution {
  /** Replay index → conntrack's reason text (raw NFLOG prefix), for packets conntrack logged. */
  reasons: Map<number, string>;
  /** Replay indexes whose ctstate was INVALID (the INVALID rule's NFLOG). */
  invalid: Set<number>;
  /** Records that matched no replayed packet (should be none). */
  unmatchedReasons: number;
  unmatchedInvalid: number;
}

function queues(packets: readonly ReplayPacket[]): Map<string, number[]> {
  const q = new Map<string, number[]>();
  for (const p of packets) {
    const l = q.get(p.key);
    if (l) l.push(p.index);
    else q.set(p.key, [p.index]);
  }
  return q;
}

function recordKey(r: TcpPacket): string {
  return packetKey(`${r.src}:${r.sport}`, `${r.dst}:${r.dport}`, r.seq, r.ack, r.ipId);
}

/** Match the reasons (NFLOG group 0) and INVALID packets (group 1) to the replayed packets. */
export function attribute(
  packets: readonly ReplayPacket[],
  reasonRecords: readonly TcpPacket[],
  invalidRecords: readonly TcpPacket[],
): Attribution {
  const reasons = new Map<number, string>();
  const invalid = new Set<number>();
  let unmatchedReasons = 0;
  let unmatchedInvalid = 0;
  const qr = queues(packets);
  for (const r of reasonRecords) {
    const l = qr.get(recordKey(r));
    const i = l?.shift();
    if (i === undefined) unmatchedReasons++;
    else reasons.set(i, r.prefix ?? '');
  }
  const qi = queues(packets);
  for (const r of invalidRecords) {
    const l = qi.get(recordKey(r));
    const i = l?.shift();
    if (i === undefined) unmatchedInvalid++;
    else invalid.add(i);
  }
  return { reasons, invalid, unmatchedReasons, unmatchedInvalid };
}

export { normaliseReason };
