// The kernel axis of `ctlab matrix --kernel 5.10,6.1,host`: the whole matrix once per kernel
// (natively for `host`, in a VM otherwise), each in its own folder, then one page with a grid
// per kernel and the cells whose outcome differs between kernels.
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { emulationCaveat } from '../report/kernels.js';
import { byKernelVersion } from '../result/kernel.js';
import { mdEscape } from '../report/markdown.js';
import { esc, hrefPath } from '../report/escape.js';
import type { KernelRun } from '../result/types.js';
import { failedKernelRun, kernelDirName, kernelRun, type KernelHow } from '../run/kernels.js';
import type { Progress } from '../run/variant.js';
import { relText } from './render.js';
import { grid, MATRIX_CSS } from './report.js';
import type { CellOutcome, MatrixResult, MergedShardNote } from './result.js';
import type { ShardInfo } from './shard.js';
import { shardLinesMarkdown, shardSectionHtml } from './shard-report.js';

export interface KernelMatrixRun extends KernelRun {
  /** That kernel's matrix.json, relative to the folder of the kernels' page. */
  matrix?: string;
}

export interface KernelMatrixResult {
  schemaVersion: 1;
  kind: 'ctlab-matrix-kernels';
  scenario: string;
  scenarioFile: string;
  runId: string;
  startedAt: string;
  durationMs: number;
  /** Oldest kernel first; each with its whole matrix. */
  kernels: (KernelMatrixRun & { cells: MatrixResult['cells'] })[];
  /** Cells whose outcome (clean, degraded, broken) or expectations differ between kernels. */
  differences: {
    cell: string;
    perKernel: {
      release: string;
      outcome: CellOutcome;
      invalidDrops: number;
      throughputVsControl: number | null;
      passed: boolean;
    }[];
  }[];
  verdict: string;
  /** Every kernel ran and every cell of every kernel was as predicted. */
  passed: boolean;
  /** Set by `matrix --kernel ... --shard i/n` (src/matrix/shard.ts). */
  shard?: ShardInfo;
  /** Set by `ctlab merge`: the shards this was merged from. */
  merged?: { shards: MergedShardNote[]; throughput: string };
}

export interface MatrixKernelOutcome extends KernelHow {
  matrix: MatrixResult;
}

export type MatrixKernelRunner = (spec: string, dir: string) => Promise<MatrixKernelOutcome>;

export async function readMatrixResult(dir: string): Promise<MatrixResult> {
  try {
    return JSON.parse(await readFile(join(dir, 'matrix.json'), 'utf8')) as MatrixResult;
  } catch (e) {
    throw new CtlabError('LAB', `no matrix.json in ${dir}`, {
      cause: e,
      hint: 'the matrix on that kernel did not finish; see vm/console.log in the same folder',
    });
  }
}

export async function runMatrixOnKernels(o: {
  outDir: string;
  kernels: string[];
  runId: string;
  runner: MatrixKernelRunner;
  progress?: Progress;
  shard?: ShardInfo;
}): Promise<KernelMatrixResult> {
  const progress = o.progress ?? (() => {});
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const startedAt = new Date();
  const list: { run: KernelMatrixRun; matrix: MatrixResult | null }[] = [];
  for (const spec of o.kernels) {
    const dirName = kernelDirName(spec);
    const t = Date.now();
    progress(`kernel ${spec}: starting the matrix`);
    try {
      const k = await o.runner(spec, join(outDir, dirName));
      list.push({
        run: { ...kernelRun(spec, dirName, t, k, k.matrix), matrix: `${dirName}/matrix.json` },
        matrix: k.matrix,
      });
      progress(`kernel ${spec} (${k.release}): ${k.matrix.verdict} (${((Date.now() - t) / 1000).toFixed(1)} s)`);
    } catch (e) {
      const run = failedKernelRun(spec, dirName, t, e);
      list.push({ run, matrix: null });
      progress(`kernel ${spec}: FAILED: ${run.error}`);
    }
  }
  const result = mergeKernelMatrices(list, { runId: o.runId, startedAt });
  if (o.shard) result.shard = o.shard;
  await Promise.all([
    writeFile(join(outDir, 'matrix.json'), `${JSON.stringify(result, null, 2)}\n`),
    writeFile(join(outDir, 'matrix.html'), renderKernelMatrixHtml(result, list)),
    writeFile(join(outDir, 'summary.md'), renderKernelMatrixMarkdown(result)),
  ]);
  return result;
}

export function mergeKernelMatrices(
  list: { run: KernelMatrixRun; matrix: MatrixResult | null }[],
  o: { runId: string; startedAt: Date },
): KernelMatrixResult {
  const ok = list.filter((x): x is { run: KernelMatrixRun; matrix: MatrixResult } => x.matrix !== null);
  const [firstOk] = ok;
  if (!firstOk)
    throw new CtlabError(
      'LAB',
      `the matrix did not run on any kernel: ${list.map((x) => `${x.run.spec}: ${x.run.error}`).join('; ')}`,
    );
  const sorted = [...list].sort((a, b) => byKernelVersion(a.run.release, b.run.release));
  const names = [...new Set(ok.flatMap((x) => x.matrix.cells.map((c) => c.name)))];
  const differences: KernelMatrixResult['differences'] = [];
  for (const cell of names) {
    const perKernel = sorted.flatMap((x) => {
      const c = x.matrix?.cells.find((y) => y.name === cell);
      return c
        ? [
            {
              release: x.run.release,
              outcome: c.outcome,
              invalidDrops: c.server.invalidDrops,
              throughputVsControl: c.throughputVsControl,
              passed: c.passed,
            },
          ]
        : [];
    });
    if (
      perKernel.length > 1 &&
      (new Set(perKernel.map((p) => p.outcome)).size > 1 || new Set(perKernel.map((p) => p.passed)).size > 1)
    )
      differences.push({ cell, perKernel });
  }
  const failed = list.filter((x) => x.run.error);
  const first = firstOk.matrix;
  const verdict = failed.length
    ? `Inconclusive: the matrix did not run on ${failed.map((x) => `${x.run.spec} (${x.run.error})`).join(', ')}.`
    : `${differences.length === 0 ? `Every cell had the same outcome on ${sorted.map((x) => x.run.release).join(', ')}` : `${differences.length} cell${differences.length === 1 ? '' : 's'} differ between kernels (${differences.map((d) => `${d.cell}: ${d.perKernel.map((p) => `${p.outcome} on ${p.release}`).join(', ')}`).join('; ')})`}. ` +
      sorted.flatMap((x) => (x.matrix ? [`On ${x.run.release}: ${x.matrix.verdict}`] : [])).join(' ');
  return {
    schemaVersion: 1,
    kind: 'ctlab-matrix-kernels',
    scenario: first.scenario,
    scenarioFile: first.scenarioFile,
    runId: o.runId,
    startedAt: o.startedAt.toISOString(),
    durationMs: Date.now() - o.startedAt.getTime(),
    kernels: sorted.map((x) => ({ ...x.run, cells: x.matrix?.cells ?? [] })),
    differences,
    verdict,
    passed: failed.length === 0 && ok.every((x) => x.matrix.passed),
  };
}

/** A kernel's matrix with its cells' links made relative to the kernels' page. */
function nested(m: MatrixResult, dir: string): MatrixResult {
  return { ...m, cells: m.cells.map((c) => ({ ...c, report: c.report ? `${dir}/${c.report}` : c.report })) };
}

export function renderKernelMatrixHtml(
  r: KernelMatrixResult,
  list: { run: KernelMatrixRun; matrix: MatrixResult | null }[],
): string {
  const sorted = [...list].sort((a, b) => byKernelVersion(a.run.release, b.run.release));
  const caveat = emulationCaveat(r.kernels);
  const diffs = r.differences.length
    ? `<table class="list"><thead><tr><th>cell</th>${r.kernels
        .filter((k) => !k.error)
        .map((k) => `<th>${esc(k.release)}</th>`)
        .join('')}</tr></thead><tbody>${r.differences
        .map(
          (d) =>
            `<tr><th scope="row">${esc(d.cell)}</th>${r.kernels
              .filter((k) => !k.error)
              .map((k) => {
                const p = d.perKernel.find((x) => x.release === k.release);
                return p
                  ? `<td>${esc(p.outcome)} · ${p.invalidDrops.toLocaleString('en-US')} INVALID drops · ${esc(relText(p.throughputVsControl))}${p.passed ? '' : ' · <span class="badline">not as predicted</span>'}</td>`
                  : '<td>–</td>';
              })
              .join('')}</tr>`,
        )
        .join('')}</tbody></table>`
    : '<p class="okline">Every cell had the same outcome on every kernel.</p>';
  const sections = sorted
    .map(({ run, matrix }) => {
      const how = run.vm
        ? `in a VM (${run.vm.accel === 'kvm' ? 'KVM' : 'software emulation, TCG'}), boot ${(run.vm.bootMs / 1000).toFixed(1)} s`
        : `natively, ${run.runtime} runtime`;
      const head = `<h2 id="${esc(run.dir)}">${esc(run.release)} <span class="sub">asked for <code>${esc(run.spec)}</code>, ${esc(how)}, ${(run.totalMs / 1000).toFixed(1)} s</span></h2>`;
      if (!matrix) return `${head}<p class="badline">${esc(run.error ?? 'did not run')}</p>`;
      return `${head}<p>${esc(matrix.verdict)} <a href="${esc(hrefPath(`${run.dir}/matrix.html`))}">This kernel's matrix report</a>.</p>${grid(nested(matrix, run.dir))}`;
    })
    .join('');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>ctlab matrix on ${r.kernels.length} kernels: ${esc(r.scenario)}</title>
<style>${MATRIX_CSS}</style></head>
<body><main>
<h1>ctlab matrix on ${r.kernels.length} kernels: ${esc(r.scenario)}</h1>
<div class="meta">run ${esc(r.runId)} · started ${esc(r.startedAt)} · ${esc((r.durationMs / 1000).toFixed(1))} s · scenario file ${esc(r.scenarioFile)}</div>
<div class="verdict ${r.passed ? 'pass' : 'fail'}" id="verdict"><span class="status">${r.passed ? 'Every cell as predicted on every kernel' : 'A prediction failed, or a kernel did not run'}</span>${esc(r.verdict)}</div>
${caveat ? `<p class="problems">${esc(caveat)}</p>` : ''}
${shardSectionHtml(r)}
<h2 id="differences">Cells that differ between kernels</h2>
${diffs}
${sections}
</main></body></html>
`;
}

export function renderKernelMatrixMarkdown(r: KernelMatrixResult): string {
  const out = [
    `## ctlab matrix on ${r.kernels.length} kernels: ${mdEscape(r.scenario)} — ${r.passed ? '✅ every cell as predicted' : '❌ not as predicted'}`,
    '',
    `> ${mdEscape(r.verdict)}`,
    '',
  ];
  for (const k of r.kernels)
    out.push(
      `- \`${mdEscape(k.spec)}\` → ${mdEscape(k.release)} (${k.vm ? `VM, ${k.vm.accel}` : 'native'}, ${(k.totalMs / 1000).toFixed(1)} s): ${mdEscape(k.error ?? k.verdict)}`,
    );
  if (r.differences.length) {
    out.push(
      '',
      '| cell | ' +
        r.kernels
          .filter((k) => !k.error)
          .map((k) => mdEscape(k.release))
          .join(' | ') +
        ' |',
      '|---|' +
        r.kernels
          .filter((k) => !k.error)
          .map(() => '---')
          .join('|') +
        '|',
    );
    for (const d of r.differences)
      out.push(
        `| ${mdEscape(d.cell)} | ${r.kernels
          .filter((k) => !k.error)
          .map((k) => {
            const p = d.perKernel.find((x) => x.release === k.release);
            return p ? `${p.outcome}, ${p.invalidDrops} drops` : '–';
          })
          .join(' | ')} |`,
      );
  }
  const caveat = emulationCaveat(r.kernels);
  if (caveat) out.push('', mdEscape(caveat));
  const shards = shardLinesMarkdown(r);
  if (shards.length) out.push('', ...shards);
  out.push('');
  return out.join('\n');
}
