// Sharding a matrix across CI runners (`ctlab matrix --shard i/n`): which (kernel, cell) pairs a
// shard owns, decided from the scenario's own order alone (never from timing), and the marks a
// shard leaves in its matrix.json so that `ctlab merge` can check the shards belong together.
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { CtlabError } from '../errors.js';
import type { Scenario } from '../scenario/model.js';
import type { MatrixCell } from './cells.js';

export interface ShardSpec {
  /** 1-based. */
  index: number;
  count: number;
}

/** What matrix.json says about the shard that wrote it (`shard`). */
export interface ShardInfo extends ShardSpec {
  /** The units this shard owns, in grid order: cell names, or "<kernel spec>:<cell>" with --kernel. */
  cells: string[];
  /** How many units the whole grid has (every shard's `cells` together). */
  total: number;
  /** sha256 of the scenario's validated model (its file path left out). */
  scenarioHash: string;
  seed: number;
  ctlabVersion: string;
  /** The --kernel list as given ([] without --kernel). */
  kernels: string[];
  /** How throughput is made comparable across machines. */
  throughput: "each shard runs the control cell; every ratio is against its own shard's control";
}

export const SHARD_THROUGHPUT_METHOD: ShardInfo['throughput'] =
  "each shard runs the control cell; every ratio is against its own shard's control";

/** "2/3" → {index: 2, count: 3}; anything else is bad input (exit 2, one line). */
export function parseShard(v: string): ShardSpec {
  const m = /^\s*(\d{1,6})\s*\/\s*(\d{1,6})\s*$/.exec(v);
  if (!m)
    throw new CtlabError(
      'SCENARIO',
      `--shard ${JSON.stringify(v)}: expected i/n, e.g. 2/3 (shard i of n, 1 <= i <= n)`,
    );
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1) throw new CtlabError('SCENARIO', `--shard ${v}: the number of shards must be at least 1`);
  if (index < 1 || index > count)
    throw new CtlabError('SCENARIO', `--shard ${v}: the shard index must be from 1 to ${count}`);
  return { index, count };
}

/** A unit of sharding: one cell on one kernel (kernel undefined without --kernel). */
export interface ShardUnit {
  kernel?: string;
  cell: string;
}

export function unitId(u: ShardUnit): string {
  return u.kernel === undefined ? u.cell : `${u.kernel}:${u.cell}`;
}

/** Every unit of the grid in a fixed order: kernels as listed, then the cells in grid order. */
export function gridUnits(cells: Pick<MatrixCell, 'name'>[], kernels: string[] | undefined): ShardUnit[] {
  if (!kernels || kernels.length === 0) return cells.map((c) => ({ cell: c.name }));
  return kernels.flatMap((kernel) => cells.map((c) => ({ kernel, cell: c.name })));
}

/**
 * The units shard i of n owns: every n-th unit, starting at the i-th (round robin over the grid
 * order, so broken cells, which take longest and sit together in a row, spread over the shards).
 * The shards together own every unit exactly once; a shard may own none when n exceeds the grid.
 */
export function shardUnits(units: ShardUnit[], s: ShardSpec): ShardUnit[] {
  return units.filter((_, k) => k % s.count === s.index - 1);
}

/** The scenario's identity for merge: its validated model, without where the file lay. */
export function scenarioHash(s: Scenario): string {
  const { file: _file, ...model } = s;
  return createHash('sha256').update(JSON.stringify(model)).digest('hex');
}

/** ctlab's own version (package.json), from dist/src/matrix or, under the tests, src/matrix. */
export function ctlabVersion(): string {
  for (const rel of ['../../../package.json', '../../package.json']) {
    try {
      const pkg = JSON.parse(readFileSync(new URL(rel, import.meta.url), 'utf8')) as {
        name?: string;
        version?: string;
      };
      if (pkg.name === 'ctlab' && pkg.version) return pkg.version;
    } catch {
      // not at this depth
    }
  }
  throw new CtlabError('HOST', "cannot find ctlab's package.json (for its version)");
}

export function shardInfo(o: {
  spec: ShardSpec;
  scenario: Scenario;
  cells: MatrixCell[];
  kernels?: string[];
  seed: number;
}): ShardInfo {
  const units = gridUnits(o.cells, o.kernels);
  return {
    index: o.spec.index,
    count: o.spec.count,
    cells: shardUnits(units, o.spec).map(unitId),
    total: units.length,
    scenarioHash: scenarioHash(o.scenario),
    seed: o.seed,
    ctlabVersion: ctlabVersion(),
    kernels: o.kernels ?? [],
    throughput: SHARD_THROUGHPUT_METHOD,
  };
}

/** One progress line: which shard, which cells it owns, and the extra control run if any. */
export function shardBanner(info: ShardInfo, control: string | undefined): string {
  const owned = info.cells.length ? info.cells.join(', ') : 'none (more shards than cells)';
  const ctl = control
    ? info.kernels.length
      ? `; on each of its kernels it also runs the control ${control} unless it owns it (its throughput baseline)`
      : info.cells.includes(control)
        ? `; it owns the control ${control}`
        : `; it also runs the control ${control} for its throughput baseline (not counted as its cell)`
    : '';
  return `shard ${info.index}/${info.count}: owns ${info.cells.length} of ${info.total} cells: ${owned}${ctl}`;
}
