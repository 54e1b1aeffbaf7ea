import { describe, expect, it } from 'vitest';
import { ACK, O, asa, c2s, engine, handshake, path, run, s2c } from './helpers.js';
import { TCP_FIN, TCP_RST } from '../../../src/packet/index.js';

describe('flow records and counters', () => {
  it('records a flow’s endpoints, times, ISNs, offsets, traffic, drops, SACK and FIN/RST', () => {
    const e = engine(
      asa({ fixedOffsets: { client: 0x100, server: 0x90000000 } }),
      path({ loss: { kind: 'every-nth', n: 2, direction: 'to-client' } }),
    );
    e.process(c2s({ seq: 10, flags: 2 }), 0, 40, 100);
    e.process(c2s({ seq: 10, flags: 2 }), 0, 40, 1100); // SYN retransmission
    e.process(s2c({ seq: 20, ack: 0x10b, flags: 0x12 }), 0, 40, 1101);
    e.process(c2s({ seq: 11, ack: 0x90000015, flags: ACK, payload: 60 }), 0, 100, 1102);
    for (let i = 0; i < 4; i++)
      e.process(s2c({ seq: 21 + i * 100, ack: 0x100 + 71, flags: ACK, payload: 100 }), 0, 140, 1103 + i);
    run(
      e,
      c2s({
        seq: 71,
        ack: 0x90000015 + 100,
        flags: ACK,
        options: [O.nop(), O.nop(), O.sack([0x90000015 + 200, 0x90000015 + 300])],
      }),
      1200,
    );
    run(e, s2c({ seq: 421, ack: 0x100 + 71, flags: ACK | TCP_FIN }), 1300);
    run(e, c2s({ seq: 71, ack: 0, flags: TCP_RST }), 1400);
    const [r, ...more] = e.flowRecords();
    expect(more).toEqual([]);
    expect(r).toEqual({
      ordinal: 0,
      client: '198.18.1.2:40001',
      server: '198.18.2.2:80',
      firstSeenMs: 100,
      lastSeenMs: 1400,
      clientIsn: 10,
      serverIsn: 20,
      clientOffset: 0x100,
      serverOffset: 0x90000000,
      serverOffsetHalf: 'neg',
      packetsToServer: 5,
      packetsToClient: 6,
      bytesToServer: 40 + 40 + 100 + 52 + 40,
      bytesToClient: 40 + 4 * 140 + 40,
      dataSegmentsToServer: 1,
      dataSegmentsToClient: 4,
      dropsToServer: 0,
      dropsToClient: 2,
      sackBlocksTranslated: 0,
      sackBlocksUntranslated: 1,
      synRetransmissions: 1,
      reordered: 0,
      lateToServer: 0,
      lateToClient: 0,
      finFromClient: false,
      finFromServer: true,
      rstFromClient: true,
      rstFromServer: false,
    });
    expect(e.counters()).toMatchObject({
      packetsSeen: 11,
      flows: 1,
      droppedByLoss: 2,
      synRetransmissions: 1,
      serverOffsetNeg: 1,
    });
  });

  it('tracks many concurrent flows (table growth) and finds each in both directions', () => {
    const e = engine(asa({ fixedOffsets: { client: 1, server: 2 } }));
    for (let i = 0; i < 5000; i++) handshake(e, i, i * 3, 1024 + i);
    expect(e.counters().flows).toBe(5000);
    for (let i = 0; i < 5000; i += 7) {
      expect(run(e, s2c({ cport: 1024 + i, seq: i * 3 + 1, ack: i + 2, flags: ACK })).d.tcp!.ack).toBe(i + 1);
    }
    expect(e.counters().untracked).toBe(0);
  });

  it('stops creating flows at maxFlows and passes the rest untouched', async () => {
    const { MiddleboxEngine } = await import('../../../src/middlebox/engine.js');
    const e = new MiddleboxEngine({ profile: asa(), path: path(), seed: 1, maxFlows: 2 });
    for (let i = 0; i < 3; i++) handshake(e, 1, 1, 2000 + i);
    expect(e.counters()).toMatchObject({ flows: 2, flowTableFull: 1, untracked: 2 });
  });
});
