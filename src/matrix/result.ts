// What matrix.json holds, and how it is built from the cells' RunResults. These field names
// are documented (README, "Matrix"): add fields freely, never rename these.
import { checkExpectations } from '../result/expectations.js';
import { MATRIX_ONLY_METRICS, relativeThroughput, workloadComplete } from '../result/metrics.js';
import type { RunResult, VariantResult } from '../result/types.js';
import type { MatrixCell } from './cells.js';
import type { ShardInfo } from './shard.js';

/**
 * clean: every record, no timeout, no INVALID drop. degraded: every record, but with timeouts
 * or INVALID drops on the way. broken: the harvest did not complete. error: the cell's lab
 * failed, nothing was measured.
 */
export type CellOutcome = 'clean' | 'degraded' | 'broken' | 'error';

export interface MatrixCellResult {
  name: string;
  /** The cell's value on each axis. */
  axes: { firewall: string; server: string };
  outcome: CellOutcome;
  /** Every expectation met, and the run trustworthy (no NFQUEUE drop, middlebox alive). */
  passed: boolean;
  harvest: { records: number; expectedRecords: number; complete: boolean };
  attempts: { total: number; timedOut: number; failed: number };
  server: { invalidDrops: number; conntrackInvalid: number };
  throughputBytesPerSec: number;
  /** This cell's throughput / the control cell's, same run; null if either harvest did not complete. */
  throughputVsControl: number | null;
  harvestMs: number;
  /** The kernel release the server ran. */
  kernel: string;
  /** The server's sysctls as configured. */
  sysctls: Record<string, string>;
  /** The settings that matter, read back with `sysctl` in the server node. */
  settings: Record<string, string>;
  expectations: { text: string; passed: boolean; actual: number | boolean | string | null; why: string }[];
  problems: string[];
  /** Set when the cell could not run. */
  error?: string;
  /** The cell's run folder, its result.json and report.html, relative to the matrix folder. */
  dir: string;
  result?: string;
  report?: string;
  runId: string;
  /**
   * Sharded runs only: the control run this cell's throughputVsControl was taken against (its own
   * shard's run of the control cell; `shard` is "i/n").
   */
  comparedWith?: { cell: string; shard: string; runId: string; throughputBytesPerSec: number | null };
}

/** A sharded run's control cell when the shard ran it only as its throughput baseline. */
export interface ControlOnlyRun {
  cell: string;
  dir: string;
  runId: string;
  throughputBytesPerSec: number | null;
  outcome: CellOutcome;
  result?: string;
  report?: string;
  error?: string;
}

/** What a merged matrix.json says about each shard it was made from. */
export interface MergedShardNote {
  index: number;
  count: number;
  runId: string;
  /** The folder the shard was merged from, as given to `ctlab merge`. */
  from: string;
  cells: string[];
  kernel: string;
  startedAt: string;
  durationMs: number;
  /** That shard's own run of the control cell (per kernel with --kernel: "<spec>" keys). */
  control: {
    cell: string;
    throughputBytesPerSec: number | null;
    owned: boolean;
    dir?: string;
    report?: string;
    kernel?: string;
  }[];
}

export interface MatrixResult {
  schemaVersion: 1;
  kind: 'ctlab-matrix';
  scenario: string;
  scenarioFile: string;
  seed: number;
  runId: string;
  startedAt: string;
  durationMs: number;
  parallel: number;
  kernel: string;
  axes: { firewall: string[]; server: string[] };
  /** Cells the matrix leaves out (exclude). */
  excluded: string[];
  control: { cell: string; throughputBytesPerSec: number | null } | null;
  cells: MatrixCellResult[];
  verdict: string;
  /** Every cell ran and met its expectations. */
  passed: boolean;
  problems: string[];
  reports?: { html: string; markdown: string };
  /** Set by `matrix --shard`: which shard this folder is (src/matrix/shard.ts). */
  shard?: ShardInfo;
  /** Set by `matrix --shard` when the shard ran the control only as its baseline. */
  controlOnly?: ControlOnlyRun;
  /** Set by `ctlab merge`: the shards this matrix was merged from. */
  merged?: { shards: MergedShardNote[]; throughput: string };
}

/** What running one cell gave: its RunResult, or the error that stopped it. */
export type CellRun = { cell: MatrixCell; runId: string; dir: string; result?: RunResult; error?: string };

export function outcomeOf(v: VariantResult): CellOutcome {
  if (!workloadComplete(v)) return 'broken';
  return v.attempts.timedOut > 0 || v.server.invalidDrops > 0 ? 'degraded' : 'clean';
}

export function cellResult(run: CellRun, control: VariantResult | undefined): MatrixCellResult {
  const { cell } = run;
  const base = {
    name: cell.name,
    axes: { firewall: cell.firewall, server: cell.server },
    dir: run.dir,
    runId: run.runId,
  };
  const v = run.result?.variants[0];
  if (!run.result || !v) {
    return {
      ...base,
      outcome: 'error',
      passed: false,
      harvest: {
        records: 0,
        expectedRecords: cell.scenario.workload.kind === 'oai-pmh' ? cell.scenario.workload.records : 0,
        complete: false,
      },
      attempts: { total: 0, timedOut: 0, failed: 0 },
      server: { invalidDrops: 0, conntrackInvalid: 0 },
      throughputBytesPerSec: 0,
      throughputVsControl: null,
      harvestMs: 0,
      kernel: '',
      sysctls: {},
      settings: {},
      expectations: cell.expect.map((e) => ({ text: e.text, passed: false, actual: null, why: e.why })),
      problems: [],
      error: run.error ?? 'the cell produced no result',
    };
  }
  // The cell's run checked its own expectations; those comparing with the control are checked
  // here, now that the control has run. Order follows the matrix's rules.
  const expectations = cell.expect.map(({ why, ...e }) => {
    const r = MATRIX_ONLY_METRICS.includes(e.metric)
      ? checkExpectations(v, [e], { control })[0]
      : v.expectations.find((x) => x.text === e.text);
    return { ...(r ?? { text: e.text, passed: false, actual: null }), why };
  });
  return {
    ...base,
    outcome: outcomeOf(v),
    passed: run.result.passed && expectations.every((e) => e.passed),
    harvest: { records: v.harvest.records, expectedRecords: v.harvest.expectedRecords, complete: workloadComplete(v) },
    attempts: { total: v.attempts.total, timedOut: v.attempts.timedOut, failed: v.attempts.failed },
    server: { invalidDrops: v.server.invalidDrops, conntrackInvalid: v.server.conntrackInvalid },
    throughputBytesPerSec: v.throughputBytesPerSec,
    throughputVsControl: relativeThroughput(v, control),
    harvestMs: v.durationMs,
    kernel: v.kernel,
    sysctls: v.sysctls,
    settings: v.serverSettings ?? {},
    expectations,
    problems: run.result.problems,
    result: `${run.dir}/result.json`,
    ...(run.result.reports ? { report: `${run.dir}/${run.result.reports.html}` } : {}),
  };
}

const n = (x: number) => x.toLocaleString('en-US');

function expectationFailures(c: MatrixCellResult): string {
  return c.expectations
    .filter((e) => !e.passed)
    .map((e) => `${e.text}: measured ${String(e.actual)}`)
    .join(', ');
}

/** One line: how many cells behaved as predicted, which broke, which contradicted the prediction. */
export function matrixVerdict(cells: MatrixCellResult[]): string {
  if (cells.length === 0) return 'Inconclusive: no cell ran.';
  const errors = cells.filter((c) => c.outcome === 'error');
  const [firstError] = errors;
  if (firstError)
    return `Inconclusive: ${errors.length} of ${cells.length} cell${cells.length === 1 ? '' : 's'} could not run (${firstError.name}: ${firstError.error}).`;
  const untrusted = cells.find((c) => c.problems.length > 0);
  if (untrusted) return `Inconclusive: ${untrusted.name}: ${untrusted.problems[0]}.`;
  const broken = cells.filter((c) => c.outcome === 'broken');
  const degraded = cells.filter((c) => c.outcome === 'degraded');
  const wrong = cells.filter((c) => !c.passed);
  const withRules = cells.filter((c) => c.expectations.length > 0).length;
  const states = [
    broken.length
      ? `broken in ${broken.map((c) => `${c.name} (${n(c.server.invalidDrops)} INVALID drops, ${c.attempts.timedOut} timeouts)`).join(', ')}`
      : 'no cell broken',
    ...(degraded.length ? [`degraded in ${degraded.map((c) => c.name).join(', ')}`] : []),
    `${cells.length - broken.length - degraded.length} of ${cells.length} clean`,
  ].join('; ');
  if (wrong.length > 0) {
    return `${wrong.length} of ${cells.length} cells contradict the prediction (${wrong.map((c) => `${c.name}: ${expectationFailures(c)}`).join('; ')}); ${states}.`;
  }
  return `${withRules === cells.length ? 'Every cell as predicted' : `As predicted in the ${withRules} cells with expectations`}: ${states}.`;
}
