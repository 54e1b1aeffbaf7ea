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
  push(buildTcpPacket({ src: C, dst: S, srcPort: cp, dstPort: 80, seq: ciss, flags: TCP_SYN, window: 64240 }));
  push(
    buildTcpPacket({
      src: S,
      dst: C,
      srcPort: 80,
      dstPort: cp,
      seq: siss,
      ack: ciss + 1,
      flags: TCP_SYN | TCP_ACK,
      window: 65160,
    }),
  );
  push(
    buildTcpPacket({
      src: C,
      dst: S,
      srcPort: cp,
      dstPort: 80,
      seq: ciss + 1,
      ack: siss + 1,
      flags: TCP_ACK,
      window: 64240,
    }),
  );
  push(
    buildTcpPacket({
      src: C,
      dst: S,
      srcPort: cp,
      dstPort: 80,
      seq: ciss + 1,
      ack: siss + 1,
      flags: TCP_ACK | TCP_PSH,
      payload: 100,
      window: 64240,
    }),
  );
  const acks: Uint8Array[] = [];
  for (let i = 0; i < 100; i++) {
    push(
      buildTcpPacket({
        src: S,
        dst: C,
        srcPort: 80,
        dstPort: cp,
        seq: siss + 1 + i * 1448,
        ack: ciss + 101,
        flags: TCP_ACK,
        payload: 1448,
        window: 65160,
      }),
    );
    const a = buildTcpPacket({
      src: C,
      dst: S,
      srcPort: cp,
      dstPort: 80,
      seq: ciss + 101,
      ack: siss + 1 + (i + 1) * 1448,
      flags: TCP_ACK,
      window: 64240,
    });
    acks.push(a);
    push(a);
    // three late ACKs, each well after the server sent > 66,000 bytes past it
    if (i === 70 || i === 80 || i === 90) push(acks[i - 68]!);
  }
  const end = siss + 1 + 100 * 1448;
  push(
    buildTcpPacket({
      src: C,
      dst: S,
      srcPort: cp,
      dstPort: 80,
      seq: ciss + 101,
      ack: end,
      flags: TCP_ACK | TCP_FIN,
      window: 64240,
    }),
  );
  push(
    buildTcpPacket({
      src: S,
      dst: C,
      srcPort: 80,
      dstPort: cp,
      seq: end,
      ack: ciss + 102,
      flags: TCP_ACK | TCP_FIN,
      window: 65160,
    }),
  );
  push(
    buildTcpPacket({
      src: C,
      dst: S,
      srcPort: cp,
      dstPort: 80,
      seq: ciss + 102,
      ack: end + 1,
      flags: TCP_ACK,
      window: 64240,
    }),
  );
  return writePcap(out, LINKTYPE_RAW, 128);
}
