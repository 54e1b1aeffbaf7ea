// Out-of-window packets and client-side NAT against the real kernel: scenarios/nat-reset.yaml on
// this host's kernel (kubernetes#74839). The client DNATs a service VIP to the server in its own
// nat table; the middlebox holds every 20th server data segment for 200 ms. Asserted from the
// kernel's own counters and the client's capture: the NAT is in place (the client's conntrack
// holds VIP -> server entries, the wire never carries the VIP), the late segments reach the
// client as duplicates, and the outcome is the one this kernel dictates (from 6.1 on: nothing
// INVALID, nothing reset; before: INVALID at the client, RSTs that reset the server).
// Without Docker: fails when CI=true, skips otherwise.
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import { decode, networkLayer, readPcap } from '../../src/packet/index.js';
import type { RunResult, VariantResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { compareKernelVersions } from '../../src/result/kernel.js';
import { loadScenario } from '../../src/scenario/load.js';
import { ADDR } from '../../src/topology/build.js';
import { dockerGate, labelledContainers } from './docker-gate.js';
import { describeWith } from '../gate.js';

const VIP = '198.18.3.80';

/** The client's capture: addresses seen, and server data segments whose sequence the client had already received (late duplicates). */
function clientWire(pcapFile: string): { addresses: Set<string>; serverData: number; duplicates: number } {
  const pcap = readPcap(readFileSync(pcapFile));
  const addresses = new Set<string>();
  const seen = new Map<number, Set<number>>();
  let serverData = 0;
  let duplicates = 0;
  for (const p of pcap.packets) {
    const nl = networkLayer(pcap.linktype, p.data, pcap.bigEndian);
    if (nl?.ipVersion !== 4) continue;
    const d = decode(p.data, nl.offset);
    addresses.add(d.ip.src).add(d.ip.dst);
    const t = d.tcp;
    if (!t || d.ip.src !== ADDR.server || d.payloadLength === 0) continue;
    serverData++;
    let s = seen.get(t.dstPort);
    if (!s) {
      s = new Set();
      seen.set(t.dstPort, s);
    }
    if (s.has(t.seq)) duplicates++;
    else s.add(t.seq);
  }
  return { addresses, serverData, duplicates };
}

const prerequisites = await dockerGate();

describeWith(prerequisites, "client-side NAT and late server data on this host's kernel (real Docker)", () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-nat-reset-'));
  const runId = newRunId();
  let r: RunResult;
  const variant = (name: string): VariantResult => r.variants.find((v) => v.name === name)!;

  beforeAll(async () => {
    const images = await buildImages({ runId: newRunId(), progress: () => {} });
    r = await runScenario(loadScenario('scenarios/nat-reset.yaml'), {
      outDir: out,
      runId,
      variants: ['nat', 'nat-drop-invalid', 'direct'],
      createRuntime: (id) => runtimeFor(id, images),
    });
  }, 300_000);

  afterAll(() => {
    console.log(`[nat-reset.test] run folder kept in ${out}`);
  });

  it('DNATs the VIP on the client: its conntrack maps VIP -> server, and only real addresses are on the wire', () => {
    for (const name of ['nat', 'nat-drop-invalid']) {
      const v = variant(name);
      expect(v.client.serviceVip, name).toBe(VIP);
      expect(v.client.natFlows, name).toBeGreaterThanOrEqual(1);
      expect(readFileSync(join(out, v.dir, 'client-conntrack.txt'), 'utf8')).toMatch(
        new RegExp(`dst=${VIP.replace(/\./g, '\\.')} sport=\\d+ dport=80 src=${ADDR.server.replace(/\./g, '\\.')} `),
      );
      const wire = clientWire(join(out, v.dir, 'client.pcap'));
      expect([...wire.addresses].sort(), name).toEqual([ADDR.client, ADDR.server].sort());
      expect(v.harvest.records, name).toBe(v.harvest.expectedRecords);
    }
    const direct = variant('direct');
    expect(direct.client.serviceVip).toBeUndefined();
    expect(direct.client.natFlows).toBeUndefined();
  });

  it('held every 20th server data segment, which reached the client after its retransmission', () => {
    for (const v of r.variants) {
      const c = v.middlebox.counters;
      expect(c.lateServerData, v.name).toBeGreaterThan(50);
      expect(c.lateClientAcks ?? 0, v.name).toBe(0);
      expect(c.packetsRewritten, v.name).toBe(0);
      expect(v.middlebox.queueDrops, v.name).toBe(0);
      const wire = clientWire(join(out, v.dir, 'client.pcap'));
      // About 1 in 20 server segments was held...
      expect(wire.serverData / c.lateServerData!, v.name).toBeGreaterThan(15);
      // ... and most arrived as duplicates: the server had already retransmitted them.
      expect(wire.duplicates, v.name).toBeGreaterThan(c.lateServerData! / 2);
      expect(wire.duplicates, v.name).toBeLessThanOrEqual(c.lateServerData! + v.server.nstat.TcpRetransSegs!);
    }
  });

  it('ends as this kernel dictates', () => {
    const nat = variant('nat');
    const fix = variant('nat-drop-invalid');
    if (compareKernelVersions(nat.kernel, '6.1') >= 0) {
      // Late segments are only "ignored" by the client's conntrack: still NATed, harmless.
      for (const v of [nat, fix]) {
        expect(v.client.conntrackInvalid, v.name).toBe(0);
        expect(v.server.nstat.TcpEstabResets, v.name).toBe(0);
        expect(v.attempts.failed, v.name).toBe(0);
        expect(v.harvest.complete, v.name).toBe(true);
      }
      expect(fix.client.invalidDrops).toBe(0);
    } else {
      // INVALID at the client, not un-NATed, answered with RSTs that reset the server.
      expect(nat.client.conntrackInvalid).toBeGreaterThan(0);
      expect(nat.server.nstat.TcpEstabResets).toBeGreaterThan(0);
      expect(fix.client.invalidDrops).toBeGreaterThan(0);
      expect(fix.server.nstat.TcpEstabResets).toBe(0);
    }
    expect(variant('direct').server.nstat.TcpEstabResets).toBe(0);
    expect(r.passed).toBe(true);
  });

  it('leaves nothing labelled behind', async () => {
    expect(await labelledContainers(runId)).toBe(0);
  });
});
