// Expectations: parsing "metric op value" against the metrics table, kernel-conditional lists,
// and testing them on a variant's result (what result.json's expectations[] holds).
import { describe, expect, it } from 'vitest';
import {
  checkExpectations,
  evaluate,
  parseExpectation,
  parseVariantExpect,
  type Expectation,
} from '../../../src/result/expectations.js';
import { METRICS } from '../../../src/result/metrics.js';
import { variantResult } from './variant.js';

const exp = (t: string) => parseExpectation(t) as Expectation;

/** A variant's expect list as the scenario gives it; fails the test on any problem. */
function list(entries: (string | { kernel: string; expect: string[] })[]): Expectation[] {
  const bad: string[] = [];
  const out = parseVariantExpect(entries, (path, message) => bad.push(`${path.join('.')}: ${message}`));
  expect(bad).toEqual([]);
  return out;
}

describe('parseExpectation', () => {
  it('parses metric, operator and value', () => {
    expect(parseExpectation('attempts.timedOut>=2')).toEqual({
      metric: 'attempts.timedOut',
      op: '>=',
      value: 2,
      text: 'attempts.timedOut>=2',
    });
    expect(parseExpectation('complete == false')).toMatchObject({ metric: 'complete', value: false });
    expect(parseExpectation('records == true')).toMatch(/compares with a number/);
  });

  it('takes true/false, with == or != only, for a true/false metric', () => {
    expect(parseExpectation('complete == 1')).toBe('"complete" compares with true or false, not 1');
    expect(parseExpectation('complete > false')).toBe('"complete" takes == or !=, not >');
  });

  it('names every known metric when it does not know one', () => {
    expect(parseExpectation('server.invalidDrop > 0')).toBe(
      `unknown metric "server.invalidDrop" in "server.invalidDrop > 0" (known: ${METRICS.join(', ')})`,
    );
    expect(parseExpectation('server.invalidDrops is 0')).toMatch(/is not of the form "<metric> <op> <value>"/);
    expect(METRICS).toContain('throughput.relative');
  });

  it('compares a text metric with contains, matches, == or != and a quoted text', () => {
    expect(parseExpectation('command.stdout contains "200 OK"')).toMatchObject({
      metric: 'command.stdout',
      op: 'contains',
      value: '200 OK',
    });
    expect(parseExpectation("command.output matches '^HTTP/1\\.1 2\\d\\d'")).toMatchObject({
      op: 'matches',
      value: '^HTTP/1\\.1 2\\d\\d',
    });
    expect(parseExpectation('command.stderr == ""')).toMatchObject({ op: '==', value: '' });
    expect(parseExpectation('command.stdout matches "(unclosed"')).toMatch(/is not a regular expression/);
    expect(parseExpectation('command.stdout > 3')).toMatch(/is a text: compare it with contains/);
    expect(parseExpectation('command.stdout contains 200')).toMatch(/is not of the form "command.stdout contains/);
    expect(parseExpectation('command.exitCode contains "1"')).toBe(
      'command.exitCode compares with a number, not a quoted text',
    );
  });
});

describe('evaluate on texts', () => {
  const e = (t: string) => parseExpectation(t) as Expectation;
  it('contains is a substring, matches a regular expression per line, == the whole text', () => {
    expect(evaluate(e('command.stdout contains "200 OK"'), 'HTTP/1.1 200 OK\r\n')).toBe(true);
    expect(evaluate(e('command.stdout contains "200 OK"'), 'HTTP/1.1 404 Not Found')).toBe(false);
    expect(evaluate(e("command.stdout matches '^bytes=\\d+$'"), 'x\nbytes=1000\ny')).toBe(true);
    expect(evaluate(e('command.stdout matches "^bytes=\\\\d+$"'), 'x\nbytes=1000\ny')).toBe(true);
    expect(evaluate(e("command.stdout matches '^bytes=\\d+$'"), 'bytes=10 00')).toBe(false);
    expect(evaluate(e('command.stdout == "ok"'), 'ok')).toBe(true);
    expect(evaluate(e('command.stdout != "ok"'), 'ok')).toBe(false);
  });
});

describe('parseVariantExpect', () => {
  it('refuses a metric that needs the matrix control, naming the alternative, at its path', () => {
    const bad: [(string | number)[], string][] = [];
    const out = parseVariantExpect(
      ['throughputMbit > 1', { kernel: '<6.1', expect: ['throughput.relative > 0.5'] }],
      (p, m) => bad.push([p, m]),
    );
    expect(out.map((e) => e.text)).toEqual(['throughputMbit > 1']);
    expect(bad).toEqual([
      [
        [1, 'expect', 0],
        "throughput.relative compares with the matrix's control cell: use it in matrix.expect (here, use throughputMbit)",
      ],
    ]);
  });
});

describe('checkExpectations', () => {
  it('evaluates each against the measured value', () => {
    const v = variantResult({
      harvest: { records: 1200, complete: false },
      attempts: { timedOut: 3 },
      server: { invalidDrops: 41 },
    });
    const r = checkExpectations(v, [
      exp('server.invalidDrops > 0'),
      exp('records == 3812'),
      exp('complete == false'),
      exp('attempts.timedOut <= 3'),
    ]);
    expect(r).toEqual([
      { text: 'server.invalidDrops > 0', passed: true, actual: 41 },
      { text: 'records == 3812', passed: false, actual: 1200 },
      { text: 'complete == false', passed: true, actual: false },
      { text: 'attempts.timedOut <= 3', passed: true, actual: 3 },
    ]);
  });

  it('fails, with actual null, a metric this variant cannot have (no INVALID rule at the client, no control)', () => {
    const v = variantResult({ client: { conntrackInvalid: 5, invalidDrops: null } });
    expect(
      checkExpectations(v, [
        exp('client.invalidDrops == 0'),
        exp('client.conntrackInvalid > 0'),
        exp('throughput.relative < 1'),
      ]).map((e) => [e.text, e.passed, e.actual]),
    ).toEqual([
      ['client.invalidDrops == 0', false, null],
      ['client.conntrackInvalid > 0', true, 5],
      ['throughput.relative < 1', false, null],
    ]);
  });

  describe('kernel-conditional', () => {
    const ex = list([
      'complete == true',
      { kernel: '<6.1', expect: ['server.invalidDrops > 0'] },
      { kernel: '>=6.1', expect: ['server.invalidDrops == 0', 'records == 100'] },
    ]);
    const on = (kernel: string, drops: number) => variantResult({ kernel, server: { invalidDrops: drops } });

    it("tests only the ones for the variant's kernel, and says which condition applied", () => {
      expect(checkExpectations(on('5.10.0-35-cloud-amd64', 250), ex).map((r) => [r.text, r.passed, r.kernel])).toEqual([
        ['complete == true', true, undefined],
        ['server.invalidDrops > 0 (kernel < 6.1: 5.10.0-35-cloud-amd64)', true, '< 6.1'],
      ]);
      expect(checkExpectations(on('6.18.44-fc-v657', 0), ex).map((r) => [r.text, r.passed, r.actual])).toEqual([
        ['complete == true', true, true],
        ['server.invalidDrops == 0 (kernel >= 6.1: 6.18.44-fc-v657)', true, 0],
        ['records == 100 (kernel >= 6.1: 6.18.44-fc-v657)', true, 100],
      ]);
      // The same numbers fail where the kernel says they should not happen.
      expect(
        checkExpectations(on('6.1.0-37-cloud-amd64', 12), ex)
          .filter((r) => !r.passed)
          .map((r) => r.text),
      ).toEqual(['server.invalidDrops == 0 (kernel >= 6.1: 6.1.0-37-cloud-amd64)']);
      expect(
        checkExpectations(on('5.10.262', 0), ex)
          .filter((r) => !r.passed)
          .map((r) => r.text),
      ).toEqual(['server.invalidDrops > 0 (kernel < 6.1: 5.10.262)']);
    });

    it("fail, not guess, when the variant's kernel is unknown", () => {
      const r = checkExpectations(on('', 0), ex);
      expect(r.map((x) => x.passed)).toEqual([true, false, false, false]);
      expect(r[1]!.text).toBe('server.invalidDrops > 0 (kernel < 6.1: kernel release unknown)');
      expect(r[1]!.actual).toBeNull();
    });
  });
});
