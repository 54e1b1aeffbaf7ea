import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runMatrixOnKernels, type MatrixKernelRunner } from '../../../src/matrix/kernels.js';
import type { CellOutcome, MatrixCellResult, MatrixResult } from '../../../src/matrix/result.js';

function cell(name: string, outcome: CellOutcome, drops: number, kernel: string): MatrixCellResult {
  const [firewall, server] = name.split('--') as [string, string];
  return {
    name,
    axes: { firewall, server },
    outcome,
    passed: true,
    harvest: { records: outcome === 'broken' ? 0 : 100, expectedRecords: 100, complete: outcome !== 'broken' },
    attempts: { total: 3, timedOut: outcome === 'broken' ? 3 : 0, failed: 0 },
    server: { invalidDrops: drops, conntrackInvalid: drops },
    throughputBytesPerSec: 1e6,
    throughputVsControl: 1,
    harvestMs: 1000,
    kernel,
    sysctls: {},
    settings: {},
    expectations: [],
    problems: [],
    dir: name,
    report: `${name}/report.html`,
    runId: 'x',
  };
}

function matrix(kernel: string, lateBroken: boolean): MatrixResult {
  return {
    schemaVersion: 1,
    kind: 'ctlab-matrix',
    scenario: 'm',
    scenarioFile: '/s/m.yaml',
    seed: 1,
    runId: 'r',
    startedAt: '2026-11-25T00:00:00Z',
    durationMs: 1,
    parallel: 1,
    kernel,
    axes: { firewall: ['asa', 'late'], server: ['flag-off'] },
    excluded: [],
    control: null,
    cells: [
      cell('asa--flag-off', 'broken', 140, kernel),
      cell('late--flag-off', lateBroken ? 'degraded' : 'clean', lateBroken ? 26 : 0, kernel),
    ],
    verdict: `verdict on ${kernel}`,
    passed: true,
    problems: [],
  };
}

const runner =
  (fail: string[] = []): MatrixKernelRunner =>
  async (spec) => {
    if (fail.includes(spec)) throw new Error('kernel panic');
    const release = spec === 'host' ? '6.18.0' : spec === '5.10' ? '5.10.0-46-cloud-amd64' : '6.1.0-50-cloud-amd64';
    return {
      matrix: matrix(release, spec === '5.10'),
      release,
      runtime: spec === 'host' ? 'docker' : 'netns',
      vm: spec === 'host' ? null : { accel: 'tcg', bootMs: 6000, jobMs: 60000 },
    };
  };

let dir = '';
afterEach(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('matrix --kernel', () => {
  it('names the cells whose outcome differs between kernels, and writes one page with a grid per kernel', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-mk-'));
    const r = await runMatrixOnKernels({ outDir: dir, kernels: ['host', '5.10'], runId: 'r1', runner: runner() });
    expect(r.kernels.map((k) => k.release)).toEqual(['5.10.0-46-cloud-amd64', '6.18.0']);
    expect(r.differences).toEqual([
      {
        cell: 'late--flag-off',
        perKernel: [
          {
            release: '5.10.0-46-cloud-amd64',
            outcome: 'degraded',
            invalidDrops: 26,
            throughputVsControl: 1,
            passed: true,
          },
          { release: '6.18.0', outcome: 'clean', invalidDrops: 0, throughputVsControl: 1, passed: true },
        ],
      },
    ]);
    expect(r.passed).toBe(true);
    expect(r.verdict).toMatch(
      /^1 cell differ between kernels \(late--flag-off: degraded on 5\.10\.0-46-cloud-amd64, clean on 6\.18\.0\)\. On 5\.10/,
    );
    const html = await readFile(join(dir, 'matrix.html'), 'utf8');
    // each kernel's grid links into that kernel's folder
    expect(html).toContain('href="kernel-5.10/asa--flag-off/report.html"');
    expect(html).toContain('href="kernel-host/asa--flag-off/report.html"');
    expect(html).toContain('software emulation');
    expect(JSON.parse(await readFile(join(dir, 'matrix.json'), 'utf8')).kind).toBe('ctlab-matrix-kernels');
  });
  it('fails the run when a kernel could not run the matrix, keeping the others', async () => {
    dir = await mkdtemp(join(tmpdir(), 'ctlab-mk-'));
    const r = await runMatrixOnKernels({
      outDir: dir,
      kernels: ['5.10', '6.1'],
      runId: 'r2',
      runner: runner(['5.10']),
    });
    expect(r.passed).toBe(false);
    expect(r.verdict).toBe('Inconclusive: the matrix did not run on 5.10 (kernel panic).');
    expect(r.kernels.find((k) => k.spec === '6.1')!.cells).toHaveLength(2);
  });
});
