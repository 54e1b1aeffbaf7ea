// `ctlab merge` on shard folders made by hand (test/unit/matrix/shard-fixtures.ts): a good merge
// gives the grid an unsharded run has, each cell's ratio against its own shard's control, and
// the cells' folders copied in; every bad input is refused with one line and exit 2.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CtlabError } from '../../../src/errors.js';
import { expandMatrix } from '../../../src/matrix/cells.js';
import { mergeShards } from '../../../src/matrix/merge.js';
import type { MatrixResult } from '../../../src/matrix/result.js';
import { ctlab, tempDir } from '../cli/cli.js';
import { fakeCell, GRID, gridScenario, writeShard } from './shard-fixtures.js';

const s = gridScenario();

/** Two good shards (the second on a machine twice as fast) in a fresh temp dir. */
function twoShards() {
  const root = tempDir('ctlab-merge-');
  const a = join(root, 'a');
  const b = join(root, 'b');
  writeShard(a, s, 1, 2);
  writeShard(b, s, 2, 2, { speed: 2 });
  return { root, a, b };
}

async function refusal(dirs: string[]): Promise<string> {
  let err: unknown;
  try {
    await mergeShards({ dirs, outDir: join(tempDir(), 'out'), runId: 'merge-test' });
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CtlabError);
  expect((err as CtlabError).code).toBe('SCENARIO'); // exit 2
  const line = (err as CtlabError).format();
  expect(line.split('\n')).toHaveLength(1);
  return line;
}

describe('ctlab merge: a good merge', () => {
  it('has every cell of the grid once, in grid order, with the unsharded fields', async () => {
    const { root, a, b } = twoShards();
    const out = join(root, 'merged');
    const r = await mergeShards({ dirs: [b, a], outDir: out, runId: 'merge-test' });
    expect(r.kind).toBe('matrix');
    const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as MatrixResult;
    expect(m.cells.map((c) => c.name)).toEqual(expandMatrix(s).map((c) => c.name));
    expect(m).toMatchObject({
      kind: 'ctlab-matrix',
      scenario: 'shardgrid',
      seed: 3,
      excluded: ['transparent--flag-on'],
      control: { cell: 'transparent--flag-off' },
      passed: true,
    });
    expect(m.shard).toBeUndefined();
    expect(m.verdict).toMatch(/^Every cell as predicted|^As predicted/);
    expect(m.merged!.shards.map((x) => [x.index, x.cells])).toEqual([
      [1, ['asa--flag-off', 'asa+lb-strip-sack--flag-off', 'transparent--flag-off']],
      [2, ['asa--flag-on', 'asa+lb-strip-sack--flag-on']],
    ]);
  });

  it("each ratio is against its own shard's control, and says which (machines of different speed agree)", async () => {
    const { root, a, b } = twoShards();
    const out = join(root, 'merged');
    await mergeShards({ dirs: [a, b], outDir: out, runId: 'merge-test' });
    const m = JSON.parse(readFileSync(join(out, 'matrix.json'), 'utf8')) as MatrixResult;
    const on = m.cells.find((c) => c.name === 'asa--flag-on')!;
    // Shard 2 ran twice as fast: raw throughput doubled, the ratio did not.
    expect(on.throughputBytesPerSec).toBe(2 * 1.1e6);
    expect(on.throughputVsControl).toBeCloseTo(1.1e6 / 1.4e6, 10);
    expect(on.comparedWith).toMatchObject({ cell: 'transparent--flag-off', shard: '2/2' });
    expect(m.cells.find((c) => c.name === 'transparent--flag-off')!.comparedWith!.shard).toBe('1/2');
    // The counted control is shard 1's (it owns the cell); shard 2's is its baseline only.
    expect(m.control!.throughputBytesPerSec).toBe(1.4e6);
    expect(m.merged!.shards[1]!.control).toEqual([
      {
        cell: 'transparent--flag-off',
        throughputBytesPerSec: 2.8e6,
        owned: false,
        dir: 'shard-controls/shard-2-of-2/transparent--flag-off',
      },
    ]);
    const html = readFileSync(join(out, 'matrix.html'), 'utf8');
    expect(html).toContain('id="shards"');
    expect(html).toContain("(shard 2/2's run)");
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).toContain('Merged from 2 shards');
  });

  it("copies every cell's folder in, and each shard's extra control run apart", async () => {
    const { root, a, b } = twoShards();
    const out = join(root, 'merged');
    await mergeShards({ dirs: [a, b], outDir: out, runId: 'merge-test' });
    for (const c of expandMatrix(s))
      expect(JSON.parse(readFileSync(join(out, c.name, 'result.json'), 'utf8')).cell).toBe(c.name);
    expect(JSON.parse(readFileSync(join(out, 'transparent--flag-off', 'result.json'), 'utf8')).shard).toBe(1);
    expect(
      JSON.parse(readFileSync(join(out, 'shard-controls/shard-2-of-2/transparent--flag-off', 'result.json'), 'utf8'))
        .shard,
    ).toBe(2);
  });

  it('more shards than cells: the empty shards merge too', async () => {
    const root = tempDir('ctlab-merge-');
    const dirs = [1, 2, 3, 4, 5, 6].map((i) => join(root, String(i)));
    dirs.forEach((d, k) => writeShard(d, s, k + 1, 6));
    expect(JSON.parse(readFileSync(join(dirs[5]!, 'matrix.json'), 'utf8')).cells).toEqual([]);
    const r = await mergeShards({ dirs, outDir: join(root, 'm'), runId: 'merge-test' });
    expect(r.kind === 'matrix' && r.result.cells.map((c) => c.name)).toEqual(expandMatrix(s).map((c) => c.name));
  });

  it('a failed prediction in one shard makes the merge fail (exit 1 from the CLI)', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 2);
    writeShard(join(root, 'b'), s, 2, 2, {
      edit: (m) => {
        m.cells[0]!.passed = false;
        m.cells[0]!.expectations = [{ text: 'complete == true', passed: false, actual: false, why: '' }];
        m.passed = false;
      },
    });
    const r = await ctlab(['merge', join(root, 'a'), join(root, 'b'), '--out', join(root, 'm')]);
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stdout).toContain('contradict the prediction');
    const ok = tempDir('ctlab-merge-');
    writeShard(join(ok, 'a'), s, 1, 2);
    writeShard(join(ok, 'b'), s, 2, 2);
    const r0 = await ctlab(['merge', join(ok, 'a'), join(ok, 'b'), '--out', join(ok, 'm')]);
    expect(r0.exitCode, r0.stderr).toBe(0);
    expect(r0.stdout).toMatch(/shard 2\/2: asa--flag-on, asa\+lb-strip-sack--flag-on; ratios against its control run/);
  });
});

describe('ctlab merge refuses (one line, exit 2)', () => {
  it('shards of different scenarios (content hash)', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 2);
    writeShard(join(root, 'b'), gridScenario(GRID.replace('records: 500', 'records: 600')), 2, 2);
    expect(await refusal([join(root, 'a'), join(root, 'b')])).toMatch(
      /^ctlab: shards of different scenarios: .*content hash/,
    );
  });

  it('different seeds', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 2);
    writeShard(join(root, 'b'), s, 2, 2, { seed: 4 });
    expect(await refusal([join(root, 'a'), join(root, 'b')])).toMatch(
      /^ctlab: shards of different seeds: .* has seed 3, .* has seed 4$/,
    );
  });

  it('different ctlab versions', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 2);
    writeShard(join(root, 'b'), s, 2, 2, { version: '0.0.1-other' });
    expect(await refusal([join(root, 'a'), join(root, 'b')])).toMatch(
      /^ctlab: shards of different ctlab versions: .*ctlab 0\.0\.1-other$/,
    );
  });

  it('different shard counts', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 2);
    writeShard(join(root, 'b'), s, 2, 3);
    expect(await refusal([join(root, 'a'), join(root, 'b')])).toMatch(/^ctlab: shards of different shard counts/);
  });

  it('overlapping shards: the same shard twice', async () => {
    const { a, b, root } = twoShards();
    writeShard(join(root, 'a2'), s, 1, 2);
    expect(await refusal([a, b, join(root, 'a2')])).toMatch(
      /^ctlab: overlapping shards: .*a and .*a2 are both shard 1\/2$/,
    );
  });

  it('overlapping shards: two shards claiming one cell', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 2);
    writeShard(join(root, 'b'), s, 2, 2, {
      edit: (m) => {
        m.shard!.cells.push('asa--flag-off');
        m.cells.push(fakeCell('asa--flag-off', 1e6, 1.4e6));
      },
    });
    expect(await refusal([join(root, 'a'), join(root, 'b')])).toMatch(
      /^ctlab: overlapping shards: .* both own cell asa--flag-off$/,
    );
  });

  it('missing shards', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 3);
    writeShard(join(root, 'c'), s, 3, 3);
    expect(await refusal([join(root, 'a'), join(root, 'c')])).toBe('ctlab: missing shard 2/3 (given: 1/3, 3/3)');
  });

  it('a folder that is not a shard: none, a file, no matrix.json, not JSON, not a matrix, unsharded, already merged, unfinished', async () => {
    const { root, a, b } = twoShards();
    const cases: [string, () => void, RegExp][] = [
      ['nothing', () => {}, /no such directory/],
      ['file', () => writeFileSync(join(root, 'file'), 'x'), /not a directory/],
      ['empty', () => mkdirSync(join(root, 'empty')), /has no matrix\.json/],
      [
        'garbage',
        () => {
          mkdirSync(join(root, 'garbage'));
          writeFileSync(join(root, 'garbage/matrix.json'), '{ not json');
        },
        /is not JSON/,
      ],
      [
        'run',
        () => {
          mkdirSync(join(root, 'run'));
          writeFileSync(join(root, 'run/matrix.json'), JSON.stringify({ kind: 'ctlab-run' }));
        },
        /is not a ctlab matrix/,
      ],
      [
        'unsharded',
        () =>
          writeShard(join(root, 'unsharded'), s, 1, 1, {
            edit: (m) => {
              delete m.shard;
            },
          }),
        /has no "shard" \(an unsharded run\)/,
      ],
      [
        'merged',
        () =>
          writeShard(join(root, 'merged'), s, 1, 1, {
            edit: (m) => {
              m.merged = { shards: [], throughput: '' };
            },
          }),
        /already a merged matrix/,
      ],
      [
        'unfinished',
        () =>
          writeShard(join(root, 'unfinished'), s, 2, 2, {
            edit: (m) => {
              m.cells.pop();
            },
          }),
        /cell asa\+lb-strip-sack--flag-on that it owns is not in its matrix\.json/,
      ],
      [
        'malformed',
        () =>
          writeShard(join(root, 'malformed'), s, 2, 2, {
            edit: (m) => {
              (m.shard as { index: unknown }).index = 'two';
            },
          }),
        /"shard" entry is malformed/,
      ],
    ];
    for (const [name, make, re] of cases) {
      make();
      const line = await refusal([a, join(root, name)]);
      expect(line, name).toMatch(
        new RegExp(`^ctlab: ${join(root, name).replace(/[.+]/g, '\\$&')} is not a shard folder: `),
      );
      expect(line, name).toMatch(re);
    }
    void b;
  });

  it('the CLI: exit 2, one line on stderr, nothing written', async () => {
    const root = tempDir('ctlab-merge-');
    writeShard(join(root, 'a'), s, 1, 3);
    writeShard(join(root, 'b'), s, 2, 3);
    const out = join(root, 'out');
    const r = await ctlab(['merge', join(root, 'a'), join(root, 'b'), '--out', out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr.trim().split('\n')).toEqual(['ctlab: missing shard 3/3 (given: 1/3, 2/3)']);
    expect(existsSync(out)).toBe(false);
    const none = await ctlab(['merge', join(root, 'nope')]);
    expect(none.exitCode).toBe(2);
    expect(none.stderr.trim().split('\n')).toHaveLength(1);
  });
});
