import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { FlowTable } from '../../../src/middlebox/flows.js';
import { flowOffset, hash6, keyedUniform, splitSeed } from '../../../src/middlebox/rng.js';
import { DROP, MiddleboxEngine } from '../../../src/middlebox/engine.js';
import { networkLayer, readPcap, tcpChecksum, tcpChecksumField } from '../../../src/packet/index.js';
import { asa, path, profile } from './helpers.js';

describe('rng', () => {
  it('is a pure function of its key, spread over 32 bits', () => {
    expect(hash6(1, 2, 3, 4, 5, 6)).toBe(hash6(1, 2, 3, 4, 5, 6));
    expect(hash6(1, 2, 3, 4, 5, 6)).not.toBe(hash6(1, 2, 3, 4, 5, 7));
    const xs = Array.from({ length: 20000 }, (_, i) => keyedUniform(1, 0, 9, i, 0, 0));
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.49);
    expect(mean).toBeLessThan(0.51);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const top = Array.from({ length: 20000 }, (_, i) => flowOffset(3, 0, i, 1) >>> 31).reduce((a, b) => a + b, 0);
    expect(top).toBeGreaterThan(9500);
    expect(top).toBeLessThan(10500);
  });

  it('splits seeds into 32-bit halves and rejects unsafe ones', () => {
    expect(splitSeed(5)).toEqual([5, 0]);
    expect(splitSeed(2 ** 32 + 7)).toEqual([7, 1]);
    expect(() => splitSeed(1.5)).toThrow(RangeError);
  });
});

describe('FlowTable', () => {
  it('finds a flow from either direction, and a replacement takes over the 4-tuple', () => {
    const t = new FlowTable(16);
    const f = t.create(0xc6120102, 0xc6120202, 40000, 80, 0);
    expect(t.lookup(0xc6120102, 0xc6120202, 40000, 80)).toBe(f << 1);
    expect(t.lookup(0xc6120202, 0xc6120102, 80, 40000)).toBe((f << 1) | 1);
    expect(t.lookup(0xc6120102, 0xc6120202, 40001, 80)).toBe(-1);
    expect(t.lookup(0xc6120202, 0xc6120102, 40000, 80)).toBe(-1); // ports swapped, addresses not
    const g = t.create(0xc6120102, 0xc6120202, 40000, 80, 1);
    expect(t.lookup(0xc6120202, 0xc6120102, 80, 40000)).toBe((g << 1) | 1);
    expect(t.count).toBe(2);
  });

  it('grows past its initial capacity and keeps every flow reachable', () => {
    const t = new FlowTable(16);
    for (let i = 0; i < 20000; i++) t.create(0xc6120102 + (i >>> 12), 0xc6120202, i & 0xfff, 443, i);
    for (let i = 0; i < 20000; i += 13)
      expect(t.lookup(0xc6120202, 0xc6120102 + (i >>> 12), 443, i & 0xfff)).toBe((i << 1) | 1);
    expect(t.firstSeen[19999]).toBe(19999);
  });
});

describe('engine on real packets (the prototype capture, replayed)', () => {
  it('keeps every complete real packet checksum-valid after ISN + SACK rewriting, and leaves all bytes alone when transparent', () => {
    const pcap = readPcap(
      new Uint8Array(
        readFileSync(fileURLToPath(new URL('../../fixtures/invalid-reasons-nflog.pcap', import.meta.url))),
      ),
    );
    const rewrite = new MiddleboxEngine({ profile: asa({ sackTranslation: true }), path: path(), seed: 1 });
    const transparent = new MiddleboxEngine({ profile: profile(), path: path(), seed: 1 });
    let rewritten = 0;
    for (const p of pcap.packets) {
      const nl = networkLayer(pcap.linktype, p.data, pcap.bigEndian)!;
      const a = p.data.slice(nl.offset);
      const b = a.slice();
      // These are mid-connection packets (no SYN seen): make each its own flow by a SYN first.
      const syn = a.slice(0, 40);
      syn[0] = 0x45;
      syn[2] = 0;
      syn[3] = 40;
      syn[32] = 0x50;
      syn[33] = 0x02;
      rewrite.process(syn, 0, 40, 0);
      expect(rewrite.process(a, 0, a.length, 0)).not.toBe(DROP);
      if (rewrite.modified) rewritten++;
      expect(tcpChecksumField(a, 20)).toBe(tcpChecksum(a, 0));
      transparent.process(b, 0, b.length, 0);
      expect(transparent.modified).toBe(false);
      expect(b).toEqual(p.data.subarray(nl.offset));
    }
    expect(rewritten).toBe(pcap.packets.length);
    expect(rewrite.counters().sackBlocksTranslated).toBeGreaterThan(60);
  });
});
