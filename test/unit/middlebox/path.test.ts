import { describe, expect, it } from 'vitest';
import { DROP } from '../../../src/middlebox/engine.js';
import { ACK, asa, c2s, engine, handshake, path, profile, run, s2c } from './helpers.js';

/** Send n server data segments of 1000 bytes from relative seq 1; returns the verdicts. */
function serverData(e: ReturnType<typeof engine>, n: number, sIsn = 5000, cport?: number) {
  const out: number[] = [];
  for (let i = 0; i < n; i++)
    out.push(e.process(s2c({ cport, seq: sIsn + 1 + i * 1000, ack: 1, flags: ACK, payload: 1000 }), 0, 1040, i));
  return out;
}

describe('loss: every-nth', () => {
  it('drops every Nth first transmission of data, per flow and direction; never pure ACKs or handshakes', () => {
    const e = engine(profile(), path({ loss: { kind: 'every-nth', n: 4, direction: 'to-client' } }));
    handshake(e, 0, 5000);
    const v = serverData(e, 12);
    expect(v.map((x) => x === DROP)).toEqual([
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
      false,
      false,
      false,
      true,
    ]);
    // Client data is not affected (direction to-client only), nor are pure ACKs.
    for (let i = 0; i < 8; i++)
      expect(run(e, c2s({ seq: 1 + i * 10, ack: 5001, flags: ACK, payload: i % 2 ? 10 : 0 })).v).not.toBe(DROP);
    expect(e.counters().droppedByLoss).toBe(3);
    expect(e.flowRecords()[0]).toMatchObject({ dataSegmentsToClient: 12, dropsToClient: 3, dropsToServer: 0 });
  });

  it('never drops the retransmission of a segment it dropped', () => {
    const e = engine(profile(), path({ loss: { kind: 'every-nth', n: 2, direction: 'both' } }));
    handshake(e, 0, 5000);
    expect(serverData(e, 2)[1]).toBe(DROP);
    // Retransmit the dropped one (same seq), several times: it passes and does not count as new data.
    for (let k = 0; k < 3; k++)
      expect(e.process(s2c({ seq: 6001, ack: 1, flags: ACK, payload: 1000 }), 0, 1040, 10)).toBe(0);
    expect(e.flowRecords()[0]!.dataSegmentsToClient).toBe(2);
    // The next new segment is the 3rd first transmission: not dropped; the 4th is.
    expect(e.process(s2c({ seq: 7001, ack: 1, flags: ACK, payload: 1000 }), 0, 1040, 11)).toBe(0);
    expect(e.process(s2c({ seq: 8001, ack: 1, flags: ACK, payload: 1000 }), 0, 1040, 12)).toBe(DROP);
  });

  it('counts per flow and direction independently', () => {
    const e = engine(profile(), path({ loss: { kind: 'every-nth', n: 2, direction: 'both' } }));
    handshake(e, 0, 5000, 1111);
    handshake(e, 0, 5000, 2222);
    expect(serverData(e, 1, 5000, 1111)).toEqual([0]);
    expect(serverData(e, 1, 5000, 2222)).toEqual([0]);
    expect(run(e, c2s({ cport: 1111, seq: 1, ack: 5001, flags: ACK, payload: 5 })).v).toBe(0);
    expect(run(e, c2s({ cport: 1111, seq: 6, ack: 5001, flags: ACK, payload: 5 })).v).toBe(DROP);
  });

  it('drops from the first data segment onwards across the 32-bit wrap', () => {
    const e = engine(asa(), path({ loss: { kind: 'every-nth', n: 3, direction: 'to-client' } }));
    handshake(e, 0, 0xfffffc00);
    const v = serverData(e, 6, 0xfffffc00);
    expect(v.filter((x) => x === DROP)).toHaveLength(2);
    expect(v[2]).toBe(DROP);
  });
});

describe('loss: rate', () => {
  const run1 = (seed: number) => {
    const e = engine(profile(), path({ loss: { kind: 'rate', rate: 0.2, direction: 'to-client' } }), seed);
    handshake(e, 0, 5000);
    return { e, v: serverData(e, 2000) };
  };

  it('drops about the given fraction, reproducibly for a seed, differently for another', () => {
    const a = run1(7);
    const dropped = a.v.filter((x) => x === DROP).length;
    expect(dropped).toBeGreaterThan(2000 * 0.2 - 80);
    expect(dropped).toBeLessThan(2000 * 0.2 + 80);
    expect(run1(7).v).toEqual(a.v);
    expect(run1(8).v).not.toEqual(a.v);
  });

  it('keys the decision by relative sequence number, so it does not depend on the ISN or timing', () => {
    const e = engine(profile(), path({ loss: { kind: 'rate', rate: 0.2, direction: 'to-client' } }), 7);
    handshake(e, 0, 0x7fff0000);
    expect(serverData(e, 2000, 0x7fff0000)).toEqual(run1(7).v);
  });

  it('never drops a retransmission, even though its hash says drop', () => {
    const { e, v } = run1(7);
    const i = v.indexOf(DROP);
    for (let k = 0; k < 5; k++)
      expect(e.process(s2c({ seq: 5001 + i * 1000, ack: 1, flags: ACK, payload: 1000 }), 0, 1040, 0)).toBe(0);
  });

  it('rejects rates outside [0, 1]', () => {
    expect(() => engine(profile(), path({ loss: { kind: 'rate', rate: 1.5, direction: 'both' } }))).toThrow(RangeError);
    expect(() => engine(profile(), path({ loss: { kind: 'every-nth', n: 0, direction: 'both' } }))).toThrow(RangeError);
  });
});

describe('delay and reordering', () => {
  it('holds every packet for the one-way delay, both directions, non-TCP included', () => {
    const e = engine(profile(), path({ delayMs: 25 }));
    const { syn, synack } = handshake(e, 1, 2);
    expect([syn.v, synack.v]).toEqual([25, 25]);
    const udp = c2s({ seq: 0, flags: ACK });
    udp[9] = 17;
    expect(e.process(udp, 0, udp.length, 0)).toBe(25);
    expect(e.counters().held).toBe(4);
  });

  it('holds a seeded fraction of data segments extraDelayMs longer', () => {
    const mk = () => engine(profile(), path({ delayMs: 5, reorder: { rate: 0.25, extraDelayMs: 40 } }), 3);
    const e = mk();
    handshake(e, 0, 5000);
    const v = serverData(e, 1000);
    expect(new Set(v)).toEqual(new Set([5, 45]));
    const late = v.filter((x) => x === 45).length;
    expect(late).toBeGreaterThan(250 - 50);
    expect(late).toBeLessThan(250 + 50);
    expect(e.counters().reordered).toBe(late);
    const e2 = mk();
    handshake(e2, 0, 5000);
    expect(serverData(e2, 1000)).toEqual(v);
    // Pure ACKs are never reordered.
    expect(run(e, c2s({ seq: 1, ack: 5001, flags: ACK })).v).toBe(5);
  });
});
