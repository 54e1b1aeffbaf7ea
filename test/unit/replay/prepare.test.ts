// Preprocessing for `ctlab replay`, without a kernel: reading pcap and pcapng, the link types
// (Ethernet, raw IP, SLL, SLL2 → the same IPv4 packets), padding cut packets to their IP total
// length with correct checksums, what is skipped (IPv6, UDP, ARP, fragments), flows and their
// client side, the address map into 198.18.0.0/15, the IP ID index, the NFLOG attribution, and
// anonymization.
import { describe, expect, it } from 'vitest';
import { readU16, readU32, writeU16 } from '../../../src/packet/bytes.js';
import { ipv4HeaderChecksum, tcpChecksum } from '../../../src/packet/checksum.js';
import { buildTcpPacket, fixChecksums } from '../../../src/packet/packet.js';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_RAW,
  writePcap,
} from '../../../src/packet/pcap.js';
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_SYN } from '../../../src/packet/tcp.js';
import type { TcpPacket } from '../../../src/evidence/packets.js';
import { anonymize } from '../../../src/replay/anonymize.js';
import { attribute } from '../../../src/replay/attribute.js';
import { readCapture, tcpPackets } from '../../../src/replay/capture.js';
import { flowMatches, parseFlowFilter, prepare } from '../../../src/replay/prepare.js';

const C = '192.0.2.10';
const S = '203.0.113.5';

/** A small conversation: handshake, data both ways, FIN; `cut` trims every frame to that many IP bytes. */
function conversation(): Uint8Array[] {
  return [
    buildTcpPacket({ src: C, dst: S, srcPort: 40000, dstPort: 443, seq: 1000, flags: TCP_SYN, id: 7 }),
    buildTcpPacket({
      src: S,
      dst: C,
      srcPort: 443,
      dstPort: 40000,
      seq: 5000,
      ack: 1001,
      flags: TCP_SYN | TCP_ACK,
      id: 8,
    }),
    buildTcpPacket({ src: C, dst: S, srcPort: 40000, dstPort: 443, seq: 1001, ack: 5001, flags: TCP_ACK, id: 9 }),
    buildTcpPacket({
      src: C,
      dst: S,
      srcPort: 40000,
      dstPort: 443,
      seq: 1001,
      ack: 5001,
      flags: TCP_ACK | TCP_PSH,
      payload: 300,
      id: 10,
    }),
    buildTcpPacket({
      src: S,
      dst: C,
      srcPort: 443,
      dstPort: 40000,
      seq: 5001,
      ack: 1301,
      flags: TCP_ACK | TCP_PSH,
      payload: 1400,
      id: 11,
    }),
    buildTcpPacket({
      src: C,
      dst: S,
      srcPort: 40000,
      dstPort: 443,
      seq: 1301,
      ack: 6401,
      flags: TCP_ACK | TCP_FIN,
      id: 12,
    }),
  ];
}

const ethHeader = (type = 0x0800) => [2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2, type >> 8, type & 255];
const frame = (head: number[], ip: Uint8Array, cut = Infinity) => {
  const ipCut = ip.subarray(0, Math.min(ip.length, cut));
  return Uint8Array.from([...head, ...ipCut]);
};
const sll = (type = 0x0800) => [0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0, type >> 8, type & 255];
const sll2 = (type = 0x0800) => [type >> 8, type & 255, 0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0];

function pcapOf(linktype: number, head: number[] | null, cut = Infinity): Uint8Array {
  return writePcap(
    conversation().map((ip, i) => ({
      timeMs: 1000 + i,
      data: frame(head ?? [], ip, cut),
      originalLength: (head?.length ?? 0) + ip.length,
    })),
    linktype,
    128,
  );
}

/** A minimal pcapng: section header, one interface (nanosecond resolution), enhanced packet blocks. */
function pcapng(linktype: number, frames: Uint8Array[]): Uint8Array {
  const blocks: number[][] = [];
  const u32 = (v: number) => [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, (v >>> 24) & 255];
  const u16 = (v: number) => [v & 255, (v >>> 8) & 255];
  const block = (type: number, body: number[]) => {
    const pad = (4 - (body.length % 4)) % 4;
    const len = 12 + body.length + pad;
    blocks.push([...u32(type), ...u32(len), ...body, ...new Array(pad).fill(0), ...u32(len)]);
  };
  block(0x0a0d0d0a, [...u32(0x1a2b3c4d), ...u16(1), ...u16(0), ...u32(0xffffffff), ...u32(0xffffffff)]);
  block(1, [...u16(linktype), ...u16(0), ...u32(0), ...u16(9), ...u16(1), 9, 0, 0, 0, ...u16(0), ...u16(0)]);
  frames.forEach((f, i) => {
    const ns = BigInt(1_700_000_000 + i) * 1_000_000_000n;
    block(6, [
      ...u32(0),
      ...u32(Number(ns >> 32n)),
      ...u32(Number(ns & 0xffffffffn)),
      ...u32(f.length),
      ...u32(f.length),
      ...f,
    ]);
  });
  return Uint8Array.from(blocks.flat());
}

describe('reading captures', () => {
  const reference = tcpPackets(readCapture(pcapOf(LINKTYPE_ETHERNET, ethHeader()))).packets.map((p) => [...p.ip]);

  it.each([
    ['raw IP', LINKTYPE_RAW, null],
    ['Linux cooked SLL', LINKTYPE_LINUX_SLL, sll()],
    ['Linux cooked SLL2', LINKTYPE_LINUX_SLL2, sll2()],
  ])('%s gives the same IPv4 packets as Ethernet', (_n, lt, head) => {
    expect(reference).toHaveLength(6);
    expect(tcpPackets(readCapture(pcapOf(lt, head))).packets.map((p) => [...p.ip])).toEqual(reference);
  });

  it('reads pcapng (nanosecond timestamps) like pcap', () => {
    const cap = readCapture(
      pcapng(
        LINKTYPE_ETHERNET,
        conversation().map((ip) => frame(ethHeader(), ip)),
      ),
    );
    expect(cap.format).toBe('pcapng');
    expect(cap.frames.map((f) => f.timeMs)).toEqual([0, 1, 2, 3, 4, 5].map((i) => (1_700_000_000 + i) * 1000));
    expect(tcpPackets(cap).packets.map((p) => [...p.ip])).toEqual(reference);
  });

  it('pads packets the snap length cut to their IP total length, with correct checksums', () => {
    const { packets, counts } = tcpPackets(readCapture(pcapOf(LINKTYPE_ETHERNET, ethHeader(), 60)));
    expect(counts.padded).toBe(2); // the two data segments (300 and 1400 bytes of payload)
    expect(counts.paddedBytes).toBe(20 + 20 + 300 - 60 + 20 + 20 + 1400 - 60);
    expect(counts.checksumsFixed).toBe(2);
    expect(packets.map((p) => p.ip.length)).toEqual(conversation().map((ip) => ip.length));
    for (const p of packets) {
      expect(readU16(p.ip, 10)).toBe(ipv4HeaderChecksum(p.ip, 0));
      expect(readU16(p.ip, 36)).toBe(tcpChecksum(p.ip, 0));
      expect([...p.ip.subarray(60)].every((b) => b === 0)).toBe(true);
    }
  });

  it('recomputes a checksum left unfilled by offload, and counts it', () => {
    const ip = conversation()[2]!;
    writeU16(ip, 36, 0xdead);
    const { packets, counts } = tcpPackets(readCapture(writePcap([{ timeMs: 0, data: ip }], LINKTYPE_RAW)));
    expect(counts.checksumsFixed).toBe(1);
    expect(readU16(packets[0]!.ip, 36)).toBe(tcpChecksum(packets[0]!.ip, 0));
  });

  it('counts and skips IPv6, UDP, ARP and fragments', () => {
    const tcp = conversation()[0]!;
    const udp = tcp.slice();
    udp[9] = 17;
    fixChecksums(udp);
    const frag = conversation()[3]!.slice();
    writeU16(frag, 6, 0x2000); // MF
    fixChecksums(frag);
    const v6 = Uint8Array.from([0x60, 0, 0, 0, 0, 20, 6, 64, ...new Array(32).fill(1), ...new Array(20).fill(0)]);
    const frames = [
      frame(ethHeader(), tcp),
      frame(ethHeader(0x86dd), v6),
      frame(ethHeader(), udp),
      frame(ethHeader(0x0806), new Uint8Array(28)),
      frame(ethHeader(), frag),
    ];
    const { packets, counts } = tcpPackets(
      readCapture(
        writePcap(
          frames.map((data, i) => ({ timeMs: i, data })),
          LINKTYPE_ETHERNET,
        ),
      ),
    );
    expect(packets).toHaveLength(1);
    expect(counts).toMatchObject({
      frames: 5,
      tcp: 1,
      ipv6Skipped: 1,
      nonTcpSkipped: 1,
      nonIpSkipped: 1,
      fragmentsSkipped: 1,
    });
  });

  it('refuses what is not a whole capture, naming the problem', () => {
    const good = pcapOf(LINKTYPE_ETHERNET, ethHeader());
    expect(() => readCapture(new TextEncoder().encode('hello, this is not a capture at all'))).toThrow(
      /not a pcap file/,
    );
    expect(() => readCapture(good.subarray(0, good.length - 5))).toThrow(/record 5 data cut/);
    expect(() => readCapture(good.subarray(0, 10))).toThrow(/not a pcap file: 10 bytes/);
    const ng = pcapng(
      LINKTYPE_ETHERNET,
      conversation().map((ip) => frame(ethHeader(), ip)),
    );
    expect(() => readCapture(ng.subarray(0, ng.length - 8))).toThrow(/pcapng block at byte \d+ cut/);
    expect(() => tcpPackets(readCapture(writePcap([{ timeMs: 0, data: new Uint8Array(40) }], 147)))).toThrow(
      /link type 147 is not one replay reads/,
    );
  });
});

describe('prepare', () => {
  const packets = () => tcpPackets(readCapture(pcapOf(LINKTYPE_ETHERNET, ethHeader()))).packets;

  it('finds the client by its SYN, maps addresses into 198.18.0.0/15, numbers IP IDs by replay index', () => {
    const p = prepare(packets());
    expect(p.flows).toEqual([
      expect.objectContaining({
        id: 1,
        client: `${C}:40000`,
        server: `${S}:443`,
        sawSyn: true,
        clientBy: 'syn',
        packets: 6,
        mappedClient: '198.18.0.1:40000',
        mappedServer: '198.18.0.2:443',
      }),
    ]);
    expect(p.addressMap).toEqual({ [C]: '198.18.0.1', [S]: '198.18.0.2' });
    expect(p.packets.map((x) => x.dir)).toEqual(['c2s', 's2c', 'c2s', 'c2s', 's2c', 'c2s']);
    p.frames.forEach((f, i) => {
      const ip = f.subarray(14);
      expect(readU16(ip, 4)).toBe(i);
      expect(readU32(ip, 12) >>> 17).toBe((198 << 7) | (18 >> 1)); // in 198.18.0.0/15
      expect(readU16(ip, 10)).toBe(ipv4HeaderChecksum(ip, 0));
      expect(readU16(ip, 36)).toBe(tcpChecksum(ip, 0));
      // the client's frames go to the router's a side, the server's to its b side
      expect(f[5]).toBe(p.packets[i]!.dir === 'c2s' ? 0x01 : 0x01);
      expect(f[4]).toBe(p.packets[i]!.dir === 'c2s' ? 0x0a : 0x0b);
    });
    // sequence numbers and ports unchanged
    expect(p.packets.map((x) => x.seq)).toEqual([1000, 5000, 1001, 1001, 5001, 1301]);
  });

  it('a flow without its SYN is picked up: client = the higher port', () => {
    const p = prepare(packets().slice(2));
    expect(p.flows[0]).toMatchObject({ sawSyn: false, clientBy: 'port', client: `${C}:40000` });
    const q = prepare(packets().slice(1));
    expect(q.flows[0]).toMatchObject({ sawSyn: false, clientBy: 'syn-ack', client: `${C}:40000` });
  });

  it('--flow keeps whole flows by either end', () => {
    const other = tcpPackets(
      readCapture(
        writePcap(
          [
            {
              timeMs: 0,
              data: buildTcpPacket({ src: '192.0.2.99', dst: S, srcPort: 50000, dstPort: 80, seq: 1, flags: TCP_SYN }),
            },
          ],
          LINKTYPE_RAW,
        ),
      ),
    ).packets;
    const all = [...packets(), ...other];
    expect(prepare(all).flows).toHaveLength(2);
    const p = prepare(all, parseFlowFilter(':443'));
    expect(p.flows.map((f) => f.client)).toEqual([`${C}:40000`]);
    expect(p.filteredOutPackets).toBe(1);
    expect(flowMatches(parseFlowFilter(`${S}:80`), { client: '192.0.2.99:50000', server: `${S}:80` })).toBe(true);
    expect(flowMatches(parseFlowFilter('port 80'), { client: `${C}:40000`, server: `${S}:443` })).toBe(false);
    expect(() => parseFlowFilter('host x')).toThrow(/expected ip, ip:port/);
    expect(() => parseFlowFilter(':70000')).toThrow(/above 65535/);
  });
});

describe('attribution', () => {
  const rec = (src: string, dst: string, seq: number, ack: number, ipId: number, prefix?: string): TcpPacket => {
    const [sa, sp] = src.split(':');
    const [da, dp] = dst.split(':');
    return {
      timeMs: 0,
      src: sa!,
      dst: da!,
      sport: Number(sp),
      dport: Number(dp),
      seq,
      ack,
      flags: TCP_ACK,
      payloadLength: 0,
      ipLength: 52,
      ipId,
      sack: [],
      key: '',
      ...(prefix ? { prefix } : {}),
    };
  };

  it('ties each NFLOG record to its packet; a repeated key goes to the packets in order', () => {
    const input = tcpPackets(readCapture(pcapOf(LINKTYPE_ETHERNET, ethHeader()))).packets;
    // The same ACK 65536 packets apart would share its key: simulate with two identical packets.
    const p = prepare([...input, input[2]!]);
    p.packets[6]!.key = p.packets[2]!.key;
    const a = attribute(
      p.packets,
      [
        rec(
          '198.18.0.1:40000',
          '198.18.0.2:443',
          1001,
          5001,
          2,
          'nf_ct_proto_6: ACK is over upper bound 7 (ACKed data not seen yet)',
        ),
        rec('198.18.0.1:40000', '198.18.0.2:443', 1001, 5001, 2, 'second'),
        rec('198.18.0.1:40000', '198.18.0.2:443', 1, 1, 1, 'stray'),
      ],
      [rec('198.18.0.1:40000', '198.18.0.2:443', 1001, 5001, 2)],
    );
    expect([...a.reasons]).toEqual([
      [2, 'nf_ct_proto_6: ACK is over upper bound 7 (ACKed data not seen yet)'],
      [6, 'second'],
    ]);
    expect([...a.invalid]).toEqual([2]);
    expect(a.unmatchedReasons).toBe(1);
    expect(a.unmatchedInvalid).toBe(0);
  });
});

describe('anonymize', () => {
  it('maps addresses and ports consistently, drops payloads, keeps lengths and sequence numbers', () => {
    const orig = pcapOf(LINKTYPE_ETHERNET, ethHeader());
    const a = anonymize(orig);
    expect(a.addresses).toBe(2);
    expect(a.ports).toBe(1); // 443 stays
    const back = tcpPackets(readCapture(a.pcap));
    expect(back.counts.padded).toBe(2);
    const before = prepare(tcpPackets(readCapture(orig)).packets);
    const after = prepare(back.packets);
    expect(after.flows[0]).toMatchObject({ client: '10.0.0.1:20000', server: '10.0.0.2:443', sawSyn: true });
    expect(after.packets.map((p) => [p.dir, p.flags, p.seq, p.ack, p.len])).toEqual(
      before.packets.map((p) => [p.dir, p.flags, p.seq, p.ack, p.len]),
    );
    const raw = Buffer.from(a.pcap);
    expect(raw.includes(Buffer.from([192, 0, 2, 10]))).toBe(false);
    expect(raw.includes(Buffer.from([203, 0, 113, 5]))).toBe(false);
  });
});
