// runScenario for a user's own tests, and the steps it shares with `ctlab run`: a scenario file or
// object → the validated model (checked on this kernel), the variants asked for, a runtime of
// the chosen kind, the run (src/run/run.ts) → the same RunResult that result.json holds.
import { join, resolve } from 'node:path';
import { CtlabError } from '../errors.js';
import { prepareRuntime, type RuntimeKind } from '../cli/lab.js';
import type { RunResult } from '../result/types.js';
import { runScenario as runModel } from '../run/run.js';
import { newRunId } from '../runtime/labels.js';
import type { TrapOptions } from '../runtime/traps.js';
import { imagesRuntimeProblem } from '../scenario/images.js';
import { checkOnKernel } from '../scenario/kernel-sysctls.js';
import { checkScenarioRules, loadScenario, parseScenarioObject } from '../scenario/load.js';
import type { Scenario } from '../scenario/model.js';
import type { ScenarioInput } from '../scenario/schema.js';
import { checkOptions, runOptionsSchema, validateOptionsSchema } from './options.js';

/** How a scenario given as an object is named in messages (and its default name). */
export const OBJECT_LABEL = 'scenario';

/**
 * A scenario file (path) or object (the file's shape) → the validated model, exactly as
 * `ctlab run` checks a file: the schema, names and expectations, then (as root) its sysctls on
 * this kernel and its own ruleset in a throwaway namespace. `say` gets what could not be checked.
 */
export async function loadScenarioInput(
  input: string | ScenarioInput,
  say: { warn: (m: string) => void; note: (m: string) => void },
): Promise<Scenario> {
  if (typeof input !== 'string' && (input === null || typeof input !== 'object' || Array.isArray(input)))
    throw new CtlabError(
      'SCENARIO',
      `the scenario must be a file path or an object of the file's shape, not ${input === null ? 'null' : Array.isArray(input) ? 'an array' : typeof input}`,
    );
  const { scenario } = await checkOnKernel(
    (o) => (typeof input === 'string' ? loadScenario(input, o) : parseScenarioObject(input, OBJECT_LABEL, o)),
    say.warn,
  );
  for (const w of await checkScenarioRules(scenario)) say.note(w);
  return scenario;
}

/** Warnings and notes as progress lines. */
export function sayTo(progress: (m: string) => void): { warn: (m: string) => void; note: (m: string) => void } {
  return { warn: (m) => progress(`warning: ${m}`), note: (m) => progress(`note: ${m}`) };
}

/** The variants a run can run: the scenario must have some, and every name asked for must be one of them. */
export function checkVariants(s: Scenario, wanted: string[] | undefined): void {
  if (s.variants.length === 0)
    throw new CtlabError('SCENARIO', `${s.file} has no variants, only a matrix`, {
      hint: `run it with \`ctlab matrix ${s.file}\``,
    });
  const unknown = (wanted ?? []).filter((n) => !s.variants.some((v) => v.name === n));
  if (unknown.length)
    throw new CtlabError('SCENARIO', `no variant ${unknown.map((u) => `"${u}"`).join(', ')} in ${s.file}`, {
      hint: `variants: ${s.variants.map((v) => v.name).join(', ')}`,
    });
}

/** The scenario's own images (`server.image`, `client.image`) run only on the Docker runtime, on this kernel. */
export function checkImages(s: Scenario, o: { runtime: RuntimeKind; kernels?: readonly string[] }): void {
  const problem = imagesRuntimeProblem(s, o);
  if (problem) throw new CtlabError('SCENARIO', `${s.file}: ${problem}`);
}

/** A validated model run here, on the chosen runtime: what `ctlab run` (no --kernel) and runScenario both do. */
export async function runHere(
  s: Scenario,
  o: {
    outDir: string;
    runId: string;
    runtime: RuntimeKind;
    seed?: number;
    variants?: string[];
    parallel: number;
    verbose?: boolean;
    progress: (m: string) => void;
    traps?: TrapOptions;
  },
): Promise<RunResult> {
  const createRuntime = await prepareRuntime({
    kind: o.runtime,
    runId: o.runId,
    verbose: o.verbose,
    progress: o.progress,
    traps: o.traps,
  });
  return runModel(s, {
    outDir: o.outDir,
    seed: o.seed,
    variants: o.variants,
    parallel: o.parallel,
    runId: o.runId,
    createRuntime,
    progress: o.progress,
  });
}

/** runScenario's options. Every one is optional; an unknown one is an error. */
export interface RunScenarioOptions {
  /** Folder for result.json, the reports and each variant's files (default `runs/<scenario>-<run id>`). */
  outDir?: string;
  /** Overrides the scenario's seed (0 to 4294967295). */
  seed?: number;
  /** Only these variants, by name. */
  variants?: string[];
  /** Variants run at the same time, each on its own lab (default 2; 1 = one after another). */
  parallel?: number;
  /** `docker` (default: containers) or `netns` (plain network namespaces on this host, as root). */
  runtime?: RuntimeKind;
  /** The run id every lab object is labelled with (`ctlab.run`; default a fresh one). */
  runId?: string;
  /** Progress lines, warnings and notes (default: none). */
  progress?: (message: string) => void;
  /** Image build output in the progress. */
  verbose?: boolean;
}

/**
 * Run a scenario (a YAML file's path, or an object of the file's shape) as `ctlab run` does, on
 * this machine: each variant on a fresh lab, then the evidence, the reports and result.json in
 * `outDir`. Resolves to the result (result.json's content), whether or not its expectations
 * passed (`result.passed`); rejects with a CtlabError when the input is bad (code SCENARIO,
 * nothing started) or the lab fails (nothing left running).
 */
export async function runScenario(input: string | ScenarioInput, options: RunScenarioOptions = {}): Promise<RunResult> {
  const o = checkOptions('runScenario', runOptionsSchema, options);
  const progress = o.progress ?? (() => {});
  const s = await loadScenarioInput(input, sayTo(progress));
  checkVariants(s, o.variants);
  checkImages(s, { runtime: o.runtime ?? 'docker' });
  const runId = o.runId ?? newRunId();
  const outDir = resolve(o.outDir ?? join('runs', `${s.name}-${runId}`));
  progress(`scenario ${s.name} (seed ${o.seed ?? s.seed}), run ${runId}`);
  return runHere(s, {
    outDir,
    runId,
    runtime: o.runtime ?? 'docker',
    seed: o.seed,
    variants: o.variants,
    parallel: o.parallel ?? 2,
    verbose: o.verbose,
    progress,
    // A test runner handles its own uncaught errors: trap only the signals.
    traps: { crashes: false },
  });
}

/**
 * Validate a scenario (a file's path, or an object of the file's shape) exactly as `ctlab run`
 * does, starting nothing: resolves to the validated model, or rejects with a CtlabError (code
 * SCENARIO) naming the file, line and field (for an object, the field path).
 */
export async function validateScenario(
  input: string | ScenarioInput,
  options: { progress?: (message: string) => void } = {},
): Promise<Scenario> {
  const o = checkOptions('validateScenario', validateOptionsSchema, options);
  return loadScenarioInput(input, sayTo(o.progress ?? (() => {})));
}
