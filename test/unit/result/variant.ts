// Shared by the unit tests that need a result by hand: one variant's result (a complete harvest of
// 100 records on 6.18, nothing dropped) and a run's result around variants, with the fields a test
// cares about changed.
import type { RunResult, VariantResult } from '../../../src/result/types.js';

type Nested = 'harvest' | 'attempts' | 'server' | 'client' | 'middlebox';

type Over = Partial<Omit<VariantResult, Nested>> & { [K in Nested]?: Partial<VariantResult[K]> };

export function variantResult(o: Over = {}): VariantResult {
  const { harvest, attempts, server, client, middlebox, ...rest } = o;
  return {
    name: 'v',
    repetition: 1,
    seed: 7,
    kernel: '6.18.44-fc-v657',
    sysctls: {},
    connectMs: { p50: 1, p90: 1, p99: 1, max: 1 },
    requestMs: { p50: 1, p90: 1, p99: 1, max: 1 },
    durationMs: 1000,
    throughputBytesPerSec: 1000,
    expectations: [],
    timings: { labUpMs: 1, harvestMs: 1, collectMs: 1, teardownMs: 1 },
    dir: 'v',
    files: {},
    ...rest,
    harvest: { records: 100, expectedRecords: 100, complete: true, pages: 2, stoppedBecause: null, ...harvest },
    attempts: {
      total: 3,
      ok: 3,
      timedOut: 0,
      connectTimeouts: 0,
      readTimeouts: 0,
      resets: 0,
      errors: 0,
      httpErrors: 0,
      parseErrors: 0,
      retries: 0,
      failed: 0,
      ...attempts,
    },
    server: { invalidDrops: 0, conntrackInvalid: 0, conntrackStats: {}, nstat: {}, ...server },
    client: { nstat: {}, ...client },
    middlebox: { counters: {}, binding: {}, hold: {}, cpu: {}, queueDrops: 0, flows: 1, ...middlebox },
  };
}

/** A run's result.json around `variants`: one repetition, passed, no problems. */
export function runResult(variants: VariantResult[], o: Partial<RunResult> = {}): RunResult {
  return {
    schemaVersion: 1,
    scenario: 's',
    scenarioFile: 's.yaml',
    seed: 7,
    repetitions: 1,
    kernel: '6.18.0',
    runId: 'r',
    startedAt: '',
    durationMs: 1,
    verdict: '',
    passed: true,
    variants,
    problems: [],
    ...o,
  };
}
