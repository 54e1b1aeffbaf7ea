import { cp, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { analyzeRun, analyzeVariant, normaliseReason, variantDir } from '../../../src/evidence/index.js';
import { NSTAT_KEPT } from '../../../src/measure/nstat.js';
import type { RunResult } from '../../../src/result/types.js';

// A real run of scenarios/harvester-asa.yaml (seed 7), trimmed: flag-off keeps its full
// server-side captures, flag-on keeps the first 120 packets of each capture.
const FIX = join(import.meta.dirname, '../../fixtures/evidence/run');
const tmp: string[] = [];
afterAll(async () => {
  for (const d of tmp) await rm(d, { recursive: true, force: true });
});

describe('normaliseReason', () => {
  it('takes the numbers and the module prefix out', () => {
    expect(normaliseReason('nf_ct_proto_6: ACK is over upper bound 1494045566 (ACKed data not seen yet) ')).toBe(
      'ACK is over upper bound (ACKed data not seen yet)',
    );
    expect(normaliseReason('nf_ct_proto_6: SEQ is under the lower bound (already ACKed data retransmitted) ')).toBe(
      'SEQ is under the lower bound (already ACKed data retransmitted)',
    );
    expect(normaliseReason('nf_ct_tcp: invalid packet ignored in state ESTABLISHED ')).toBe(
      'invalid packet ignored in state ESTABLISHED',
    );
    expect(normaliseReason('nf_ct_proto_6: ACK is under the lower bound 12 (possible overly delayed ACK)')).toBe(
      'ACK is under the lower bound (possible overly delayed ACK)',
    );
  });
});

describe('analyzeVariant on a real flag-off run', async () => {
  const e = await analyzeVariant(join(FIX, 'flag-off'));

  it("counts conntrack's reasons and accounts for every firewall drop", () => {
    expect(e.reasons).toEqual([
      { reason: 'ACK is over upper bound (ACKed data not seen yet)', judged: 162, dropped: 162 },
    ]);
    // The iptables counter was read a moment before the capture stopped: one more drop captured.
    expect(e.drops).toMatchObject({ counter: 161, captured: 162, withReason: 162, withoutReason: 0, accounted: true });
  });

  it('ties every drop to its flow and attempt', () => {
    expect(e.droppedPackets).toHaveLength(162);
    expect(e.droppedPackets.every((d) => d.flow !== null && d.attempt !== null && d.page === 0)).toBe(true);
    const perAttempt = [1, 2, 3].map((a) => e.droppedPackets.filter((d) => d.attempt === a).length);
    expect(perAttempt).toEqual([31, 60, 71]);
    // Each flow's drops are attributed to the attempt whose port the flow has.
    for (const f of e.flows)
      expect(f.client.endsWith(`:${e.attempts.find((a) => a.attempt === f.attempt)!.localPort}`)).toBe(true);
    expect(e.droppedPackets.every((d) => d.shiftedSack)).toBe(true);
  });

  it('joins each failed attempt to its flow, drops and nginx line (its sentence: test/unit/report/diagnosis.test.ts)', () => {
    expect(e.flows.map((f) => [f.ordinal, f.attempt, f.outcome, f.serverOffsetHalf, f.invalidDrops])).toEqual([
      [0, 1, 'read-timeout', 'pos', 31],
      [1, 2, 'read-timeout', 'pos', 60],
      [2, 3, 'read-timeout', 'pos', 71],
    ]);
    const f = e.flows[1]!;
    expect(e.attempts[f.attemptIndex!]).toMatchObject({
      page: 0,
      attempt: 2,
      localPort: 55030,
      outcome: 'read-timeout',
    });
    expect(f.reasons).toEqual({ 'ACK is over upper bound (ACKed data not seen yet)': 60 });
    expect(f).toMatchObject({
      serverOffset: 893_298_210,
      shiftedSackDrops: 60,
      nginx: { completion: 'OK', bytesSent: 303_972 },
    });
    expect(f.sackBlocksUntranslated).toBeGreaterThan(0);
  });

  it("sets nginx's log against the client's attempts", () => {
    expect(e.nginx).toMatchObject({ requests: 2, complete: 2 });
    expect(e.nginx.mismatches.map((m) => [m.kind, m.attempt])).toEqual([
      ['server-never-logged', 1],
      ['server-complete-client-failed', 2],
      ['server-complete-client-failed', 3],
    ]);
    for (const m of e.nginx.mismatches) expect(e.attempts[m.attemptIndex!]!.attempt).toBe(m.attempt);
    expect(e.nginx.mismatches.map((m) => m.nginx?.status ?? null)).toEqual([null, 200, 200]);
  });

  it('reads the kernel counters and counts retransmissions in the capture', () => {
    const c = Object.fromEntries(e.nstat.map((x) => [x.name, x]));
    expect(c.TcpRetransSegs).toMatchObject({ server: 15, client: 11 });
    expect(c.TcpExtTCPTimeouts).toMatchObject({ server: 15, client: 9 });
    // Every counter a result keeps, in its order (src/measure/nstat.ts).
    expect(e.nstat.map((x) => x.name)).toEqual([...NSTAT_KEPT]);
    expect(e.retransmissions.serverPcap).toBe(27); // = tshark -Y tcp.analysis.retransmission (packets.test.ts)
  });

  it('builds the series for the charts', () => {
    expect(e.series.attempts.map((a) => a.outcome)).toEqual(['read-timeout', 'read-timeout', 'read-timeout']);
    expect(e.series.invalidDrops.reduce((a, p) => a + p.value, 0)).toBe(162);
    expect(e.series.throughputSource).toBe('client.pcap');
    expect(e.series.throughput.some((p) => p.value > 0)).toBe(true);
    expect(e.problems).toEqual([]);
  });
});

describe('analyzeVariant on flag-on', () => {
  it('finds nothing dropped and every attempt ok', async () => {
    const e = await analyzeVariant(join(FIX, 'flag-on'));
    expect(e.attempts).toHaveLength(39);
    expect(e.drops).toMatchObject({ counter: 0, captured: 0, accounted: true });
    expect(e.reasons).toEqual([]);
    expect(e.nginx.mismatches).toEqual([]);
  });
});

describe('analyzeVariant when evidence does not add up', () => {
  it('reports drops the firewall counted but no reason explains', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ctlab-ev-'));
    tmp.push(d);
    await cp(join(FIX, 'flag-off'), d, { recursive: true });
    const ipt = await readFile(join(d, 'server-iptables.txt'), 'utf8');
    await writeFile(join(d, 'server-iptables.txt'), ipt.replace(/^\s+161\s+10936 DROP/m, '     200    13000 DROP'));
    const e = await analyzeVariant(d);
    expect(e.drops).toMatchObject({ counter: 200, captured: 162, withReason: 162, withoutReason: 0, accounted: false });
  });

  it("matches a drop to its reason stamped up to 1 s later (the two captures' clocks), not beyond", async () => {
    // A little-endian classic pcap: 24-byte file header, then per record ts_sec, ts_usec,
    // incl_len, orig_len (4 bytes each) and the record.
    const later = (pcap: Buffer, ms: number) => {
      const b = Buffer.from(pcap);
      for (let o = 24; o + 16 <= b.length; o += 16 + b.readUInt32LE(o + 8)) {
        const us = b.readUInt32LE(o) * 1e6 + b.readUInt32LE(o + 4) + ms * 1000;
        b.writeUInt32LE(Math.floor(us / 1e6), o);
        b.writeUInt32LE(us % 1e6, o + 4);
      }
      return b;
    };
    const reasons = await readFile(join(FIX, 'flag-off', 'invalid-reasons.pcap'));
    const drops = async (ms: number) => {
      const d = await mkdtemp(join(tmpdir(), 'ctlab-ev-'));
      tmp.push(d);
      await cp(join(FIX, 'flag-off'), d, { recursive: true });
      await writeFile(join(d, 'invalid-reasons.pcap'), later(reasons, ms));
      return (await analyzeVariant(d)).drops;
    };
    // Measured: up to 90 ms apart in a 6.1 VM under emulation (scenarios/window-overflow.yaml).
    expect(await drops(90)).toMatchObject({ captured: 162, withReason: 162, accounted: true });
    // 1.5 s later: a reason no longer matches its own drop (only a later drop of the same bytes).
    const late = await drops(1500);
    expect(late.accounted).toBe(false);
    expect(late.withReason).toBeLessThan(162 / 2);
  });

  it('says which files are missing instead of failing', async () => {
    const d = await mkdtemp(join(tmpdir(), 'ctlab-ev-'));
    tmp.push(d);
    await cp(join(FIX, 'flag-off/events.jsonl'), join(d, 'events.jsonl'));
    const e = await analyzeVariant(d);
    expect(e.attempts).toHaveLength(3);
    expect(e.problems).toContain('invalid-drops.pcap is missing');
    expect(e.series.throughputSource).toBe('events');
  });

  it('rejects a folder that does not exist', async () => {
    await expect(analyzeVariant(join(FIX, 'no-such-variant'))).rejects.toThrow(/no variant folder/);
  });
});

describe('analyzeRun', () => {
  it('keys evidence by variant folder', async () => {
    const r = JSON.parse(await readFile(join(FIX, 'result.json'), 'utf8')) as RunResult;
    const ev = await analyzeRun(r, FIX);
    expect(Object.keys(ev)).toEqual(['flag-off', 'flag-on']);
    expect(variantDir({ repetitions: 2 }, { name: 'flag-off', repetition: 2 })).toBe('flag-off-2');
  });
});
