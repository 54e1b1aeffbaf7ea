// ctlab's library entry point (package.json `exports`): run a scenario from a test and get
// result.json's content, or start one variant's lab and drive it yourself. Only what a user's
// test needs is exported here; everything else is internal.
//
//   import { runScenario, startLab, CtlabError } from 'ctlab';

// `await using` needs Symbol.asyncDispose (Node >= 20.4 has it); older runtimes get the symbol that
// TypeScript's and esbuild's down-levelled `await using` look up.
if (!(Symbol as { asyncDispose?: symbol }).asyncDispose)
  Object.defineProperty(Symbol, 'asyncDispose', { value: Symbol.for('Symbol.asyncDispose') });

export { runScenario, validateScenario, type RunScenarioOptions } from './api/run.js';
export {
  startLab,
  type Lab,
  type LabCapture,
  type LabCounters,
  type LabNode,
  type LabNodeName,
  type StartLabOptions,
} from './api/lab.js';
/** The one error type: `code` says what failed (SCENARIO: bad input, nothing started; DOCKER, IMAGE, KERNEL, LAB, EXEC, HOST). */
export { CtlabError, type ErrorCode } from './errors.js';
export type { ScenarioInput } from './scenario/schema.js';
export type { Scenario } from './scenario/model.js';
export type { ExecOptions, ExecResult } from './runtime/types.js';
export type {
  ActionResult,
  AttemptCounts,
  ExpectationResult,
  InvalidCount,
  KernelRun,
  Percentiles,
  RunResult,
  VariantResult,
} from './result/types.js';
