// Throughput as an expectation: throughputMbit (absolute, any variant) and throughput.relative
// (matrix only: over the control cell measured in the same run, checked by the matrix once the
// control has run, never by the cell's own run).
import { describe, expect, it } from 'vitest';
import { expandMatrix } from '../../../src/matrix/cells.js';
import { cellResult, type CellRun } from '../../../src/matrix/result.js';
import { checkExpectations } from '../../../src/result/expectations.js';
import type { VariantResult } from '../../../src/result/types.js';
import { parseScenario, ScenarioError } from '../../../src/scenario/load.js';
import { runResult, variantResult } from '../result/variant.js';

const scenario = `name: t
workload: { records: 500 }
matrix:
  axes:
    firewall: [asa, transparent]
    server:
      flag-on: { sysctls: { net.netfilter.nf_conntrack_tcp_be_liberal: 1 } }
  expect:
    - { firewall: asa, expect: [complete == true, throughput.relative < 0.5], why: RTO recovery }
    - { firewall: transparent, expect: [throughput.relative >= 0.99, throughputMbit > 1] }
`;

function v(name: string, bytesPerSec: number, complete = true): VariantResult {
  return variantResult({
    name,
    seed: 1,
    kernel: '6.18.0',
    harvest: { records: complete ? 500 : 10, expectedRecords: 500, complete, pages: 5 },
    attempts: { total: 5, ok: 5 },
    throughputBytesPerSec: bytesPerSec,
    middlebox: { flows: 5 },
    dir: name,
  });
}

describe('throughput metrics', () => {
  it('is rejected in a run variant (no control there), with the alternative named', () => {
    try {
      parseScenario('variants:\n  - { name: a, expect: [throughput.relative > 0.5, throughputMbit > 1] }\n', 'r.yaml');
      throw new Error('expected a ScenarioError');
    } catch (e) {
      expect(e).toBeInstanceOf(ScenarioError);
      const p = (e as ScenarioError).problems;
      expect(p).toHaveLength(1);
      expect(p[0]).toMatchObject({ line: 2, field: 'variants[0].expect[0]' });
      expect(p[0]!.message).toMatch(/control cell.*throughputMbit/);
    }
  });
});

describe('relative throughput in the matrix', () => {
  const s = parseScenario(scenario, 't.yaml');
  const cells = expandMatrix(s);
  const runOf = (i: number, variant: VariantResult): CellRun => {
    const cell = cells[i]!;
    // What the cell's own run does: check the expectations its variant carries.
    variant.expectations = checkExpectations(variant, cell.scenario.variants[0]!.expect);
    const result = runResult([variant], {
      scenario: cell.scenario.name,
      scenarioFile: 't.yaml',
      seed: 1,
      passed: variant.expectations.every((e) => e.passed),
    });
    return { cell, runId: `r${i}`, dir: cell.name, result };
  };

  it('keeps relative lines out of the cell run and checks them against the control', () => {
    expect(cells[0]!.scenario.variants[0]!.expect.map((e) => e.text)).toEqual(['complete == true']);
    expect(cells[1]!.scenario.variants[0]!.expect.map((e) => e.text)).toEqual(['throughputMbit > 1']);
    const control = v('transparent--flag-on', 1_000_000);
    const slow = cellResult(runOf(0, v('asa--flag-on', 200_000)), control);
    expect(slow.expectations.map((e) => [e.text, e.passed, e.actual, e.why])).toEqual([
      ['complete == true', true, true, 'RTO recovery'],
      ['throughput.relative < 0.5', true, 0.2, 'RTO recovery'],
    ]);
    expect(slow.passed).toBe(true);
    const fast = cellResult(runOf(0, v('asa--flag-on', 900_000)), control);
    expect(fast.passed).toBe(false);
    expect(fast.expectations[1]).toMatchObject({ passed: false, actual: 0.9 });
    const ctl = cellResult(runOf(1, control), control);
    expect(ctl.expectations.map((e) => e.text)).toEqual(['throughput.relative >= 0.99', 'throughputMbit > 1']);
    expect(ctl.passed).toBe(true);
  });

  it('fails a relative line when the control did not complete', () => {
    const r = cellResult(runOf(0, v('asa--flag-on', 200_000)), v('transparent--flag-on', 1_000_000, false));
    expect(r.passed).toBe(false);
    expect(r.expectations[1]).toMatchObject({ passed: false, actual: null });
  });
});
