// Kernel releases as versions (the one parse and comparison) and kernel conditions.
import { describe, expect, it } from 'vitest';
import {
  byKernelVersion,
  compareKernelVersions,
  kernelMatches,
  parseKernelCondition,
  parseKernelVersion,
  type KernelCondition,
} from '../../../src/result/kernel.js';

const cond = (text: string): KernelCondition => {
  const c = parseKernelCondition(text);
  if (typeof c === 'string') throw new Error(c);
  return c;
};

describe('parseKernelVersion', () => {
  it('reads the numeric prefix of a release', () => {
    expect(parseKernelVersion('5.10.0-35-cloud-amd64')).toEqual([5, 10, 0]);
    expect(parseKernelVersion('6.18.44-fc-v657')).toEqual([6, 18, 44]);
    expect(parseKernelVersion('6.1')).toEqual([6, 1]);
    expect(parseKernelVersion(' 6.12.95+deb13-amd64 ')).toEqual([6, 12, 95]);
    expect(parseKernelVersion('6')).toEqual([6]);
  });

  it('is null for something that is not a release', () => {
    for (const s of ['', 'linux', 'v6.1', '-1.2', '.5']) expect(parseKernelVersion(s), s).toBeNull();
  });
});

describe('compareKernelVersions', () => {
  it('orders by number, not by text', () => {
    expect(compareKernelVersions('5.10.262', '6.1')).toBeLessThan(0);
    expect(compareKernelVersions('6.10', '6.9')).toBeGreaterThan(0);
    expect(compareKernelVersions('6.1.192', '6.1.0')).toBeGreaterThan(0);
    expect(compareKernelVersions('6.18.0', '6.18')).toBe(0);
    expect(compareKernelVersions('5.10.0-35-cloud-amd64', '5.10.262')).toBeLessThan(0);
    expect(compareKernelVersions('6.12.95', '6.12.95-cloud')).toBe(0);
  });

  it('throws on a release it cannot read (an unknown kernel must not sort as 0.0)', () => {
    expect(() => compareKernelVersions('', '6.1')).toThrow(/kernel release/);
  });
});

describe('byKernelVersion', () => {
  it('orders like compareKernelVersions, ignoring the Debian suffix', () => {
    expect(byKernelVersion('5.10.262', '6.1')).toBeLessThan(0);
    expect(byKernelVersion('6.12.0-0.deb12.1-cloud-amd64', '6.1.0-40-cloud-amd64')).toBeGreaterThan(0);
    expect(byKernelVersion('6.1.0-40-cloud-amd64', '6.1')).toBe(0);
  });

  it('sorts a release without a version first instead of throwing (reports of a run whose kernel is unknown)', () => {
    expect(['6.1.0', 'unknown', '5.10.262'].sort(byKernelVersion)).toEqual(['unknown', '5.10.262', '6.1.0']);
    expect(byKernelVersion('', '0.0.0')).toBe(0);
  });
});

describe('parseKernelCondition', () => {
  it('parses one or more clauses and normalises the text', () => {
    expect(cond('<6.1')).toEqual({ text: '< 6.1', clauses: [{ op: '<', version: [6, 1] }] });
    expect(cond(' >= 5.15 , <6.1 ')).toEqual({
      text: '>= 5.15, < 6.1',
      clauses: [
        { op: '>=', version: [5, 15] },
        { op: '<', version: [6, 1] },
      ],
    });
    expect(cond('>=5.15 <6.1').clauses).toHaveLength(2);
    expect(cond('6.1')).toEqual({ text: '== 6.1', clauses: [{ op: '==', version: [6, 1] }] });
    expect(cond('!=6.1.0').clauses).toEqual([{ op: '!=', version: [6, 1, 0] }]);
  });

  it('rejects what it cannot read, with a message that shows the form', () => {
    for (const bad of ['', '   ', '<', '< six', '=>6.1', '<6.1.2.3', '6.1 or 5.10', '<6.1,', 'v6.1']) {
      const r = parseKernelCondition(bad);
      expect(typeof r, bad).toBe('string');
      expect(r as string).toMatch(/e\.g\. "<6\.1"/);
    }
  });
});

describe('kernelMatches', () => {
  it('"<6.1": before the "ignore overly delayed packets" series', () => {
    const c = cond('<6.1');
    expect(kernelMatches(c, '5.10.0-35-cloud-amd64')).toBe(true);
    expect(kernelMatches(c, '5.10.262')).toBe(true);
    expect(kernelMatches(c, '6.0.19')).toBe(true);
    expect(kernelMatches(c, '6.1.0-37-cloud-amd64')).toBe(false);
    expect(kernelMatches(c, '6.1.192')).toBe(false);
    expect(kernelMatches(c, '6.18.44-fc-v657')).toBe(false);
  });

  it('compares on the parts the condition names: ">=6.1" and "<=6.1" both cover every 6.1.x', () => {
    expect(kernelMatches(cond('>=6.1'), '6.1.0')).toBe(true);
    expect(kernelMatches(cond('>=6.1'), '6.0.99')).toBe(false);
    expect(kernelMatches(cond('<=6.1'), '6.1.192')).toBe(true);
    expect(kernelMatches(cond('<=6.1'), '6.2')).toBe(false);
    expect(kernelMatches(cond('>6.1'), '6.1.192')).toBe(false);
    expect(kernelMatches(cond('>6.1'), '6.2.0')).toBe(true);
    expect(kernelMatches(cond('6.1'), '6.1.192')).toBe(true);
    expect(kernelMatches(cond('6.1'), '6.12.0')).toBe(false);
    expect(kernelMatches(cond('6'), '6.12.0')).toBe(true);
    expect(kernelMatches(cond('!=6.12'), '6.12.95')).toBe(false);
    expect(kernelMatches(cond('<6.1.5'), '6.1.4-cloud')).toBe(true);
    expect(kernelMatches(cond('<6.1.5'), '6.1.5')).toBe(false);
  });

  it('needs every clause', () => {
    const c = cond('>=5.15 <6.1');
    expect(kernelMatches(c, '5.10.262')).toBe(false);
    expect(kernelMatches(c, '5.15.0')).toBe(true);
    expect(kernelMatches(c, '6.1.1')).toBe(false);
  });

  it('is null (undecidable) when the release is unknown', () => {
    expect(kernelMatches(cond('<6.1'), '')).toBeNull();
    expect(kernelMatches(cond('>=6.1'), 'unknown')).toBeNull();
  });
});
