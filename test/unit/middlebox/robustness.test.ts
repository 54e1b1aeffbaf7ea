import { describe, expect, it } from 'vitest';
import { buildTcpPacket, fixChecksums } from '../../../src/packet/index.js';
import { DROP } from '../../../src/middlebox/engine.js';
import {
  ACK,
  CLIENT,
  CPORT,
  O,
  SERVER,
  SPORT,
  SYN,
  asa,
  c2s,
  engine,
  expectValidChecksum,
  handshake,
  path,
  profile,
  run,
  s2c,
  synOpts,
} from './helpers.js';

const full = () =>
  asa({
    sackTranslation: true,
    opts: { sackPermitted: { strip: 'both' }, windowScale: { strip: 'none', setSyn: 3 }, timestamps: { strip: 'all' } },
  });

describe('pass-through (transparent profile)', () => {
  it('changes no byte and reports modified=false for every packet', () => {
    const e = engine(profile());
    const pkts = [
      c2s({ seq: 1, flags: SYN, options: synOpts() }),
      s2c({ seq: 2, ack: 2, flags: SYN | ACK, options: synOpts() }),
      c2s({ seq: 2, ack: 3, flags: ACK, payload: 100, options: [O.nop(), O.nop(), O.ts()] }),
      c2s({ seq: 102, ack: 3, flags: ACK, options: [O.nop(), O.nop(), O.sack([10, 20])] }),
    ];
    for (const p of pkts) {
      const before = p.slice();
      expect(run(e, p).v).toBe(0);
      expect(e.modified).toBe(false);
      expect(p).toEqual(before);
    }
    expect(e.counters()).toMatchObject({ packetsSeen: 4, packetsRewritten: 0, flows: 1, held: 0 });
  });

  it('processes a packet inside a larger buffer without touching bytes around it', () => {
    const e = engine(asa({ fixedOffsets: { client: 5, server: 6 } }));
    const p = c2s({ seq: 1, flags: SYN, options: synOpts() });
    const big = new Uint8Array(p.length + 20).fill(0xaa);
    big.set(p, 7);
    e.process(big, 7, p.length, 0);
    expect(big.subarray(0, 7).every((b) => b === 0xaa)).toBe(true);
    expect(big.subarray(7 + p.length).every((b) => b === 0xaa)).toBe(true);
    expect(big[7 + 27]).toBe(6); // seq 1 + 5, low byte
  });
});

describe('malformed and unusual packets', () => {
  /** The client's ACK of the handshake with these raw TCP options. */
  const withOptions =
    (...bytes: number[]) =>
    () =>
      buildTcpPacket({
        src: CLIENT,
        dst: SERVER,
        srcPort: CPORT,
        dstPort: SPORT,
        seq: 2,
        ack: 3,
        flags: ACK,
        rawOptions: Uint8Array.from(bytes),
      });
  /** The client's ACK of the handshake with these bytes of its IP/TCP header overwritten. */
  const poked = (bytes: Record<number, number>) => () => {
    const p = c2s({ seq: 2, ack: 3, flags: ACK });
    for (const [at, value] of Object.entries(bytes)) p[Number(at)] = value;
    return p;
  };
  const bad: Array<[string, () => Uint8Array]> = [
    ['an option of length 0', withOptions(5, 0, 0, 0)],
    ['a SACK option running past the header', withOptions(1, 1, 5, 18, 0, 0, 0, 1, 0, 0, 0, 2)],
    ['a SACK option with a partial block', withOptions(1, 1, 5, 6, 0, 0, 0, 1)],
    ['a TCP data offset beyond the packet', poked({ 32: 0xf0 })],
    ['a TCP data offset below 5', poked({ 32: 0x30 })],
    ['an IP header length below 20', poked({ 0: 0x44 })],
    ['an IP total length beyond the buffer', poked({ 3: 200 })],
    ['an IP total length too short for TCP', poked({ 2: 0, 3: 30 })],
    ['IPv6', poked({ 0: 0x60 })],
  ];
  for (const [what, mk] of bad) {
    it(`passes ${what} through unmodified and counts it`, () => {
      const e = engine(full());
      handshake(e, 1, 2);
      const p = mk();
      const before = p.slice();
      expect(e.process(p, 0, p.length, 0)).toBe(0);
      expect(e.modified).toBe(false);
      expect(p).toEqual(before);
      expect(e.counters().malformed).toBe(1);
    });
  }

  it('passes non-TCP, fragments and packets of unknown flows through, counted apart', () => {
    const e = engine(full());
    const udp = c2s({ seq: 1, flags: ACK });
    udp[9] = 17;
    fixChecksums(udp);
    const frag = c2s({ seq: 1, flags: ACK, payload: 8 });
    frag[6] = 0x20; // MF
    const mid = c2s({ seq: 1, ack: 1, flags: ACK, payload: 10 });
    for (const p of [udp, frag, mid]) {
      const b = p.slice();
      e.process(p, 0, p.length, 0);
      expect(p).toEqual(b);
    }
    expect(e.counters()).toMatchObject({ nonTcp: 1, fragments: 1, untracked: 1, malformed: 0 });
  });

  it('survives random garbage: never throws, never changes a length, valid packets stay checksum-valid', () => {
    let x = 99;
    const r = () => {
      x ^= x << 13;
      x >>>= 0;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      return x;
    };
    const e = engine(full(), path({ loss: { kind: 'rate', rate: 0.1, direction: 'both' } }));
    let checked = 0;
    for (let i = 0; i < 20000; i++) {
      const base =
        i % 2
          ? c2s({
              cport: 1000 + (r() % 8),
              seq: r(),
              ack: r(),
              flags: r() & 0x3f,
              options: synOpts(),
              payload: r() % 50,
            })
          : s2c({
              cport: 1000 + (r() % 8),
              seq: r(),
              ack: r(),
              flags: r() & 0x3f,
              options: [O.nop(), O.nop(), O.sack([r(), r()])],
              payload: r() % 50,
            });
      // Corrupt a few bytes in the TCP header/options half of the time.
      const corrupt = r() % 2 === 1;
      if (corrupt) for (let k = 0; k < 3; k++) base[20 + (r() % Math.min(40, base.length - 20))] = r() & 0xff;
      const len = r() % 4 === 0 ? r() % base.length : base.length;
      const n = base.length;
      let v = 0;
      expect(() => {
        v = e.process(base, 0, len, i);
      }).not.toThrow();
      expect(base.length).toBe(n);
      if (!corrupt && len === n && v !== DROP) {
        expectValidChecksum(base);
        checked++;
      }
    }
    const c = e.counters();
    expect(c.packetsSeen).toBe(20000);
    expect(c.malformed).toBeGreaterThan(0);
    expect(c.packetsRewritten).toBeGreaterThan(1000);
    expect(checked).toBeGreaterThan(5000);
  });
});
