// `ctlab replay --anonymize IN OUT`: a copy of a capture safe to attach to a bug report that
// still replays to the same conntrack verdicts. Keeps only IPv4 TCP packets (as replay does),
// as raw IP (link type 101). Addresses are mapped one-to-one to 10.0.0.1, 10.0.0.2... and
// ports >= 1024 one-to-one to 20000, 20001... (both in order of first appearance; ports below
// 1024 name the service and stay). Payloads are dropped: each record holds the IP and TCP
// headers only, with the IP total length unchanged, so a replay pads it back and conntrack
// computes the same segment ends. Sequence and acknowledgement numbers, flags, windows, TCP
// options (window scale, SACK blocks, timestamps), IP IDs and timestamps are kept: conntrack's
// window checks depend on them. Checksums are those of the zero-padded packet.
import { readFile, writeFile } from 'node:fs/promises';
import { CtlabError } from '../errors.js';
import { PacketError, readU16, readU32, writeU16, writeU32 } from '../packet/bytes.js';
import { ipHeaderLength } from '../packet/ipv4.js';
import { fixChecksums } from '../packet/packet.js';
import { LINKTYPE_RAW, writePcap } from '../packet/pcap.js';
import { tcpHeaderLength } from '../packet/tcp.js';
import { readCapture, tcpPackets, type PrepareCounts } from './capture.js';

export interface Anonymized {
  pcap: Uint8Array;
  counts: PrepareCounts;
  addresses: number;
  ports: number;
  summary: string;
}

export function anonymize(bytes: Uint8Array): Anonymized {
  const { packets, counts } = tcpPackets(readCapture(bytes));
  if (packets.length === 0) throw new PacketError('no IPv4 TCP packet to anonymize');
  const addr = new Map<number, number>();
  const port = new Map<number, number>();
  const mapAddr = (a: number) => {
    let m = addr.get(a);
    if (m === undefined) {
      if (addr.size >= 0xfffffe) throw new PacketError('more than 16 million addresses');
      m = (0x0a000001 + addr.size) >>> 0;
      addr.set(a, m);
    }
    return m;
  };
  const mapPort = (p: number) => {
    if (p < 1024) return p;
    let m = port.get(p);
    if (m === undefined) {
      m = 20000 + port.size;
      if (m > 65535) m = 1024 + (port.size - (65536 - 20000));
      port.set(p, m);
    }
    return m;
  };
  const out = packets.map((p) => {
    const ip = p.ip.slice();
    const ihl = ipHeaderLength(ip, 0);
    writeU32(ip, 12, mapAddr(readU32(ip, 12)));
    writeU32(ip, 16, mapAddr(readU32(ip, 16)));
    writeU16(ip, ihl, mapPort(readU16(ip, ihl)));
    writeU16(ip, ihl + 2, mapPort(readU16(ip, ihl + 2)));
    const hdr = ihl + tcpHeaderLength(ip, ihl);
    ip.fill(0, hdr);
    fixChecksums(ip, 0);
    return { timeMs: p.timeMs, data: ip.subarray(0, hdr), originalLength: ip.length };
  });
  const summary =
    `anonymized ${out.length} TCP packets: ${addr.size} addresses → 10.0.0.1.., ${port.size} ports >= 1024 → 20000..; payloads dropped (IP total length kept)` +
    `${counts.ipv6Skipped + counts.nonTcpSkipped + counts.nonIpSkipped + counts.fragmentsSkipped + counts.malformedSkipped ? `; left out ${counts.ipv6Skipped} IPv6, ${counts.nonTcpSkipped} non-TCP, ${counts.nonIpSkipped} non-IP, ${counts.fragmentsSkipped} fragments, ${counts.malformedSkipped} malformed` : ''}`;
  return { pcap: writePcap(out, LINKTYPE_RAW, 65535), counts, addresses: addr.size, ports: port.size, summary };
}

export async function anonymizeFile(input: string, output: string): Promise<Anonymized> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(input));
  } catch (e) {
    throw new CtlabError(
      'SCENARIO',
      `${input}: cannot read the capture (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    );
  }
  let a: Anonymized;
  try {
    a = anonymize(bytes);
  } catch (e) {
    if (e instanceof PacketError) throw new CtlabError('SCENARIO', `${input}: ${e.message}`);
    throw e;
  }
  await writeFile(output, a.pcap);
  return a;
}
