// The metrics table: each metric read from a variant's result, the table's own rules, and the
// README's metric table, which must be the table's rendering. When a row changes, regenerate the
// README's block: npm run build && node -e "import('./dist/src/result/metrics.js').then((m) => console.log(m.metricsMarkdown()))"
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  MATRIX_ONLY_METRICS,
  METRIC_TABLE,
  METRICS,
  metricsMarkdown,
  metricValue,
  type Metric,
  type MetricRow,
} from '../../../src/result/metrics.js';
import { variantResult } from './variant.js';

describe('metricValue', () => {
  it('reads the harvest, the attempts, the server, the middlebox', () => {
    const v = variantResult({
      harvest: { records: 1200, complete: false },
      attempts: { timedOut: 3, failed: 4, resets: 1 },
      server: { invalidDrops: 41, conntrackInvalid: 44, nstat: { TcpEstabResets: 3 } },
      middlebox: { counters: {}, binding: {}, hold: {}, cpu: {}, queueDrops: 2, flows: 1 },
    });
    const names: Metric[] = [
      'records',
      'complete',
      'attempts.timedOut',
      'attempts.failed',
      'attempts.resets',
      'server.invalidDrops',
      'server.conntrackInvalid',
      'server.estabResets',
      'middlebox.queueDrops',
    ];
    expect(Object.fromEntries(names.map((m) => [m, metricValue(v, m)]))).toEqual({
      records: 1200,
      complete: false,
      'attempts.timedOut': 3,
      'attempts.failed': 4,
      'attempts.resets': 1,
      'server.invalidDrops': 41,
      'server.conntrackInvalid': 44,
      'server.estabResets': 3,
      'middlebox.queueDrops': 2,
    });
  });

  it('reads the client conntrack, its INVALID rule and its RSTs; null where the run has none', () => {
    const v = variantResult({ client: { nstat: { TcpOutRsts: 17 }, conntrackInvalid: 42, invalidDrops: 40 } });
    expect(metricValue(v, 'client.conntrackInvalid')).toBe(42);
    expect(metricValue(v, 'client.invalidDrops')).toBe(40);
    expect(metricValue(v, 'client.outRsts')).toBe(17);
    const plain = variantResult();
    expect(metricValue(plain, 'client.conntrackInvalid')).toBeNull();
    expect(metricValue(plain, 'client.invalidDrops')).toBeNull();
    expect(metricValue(plain, 'client.outRsts')).toBeNull();
  });

  it('throughputMbit is the harvest throughput in Mbit/s', () => {
    expect(metricValue(variantResult({ throughputBytesPerSec: 1_250_000 }), 'throughputMbit')).toBe(10);
  });

  it('throughput.relative needs a complete control and a complete harvest; null without them', () => {
    const a = variantResult({ throughputBytesPerSec: 500_000 });
    const ctl = variantResult({ throughputBytesPerSec: 2_000_000 });
    expect(metricValue(a, 'throughput.relative', { control: ctl })).toBe(0.25);
    expect(metricValue(a, 'throughput.relative')).toBeNull();
    expect(
      metricValue(
        variantResult({ throughputBytesPerSec: 500_000, harvest: { complete: false } }),
        'throughput.relative',
        { control: ctl },
      ),
    ).toBeNull();
    expect(
      metricValue(a, 'throughput.relative', {
        control: variantResult({ throughputBytesPerSec: 2_000_000, harvest: { complete: false } }),
      }),
    ).toBeNull();
  });
});

describe('the metrics table', () => {
  it('names each metric once, in the form an expectation can write', () => {
    expect(new Set(METRICS).size).toBe(METRIC_TABLE.length);
    for (const m of METRICS) expect(m).toMatch(/^[a-zA-Z.]+$/);
  });

  it('derives the matrix-only metrics from the rows, each naming a metric a run can use instead', () => {
    expect(MATRIX_ONLY_METRICS).toEqual(['throughput.relative']);
    for (const m of METRIC_TABLE) {
      const instead = (m as MetricRow).instead;
      if (m.runs === 'matrix') expect(METRICS.filter((x) => !MATRIX_ONLY_METRICS.includes(x))).toContain(instead);
      else expect(instead, m.name).toBeUndefined();
    }
  });
});

describe('README', () => {
  it('lists the metrics exactly as the table says (regenerate with metricsMarkdown() when they differ)', () => {
    const readme = readFileSync(new URL('../../../README.md', import.meta.url), 'utf8');
    const m = /<!-- metrics: [^\n]*-->\n([\s\S]*?)\n<!-- \/metrics -->/.exec(readme);
    expect(m, 'README.md has no <!-- metrics: ... --> ... <!-- /metrics --> block').not.toBeNull();
    expect(m![1]).toBe(metricsMarkdown());
  });
});
