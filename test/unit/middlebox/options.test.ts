import { describe, expect, it } from 'vitest';
import type { MiddleboxProfile } from '../../../src/scenario/model.js';
import { ACK, O, SYN, SYNACK, c2s, engine, expectValidChecksum, profile, run, s2c, synOpts } from './helpers.js';

type Opts = Partial<MiddleboxProfile['options']>;
const names = (d: ReturnType<typeof run>['d']) => d.tcp!.options.filter((o) => o.name !== 'nop').map((o) => o.name);
const wsOf = (d: ReturnType<typeof run>['d']) =>
  (d.tcp!.options.find((o) => o.name === 'wscale') as { shift: number } | undefined)?.shift;

function through(opts: Opts) {
  const e = engine(profile({ opts }));
  const syn = c2s({ seq: 1, flags: SYN, options: synOpts() });
  const synack = s2c({ seq: 9, ack: 2, flags: SYNACK, options: synOpts() });
  const data = c2s({ seq: 2, ack: 10, flags: ACK, options: [O.nop(), O.nop(), O.ts(5, 6)], payload: 10 });
  const lens = [syn.length, synack.length, data.length];
  const r = [run(e, syn), run(e, synack), run(e, data)];
  for (const p of [syn, synack, data]) expectValidChecksum(p);
  expect([syn.length, synack.length, data.length]).toEqual(lens);
  for (const x of r) expect(x.d.tcp!.headerLength).toBe(x === r[2] ? 32 : 40);
  return { e, syn: r[0]!, synack: r[1]!, data: r[2]! };
}

describe('option rewriting', () => {
  it('strips window scale from the SYN only', () => {
    const { syn, synack, e } = through({ windowScale: { strip: 'syn' } });
    expect(wsOf(syn.d)).toBeUndefined();
    expect(wsOf(synack.d)).toBe(7);
    expect(syn.modified && !synack.modified).toBe(true);
    expect(e.counters().optionsStripped).toBe(1);
  });

  it('strips window scale from the SYN-ACK only, and from both', () => {
    const a = through({ windowScale: { strip: 'synack' } });
    expect([wsOf(a.syn.d), wsOf(a.synack.d)]).toEqual([7, undefined]);
    const b = through({ windowScale: { strip: 'both' } });
    expect([wsOf(b.syn.d), wsOf(b.synack.d)]).toEqual([undefined, undefined]);
    expect(b.e.counters().optionsStripped).toBe(2);
  });

  it('sets the window scale shift in SYN and SYN-ACK', () => {
    const { syn, synack, e } = through({ windowScale: { strip: 'none', setSyn: 0, setSynAck: 14 } });
    expect([wsOf(syn.d), wsOf(synack.d)]).toEqual([0, 14]);
    expect(e.counters().windowScaleSet).toBe(2);
    // Setting the value it already has changes nothing.
    const same = through({ windowScale: { strip: 'none', setSyn: 7 } });
    expect(same.syn.modified).toBe(false);
  });

  it('strips SACK-permitted per side', () => {
    const { syn, synack } = through({ sackPermitted: { strip: 'synack' } });
    expect(names(syn.d)).toContain('sack-permitted');
    expect(names(synack.d)).not.toContain('sack-permitted');
    expect(names(synack.d)).toEqual(['mss', 'timestamps', 'wscale']);
  });

  it('strips timestamps in handshake packets, or in all packets', () => {
    const hs = through({ timestamps: { strip: 'both' } });
    expect(names(hs.syn.d)).not.toContain('timestamps');
    expect(names(hs.synack.d)).not.toContain('timestamps');
    expect(names(hs.data.d)).toContain('timestamps');
    expect(hs.data.modified).toBe(false);
    const all = through({ timestamps: { strip: 'all' } });
    expect(names(all.data.d)).toEqual([]);
    expect(all.data.modified).toBe(true);
    expect(all.e.counters().optionsStripped).toBe(3);
  });

  it('combines strips like a load balancer (SACK-permitted, window scale, timestamps)', () => {
    const { syn, synack } = through({
      sackPermitted: { strip: 'both' },
      windowScale: { strip: 'both' },
      timestamps: { strip: 'both' },
    });
    expect(names(syn.d)).toEqual(['mss']);
    expect(names(synack.d)).toEqual(['mss']);
  });

  it('rejects an impossible shift value', () => {
    expect(() => engine(profile({ opts: { windowScale: { strip: 'none', setSyn: 256 } } }))).toThrow(RangeError);
  });
});
