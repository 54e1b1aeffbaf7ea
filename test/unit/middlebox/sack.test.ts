import { describe, expect, it } from 'vitest';
import { buildTcpPacket } from '../../../src/packet/index.js';
import {
  ACK,
  CLIENT,
  CPORT,
  O,
  SERVER,
  SPORT,
  asa,
  c2s,
  engine,
  expectValidChecksum,
  handshake,
  profile,
  run,
  s2c,
} from './helpers.js';

const DC = 0x01000000;
const DS = 0x10000000;
const sackOf = (d: ReturnType<typeof run>['d']) =>
  (d.tcp!.options.find((o) => o.name === 'sack') as { blocks: number[][] }).blocks;

describe('SACK translation', () => {
  it('on: client→server edges lose ds (they are in the server space), server→client edges lose dc', () => {
    const e = engine(asa({ sackTranslation: true, fixedOffsets: { client: DC, server: DS } }));
    handshake(e, 1000, 5000);
    // Client's view of server data: real + DS.
    const p = c2s({
      seq: 1001,
      ack: 5001 + DS,
      flags: ACK,
      options: [O.nop(), O.nop(), O.ts(), O.nop(), O.nop(), O.sack([7001 + DS, 8001 + DS], [9001 + DS, 9501 + DS])],
    });
    const r = run(e, p);
    expect(sackOf(r.d)).toEqual([
      [7001, 8001],
      [9001, 9501],
    ]);
    expectValidChecksum(p);
    const q = s2c({
      seq: 5001,
      ack: 1001 + DC,
      flags: ACK,
      options: [O.nop(), O.nop(), O.sack([3000 + DC, 4000 + DC])],
    });
    expect(sackOf(run(e, q).d)).toEqual([[3000, 4000]]);
    expectValidChecksum(q);
    expect(e.counters()).toMatchObject({ sackBlocksSeen: 3, sackBlocksTranslated: 3, sackBlocksUntranslated: 0 });
    expect(e.flowRecords()[0]).toMatchObject({ sackBlocksTranslated: 3, sackBlocksUntranslated: 0 });
  });

  it('off (the Cisco bug): edges pass untouched and are counted untranslated', () => {
    const e = engine(asa({ sackTranslation: false, fixedOffsets: { client: DC, server: DS } }));
    handshake(e, 1000, 5000);
    const p = c2s({
      seq: 1001,
      ack: 5001 + DS,
      flags: ACK,
      options: [O.nop(), O.nop(), O.sack([7001 + DS, 8001 + DS])],
    });
    const r = run(e, p);
    expect(sackOf(r.d)).toEqual([[7001 + DS, 8001 + DS]]);
    expect(r.d.tcp!.ack).toBe(5001); // the ACK number itself is still translated
    expectValidChecksum(p);
    expect(e.counters()).toMatchObject({ sackBlocksSeen: 1, sackBlocksTranslated: 0, sackBlocksUntranslated: 1 });
    expect(e.flowRecords()[0]!.sackBlocksUntranslated).toBe(1);
  });

  it('translates edges across the 32-bit wrap', () => {
    const e = engine(asa({ sackTranslation: true, fixedOffsets: { client: 0, server: 0x100 } }));
    handshake(e, 1, 0xffffff00);
    const r = run(e, c2s({ seq: 2, ack: 0x1, flags: ACK, options: [O.nop(), O.nop(), O.sack([0x50, 0x80])] }));
    expect(sackOf(r.d)).toEqual([[0xffffff50, 0xffffff80]]);
  });

  it('counts blocks as neither when the peer offset is zero (nothing to translate)', () => {
    const e = engine(asa({ isn: { client: true, server: false }, fixedOffsets: { client: DC } }));
    handshake(e, 1, 2);
    const p = c2s({ seq: 2, ack: 3, flags: ACK, options: [O.nop(), O.nop(), O.sack([10, 20])] });
    expect(sackOf(run(e, p).d)).toEqual([[10, 20]]);
    expect(e.counters()).toMatchObject({ sackBlocksSeen: 1, sackBlocksTranslated: 0, sackBlocksUntranslated: 0 });
  });

  it('keeps the checksum right when the SACK option sits at an odd offset', () => {
    const e = engine(asa({ sackTranslation: true, fixedOffsets: { client: DC, server: DS + 0x1234567 } }));
    handshake(e, 1000, 5000);
    // One NOP, then SACK (odd start), then 3 NOPs to pad to 4.
    const raw = Uint8Array.from([1, 5, 18, ...new Array(16).fill(0), 1, 1, 1, 1, 1]);
    const dv = new DataView(raw.buffer);
    const edges = [0x11223344, 0x55667788, 0x99aabbcc, 0xddeeff00];
    edges.forEach((v, i) => dv.setUint32(3 + 4 * i, v));
    const p = buildTcpPacket({
      src: CLIENT,
      dst: SERVER,
      srcPort: CPORT,
      dstPort: SPORT,
      seq: 1001,
      ack: 5001,
      flags: ACK,
      rawOptions: raw,
      payload: 3,
    });
    const r = run(e, p);
    expect(sackOf(r.d).flat()).toEqual(edges.map((v) => (v - DS - 0x1234567) >>> 0));
    expectValidChecksum(p);
  });

  it('translates nothing with ISN randomization off, even if asked to', () => {
    const e = engine(profile({ sackTranslation: true }));
    handshake(e, 1, 2);
    const p = c2s({ seq: 2, ack: 3, flags: ACK, options: [O.nop(), O.nop(), O.sack([10, 20])] });
    const before = p.slice();
    expect(run(e, p).modified).toBe(false);
    expect(p).toEqual(before);
  });
});
