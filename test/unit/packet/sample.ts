// One client→server ACK segment in the lab's addresses, for the packet tests that need "some valid
// TCP packet" (checksums, pcap round trips); a test overrides only the fields it is about.
import { TCP_ACK, type TcpPacketSpec, buildTcpPacket } from '../../../src/packet/index.js';

export function sampleAck(over: Partial<TcpPacketSpec> = {}): Uint8Array {
  return buildTcpPacket({
    src: '198.18.1.2',
    dst: '198.18.2.2',
    srcPort: 40000,
    dstPort: 80,
    seq: 1,
    ack: 2,
    flags: TCP_ACK,
    payload: 0,
    ...over,
  });
}
