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
    expect(e.clientCounters).toEqual({ conntrackInvalid: 86, invalidDrops: null, dropper: 'rule' });
    // The server's own reasons stay separate (its captures are not in this fixture).
    expect(e.reasons).toEqual([]);
  });

  it('counts the reasons of a 6.18 run, where conntrack logged them but counted none INVALID', async () => {
    const e = await analyzeVariant(join(NAT, 'nat-6.18'));
    // The kernel's double space ("lower bound  (already") is normalised away.
    expect(e.clientReasons).toEqual([
      { reason: 'SEQ is under lower bound (already ACKed data retransmitted)', judged: 100, dropped: 0 },
    ]);
    expect(e.clientCounters).toEqual({ conntrackInvalid: 0, invalidDrops: null, dropper: 'rule' });
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
      expect(e.clientCounters).toEqual({ conntrackInvalid: 86, invalidDrops: 203, dropper: 'rule' });
      expect(e.clientReasons![0]!.dropped).toBe(0);
      // Every INVALID packet logged and every one dropped: the logged ones are the dropped ones.
      await writeFile(join(d, 'client-iptables.txt'), ipt.replace(/^(\s+)203(\s)/gm, '$143$2'));
      await writeFile(join(d, 'client-conntrack-stats.txt'), 'cpu=0   \tfound=0 invalid=43 insert=0\n');
      e = await analyzeVariant(d);
      expect(e.clientCounters).toEqual({ conntrackInvalid: 43, invalidDrops: 43, dropper: 'rule' });
      expect(e.clientReasons).toEqual([
        { reason: 'SEQ is under the lower bound (already ACKed data retransmitted)', judged: 43, dropped: 43 },
      ]);
    } finally {
      await rm(d, { recursive: true, force: true });
    }
  });

  it("counts the client's own ruleset's drops with the ctlab_count bracket (client.firewall.rules)", async () => {
    const { mkdtemp, cp, writeFile, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const d = await mkdtemp(join(tmpdir(), 'ctlab-client-'));
    const counter = (name: string, packets: number) => ({
      counter: { family: 'inet', name, table: 'ctlab_count', packets },
    });
    try {
      await cp(join(NAT, 'nat-5.10'), d, { recursive: true });
      const hooks = { input: [80, 0], forward: [0, 0], output: [6, 6] };
      const nftables = Object.entries(hooks).flatMap(([h, [b, a]]) => [
        counter(`${h}_before`, b!),
        counter(`${h}_after`, a!),
      ]);
      await writeFile(join(d, 'client-invalid-count.json'), JSON.stringify({ nftables }));
      let e = await analyzeVariant(d);
      // dropped = seen before the ruleset (86) minus seen after it (6); the iptables listing is not read.
      expect(e.clientCounters).toEqual({ conntrackInvalid: 86, invalidDrops: 80, dropper: 'ruleset' });
      await writeFile(join(d, 'client-invalid-count.json'), 'Error: No such file or directory');
      e = await analyzeVariant(d);
      expect(e.clientCounters!.invalidDrops).toBeNull();
      expect(e.problems).toContain('client-invalid-count.json does not hold the ctlab_count counters');
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
