import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { HARMFUL_SERVER_OFFSET_HALF, offsetHalf } from '../../../src/middlebox/engine.js';
import { decode, networkLayer, readPcap } from '../../../src/packet/index.js';
import { SYN, asa, c2s, engine, profile } from './helpers.js';

describe('server offset halves', () => {
  it('splits at 0 and 2^31 like the prototype (corr.sh: POS = 0 < ds < 2^31)', () => {
    expect(offsetHalf(0)).toBe('zero');
    expect(offsetHalf(1)).toBe('pos');
    expect(offsetHalf(0x7fffffff)).toBe('pos');
    expect(offsetHalf(0x80000000)).toBe('neg');
    expect(offsetHalf(0xffffffff)).toBe('neg');
    expect(offsetHalf(-1)).toBe('neg');
    expect(HARMFUL_SERVER_OFFSET_HALF).toBe('pos');
  });

  it('counts flows per half; random offsets fill both halves about evenly', () => {
    const e = engine(asa(), undefined, 5);
    for (let i = 0; i < 1000; i++) e.process(c2s({ cport: 10000 + i, seq: i, flags: SYN }), 0, 40, i);
    const c = e.counters();
    expect(c.serverOffsetPos + c.serverOffsetNeg + c.serverOffsetZero).toBe(1000);
    expect(c.serverOffsetPos).toBeGreaterThan(430);
    expect(c.serverOffsetNeg).toBeGreaterThan(430);
    const recs = e.flowRecords();
    expect(recs.filter((r) => r.serverOffsetHalf === 'pos')).toHaveLength(c.serverOffsetPos);
    const plain = engine(profile());
    plain.process(c2s({ seq: 1, flags: SYN }), 0, 40, 0);
    expect(plain.counters()).toMatchObject({ serverOffsetZero: 1, serverOffsetPos: 0 });
  });

  it('the measured deadlock capture (server side) shows SACK edges shifted into the harmful half', () => {
    // Captured at the server: ACK numbers are translated, SACK edges are not, so
    // edge - ack ≈ ds. The connection that deadlocked must have ds in 'pos'.
    const pcap = readPcap(
      new Uint8Array(
        readFileSync(fileURLToPath(new URL('../../fixtures/deadlock-upper-half-offset.pcap', import.meta.url))),
      ),
    );
    const halves = new Set<string>();
    for (const p of pcap.packets) {
      const nl = networkLayer(pcap.linktype, p.data);
      if (nl?.ipVersion !== 4) continue;
      const d = decode(p.data, nl.offset);
      if (d.tcp?.srcPort !== 36964) continue;
      for (const o of d.tcp.options)
        if (o.name === 'sack') for (const [l] of o.blocks) halves.add(offsetHalf((l - d.tcp.ack) >>> 0));
    }
    expect([...halves]).toEqual([HARMFUL_SERVER_OFFSET_HALF]);
  });
});
