import { describe, expect, it } from 'vitest';
import {
  PacketError,
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
  buildTcpPacket,
  decode,
  encode,
  fixChecksums,
  ipChecksum,
  ipDst,
  ipHeaderLength,
  ipIsFragment,
  ipProtocol,
  ipSrc,
  ipToString,
  ipTotalLength,
  ipTtl,
  ipv4HeaderChecksum,
  parseIp,
  seqAfter,
  seqBefore,
  setTcpSeq,
  tcpAck,
  tcpChecksum,
  tcpChecksumField,
  tcpDstPort,
  tcpFlags,
  tcpHeaderLength,
  tcpSeq,
  tcpSrcPort,
  tcpWindow,
} from '../../../src/packet/index.js';

const syn = () =>
  buildTcpPacket({
    src: '198.18.1.2',
    dst: '198.18.2.2',
    srcPort: 41000,
    dstPort: 80,
    seq: 0xfffffffe,
    flags: TCP_SYN,
    window: 64240,
    options: [
      { kind: 2, name: 'mss', offset: 0, mss: 1460 },
      { kind: 4, name: 'sack-permitted', offset: 0 },
      { kind: 8, name: 'timestamps', offset: 0, tsval: 123, tsecr: 0 },
      { kind: 1, name: 'nop', offset: 0 },
      { kind: 3, name: 'wscale', offset: 0, shift: 7 },
    ],
  });

/** The server's data to the client, seq 5 ack 9. */
const serverData = (flags: number, payload: number) =>
  buildTcpPacket({ src: '198.18.2.2', dst: '198.18.1.2', srcPort: 80, dstPort: 41000, seq: 5, ack: 9, flags, payload });

describe('IPv4/TCP accessors and decode', () => {
  it('reads every field of a crafted SYN at an odd offset in a larger buffer', () => {
    const p = syn();
    const big = new Uint8Array(p.length + 7);
    big.set(p, 3);
    const o = 3;
    expect(ipHeaderLength(big, o)).toBe(20);
    expect(ipTotalLength(big, o)).toBe(60);
    expect(ipProtocol(big, o)).toBe(6);
    expect(ipTtl(big, o)).toBe(64);
    expect(ipToString(ipSrc(big, o))).toBe('198.18.1.2');
    expect(ipToString(ipDst(big, o))).toBe('198.18.2.2');
    expect(ipChecksum(big, o)).toBe(ipv4HeaderChecksum(big, o));
    expect(ipIsFragment(big, o)).toBe(false);
    const t = o + 20;
    expect(tcpSrcPort(big, t)).toBe(41000);
    expect(tcpDstPort(big, t)).toBe(80);
    expect(tcpSeq(big, t)).toBe(0xfffffffe);
    expect(tcpAck(big, t)).toBe(0);
    expect(tcpHeaderLength(big, t)).toBe(40);
    expect(tcpFlags(big, t)).toBe(TCP_SYN);
    expect(tcpWindow(big, t)).toBe(64240);
    expect(tcpChecksumField(big, t)).toBe(tcpChecksum(big, o));
    const d = decode(big, o, p.length);
    expect(d.ip).toMatchObject({ src: '198.18.1.2', dst: '198.18.2.2', totalLength: 60, flags: 2, ttl: 64 });
    expect(d.tcp!.options.map((x) => x.name)).toEqual(['mss', 'sack-permitted', 'timestamps', 'nop', 'wscale']);
    expect(d.tcp!.optionsMalformed).toBe(false);
    expect(d.payloadLength).toBe(0);
  });

  it('round-trips byte for byte, including data, IP options and an Ethernet trailer', () => {
    const p = serverData(TCP_ACK | TCP_PSH, 33);
    expect(encode(decode(p))).toEqual(p);
    // Insert a 4-byte IP option (NOP NOP NOP EOL) and 6 bytes of link padding.
    const withOpt = new Uint8Array(p.length + 4 + 6);
    withOpt.set(p.subarray(0, 20), 0);
    withOpt.set([1, 1, 1, 0], 20);
    withOpt.set(p.subarray(20), 24);
    withOpt[0] = 0x46;
    withOpt[2] = 0;
    withOpt[3] = p.length + 4;
    fixChecksums(withOpt.subarray(0, p.length + 4));
    withOpt.set([9, 9, 9, 9, 9, 9], p.length + 4);
    const d = decode(withOpt);
    expect(d.ip.options).toEqual(Uint8Array.from([1, 1, 1, 0]));
    expect(d.trailer.length).toBe(6);
    expect(d.payload.length).toBe(33);
    expect(encode(d)).toEqual(withOpt);
  });

  it('decodes a truncated capture (snap length) and round-trips what was captured', () => {
    const p = serverData(TCP_ACK, 1000);
    const cut = p.slice(0, 128);
    const d = decode(cut);
    expect(d.truncated).toBe(true);
    expect(d.payloadLength).toBe(1000);
    expect(d.payload.length).toBe(128 - 40);
    expect(encode(d)).toEqual(cut);
  });

  it('leaves non-TCP and non-first fragments without a TCP header', () => {
    const p = syn();
    p[9] = 17;
    fixChecksums(p);
    expect(decode(p).tcp).toBeUndefined();
    const f = syn();
    f[6] = 0x00;
    f[7] = 0x10;
    fixChecksums(f);
    expect(ipIsFragment(f, 0)).toBe(true);
    expect(decode(f).tcp).toBeUndefined();
  });

  it('throws PacketError on headers it cannot decode', () => {
    expect(() => decode(new Uint8Array(10))).toThrow(PacketError);
    const v6 = syn();
    v6[0] = 0x60;
    expect(() => decode(v6)).toThrow(/not IPv4/);
    const badIhl = syn();
    badIhl[0] = 0x44;
    expect(() => decode(badIhl)).toThrow(/header length/);
    const badDoff = syn();
    badDoff[32] = 0xf0;
    expect(() => decode(badDoff)).toThrow(/TCP header length/);
    expect(() => parseIp('1.2.3.256')).toThrow(PacketError);
  });

  it('keeps the checksums valid after fixChecksums and reports field edits', () => {
    const p = syn();
    setTcpSeq(p, 20, 7);
    expect(tcpChecksumField(p, 20)).not.toBe(tcpChecksum(p, 0));
    fixChecksums(p);
    expect(tcpChecksumField(p, 20)).toBe(tcpChecksum(p, 0));
    expect(decode(p).tcp!.seq).toBe(7);
  });

  it('compares sequence numbers across the 32-bit wrap like the kernel', () => {
    expect(seqBefore(0xfffffff0, 0x10)).toBe(true);
    expect(seqAfter(0x10, 0xfffffff0)).toBe(true);
    expect(seqAfter(5, 5)).toBe(false);
    expect(seqBefore(5, 5)).toBe(false);
  });
});
