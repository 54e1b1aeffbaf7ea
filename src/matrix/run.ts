// Runs a matrix: each cell through the ordinary runScenario (its own three hosts, its own run
// folder and report), a few at a time, then the grid, matrix.json, matrix.html and summary.md.
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

export interface MatrixOptions {
  outDir: string;
  seed?: number;
  /** Cells run at the same time, each on its own lab (default 2). */
  parallel?: number;
  runId?: string;
  createRuntime: (runId: string) => Promise<Runtime>;
  progress?: Progress;
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
  const cells = expandMatrix(s);
  const control = selectControl(s, cells);
  const parallel = Math.max(1, o.parallel ?? 2);
  const m = s.matrix!;
  progress(
    `matrix ${s.name}: ${cells.length} cells (${m.firewalls.length} firewalls x ${m.servers.length} server configurations), ${parallel} at a time; control ${control?.name ?? 'none'}`,
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
    const v = run.result?.variants[0];
    progress(
      `[${done}/${cells.length}] ${cell.name}: ` +
        (v
          ? `${v.harvest.records}/${v.harvest.expectedRecords} records, ${v.attempts.timedOut} timed out, ${v.server.invalidDrops} INVALID drops, ` +
            `${run.result!.passed ? 'as expected' : 'NOT as expected'} (${((Date.now() - t) / 1000).toFixed(1)} s)`
          : `could not run: ${run.error}`),
    );
    return run;
  };
  const runs = await runLimited(cells.map(job), parallel);
  const controlRun = control ? runs.find((r) => r.cell.name === control.name) : undefined;
  const controlVariant = controlRun?.result?.variants[0];
  const results = runs.map((r) => cellResult(r, controlVariant));
  const problems = results.flatMap((c) => [
    ...(c.error ? [`${c.name}: ${c.error}`] : []),
    ...c.problems.map((p) => `${c.name}: ${p}`),
  ]);
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
      .filter((c) => !cells.some((x) => x.name === c)),
    control: control
      ? {
          cell: control.name,
          throughputBytesPerSec: controlVariant?.harvest.complete ? controlVariant.throughputBytesPerSec : null,
        }
      : null,
    cells: results,
    verdict: matrixVerdict(results),
    passed: results.every((c) => c.passed),
    problems,
  };
  result.reports = { html: 'matrix.html', markdown: 'summary.md' };
  await Promise.all([
    writeFile(join(outDir, 'matrix.html'), renderMatrixHtml(result)),
    writeFile(join(outDir, 'summary.md'), renderMatrixMarkdown(result)),
  ]);
  await writeFile(join(outDir, 'matrix.json'), JSON.stringify(result, null, 2) + '\n');
  return result;
}
