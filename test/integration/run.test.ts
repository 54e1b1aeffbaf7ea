// The main job against the real engine and kernel: the canonical scenario reproduces the
// incident (flag off: INVALID drops and timeouts; flag on: all 3,812 records, no INVALID drop),
// the SACK-translated control shows no INVALID drop with the flag off, every claim read from a
// kernel counter, and nothing labelled is left behind. Without Docker: fails when CI=true,
// skips (with a message) otherwise.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import type { RunResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import type { LabImages } from '../../src/runtime/images.js';
import { newRunId } from '../../src/runtime/labels.js';
import { loadScenario } from '../../src/scenario/load.js';
import { decode, networkLayer, readPcap, type DecodedPacket } from '../../src/packet/index.js';
import { dockerGate, labelledContainers } from './docker-gate.js';
import { describeWith } from '../gate.js';

interface Flow {
  client: string;
  clientOffset: number;
  serverOffset: number;
}

/** Client->server TCP packets of a capture, keyed by client port and IP id (the middlebox keeps both). */
function clientPackets(file: string): Map<string, DecodedPacket> {
  const pcap = readPcap(readFileSync(file));
  const out = new Map<string, DecodedPacket>();
  for (const p of pcap.packets) {
    const nl = networkLayer(pcap.linktype, p.data, pcap.bigEndian);
    if (nl?.ipVersion !== 4) continue;
    const d = decode(p.data, nl.offset);
    if (d.tcp && d.ip.src === '198.18.1.2') out.set(`${d.tcp.srcPort}/${d.ip.id}`, d);
  }
  return out;
}

const sackEdges = (d: DecodedPacket) => d.tcp!.options.flatMap((o) => (o.name === 'sack' ? o.blocks.flat() : []));

/**
 * The same client packets seen on both sides of the middlebox: seq shifted by the client
 * offset, ack by the server offset, and SACK edges shifted (translated) or untouched.
 */
function wireCheck(dir: string, translated: boolean): { packets: number; sackPackets: number } {
  const flows = new Map<number, Flow>();
  for (const l of readFileSync(join(dir, 'middlebox-flows.jsonl'), 'utf8').split('\n').filter(Boolean)) {
    const f = JSON.parse(l) as Flow;
    flows.set(Number(f.client.split(':')[1]), f);
  }
  const before = clientPackets(join(dir, 'client.pcap'));
  const after = clientPackets(join(dir, 'server.pcap'));
  let packets = 0;
  let sackPackets = 0;
  for (const [key, c] of before) {
    const s = after.get(key);
    const f = flows.get(c.tcp!.srcPort);
    if (!s || !f) continue; // dropped on the way, or a flow from before a SYN was seen
    packets++;
    expect(s.tcp!.seq).toBe((c.tcp!.seq + f.clientOffset) >>> 0);
    if (c.tcp!.flags & 0x10) expect(s.tcp!.ack).toBe((c.tcp!.ack - f.serverOffset) >>> 0);
    const ce = sackEdges(c);
    if (ce.length === 0) continue;
    sackPackets++;
    expect(sackEdges(s)).toEqual(translated ? ce.map((e) => (e - f.serverOffset) >>> 0) : ce);
  }
  return { packets, sackPackets };
}

const prerequisites = await dockerGate();

describeWith(prerequisites, 'ctlab run (real Docker, real kernel)', () => {
  let images: LabImages;
  const out = mkdtempSync(join(tmpdir(), 'ctlab-run-'));
  const runs: Record<string, { runId: string; result: RunResult }> = {};

  beforeAll(async () => {
    images = await buildImages({ runId: newRunId(), progress: () => {} });
    // Both scenarios at once: each variant has its own three hosts; 4 labs share 2 cores.
    await Promise.all(
      ['harvester-asa', 'harvester-asa-sack-translated'].map(async (name) => {
        const runId = newRunId();
        const s = loadScenario(`scenarios/${name}.yaml`);
        const result = await runScenario(s, {
          outDir: join(out, name),
          runId,
          createRuntime: (id) => runtimeFor(id, images),
        });
        runs[name] = { runId, result };
      }),
    );
  }, 400_000);

  afterAll(() => {
    console.log(`[run.test] run folders kept in ${out}`);
  });

  it('reproduces the incident: flag off breaks with INVALID drops, flag on harvests everything', () => {
    const r = runs['harvester-asa']!.result;
    const off = r.variants.find((v) => v.name === 'flag-off')!;
    const on = r.variants.find((v) => v.name === 'flag-on')!;
    expect(off.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0');
    expect(on.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('1');
    // Flag off: the firewall's INVALID counter and conntrack's own counter both rose; the
    // harvest lost attempts to timeouts.
    expect(off.server.invalidDrops).toBeGreaterThan(0);
    expect(off.server.conntrackInvalid).toBeGreaterThanOrEqual(off.server.invalidDrops);
    expect(off.attempts.timedOut).toBeGreaterThan(0);
    expect(off.harvest.complete && off.attempts.timedOut === 0).toBe(false);
    // The mechanism: the middlebox left SACK blocks untranslated and flows landed in the harmful half.
    expect(off.middlebox.counters.sackBlocksUntranslated).toBeGreaterThan(0);
    expect(off.middlebox.counters.sackBlocksTranslated).toBe(0);
    // Flag on: everything, no timeout, no INVALID drop.
    expect(on.harvest).toMatchObject({ records: 3812, expectedRecords: 3812, complete: true });
    expect(on.attempts.timedOut).toBe(0);
    expect(on.server.invalidDrops).toBe(0);
    expect(on.middlebox.queueDrops).toBe(0);
    expect(r.passed).toBe(true);
    expect(r.verdict).toMatch(
      /^Reproduced: with nf_conntrack_tcp_be_liberal=0 .* with =1 it harvested all 3,812 records/,
    );
  });

  it('shows no INVALID drop when the firewall translates SACK (the control)', () => {
    const r = runs['harvester-asa-sack-translated']!.result;
    for (const v of r.variants) {
      expect(v.server.invalidDrops, v.name).toBe(0);
      expect(v.harvest.records, v.name).toBe(3812);
      expect(v.middlebox.counters.sackBlocksTranslated, v.name).toBeGreaterThan(0);
      expect(v.middlebox.counters.sackBlocksUntranslated, v.name).toBe(0);
      // Loss was really applied: recovery happened through SACK, not luck.
      expect(v.middlebox.counters.droppedByLoss, v.name).toBeGreaterThan(0);
    }
    expect(r.passed).toBe(true);
  });

  it('writes result.json with the documented fields and keeps the evidence files', () => {
    const dir = join(out, 'harvester-asa');
    const j = JSON.parse(readFileSync(join(dir, 'result.json'), 'utf8')) as RunResult;
    expect(Object.keys(j)).toEqual(expect.arrayContaining(['scenario', 'seed', 'kernel', 'verdict', 'variants']));
    expect(j.kernel).toMatch(/^\d+\.\d+/);
    for (const v of j.variants) {
      expect(Object.keys(v)).toEqual(
        expect.arrayContaining([
          'name',
          'sysctls',
          'harvest',
          'attempts',
          'server',
          'throughputBytesPerSec',
          'expectations',
        ]),
      );
      expect(Object.keys(v.harvest)).toEqual(expect.arrayContaining(['records', 'expectedRecords', 'complete']));
      expect(Object.keys(v.attempts)).toEqual(expect.arrayContaining(['total', 'ok', 'timedOut', 'retries']));
      expect(Object.keys(v.server)).toEqual(expect.arrayContaining(['invalidDrops', 'conntrackInvalid']));
      for (const e of v.expectations) expect(Object.keys(e)).toEqual(expect.arrayContaining(['text', 'passed']));
      for (const f of ['events.jsonl', 'client.pcap', 'server.pcap', 'invalid-reasons.pcap', 'middlebox-flows.jsonl']) {
        expect(readFileSync(join(dir, v.name, f)).length, `${v.name}/${f}`).toBeGreaterThan(0);
      }
    }
    // Conntrack's own reason for the drops was captured in the server's namespace.
    const off = j.variants.find((v) => v.name === 'flag-off')!;
    expect(
      readFileSync(join(dir, 'flag-off', 'invalid-reasons.pcap')).includes(Buffer.from('ACK is over upper bound')),
    ).toBe(true);
    expect(off.server.invalidDrops).toBeGreaterThan(0);
  });

  it('shows on the wire, both sides of the middlebox: seq/ack shifted by the flow offsets, SACK edges untouched unless translated', () => {
    const off = wireCheck(join(out, 'harvester-asa', 'flag-off'), false);
    const ctl = wireCheck(join(out, 'harvester-asa-sack-translated', 'flag-off'), true);
    for (const r of [off, ctl]) {
      expect(r.packets).toBeGreaterThan(100);
      expect(r.sackPackets).toBeGreaterThan(0);
    }
  });

  it('leaves nothing labelled behind', async () => {
    for (const { runId } of Object.values(runs)) expect(await labelledContainers(runId)).toBe(0);
  });
});
