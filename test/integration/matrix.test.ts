// ctlab matrix on real Docker: a small matrix (the ASA firewall, and the same firewall behind a
// load balancer that strips SACK-permitted, both against the unmitigated server) with fewer
// records. The predicted outcome of each cell is checked from the kernel's counters, not from
// the matrix's own verdict. The same grid then runs as two shards side by side through the real
// CLI (`ctlab matrix --shard i/2`), merged with `ctlab merge`: the merged grid must have the
// unsharded run's cells, outcomes (broken and degraded alike: see below) and predictions. Without Docker: fails when CI=true, skips
// otherwise.
import { execa } from 'execa';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
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

  describe('as two shards, then merged (the real CLI)', () => {
    const bin = join(import.meta.dirname, '../../bin/ctlab.js');
    const ctlab = (args: string[]) => execa('node', [bin, ...args], { reject: false, env: { CTLAB_DEBUG: '' } });
    let shards: Awaited<ReturnType<typeof ctlab>>[];
    let merge: Awaited<ReturnType<typeof ctlab>>;
    let merged: MatrixResult;

    beforeAll(async () => {
      const file = join(out, 'small-matrix.yaml');
      // Side by side, one cell at a time each: two CI runners.
      shards = await Promise.all(
        [1, 2].map((i) =>
          ctlab(['matrix', file, '--shard', `${i}/2`, '--parallel', '1', '--out', join(out, `shard-${i}`)]),
        ),
      );
      merge = await ctlab(['merge', join(out, 'shard-2'), join(out, 'shard-1'), '--out', join(out, 'merged')]);
      merged = JSON.parse(readFileSync(join(out, 'merged', 'matrix.json'), 'utf8')) as MatrixResult;
    }, 300_000);

    it('each shard runs its own cell, says so on stderr, and marks its folder', () => {
      for (const [k, r] of shards.entries()) {
        expect(r.exitCode, String(r.stderr)).toBe(0);
        const want = m.cells[k]!.name; // round robin: shard i owns the i-th cell
        expect(String(r.stderr)).toContain(`shard ${k + 1}/2: owns 1 of 2 cells: ${want}`);
        const j = JSON.parse(readFileSync(join(out, `shard-${k + 1}`, 'matrix.json'), 'utf8')) as MatrixResult;
        expect(j.cells.map((c) => c.name)).toEqual([want]);
        expect(j.shard).toMatchObject({ index: k + 1, count: 2, cells: [want], total: 2, seed: 7 });
      }
    });

    it("the merge has the unsharded run's cells, outcomes and predictions met, and exits as matrix does", () => {
      expect(merge.exitCode, String(merge.stderr)).toBe(0);
      // With 800 records the ASA cell sometimes completes within its retries (degraded) and
      // sometimes not (broken), run to run (seen here: degraded unsharded, broken in its shard);
      // both are the predicted harm (the test above allows either), so they compare as one.
      const harm = (o: string) => (o === 'broken' || o === 'degraded' ? 'harmed' : o);
      const view = (x: MatrixResult) =>
        x.cells.map((c) => ({
          name: c.name,
          outcome: harm(c.outcome),
          passed: c.passed,
          expectations: c.expectations.map((e) => [e.text, e.passed]),
        }));
      expect(view(merged)).toEqual(view(m));
      expect(merged).toMatchObject({
        passed: m.passed,
        axes: m.axes,
        excluded: m.excluded,
        control: m.control,
        seed: m.seed,
        scenario: m.scenario,
      });
      expect(merged.merged!.shards.map((s) => s.index)).toEqual([1, 2]);
      for (const c of merged.cells) {
        expect(existsSync(join(out, 'merged', c.result!)), c.result).toBe(true);
        expect(readFileSync(join(out, 'merged', c.report!), 'utf8')).toContain('<!doctype html>');
      }
      expect(readFileSync(join(out, 'merged', 'matrix.html'), 'utf8')).toContain('id="shards"');
    });
  });
});
