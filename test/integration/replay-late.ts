// A synthetic late-ACK capture for the replay tests (what scenarios/late-ack.yaml makes happen
// on the wire, in 210 packets): a handshake without window scaling (the client's window, 64,240,
// caps conntrack's MAXACKWINDOW at 66,000), 100 server data segments of 1,448 bytes each ACKed
// by the client, then, after all of them, a copy of the client's 3rd ACK: acknowledging more
// than 66,000 bytes below what the server has sent. Linux before 6.1 marks it INVALID ("ACK is
// under the lower bound"); 6.1 and later log "ignored ACK under lower bound (possible overly
// delayed)" and let it through.
import { buildTcpPacket } from '../../src/packet/packet.js';
import { LINKTYPE_RAW, writePcap } from '../../src/packet/pcap.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../src/packet/tcp.js';

export const LATE_ACKS = 3;

export function lateAckCapture(): Uint8Array {
  const C = '192.0.2.7';
  const S = '192.0.2.80';
  const cp = 41000;
  const ciss = 100_000;
  const siss = 900_000;
  const out: Array<{ timeMs: number; data: Uint8Array; originalLength: number }> = [];
  let t = 1_700_000_000_000;
  const push = (b: Uint8Array) => {
    t += 1;
    out.push({ timeMs: t, data: b.subarray(0, 128), originalLength: b.length });
  };
  type More = { ack?: number; payload?: number };
  const client = (seq: number, flags: number, o: More = {}) =>
    buildTcpPacket({ src: C, dst: S, srcPort: cp, dstPort: 80, seq, flags, window: 64240, ...o });
  const server = (seq: number, flags: number, o: More = {}) =>
    buildTcpPacket({ src: S, dst: C, srcPort: 80, dstPort: cp, seq, flags, window: 65160, ...o });
  push(client(ciss, TCP_SYN));
  push(server(siss, TCP_SYN | TCP_ACK, { ack: ciss + 1 }));
  push(client(ciss + 1, TCP_ACK, { ack: siss + 1 }));
  push(client(ciss + 1, TCP_ACK | TCP_PSH, { ack: siss + 1, payload: 100 }));
  const acks: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    push(server(siss + 1 + i * 1448, TCP_ACK, { ack: ciss + 101, payload: 1448 }));
    const a = client(ciss + 101, TCP_ACK, { ack: siss + 1 + (i + 1) * 1448 });
    acks.push(a);
    push(a);
    // three late ACKs, each well after the server sent > 66,000 bytes past it
    if (i === 70 || i === 80 || i === 90) push(acks[i - 68]!);
  }
  const end = siss + 1 + 100 * 1448;
  push(client(ciss + 101, TCP_ACK | TCP_FIN, { ack: end }));
  push(server(end, TCP_ACK | TCP_FIN, { ack: ciss + 102 }));
  push(client(ciss + 102, TCP_ACK, { ack: end + 1 }));
  return writePcap(out, LINKTYPE_RAW, 128);
}
