// Runs a matrix: each cell through the ordinary runScenario (its own three hosts, its own run
// folder and report), a few at a time, then the grid, matrix.json, matrix.html and summary.md.
import { workloadComplete } from '../result/metrics.js';
import { progressWords } from '../report/workload.js';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { runLimited, runScenario } from '../run/run.js';
import type { Progress } from '../run/variant.js';
import { newRunId } from '../runtime/labels.js';
import type { Runtime } from '../runtime/types.js';
import type { Scenario } from '../scenario/model.js';
import { expandMatrix, selectControl, type MatrixCell } from './cells.js';
import { cellName } from './pattern.js';
import { renderMatrixHtml, renderMatrixMarkdown } from './report.js';
import { cellResult, matrixVerdict, type CellRun, type MatrixResult } from './result.js';
import type { ShardInfo } from './shard.js';

export interface MatrixOptions {
  outDir: string;
  seed?: number;
  /** Cells run at the same time, each on its own lab (default 2). */
  parallel?: number;
  runId?: string;
  createRuntime: (runId: string) => Promise<Runtime>;
  progress?: Progress;
  /**
   * Run only these cells (a shard's share), plus the control cell as the throughput baseline
   * when it is not among them; the result lists only these cells.
   */
  only?: string[];
  /** A shard's marks for matrix.json (src/matrix/shard.ts). */
  shard?: ShardInfo;
}

function describeError(e: unknown): string {
  if (e instanceof CtlabError) return e.message;
  return (e as Error)?.message ?? String(e);
}

export async function runMatrix(s: Scenario, o: MatrixOptions): Promise<MatrixResult> {
  const progress = o.progress ?? (() => {});
  const runId = o.runId ?? newRunId();
  const startedAt = new Date();
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const grid = expandMatrix(s);
  const control = selectControl(s, grid);
  const parallel = Math.max(1, o.parallel ?? 2);
  const m = s.matrix!;
  const only = o.only ? new Set(o.only) : undefined;
  if (only) {
    const unknown = [...only].filter((n) => !grid.some((c) => c.name === n));
    if (unknown.length)
      throw new CtlabError('SCENARIO', `no cell ${unknown.join(', ')} in the matrix of ${s.file}`, {
        hint: `cells: ${grid.map((c) => c.name).join(', ')}`,
      });
  }
  // A shard owning no cell runs nothing, not even the control.
  const cells = only ? grid.filter((c) => only.has(c.name) || (only.size > 0 && c === control)) : grid;
  const counted = (c: MatrixCell) => !only || only.has(c.name);
  progress(
    only
      ? `matrix ${s.name}: ${cells.filter(counted).length} of ${grid.length} cells${cells.some((c) => !counted(c)) ? `, and the control ${control!.name} as this run's throughput baseline` : ''}, ${parallel} at a time; control ${control?.name ?? 'none'}`
      : `matrix ${s.name}: ${cells.length} cells (${m.firewalls.length} firewalls x ${m.servers.length} server configurations), ${parallel} at a time; control ${control?.name ?? 'none'}`,
  );
  let done = 0;
  const job = (cell: MatrixCell, i: number) => async (): Promise<CellRun> => {
    // Each cell is its own run (own run id, so its containers are labelled and cleaned apart).
    const cellRunId = `${runId}-c${String(i + 1).padStart(2, '0')}`;
    const t = Date.now();
    const run: CellRun = { cell, runId: cellRunId, dir: cell.name };
    try {
      run.result = await runScenario(cell.scenario, {
        outDir: join(outDir, cell.name),
        seed: o.seed,
        runId: cellRunId,
        parallel: 1,
        createRuntime: o.createRuntime,
        progress: (msg) => progress(msg.startsWith(cell.name) ? msg : `${cell.name}: ${msg}`),
      });
    } catch (e) {
      run.error = describeError(e);
    }
    done++;
    const result = run.result;
    const v = result?.variants[0];
    progress(
      `[${done}/${cells.length}] ${cell.name}: ` +
        (result && v
          ? `${progressWords(v)}, ${v.attempts.timedOut} timed out, ${v.server.invalidDrops} INVALID drops, ` +
            `${result.passed ? 'as expected' : 'NOT as expected'} (${((Date.now() - t) / 1000).toFixed(1)} s)`
          : `could not run: ${run.error}`),
    );
    return run;
  };
  const runs = await runLimited(cells.map(job), parallel);
  const controlRun = control ? runs.find((r) => r.cell.name === control.name) : undefined;
  const controlVariant = controlRun?.result?.variants[0];
  const shardName = o.shard ? `${o.shard.index}/${o.shard.count}` : '';
  const results = runs
    .filter((r) => counted(r.cell))
    .map((r) => {
      const c = cellResult(r, controlVariant);
      if (only && controlRun)
        c.comparedWith = {
          cell: controlRun.cell.name,
          shard: shardName,
          runId: controlRun.runId,
          throughputBytesPerSec:
            controlVariant && workloadComplete(controlVariant) ? controlVariant.throughputBytesPerSec : null,
        };
      return c;
    });
  const controlOnly = controlRun && !counted(controlRun.cell) ? cellResult(controlRun, controlVariant) : undefined;
  const problems = results.flatMap((c) => [
    ...(c.error ? [`${c.name}: ${c.error}`] : []),
    ...c.problems.map((p) => `${c.name}: ${p}`),
  ]);
  // The control run only as this shard's baseline: its trouble is every ratio's trouble.
  if (controlOnly)
    problems.push(
      ...(controlOnly.error
        ? [`${controlOnly.name} (control, this shard's throughput baseline): ${controlOnly.error}`]
        : []),
      ...controlOnly.problems.map((p) => `${controlOnly.name} (control, this shard's throughput baseline): ${p}`),
    );
  const result: MatrixResult = {
    schemaVersion: 1,
    kind: 'ctlab-matrix',
    scenario: s.name,
    scenarioFile: s.file,
    seed: o.seed ?? s.seed,
    runId,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    parallel,
    kernel: results.find((c) => c.kernel)?.kernel ?? '',
    axes: { firewall: m.firewalls.map((f) => f.name), server: m.servers.map((x) => x.name) },
    excluded: m.firewalls
      .flatMap((f) => m.servers.map((x) => cellName(f.name, x.name)))
      .filter((c) => !grid.some((x) => x.name === c)),
    control: control
      ? {
          cell: control.name,
          throughputBytesPerSec:
            controlVariant && workloadComplete(controlVariant) ? controlVariant.throughputBytesPerSec : null,
        }
      : null,
    cells: results,
    verdict: matrixVerdict(results),
    passed: results.every((c) => c.passed),
    problems,
    ...(o.shard ? { shard: o.shard } : {}),
    ...(controlOnly
      ? {
          controlOnly: {
            cell: controlOnly.name,
            dir: controlOnly.dir,
            runId: controlOnly.runId,
            throughputBytesPerSec:
              controlOnly.outcome === 'error' || !controlOnly.harvest.complete
                ? null
                : controlOnly.throughputBytesPerSec,
            outcome: controlOnly.outcome,
            ...(controlOnly.result ? { result: controlOnly.result } : {}),
            ...(controlOnly.report ? { report: controlOnly.report } : {}),
            ...(controlOnly.error ? { error: controlOnly.error } : {}),
          },
        }
      : {}),
  };
  result.reports = { html: 'matrix.html', markdown: 'summary.md' };
  await Promise.all([
    writeFile(join(outDir, 'matrix.html'), renderMatrixHtml(result)),
    writeFile(join(outDir, 'summary.md'), renderMatrixMarkdown(result)),
  ]);
  await writeFile(join(outDir, 'matrix.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
