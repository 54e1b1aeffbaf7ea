import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import {
  LINKTYPE_ETHERNET,
  LINKTYPE_LINUX_SLL,
  LINKTYPE_LINUX_SLL2,
  LINKTYPE_NFLOG,
  LINKTYPE_RAW,
  PacketError,
  decode,
  networkLayer,
  readPcap,
  writePcap,
} from '../../../src/packet/index.js';
import { sampleAck } from './sample.js';

const fixture = (name: string) =>
  new Uint8Array(readFileSync(fileURLToPath(new URL(`../../fixtures/${name}`, import.meta.url))));
const pkt = sampleAck({ payload: 5 });

/** Re-encode a little-endian pcap as big-endian, optionally with nanosecond stamps. */
function toBigEndian(le: Uint8Array, ns: boolean): Uint8Array {
  const out = le.slice();
  const src = new DataView(le.buffer, le.byteOffset, le.byteLength);
  const dst = new DataView(out.buffer);
  dst.setUint32(0, ns ? 0xa1b23c4d : 0xa1b2c3d4, false);
  dst.setUint16(4, src.getUint16(4, true), false);
  dst.setUint16(6, src.getUint16(6, true), false);
  for (const o of [8, 12, 16, 20]) dst.setUint32(o, src.getUint32(o, true), false);
  let o = 24;
  while (o < le.length) {
    const cap = src.getUint32(o + 8, true);
    for (const f of [0, 4, 8, 12]) dst.setUint32(o + f, src.getUint32(o + f, true) * (f === 4 && ns ? 1000 : 1), false);
    o += 16 + cap;
  }
  return out;
}

describe('pcap reader', () => {
  it('reads what writePcap writes, in both byte orders and with ns stamps', () => {
    const le = writePcap(
      [
        { timeMs: 1_700_000_000_123.456, data: pkt },
        { timeMs: 1_700_000_001_000, data: pkt.subarray(0, 40), originalLength: pkt.length },
      ],
      LINKTYPE_RAW,
    );
    for (const [bytes, be, ns] of [
      [le, false, false],
      [toBigEndian(le, false), true, false],
      [toBigEndian(le, true), true, true],
    ] as const) {
      const f = readPcap(bytes);
      expect(f).toMatchObject({
        linktype: LINKTYPE_RAW,
        bigEndian: be,
        nanosecond: ns,
        versionMajor: 2,
        versionMinor: 4,
        snaplen: 262144,
      });
      expect(f.packets).toHaveLength(2);
      expect(f.packets[0]!.timeMs).toBeCloseTo(1_700_000_000_123.456, 3);
      expect(f.packets[0]!.data).toEqual(pkt);
      expect(f.packets[1]).toMatchObject({ capturedLength: 40, originalLength: pkt.length });
    }
  });

  it('rejects bad files with a clear error', () => {
    expect(() => readPcap(new Uint8Array(10))).toThrow(PacketError);
    expect(() => readPcap(Uint8Array.from([0x0a, 0x0d, 0x0d, 0x0a, ...new Array(24).fill(0)]))).toThrow(/pcapng/);
    const ok = writePcap([{ timeMs: 0, data: pkt }], LINKTYPE_RAW);
    expect(() => readPcap(ok.subarray(0, ok.length - 3))).toThrow(/cut/);
  });

  it('finds the IPv4 header behind each link type', () => {
    const eth = new Uint8Array(14 + pkt.length);
    eth[12] = 0x08;
    eth.set(pkt, 14);
    const vlan = new Uint8Array(18 + pkt.length);
    vlan[12] = 0x81;
    vlan[16] = 0x08;
    vlan.set(pkt, 18);
    const arp = new Uint8Array(42);
    arp[12] = 0x08;
    arp[13] = 0x06;
    const sll = new Uint8Array(16 + pkt.length);
    sll[14] = 0x08;
    sll.set(pkt, 16);
    const sll2 = new Uint8Array(20 + pkt.length);
    sll2[0] = 0x08;
    sll2.set(pkt, 20);
    expect(networkLayer(LINKTYPE_ETHERNET, eth)).toEqual({ offset: 14, ipVersion: 4 });
    expect(networkLayer(LINKTYPE_ETHERNET, vlan)).toEqual({ offset: 18, ipVersion: 4 });
    expect(networkLayer(LINKTYPE_ETHERNET, arp)).toBeNull();
    expect(networkLayer(LINKTYPE_RAW, pkt)).toEqual({ offset: 0, ipVersion: 4 });
    expect(networkLayer(LINKTYPE_LINUX_SLL, sll)).toEqual({ offset: 16, ipVersion: 4 });
    expect(networkLayer(LINKTYPE_LINUX_SLL2, sll2)).toEqual({ offset: 20, ipVersion: 4 });
    // NFLOG: header, a prefix TLV (padded), a payload TLV; little-endian TLV headers.
    const prefix = new TextEncoder().encode('why\0');
    const nf = new Uint8Array(4 + 8 + 4 + pkt.length);
    nf[0] = 2;
    nf[4] = 8;
    nf[6] = 10;
    nf.set(prefix, 8);
    nf[12] = (4 + pkt.length) & 0xff;
    nf[14] = 9;
    nf.set(pkt, 16);
    expect(networkLayer(LINKTYPE_NFLOG, nf)).toEqual({ offset: 16, ipVersion: 4, prefix: 'why' });
  });

  it('reads the prototype captures (Ethernet and NFLOG)', () => {
    const eth = readPcap(fixture('deadlock-upper-half-offset.pcap'));
    expect(eth).toMatchObject({ linktype: LINKTYPE_ETHERNET, snaplen: 128, bigEndian: false });
    expect(eth.packets).toHaveLength(830);
    const ipv4 = eth.packets.filter((p) => networkLayer(eth.linktype, p.data)?.ipVersion === 4);
    expect(ipv4.length).toBe(828); // two IPv6 router solicitations
    const nf = readPcap(fixture('invalid-reasons-nflog.pcap'));
    expect(nf.linktype).toBe(LINKTYPE_NFLOG);
    expect(nf.packets).toHaveLength(69);
    const layers = nf.packets.map((p) => networkLayer(nf.linktype, p.data, nf.bigEndian)!);
    expect(layers.every((l) => l.ipVersion === 4)).toBe(true);
    const reasons = new Set(layers.map((l) => l.prefix));
    expect([...reasons].some((r) => /ACK is over upper bound \d+ \(ACKed data not seen yet\)/.test(r!))).toBe(true);
    const first = decode(nf.packets[0]!.data, layers[0]!.offset);
    expect(first.tcp!.options.some((o) => o.name === 'sack')).toBe(true);
  });
});
