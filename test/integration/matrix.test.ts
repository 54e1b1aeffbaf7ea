// ctlab matrix on real Docker: a small matrix (the ASA firewall, and the same firewall behind a
// load balancer that strips SACK-permitted, both against the unmitigated server) with fewer
// records. The predicted outcome of each cell is checked from the kernel's counters, not from
// the matrix's own verdict. Without Docker: fails when CI=true, skips otherwise.
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, expect, it } from 'vitest';
import { buildImages, runtimeFor } from '../../src/cli/lab.js';
import { runMatrix } from '../../src/matrix/run.js';
import type { MatrixResult } from '../../src/matrix/result.js';
import type { RunResult } from '../../src/result/types.js';
import { newRunId } from '../../src/runtime/labels.js';
import { loadScenario } from '../../src/scenario/load.js';
import { dockerGate, labelledContainers } from './docker-gate.js';
import { describeWith } from '../gate.js';

const prerequisites = await dockerGate();

// The canonical scenario's path and workload (seed 7), 800 records instead of 3,812.
const SCENARIO = `name: small-matrix
seed: 7
path: { delayMs: 15, rateMbit: 100, loss: { rate: 0.015, direction: to-client } }
server:
  sysctls: { net.netfilter.nf_conntrack_log_invalid: 6 }
  firewall: { dropInvalid: true, backend: nft }
workload: { records: 800, pageSize: 100, recordBytes: 3000, connectTimeoutMs: 3000, readTimeoutMs: 4000, retries: 2, backoffMs: 250, maxDurationMs: 120000 }
matrix:
  axes:
    firewall: [asa, asa+lb-strip-sack]
    server:
      flag-off: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 } }
  expect:
    - { firewall: asa, expect: [server.invalidDrops > 0, attempts.timedOut > 0] }
    - { firewall: asa+lb-strip-sack, expect: [complete == true, attempts.timedOut == 0, server.invalidDrops == 0] }
`;

describeWith(prerequisites, 'ctlab matrix (real Docker, real kernel)', () => {
  const out = mkdtempSync(join(tmpdir(), 'ctlab-matrix-'));
  const runId = newRunId();
  let m: MatrixResult;

  beforeAll(async () => {
    const file = join(out, 'small-matrix.yaml');
    writeFileSync(file, SCENARIO);
    const images = await buildImages({ runId, progress: () => {} });
    m = await runMatrix(loadScenario(file), {
      outDir: join(out, 'run'),
      runId,
      parallel: 2,
      createRuntime: (id) => runtimeFor(id, images),
    });
    console.log(`[matrix.test] ${m.cells.length} cells in ${(m.durationMs / 1000).toFixed(1)} s; folder ${out}`);
  }, 300_000);

  const cell = (name: string) => {
    const c = m.cells.find((x) => x.name === name);
    expect(c, name).toBeDefined();
    // The cell's own result.json is the source of truth: read the kernel counters there.
    const r = JSON.parse(readFileSync(join(out, 'run', c!.result!), 'utf8')) as RunResult;
    return { c: c!, v: r.variants[0]! };
  };

  it('the ASA cell breaks: conntrack INVALID drops, timeouts, SACK blocks left untranslated', () => {
    const { c, v } = cell('asa--flag-off');
    expect(v.sysctls['net.netfilter.nf_conntrack_tcp_be_liberal']).toBe('0');
    expect(v.server.invalidDrops).toBeGreaterThan(0);
    expect(v.server.conntrackInvalid).toBeGreaterThanOrEqual(v.server.invalidDrops);
    expect(v.attempts.timedOut).toBeGreaterThan(0);
    expect(v.middlebox.counters.sackBlocksUntranslated).toBeGreaterThan(0);
    expect(c.outcome).toBe(v.harvest.complete ? 'degraded' : 'broken');
    expect(c.passed).toBe(true);
  });

  it('the SACK-permitted-stripping load balancer protects: no SACK on the wire, no INVALID, every record', () => {
    const { c, v } = cell('asa+lb-strip-sack--flag-off');
    expect(v.harvest).toMatchObject({ records: 800, complete: true });
    expect(v.attempts.timedOut).toBe(0);
    expect(v.server.invalidDrops).toBe(0);
    expect(v.server.conntrackInvalid).toBe(0);
    // Loss happened and no SACK block was ever there to translate.
    expect(v.middlebox.counters.droppedByLoss).toBeGreaterThan(0);
    expect(v.middlebox.counters.sackBlocksUntranslated).toBe(0);
    expect(c).toMatchObject({ outcome: 'clean', passed: true });
  });

  it('records the kernel and the TCP settings read in the server node, and writes the grid files', () => {
    for (const c of m.cells) {
      expect(c.kernel).toMatch(/^\d+\.\d+/);
      expect(Object.keys(c.settings)).toEqual(
        expect.arrayContaining([
          'net.ipv4.tcp_congestion_control',
          'net.ipv4.tcp_sack',
          'net.ipv4.tcp_timestamps',
          'net.ipv4.tcp_window_scaling',
        ]),
      );
      expect(c.settings['net.ipv4.tcp_sack']).toBe('1');
      expect(readFileSync(join(out, 'run', c.report!), 'utf8')).toContain('<!doctype html>');
    }
    const j = JSON.parse(readFileSync(join(out, 'run', 'matrix.json'), 'utf8')) as MatrixResult;
    expect(j.cells.map((c) => c.name)).toEqual(['asa--flag-off', 'asa+lb-strip-sack--flag-off']);
    expect(j.passed).toBe(true);
    expect(readFileSync(join(out, 'run', 'matrix.html'), 'utf8')).toContain('data-cell="asa--flag-off"');
  });

  it('leaves nothing labelled behind', async () => {
    for (const c of m.cells) expect(await labelledContainers(c.runId), c.runId).toBe(0);
  });
});
