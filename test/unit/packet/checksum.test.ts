import { describe, expect, it } from 'vitest';
import {
  csumAdjust,
  csumUpdate16,
  csumUpdate32,
  ipv4HeaderChecksum,
  onesSum,
  readU16,
  readU32,
  tcpChecksum,
  writeU16,
  writeU32,
} from '../../../src/packet/index.js';
import { sampleAck } from './sample.js';

// Deterministic pseudo-random bytes (xorshift32), so failures reproduce.
function rng(seed: number): () => number {
  let x = seed >>> 0 || 1;
  return () => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x;
  };
}

describe('Internet checksum', () => {
  it('matches the RFC 1071 worked example', () => {
    // RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to ddf2.
    const b = Uint8Array.from([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
    expect(onesSum(b, 0, 8)).toBe(0xddf2);
  });

  it('pads an odd final byte with zero and honours the offset', () => {
    const b = Uint8Array.from([0xff, 0x12, 0x34, 0x56]);
    expect(onesSum(b, 1, 3)).toBe(0x1234 + 0x5600);
    expect(onesSum(b, 1, 1)).toBe(0x1200);
  });

  it('computes a known IPv4 header checksum', () => {
    // Classic example header (Wikipedia "IPv4 header checksum"): checksum b861.
    const h = Uint8Array.from([
      0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11, 0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00,
      0xc7,
    ]);
    expect(ipv4HeaderChecksum(h, 0)).toBe(0xb861);
    h[10] = 0xb8;
    h[11] = 0x61;
    expect(ipv4HeaderChecksum(h, 0)).toBe(0xb861); // its own field is ignored
    expect(onesSum(h, 0, 20)).toBe(0xffff); // and a valid header sums to all ones
  });

  it('a built TCP packet verifies: whole segment + pseudo-header sums to 0xffff', () => {
    const p = sampleAck({ payload: 101 });
    const tcpLen = p.length - 20;
    let s = onesSum(p, 12, 8);
    s = onesSum(p, 20, tcpLen, s + 6 + tcpLen);
    expect(s).toBe(0xffff);
    expect(readU16(p, 36)).toBe(tcpChecksum(p, 0));
  });

  it('incremental 16- and 32-bit updates equal a full recomputation (10k random cases)', () => {
    const r = rng(12345);
    for (let i = 0; i < 10_000; i++) {
      const len = 40 + (r() % 1400);
      const p = sampleAck({
        srcPort: r() & 0xffff,
        seq: r(),
        ack: r(),
        payload: Uint8Array.from({ length: len - 40 }, () => r() & 0xff),
      });
      let check = readU16(p, 36);
      // 32-bit: the sequence number (offset 24 in the packet, 4 in the TCP header).
      const oldSeq = readU32(p, 24);
      const newSeq = i % 97 === 0 ? 0 : i % 89 === 0 ? 0xffffffff : r();
      writeU32(p, 24, newSeq);
      check = csumUpdate32(check, oldSeq, newSeq);
      expect(check).toBe(tcpChecksum(p, 0));
      // 16-bit: the window.
      const oldWin = readU16(p, 34);
      const newWin = r() & 0xffff;
      writeU16(p, 34, newWin);
      check = csumUpdate16(check, oldWin, newWin);
      expect(check).toBe(tcpChecksum(p, 0));
      // A region: sum before and after.
      const at = 40 + (r() % (p.length - 44));
      const aligned = at & ~1;
      const before = onesSum(p, aligned, 4);
      p[at] = r() & 0xff;
      p[at + 1] = r() & 0xff;
      check = csumAdjust(check, before, onesSum(p, aligned, 4));
      expect(check).toBe(tcpChecksum(p, 0));
    }
  });

  it('handles the all-ones / zero corner cases', () => {
    // A change that makes the sum wrap exactly: from 0x0000 to 0xffff and back.
    expect(csumUpdate16(0x1234, 0x0000, 0xffff)).toBe(0x1234);
    expect(csumUpdate16(0x1234, 0xffff, 0x0000)).toBe(0x1234);
    expect(csumUpdate32(0xabcd, 0x12345678, 0x12345678)).toBe(0xabcd);
  });
});
