// Late ACKs against the real kernel: scenarios/late-ack.yaml on this host's kernel. The middlebox
// holds every Nth pure client ACK (the scenario's path.late.clientAcks); the server's capture shows them arriving after
// later ACKs; conntrack's own log says what the kernel made of them ("ignored ..." from 6.1 on,
// INVALID "ACK is under the lower bound" before); and the kernel-conditional expectations that
// were checked are the ones for this kernel. Without Docker: fails when CI=true, skips otherwise.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import { analyzeVariant } from '../../src/evidence/analyze.js';
import type { VariantEvidence } from '../../src/evidence/types.js';
import { readTcpPackets } from '../../src/evidence/packets.js';
import type { RunResult, VariantResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { compareKernelVersions } from '../../src/result/kernel.js';
import { loadScenario } from '../../src/scenario/load.js';
import { dockerGate, labelledContainers } from './docker-gate.js';
import { describeWith } from '../gate.js';

const CLIENT = '198.18.1.2';
const SCENARIO = loadScenario('scenarios/late-ack.yaml');
/** The scenario holds every EVERY-th pure client ACK. */
const EVERY = SCENARIO.path.late!.clientAcks!.every;

/**
 * Client ACKs as the server received them: how many acknowledged less than an ACK that arrived
 * before them (late), and how many pure ACKs there were. One flow per connection, by client port.
 */
function lateAcksAtServer(pcapFile: string): { pureAcks: number; late: number } {
  const maxAck = new Map<number, number>();
  let pureAcks = 0;
  let late = 0;
  for (const t of readTcpPackets(readFileSync(pcapFile))) {
    if (t.src !== CLIENT || (t.flags & 0x17) !== 0x10 || t.payloadLength !== 0) continue; // pure ACKs only
    pureAcks++;
    const m = maxAck.get(t.sport);
    if (m !== undefined && ((t.ack - m) | 0) < 0) late++;
    else maxAck.set(t.sport, t.ack);
  }
  return { pureAcks, late };
}

const prerequisites = await dockerGate();

describeWith(prerequisites, "late ACKs on this host's kernel (real Docker)", () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-late-'));
  const runId = newRunId();
  let r: RunResult;
  const ev: Record<string, VariantEvidence> = {};
  const variant = (name: string): VariantResult => r.variants.find((v) => v.name === name)!;

  beforeAll(async () => {
    const images = await buildImages({ runId: newRunId(), progress: () => {} });
    r = await runScenario(SCENARIO, {
      outDir: out,
      runId,
      createRuntime: (id) => runtimeFor(id, images),
    });
    for (const v of r.variants) ev[v.name] = await analyzeVariant(join(out, v.dir));
  }, 300_000);

  afterAll(() => {
    console.log(`[late.test] run folder kept in ${out}`);
  });

  it('the middlebox held every Nth pure client ACK, rewrote nothing, and only those ACKs arrived late', () => {
    for (const v of r.variants) {
      const c = v.middlebox.counters;
      const flows = readFileSync(join(out, v.dir, 'middlebox-flows.jsonl'), 'utf8')
        .split('\n')
        .filter(Boolean)
        .map((l) => JSON.parse(l) as { lateToServer: number; lateToClient: number });
      const late = c.lateClientAcks;
      if (late === undefined) throw new Error(`${v.name}: the middlebox reported no lateClientAcks counter`);
      expect(late, v.name).toBeGreaterThan(20);
      expect(c.lateServerData, v.name).toBe(0);
      expect(
        flows.reduce((a, f) => a + f.lateToServer, 0),
        v.name,
      ).toBe(late);
      expect(c.packetsRewritten, v.name).toBe(0);
      expect(v.middlebox.queueDrops, v.name).toBe(0);
      const wire = lateAcksAtServer(join(out, v.dir, 'server.pcap'));
      // Every Nth pure ACK, per flow: the server saw about N times as many pure ACKs as were held.
      expect(wire.pureAcks / late, v.name).toBeGreaterThanOrEqual(EVERY - 1);
      expect(wire.pureAcks / late, v.name).toBeLessThan(EVERY + 1 + flows.length);
      // Late at the server: most held ACKs (those with later ACKs behind them), and nothing else.
      expect(wire.late, v.name).toBeGreaterThan(late / 2);
      expect(wire.late, v.name).toBeLessThanOrEqual(late);
    }
  });

  it('conntrack saw the late ACKs as the kernel dictates: "ignored" from 6.1 on, INVALID and dropped before', () => {
    const off = variant('flag-off');
    const reasons = ev['flag-off']!.reasons;
    const byReason = (re: RegExp) =>
      reasons
        .filter((x) => re.test(x.reason))
        .reduce((a, x) => ({ judged: a.judged + x.judged, dropped: a.dropped + x.dropped }), { judged: 0, dropped: 0 });
    if (compareKernelVersions(off.kernel, '6.1') >= 0) {
      const ignored = byReason(/^ignored ACK under lower bound/);
      expect(ignored.judged).toBeGreaterThan(0);
      expect(ignored.judged).toBeLessThanOrEqual(off.middlebox.counters.lateClientAcks!);
      expect(ignored.dropped).toBe(0);
      expect(off.server.invalidDrops).toBe(0);
      expect(off.server.conntrackInvalid).toBe(0);
    } else {
      expect(byReason(/ACK is under the lower bound/).judged).toBeGreaterThan(0);
      expect(off.server.invalidDrops).toBeGreaterThan(0);
    }
    // be_liberal=1: conntrack accepts them without a word, on every kernel.
    expect(ev['flag-on']!.reasons.filter((x) => /lower bound/.test(x.reason))).toEqual([]);
    expect(variant('flag-on').server.invalidDrops).toBe(0);
  });

  it('checked the expectations for this kernel, and only those', () => {
    const off = variant('flag-off');
    const mine = compareKernelVersions(off.kernel, '6.1') < 0 ? '< 6.1' : '>= 6.1';
    const conditional = off.expectations.filter((e) => e.kernel !== undefined);
    expect(conditional.length).toBeGreaterThan(0);
    for (const e of conditional) {
      expect(e.kernel).toBe(mine);
      expect(e.text).toContain(`(kernel ${mine}: ${off.kernel})`);
    }
    expect(off.expectations.map((e) => e.text)).toContain('complete == true');
    for (const v of r.variants) expect(v.harvest.complete, v.name).toBe(true);
    expect(r.passed).toBe(true);
  });

  it('leaves nothing labelled behind', async () => {
    expect(await labelledContainers(runId)).toBe(0);
  });
});
