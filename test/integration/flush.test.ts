// Connection pick-up after a conntrack flush mid-transfer, on real Docker and the real kernel:
// one kept-alive connection, `conntrack -F` on the server 0.5 s into the harvest. loose=1 picks
// the connection up (no INVALID, no timeout); loose=0 leaves its packets INVALID, dropped by the
// firewall, until the client's read timeout makes it reconnect. Checked from the kernel's
// counters. Without Docker: fails when CI=true, skips otherwise.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import type { RunResult } from '../../src/result/types.js';
import { runScenario } from '../../src/run/run.js';
import { newRunId } from '../../src/runtime/labels.js';
import { loadScenario } from '../../src/scenario/load.js';
import { dockerGate, labelledContainers } from './docker-gate.js';
import { describeWith } from '../gate.js';

const prerequisites = await dockerGate();

const SCENARIO = `name: small-flush
seed: 7
path: { delayMs: 15, rateMbit: 100 }
middlebox: { preset: transparent }
server: { sysctls: { net.netfilter.nf_conntrack_log_invalid: 6 }, firewall: { dropInvalid: true, backend: nft } }
workload: { records: 1500, pageSize: 100, recordBytes: 3000, keepAlive: true, connectTimeoutMs: 3000, readTimeoutMs: 3000, retries: 2, backoffMs: 250, maxDurationMs: 60000 }
actions: [{ at: 500ms, node: server, do: conntrack-flush }]
variants:
  - { name: loose-on, sysctls: { net.netfilter.nf_conntrack_tcp_loose: 1 } }
  - { name: loose-off, sysctls: { net.netfilter.nf_conntrack_tcp_loose: 0 } }
`;

describeWith(prerequisites, 'conntrack flush mid-transfer (real Docker, real kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-flush-'));
  const runId = newRunId();
  let r: RunResult;

  beforeAll(async () => {
    const file = join(out, 'small-flush.yaml');
    writeFileSync(file, SCENARIO);
    const images = await buildImages({ runId, progress: () => {} });
    r = await runScenario(loadScenario(file), {
      outDir: join(out, 'run'),
      runId,
      parallel: 2,
      createRuntime: (id) => runtimeFor(id, images),
    });
    console.log(`[flush.test] ${(r.durationMs / 1000).toFixed(1)} s; folder ${out}`);
  }, 240_000);

  const variant = (name: string) => r.variants.find((v) => v.name === name)!;

  it('flushed a live entry mid-harvest in both variants', () => {
    expect(r.problems).toEqual([]);
    for (const v of r.variants) {
      expect(v.actions).toHaveLength(1);
      expect(v.actions![0]!.ok).toBe(true);
      expect(v.actions![0]!.ranAtMs).toBeGreaterThanOrEqual(500);
      expect(v.actions![0]!.ranAtMs!).toBeLessThan(v.durationMs);
      expect(v.actions![0]!.flushedEntries).toBeGreaterThanOrEqual(1);
    }
  });

  it('loose=1: conntrack picks the connection up, nothing INVALID, no timeout', () => {
    const v = variant('loose-on');
    expect(v.serverSettings?.['net.netfilter.nf_conntrack_tcp_loose']).toBe('1');
    expect(v.harvest).toMatchObject({ records: 1500, complete: true });
    expect(v.attempts.timedOut).toBe(0);
    expect(v.server.invalidDrops).toBe(0);
    expect(v.server.conntrackInvalid).toBe(0);
  });

  it("loose=0: the connection's packets are INVALID and dropped; a retransmission timer fires, the client reconnects", () => {
    const v = variant('loose-off');
    expect(v.serverSettings?.['net.netfilter.nf_conntrack_tcp_loose']).toBe('0');
    expect(v.server.invalidDrops).toBeGreaterThan(0);
    expect(v.server.conntrackInvalid).toBeGreaterThanOrEqual(v.server.invalidDrops);
    // The RTO fires at whichever end had unacknowledged data when the flush landed: the server
    // mid-page, the client when the flush fell between pages and its next request was dropped.
    expect((v.server.nstat.TcpExtTCPTimeouts ?? 0) + (v.client.nstat.TcpExtTCPTimeouts ?? 0)).toBeGreaterThan(0);
    expect(v.attempts.readTimeouts).toBeGreaterThanOrEqual(1);
    // The retry's SYN is tracked normally: the harvest still completes.
    expect(v.harvest).toMatchObject({ records: 1500, complete: true });
  });

  it('leaves nothing labelled behind', async () => {
    expect(await labelledContainers(r.runId)).toBe(0);
  });
});
