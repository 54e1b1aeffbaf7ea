// Late packets (path.late): the engine holds every Nth pure client ACK and/or every Nth first
// transmission of server data per flow, and the hold queue releases it holdMs later, after the
// packets that followed it. Driven like the runner drives them: process at arrival time, hold
// what the engine says, release what is due before the next arrival.
import { describe, expect, it } from 'vitest';
import { DROP, type MiddleboxEngine } from '../../../src/middlebox/engine.js';
import { CtlabError } from '../../../src/errors.js';
import { parseProcessConfig } from '../../../src/middlebox/process-config.js';
import { PathImpairment } from '../../../src/middlebox/mutations/impair.js';
import { VERDICT, RDESC } from '../../../src/middlebox/nfqueue.js';
import { HoldQueue } from '../../../src/middlebox/timerq.js';
import { TCP_FIN, TCP_PSH, TCP_RST } from '../../../src/packet/tcp.js';
import type { PathModel } from '../../../src/scenario/model.js';
import { ACK, SYN, SYNACK, asa, c2s, engine, path, profile, s2c, synOpts } from './helpers.js';

interface Arrival {
  label: string;
  at: number;
  pkt: Uint8Array;
}
interface Departure {
  label: string;
  at: number;
}

/** The runner's loop in miniature: returns the packets in the order they leave, with when. */
function simulate(e: MiddleboxEngine, arrivals: Arrival[]): { out: Departure[]; dropped: string[] } {
  const q = new HoldQueue({ initialCapacity: 16 });
  const out: Departure[] = [];
  const dropped: string[] = [];
  const releaseAt = new Map<number, number>();
  const sink = (n: number, r: Int32Array) => {
    for (let i = 0; i < n; i++) {
      const id = r[i * RDESC.STRIDE + RDESC.ID]!;
      out.push({ label: arrivals[id]!.label, at: releaseAt.get(id)! });
    }
  };
  arrivals.forEach((a, id) => {
    q.releaseDue(a.at, sink);
    const v = e.process(a.pkt, 0, a.pkt.length, a.at);
    if (v === DROP) dropped.push(a.label);
    else if (v === 0) out.push({ label: a.label, at: a.at });
    else {
      releaseAt.set(id, a.at + v);
      q.push(a.at + v, id, VERDICT.ACCEPT, null);
    }
  });
  q.releaseDue(Infinity, sink);
  return { out, dropped };
}

const C_ISN = 1000;
const S_ISN = 50_000;

/** Handshake packets (the client's third one is its first pure ACK). */
function handshake(cport = 40001, t = 0): Arrival[] {
  return [
    { label: `${cport}:syn`, at: t, pkt: c2s({ cport, seq: C_ISN, flags: SYN, options: synOpts() }) },
    {
      label: `${cport}:synack`,
      at: t,
      pkt: s2c({ cport, seq: S_ISN, ack: C_ISN + 1, flags: SYNACK, options: synOpts() }),
    },
    { label: `${cport}:ack0`, at: t, pkt: c2s({ cport, seq: C_ISN + 1, ack: S_ISN + 1, flags: ACK }) },
  ];
}

/** Server segment i (1-based, 1000 bytes) and the client's pure ACK of it, 1 ms apart each. */
function transfer(n: number, cport = 40001, t0 = 10): Arrival[] {
  const out: Arrival[] = [];
  for (let i = 1; i <= n; i++) {
    const t = t0 + 2 * i;
    out.push({
      label: `${cport}:d${i}`,
      at: t,
      pkt: s2c({ cport, seq: S_ISN + 1 + (i - 1) * 1000, ack: C_ISN + 1, flags: ACK | TCP_PSH, payload: 1000 }),
    });
    out.push({
      label: `${cport}:a${i}`,
      at: t + 1,
      pkt: c2s({ cport, seq: C_ISN + 1, ack: S_ISN + 1 + i * 1000, flags: ACK }),
    });
  }
  return out;
}

/** `labels` moved from where they arrived to just before the first departure at or after their release. */
function expectedOrder(arrivals: Arrival[], held: Record<string, number>): string[] {
  const events = arrivals.map((a, i) => ({ label: a.label, at: held[a.label] ?? a.at, late: a.label in held, i }));
  // A held packet leaves when due, before any arrival at that same time (released first in the loop).
  events.sort((x, y) => x.at - y.at || Number(y.late) - Number(x.late) || x.i - y.i);
  return events.map((e) => e.label);
}

const late = (l: PathModel['late']) => path({ late: l });

describe('late client ACKs (path.late.clientAcks)', () => {
  it('holds exactly every Nth pure ACK of the flow for holdMs; everything else leaves in arrival order', () => {
    const e = engine(profile(), late({ clientAcks: { every: 3, holdMs: 200 } }));
    const arrivals = [...handshake(), ...transfer(10)];
    const { out, dropped } = simulate(e, arrivals);
    expect(dropped).toEqual([]);
    // Pure ACKs of the flow: ack0 (1st), a1 (2nd), a2 (3rd: held), a3, a4, a5 (6th: held), a6, a7, a8 (9th: held), a9, a10.
    const heldLabels = out.filter((d) => d.at !== arrivals.find((a) => a.label === d.label)!.at).map((d) => d.label);
    expect(heldLabels).toEqual(['40001:a2', '40001:a5', '40001:a8']);
    const at = (l: string) => arrivals.find((a) => a.label === `40001:${l}`)!.at;
    expect(out.find((d) => d.label === '40001:a2')!.at).toBe(at('a2') + 200);
    expect(out.find((d) => d.label === '40001:a8')!.at).toBe(at('a8') + 200);
    // Later packets overtook them; nothing else changed places.
    expect(out.map((d) => d.label)).toEqual(
      expectedOrder(arrivals, { '40001:a2': at('a2') + 200, '40001:a5': at('a5') + 200, '40001:a8': at('a8') + 200 }),
    );
    expect(out.map((d) => d.label).indexOf('40001:a2')).toBeGreaterThan(out.map((d) => d.label).indexOf('40001:a10'));
    const c = e.counters();
    expect(c.lateClientAcks).toBe(3);
    expect(c.lateServerData).toBe(0);
    expect(c.held).toBe(3);
    expect(e.flowRecords()[0]).toMatchObject({ lateToServer: 3, lateToClient: 0 });
  });

  it('counts only pure ACKs: not SYNs, data, FIN, RST, nor anything to the client', () => {
    const e = engine(profile(), late({ clientAcks: { every: 2, holdMs: 100 } }));
    const t = 20;
    const arrivals: Arrival[] = [
      ...handshake(), // ack0 = pure ACK #1
      { label: 'cdata', at: t, pkt: c2s({ seq: C_ISN + 1, ack: S_ISN + 1, flags: ACK | TCP_PSH, payload: 100 }) },
      { label: 'sack-only', at: t + 1, pkt: s2c({ seq: S_ISN + 1, ack: C_ISN + 101, flags: ACK }) },
      { label: 'cfin', at: t + 2, pkt: c2s({ seq: C_ISN + 101, ack: S_ISN + 1, flags: ACK | TCP_FIN }) },
      { label: 'crst', at: t + 3, pkt: c2s({ seq: C_ISN + 102, ack: S_ISN + 1, flags: ACK | TCP_RST }) },
      { label: 'pure2', at: t + 4, pkt: c2s({ seq: C_ISN + 102, ack: S_ISN + 1, flags: ACK }) }, // #2: held
      { label: 'pure3', at: t + 5, pkt: c2s({ seq: C_ISN + 102, ack: S_ISN + 1, flags: ACK }) },
    ];
    const { out } = simulate(e, arrivals);
    expect(out.map((d) => d.label)).toEqual([
      '40001:syn',
      '40001:synack',
      '40001:ack0',
      'cdata',
      'sack-only',
      'cfin',
      'crst',
      'pure3',
      'pure2',
    ]);
    expect(out.at(-1)).toEqual({ label: 'pure2', at: t + 4 + 100 });
    expect(e.counters().lateClientAcks).toBe(1);
  });

  it('counts per flow: two interleaved connections each have their own every-Nth', () => {
    const e = engine(profile(), late({ clientAcks: { every: 2, holdMs: 50 } }));
    const a = transfer(3, 1111, 10);
    const b = transfer(3, 2222, 10);
    const mixed = [...handshake(1111), ...handshake(2222)];
    for (let i = 0; i < a.length; i++) mixed.push(a[i]!, b[i]!);
    const { out } = simulate(e, mixed);
    const late1 = out
      .slice(-4)
      .map((d) => d.label)
      .sort();
    // ack0 is #1 of each flow, a1 #2 (held), a2 #3, a3 #4 (held).
    expect(late1).toEqual(['1111:a1', '1111:a3', '2222:a1', '2222:a3']);
    expect(e.flowRecords().map((f) => f.lateToServer)).toEqual([2, 2]);
  });

  it('adds holdMs on top of the path delay, and a constant delay still reorders nothing else', () => {
    const e = engine(profile(), path({ delayMs: 10, late: { clientAcks: { every: 4, holdMs: 30 } } }));
    const arrivals = [...handshake(), ...transfer(8)];
    const { out } = simulate(e, arrivals);
    const at = (l: string) => arrivals.find((x) => x.label === l)!.at;
    const held: Record<string, number> = { '40001:a3': at('40001:a3') + 40, '40001:a7': at('40001:a7') + 40 };
    const shifted = Object.fromEntries(arrivals.map((x) => [x.label, held[x.label] ?? x.at + 10]));
    expect(out).toEqual(
      arrivals
        .map((x, i) => ({ label: x.label, at: shifted[x.label]!, i }))
        .sort((p, q) => p.at - q.at || p.i - q.i)
        .map(({ label, at: t }) => ({ label, at: t })),
    );
    expect(e.counters().held).toBe(arrivals.length);
    expect(e.counters().lateClientAcks).toBe(2);
  });

  it('holds the rewritten bytes when the profile rewrites (ISN offsets): the engine still says hold', () => {
    const e = engine(asa({ fixedOffsets: { client: 7, server: 9 } }), late({ clientAcks: { every: 2, holdMs: 5 } }));
    const { out } = simulate(e, [...handshake(), ...transfer(2)]);
    expect(out.at(-1)!.label).toBe('40001:a1');
    expect(e.counters().lateClientAcks).toBe(1);
  });
});

describe('late server data (path.late.serverData)', () => {
  it('holds every Nth first transmission of data to the client; retransmissions are neither counted nor held', () => {
    const e = engine(profile(), late({ serverData: { every: 3, holdMs: 200 } }));
    const arrivals = [...handshake(), ...transfer(7)];
    // A retransmission of d3 right after it (same seq): not a first transmission.
    const i3 = arrivals.findIndex((a) => a.label === '40001:d3');
    arrivals.splice(i3 + 1, 0, {
      label: 'rtx-d3',
      at: arrivals[i3]!.at,
      pkt: s2c({ seq: S_ISN + 1 + 2000, ack: C_ISN + 1, flags: ACK, payload: 1000 }),
    });
    const { out } = simulate(e, arrivals);
    const at = (l: string) => arrivals.find((x) => x.label === l)!.at;
    expect(out.map((d) => d.label)).toEqual(
      expectedOrder(arrivals, { '40001:d3': at('40001:d3') + 200, '40001:d6': at('40001:d6') + 200 }),
    );
    expect(out.slice(-2)).toEqual([
      { label: '40001:d3', at: at('40001:d3') + 200 },
      { label: '40001:d6', at: at('40001:d6') + 200 },
    ]);
    expect(e.counters()).toMatchObject({ lateServerData: 2, lateClientAcks: 0, held: 2 });
    expect(e.flowRecords()[0]).toMatchObject({ lateToClient: 2, lateToServer: 0, dataSegmentsToClient: 7 });
  });

  it('never holds client data or server pure ACKs', () => {
    const e = engine(profile(), late({ serverData: { every: 2, holdMs: 100 } }));
    const arrivals: Arrival[] = [...handshake()];
    for (let i = 0; i < 6; i++) {
      arrivals.push({
        label: `c${i}`,
        at: 10 + i,
        pkt: c2s({ seq: C_ISN + 1 + i * 10, ack: S_ISN + 1, flags: ACK, payload: 10 }),
      });
      arrivals.push({ label: `s${i}`, at: 10 + i, pkt: s2c({ seq: S_ISN + 1, ack: C_ISN + 11 + i * 10, flags: ACK }) });
    }
    const { out } = simulate(e, arrivals);
    expect(out.map((d) => d.label)).toEqual(arrivals.map((a) => a.label));
    expect(e.counters().held).toBe(0);
  });

  it('a segment the loss model drops is dropped, not held; the count goes on', () => {
    const e = engine(
      profile(),
      path({
        loss: { kind: 'every-nth', n: 4, direction: 'to-client' },
        late: { serverData: { every: 2, holdMs: 100 } },
      }),
    );
    const { out, dropped } = simulate(e, [...handshake(), ...transfer(6)]);
    expect(dropped).toEqual(['40001:d4']);
    expect(out.slice(-2).map((d) => d.label)).toEqual(['40001:d2', '40001:d6']);
    expect(e.counters()).toMatchObject({ droppedByLoss: 1, lateServerData: 2 });
  });

  it('both rules at once', () => {
    const e = engine(profile(), late({ clientAcks: { every: 5, holdMs: 100 }, serverData: { every: 4, holdMs: 300 } }));
    const arrivals = [...handshake(), ...transfer(8)];
    const { out } = simulate(e, arrivals);
    const at = (l: string) => arrivals.find((x) => x.label === l)!.at;
    // Pure ACKs: ack0 #1, a1..a8 #2..#9 → a4 (#5) held. Data: d4, d8 held.
    expect(out.map((d) => d.label)).toEqual(
      expectedOrder(arrivals, {
        '40001:a4': at('40001:a4') + 100,
        '40001:d4': at('40001:d4') + 300,
        '40001:d8': at('40001:d8') + 300,
      }),
    );
    expect(e.counters()).toMatchObject({ lateClientAcks: 1, lateServerData: 2, held: 3 });
  });
});

describe('late packets: configuration', () => {
  it('PathImpairment rejects an every below 2 or a hold that is not > 0', () => {
    const mk = (l: PathModel['late']) => () => new PathImpairment(path({ late: l }), 1, 2);
    expect(mk({ clientAcks: { every: 1, holdMs: 100 } })).toThrow(/every must be an integer >= 2/);
    expect(mk({ clientAcks: { every: 2.5, holdMs: 100 } })).toThrow(/every/);
    expect(mk({ serverData: { every: 3, holdMs: 0 } })).toThrow(/holdMs must be a finite number > 0/);
    expect(mk({ serverData: { every: 3, holdMs: Number.NaN } })).toThrow(/holdMs/);
    expect(mk({ clientAcks: { every: 20, holdMs: 200 } })).not.toThrow();
  });

  it('the process config carries path.late through, and rejects bad values with the field named', () => {
    const base = { delayMs: 0, rateMbit: 0, loss: { kind: 'none' }, reorder: { rate: 0, extraDelayMs: 0 } };
    const profile = {
      name: 't',
      isn: { client: false, server: false },
      sackTranslation: true,
      options: { sackPermitted: { strip: 'none' }, windowScale: { strip: 'none' }, timestamps: { strip: 'none' } },
    };
    const parsePath = (p: unknown) =>
      parseProcessConfig({ queue: 0, seed: 1, profile, path: p, countersFile: 'c', flowsFile: 'f' }).path;
    expect(parsePath(base).late).toBeUndefined();
    expect(parsePath({ ...base, late: { clientAcks: { every: 20, holdMs: 200 } } }).late).toEqual({
      clientAcks: { every: 20, holdMs: 200 },
    });
    expect(
      parsePath({ ...base, late: { serverData: { every: 5, holdMs: 50 }, clientAcks: { every: 2, holdMs: 1 } } }).late,
    ).toEqual({
      serverData: { every: 5, holdMs: 50 },
      clientAcks: { every: 2, holdMs: 1 },
    });
    expect(() => parsePath({ ...base, late: { clientAcks: { every: 1, holdMs: 200 } } })).toThrow(CtlabError);
    expect(() => parsePath({ ...base, late: { clientAcks: { every: 1, holdMs: 200 } } })).toThrow(
      /path\.late\.clientAcks\.every/,
    );
    expect(() => parsePath({ ...base, late: { serverData: { every: 4, holdMs: 0 } } })).toThrow(
      /path\.late\.serverData\.holdMs/,
    );
    expect(() => parsePath({ ...base, late: { clientAck: { every: 4, holdMs: 10 } } })).toThrow(
      /path\.late: unknown field "clientAck"/,
    );
  });
});
