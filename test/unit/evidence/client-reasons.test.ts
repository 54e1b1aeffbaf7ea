import { join } from 'node:path';
// The facts; their sentences are tested in test/unit/report/diagnosis.test.ts.
import { describe, expect, it } from 'vitest';
import { analyzeVariant } from '../../../src/evidence/index.js';

// Real client-side captures of scenarios/nat-reset.yaml's nat variant (see the fixture's README).
const NAT = join(import.meta.dirname, '../../fixtures/evidence/nat-reset');
const RUN = join(import.meta.dirname, '../../fixtures/evidence/run');

describe("the client's conntrack reasons (client-invalid-reasons.pcap)", () => {
  it('counts the reasons of a 5.10 run, where they were INVALID', async () => {
    const e = await analyzeVariant(join(NAT, 'nat-5.10'));
    expect(e.clientReasons).toEqual([
      { reason: 'SEQ is under the lower bound (already ACKed data retransmitted)', judged: 43, dropped: 0 },
    ]);
    expect(e.clientCounters).toEqual({ conntrackInvalid: 86, invalidDrops: null });
    // The server's own reasons stay separate (its captures are not in this fixture).
    expect(e.reasons).toEqual([]);
  });

  it('counts the reasons of a 6.18 run, where conntrack logged them but counted none INVALID', async () => {
    const e = await analyzeVariant(join(NAT, 'nat-6.18'));
    // The kernel's double space ("lower bound  (already") is normalised away.
    expect(e.clientReasons).toEqual([
      { reason: 'SEQ is under lower bound (already ACKed data retransmitted)', judged: 100, dropped: 0 },
    ]);
    expect(e.clientCounters).toEqual({ conntrackInvalid: 0, invalidDrops: null });
    expect(e.problems.some((p) => p.includes('client-invalid-reasons.pcap'))).toBe(false);
  });

  it("reads the client's INVALID rule counter, and counts logged packets as dropped only when the counters say all were", async () => {
    const { mkdtemp, cp, readFile, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const ipt = await readFile(join(NAT, 'nat-drop-invalid-5.10-client-iptables.txt'), 'utf8');
    const d = await mkdtemp(join(tmpdir(), 'ctlab-client-'));
    try {
      await cp(join(NAT, 'nat-5.10'), d, { recursive: true });
      await writeFile(join(d, 'client-iptables.txt'), ipt);
      // 203 dropped, 86 INVALID, 43 logged: which logged packets were dropped cannot be known.
      let e = await analyzeVariant(d);
      expect(e.clientCounters).toEqual({ conntrackInvalid: 86, invalidDrops: 203 });
      expect(e.clientReasons![0]!.dropped).toBe(0);
      // Every INVALID packet logged and every one dropped: the logged ones are the dropped ones.
      await writeFile(join(d, 'client-iptables.txt'), ipt.replace(/^(\s+)203(\s)/gm, '$143$2'));
      await writeFile(join(d, 'client-conntrack-stats.txt'), 'cpu=0   \tfound=0 invalid=43 insert=0\n');
      e = await analyzeVariant(d);
      expect(e.clientCounters).toEqual({ conntrackInvalid: 43, invalidDrops: 43 });
      expect(e.clientReasons).toEqual([
        { reason: 'SEQ is under the lower bound (already ACKed data retransmitted)', judged: 43, dropped: 43 },
      ]);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it('leaves the client out when the run has no client capture', async () => {
    const e = await analyzeVariant(join(RUN, 'flag-off'));
    expect(e.clientReasons).toBeUndefined();
    expect(e.clientCounters).toBeUndefined();
    expect(e.problems.some((p) => p.includes('client-invalid-reasons.pcap'))).toBe(false);
  });
});
