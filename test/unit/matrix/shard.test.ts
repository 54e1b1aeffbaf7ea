// Sharding a matrix: --shard parsing (bad input is one line, exit 2), which (kernel, cell) pairs
// each shard owns (deterministic, every pair exactly once), the scenario's content hash, and the
// progress line naming the shard and its cells.
import { describe, expect, it } from 'vitest';
import { expandMatrix } from '../../../src/matrix/cells.js';
import {
  gridUnits,
  parseShard,
  scenarioHash,
  shardBanner,
  shardInfo,
  shardUnits,
  unitId,
} from '../../../src/matrix/shard.js';
import { CtlabError } from '../../../src/errors.js';
import { loadScenario } from '../../../src/scenario/load.js';
import { ctlab, REPO } from '../cli/cli.js';
import { join } from 'node:path';
import { GRID, gridScenario } from './shard-fixtures.js';

const MATRIX = join(REPO, 'scenarios/harvester-asa-matrix.yaml');

describe('--shard i/n', () => {
  it('parses i/n with 1 <= i <= n', () => {
    expect(parseShard('1/1')).toEqual({ index: 1, count: 1 });
    expect(parseShard('2/3')).toEqual({ index: 2, count: 3 });
    expect(parseShard(' 3 / 3 ')).toEqual({ index: 3, count: 3 });
  });

  for (const bad of ['0/3', '4/3', '1/0', '0/0', 'junk', '', '2', '2/3/4', '-1/3', '1.5/3', 'a/b']) {
    it(`refuses ${JSON.stringify(bad)} as bad input`, () => {
      let err: unknown;
      try {
        parseShard(bad);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(CtlabError);
      expect((err as CtlabError).code).toBe('SCENARIO');
      expect((err as CtlabError).format().split('\n')).toHaveLength(1);
    });
  }

  it('the CLI turns a bad --shard into one line and exit 2, before any lab starts', async () => {
    for (const bad of ['0/3', '4/3', '1/0', 'junk']) {
      const r = await ctlab(['matrix', MATRIX, '--shard', bad]);
      expect(r.exitCode, bad).toBe(2);
      expect(r.stderr.trim().split('\n'), bad).toHaveLength(1);
      expect(r.stderr).toMatch(/^ctlab: --shard /);
    }
  });
});

describe('which shard owns which cell', () => {
  const cells = expandMatrix(loadScenario(MATRIX));

  for (const n of [1, 2, 3, 5, 15, 20]) {
    it(`${n} shard(s) of the 15-cell matrix own every cell exactly once`, () => {
      const units = gridUnits(cells, undefined);
      const owned = Array.from({ length: n }, (_, k) => shardUnits(units, { index: k + 1, count: n }).map(unitId));
      expect(owned.flat().sort()).toEqual(cells.map((c) => c.name).sort());
      expect(new Set(owned.flat()).size).toBe(cells.length);
      // Balanced: sizes differ by at most one.
      const sizes = owned.map((o) => o.length);
      expect(Math.max(...sizes) - Math.min(...sizes)).toBeLessThanOrEqual(1);
    });
  }

  it('the same i/n always owns the same cells, in grid order (round robin)', () => {
    const a = shardUnits(gridUnits(expandMatrix(loadScenario(MATRIX)), undefined), { index: 2, count: 3 }).map(unitId);
    const b = shardUnits(gridUnits(cells, undefined), { index: 2, count: 3 }).map(unitId);
    expect(a).toEqual(b);
    expect(a).toEqual([1, 4, 7, 10, 13].map((k) => cells[k]!.name));
  });

  it("with --kernel the unit is a (kernel, cell) pair: two shards cover both kernels' grids", () => {
    const units = gridUnits(cells, ['6.1', 'host']);
    expect(units).toHaveLength(30);
    const s1 = shardUnits(units, { index: 1, count: 2 }).map(unitId);
    const s2 = shardUnits(units, { index: 2, count: 2 }).map(unitId);
    expect([...s1, ...s2].sort()).toEqual(['6.1', 'host'].flatMap((k) => cells.map((c) => `${k}:${c.name}`)).sort());
    expect(s1.filter((u) => u.startsWith('6.1:')).length).toBeGreaterThan(0);
    expect(s1.filter((u) => u.startsWith('host:')).length).toBeGreaterThan(0);
  });
});

describe('shard marks', () => {
  it('the scenario hash follows the content, not the file path', () => {
    const a = gridScenario();
    const b = { ...gridScenario(), file: '/elsewhere/x.yaml' };
    expect(scenarioHash(a)).toBe(scenarioHash(b));
    expect(scenarioHash(gridScenario(GRID.replace('records: 500', 'records: 501')))).not.toBe(scenarioHash(a));
  });

  it('records index, count, owned cells, grid size, hash, seed, version; the banner names them', () => {
    const s = gridScenario();
    const info = shardInfo({ spec: { index: 2, count: 2 }, scenario: s, cells: expandMatrix(s), seed: 9 });
    expect(info).toMatchObject({
      index: 2,
      count: 2,
      cells: ['asa--flag-on', 'asa+lb-strip-sack--flag-on'],
      total: 5,
      seed: 9,
      kernels: [],
    });
    expect(info.ctlabVersion).toMatch(/^\d+\.\d+\.\d+/);
    expect(shardBanner(info, 'transparent--flag-off')).toBe(
      'shard 2/2: owns 2 of 5 cells: asa--flag-on, asa+lb-strip-sack--flag-on; it also runs the control transparent--flag-off for its throughput baseline (not counted as its cell)',
    );
    const one = shardInfo({ spec: { index: 1, count: 2 }, scenario: s, cells: expandMatrix(s), seed: 9 });
    expect(shardBanner(one, 'transparent--flag-off')).toContain('it owns the control transparent--flag-off');
  });
});
