import { describe, expect, it } from 'vitest';
import { ACK, SYN, SYNACK, asa, c2s, engine, expectValidChecksum, handshake, run, s2c, synOpts } from './helpers.js';

const DC = 0x11111111;
const DS = 0x20000000;
const fixed = () => asa({ fixedOffsets: { client: DC, server: DS } });

describe('ISN randomization', () => {
  it('shifts client seq by dc and server ACKs back by dc; server seq by ds and client ACKs back by ds', () => {
    const e = engine(fixed());
    const synPkt = c2s({ seq: 1000, flags: SYN, options: synOpts() });
    const syn = run(e, synPkt);
    expectValidChecksum(synPkt);
    expect(syn.d.tcp!.seq).toBe(1000 + DC);
    expect(syn.d.tcp!.ack).toBe(0); // no ACK flag: ack field untouched
    expect(syn.modified).toBe(true);
    // The server answers what it saw (1000 + DC + 1); the client must see its own space.
    const sa = s2c({ seq: 5000, ack: 1000 + DC + 1, flags: SYNACK, options: synOpts() });
    const r = run(e, sa);
    expect(r.d.tcp!.seq).toBe(5000 + DS);
    expect(r.d.tcp!.ack).toBe(1001);
    expectValidChecksum(sa);
    // The client ACKs the server's shifted ISN; the server must see its own.
    const ack = c2s({ seq: 1001, ack: 5000 + DS + 1, flags: ACK, payload: 100 });
    const a = run(e, ack);
    expect(a.d.tcp!.seq).toBe(1001 + DC);
    expect(a.d.tcp!.ack).toBe(5001);
    expectValidChecksum(ack);
    expect(e.counters()).toMatchObject({ flows: 1, packetsSeen: 3, packetsRewritten: 3 });
  });

  it('wraps around 2^32 in both directions', () => {
    const e = engine(asa({ fixedOffsets: { client: 0x30, server: 0xfffffff0 } }));
    const { syn, synack } = handshake(e, 0xffffffe0, 0x8);
    expect(syn.d.tcp!.seq).toBe(0x10); // 0xffffffe0 + 0x30
    expect(synack.d.tcp!.seq).toBe(0xfffffff8); // 0x8 + 0xfffffff0
    expect(synack.d.tcp!.ack).toBe(0xffffffe1); // (0x10 + 1) - 0x30
    const p = c2s({ seq: 0xffffffe1, ack: 0xfffffff9, flags: ACK, payload: 50 });
    const r = run(e, p);
    expect(r.d.tcp!.seq).toBe(0x11);
    expect(r.d.tcp!.ack).toBe(0x9);
    expectValidChecksum(p);
  });

  it('accepts negative fixed offsets as their 32-bit value', () => {
    const e = engine(asa({ fixedOffsets: { client: -1, server: -2 } }));
    const { syn } = handshake(e, 100, 200);
    expect(syn.d.tcp!.seq).toBe(99);
    expect(e.flowRecords()[0]).toMatchObject({
      clientOffset: 0xffffffff,
      serverOffset: 0xfffffffe,
      serverOffsetHalf: 'neg',
    });
  });

  it('randomizes only the enabled side', () => {
    const e = engine(asa({ isn: { client: false, server: true } }));
    const { syn, synack } = handshake(e, 100, 200);
    expect(syn.d.tcp!.seq).toBe(100);
    expect(synack.d.tcp!.ack).toBe(101);
    expect(synack.d.tcp!.seq).not.toBe(200);
    const rec = e.flowRecords()[0]!;
    expect(rec.clientOffset).toBe(0);
    expect(rec.serverOffset).toBe((synack.d.tcp!.seq - 200) >>> 0);
  });

  it('draws offsets from (seed, flow ordinal, direction): a seed reproduces them whatever the timing', () => {
    const offsets = (seed: number, times: number[]) => {
      const e = engine(asa(), undefined, seed);
      times.forEach((t, i) => e.process(c2s({ cport: 50000 + i, seq: 7 * i, flags: SYN }), 0, 52, t));
      return e.flowRecords().map((r) => [r.clientOffset, r.serverOffset]);
    };
    const a = offsets(42, [0, 1, 2, 3, 4, 5, 6, 7]);
    expect(offsets(42, [0, 500, 501, 9000, 9001, 9002, 1e6, 2e6])).toEqual(a);
    expect(offsets(43, [0, 1, 2, 3, 4, 5, 6, 7])).not.toEqual(a);
    // Distinct per flow and per direction.
    expect(new Set(a.flat()).size).toBe(16);
    // Large seeds are keyed by all their bits.
    expect(offsets(2 ** 40, [0])).not.toEqual(offsets(0, [0]));
  });

  it('keeps flow and offsets for a retransmitted SYN; a new ISN on the same 4-tuple is a new flow', () => {
    const e = engine(asa(), undefined, 9);
    const first = run(e, c2s({ seq: 1000, flags: SYN }));
    const again = run(e, c2s({ seq: 1000, flags: SYN }));
    expect(again.d.tcp!.seq).toBe(first.d.tcp!.seq);
    expect(e.counters()).toMatchObject({ flows: 1, synRetransmissions: 1 });
    const reuse = run(e, c2s({ seq: 900000, flags: SYN }));
    expect(e.counters().flows).toBe(2);
    const recs = e.flowRecords();
    expect(recs.map((r) => r.ordinal)).toEqual([0, 1]);
    expect(recs[0]!.synRetransmissions).toBe(1);
    expect(recs[1]!.clientOffset).not.toBe(recs[0]!.clientOffset);
    expect(reuse.d.tcp!.seq).toBe((900000 + recs[1]!.clientOffset) >>> 0);
    // Server packets now belong to the new flow.
    const sa = run(e, s2c({ seq: 1, ack: (reuse.d.tcp!.seq + 1) >>> 0, flags: SYNACK }));
    expect(sa.d.tcp!.ack).toBe(900001);
  });

  it('keeps both endpoints consistent over a whole simulated transfer', () => {
    // Each endpoint only ever sees its own sequence space for its own data.
    const e = engine(asa(), undefined, 1234);
    const cIsn = 0xfffff000,
      sIsn = 0x7ffff000;
    const { synack } = handshake(e, cIsn, sIsn);
    expect(synack.d.tcp!.ack).toBe((cIsn + 1) >>> 0);
    const serverSeenIsn = synack.d.tcp!.seq >>> 0; // what the client believes the server ISN is
    let cSeq = (cIsn + 1) >>> 0;
    let sSeq = (sIsn + 1) >>> 0;
    let clientAckOfServer = (serverSeenIsn + 1) >>> 0; // in the client's view
    for (let i = 0; i < 200; i++) {
      // Server sends 1448 bytes; client receives it translated.
      const d = run(e, s2c({ seq: sSeq, ack: 0, flags: ACK, payload: 1448 })).d; // ack field: not what matters here
      expect(d.tcp!.seq).toBe(clientAckOfServer);
      sSeq = (sSeq + 1448) >>> 0;
      clientAckOfServer = (clientAckOfServer + 1448) >>> 0;
      // Client ACKs in its view; the server must get its real numbers back.
      const a = run(e, c2s({ seq: cSeq, ack: clientAckOfServer, flags: ACK, payload: i % 10 === 0 ? 100 : 0 })).d;
      expect(a.tcp!.ack).toBe(sSeq);
      if (i % 10 === 0) cSeq = (cSeq + 100) >>> 0;
    }
  });
});
