// Shard folders made by hand for the merge tests: the real sharding (src/matrix/shard.ts) over a
// real parsed scenario decides which shard owns which cell; only the measured values are made up.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expandMatrix, selectControl } from '../../../src/matrix/cells.js';
import type { MatrixCellResult, MatrixResult } from '../../../src/matrix/result.js';
import { shardInfo, type ShardInfo } from '../../../src/matrix/shard.js';
import { parseScenario } from '../../../src/scenario/load.js';
import type { Scenario } from '../../../src/scenario/model.js';

export const GRID = `name: shardgrid
seed: 3
server:
  sysctls: { net.netfilter.nf_conntrack_log_invalid: 6 }
  firewall: { dropInvalid: true, backend: nft }
workload: { records: 500 }
matrix:
  axes:
    firewall: [asa, asa+lb-strip-sack, transparent]
    server:
      flag-off: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 0 } }
      flag-on: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 } }
  exclude:
    - { firewall: transparent, server: flag-on }
  expect:
    - { firewall: asa, server: flag-off, expect: [server.invalidDrops > 0] }
`;

export function gridScenario(text = GRID): Scenario {
  return parseScenario(text, 'shardgrid.yaml');
}

/** A cell as a run would report it; `rate` is the cell's throughput in bytes/s. */
export function fakeCell(
  name: string,
  rate: number,
  controlRate: number | null,
  o: Partial<MatrixCellResult> = {},
): MatrixCellResult {
  const [firewall, server] = name.split('--') as [string, string];
  const broken = firewall === 'asa' && server === 'flag-off';
  return {
    name,
    axes: { firewall, server },
    outcome: broken ? 'broken' : 'clean',
    passed: true,
    harvest: { records: broken ? 0 : 500, expectedRecords: 500, complete: !broken },
    attempts: { total: 1, timedOut: broken ? 3 : 0, failed: 0 },
    server: { invalidDrops: broken ? 140 : 0, conntrackInvalid: broken ? 140 : 0 },
    throughputBytesPerSec: rate,
    throughputVsControl: broken || controlRate === null ? null : rate / controlRate,
    harvestMs: 1000,
    kernel: '6.18.0',
    sysctls: {},
    settings: {},
    expectations: broken ? [{ text: 'server.invalidDrops > 0', passed: true, actual: 140, why: '' }] : [],
    problems: [],
    dir: name,
    result: `${name}/result.json`,
    report: `${name}/report.html`,
    runId: `run-${name}`,
    ...o,
  };
}

/**
 * Shard i of n of `s`, as `ctlab matrix --shard i/n` would write it into `dir`: matrix.json and a
 * folder per cell it ran (with a result.json naming the cell). `speed` scales the machine's
 * throughput (every cell and the control alike).
 */
export function writeShard(
  dir: string,
  s: Scenario,
  index: number,
  count: number,
  o: { speed?: number; seed?: number; version?: string; hash?: string; edit?: (m: MatrixResult) => void } = {},
): MatrixResult {
  const cells = expandMatrix(s);
  const control = selectControl(s, cells)!;
  const info: ShardInfo = {
    ...shardInfo({ spec: { index, count }, scenario: s, cells, seed: o.seed ?? s.seed }),
    ...(o.version ? { ctlabVersion: o.version } : {}),
    ...(o.hash ? { scenarioHash: o.hash } : {}),
  };
  const speed = o.speed ?? 1;
  const base = (name: string) => (1e6 + cells.findIndex((c) => c.name === name) * 1e5) * speed;
  const controlRate = base(control.name);
  const owned = info.cells.map((n) => fakeCell(n, base(n), controlRate, { runId: `s${index}-${n}` }));
  for (const c of owned)
    c.comparedWith = {
      cell: control.name,
      shard: `${index}/${count}`,
      runId: `s${index}-${control.name}`,
      throughputBytesPerSec: controlRate,
    };
  const ownsControl = info.cells.includes(control.name);
  const m: MatrixResult = {
    schemaVersion: 1,
    kind: 'ctlab-matrix',
    scenario: s.name,
    scenarioFile: `/somewhere/${index}/shardgrid.yaml`,
    seed: info.seed,
    runId: `shard-run-${index}`,
    startedAt: `2026-12-01T10:0${index}:00.000Z`,
    durationMs: 1000 * index,
    parallel: 2,
    kernel: '6.18.0',
    axes: { firewall: s.matrix!.firewalls.map((f) => f.name), server: s.matrix!.servers.map((x) => x.name) },
    excluded: ['transparent--flag-on'],
    control: { cell: control.name, throughputBytesPerSec: controlRate },
    cells: owned,
    verdict: 'fabricated',
    passed: owned.every((c) => c.passed),
    problems: [],
    reports: { html: 'matrix.html', markdown: 'summary.md' },
    shard: info,
    ...(ownsControl || owned.length === 0
      ? {}
      : {
          controlOnly: {
            cell: control.name,
            dir: control.name,
            runId: `s${index}-${control.name}`,
            throughputBytesPerSec: controlRate,
            outcome: 'clean' as const,
            result: `${control.name}/result.json`,
          },
        }),
  };
  o.edit?.(m);
  mkdirSync(dir, { recursive: true });
  for (const c of [...owned.map((x) => x.dir), ...(m.controlOnly ? [m.controlOnly.dir] : [])]) {
    mkdirSync(join(dir, c), { recursive: true });
    writeFileSync(join(dir, c, 'result.json'), JSON.stringify({ cell: c, shard: index }));
  }
  writeFileSync(join(dir, 'matrix.json'), JSON.stringify(m, null, 2));
  return m;
}
