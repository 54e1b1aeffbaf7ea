// `ctlab merge <dir>...`: shard folders written by `ctlab matrix --shard i/n` (one per CI job)
// become one matrix folder, as an unsharded run would have written it: matrix.json, matrix.html,
// summary.md and every cell's run folder (with --kernel, one such folder per kernel and the
// kernels-side-by-side page). Refuses (exit 2, one line) shards that do not belong together.
import { cp, mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import {
  mergeKernelMatrices,
  renderKernelMatrixHtml,
  renderKernelMatrixMarkdown,
  type KernelMatrixResult,
  type KernelMatrixRun,
} from './kernels.js';
import { renderMatrixHtml, renderMatrixMarkdown } from './report.js';
import { matrixVerdict, type MatrixResult, type MergedShardNote } from './result.js';
import { SHARD_THROUGHPUT_METHOD, type ShardInfo } from './shard.js';

export interface ShardFolder {
  /** As given on the command line. */
  given: string;
  dir: string;
  json: MatrixResult | KernelMatrixResult;
  shard: ShardInfo;
}

const bad = (msg: string) => new CtlabError('SCENARIO', msg);
const notShard = (given: string, why: string) =>
  bad(`${given} is not a shard folder: ${why} (give the --out folders of \`ctlab matrix --shard i/n\`)`);
const isInt = (x: unknown) => typeof x === 'number' && Number.isInteger(x);

/** Reads one folder's matrix.json and checks it is a shard's; refuses anything else. */
export async function readShard(given: string): Promise<ShardFolder> {
  const dir = resolve(given);
  const st = await stat(dir).catch(() => undefined);
  if (!st) throw notShard(given, 'no such directory');
  if (!st.isDirectory()) throw notShard(given, 'not a directory');
  let text: string;
  try {
    text = await readFile(join(dir, 'matrix.json'), 'utf8');
  } catch {
    throw notShard(given, 'it has no matrix.json');
  }
  let json: MatrixResult | KernelMatrixResult;
  try {
    json = JSON.parse(text) as MatrixResult | KernelMatrixResult;
  } catch (e) {
    throw notShard(given, `its matrix.json is not JSON (${(e as Error).message})`);
  }
  if (!json || typeof json !== 'object' || (json.kind !== 'ctlab-matrix' && json.kind !== 'ctlab-matrix-kernels'))
    throw notShard(given, 'its matrix.json is not a ctlab matrix');
  if ((json as MatrixResult).merged) throw notShard(given, 'it is already a merged matrix');
  const s = json.shard;
  if (!s) throw notShard(given, 'its matrix.json has no "shard" (an unsharded run)');
  const okShape =
    isInt(s.index) &&
    isInt(s.count) &&
    s.index >= 1 &&
    s.index <= s.count &&
    isInt(s.total) &&
    Array.isArray(s.cells) &&
    s.cells.every((c) => typeof c === 'string') &&
    typeof s.scenarioHash === 'string' &&
    isInt(s.seed) &&
    typeof s.ctlabVersion === 'string' &&
    Array.isArray(s.kernels);
  if (!okShape) throw notShard(given, 'its "shard" entry is malformed');
  if ((json.kind === 'ctlab-matrix-kernels') !== s.kernels.length > 0)
    throw notShard(given, 'its "shard" entry does not match its kind of matrix');
  if (json.kind === 'ctlab-matrix' && !Array.isArray(json.cells)) throw notShard(given, 'its matrix.json has no cells');
  if (json.kind === 'ctlab-matrix') {
    const missing = s.cells.filter((c) => !json.cells.some((x) => x.name === c));
    if (missing.length)
      throw notShard(given, `cell ${missing.join(', ')} that it owns is not in its matrix.json (an unfinished shard?)`);
  }
  return { given, dir, json, shard: s };
}

/** Every reason shards do not make one grid, as the first one-line refusal. Pure. */
export function checkShards(shards: ShardFolder[]): void {
  const [first] = shards;
  if (!first) throw bad('ctlab merge: no shard folder given');
  /** All shards must agree on key(s); the refusal shows each side as show(s). */
  const same = (what: string, key: (s: ShardFolder) => string, show: (s: ShardFolder) => string = key) => {
    const other = shards.find((s) => key(s) !== key(first));
    if (other)
      throw bad(`shards of different ${what}: ${first.given} has ${show(first)}, ${other.given} has ${show(other)}`);
  };
  same(
    'scenarios',
    (s) => s.shard.scenarioHash,
    (s) => `scenario ${s.json.scenario} (content hash ${s.shard.scenarioHash.slice(0, 12)})`,
  );
  same('seeds', (s) => `seed ${s.shard.seed}`);
  same('ctlab versions', (s) => `ctlab ${s.shard.ctlabVersion}`);
  same('kernel lists', (s) => (s.shard.kernels.length ? `--kernel ${s.shard.kernels.join(',')}` : 'no --kernel'));
  same(
    'shard counts',
    (s) => String(s.shard.count),
    (s) => `shard ${s.shard.index}/${s.shard.count}`,
  );
  same('grid sizes', (s) => `${s.shard.total} cells`);
  const byIndex = new Map<number, ShardFolder>();
  for (const s of shards) {
    const twin = byIndex.get(s.shard.index);
    if (twin)
      throw bad(`overlapping shards: ${twin.given} and ${s.given} are both shard ${s.shard.index}/${s.shard.count}`);
    byIndex.set(s.shard.index, s);
  }
  const owner = new Map<string, ShardFolder>();
  for (const s of shards) {
    for (const c of s.shard.cells) {
      const o = owner.get(c);
      if (o) throw bad(`overlapping shards: ${o.given} and ${s.given} both own cell ${c}`);
      owner.set(c, s);
    }
  }
  const { count, total } = first.shard;
  const missing = Array.from({ length: count }, (_, k) => k + 1).filter((i) => !byIndex.has(i));
  if (missing.length)
    throw bad(
      `missing shard${missing.length > 1 ? 's' : ''} ${missing.map((i) => `${i}/${count}`).join(', ')} (given: ${[
        ...byIndex.keys(),
      ]
        .sort((a, b) => a - b)
        .map((i) => `${i}/${count}`)
        .join(', ')})`,
    );
  if (owner.size !== total) throw bad(`the shards own ${owner.size} cells between them, but the grid has ${total}`);
}

function axisOrder(
  m: MatrixResult,
): (a: { axes: { firewall: string; server: string } }, b: { axes: { firewall: string; server: string } }) => number {
  const f = (x: string) => m.axes.firewall.indexOf(x);
  const s = (x: string) => m.axes.server.indexOf(x);
  return (a, b) => f(a.axes.firewall) - f(b.axes.firewall) || s(a.axes.server) - s(b.axes.server);
}

/** One part of a merge: a shard's matrix (for one kernel, with --kernel) and where it came from. */
export interface MergePart {
  shard: ShardInfo;
  from: string;
  m: MatrixResult;
  /** Where the shard's control-only run folder lands in the merged folder (relative). */
  controlDir?: string;
  kernel?: string;
}

/** The shards' matrices (all of one kernel) as one, cells in grid order. Pure. */
export function mergeMatrixResults(parts: MergePart[], o: { runId: string }): MatrixResult {
  const [head] = parts;
  if (!head) throw bad('ctlab merge: no shard folder given');
  const first = head.m;
  // Each cell's ratio was taken against its own shard's control run: say which.
  const cells = parts
    .flatMap((p) =>
      p.m.cells.map((c) =>
        c.comparedWith ? { ...c, comparedWith: { ...c.comparedWith, shard: `${p.shard.index}/${p.shard.count}` } } : c,
      ),
    )
    .sort(axisOrder(first));
  const control = first.control;
  const owner = parts.find((p) => control && p.m.cells.some((c) => c.name === control.cell));
  const kernels = [...new Set(parts.map((p) => p.m.kernel).filter(Boolean))];
  const notes: MergedShardNote[] = parts
    .map((p) => ({
      index: p.shard.index,
      count: p.shard.count,
      runId: p.m.runId,
      from: p.from,
      cells: p.m.cells.map((c) => c.name),
      kernel: p.m.kernel,
      startedAt: p.m.startedAt,
      durationMs: p.m.durationMs,
      control: p.m.control
        ? [
            p.m.controlOnly
              ? {
                  cell: p.m.controlOnly.cell,
                  throughputBytesPerSec: p.m.controlOnly.throughputBytesPerSec,
                  owned: false,
                  ...(p.controlDir
                    ? {
                        dir: p.controlDir,
                        ...(p.m.controlOnly.report?.startsWith(`${p.m.controlOnly.dir}/`)
                          ? {
                              report: `${p.controlDir}/${p.m.controlOnly.report.slice(p.m.controlOnly.dir.length + 1)}`,
                            }
                          : {}),
                      }
                    : {}),
                  ...(p.kernel ? { kernel: p.kernel } : {}),
                }
              : {
                  cell: p.m.control.cell,
                  throughputBytesPerSec: p.m.control.throughputBytesPerSec,
                  owned: p.m.cells.some((c) => c.name === p.m.control?.cell),
                  ...(p.kernel ? { kernel: p.kernel } : {}),
                },
          ]
        : [],
    }))
    .sort((a, b) => a.index - b.index);
  const problems = parts.flatMap((p) =>
    p.m.problems.map((x) => (p.shard.count > 1 ? `shard ${p.shard.index}/${p.shard.count}: ${x}` : x)),
  );
  if (kernels.length > 1)
    problems.push(`the shards ran on different kernels (${kernels.join(', ')}): compare their cells with care`);
  const started = parts.map((p) => p.m.startedAt).sort()[0] ?? first.startedAt;
  return {
    schemaVersion: 1,
    kind: 'ctlab-matrix',
    scenario: first.scenario,
    scenarioFile: first.scenarioFile,
    seed: first.seed,
    runId: o.runId,
    startedAt: started,
    // The longest shard: the wall time when the shards run side by side (each one is in `merged`).
    durationMs: Math.max(...parts.map((p) => p.m.durationMs)),
    parallel: first.parallel,
    kernel: kernels.join(', '),
    axes: first.axes,
    excluded: first.excluded,
    control: first.control
      ? { cell: first.control.cell, throughputBytesPerSec: owner?.m.control?.throughputBytesPerSec ?? null }
      : null,
    cells,
    verdict: matrixVerdict(cells),
    passed: cells.every((c) => c.passed),
    problems,
    reports: { html: 'matrix.html', markdown: 'summary.md' },
    merged: { shards: notes, throughput: SHARD_THROUGHPUT_METHOD },
  };
}

async function copyDir(from: string, to: string): Promise<void> {
  const st = await stat(from).catch(() => undefined);
  if (!st?.isDirectory()) return;
  await mkdir(to, { recursive: true });
  await cp(from, to, { recursive: true, force: true });
}

/** Copies a shard's cell folders (and its control-only run) for one matrix into `out`. */
async function copyCells(part: MergePart, shardMatrixDir: string, out: string): Promise<void> {
  for (const c of part.m.cells) await copyDir(join(shardMatrixDir, c.dir), join(out, c.dir));
  if (part.m.controlOnly && part.controlDir)
    await copyDir(join(shardMatrixDir, part.m.controlOnly.dir), join(out, part.controlDir));
}

async function writeMatrix(out: string, m: MatrixResult): Promise<void> {
  await mkdir(out, { recursive: true });
  await Promise.all([
    writeFile(join(out, 'matrix.html'), renderMatrixHtml(m)),
    writeFile(join(out, 'summary.md'), renderMatrixMarkdown(m)),
  ]);
  await writeFile(join(out, 'matrix.json'), `${JSON.stringify(m, null, 2)}\n`);
}

const controlDirFor = (s: ShardInfo, cell: string) => `shard-controls/shard-${s.index}-of-${s.count}/${cell}`;

export type MergeOutcome = { kind: 'matrix'; result: MatrixResult } | { kind: 'kernels'; result: KernelMatrixResult };

/** Reads, checks and merges the shard folders into outDir. */
export async function mergeShards(o: {
  dirs: string[];
  outDir: string;
  runId: string;
  progress?: (m: string) => void;
}): Promise<MergeOutcome> {
  const progress = o.progress ?? (() => {});
  const shards: ShardFolder[] = [];
  for (const d of o.dirs) shards.push(await readShard(d));
  checkShards(shards);
  shards.sort((a, b) => a.shard.index - b.shard.index);
  const [lead] = shards;
  if (!lead) throw bad('ctlab merge: no shard folder given');
  const out = resolve(o.outDir);
  await mkdir(out, { recursive: true });
  progress(`merging ${shards.length} shards of ${lead.json.scenario} (${lead.shard.total} cells) into ${out}`);
  if (lead.json.kind === 'ctlab-matrix') {
    const parts: MergePart[] = [];
    for (const s of shards) {
      const m = s.json as MatrixResult;
      const part = {
        shard: s.shard,
        from: s.given,
        m,
        ...(m.controlOnly ? { controlDir: controlDirFor(s.shard, m.controlOnly.cell) } : {}),
      };
      parts.push(part);
      await copyCells(part, s.dir, out);
    }
    const result = mergeMatrixResults(parts, { runId: o.runId });
    await writeMatrix(out, result);
    return { kind: 'matrix', result };
  }
  // --kernel: merge each kernel's matrix across the shards, then put the kernels side by side.
  const started = new Date(Math.min(...shards.map((s) => Date.parse(s.json.startedAt))));
  const list: { run: KernelMatrixRun; matrix: MatrixResult | null }[] = [];
  const allNotes: MergedShardNote[] = [];
  for (const spec of lead.shard.kernels) {
    const runs = shards.flatMap((s) => {
      const k = (s.json as KernelMatrixResult).kernels.find((x) => x.spec === spec);
      return k ? [{ s, k }] : [];
    });
    const [firstRun] = runs;
    if (!firstRun) continue; // no shard owned a cell on it (more shards than cells)
    const dirName = firstRun.k.dir;
    const failed = runs.filter((r) => r.k.error);
    const totalMs = Math.max(...runs.map((r) => r.k.totalMs));
    if (failed.length) {
      const msg = failed.map((r) => `shard ${r.s.shard.index}/${r.s.shard.count}: ${r.k.error}`).join('; ');
      list.push({
        run: { ...firstRun.k, totalMs, dir: dirName, passed: false, verdict: '', error: msg },
        matrix: null,
      });
      continue;
    }
    const parts: MergePart[] = [];
    for (const { s, k } of runs) {
      const m = await readFile(join(s.dir, k.dir, 'matrix.json'), 'utf8')
        .then((t) => JSON.parse(t) as MatrixResult)
        .catch(() => null);
      if (!m) throw notShard(s.given, `${k.dir}/matrix.json is missing or not JSON`);
      const owned = s.shard.cells.filter((u) => u.startsWith(`${spec}:`)).map((u) => u.slice(spec.length + 1));
      const missing = owned.filter((c) => !m.cells.some((x) => x.name === c));
      if (missing.length)
        throw notShard(
          s.given,
          `cell ${missing.join(', ')} on kernel ${spec}, which it owns, is not in ${k.dir}/matrix.json (an unfinished shard?)`,
        );
      const part = {
        shard: s.shard,
        from: s.given,
        m,
        kernel: spec,
        ...(m.controlOnly ? { controlDir: controlDirFor(s.shard, m.controlOnly.cell) } : {}),
      };
      parts.push(part);
      await copyCells(part, join(s.dir, k.dir), join(out, dirName));
    }
    const merged = mergeMatrixResults(parts, { runId: o.runId });
    await writeMatrix(join(out, dirName), merged);
    // mergeMatrixResults always fills `merged` (its return statement sets it).
    allNotes.push(...merged.merged!.shards.map((n) => ({ ...n, cells: n.cells.map((c) => `${spec}:${c}`) })));
    const releases = [...new Set(runs.map((r) => r.k.release))];
    const first = firstRun.k;
    list.push({
      run: {
        spec,
        release: releases.join(' / '),
        runtime: first.runtime,
        vm: first.vm,
        totalMs,
        dir: dirName,
        passed: merged.passed,
        verdict: merged.verdict,
        matrix: `${dirName}/matrix.json`,
      },
      matrix: merged,
    });
    progress(`kernel ${spec}: ${merged.cells.length} cells from ${parts.length} shards: ${merged.verdict}`);
  }
  const result = mergeKernelMatrices(list, { runId: o.runId, startedAt: started });
  result.durationMs = Math.max(...shards.map((s) => s.json.durationMs));
  result.merged = { shards: mergeNotesPerShard(allNotes), throughput: SHARD_THROUGHPUT_METHOD };
  await Promise.all([
    writeFile(join(out, 'matrix.html'), renderKernelMatrixHtml(result, list)),
    writeFile(join(out, 'summary.md'), renderKernelMatrixMarkdown(result)),
  ]);
  await writeFile(join(out, 'matrix.json'), `${JSON.stringify(result, null, 2)}\n`);
  return { kind: 'kernels', result };
}

/** Per-kernel notes of one shard folded into one note per shard (cells as "<kernel>:<cell>"). */
function mergeNotesPerShard(notes: MergedShardNote[]): MergedShardNote[] {
  const by = new Map<number, MergedShardNote>();
  for (const n of notes) {
    const have = by.get(n.index);
    if (!have) by.set(n.index, { ...n, cells: [...n.cells], control: [...n.control] });
    else {
      have.cells.push(...n.cells);
      have.control.push(...n.control);
      have.kernel = [...new Set([...have.kernel.split(', '), n.kernel])].join(', ');
      have.durationMs += n.durationMs;
    }
  }
  return [...by.values()].sort((a, b) => a.index - b.index);
}
