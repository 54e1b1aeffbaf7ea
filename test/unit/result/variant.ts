// Shared by the result-model tests: one variant's result (a complete harvest of 100 records on
// 6.18, nothing dropped), with the fields a test cares about changed.
import type { VariantResult } from '../../../src/result/types.js';

type Over = Partial<Omit<VariantResult, 'harvest' | 'attempts' | 'server' | 'client'>> & {
  harvest?: Partial<VariantResult['harvest']>;
  attempts?: Partial<VariantResult['attempts']>;
  server?: Partial<VariantResult['server']>;
  client?: Partial<VariantResult['client']>;
};

export function variantResult(o: Over = {}): VariantResult {
  const { harvest, attempts, server, client, ...rest } = o;
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
    middlebox: { counters: {}, binding: {}, hold: {}, cpu: {}, queueDrops: 0, flows: 1 },
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
      retries: 0,
      failed: 0,
      ...attempts,
    },
    server: { invalidDrops: 0, conntrackInvalid: 0, conntrackStats: {}, nstat: {}, ...server },
    client: { nstat: {}, ...client },
  };
}
