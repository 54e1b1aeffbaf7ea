// Evidence of every variant of a run folder.
import { join } from 'node:path';
import type { RunResult, VariantResult } from '../result/types.js';
import { analyzeVariant } from './analyze.js';
import type { VariantEvidence } from './types.js';

/**
 * The folder of a variant in its run folder: its recorded `dir` (a multi-kernel run nests each
 * kernel's variants in the kernel's folder), else the rule of src/run/run.ts.
 */
export function variantDir(
  result: Pick<RunResult, 'repetitions'>,
  v: Pick<VariantResult, 'name' | 'repetition'> & { dir?: string },
): string {
  if (v.dir) return v.dir;
  return result.repetitions > 1 ? `${v.name}-${v.repetition}` : v.name;
}

/** Evidence for each variant of `result`, keyed by its folder name (variantDir()). */
export async function analyzeRun(result: RunResult, runDir: string): Promise<Record<string, VariantEvidence>> {
  const out: Record<string, VariantEvidence> = {};
  // One after another: the captures of a long run can be large, and the machine is shared.
  for (const v of result.variants) {
    const d = variantDir(result, v);
    out[d] = await analyzeVariant(join(runDir, d));
  }
  return out;
}
