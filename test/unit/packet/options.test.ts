import { describe, expect, it } from 'vitest';
import {
  TCPOPT_MSS,
  decodeTcpOptions,
  encodeTcpOptions,
  scanTcpOptions,
  tcpOptionLength,
  type TcpOption,
} from '../../../src/packet/index.js';

const bytes = (...a: number[]) => Uint8Array.from(a);

describe('TCP options', () => {
  it('decodes every known kind and keeps unknown ones byte for byte', () => {
    const raw = bytes(
      2,
      4,
      0x05,
      0xb4, // MSS 1460
      1, // NOP
      3,
      3,
      7, // wscale 7
      4,
      2, // SACK permitted
      8,
      10,
      0,
      0,
      0,
      1,
      0xff,
      0xff,
      0xff,
      0xff, // timestamps 1 / 0xffffffff
      5,
      18,
      0xff,
      0xff,
      0xff,
      0xf0,
      0,
      0,
      0,
      0x10,
      0,
      0,
      1,
      0,
      0,
      0,
      2,
      0, // 2 SACK blocks (one wraps)
      30,
      6,
      0xde,
      0xad,
      0xbe,
      0xef, // unknown kind 30 (MPTCP-like)
      0,
      0x55, // EOL + non-zero padding
    );
    const opts = decodeTcpOptions(raw, 0, raw.length);
    expect(opts.map((o) => o.name)).toEqual([
      'mss',
      'nop',
      'wscale',
      'sack-permitted',
      'timestamps',
      'sack',
      'unknown',
      'eol',
    ]);
    expect(opts[0]).toMatchObject({ mss: 1460, offset: 0 });
    expect(opts[2]).toMatchObject({ shift: 7, offset: 5 });
    expect(opts[4]).toMatchObject({ tsval: 1, tsecr: 0xffffffff });
    expect(opts[5]).toMatchObject({
      blocks: [
        [0xfffffff0, 0x10],
        [0x100, 0x200],
      ],
    });
    expect(opts[6]).toMatchObject({ kind: 30, data: bytes(0xde, 0xad, 0xbe, 0xef) });
    expect(opts[7]).toMatchObject({ padding: bytes(0x55) });
    const out = new Uint8Array(raw.length);
    expect(encodeTcpOptions(opts, out, 0)).toBe(raw.length);
    expect(out).toEqual(raw);
    expect(opts.reduce((n, o) => n + tcpOptionLength(o), 0)).toBe(raw.length);
  });

  it('scan lists non-NOP options and stops at EOL', () => {
    const raw = bytes(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2, 0, 3, 3, 7);
    const out = new Int32Array(40);
    expect(scanTcpOptions(raw, 0, raw.length, out)).toBe(1);
    expect(out[0]).toBe(2);
  });

  const malformed: Array<[string, Uint8Array]> = [
    ['length 0', bytes(30, 0, 0, 0)],
    ['length 1', bytes(30, 1, 0, 0)],
    ['runs past the end', bytes(1, 30, 8, 0)],
    ['kind without length byte', bytes(1, 1, 1, 2)],
    ['MSS of length 3', bytes(2, 3, 5, 1)],
    ['wscale of length 4', bytes(3, 4, 7, 0)],
    ['SACK with a partial block', bytes(5, 6, 0, 0, 0, 1, 0, 0)],
    ['SACK without blocks', bytes(5, 2, 1, 1)],
    ['timestamps of length 8', bytes(8, 8, 0, 0, 0, 0, 0, 0)],
  ];
  for (const [what, raw] of malformed) {
    it(`flags a malformed list (${what}) without throwing, and keeps its bytes`, () => {
      expect(scanTcpOptions(raw, 0, raw.length, new Int32Array(40))).toBe(-1);
      const opts = decodeTcpOptions(raw, 0, raw.length);
      expect(opts.at(-1)!.name).toBe('malformed');
      const out = new Uint8Array(raw.length);
      encodeTcpOptions(opts, out, 0);
      expect(out).toEqual(raw);
    });
  }

  it('honours the scan window (start/end) inside a larger buffer', () => {
    const raw = bytes(0xee, 2, 4, 0x05, 0xb4, 0xee);
    const out = new Int32Array(40);
    expect(scanTcpOptions(raw, 1, 5, out)).toBe(1);
    expect(out[0]).toBe(1);
    const opts: TcpOption[] = decodeTcpOptions(raw, 1, 5);
    expect(opts).toEqual([{ kind: TCPOPT_MSS, name: 'mss', offset: 0, mss: 1460 }]);
  });
});
