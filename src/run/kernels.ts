// The kernel axis of `ctlab run --kernel 5.10,6.1,host`: the same scenario, variants and seed on
// each kernel (natively for `host`, in a VM otherwise), each into its own folder, then one
// result.json and one report with every variant labelled by the kernel it ran on.
import { mkdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { byKernelVersion } from '../result/kernel.js';
import type { KernelRun, RunResult } from '../result/types.js';
import { finishRun } from './run.js';
import type { Progress } from './variant.js';

/** A kernel as the user names it: a Debian series ("5.10"), "host", or "path:<image>,<modules dir>". */
export function parseKernelList(text: string): string[] {
  const specs = text.split(',').map((s) => s.trim());
  // A path spec carries a comma of its own ("path:/k/bzImage,/k/lib/modules/6.6.1"): rejoin it.
  const out: string[] = [];
  for (let i = 0; i < specs.length; i++) {
    const s = specs[i]!; // i < specs.length; so is i + 1 below
    if (s.startsWith('path:') && i + 1 < specs.length && !/^(host|\d+\.\d+|path:)/.test(specs[i + 1]!)) {
      out.push(`${s},${specs[++i]}`);
    } else out.push(s);
  }
  for (const s of out) {
    if (s === '')
      throw new CtlabError('SCENARIO', `--kernel ${JSON.stringify(text)} has an empty entry`, {
        hint: 'name kernels like 5.10,6.1,host',
      });
    if (!(s === 'host' || /^\d+\.\d+$/.test(s) || s.startsWith('path:'))) {
      throw new CtlabError('SCENARIO', `--kernel: "${s}" is not a kernel`, {
        hint: 'a Debian series (5.10, 6.1, 6.12), host, or path:<kernel image>,<modules dir>',
      });
    }
  }
  if (new Set(out).size !== out.length)
    throw new CtlabError('SCENARIO', `--kernel ${JSON.stringify(text)} names a kernel twice`);
  return out;
}

/** The folder a kernel's run goes to, inside the run folder. */
export function kernelDirName(spec: string): string {
  if (spec === 'host') return 'kernel-host';
  if (/^\d+\.\d+$/.test(spec)) return `kernel-${spec}`;
  const img = spec.slice('path:'.length).split(',')[0] ?? 'custom';
  return `kernel-${
    img
      .split('/')
      .pop()!
      .replace(/[^\w.-]+/g, '_') || 'custom'
  }`;
}

/** How a kernel ran: its release, the runtime its lab used, its VM (null for the host). */
export type KernelHow = Pick<KernelRun, 'release' | 'runtime' | 'vm'>;

/** What running on one kernel gives back: that kernel's result.json, and how it ran. */
export interface KernelOutcome extends KernelHow {
  result: RunResult;
}

/** Runs the scenario on one kernel into `dir` (host: natively; otherwise in a VM). */
export type KernelRunner = (spec: string, dir: string) => Promise<KernelOutcome>;

export interface KernelsRunOptions {
  outDir: string;
  kernels: string[];
  runner: KernelRunner;
  runId: string;
  progress?: Progress;
}

/** The record of a kernel that ran (`startedMs`: when it started), with its outcome's verdict. */
export function kernelRun(
  spec: string,
  dir: string,
  startedMs: number,
  how: KernelHow,
  outcome: { passed: boolean; verdict: string },
): KernelRun {
  return {
    spec,
    release: how.release,
    runtime: how.runtime,
    vm: how.vm,
    totalMs: Date.now() - startedMs,
    dir,
    passed: outcome.passed,
    verdict: outcome.verdict,
  };
}

/** The record of a kernel that could not run the scenario at all (boot failure, guest error). */
export function failedKernelRun(spec: string, dir: string, startedMs: number, e: unknown): KernelRun {
  return {
    spec,
    release: spec,
    runtime: spec === 'host' ? 'docker' : 'netns',
    vm: null,
    totalMs: Date.now() - startedMs,
    dir,
    passed: false,
    verdict: '',
    error: e instanceof Error ? e.message : String(e),
  };
}

/** Read a run folder's result.json (what a VM's job wrote). */
export async function readRunResult(dir: string): Promise<RunResult> {
  const file = join(dir, 'result.json');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new CtlabError('LAB', `no result.json in ${dir}`, {
      cause: e,
      hint: 'the run on that kernel did not finish; see its console log in the same folder',
    });
  }
  return JSON.parse(text) as RunResult;
}

/**
 * Run on every kernel, one after another (a VM under emulation wants both cores), then merge.
 * A kernel that fails to run at all is recorded with its error and fails the run; the other
 * kernels still run, so one broken kernel image does not hide the rest.
 */
export async function runOnKernels(o: KernelsRunOptions): Promise<RunResult> {
  const progress = o.progress ?? (() => {});
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const startedAt = new Date();
  const runs: KernelRun[] = [];
  const results: { run: KernelRun; result: RunResult | null }[] = [];
  for (const spec of o.kernels) {
    const dirName = kernelDirName(spec);
    const dir = join(outDir, dirName);
    const t = Date.now();
    progress(`kernel ${spec}: starting`);
    try {
      const k = await o.runner(spec, dir);
      const run = kernelRun(spec, dirName, t, k, k.result);
      runs.push(run);
      results.push({ run, result: k.result });
      progress(
        `kernel ${spec} (${k.release}): ${k.result.verdict} (${((Date.now() - t) / 1000).toFixed(1)} s${k.vm ? `, boot ${(k.vm.bootMs / 1000).toFixed(1)} s under ${k.vm.accel}` : ''})`,
      );
    } catch (e) {
      const run = failedKernelRun(spec, dirName, t, e);
      runs.push(run);
      results.push({ run, result: null });
      progress(`kernel ${spec}: FAILED: ${run.error}`);
    }
  }
  return finishRun(mergeKernelResults(results, { runId: o.runId, startedAt }), outDir, progress);
}

/** One result from each kernel's: variants nested under the kernel's folder, kernels oldest first. */
export function mergeKernelResults(
  list: { run: KernelRun; result: RunResult | null }[],
  o: { runId: string; startedAt: Date },
): RunResult {
  const ok = list.filter((x): x is { run: KernelRun; result: RunResult } => x.result !== null);
  const first = ok[0]?.result;
  if (!first) {
    throw new CtlabError(
      'LAB',
      `the scenario did not run on any kernel: ${list.map((x) => `${x.run.spec}: ${x.run.error}`).join('; ')}`,
    );
  }
  const sorted = [...ok].sort((a, b) => byKernelVersion(a.run.release, b.run.release));
  const variants = sorted.flatMap(({ run, result }) =>
    result.variants.map((v) => ({ ...v, kernel: v.kernel || run.release, dir: `${run.dir}/${v.dir}` })),
  );
  const problems = [
    ...list.filter((x) => x.run.error).map((x) => `kernel ${x.run.spec} did not run: ${x.run.error}`),
    ...sorted.flatMap(({ run, result }) => result.problems.map((p) => `${run.release}: ${p}`)),
  ];
  const verdict =
    problems.length && ok.length < list.length
      ? `Inconclusive: ${problems[0]}`
      : sorted.map(({ run, result }) => `On ${run.release}: ${result.verdict}`).join(' ');
  return {
    schemaVersion: 1,
    scenario: first.scenario,
    description: first.description,
    scenarioFile: first.scenarioFile,
    seed: first.seed,
    repetitions: first.repetitions,
    kernel: sorted.map((x) => x.run.release).join(', '),
    runId: o.runId,
    startedAt: o.startedAt.toISOString(),
    durationMs: Date.now() - o.startedAt.getTime(),
    verdict,
    passed: list.every((x) => x.result?.passed === true) && problems.length === 0,
    variants,
    problems,
    kernelRuns: list.map((x) => x.run).sort((a, b) => byKernelVersion(a.release, b.release)),
  };
}
