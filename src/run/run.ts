// A scenario's run: each repetition of each variant on a fresh lab from the topology (at most
// `parallel` at once), one harvest, every counter; then the evidence, the reports and result.json.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative, resolve } from 'node:path';
import { analyzeRun } from '../evidence/index.js';
import { writeReports } from '../report/reports.js';
import { verdictSentence } from '../report/verdict.js';
import { progressWords } from '../report/workload.js';
import type { RunResult, VariantResult } from '../result/types.js';
import { newRunId } from '../runtime/labels.js';
import type { Runtime } from '../runtime/types.js';
import type { Scenario } from '../scenario/model.js';
import { buildTopology } from '../topology/build.js';
import { runVariant, type Progress } from './variant.js';

export interface RunOptions {
  /** Folder for result.json and the variants' files. */
  outDir: string;
  /** Overrides the scenario's seed. */
  seed?: number;
  /** Only these variants (by name). */
  variants?: string[];
  runId?: string;
  /** Makes the runtime for a run id (Docker by default, from the CLI). */
  createRuntime: (runId: string) => Promise<Runtime>;
  progress?: Progress;
  /** Variants run at the same time (default 2; 1 = one after another). */
  parallel?: number;
}

/** Run async jobs, at most `limit` at once; results in job order; the first failure rejects. */
export async function runLimited<T>(jobs: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  const worker = async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]!(); // i < jobs.length (checked by the loop)
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, jobs.length)) }, worker));
  return out;
}

export async function runScenario(s: Scenario, o: RunOptions): Promise<RunResult> {
  const progress = o.progress ?? (() => {});
  const runId = o.runId ?? newRunId();
  const baseSeed = o.seed ?? s.seed;
  const startedAt = new Date();
  const outDir = resolve(o.outDir);
  await mkdir(outDir, { recursive: true });
  const wanted = o.variants;
  const variants = wanted ? s.variants.filter((v) => wanted.includes(v.name)) : s.variants;
  const results: VariantResult[] = [];
  const problems: string[] = [];
  // Each variant gets its own three hosts (node names prefixed per variant), so variants of a
  // repetition can run side by side: the labs share nothing but the CPU.
  const parallel = Math.max(1, Math.min(o.parallel ?? 2, variants.length));
  const rt = await o.createRuntime(runId);
  try {
    for (let rep = 0; rep < s.repetitions; rep++) {
      // Repetitions differ only by seed: seed, seed+1, ... (a seed reproduces one exactly).
      const seed = (baseSeed + rep) >>> 0;
      const jobs = variants.map((v, i) => async () => {
        const topo = buildTopology(s, v, seed, parallel > 1 ? `v${i + 1}-` : '');
        const dir = join(outDir, s.repetitions > 1 ? `${v.name}-${rep + 1}` : v.name);
        const t = Date.now();
        try {
          const r = await runVariant({
            runtime: rt,
            topology: topo,
            variant: v,
            repetition: rep + 1,
            expectedRecords: s.workload.kind === 'oai-pmh' ? s.workload.records : 0,
            workload: s.workload,
            dir,
            progress,
          });
          const td = Date.now();
          for (const n of topo.nodes) await rt.removeNode(n.name);
          r.result.timings.teardownMs = Date.now() - td;
          const met = r.result.expectations.filter((e) => e.passed).length;
          progress(
            `${v.name}${s.repetitions > 1 ? ` #${rep + 1}` : ''}: ${progressWords(r.result)}, ` +
              `${r.result.attempts.timedOut} timed out, ${r.result.server.invalidDrops} INVALID drops, ` +
              `expectations ${met}/${r.result.expectations.length} (${((Date.now() - t) / 1000).toFixed(1)} s)`,
          );
          return r;
        } catch (e) {
          for (const n of topo.nodes) await rt.removeNode(n.name).catch(() => {});
          throw e;
        }
      });
      for (const r of await runLimited(jobs, parallel)) {
        results.push(r.result);
        problems.push(...r.problems);
      }
    }
  } finally {
    await rt.destroy();
  }
  const expectationsOk = results.every((v) => v.expectations.every((e) => e.passed));
  const result: RunResult = {
    schemaVersion: 1,
    scenario: s.name,
    description: s.description,
    scenarioFile: s.file,
    seed: baseSeed,
    repetitions: s.repetitions,
    kernel: results[0]?.kernel ?? '',
    runId,
    startedAt: startedAt.toISOString(),
    durationMs: Date.now() - startedAt.getTime(),
    verdict: verdictSentence(results, problems),
    passed: expectationsOk && problems.length === 0,
    variants: results,
    problems,
  };
  return finishRun(result, outDir, progress);
}

/**
 * Evidence (reasons per drop, per-flow diagnosis), the reports for people (report.html, summary.md
 * for CI job summaries, junit.xml with one case per expectation), then result.json.
 */
export async function finishRun(result: RunResult, outDir: string, progress: Progress): Promise<RunResult> {
  progress('analysing captures and writing the report');
  const evidence = await analyzeRun(result, outDir);
  const paths = await writeReports(result, outDir, evidence);
  result.reports = {
    html: relative(outDir, paths.html),
    markdown: relative(outDir, paths.markdown),
    junit: relative(outDir, paths.junit),
  };
  await writeFile(join(outDir, 'result.json'), `${JSON.stringify(result, null, 2)}\n`);
  return result;
}
